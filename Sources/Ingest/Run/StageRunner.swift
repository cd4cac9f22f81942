import Foundation

/// Runs a `PipelineStage` over the ledger: the one work loop of every stage.
///
/// It claims rows at `stage.takes` with a lease (several workers on one ledger never take the
/// same row; a killed worker's rows come back when its process is gone or the lease ends),
/// keeps `concurrency` photos in flight, and commits finished rows in small batches (one
/// transaction each) in the background while the next photos are processed. A stop request
/// starts nothing new: photos in flight finish and are committed, rows claimed but not
/// started are handed back at once.
public struct StageRunner: Sendable {
    /// Rows queued for commit behind the batch being committed before the loop waits for it.
    /// With none, a slow commit (another stage's long transaction ahead of it on the ledger's
    /// one writer) held up the loop, and with it the start of new photos: in a 5,000-image
    /// `run`, about 0.1 s of idle cores. Counted in rows, not batches: a stage with large
    /// batches (load: 128 documents) still waits, so its memory does not grow with a slow store.
    static let queuedRows = 128

    /// The fewest rows a claim asks for (a claim asks for 8 per photo in flight, or per batch):
    /// a stage with few in flight (extract and load, one per core) holds at most this many
    /// claimed documents in memory. It was 256: the load stage held that many documents with
    /// their JSON besides its batches, in a long run, where it always has rows waiting.
    static let claimFloor = 64

    /// How to run a stage.
    public struct Options: Sendable {
        /// Photos in flight at once (for a stage with a `batchSize` over 1: batches).
        public var concurrency: Int
        /// Stop after this many rows (default: all).
        public var limit: Int?
        /// Run the stage's `recover` first (default); a run in rounds sets it for its first only.
        public var recover = true
        /// With `recover`, also take again the rows that failed for good (`--retry-failed`).
        public var retryFailed = false
        /// When set, no new photo starts once a stop is requested.
        public var stop: StopSignal?
        /// Seconds a claim holds its rows (default 600).
        public var lease: Double = 600
        /// Rows per commit, at most (default 32); a commit also happens every `commitInterval`.
        public var commitBatch = 32
        /// Seconds between commits when rows finish slowly (default 0.25).
        public var commitInterval = 0.25
        /// In a run, the stage before: when no row is left to claim, the runner waits for it to
        /// ring (rows committed) instead of ending, and ends once it is closed and the rows it
        /// left are done.
        package var upstream: Doorbell?

        /// Options with `concurrency` photos in flight, the others at their defaults.
        public init(concurrency: Int = 16, limit: Int? = nil, stop: StopSignal? = nil) {
            self.concurrency = max(1, concurrency)
            self.limit = limit
            self.stop = stop
        }
    }

    /// The ledger the rows are claimed from and committed to.
    public let ledger: Ledger

    /// Makes a runner on `ledger`.
    public init(ledger: Ledger) { self.ledger = ledger }

    /// Runs `stage` until no row is left at `stage.takes` (or `limit` rows are done, or a stop
    /// is requested).
    /// - Parameters:
    ///   - committed: called with each batch once it is committed (a pipeline hands the rows
    ///     to the next stage from here).
    ///   - progress: called after each row with the counts so far.
    /// - Returns: the counts (`done` is rows finished, any outcome).
    /// - Throws: the first error `process` or the ledger throws, after what finished is committed
    ///   and the unfinished rows' leases are ended.
    public func run<S: PipelineStage>(
        _ stage: S, options: Options,
        committed: @escaping @Sendable ([StepResult]) async -> Void = { _ in },
        progress: @escaping @Sendable (StageReport) -> Void = { _ in }
    ) async throws -> StageReport {
        var report = StageReport()
        if options.recover { report += try await stage.recover(retryFailed: options.retryFailed) }
        _ = try await ledger.releaseDeadLeases(stage: stage.takes)
        report.total = try await ledger.count(stage: stage.takes)
        if let limit = options.limit { report.total = min(report.total, limit) }
        let owner = Ledger.leaseOwner(stage.name)
        let width = options.concurrency
        let limit = options.limit ?? Int.max
        let ledger = self.ledger
        var queue: [Ledger.Entry] = []
        var claimedAll = false
        var started = 0
        var tasks = 0
        var inFlight = Set<String>()
        var pending: [StepResult] = []
        // Rows the stage left at their stage for a later run: leased until the run ends.
        var resting: [String] = []
        var lastCommit = Date()
        // Batches being committed, oldest first: each commits once the one before it has, so
        // the ledger sees them in order, while the loop goes on starting photos. It waits only
        // when more than `Self.queuedRows` rows are queued behind the oldest.
        var commits: [(task: Task<StageReport, any Error>, ids: [String])] = []
        var commitFailed = false
        var failedBatch: [String] = []
        // Commits ended (either way), counted by the tasks; `reaped` of them were awaited.
        let ended = Locked(0)
        var reaped = 0
        func settle(keeping: Int) async throws {
            while commits.count > keeping {
                let oldest = commits.removeFirst()
                reaped += 1
                do {
                    report += try await oldest.task.value
                } catch {
                    commitFailed = true
                    failedBatch = oldest.ids
                    throw error
                }
            }
        }
        func commit() async throws {
            guard !pending.isEmpty else { return }
            let batch = pending
            // A new array that grows as results come: emptying the shared one while keeping its
            // capacity would allocate that capacity at once (0.9 MB for a load batch of 500).
            pending = []
            lastCommit = Date()
            let before = commits.last?.task
            commits.append(
                (
                    Task {
                        defer { ended.withLock { $0 += 1 } }
                        // A batch after one that failed is not committed (the run stops).
                        if let before { _ = try await before.value }
                        let counted = try await stage.commit(batch, ledger: ledger)
                        await committed(batch)
                        return counted
                    }, batch.map(\.id)
                ))
            while commits.dropFirst().reduce(0, { $0 + $1.ids.count }) > Self.queuedRows {
                try await settle(keeping: commits.count - 1)
            }
        }
        let upstream = options.upstream
        let batchSize = max(1, stage.batchSize)
        var seen = 0
        var upstreamDone = upstream == nil
        do {
            try await withThrowingTaskGroup(of: [StepResult].self) { group in
                while true {
                    while tasks < width, started < limit, options.stop?.isRequested != true {
                        if queue.isEmpty, !claimedAll {
                            // Read before the claim: a ring after it is not missed.
                            if let upstream {
                                seen = upstream.generation
                                upstreamDone = upstream.isClosed
                            }
                            let want = min(max(width * max(8, batchSize), Self.claimFloor), limit - started)
                            queue = try await ledger.claim(
                                stage: stage.takes, limit: want, owner: owner, lease: options.lease
                            ).reversed()
                            if queue.isEmpty { claimedAll = true }
                        }
                        guard !queue.isEmpty else { break }
                        let entries = (0..<min(batchSize, queue.count, limit - started)).map { _ in queue.removeLast() }
                        started += entries.count
                        tasks += 1
                        for entry in entries { inFlight.insert(entry.id) }
                        group.addTask {
                            let items = Self.items(entries)
                            var results =
                                batchSize == 1
                                ? [try await stage.process(items[0])] : try await stage.process(batch: items)
                            Self.keepUnchanged(&results, claimed: entries)
                            return results
                        }
                    }
                    if tasks == 0 {
                        // Nothing in flight and nothing to claim: wait for the stage before.
                        guard let upstream, !upstreamDone, started < limit, options.stop?.isRequested != true
                        else { break }
                        await upstream.wait(after: seen)
                        claimedAll = false
                        continue
                    }
                    guard let results = try await group.next() else { break }
                    tasks -= 1
                    for var result in results {
                        // What a step carries (an original image) is for a composed next step only.
                        result.carried = nil
                        inFlight.remove(result.id)
                        if result.rests { resting.append(result.id) }
                        report += result.report
                        report.done += 1
                        pending.append(result)
                    }
                    if pending.count >= options.commitBatch
                        || Date().timeIntervalSince(lastCommit) >= options.commitInterval
                    {
                        try await commit()
                    }
                    if claimedAll, let upstream, upstream.generation != seen { claimedAll = false }
                    // The counts of the commits that ended (they end in order) join the report.
                    try await settle(keeping: commits.count - (ended.withLock { $0 } - reaped))
                    progress(report)
                }
                try await commit()
                try await settle(keeping: 0)
            }
        } catch {
            // What finished is kept; what did not is handed back for the next run.
            if !commitFailed { try? await settle(keeping: 0) }
            var unfinished = Array(inFlight) + queue.map(\.id) + resting
            // Batches not committed (after a failed one, or the failed one): handed back too
            // (ending the lease of a row that was committed changes nothing).
            unfinished += failedBatch + commits.flatMap(\.ids)
            if commitFailed {
                unfinished += pending.map(\.id)
            } else if !pending.isEmpty, (try? await stage.commit(pending, ledger: ledger)) == nil {
                unfinished += pending.map(\.id)
            }
            try? await ledger.release(ids: unfinished)
            throw error
        }
        // Rows claimed but not started (a stop was requested), and the rows left for a later
        // run, are handed back at once.
        try await ledger.release(ids: queue.map(\.id) + resting)
        return report
    }
}

extension Ledger.Advance {
    /// The ledger change of a step's result.
    init(_ result: StepResult) {
        self.init(id: result.id, stage: result.stage, document: result.document, failure: result.failure)
        json = result.unchangedJSON
    }
}

extension StageRunner {
    // The two helpers below keep `PhotoDocument` values (664 bytes each) out of the task that
    // processes a row: an async function keeps every such temporary in its task's frame for
    // the whole call. Not inlined, their temporaries live on the thread's stack.

    /// The stage items for claimed rows.
    @inline(never)
    static func items(_ entries: [Ledger.Entry]) -> [StageItem] {
        entries.map { entry in
            var item = StageItem(id: entry.id, document: entry.document)
            item.json = entry.json
            return item
        }
    }

    /// Marks the results whose document the step left as claimed: such a document keeps its one
    /// encoding (committing neither encodes nor writes it again).
    @inline(never)
    static func keepUnchanged(_ results: inout [StepResult], claimed entries: [Ledger.Entry]) {
        for (index, entry) in zip(results.indices, entries) where results[index].document == entry.document {
            results[index].unchangedJSON = entry.json
        }
    }
}
