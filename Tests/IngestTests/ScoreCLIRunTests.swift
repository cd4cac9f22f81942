import Foundation
import Logging
import Testing

@testable import Ingest

/// `photoseal score` and `export --min-score` run as the built binary against the local Vision server.
@Suite("photoseal score command", .serialized, .tags(.integration))
struct ScoreCLIRunTests {
    static func run(_ arguments: [String], in work: ScoreWorkdir) throws -> (status: Int32, output: String) {
        let output = work.dir.appendingPathComponent("output-\(UUID().uuidString).txt")
        let process = try SearchResumeTests.start(arguments, logTo: output)
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: try Data(contentsOf: output), as: UTF8.self))
    }

    static func score(_ work: ScoreWorkdir, _ server: VisionTestServer, _ extra: [String]) -> [String] {
        [
            "score", "--workdir", work.dir.path, "--vision-endpoint", server.endpoint, "--api-key",
            VisionTestServer.apiKey, "--retry-base-delay", "0.01",
        ] + extra
    }

    @Test("--dry-run prints the images to bill and the price, and makes no call")
    func dryRun() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        // 100 photos, 80 distinct images.
        try await work.add((1...100).map { ($0, ScoreWorkdir.bytes($0 > 80 ? $0 - 80 : $0), []) })
        let result = try Self.run(Self.score(work, server, ["--label", "monkey", "--dry-run"]), in: work)
        #expect(result.status == 0, "\(result.output)")
        // 80 images at $1.50 per 1,000 = $0.12.
        #expect(result.output.contains("80 images will be billed in 5 calls, estimated $0.12"), "\(result.output)")
        #expect(try server.log().isEmpty)
        #expect(try work.rows().values.allSatisfy { $0.stage == .extracted })
    }

    @Test("a refused key stops score before any image is sent: one check that bills nothing, the key never shown")
    func estimateBeforeCall() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...10).map { ($0, ScoreWorkdir.bytes($0), []) })
        let arguments = [
            "score", "--workdir", work.dir.path, "--vision-endpoint", server.endpoint, "--api-key",
            "WRONG-KEY-xyz789", "--label", "monkey", "--concurrency", "1",
        ]
        let result = try Self.run(arguments, in: work)
        #expect(result.status == 1)
        #expect(result.output.contains("refused the API key"), "\(result.output)")
        #expect(!result.output.contains("images will be billed"))
        #expect(try server.log().isEmpty, "an image was sent with a refused key")
        #expect(!result.output.contains("xyz789"))
    }

    @Test("killed mid-run and run again: every image is billed exactly once")
    func killAndRerun() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...200).map { ($0, ScoreWorkdir.bytes($0), []) })
        // After 4 answered calls the server holds every further call until released.
        try server.configure("hang_after=4")
        let output = work.dir.appendingPathComponent("killed.txt")
        let process = try SearchResumeTests.start(
            Self.score(work, server, ["--label", "animal", "--concurrency", "2"]), logTo: output)
        var answered = 0
        for _ in 0..<600 {
            answered = try server.log().filter { $0.status == 200 }.count
            if answered >= 4 { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(answered == 4)
        // Wait until the client has committed the four answers (64 images), then kill it while
        // its next calls are held by the server.
        var cached = 0
        for _ in 0..<600 {
            cached = try await work.ledger().labelCacheCount()
            if cached >= 64 { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        #expect(cached == 64)
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try server.configure("hang_after=-1")
        #expect(try server.billed().count == 64)

        let again = try Self.run(Self.score(work, server, ["--label", "animal"]), in: work)
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("136 images will be billed"), "\(again.output)")
        let billed = try server.billed()
        #expect(billed.count == 200)
        #expect(billed.values.allSatisfy { $0 == 1 })
        #expect(Set(billed.keys) == Set(work.sha.values))
        #expect(try work.rows().values.allSatisfy { $0.stage == .scored })
    }

    @Test("export --min-score keeps documents whose scores clear every filter")
    func exportMinScore() async throws {
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add([(1, Array("a".utf8), []), (2, Array("b".utf8), []), (3, Array("c".utf8), [])])
        let server = try VisionTestServer(labels: [
            work.sha["flickr:1"]!: [["description": "Monkey", "score": 0.9], ["description": "Cage", "score": 0.7]],
            work.sha["flickr:2"]!: [["description": "Monkey", "score": 0.65]],
            work.sha["flickr:3"]!: [["description": "Monkey", "score": 0.3], ["description": "Cage", "score": 0.9]],
        ])
        defer { server.stop() }
        let scored = try Self.run(Self.score(work, server, ["--label", "monkey", "--label", "cage"]), in: work)
        #expect(scored.status == 0, "\(scored.output)")
        #expect(scored.output.contains("monkey\t2\ncage\t2\n"), "\(scored.output)")
        func ids(_ filters: [String]) throws -> [String] {
            let result = try Self.run(["export", "--workdir", work.dir.path] + filters, in: work)
            return result.output.split(separator: "\n").compactMap { line in
                guard line.hasPrefix("{") else { return nil }
                return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["_id"] as? String
            }
        }
        #expect(try ids(["--min-score", "monkey=0.6"]) == ["flickr:1", "flickr:2"])
        #expect(try ids(["--min-score", "monkey=0.6", "--min-score", "cage=0.5"]) == ["flickr:1"])
        #expect(try ids([]).count == 3)
        let bad = try Self.run(["export", "--workdir", work.dir.path, "--min-score", "monkey"], in: work)
        #expect(bad.status == 64)
        #expect(bad.output.contains("--min-score"))
    }
}
