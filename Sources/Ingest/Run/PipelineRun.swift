import Enrich
import Foundation
public import Logging

/// The whole pipeline in one run: search (or import) → download → extract → score (optional)
/// → encrypt-load, with the stages overlapping where their inputs are ready.
///
/// The ledger is the queue between the stages: each stage runs in rounds, and a round takes
/// what the stage before it has committed so far (download starts on rows the search has
/// recorded, extract on downloaded rows, load on batches of extracted or scored rows). A round
/// that finds nothing waits a moment; once the stage before has finished, one last round takes
/// the rest. Every stage keeps its own resume guarantees, so a run that is killed and started
/// again finishes the job without repeating committed work (no Flickr page fetched again, no
/// stored image downloaded again, no labelled image billed again).
///
/// `stop` ends a run gracefully (Ctrl-C): no new work starts, work in flight finishes and is
/// committed. A stage that fails stops the others the same way, and its error is thrown.
public final class PipelineRun: Sendable {
    /// Where the photos come from.
    public enum Source: Sendable {
        /// A Flickr search (its options' `stop` is replaced by the run's).
        case search(SearchStage, SearchPlan, SearchStage.Options)
        /// An import source: a folder, a zip or a URL list.
        case importing(ImportStage, any PhotoSource)
    }

    /// The score stage and its options, when the run scores.
    public struct Scoring: Sendable {
        /// The stage (with its Vision client).
        public var stage: ScoreStage
        /// The labels; `maxImages` and `maxCost` bound the images billed over the whole run.
        public var options: ScoreStage.Options

        /// Makes the scoring part of a run.
        public init(stage: ScoreStage, options: ScoreStage.Options) {
            self.stage = stage
            self.options = options
        }
    }

    /// Counts of the whole run so far, for the progress display and the summary lines.
    public struct Tally: Sendable {
        /// Search pages recorded in this run.
        public var searchPages = 0
        /// Photos new to the ledger from the search.
        public var searchNewPhotos = 0
        /// Search pages known to be left.
        public var searchPagesLeft = 0
        /// The search's summary once it ended.
        public var search: SearchStage.Summary?
        /// The import's counts.
        public var imported = ImportStage.Summary()
        /// Download counts over every round (`total` is the rows done).
        public var download = DownloadStage.Progress()
        /// Extract counts over every round (`total` is the rows done).
        public var extract = ExtractStage.Progress()
        /// Images sent to the vision model and labelled (each billed once).
        public var labelledImages = 0
        /// Photos given scores.
        public var scoredPhotos = 0
        /// Photos whose image could not be labelled (see `ScoreStage.Summary.failedPhotos`).
        public var scoreFailedPhotos = 0
        /// Vision calls answered.
        public var visionCalls = 0
        /// Whether `maxImages` or `maxCost` was reached (the rest wait for a later run).
        public var scoreBudgetReached = false
        /// Documents written to the store.
        public var loaded = 0
        /// Documents already identical in the store.
        public var unchanged = 0
        /// Store write commands.
        public var writeCommands = 0
        /// Documents refused by the seal checks (each listed once).
        public var refused: [EncryptLoad.Refusal] = []
        /// Stages that have finished, by name (`search`/`import`, `download`, `extract`, `score`, `load`).
        public var finished: [String] = []
        /// Whether the run was stopped before the end.
        public var stopped = false

        /// Photos that failed or were refused in this run.
        public var failedPhotos: Int {
            download.failed + extract.failed + scoreFailedPhotos + Set(refused.map(\.id)).count
        }

        /// The estimated price of the labelled images at the public rate.
        public var estimatedCost: Double { Vision.estimatedCost(images: labelledImages) }
    }

    /// Set it to end the run gracefully (work in flight is finished and committed).
    public let stop = StopSignal()

    let ledger: Ledger
    let source: Source
    let download: DownloadStage
    let downloadOptions: DownloadStage.Options
    let extract: ExtractStage
    let scoring: Scoring?
    let load: EncryptLoad
    let loadBatchSize: Int
    let logger: Logger
    let idle: UInt64
    let retryFailed: Bool
    private let state = Locked(Tally())

    /// Makes a run from its stages (each made as its own command makes it).
    /// - Parameters:
    ///   - ledger: the ledger every stage shares.
    ///   - source: the search or the import source.
    ///   - download: the download stage, and `downloadOptions` for it (`limit`, `recover` and
    ///     `stop` are set by the run).
    ///   - extract: the extract stage.
    ///   - scoring: the score stage, or `nil` to skip scoring.
    ///   - load: the encrypt-load stage, writing batches of `loadBatchSize`.
    ///   - logger: the logger.
    ///   - idleSeconds: how long a stage with nothing to do waits before looking again.
    ///   - retryFailed: the first round of download, extract and score also takes again the
    ///     photos that failed for good in earlier runs (`--retry-failed`); otherwise only
    ///     transient failures are tried again.
    public init(
        ledger: Ledger, source: Source, download: DownloadStage, downloadOptions: DownloadStage.Options,
        extract: ExtractStage, scoring: Scoring?, load: EncryptLoad, loadBatchSize: Int, logger: Logger,
        idleSeconds: Double = 0.2, retryFailed: Bool = false
    ) {
        self.ledger = ledger
        self.source = source
        self.download = download
        self.downloadOptions = downloadOptions
        self.extract = extract
        self.scoring = scoring
        self.load = load
        self.loadBatchSize = max(1, loadBatchSize)
        self.logger = logger
        self.idle = UInt64(max(0.01, idleSeconds) * 1_000_000_000)
        self.retryFailed = retryFailed
    }

    /// The counts so far.
    public var tally: Tally { state.withLock { $0 } }

    /// Runs every stage to the end (or until `stop` is requested).
    /// - Parameter progress: called whenever a count changes (throttle drawing yourself).
    /// - Returns: the counts of the run; `stopped` says whether it was cut short.
    /// - Throws: the first error of a stage, after the other stages have stopped gracefully.
    public func run(progress: @escaping @Sendable (Tally) -> Void = { _ in }) async throws -> Tally {
        let sourceDone = StopSignal()
        let downloadDone = StopSignal()
        let extractDone = StopSignal()
        let scoreDone = StopSignal()
        let failure = Locked<(any Error)?>(nil)
        let update: @Sendable ((inout Tally) -> Void) -> Void = { [state] body in
            progress(
                state.withLock { tally in
                    body(&tally)
                    return tally
                })
        }
        @Sendable func finished(_ name: String, _ flag: StopSignal) {
            flag.request()
            update { $0.finished.append(name) }
        }
        let stop = self.stop
        func guarded(_ body: @escaping @Sendable () async throws -> Void) -> @Sendable () async -> Void {
            {
                do {
                    try await body()
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    stop.request()
                }
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask(
                operation: guarded { [self] in
                    try await runSource(update: update)
                    finished(sourceName, sourceDone)
                })
            group.addTask(
                operation: guarded { [self] in
                    try await runDownload(after: sourceDone, update: update)
                    finished("download", downloadDone)
                })
            group.addTask(
                operation: guarded { [self] in
                    try await runExtract(after: downloadDone, update: update)
                    finished("extract", extractDone)
                })
            if scoring != nil {
                group.addTask(
                    operation: guarded { [self] in
                        try await runScore(after: extractDone, update: update)
                        finished("score", scoreDone)
                    })
            }
            group.addTask(
                operation: guarded { [self] in
                    try await runLoad(after: scoring == nil ? extractDone : scoreDone, update: update)
                    if !stop.isRequested { update { $0.finished.append("load") } }
                })
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return state.withLock {
            $0.stopped = stop.isRequested
            return $0
        }
    }

    /// `search` or `import`.
    public var sourceName: String {
        if case .importing = source { return "import" }
        return "search"
    }

    /// Runs `round` until `upstream` has finished and one last round after that has run; a
    /// round that did nothing is followed by a short wait. Stops early when a stop is requested.
    private func follow(
        _ upstream: StopSignal, ready: () async throws -> Bool = { true },
        round: (_ first: Bool, _ last: Bool) async throws -> Int
    ) async throws {
        var first = true
        while !stop.isRequested {
            let last = upstream.isRequested
            if !first, !last, try await !ready() {
                try await Task.sleep(nanoseconds: idle)
                continue
            }
            let done = try await round(first, last)
            first = false
            if last { return }
            if done == 0 { try await Task.sleep(nanoseconds: idle) }
        }
    }

    private func runSource(update: @escaping @Sendable ((inout Tally) -> Void) -> Void) async throws {
        switch source {
        case .search(let stage, let plan, var options):
            options.stop = stop
            let summary = try await stage.run(plan, options: options) { p in
                update {
                    $0.searchPages = p.pages
                    $0.searchNewPhotos = p.newPhotos
                    $0.searchPagesLeft = p.pagesLeft
                }
            }
            update { $0.search = summary }
        case .importing(let stage, let photoSource):
            let summary = try await stage.run(photoSource, stop: stop) { s in update { $0.imported = s } }
            update { $0.imported = summary }
        }
    }

    private func runDownload(after upstream: StopSignal, update: @escaping @Sendable ((inout Tally) -> Void) -> Void)
        async throws
    {
        // An import writes to the image store's temporary folder, which a download round
        // cleans at its start: with an import source, downloading waits for the import.
        if case .importing = source {
            while !upstream.isRequested, !stop.isRequested { try await Task.sleep(nanoseconds: idle) }
        }
        try await follow(upstream) { first, _ in
            var options = downloadOptions
            options.recover = first
            options.retryFailed = first && retryFailed
            options.stop = stop
            options.limit = nil
            let base = state.withLock { $0 }.download
            let round = try await download.run(options) { p in update { $0.download = Self.sum(base, p) } }
            update { $0.download = Self.sum(base, round) }
            return round.done
        }
    }

    private func runExtract(after upstream: StopSignal, update: @escaping @Sendable ((inout Tally) -> Void) -> Void)
        async throws
    {
        try await follow(upstream) { first, _ in
            let base = state.withLock { $0 }.extract
            let round = try await extract.run(stop: stop, retryFailed: first && retryFailed) { p in
                update { $0.extract = Self.sum(base, p) }
            }
            update { $0.extract = Self.sum(base, round) }
            return round.done
        }
    }

    private func runScore(after upstream: StopSignal, update: @escaping @Sendable ((inout Tally) -> Void) -> Void)
        async throws
    {
        guard let scoring else { return }
        let batch = 1024
        try await follow(upstream) { first, _ in
            var processed = 0
            while !stop.isRequested {
                var options = scoring.options
                options.stop = stop
                options.freshOnly = first ? nil : batch
                options.retryFailed = first && retryFailed
                // `imageCap` folds `maxCost` into an image count; each round gets what is left.
                if let budget = scoring.options.imageCap {
                    let left = budget - state.withLock { $0 }.labelledImages
                    if left <= 0 {
                        update { $0.scoreBudgetReached = true }
                        break
                    }
                    options.maxImages = left
                    options.maxCost = nil
                }
                let summary = try await scoring.stage.run(options) { plan in
                    if plan.deferredImages > 0 { update { $0.scoreBudgetReached = true } }
                }
                update {
                    $0.labelledImages += summary.labelledImages
                    $0.scoredPhotos += summary.scoredPhotos
                    $0.scoreFailedPhotos += summary.failedPhotos
                    $0.visionCalls += summary.calls
                }
                let done = summary.scoredPhotos + summary.failedPhotos
                processed += done
                // A full batch of new rows: more may be waiting behind it.
                if first || summary.plan.photos < batch || done == 0 { break }
            }
            return processed
        }
    }

    private func runLoad(after upstream: StopSignal, update: @escaping @Sendable ((inout Tally) -> Void) -> Void)
        async throws
    {
        let readyStage: Ledger.Stage = scoring == nil ? .extracted : .scored
        var lastRound = Date()
        try await follow(
            upstream,
            ready: {
                // Load in whole batches while the stages before are still running.
                if Date().timeIntervalSince(lastRound) >= 2 { return true }
                return try await ledger.count(stage: readyStage) >= loadBatchSize
            }
        ) { first, _ in
            lastRound = Date()
            var stages: [Ledger.Stage] = scoring == nil ? [.extracted, .scored] : [.scored]
            if first { stages.append(.loaded) }
            let base = state.withLock { $0 }
            let summary = try await load.run(stages: stages, stop: stop) { s in
                update {
                    $0.loaded = base.loaded + s.loaded
                    $0.unchanged = base.unchanged + s.unchanged
                    $0.writeCommands = base.writeCommands + s.writeCommands
                }
            }
            update {
                $0.loaded = base.loaded + summary.loaded
                $0.unchanged = base.unchanged + summary.unchanged
                $0.writeCommands = base.writeCommands + summary.writeCommands
                let known = Set($0.refused)
                $0.refused += summary.refused.filter { !known.contains($0) }
            }
            return summary.loaded + summary.unchanged
        }
    }

    static func sum(_ a: StageReport, _ b: StageReport) -> StageReport {
        var s = a + b
        s.total = s.done
        return s
    }
}
