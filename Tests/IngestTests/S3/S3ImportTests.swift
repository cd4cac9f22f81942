import Crypto
import Foundation
import HTTP
import Logging
import Retry
import TestSupport
import Testing

@testable import Ingest

/// `import s3://BUCKET/PREFIX` against moto with authentication enforced.
@Suite("S3 import against moto")
struct S3ImportTests {
    @Test(
        "2,500 objects over 3 list pages: a stopped import resumes, every image stored once, a re-run fetches nothing"
    )
    func importBucket() async throws {
        let (client, http) = try await S3ClientTests.client()
        defer { http.shutdown() }
        let bucket = S3TestServer.randomBucket()
        try await client.createBucket(bucket)
        // 2,400 distinct JPEGs and 100 objects that are not images, under one prefix; one
        // object outside it that must not be listed.
        let images = 2400
        var objects: [(String, [UInt8])] = (0..<images).map {
            (
                "shoots/\(String(format: "%04d", $0)) person name.jpg",
                ScoreStageTests.jpeg(image: $0 % 50, comment: "n\($0)")
            )
        }
        objects += (0..<100).map { ("shoots/notes \($0).txt", Array("not an image, number \($0), padded".utf8)) }
        objects.append(("elsewhere/outside.jpg", ScoreStageTests.jpeg(image: 1, comment: "outside")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            for _ in 0..<16 {
                group.addTask {}
            }
            while try await group.next() != nil, next < objects.count {
                let (key, body) = objects[next]
                next += 1
                group.addTask { try await client.putObject(bucket: bucket, key: key, body: body) }
            }
            try await group.waitForAll()
        }

        let workdir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-s3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workdir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let ledger = try Ledger(directory: workdir.path, logger: logger)
        let stage = S3ImportStage(
            client: client, ledger: ledger,
            ingestor: ImageIngestor(
                store: ImageStore(workdir: workdir.path), mode: .stripped,
                sealer: FieldSealer(keyring: try Keyring([FernetKey.generate()]))),
            index: try BlindIndex.generate(), logger: logger)
        let location = try S3Location(parsing: "s3://\(bucket)/shoots/")

        // Stopped part-way through the second page, as an interrupted run.
        let stop = StopSignal()
        let first = try await stage.run(location, options: S3ImportStage.Options(stop: stop)) { summary in
            if summary.fetched >= 1300 { stop.request() }
        }
        #expect(first.fetched >= 1300 && first.fetched < 2500)
        #expect(first.listCalls == 2)
        #expect(first.failed == 0)
        let afterFirst = try await ledger.photoCount()
        #expect(afterFirst == first.stored)
        #expect(afterFirst < images)

        let second = try await stage.run(location)
        #expect(second.listCalls == 3)
        #expect(second.objects == 2500)
        #expect(second.known == first.fetched)
        #expect(second.fetched == 2500 - first.fetched)
        #expect(second.failed == 0)
        #expect(first.skipped + second.skipped == 100)
        #expect(first.stored + second.stored == images)
        #expect(try await ledger.photoCount() == images)

        let third = try await stage.run(location)
        #expect(third.listCalls == 3)
        #expect(third.known == 2500)
        #expect(third.fetched == 0)
        #expect(try await ledger.photoCount() == images)

        // Identified by content; no key (a file name) in any row.
        let first5 = try objects.prefix(5).map { "s3:" + (try SHA256Digest.hex($0.1)) }
        for id in first5 { #expect(try await ledger.contains(id: id)) }
        let files = try FileManager.default.contentsOfDirectory(atPath: workdir.path).filter { $0.hasPrefix("ledger") }
        let dump = try files.map {
            try String(contentsOf: workdir.appendingPathComponent($0), encoding: .isoLatin1)
        }.joined()
        #expect(dump.contains("s3:"))
        #expect(!dump.contains("person name"))
        #expect(!dump.contains("shoots/"))
    }

    @Test("objects and a list page that fail once with 503 SlowDown are retried: every image is stored, none fails")
    func transientFailures() async throws {
        let server = try await S3TestServer.shared()
        let proxy = try PythonFixtureServer(script: "flaky_s3_proxy", ["--upstream", server.endpoint, "--every", "5"])
        defer { proxy.stop() }
        let (client, http) = try await S3ClientTests.client(endpointOverride: proxy.base)
        defer { http.shutdown() }
        let bucket = S3TestServer.randomBucket()
        try await client.createBucket(bucket)
        for index in 0..<60 {
            try await client.putObject(
                bucket: bucket, key: "p/\(index).jpg", body: ScoreStageTests.jpeg(image: index, comment: "t\(index)"))
        }
        let workdir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-s3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workdir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let ledger = try Ledger(directory: workdir.path, logger: logger)
        let stage = S3ImportStage(
            client: client, ledger: ledger,
            ingestor: ImageIngestor(
                store: ImageStore(workdir: workdir.path), mode: .stripped,
                sealer: FieldSealer(keyring: try Keyring([FernetKey.generate()]))),
            index: try BlindIndex.generate(), logger: logger)
        let summary = try await stage.run(
            try S3Location(parsing: "s3://\(bucket)/p/"), options: S3ImportStage.Options(pageSize: 25))
        #expect(summary.listCalls == 3)
        #expect(summary.failed == 0)
        #expect(summary.stored == 60)
        #expect(try await ledger.photoCount() == 60)
        // 12 objects (numbers divisible by 5) and the first list call were refused once each.
        let stats = try #require(try proxy.json("/__stats") as? [String: Int])
        #expect(stats["injected"] == 13)
    }
}
