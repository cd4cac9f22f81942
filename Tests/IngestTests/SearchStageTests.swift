import Crypto
import Foundation
import HTTP
import Logging
import Retry
import Testing

@testable import Ingest

/// End-to-end searches against the local Flickr server (one at a time: they are the heavy ones).
@Suite("search stage against the local Flickr server", .serialized, .tags(.integration))
struct SearchStageTests {
    static let terms = FlickrTestServer.terms

    static func tempDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Run {
        var summary: SearchStage.Summary
        var ledger: Ledger
    }

    static func search(
        _ server: FlickrTestServer, workdir: URL, terms: [String] = terms, bbox: String? = FlickrTestServer.bbox,
        perHour: Double, limit: Int? = nil, apiKey: String = FlickrTestServer.apiKey
    ) async throws -> Run {
        let logger = Logger(label: "test")
        let plan = try SearchPlan.make(
            terms: terms, termsFileText: nil, bbox: bbox, antimeridian: true, minTaken: nil, maxTaken: nil,
            now: Int64(Date().timeIntervalSince1970))
        let ledger = try Ledger(directory: workdir.path, logger: logger)
        let http = try HTTPClient(logger: logger)
        defer { http.shutdown() }
        let counter = APICallCounter()
        let client = try FlickrClient(
            http: http, endpoint: server.endpoint, apiKey: apiKey, budget: RateBudget(perHour: perHour),
            retry: RetryPolicy(maxAttempts: 10, baseDelay: 0.05, maxDelay: 1), logger: logger,
            onAttempt: counter.record)
        let stage = SearchStage(
            client: client, counter: counter, ledger: ledger,
            sealer: FieldSealer(keyring: try Keyring([FernetKey.generate()])),
            blind: try BlindIndex.generate(), logger: logger)
        let summary = try await stage.run(plan, options: SearchStage.Options(limit: limit))
        return Run(summary: summary, ledger: ledger)
    }

    /// The ledger's photos as source id → terms.
    static func recorded(_ ledger: Ledger) throws -> [String: Set<String>] {
        var found: [String: Set<String>] = [:]
        var duplicates = 0
        try ledger.forEachDocument { entry in
            if found[entry.document.sourceID] != nil { duplicates += 1 }
            found[entry.document.sourceID] = Set(entry.document.terms)
            #expect(entry.document.terms.count == Set(entry.document.terms).count)
        }
        #expect(duplicates == 0)
        return found
    }

    static func minimumPages(_ totals: [String: Int], perPage: Int = 250) -> Int {
        totals.values.reduce(0) { $0 + max(1, ($1 + perPage - 1) / perPage) }
    }

    @Test(
        "over 10,000 photos in three scripts and a box: each recorded once with all its terms, within 1.3x the minimum calls, no 429 provoked, nothing personal in plaintext"
    )
    func completeness() async throws {
        // Budget 10 calls/s with bursts of 3: the server flags any second holding more than 15.
        let server = try FlickrTestServer(["--per-second", "15"])
        defer { server.stop() }
        let workdir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let run = try await Self.search(server, workdir: workdir, perHour: 36_000)
        let truth = try server.truth()
        #expect(truth.photos.count > 10_000)
        let found = try Self.recorded(run.ledger)
        #expect(found.count == truth.photos.count)
        #expect(found == truth.photos)
        #expect(found.values.contains { $0.count == 3 })

        let log = try server.log()
        #expect(log.filter { $0.outcome == "rate-429" }.isEmpty)
        let minimum = Self.minimumPages(truth.totals)
        #expect(Double(log.count) <= 1.3 * Double(minimum), "\(log.count) calls for \(minimum) pages")
        let status = try await run.ledger.status()
        #expect(status.apiCalls["flickr"]?["ok"] == log.count)
        #expect(!status.searchUnfinished)

        let personal = try server.personalValues()
        let leaks = try filesContaining(personal, under: workdir)
        #expect(leaks.isEmpty, "plaintext personal values in the workdir: \(leaks.prefix(5))")
        // The scan itself finds a planted value.
        let planted = try #require(personal.last)
        try Data("x\(planted)x".utf8).write(to: workdir.appendingPathComponent("planted"))
        #expect(try filesContaining(personal, under: workdir) == [planted])
    }

    @Test(
        "with 20% of calls failing transiently and some answering slowly the result is the same and no finished page is fetched twice"
    )
    func transientFailures() async throws {
        let server = try FlickrTestServer([
            "--photos", "12000", "--fail-fraction", "0.2", "--per-second", "1000", "--slow-fraction", "0.1",
            "--slow-seconds", "0.3",
        ])
        defer { server.stop() }
        let workdir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let run = try await Self.search(server, workdir: workdir, perHour: 360_000)
        let truth = try server.truth()
        #expect(try Self.recorded(run.ledger) == truth.photos)
        let log = try server.log()
        let failures = Set(log.map(\.outcome).filter { $0.hasPrefix("fail-") })
        #expect(failures == ["fail-503", "fail-429", "fail-105", "fail-drop", "fail-500"])
        let okPerPage = Dictionary(grouping: log.filter { $0.outcome == "ok" }, by: \.pageKey)
        #expect(okPerPage.values.allSatisfy { $0.count == 1 })
        let status = try await run.ledger.status()
        #expect((status.apiCalls["flickr"]?["retried"] ?? 0) == log.count - log.filter { $0.outcome == "ok" }.count)
    }

    @Test("a box across the antimeridian finds the photos on both sides")
    func antimeridian() async throws {
        let server = try FlickrTestServer(["--photos", "12000", "--per-second", "1000"])
        defer { server.stop() }
        let workdir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let run = try await Self.search(
            server, workdir: workdir, terms: ["monkey"], bbox: "178,-40,-100,30", perHour: 360_000)
        let truth = try server.truth(terms: ["monkey"], bbox: "178,-40,-100,30")
        #expect(!truth.photos.isEmpty)
        #expect(try Self.recorded(run.ledger) == truth.photos)
        #expect(run.summary.queries == 2)
    }

    @Test("--limit stops the search with exactly that many photos")
    func limit() async throws {
        let server = try FlickrTestServer(["--photos", "12000", "--per-second", "1000"])
        defer { server.stop() }
        let workdir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let run = try await Self.search(server, workdir: workdir, perHour: 360_000, limit: 600)
        #expect(run.summary.limitReached)
        #expect(try await run.ledger.photoCount() == 600)
    }

    @Test("an invalid API key stops the search at once with a message naming the fix")
    func invalidKey() async throws {
        let server = try FlickrTestServer(["--photos", "1000", "--per-second", "1000"])
        defer { server.stop() }
        let workdir = try Self.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let error = try await #require(throws: IngestError.self) {
            _ = try await Self.search(server, workdir: workdir, perHour: 360_000, apiKey: "wrong-key-777")
        }
        #expect(error.flickrCode == 100)
        #expect(error.description.contains("FLICKR_API_KEY"))
        #expect(!error.description.contains("wrong-key-777"))
        #expect(try server.log().count <= 3)  // one probe per query, none retried
    }
}
