import Enrich
import Foundation
public import Logging

/// The whole pipeline in one run: search (or import) → download → extract → score (optional)
/// → encrypt-load, with the stages overlapping where their inputs are ready.
///
/// Each stage runs once, on the `StageRunner` (download and extract composed: each image is
/// extracted while its original is in memory). The stages are connected by `Doorbell`s: a stage
/// rings the next after each commit, and the next claims the committed rows from the ledger
/// (leased, so no two workers take one row) or waits until it rings again; nothing polls. The
/// rows themselves stay in the ledger, so memory stays flat however many photos there are, and
/// every stage keeps its resume guarantees: a run that is killed and started again finishes
/// the job without repeating committed work (no Flickr page fetched again, no stored image
/// downloaded again, no labelled image billed again).
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
        /// The image objects under an S3 prefix, fetched and stored by the S3 import (its
        /// options' `stop` is replaced by the run's).
        case s3(S3ImportStage, S3Location, S3ImportStage.Options)
        /// Rows a plan's shard file seeded into the ledger at `found` (`photoseal run --shard`):
        /// nothing to find, `photos` rows to download.
        case planned(photos: Int)
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
        /// The download stage's counts, its extract step's included (`total` is the rows done).
        public var download = StageReport()
        /// The extract stage's counts (imported images; `total` is the rows done).
        public var extract = StageReport()
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

    /// Whether the run scores (it has a score stage).
    public var scores: Bool { scoring != nil }
    let load: EncryptLoad
    let logger: Logger
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
    ///   - load: the encrypt-load stage (its `batchSize` is the run's store batch).
    ///   - logger: the logger.
    ///   - retryFailed: the first round of download, extract and score also takes again the
    ///     photos that failed for good in earlier runs (`--retry-failed`); otherwise only
    ///     transient failures are tried again.
    public init(
        ledger: Ledger, source: Source, download: DownloadStage, downloadOptions: DownloadStage.Options,
        extract: ExtractStage, scoring: Scoring?, load: EncryptLoad, logger: Logger,
        retryFailed: Bool = false
    ) {
        self.ledger = ledger
        self.source = source
        self.download = download
        self.downloadOptions = downloadOptions
        self.extract = extract
        self.scoring = scoring
        self.load = load
        self.logger = logger
        self.retryFailed = retryFailed
    }

    /// The counts so far.
    public var tally: Tally { state.withLock { $0 } }

    /// Runs every stage to the end (or until `stop` is requested).
    /// - Parameter progress: called whenever a count changes (throttle drawing yourself).
    /// - Returns: the counts of the run; `stopped` says whether it was cut short.
    /// - Throws: the first error of a stage, after the other stages have stopped gracefully.
    public func run(progress: @escaping @Sendable (Tally) -> Void = { _ in }) async throws -> Tally {
        // Rows found (or imported) → download and extract; rows at `extracted` → score or load;
        // rows at `scored` → load. A stop closes every bell, so no stage waits on one.
        let found = Doorbell()
        let extracted = Doorbell()
        let scored = Doorbell()
        // Score or load takes the rows extract commits, load the rows score commits: their
        // documents stay in memory for it.
        ledger.handOff([.extracted, .scored])
        stop.onRequest {
            for bell in [found, extracted, scored] { bell.close() }
        }
        let extractProducers = Locked(2)
        let failure = Locked<(any Error)?>(nil)
        let update: @Sendable ((inout Tally) -> Void) -> Void = { [state] body in
            progress(
                state.withLock { tally in
                    body(&tally)
                    return tally
                })
        }
        let stop = self.stop
        // Runs a stage; whatever happens, closes the bell of the stage after it.
        func guarded(
            _ name: String?, closing bell: @escaping @Sendable () -> Void,
            _ body: @escaping @Sendable () async throws -> Void
        ) -> @Sendable () async -> Void {
            {
                do {
                    try await body()
                    if let name, !stop.isRequested { update { $0.finished.append(name) } }
                } catch {
                    failure.withLock { if $0 == nil { $0 = error } }
                    stop.request()
                }
                bell()
            }
        }
        let extractDone: @Sendable () -> Void = {
            if extractProducers.withLock({ count in
                count -= 1
                return count == 0
            }) {
                extracted.close()
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask(
                operation: guarded(sourceName, closing: { found.close() }) { [self] in
                    try await runSource(update: update, ring: found)
                })
            group.addTask(
                operation: guarded("download", closing: extractDone) { [self] in
                    try await runDownload(after: found, ring: extracted, update: update)
                })
            group.addTask(
                operation: guarded("extract", closing: extractDone) { [self] in
                    try await runExtract(after: found, ring: extracted, update: update)
                })
            if scoring != nil {
                group.addTask(
                    operation: guarded("score", closing: { scored.close() }) { [self] in
                        try await runScore(after: extracted, ring: scored, update: update)
                    })
            }
            group.addTask(
                operation: guarded("load", closing: {}) { [self] in
                    try await runLoad(after: scoring == nil ? extracted : scored, update: update)
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
        if case .search = source { return "search" }
        return "import"
    }

    private func runSource(update: @escaping @Sendable ((inout Tally) -> Void) -> Void, ring: Doorbell) async throws {
        switch source {
        case .search(let stage, let plan, var options):
            options.stop = stop
            let summary = try await stage.run(plan, options: options) { p in
                update {
                    if p.newPhotos != $0.searchNewPhotos { ring.ring(rows: p.newPhotos - $0.searchNewPhotos) }
                    $0.searchPages = p.pages
                    $0.searchNewPhotos = p.newPhotos
                    $0.searchPagesLeft = p.pagesLeft
                }
            }
            update { $0.search = summary }
        case .importing(let stage, let photoSource):
            let summary = try await stage.run(photoSource, stop: stop) { s in
                update {
                    // Rung when rows are committed (URLs 500 at a time, files one by one), not
                    // for every item read: a ring with nothing new to claim costs the download
                    // stage an empty claim.
                    let rows = s.queued + s.stored - $0.imported.queued - $0.imported.stored
                    $0.imported = s
                    if rows > 0 { ring.ring(rows: rows) }
                }
            }
            update { $0.imported = summary }
        case .s3(let stage, let location, var options):
            options.stop = stop
            let summary = try await stage.run(location, options: options) { s in
                update {
                    ring.ring(rows: max(0, s.stored + s.duplicates - $0.imported.stored))
                    $0.imported = Self.importSummary(s)
                }
            }
            update { $0.imported = Self.importSummary(summary) }
            if summary.failed > 0 {
                logger.warning(
                    "run: some S3 objects could not be fetched; run again to retry them",
                    metadata: ["s3.failed": "\(summary.failed)"])
            }
        case .planned(let photos):
            update {
                $0.imported.items = photos
                $0.imported.queued = photos
            }
            ring.ring(rows: photos)
        }
    }

    /// An S3 import's counts in the import's terms (objects are items; failed objects unreadable).
    static func importSummary(_ s: S3ImportStage.Summary) -> ImportStage.Summary {
        var summary = ImportStage.Summary()
        summary.items = s.objects
        summary.stored = s.stored + s.duplicates
        summary.known = s.known
        summary.skipped = s.skipped
        summary.unreadable = s.failed
        summary.bytes = s.bytes
        return summary
    }

    /// Rows of a committed batch that are now at `extracted`.
    private static func extractedRows(_ batch: [StepResult]) -> Int {
        batch.reduce(0) { $0 + ($1.stage == .extracted ? 1 : 0) }
    }

    private func runDownload(
        after found: Doorbell, ring extracted: Doorbell, update: @escaping @Sendable ((inout Tally) -> Void) -> Void
    ) async throws {
        // An import cleans the image store's partial files at its start, then writes images
        // while the download runs: downloading starts once the import has committed its first
        // rows (or ended), without cleaning again. It used to wait for the whole import
        // (0.25 s of 5,000 URLs, one core, before the first download).
        var stepOptions = downloadOptions
        switch source {
        case .search, .planned: break
        case .importing, .s3:
            await found.wait(after: 0)
            stepOptions.cleansPartialFiles = false
        }
        if stop.isRequested { return }
        var options = StageRunner.Options(concurrency: downloadOptions.concurrency, stop: stop)
        options.retryFailed = retryFailed
        options.upstream = found
        // The run's stop also cancels the downloads in flight (a slow body is not waited for).
        stepOptions.stop = stop
        let steps = download.step(stepOptions).then(extract)
        let report = try await StageRunner(ledger: ledger).run(
            steps, options: options, committed: { extracted.ring(rows: Self.extractedRows($0)) },
            progress: { report in update { $0.download = Self.sum(StageReport(), report) } })
        update { $0.download = Self.sum(StageReport(), report) }
        // The ledger's log copied into the database now, while the stages after finish their
        // last rows, rather than when the ledger is closed at the end (about 50 ms of a
        // 5,000-photo run that nothing else overlapped).
        try? await ledger.checkpoint()
    }

    private func runExtract(
        after found: Doorbell, ring extracted: Doorbell, update: @escaping @Sendable ((inout Tally) -> Void) -> Void
    ) async throws {
        var options = StageRunner.Options(concurrency: ProcessInfo.processInfo.activeProcessorCount, stop: stop)
        options.retryFailed = retryFailed
        options.upstream = found
        let report = try await StageRunner(ledger: ledger).run(
            extract, options: options, committed: { extracted.ring(rows: Self.extractedRows($0)) },
            progress: { report in update { $0.extract = Self.sum(StageReport(), report) } })
        update { $0.extract = Self.sum(StageReport(), report) }
    }

    private func runScore(
        after extracted: Doorbell, ring scored: Doorbell, update: @escaping @Sendable ((inout Tally) -> Void) -> Void
    ) async throws {
        guard let scoring else { return }
        var options = scoring.options
        options.stop = stop
        options.retryFailed = retryFailed
        let report = try await scoring.stage.run(
            options, recover: true, upstream: extracted,
            committed: { batch in
                let rows = batch.reduce(0) { $0 + ($1.stage == .scored ? 1 : 0) }
                if rows > 0 || batch.isEmpty { scored.ring(rows: rows) }
            },
            progress: { report in update { Self.show(report, in: &$0) } })
        update { Self.show(report, in: &$0) }
    }

    /// The score stage's counts in the run's tally.
    private static func show(_ report: StageReport, in tally: inout Tally) {
        tally.labelledImages = report.labelled
        tally.scoredPhotos = report.scored
        tally.scoreFailedPhotos = report.failed
        tally.visionCalls = report.calls
        tally.scoreBudgetReached = report.deferred > 0
    }

    private func runLoad(after ready: Doorbell, update: @escaping @Sendable ((inout Tally) -> Void) -> Void)
        async throws
    {
        @Sendable func show(_ summary: EncryptLoad.Summary, base: Tally) {
            update {
                $0.loaded = base.loaded + summary.loaded
                $0.unchanged = base.unchanged + summary.unchanged
                $0.writeCommands = base.writeCommands + summary.writeCommands
                $0.refused = base.refused + summary.refused
            }
        }
        // What earlier runs left for this store first: loaded rows it has not received in their
        // current version (and, without scoring, rows a `score` command moved to `scored`).
        let before = state.withLock { $0 }
        let earlier = try await load.run(stages: scoring == nil ? [.scored, .loaded] : [.loaded], stop: stop) {
            show($0, base: before)
        }
        show(earlier, base: before)
        // Then every row as the stage before commits it, in store batches of the load's `batchSize`.
        let base = state.withLock { $0 }
        var options = load.runnerOptions(stop: stop)
        options.upstream = ready
        let report = try await StageRunner(ledger: ledger).run(
            load.step(takes: scoring == nil ? .extracted : .scored), options: options,
            progress: { show(EncryptLoad.summary($0), base: base) })
        show(EncryptLoad.summary(report), base: base)
    }

    static func sum(_ a: StageReport, _ b: StageReport) -> StageReport {
        var s = a + b
        s.total = s.done
        return s
    }
}
