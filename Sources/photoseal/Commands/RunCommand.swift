import ArgumentParser
import Crypto
import Enrich
import Foundation
import Ingest
import Logging
import Store

/// `photoseal run`: the whole pipeline in one command.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Search (or import), download, extract, score and load in one run, the stages overlapping.",
        discussion: """
            Takes the search options of `photoseal search` or the SOURCE argument of `photoseal \
            import`, then downloads, extracts, scores (only with --label or --labels-file and a \
            Vision key; otherwise skipped with a note) and loads into the store, with the \
            options of those commands. The stages overlap: download starts on rows the search \
            has recorded, extract on downloaded rows, load on batches of extracted (or scored) \
            rows.

            Ctrl-C (or SIGTERM) stops gracefully: no new work starts, work in flight is \
            committed, the exit status is 130 (143). Run the same command again to finish: \
            no recorded Flickr page is fetched again, no stored image downloaded again, no \
            labelled image billed again.

            Failures are listed at the end (the first ten, then a count) and by `photoseal \
            status --failures`. Photos that failed for good (HTTP 404/410, not an image, Vision \
            refusing the image) are not tried again by later runs unless given --retry-failed; \
            transient failures are tried again by the next run.

            Examples:
              photoseal run --term monkey --bbox 5,35,20,48 --label monkey --concurrency 32
              photoseal run ~/Pictures/trip --store embedded:trip.sqlite
              photoseal run urls.csv --store 'mongodb://127.0.0.1:27017/photoseal'
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: ArgumentHelp(
            "Import from a folder, a .zip, or a .csv/.tsv with a url column instead of searching.",
            valueName: "source"))
    var source: String?

    @OptionGroup(title: "Search") var query: SearchQueryOptions

    @OptionGroup(title: "Search") var searchExtras: RunSearchOptions

    @OptionGroup(title: "Download") var download: DownloadOptions

    @OptionGroup(title: "Score") var labelOptions: LabelOptions

    @OptionGroup(title: "Score") var scoreExtras: RunScoreOptions

    @OptionGroup(title: "Load") var batch: BatchSizeOptions

    @OptionGroup var retry: RetryFailedOptions

    func validate() throws {
        if source != nil {
            if query.isGiven {
                throw ValidationError("give either search options (--term, --bbox, ...) or an import source, not both")
            }
        } else {
            _ = try query.plan()
        }
    }

    func run() async throws {
        try await reportingErrors {
            let started = Date()
            let logger = global.logger()
            let secrets = try global.secrets.load()
            let keyring = try secrets.keyring()
            let sealer = FieldSealer(keyring: keyring)
            let blind = try secrets.blindIndex()
            let ledger = try Ledger(directory: global.workdir, logger: logger)
            let images = ImageStore(workdir: global.workdir)
            let ingestor = ImageIngestor(store: images, mode: download.images.storeImages.mode, sealer: sealer)
            let api = try HTTPClient(logger: logger)
            defer { api.shutdown() }
            let fetcher = try HTTPClient(configuration: download.httpConfiguration, logger: logger)
            defer { fetcher.shutdown() }

            let pipelineSource: PipelineRun.Source
            if let source {
                let photoSource = try PhotoSources.source(for: source)
                pipelineSource = .importing(
                    ImportStage(ledger: ledger, ingestor: ingestor, logger: logger), photoSource)
            } else {
                let plan = try query.plan()
                guard let key = query.apiKey ?? secrets.flickrAPIKey, !key.isEmpty else {
                    throw IngestError(
                        .configuration, "no Flickr API key: pass --api-key or set FLICKR_API_KEY in the secrets file")
                }
                let counter = APICallCounter()
                let client = try FlickrClient(
                    http: api, endpoint: global.flickrEndpoint, apiKey: key,
                    budget: RateBudget.shared(apiKey: key, perHour: query.ratePerHour), logger: logger,
                    onAttempt: counter.record)
                pipelineSource = .search(
                    SearchStage(
                        client: client, counter: counter, ledger: ledger, sealer: sealer, blind: blind, logger: logger),
                    plan, SearchStage.Options(limit: query.limit, concurrency: searchExtras.searchConcurrency))
            }

            let extractor = ExtractStage(
                ledger: ledger, store: images, sealer: sealer, geocoder: try loadGeocoder(), logger: logger)
            let scoring = try makeScoring(ledger: ledger, http: api, keyring: keyring, logger: logger, secrets: secrets)
            let store = try StoreLocation.open(
                explicit: global.store, secrets: secrets, workdir: global.workdir, batchSize: batch.batchSize,
                logger: logger)
            let pipeline = PipelineRun(
                ledger: ledger, source: pipelineSource,
                // Downloaded images are extracted at once, while the original is at hand; the
                // extract stage takes imported images (and rows an earlier run left downloaded).
                download: DownloadStage(
                    http: fetcher, ledger: ledger, ingestor: ingestor, extractor: extractor, logger: logger),
                downloadOptions: download.stageOptions(),
                extract: extractor,
                scoring: scoring,
                load: EncryptLoad(
                    ledger: ledger, store: store, keyring: keyring, blind: blind, batchSize: batch.batchSize,
                    logger: logger),
                loadBatchSize: batch.batchSize, logger: logger, retryFailed: retry.retryFailed)

            let meter = ProgressMeter(enabled: stderrIsTerminal)
            let interrupts = Interrupts {
                pipeline.stop.request()
                printError("run: stopping once the work in flight is committed (press Ctrl-C again to quit at once)")
            }
            defer { interrupts.cancel() }
            let sourceName = pipeline.sourceName
            let tally: PipelineRun.Tally
            do {
                tally = try await pipeline.run { tally in
                    meter.show(Self.progressLine(tally, source: sourceName, elapsed: meter.elapsed))
                }
            } catch {
                // The other stages stopped gracefully: say what was done, then the error.
                meter.finish()
                if let status = try? await ledger.status() {
                    for line in Self.summaryLines(
                        pipeline.tally, source: sourceName, scoring: scoring != nil, status: status,
                        store: store.location, elapsed: meter.elapsed)
                    {
                        printError(line)
                    }
                }
                throw error
            }
            meter.finish()
            let status = try await ledger.status()
            for line in Self.summaryLines(
                tally, source: sourceName, scoring: scoring != nil, status: status, store: store.location,
                elapsed: meter.elapsed)
            {
                printError(line)
            }
            try await printFailureSummary(ledger, since: started, workdir: global.workdir)
            if let signal = interrupts.caught, tally.stopped {
                printError("run: interrupted; run the same command again to finish (nothing committed is done twice)")
                throw ExitCode(128 + signal)
            }
            if tally.failedPhotos > 0 {
                printError(
                    "run: \(tally.failedPhotos) photos failed or were refused in this run (listed above)")
                throw ExitCode.failure
            }
        }
    }

    /// The score stage, or `nil` (with a one-line note) when no label or no key was given.
    func makeScoring(ledger: Ledger, http: HTTPClient, keyring: Keyring, logger: Logger, secrets: Secrets) throws
        -> PipelineRun.Scoring?
    {
        let (vocabulary, wanted) = try labelOptions.labelSet()
        guard !wanted.isEmpty else {
            printError("run: score skipped: no --label or --labels-file given")
            return nil
        }
        guard let key = scoreExtras.visionApiKey ?? secrets.visionAPIKey, !key.isEmpty else {
            printError(
                "run: score skipped: no Vision API key (pass --vision-api-key or set GOOGLE_VISION_API_KEY "
                    + "in the secrets file)")
            return nil
        }
        let counter = APICallCounter()
        let client = try VisionClient(
            http: http, endpoint: global.visionEndpoint, apiKey: key, logger: logger, onAttempt: counter.record)
        return PipelineRun.Scoring(
            stage: ScoreStage(
                ledger: ledger, client: client, counter: counter, workdir: global.workdir, logger: logger,
                keyring: keyring),
            options: ScoreStage.Options(
                labels: wanted, vocabulary: vocabulary, maxImages: labelOptions.maxImages,
                concurrency: scoreExtras.scoreConcurrency))
    }

    /// The one progress line for the whole run.
    static func progressLine(_ t: PipelineRun.Tally, source: String, elapsed: Double) -> String {
        var parts: [String] = []
        if source == "search" {
            parts.append("search \(t.searchPages) pages, \(t.searchNewPhotos) new")
        } else {
            parts.append("import \(t.imported.items) items")
        }
        parts.append("download \(t.download.stored)")
        parts.append("extract \(t.extract.done + t.download.extracted)")
        parts.append("score \(t.scoredPhotos)")
        parts.append("load \(t.loaded + t.unchanged)")
        var line =
            String(format: "run %.0fs: ", elapsed) + parts.joined(separator: " → ")
            + String(format: ", %.1f photos/s", Double(t.loaded + t.unchanged) / max(elapsed, 0.001))
        let causes = t.download.causes.merging(
            ["extract": t.extract.failed, "score": t.scoreFailedPhotos, "refused": Set(t.refused.map(\.id)).count],
            uniquingKeysWith: +
        ).filter { $0.value > 0 }
        if !causes.isEmpty {
            line +=
                " [" + causes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "]"
        }
        return line
    }

    /// One summary line per stage, and the refusals.
    static func summaryLines(
        _ t: PipelineRun.Tally, source: String, scoring: Bool, status: LedgerStatus, store: String, elapsed: Double
    ) -> [String] {
        var lines: [String] = []
        if source == "search" {
            let calls = status.apiCalls["flickr", default: [:]].values.reduce(0, +)
            var line =
                "search: \(status.photos) photos in the ledger (\(t.searchNewPhotos) new), \(t.searchPages) pages "
                + "fetched, \(t.search?.queries ?? 0) queries, \(calls) Flickr calls in total"
            if t.search?.limitReached == true { line += "; stopped at --limit" }
            lines.append(line)
        } else {
            let s = t.imported
            lines.append(
                "import: \(s.items) items: \(s.stored) images stored, \(s.queued) URLs queued for download, "
                    + "\(s.known) already known, \(s.skipped) not images (skipped)")
        }
        lines.append(DownloadCommand.line(t.download, elapsed: elapsed, final: true))
        let e = t.extract
        lines.append(
            "extract: \(e.done + t.download.extracted) photos extracted (\(t.download.extracted) as they were "
                + "downloaded; \(e.done) by the extract stage: \(e.withExif) with EXIF, \(e.geoFromExif) positioned "
                + "from EXIF, \(e.placed) with a place), \(e.failed) failed")
        if scoring {
            var line =
                "score: \(t.labelledImages) images labelled in \(t.visionCalls) calls (estimated "
                + String(format: "$%.2f", t.estimatedCost) + " at $"
                + String(format: "%.2f", Vision.pricePerThousandImages) + " per 1,000 images), "
                + "\(t.scoredPhotos) photos scored, \(t.scoreFailedPhotos) photos with errors"
            if t.scoreBudgetReached { line += "; --max-images reached, the rest wait for a later run" }
            lines.append(line)
        } else {
            lines.append("score: skipped")
        }
        for refusal in t.refused { lines.append("refused \(refusal.id): \(refusal.field): \(refusal.kind)") }
        lines.append(
            "encrypt-load: \(t.loaded) loaded, \(t.unchanged) unchanged, \(Set(t.refused.map(\.id)).count) refused; "
                + "\(t.writeCommands) store writes to \(store)")
        lines.append(
            "run: \(String(format: "%.1f", elapsed)) s; ledger: "
                + Ledger.Stage.all.map { "\($0.name) \(status.stages[$0.name] ?? 0)" }.joined(separator: ", "))
        return lines
    }
}

/// `run`'s search flag that `search` spells `--concurrency`.
struct RunSearchOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Flickr calls in flight at once (search's --concurrency).", valueName: "n"))
    var searchConcurrency: Int = 4

    func validate() throws {
        guard (1...32).contains(searchConcurrency) else {
            throw ValidationError("--search-concurrency must be between 1 and 32")
        }
    }
}

/// `run`'s score flags that `score` spells `--api-key` and `--concurrency`.
struct RunScoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The Google Cloud API key (default: GOOGLE_VISION_API_KEY from the secrets file; score's --api-key).",
            valueName: "key"))
    var visionApiKey: String?

    @Option(help: ArgumentHelp("Vision calls in flight at once (score's --concurrency).", valueName: "n"))
    var scoreConcurrency: Int = 4

    func validate() throws {
        guard (1...32).contains(scoreConcurrency) else {
            throw ValidationError("--score-concurrency must be between 1 and 32")
        }
    }
}
