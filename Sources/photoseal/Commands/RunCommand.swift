import ArgumentParser
import Foundation
import HTTP
import Ingest
import Logging

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
              photoseal run --workdir monkeys        (runs the workdir's recorded job again)

            The first run in a workdir records its job (search or source, labels, sizes, \
            image mode, store) in <workdir>/job.json; `photoseal run` with no job arguments \
            runs it again, and flags that contradict it are refused unless --update-job is \
            given. One command at a time may change a workdir: a second one exits at once.

            """ + "\n" + shardDiscussion
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var flickrOptions: FlickrEndpointOptions

    @OptionGroup var visionOptions: VisionEndpointOptions

    @Argument(
        help: ArgumentHelp(
            "Import from a folder, a .zip, a .csv/.tsv with a url column, s3://BUCKET/PREFIX, or a web page or feed URL, instead of searching.",
            valueName: "source"),
        completion: .file())
    var source: String?

    @OptionGroup(title: "Search") var query: SearchQueryOptions

    @OptionGroup(title: "Search") var searchExtras: RunSearchOptions

    @OptionGroup(title: "Import") var importLimits: ImportLimitOptions

    @OptionGroup(title: "Download") var download: DownloadOptions

    @OptionGroup(title: "Score") var labelOptions: LabelOptions

    @OptionGroup(title: "Score") var scoreExtras: RunScoreOptions

    @OptionGroup(title: "Load") var batch: BatchSizeOptions

    @OptionGroup var retry: RetryFailedOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup(title: "Shard") var shardOptions: ShardOptions

    @Flag(help: "Let the search, source, labels, sizes, image mode or store given replace the workdir's recorded job.")
    var updateJob = false

    @Flag(
        help: ArgumentHelp(
            "Check the store and keys, print the plan (queries, photos expected, images to label, price); spend nothing."
        ))
    var dryRun = false

    func validate() throws {
        guard UsageChecks.enabled else { return }
        if shardOptions.isSharded, source != nil || query.isGiven || updateJob || dryRun {
            throw ValidationError(
                "--plan runs a shard of the plan's job: give no search options, source, --update-job or --dry-run")
        }
        if source != nil {
            if query.isGiven {
                throw ValidationError("give either search options (--term, --bbox, ...) or an import source, not both")
            }
        } else if !query.terms.isEmpty || query.termsFile != nil || query.bbox != nil {
            _ = try query.plan()
        }
    }

    /// The job arguments given on the command line (`nil` fields: not given).
    var givenJob: Job {
        Job(
            search: query.job, source: source.map(Self.absoluteSource),
            labels: labelOptions.labels.isEmpty ? nil : labelOptions.labels,
            labelsFile: labelOptions.labelsFile, sizes: download.sizes,
            storeImages: download.images.storeImages?.rawValue,
            store: storeOptions.store.map(StoreRecord.key(of:)),
            imageStore: Workspace.imageStoreLocation(download.images.imageStore))
    }

    /// A local source as an absolute path (the job runs again from any folder); URLs as given.
    static func absoluteSource(_ source: String) -> String {
        source.contains("://") ? source : URL(fileURLWithPath: source).standardizedFileURL.path
    }

    /// The job to run: the arguments given over the workdir's recorded job.
    func resolveJob(_ workspace: Workspace) throws -> (job: Job, recorded: Job?) {
        let recorded = try workspace.job()
        guard let recorded else {
            try checkJobGiven()
            return (givenJob, nil)
        }
        return (try recorded.merged(with: givenJob, updating: updateJob), recorded)
    }

    /// `run` with no search and no source needs a recorded job, or a ledger whose photos it
    /// finishes (after `import` or `search` alone): a usage error otherwise, before keys or
    /// servers are looked at.
    func checkJobGiven() throws {
        guard isBacklogRun, !Ledger.exists(in: global.workdir) else { return }
        throw noJob
    }

    private var noJob: IngestError {
        IngestError(
            .job,
            "no job is recorded in \(global.workdir) yet: give search options (--term, --bbox, ...) or an "
                + "import source; `photoseal run` alone then runs that job again")
    }

    /// `run` with no search, no source and no recorded job: it finishes what the ledger holds
    /// (photos from `import` or `search` alone) and records no job.
    var isBacklogRun: Bool {
        givenJob.search == nil && givenJob.source == nil && (try? Workspace.job(in: global.workdir)) == nil
    }

    func run() async throws {
        if shardOptions.isSharded { return try await runShard() }
        try await reportingErrors {
            let started = Date()
            try checkJobGiven()
            let logger = global.logger()
            // A dry run changes nothing: no lock, no record, no ledger.
            let workspace = try await global.workspace("run", access: dryRun ? .read : .seal, store: storeOptions)
            let (job, recorded) = try resolveJob(workspace)
            let sealer = try workspace.sealer()
            let blind = try workspace.blindIndex()
            let mode = ImageStore.Mode(rawValue: job.storeImages ?? "") ?? .stripped
            let api = try HTTPClient(configuration: .photoseal, logger: logger)
            defer { api.shutdown() }
            let fetcher = try HTTPClient(configuration: download.httpConfiguration, logger: logger)
            defer { fetcher.shutdown() }
            // A bucket is checked here, before any search, download or label is spent.
            let images = try await workspace.imageStore(given: job.imageStore, http: fetcher, replacing: updateJob)
            let ingestor = ImageIngestor(store: images, mode: mode, sealer: sealer)

            // Check before spending: the store answers and takes the credentials, the Flickr
            // key answers one cheap call, the Vision key is accepted (nothing billed), all
            // before the first page, download or label.
            let store: (any DocumentStore)?
            if dryRun {
                let checked = try await workspace.checkLoadStore(preferring: job.store)
                printError("run: store \(checked.display)\(checked.exists ? " answers" : " (made by the first run)")")
                store = nil
            } else {
                store = try await workspace.loadStore(batchSize: batch.runSize, preferring: job.store)
            }
            var flickr: (client: FlickrClient, counter: APICallCounter)?
            var plan: SearchPlan?
            let backlog = recorded == nil && job.search == nil && job.source == nil
            if job.source == nil, !backlog {
                // A box given now was checked (with --antimeridian) by validate(); a recorded one
                // when it was given.
                plan = try SearchQueryOptions.plan(job.search ?? Job.Search(), antimeridian: true)
                if let plan, !plan.boxes.isEmpty { printError("run: box \(BoundingBox.reading(of: plan.boxes))") }
                warnSecretOnCommandLine("--api-key", given: query.apiKey, secret: "FLICKR_API_KEY")
                flickr = try await workspace.flickrClient(
                    http: api, endpoint: flickrOptions.flickrEndpoint, apiKey: query.apiKey,
                    ratePerHour: query.ratePerHour)
            }
            let labelling = try await labelling(job: job, workspace: workspace, http: api)
            if dryRun {
                try await printPlan(
                    job: job, workspace: workspace, plan: plan, flickr: flickr, labelling: labelling, logger: logger)
                return
            }

            guard let store else { return }
            let ledger = try workspace.ledger(create: true)
            let pipelineSource: PipelineRun.Source
            if let source = job.source, S3Location.isS3(source) {
                pipelineSource = .s3(
                    S3ImportStage(
                        client: try S3Client(
                            http: fetcher, settings: try S3Settings(secrets: workspace.secrets), logger: logger),
                        ledger: ledger, ingestor: ingestor, index: blind, logger: logger),
                    try S3Location(parsing: source),
                    S3ImportStage.Options(
                        concurrency: download.concurrency, maxImageBytes: importLimits.limits.maxFileBytes))
            } else if let source = job.source {
                // A web page or feed gives image URLs for the download stage; anything else is local.
                let photoSource: any PhotoSource =
                    WebSource.isWeb(source)
                    ? WebSource(url: source, http: api, logger: logger)
                    : try PhotoSources.source(for: source, limits: importLimits.limits)
                pipelineSource = .importing(
                    ImportStage(ledger: ledger, ingestor: ingestor, logger: logger), photoSource)
            } else if let plan, let flickr {
                pipelineSource = .search(
                    SearchStage(
                        client: flickr.client, counter: flickr.counter, ledger: ledger, sealer: sealer, blind: blind,
                        logger: logger),
                    plan, SearchStage.Options(limit: job.search?.limit, concurrency: searchExtras.searchConcurrency))
            } else if backlog {
                let status = try await ledger.status(detailed: false)
                guard status.photos > 0 else { throw noJob }
                printError(
                    "run: no job is recorded in \(global.workdir): finishing the \(status.photos) photos already in the "
                        + "ledger; give search options or an import source to record a job")
                pipelineSource = .planned(photos: status.stages["found"] ?? 0)
            } else {
                throw IngestError(.job, "the job has neither a search nor a source; give one")
            }

            // The job as it ran, defaults included, so a later run that asks otherwise is told.
            // A backlog run has no job to record.
            var recordedJob = job
            recordedJob.store = store.storeKey
            recordedJob.sizes = job.sizes ?? DownloadOptions.defaultSizes
            recordedJob.storeImages = mode.rawValue
            if !backlog, recordedJob != recorded {
                try workspace.record(job: recordedJob)
                printError("run: job recorded in \(workspace.jobPath); `photoseal run` alone runs it again")
            }
            let pipeline = try pipeline(
                pipelineSource, ledger: ledger, workspace: workspace, images: images, ingestor: ingestor,
                fetcher: fetcher, store: store, labelling: labelling, sizes: job.sizes, mode: mode, logger: logger)

            let display = progressOptions.display("run")
            let interrupts = Interrupts {
                pipeline.stop.request()
                printError("run: stopping once the work in flight is committed (press Ctrl-C again to quit at once)")
            }
            defer { interrupts.cancel() }
            // A backlog run has no source stage to show: the ledger's photos are its input.
            let sourceName = backlog ? "ledger" : pipeline.sourceName
            let scores = pipeline.scores
            let tally: PipelineRun.Tally
            do {
                tally = try await pipeline.run { tally in
                    display.update { _ in Self.progressStages(tally, source: sourceName, scoring: scores) }
                }
            } catch {
                // The other stages stopped gracefully: say what was done, then the error.
                display.finish()
                if let status = try? await ledger.status(detailed: false) {
                    for line in Self.summaryLines(
                        pipeline.tally, source: sourceName, scoring: scores, status: status,
                        store: store.location, elapsed: display.elapsed)
                    {
                        printError(line)
                    }
                }
                throw error
            }
            display.finish { _ in Self.progressStages(tally, source: sourceName, scoring: scores) }
            let status = try await ledger.status(detailed: false)
            for line in Self.summaryLines(
                tally, source: sourceName, scoring: scores, status: status, store: store.location,
                elapsed: display.elapsed)
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

    /// The stages of a run over `ledger`, fed by `source`: the one place `run` and `run --shard`
    /// build them. Downloaded images are extracted at once, while the original is at hand; the
    /// extract stage takes imported images (and rows an earlier run left downloaded); score runs
    /// when the job labels; load writes `store`.
    func pipeline(
        _ source: PipelineRun.Source, ledger: Ledger, workspace: Workspace, images: ImageStore,
        ingestor: ImageIngestor, fetcher: HTTPClient, store: any DocumentStore, labelling: Labelling?,
        sizes: String?, mode: ImageStore.Mode, logger: Logger
    ) throws -> PipelineRun {
        let keyring = try workspace.keyring()
        let extractor = ExtractStage(
            ledger: ledger, store: images, sealer: try workspace.sealer(), geocoder: try loadGeocoder(),
            logger: logger)
        let scoring = labelling.map { labelling in
            PipelineRun.Scoring(
                stage: ScoreStage(
                    ledger: ledger, client: labelling.client, counter: labelling.counter,
                    workdir: workspace.workdir, logger: logger, keyring: keyring, images: images),
                options: labelling.options)
        }
        return PipelineRun(
            ledger: ledger, source: source,
            download: DownloadStage(
                http: fetcher, ledger: ledger, ingestor: ingestor, extractor: extractor, logger: logger),
            downloadOptions: download.stageOptions(mode: mode, sizes: sizes),
            extract: extractor,
            scoring: scoring,
            load: EncryptLoad(
                ledger: ledger, store: store, keyring: keyring, blind: try workspace.blindIndex(),
                batchSize: batch.runSize, logger: logger),
            logger: logger, retryFailed: retry.retryFailed)
    }

    /// The score stage, or `nil` (with a one-line note) when no label or no key was given.
    /// What the run labels with: the Vision client (its key checked) and the score options, or
    /// `nil` (with a one-line note) when the job has no label or no key is configured.
    func labelling(job: Job, workspace: Workspace, http: HTTPClient) async throws -> Labelling? {
        let (vocabulary, wanted): (LabelVocabulary, [String])
        do {
            (vocabulary, wanted) = try LabelOptions.labelSet(labels: job.labels ?? [], labelsFile: job.labelsFile)
        } catch let error as ValidationError {
            throw IngestError(.job, error.message)
        }
        guard !wanted.isEmpty else {
            printError("run: score skipped: no --label or --labels-file given")
            return nil
        }
        warnSecretOnCommandLine("--vision-api-key", given: scoreExtras.visionApiKey, secret: "GOOGLE_VISION_API_KEY")
        guard
            let vision = try await workspace.visionClient(
                http: http, endpoint: visionOptions.visionEndpoint, apiKey: scoreExtras.visionApiKey)
        else {
            printError(
                "run: score skipped: no Vision API key (set GOOGLE_VISION_API_KEY in the secrets file or the environment)"
            )
            return nil
        }
        return Labelling(
            client: vision.client, counter: vision.counter,
            options: ScoreStage.Options(
                labels: wanted, vocabulary: vocabulary, maxImages: labelOptions.maxImages,
                maxCost: labelOptions.maxCost, concurrency: scoreExtras.scoreConcurrency))
    }

    /// The score stage's parts, once the key is checked.
    struct Labelling {
        var client: VisionClient
        var counter: APICallCounter
        var options: ScoreStage.Options
    }

    /// `run --dry-run`: the queries with the photos one probe call per query reports, the
    /// images to label and their estimated price; nothing is written, fetched or billed.
    func printPlan(
        job: Job, workspace: Workspace, plan: SearchPlan?, flickr: (client: FlickrClient, counter: APICallCounter)?,
        labelling: Labelling?, logger: Logger
    ) async throws {
        var out = OutputBuffer()
        let known = try await workspace.ledgerIfPresent()?.photoCount() ?? 0
        var expected = 0
        if let plan, let flickr {
            let probes = try await SearchStage.probe(
                plan, client: flickr.client, concurrency: searchExtras.searchConcurrency)
            out.write("plan: search Flickr, \(probes.count) queries\n")
            for probe in probes { out.write("query \(probe.description): \(probe.total) photos\n") }
            expected = probes.reduce(0) { $0 + $1.total }
            if let limit = job.search?.limit { expected = min(expected, max(0, limit - known)) }
            out.write(
                "photos expected: up to \(expected) new (a photo found by two queries counts once)"
                    + (job.search?.limit.map { "; --limit \($0)" } ?? "") + "\n")
        } else if let source = job.source {
            out.write("plan: import \(source)\n")
        } else {
            out.write("plan: finish the photos already in the ledger (no job is recorded)\n")
        }
        out.write("already in the ledger: \(known) photos\n")
        if let labelling {
            var images = expected + known
            var line =
                "images to label: up to \(images) (labels: \(labelling.options.labels.joined(separator: ", ")); "
                + "an image labelled before is free)"
            if let cap = labelling.options.imageCap, cap < images {
                images = cap
                line += "; capped at \(cap) by --max-images/--max-cost"
            }
            out.write(line + "\n")
            out.write(
                "estimated price: up to "
                    + String(format: "$%.2f", Vision.estimatedCost(images: images))
                    + String(format: " at $%.2f per 1,000 images (free tier ignored)\n", Vision.pricePerThousandImages))
        } else {
            out.write("images to label: none (no labels or no Vision key)\n")
        }
        out.write("dry run: nothing was written, downloaded or billed\n")
        out.flush()
    }

    /// The run's stages for the progress display: each stage's total is what the stage before
    /// has passed on so far (final once that stage has finished).
    static func progressStages(_ t: PipelineRun.Tally, source: String, scoring: Bool)
        -> (stages: [ProgressStage], causes: [String: Int], extra: String?)
    {
        let finished = Set(t.finished)
        var stages: [ProgressStage] = []
        let found: Int
        if source == "search" {
            found = t.searchNewPhotos
            stages.append(
                ProgressStage(
                    "search", short: "se", done: t.searchPages,
                    total: finished.contains("search") ? t.searchPages : t.searchPages + t.searchPagesLeft,
                    unit: "pages", note: "\(t.searchNewPhotos) new", finished: finished.contains("search")))
        } else if source == "ledger" {
            found = t.imported.queued
        } else {
            found = t.imported.stored + t.imported.queued
            stages.append(
                ProgressStage(
                    "import", short: "im", done: t.imported.items, note: "\(found) new",
                    finished: finished.contains("import")))
        }
        let d = t.download
        let downloadTotal = source == "search" ? found : t.imported.queued
        stages.append(
            ProgressStage(
                "download", short: "dl", done: d.done, total: downloadTotal, finished: finished.contains("download")))
        // Most rows are extracted by the download stage as they are stored: both are counted.
        let extracted = d.extracted + t.extract.extracted
        let toExtract = d.stored + d.duplicates + (source == "search" ? 0 : t.imported.stored)
        stages.append(
            ProgressStage(
                "extract", short: "ex", done: extracted + t.extract.failed, total: toExtract,
                finished: finished.contains("extract")))
        var ready = extracted
        if scoring {
            let done = t.scoredPhotos + t.scoreFailedPhotos
            stages.append(
                ProgressStage(
                    "score", short: "sc", done: done, total: extracted, finished: finished.contains("score")))
            ready = t.scoredPhotos
        }
        let refused = Set(t.refused.map(\.id)).count
        stages.append(
            ProgressStage(
                "load", short: "ld", done: t.loaded + t.unchanged + refused, total: ready,
                finished: finished.contains("load")))
        var causes = d.causes
        for (key, count) in t.extract.causes { causes[key, default: 0] += count }
        if t.scoreFailedPhotos > 0 { causes["score", default: 0] += t.scoreFailedPhotos }
        if refused > 0 { causes["refused", default: 0] += refused }
        return (stages, causes, ProgressDisplay.bytes(d.bytes))
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
        } else if source != "ledger" {
            let s = t.imported
            lines.append(
                "import: \(s.items) items: \(s.stored) images stored, \(s.queued) URLs queued for download, "
                    + "\(s.known) already known, \(s.skipped) not images (skipped)")
        }
        lines.append(DownloadCommand.line(t.download, elapsed: elapsed, final: true, extraction: false))
        let e = t.extract
        // Most rows are extracted by the download stage as they are stored: both are counted.
        let d = t.download
        lines.append(
            "extract: \(e.extracted + d.extracted) photos extracted (\(e.withExif + d.withExif) with EXIF, "
                + "\(e.geoFromExif + d.geoFromExif) positioned from EXIF, \(e.placed + d.placed) "
                + "with a place; \(d.extracted) as they were downloaded, \(e.extracted) by the extract stage), "
                + "\(e.failed) failed")
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
        guard UsageChecks.enabled else { return }
        guard (1...32).contains(searchConcurrency) else {
            throw ValidationError("--search-concurrency must be between 1 and 32")
        }
    }
}

/// `run`'s score flags that `score` spells `--api-key` and `--concurrency`.
struct RunScoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Deprecated (visible in ps): the Google Cloud API key; set GOOGLE_VISION_API_KEY in the secrets file or the environment.",
            valueName: "key"))
    var visionApiKey: String?

    @Option(help: ArgumentHelp("Vision calls in flight at once (score's --concurrency).", valueName: "n"))
    var scoreConcurrency: Int = 4

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard (1...32).contains(scoreConcurrency) else {
            throw ValidationError("--score-concurrency must be between 1 and 32")
        }
    }
}
