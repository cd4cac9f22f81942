import ArgumentParser
import Foundation
import HTTP
import Ingest
import Logging

/// `photoseal plan`: search once, write the job's work as N shard files for `run --shard`.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Search (or list a URL source) once and write the work as N shards for `run --shard`.",
        discussion: """
            Runs the search of `photoseal search` (or lists a .csv/.tsv URL list or a web page \
            or feed, as `import` takes them) once, with the workdir's Flickr key and rate budget, \
            then writes DIR/shards/part-00000.jsonl … part-(N-1).jsonl (one work item per line, \
            personal fields sealed as the ledger holds them; a photo lands in shard \
            SHA-256(id)[0..8] mod N) and, last, DIR/job.json: the labels, sizes, image mode, the \
            store (without its password), the shard count and the ids of the keys every worker \
            must hold. Each file is written whole or not at all. An existing plan is kept \
            unless --force is given (shard workdirs are kept: what they paid for stays paid).

            Each shard then runs with `photoseal run --shard I/N --plan DIR` (or `run --plan \
            DIR` in a Slurm, Kubernetes or AWS Batch array task) on any machine that sees DIR, \
            the store and the same secrets file. See docs/scale.md.

            --image-store s3://BUCKET/PREFIX (or a folder every worker mounts) is recorded in \
            the plan: every shard then keeps its images there, each image once (a bucket is \
            checked now with this secrets file; each worker's must reach it too). Without it, \
            each shard keeps its images in its own workdir.

            The default workdir (the planning ledger: the search's progress, resumed if killed) \
            is DIR/plan-work.

            Examples:
              photoseal plan --shards 4 --plan /shared/monkeys --term monkey --bbox 5,35,20,48 \\
                --label monkey --store mongodb://db:27017/photoseal
              photoseal plan --shards 16 --plan /shared/web urls.csv
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var flickrOptions: FlickrEndpointOptions

    @Option(help: ArgumentHelp("The number of shards.", valueName: "n"))
    var shards: Int

    @Option(help: ArgumentHelp("The plan folder to write (shared by every worker).", valueName: "dir"))
    var plan: String

    @Flag(help: "Write the plan again over an existing one.")
    var force = false

    @Argument(
        help: ArgumentHelp(
            "Plan a .csv/.tsv URL list or a web page or feed URL instead of a search.", valueName: "source"),
        completion: .file())
    var source: String?

    @OptionGroup(title: "Search") var query: SearchQueryOptions

    @OptionGroup(title: "Search") var searchExtras: RunSearchOptions

    @OptionGroup(title: "Job") var labelOptions: LabelOptions

    @Option(
        name: .customLong("size"),
        help: ArgumentHelp(
            "Image sizes to try, in order (Flickr suffixes; default o,k,h,l,c).", valueName: "list"))
    var sizes: String?

    @OptionGroup(title: "Job") var images: ImageModeOptions

    @OptionGroup var progressOptions: ProgressOptions

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard (1...ShardPlan.maxShards).contains(shards) else {
            throw ValidationError("--shards must be between 1 and \(ShardPlan.maxShards)")
        }
        guard !plan.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--plan needs a folder") }
        if source != nil, query.isGiven {
            throw ValidationError("give either search options (--term, --bbox, ...) or a source, not both")
        }
        if source == nil, !query.isGiven {
            throw ValidationError("give search options (--term, --bbox, ...) or a URL-list source to plan")
        }
        if source == nil { _ = try query.plan() }
    }

    /// The planning workdir: `--workdir`, else `<plan>/plan-work` (for an S3 plan, the default
    /// workdir).
    var workdir: String {
        global.workdir == GlobalOptions.defaultWorkdir && !S3Location.isS3(plan)
            ? (plan as NSString).appendingPathComponent("plan-work") : global.workdir
    }

    /// Where the plan's files are written: the plan folder, or for an S3 plan a folder in the
    /// workdir that is then uploaded.
    var localPlan: String { S3Location.isS3(plan) ? (workdir as NSString).appendingPathComponent("plan-out") : plan }

    func run() async throws {
        try await reportingErrors {
            if !S3Location.isS3(plan), ShardFiles.planExists(plan), !force {
                throw IngestError(
                    .job,
                    "a plan is already written in \(plan) (\(ShardPlan.jobPath(plan))); add --force to write it again, "
                        + "or choose another --plan")
            }
            var options = global
            options.workdir = workdir
            let logger = global.logger()
            let workspace = try await options.workspace("plan", access: .seal, store: storeOptions)
            let keyring = try workspace.keyring()
            let blind = try workspace.blindIndex()
            let sealer = try workspace.sealer()
            // Every worker loads into one shared store: it is named now and checked to answer.
            guard let storeURI = storeOptions.store ?? workspace.secrets.mongoURI else {
                throw IngestError(
                    .configuration,
                    "a plan needs the store every shard loads into: give --store mongodb://… or postgresql://…, or "
                        + "set MONGODB_URI in the secrets file")
            }
            let storeRecord = StoreRecord(uri: storeURI)
            let checked = try await workspace.checkLoadStore()
            printError("plan: store \(checked.display)\(checked.exists ? " answers" : " (made by the first shard)")")
            if !labelOptions.labels.isEmpty || labelOptions.labelsFile != nil {
                do {
                    _ = try labelOptions.labelSet()
                } catch let error as ValidationError {
                    throw IngestError(.job, error.message)
                }
            }
            var job = Job(
                search: query.job, source: source.map(RunCommand.absoluteSource),
                labels: labelOptions.labels.isEmpty ? nil : labelOptions.labels,
                labelsFile: labelOptions.labelsFile.map(RunCommand.absoluteSource),
                sizes: sizes ?? DownloadOptions.defaultSizes, storeImages: (images.mode ?? .stripped).rawValue,
                store: storeRecord.key)

            let api = try HTTPClient(configuration: .photoseal, logger: logger)
            defer { api.shutdown() }
            let imageStore = try await checkedImageStore(workspace: workspace, http: api)
            job.imageStore = imageStore
            var mirror: PlanMirror?
            if S3Location.isS3(plan) {
                let client = try S3Client(
                    http: api, settings: try S3Settings(secrets: workspace.secrets), logger: logger)
                let s3 = PlanMirror(client: client, location: try S3Location(parsing: plan), local: localPlan)
                if try await s3.exists("job.json"), !force {
                    throw IngestError(
                        .job,
                        "a plan is already written in \(plan); add --force to write it again, or choose another --plan")
                }
                mirror = s3
            }
            let ledger = try workspace.ledger(create: true)
            let display = progressOptions.display("plan")
            if let source {
                let photoSource: any PhotoSource
                if WebSource.isWeb(source) {
                    photoSource = WebSource(url: source, http: api, logger: logger)
                } else if S3Location.isS3(source) || !Self.isURLList(source) {
                    throw IngestError(
                        .job,
                        "\(source): a plan lists URLs (a .csv/.tsv/.txt URL list, or a web page or feed); import "
                            + "folders, zips and s3:// prefixes with `photoseal run SOURCE` on one machine")
                } else {
                    photoSource = try PhotoSources.source(for: source)
                }
                let ingestor = ImageIngestor(store: workspace.images, mode: .stripped, sealer: sealer)
                let summary = try await ImportStage(ledger: ledger, ingestor: ingestor, logger: logger).run(
                    photoSource, stop: StopSignal()
                ) { _ in }
                display.finish()
                printError(
                    "plan: \(summary.items) items listed, \(summary.queued) URLs queued, \(summary.known) already known, "
                        + "\(summary.skipped) skipped")
            } else {
                if query.ratePerHour > RateBudget.flickrDefaultPerHour {
                    logger.warning(
                        "the rate budget exceeds Flickr's 3,600 calls per hour; the key may be revoked",
                        metadata: ["search.rate_per_hour": "\(query.ratePerHour)"])
                }
                warnSecretOnCommandLine("--api-key", given: query.apiKey, secret: "FLICKR_API_KEY")
                let flickr = try await workspace.flickrClient(
                    http: api, endpoint: flickrOptions.flickrEndpoint, apiKey: query.apiKey,
                    ratePerHour: query.ratePerHour)
                let stage = SearchStage(
                    client: flickr.client, counter: flickr.counter, ledger: ledger, sealer: sealer, blind: blind,
                    logger: logger)
                let summary = try await stage.run(
                    try query.plan(),
                    options: SearchStage.Options(limit: query.limit, concurrency: searchExtras.searchConcurrency)
                ) { p in display.update { _ in SearchCommand.progress(p) } }
                display.finish()
                printError(
                    "plan: search: \(summary.newPhotos) new photos, \(summary.pages) pages fetched, \(summary.queries) queries"
                        + (summary.limitReached ? "; stopped at --limit" : ""))
            }

            if force || mirror != nil { try ShardFiles.clear(localPlan) }
            // The job file goes first (the plan is incomplete while the new one is written).
            if force { try await mirror?.delete("job.json") }
            let written = try ShardFiles.write(from: ledger, to: localPlan, shards: shards)
            let record = ShardPlan(
                shards: shards, job: job, imageStore: imageStore ?? "workdir", store: storeRecord,
                keys: ShardPlan.Keys(indexKey: try blind.fingerprint(), sealKid: keyring.primary.kid),
                photos: written.photos, shardPhotos: written.shardPhotos)
            try ShardFiles.writeJob(record, to: localPlan)
            if let mirror {
                for index in 0..<shards { try await mirror.upload("shards/\(ShardPlan.partName(index)).jsonl") }
                try await mirror.upload("job.json")
            }
            let least = written.shardPhotos.min() ?? 0
            let most = written.shardPhotos.max() ?? 0
            printError(
                "plan: \(written.photos) photos in \(shards) shards (\(least) to \(most) per shard) written to \(plan) "
                    + "(plan \(record.planID))")
            printError("plan: run each shard with `photoseal run --shard I/\(shards) --plan \(plan)` (I from 0)")
        }
    }

    /// The shared image store given (`--image-store`, normalised), checked to answer now with
    /// the planner's secrets so a wrong bucket is found before any shard runs; `nil`: each
    /// shard keeps its images in its own workdir.
    func checkedImageStore(workspace: Workspace, http: HTTPClient) async throws -> String? {
        guard let location = Workspace.imageStoreLocation(images.imageStore) else { return nil }
        if S3Location.isS3(location) {
            let client = try S3Client(
                http: http, settings: try S3Settings(secrets: workspace.secrets), logger: global.logger())
            let bucket = ImageBucket(client: client, location: try S3Location(parsing: location))
            try await bucket.check()
            printError("plan: image store \(location) answers")
        }
        return location
    }

    /// Whether a local source is a URL list (a plan lists URLs; folders and zips are imported
    /// on one machine).
    static func isURLList(_ source: String) -> Bool {
        let lower = source.lowercased()
        return lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") || lower.hasSuffix(".txt")
    }
}
