import Foundation
import Logging
import Testing

@testable import Ingest

/// A stage that moves `found` rows to `downloaded`, records which worker took each row, and
/// fails (throws) on the ids it is told to: the runner's contract, without any network.
private struct MarkingStage: PipelineStage {
    let worker: String
    let seen: Locked<[String: [String]]>
    var throwOn: Set<String> = []
    var delay: UInt64 = 0

    var name: String { "mark" }
    var takes: Ledger.Stage { .found }

    func process(_ item: StageItem) async throws -> StepResult {
        if delay > 0 { try? await Task.sleep(nanoseconds: delay) }
        if throwOn.contains(item.id) { throw IngestError(.configuration, "stop at \(item.id)") }
        seen.withLock { $0[item.id, default: []].append(worker) }
        var report = StageReport()
        report.stored = 1
        var document = item.document
        document.title = worker
        return StepResult(id: item.id, stage: .downloaded, document: document, report: report)
    }
}

/// Moves `found` rows to `downloaded` at once; its first commit lasts until the loop has
/// processed `waitFor` rows (or 60 s have passed), and its `failOn`-th commit fails.
private struct SlowCommits: PipelineStage {
    let commits = Locked(0)
    let processed = Locked(0)
    /// How many rows were processed when the first commit ended.
    let processedByFirstCommit = Locked(0)
    let waitFor: Int
    let failOn: Int

    var name: String { "slow-commit" }
    var takes: Ledger.Stage { .found }

    func process(_ item: StageItem) async throws -> StepResult {
        processed.withLock { $0 += 1 }
        return StepResult(id: item.id, stage: .downloaded, document: item.document, report: StageReport())
    }

    func commit(_ batch: [StepResult], ledger: Ledger) async throws -> StageReport {
        let number = commits.withLock {
            $0 += 1
            return $0
        }
        if number == 1 {
            // A loop that waited for this commit would never get there: the deadline ends it.
            let deadline = Date().addingTimeInterval(60)
            while processed.withLock({ $0 }) < waitFor, Date() < deadline {
                try await Task.sleep(nanoseconds: 2_000_000)
            }
            processedByFirstCommit.withLock { $0 = processed.withLock { $0 } }
        }
        if number == failOn { throw IngestError(.ledger, "commit \(number) failed") }
        try await ledger.advance(batch.map(Ledger.Advance.init))
        return StageReport()
    }
}

/// The step after `MarkingStage`: checks what it was handed in memory.
private struct CarriedCheck: PipelineStage {
    var name: String { "check" }
    var takes: Ledger.Stage { .downloaded }

    func process(_ item: StageItem) async throws -> StepResult {
        var report = StageReport()
        report.extracted = 1
        if item.carried?.original == Array(item.id.utf8) { report.withExif = 1 }
        return StepResult(id: item.id, stage: .extracted, document: item.document, report: report)
    }
}

/// A first step that hands each row's id bytes to the next step as its "original".
private struct Carrying: PipelineStage {
    var name: String { "carry" }
    var takes: Ledger.Stage { .found }

    func process(_ item: StageItem) async throws -> StepResult {
        var report = StageReport()
        report.stored = 1
        return StepResult(
            id: item.id, stage: .downloaded, document: item.document, report: report,
            carried: StageItem.Carried(original: Array(item.id.utf8), gps: nil))
    }
}

@Suite("stage reports and doorbells", .tags(.unit))
struct StageReportTests {
    @Test("reports add up field by field, causes merged by key")
    func sums() {
        var a = StageReport()
        a.done = 2
        a.stored = 1
        a.bytes = 10
        a.causes = ["download:http-503": 1]
        var b = StageReport()
        b.done = 3
        b.failed = 2
        b.bytes = 5
        b.causes = ["download:http-503": 1, "unavailable:http-404": 1]
        a += b
        #expect(a.done == 5 && a.stored == 1 && a.failed == 2 && a.bytes == 15)
        #expect(a.causes == ["download:http-503": 2, "unavailable:http-404": 1])
        #expect(StageReport() + b == b)
    }

    @Test("a doorbell wakes a waiter on ring and on close, and a ring before the wait is not missed")
    func doorbell() async {
        let bell = Doorbell()
        let seen = bell.generation
        bell.ring(rows: 3)
        // Rang after `seen`: returns at once.
        await bell.wait(after: seen)
        #expect(bell.rows == 3 && !bell.isClosed)
        let before = bell.generation
        async let woken: Void = bell.wait(after: before)
        bell.close()
        await woken
        #expect(bell.isClosed)
        await bell.waitClosed()
    }

    @Test("a doorbell wait with a timeout returns without a ring")
    func timeout() async {
        let bell = Doorbell()
        await bell.wait(after: bell.generation, timeout: 0.05)
        #expect(bell.rows == 0)
    }
}

@Suite("stage runner on a real ledger", .tags(.integration))
struct StageRunnerTests {
    static func seed(_ ledger: Ledger, count: Int) async throws {
        _ = try await ledger.insertImported(
            (1...count).map { LedgerTests.document($0, term: "a") }, stage: .found)
    }

    @Test("two runners on one ledger process every row exactly once, and commit it")
    func twoWorkers() async throws {
        try await LedgerTests.withLedger { ledger in
            try await Self.seed(ledger, count: 300)
            let seen = Locked<[String: [String]]>([:])
            var options = StageRunner.Options(concurrency: 4)
            options.commitBatch = 7
            async let one = StageRunner(ledger: ledger).run(
                MarkingStage(worker: "w1", seen: seen, delay: 100_000), options: options)
            async let two = StageRunner(ledger: ledger).run(
                MarkingStage(worker: "w2", seen: seen, delay: 100_000), options: options)
            let (a, b) = try await (one, two)
            #expect(a.done + b.done == 300 && a.stored + b.stored == 300)
            let taken = seen.withLock { $0 }
            #expect(taken.count == 300 && taken.values.allSatisfy { $0.count == 1 })
            #expect(try await ledger.count(stage: .downloaded) == 300)
            // Each row's committed document is the one its own worker returned.
            try ledger.forEachDocument { entry in #expect(taken[entry.id] == [entry.document.title]) }
        }
    }

    @Test("a stage that throws stops the runner: finished rows stay committed, the rest are released")
    func throwing() async throws {
        try await LedgerTests.withLedger { ledger in
            try await Self.seed(ledger, count: 40)
            let seen = Locked<[String: [String]]>([:])
            let stage = MarkingStage(worker: "w", seen: seen, throwOn: ["flickr:30"])
            await #expect(throws: IngestError.self) {
                _ = try await StageRunner(ledger: ledger).run(stage, options: StageRunner.Options(concurrency: 1))
            }
            let done = try await ledger.count(stage: .downloaded)
            #expect(done == seen.withLock { $0.count } && done > 0)
            // No lease is left behind: another worker takes every row left at once.
            #expect(try await ledger.claim(stage: .found, limit: 100, owner: "other").count == 40 - done)
        }
    }

    @Test("a stop request starts nothing new and hands the claimed rows back")
    func stop() async throws {
        try await LedgerTests.withLedger { ledger in
            try await Self.seed(ledger, count: 50)
            let stop = StopSignal()
            let seen = Locked<[String: [String]]>([:])
            let report = try await StageRunner(ledger: ledger).run(
                MarkingStage(worker: "w", seen: seen), options: StageRunner.Options(concurrency: 2, stop: stop),
                progress: { report in if report.done >= 5 { stop.request() } })
            #expect(report.done >= 5 && report.done < 50)
            #expect(try await ledger.count(stage: .downloaded) == report.done)
            #expect(try await ledger.claim(stage: .found, limit: 100, owner: "other").count == 50 - report.done)
        }
    }

    @Test("a composed stage hands what the first step carries to the second in memory, and commits once")
    func composed() async throws {
        try await LedgerTests.withLedger { ledger in
            try await Self.seed(ledger, count: 20)
            let report = try await StageRunner(ledger: ledger).run(
                Carrying().then(CarriedCheck()), options: StageRunner.Options(concurrency: 3))
            #expect(report.done == 20 && report.stored == 20 && report.extracted == 20 && report.withExif == 20)
            #expect(try await ledger.count(stage: .extracted) == 20)
            #expect(try await ledger.count(stage: .downloaded) == 0)
        }
    }

    @Test("a runner following a doorbell takes rows committed after it started, and ends when it closes")
    func follows() async throws {
        try await LedgerTests.withLedger { ledger in
            let bell = Doorbell()
            let seen = Locked<[String: [String]]>([:])
            var options = StageRunner.Options(concurrency: 2)
            options.upstream = bell
            let runner = Task {
                try await StageRunner(ledger: ledger).run(MarkingStage(worker: "w", seen: seen), options: options)
            }
            for batch in 0..<3 {
                _ = try await ledger.insertImported(
                    (1...10).map { LedgerTests.document(batch * 10 + $0, term: "a") }, stage: .found)
                bell.ring(rows: 10)
            }
            bell.close()
            let report = try await runner.value
            #expect(report.done == 30)
            #expect(try await ledger.count(stage: .downloaded) == 30)
        }
    }
}

/// Apart from the other runner tests, and run after the parallel suites (scripts/test.sh's
/// timed tier): the slow first commit waits, with a deadline, for the rows the loop processes
/// meanwhile, and the load of the parallel suites on 2 cores starved the loop past it.
@Suite("stage runner: commits queued behind a slow one", .tags(.integration))
struct StageRunnerQueueTests {
    @Test(
        "commits queue behind a slow one in order; when one fails the runner throws, the batches before it stay committed and every other row is released"
    )
    func failedCommitInQueue() async throws {
        try await LedgerTests.withLedger { ledger in
            try await StageRunnerTests.seed(ledger, count: 60)
            let stage = SlowCommits(waitFor: 40, failOn: 3)
            var options = StageRunner.Options(concurrency: 4)
            options.commitBatch = 4
            // Batches by size only, however slowly a loaded machine runs the test.
            options.commitInterval = 3600
            await #expect(throws: IngestError.self) {
                _ = try await StageRunner(ledger: ledger).run(stage, options: options)
            }
            // The two commits before the failed one, whole; none after it.
            #expect(try await ledger.count(stage: .downloaded) == 8)
            // The loop went on while the first commit took its time: 40 rows (ten batches) were
            // processed before it ended, 36 of them queued behind it.
            #expect(stage.processedByFirstCommit.withLock { $0 } >= 40)
            // No lease is left behind: the failed batch and the queued ones are claimable at once.
            #expect(try await ledger.claim(stage: .found, limit: 100, owner: "other").count == 52)
        }
    }
}
