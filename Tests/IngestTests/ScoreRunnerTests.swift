import Enrich
import Foundation
import HTTP
import Logging
import Testing

@testable import Ingest

/// The score stage on the `StageRunner`: leased rows, a shared budget, one call per image.
@Suite("score stage on the stage runner", .serialized, .tags(.integration))
struct ScoreRunnerTests {
    @Test("two score workers on one ledger at once never send the same image and score every photo")
    func twoWorkersOneLedger() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...300).map { ($0, ScoreWorkdir.bytes($0) + Array("w\($0)".utf8), []) })
        let (first, firstHTTP) = try ScoreStageTests.stage(work, server)
        defer { firstHTTP.shutdown() }
        let (second, secondHTTP) = try ScoreStageTests.stage(work, server)
        defer { secondHTTP.shutdown() }
        let options = try ScoreStageTests.options()
        async let a = first.run(options, recover: true)
        async let b = second.run(options, recover: true)
        let (one, two) = try await (a, b)
        #expect(one.labelled + two.labelled == 300)
        let billed = try server.billed()
        #expect(billed.count == 300 && billed.values.allSatisfy { $0 == 1 })
        #expect(try work.rows().values.allSatisfy { $0.stage == .scored })
    }

    @Test(
        "a run with a budget of N images bills N and leaves the rest extracted and unleased; the next run bills the rest, nothing twice"
    )
    func budgetRests() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...100).map { ($0, ScoreWorkdir.bytes($0), []) })
        let (stage, http) = try ScoreStageTests.stage(work, server)
        defer { http.shutdown() }
        let capped = try await stage.run(try ScoreStageTests.options(maxImages: 30), recover: true)
        #expect(capped.labelled == 30 && capped.scored == 30 && capped.deferred == 70)
        #expect(try server.billed().count == 30)
        let rows = try work.rows()
        #expect(rows.values.filter { $0.stage == .extracted }.count == 70)
        // Left for a later run without a lease or a failure: another worker may take them at once.
        let ledger = try work.ledger()
        let free = try await ledger.claim(stage: .extracted, limit: 1000, owner: "probe")
        #expect(free.count == 70)
        try await ledger.release(ids: free.map(\.id))
        for row in free { #expect(try await ledger.failure(id: row.id) == nil) }

        let rest = try await stage.run(try ScoreStageTests.options(maxImages: 500), recover: true)
        #expect(rest.labelled == 70 && rest.deferred == 0)
        let billed = try server.billed()
        #expect(billed.count == 100 && billed.values.allSatisfy { $0 == 1 })
        #expect(try work.rows().values.allSatisfy { $0.stage == .scored })
    }

    @Test("photos showing the same bytes in batches scored at once are billed once, and all get the labels")
    func identicalBytesUnderConcurrency() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        // 320 photos, 10 distinct images: every batch of 64 rows shows all ten.
        try await work.add((1...320).map { ($0, ScoreWorkdir.bytes($0 % 10 + 1), []) })
        let summary = try await ScoreStageTests.run(work, server, ScoreStageTests.options())
        #expect(summary.labelledImages == 10 && summary.scoredPhotos == 320)
        let billed = try server.billed()
        #expect(billed.count == 10 && billed.values.allSatisfy { $0 == 1 })
        #expect(try server.log().flatMap(\.images).count == 10)
        #expect(try work.rows().values.allSatisfy { $0.stage == .scored && $0.document.labels != nil })
    }

    @Test("a stop requested before the run starts no call and leaves every photo extracted")
    func stopBeforeStart() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...20).map { ($0, ScoreWorkdir.bytes($0), []) })
        var options = try ScoreStageTests.options()
        let stop = StopSignal()
        stop.request()
        options.stop = stop
        let stopped = try await ScoreStageTests.run(work, server, options)
        #expect(stopped.plan.photos == 20 && stopped.labelledImages == 0)
        #expect(try server.log().isEmpty)
        #expect(try work.rows().values.allSatisfy { $0.stage == .extracted })
    }
}
