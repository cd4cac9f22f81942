import Enrich
import Foundation
import Logging
import Testing

@testable import Ingest

/// The stage options `photoseal run` uses to run the score stage in rounds.
@Suite("score rounds of a pipeline run", .serialized, .tags(.integration))
struct PipelineRoundTests {
    @Test(
        "fresh-only score rounds take at most N extracted rows without an error, in id order; a stop starts no call"
    )
    func freshOnlyRounds() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...25).map { ($0, ScoreWorkdir.bytes($0), ["monkey"]) })
        // An image without a hash, and three photos with an error from earlier: never in a fresh round.
        var bare = LedgerTests.document(99, term: "x")
        bare.image = nil
        let ledger = try work.ledger()
        try await ledger.insertPhoto(bare, stage: .extracted)
        var failed = Ledger.ScoreUpdate()
        let transient = PhotoFailure(stage: .score, cause: "a call kept failing", permanent: false)
        failed.failures = [("flickr:2", transient), ("flickr:3", transient), ("flickr:4", transient)]
        try await ledger.commit(failed)

        var options = try ScoreStageTests.options()
        let stop = StopSignal()
        stop.request()
        options.stop = stop
        options.freshOnly = 10
        let stopped = try await ScoreStageTests.run(work, server, options)
        #expect(stopped.plan.photos == 10 && stopped.labelledImages == 0)
        #expect(try server.log().isEmpty)

        options.stop = nil
        var sizes: [Int] = []
        var scored: [String] = []
        while true {
            let before = Set(try work.rows().filter { $0.value.stage == .scored }.keys)
            let summary = try await ScoreStageTests.run(work, server, options)
            sizes.append(summary.plan.photos)
            let after = try work.rows().filter { $0.value.stage == .scored }.keys
            scored += after.filter { !before.contains($0) }.sorted()
            if summary.plan.photos < 10 { break }
        }
        // 25 photos less the three with errors: rounds of 10, 10 and 2, in id (byte) order.
        #expect(sizes == [10, 10, 2])
        let expected = ([1] + Array(5...25)).map { "flickr:\($0)" }
        #expect(scored == expected.sorted())
        let billed = try server.billed()
        #expect(billed.count == 22 && billed.values.allSatisfy { $0 == 1 })
        #expect(Set(billed.keys) == Set(expected.compactMap { work.sha[$0] }))
        let rows = try work.rows()
        #expect(["flickr:2", "flickr:3", "flickr:4", "flickr:99"].allSatisfy { rows[$0]?.stage == .extracted })
    }
}
