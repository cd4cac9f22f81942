import ArgumentParser
import Crypto
import Foundation
import HTTP
import Ingest
import Logging

/// `run --shard I/N --plan DIR`: one shard of a plan written by `photoseal plan`.
struct ShardOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Run one shard of --plan: I of N, counting from 0 (default: from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or AWS_BATCH_JOB_ARRAY_INDEX).",
            valueName: "I/N"))
    var shard: String?

    @Option(
        help: ArgumentHelp(
            "The plan folder `photoseal plan` wrote (with --shard or an array index).", valueName: "dir"),
        completion: .directory)
    var plan: String?

    @Flag(help: "Run a shard again although its stats file says it is done.")
    var force = false

    /// Whether the run is one shard of a plan.
    var isSharded: Bool { plan != nil }

    func validate() throws {
        guard UsageChecks.enabled else { return }
        if let shard {
            guard plan != nil else {
                throw ValidationError("--shard needs --plan DIR (the folder `photoseal plan` wrote)")
            }
            do {
                _ = try ShardSelection.parse(shard)
            } catch let error as IngestError {
                throw ValidationError(error.message)
            }
        }
        if force, plan == nil { throw ValidationError("--force applies to a shard: give --plan DIR") }
    }
}

extension RunCommand {
    /// The exit statuses and the shard outputs, for `run --help`.
    static let shardDiscussion = """
        Sharded runs (see docs/scale.md): `photoseal plan --shards N --plan DIR ...` searches \
        once and writes DIR/job.json and N shard files; `photoseal run --shard I/N --plan DIR` \
        (or `run --plan DIR` in an array task: JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID, \
        AWS_BATCH_JOB_ARRAY_INDEX) runs shard I in DIR/work/part-NNNNN into the plan's store (and \
        image store, when `plan --image-store` named one) and \
        writes DIR/success/, DIR/failure/ and, last, DIR/stats/part-NNNNN.json. A shard whose \
        stats file exists is skipped (exit 0) unless --force. Exit status of a shard: 0 done; \
        75 try again (a server down or slow, the workdir busy, photos failed transiently: no \
        stats file, the next run resumes); 65 trying again cannot help (a bad plan, other keys \
        than the plan's, photos failed for good: listed in the failure output); 64 usage.
        """

    /// Runs one shard of a plan and exits with a status a batch system can act on.
    func runShard() async throws {
        let started = Date()
        let planFolder = shardOptions.plan ?? "."
        do {
            try await runShard(planFolder: planFolder, started: started)
        } catch let error as ExitCode {
            throw error
        } catch {
            printError(String(describing: error))
            let status = ShardExit.status(for: error)
            printError(
                status == ShardExit.retry
                    ? "run: shard stopped; running it again may help (exit \(status))"
                    : "run: shard stopped; running it again will not help until this is fixed (exit \(status))")
            throw ExitCode(status)
        }
    }

    /// The shard this process runs: `--shard`, else the array index in the environment
    /// (checked against the plan once it is read).
    func shardSelection() throws -> ShardSelection {
        if let given = shardOptions.shard { return try ShardSelection.parse(given) }
        if let fromEnvironment = try ShardSelection.fromEnvironment(ProcessInfo.processInfo.environment) {
            return fromEnvironment
        }
        printError(
            "run: --plan needs --shard I/N, or an array index in JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or "
                + "AWS_BATCH_JOB_ARRAY_INDEX")
        throw ExitCode(64)
    }

    private func runShard(planFolder planArgument: String, started: Date) async throws {
        let selection = try shardSelection()
        let index = selection.index
        let secrets = try Secrets.load(explicit: global.secrets.keysFile)
        let logger = global.logger()
        let api = try HTTPClient(configuration: .photoseal, logger: logger)
        defer { api.shutdown() }
        // A plan under an S3 prefix is worked on through a folder in the shard's workdir (no
        // shared filesystem); a plan folder is used in place.
        var mirror: PlanMirror?
        var planFolder = planArgument
        let workdir: String
        if S3Location.isS3(planArgument) {
            workdir =
                global.workdir == GlobalOptions.defaultWorkdir
                ? (global.workdir as NSString).appendingPathComponent(ShardPlan.partName(index)) : global.workdir
            planFolder = (workdir as NSString).appendingPathComponent("plan")
            let client = try S3Client(http: api, settings: try S3Settings(secrets: secrets), logger: logger)
            let s3 = PlanMirror(client: client, location: try S3Location(parsing: planArgument), local: planFolder)
            guard try await s3.fetch("job.json") else {
                throw IngestError(
                    .configuration,
                    "no plan at \(planArgument) (no job.json there): run `photoseal plan --plan \(planArgument) ...` "
                        + "first, and check --plan")
            }
            mirror = s3
        } else {
            workdir =
                global.workdir == GlobalOptions.defaultWorkdir ? ShardPlan.workdir(planFolder, index) : global.workdir
        }
        let plan = try ShardPlan.read(planFolder)
        try selection.check(shards: plan.shards)
        let name = "shard \(index)/\(plan.shards)"
        let statsPath = "stats/\(ShardPlan.partName(index)).json"
        if let mirror {
            try? FileManager.default.removeItem(atPath: mirror.localPath(statsPath))
            try await mirror.fetch(statsPath)
        }
        if let stats = try ShardWork.Stats.read(planFolder: planFolder, shard: index), stats.planID == plan.planID {
            if !shardOptions.force {
                printError(
                    "run: \(name) is done (\(planArgument)/\(statsPath), exit \(stats.exitStatus)); skipped. "
                        + "--force runs it again")
                return
            }
            // Forced: the old stats go first, so a run killed now is not taken for done.
            try? FileManager.default.removeItem(atPath: ShardPlan.outputPath(planFolder, "stats", index, ext: "json"))
            try await mirror?.delete(statsPath)
        }
        // The keys are checked against the plan's before the workdir is touched.
        try plan.check(keyring: try secrets.keyring(), blind: try secrets.blindIndex())
        let storeURI = try Self.shardStoreURI(plan: plan, given: storeOptions.store, secrets: secrets)
        let shardPath = "shards/\(ShardPlan.partName(index)).jsonl"
        if let mirror, !FileManager.default.fileExists(atPath: mirror.localPath(shardPath)) {
            guard try await mirror.fetch(shardPath) else {
                throw IngestError(
                    .configuration, "the plan \(planArgument) has no \(shardPath); write the plan again (--force)")
            }
        }

        let workspace = try await Workspace.open(
            Workspace.Options(
                workdir: workdir, keysFile: global.secrets.keysFile, store: storeURI, command: "run", access: .seal,
                needsKeys: true),
            logger: logger, note: { printError("run: \($0)") })
        printError("run: \(name) of plan \(plan.planID) in \(workdir)")
        let sealer = try workspace.sealer()
        let job = plan.job
        let mode = ImageStore.Mode(rawValue: job.storeImages ?? "") ?? .stripped
        let fetcher = try HTTPClient(configuration: download.httpConfiguration, logger: logger)
        defer { fetcher.shutdown() }
        // The plan's shared image store, checked (one list call) before anything is fetched: a
        // worker whose secrets cannot reach it stops here, its exit saying whether a retry helps.
        let images = try await workspace.imageStore(
            given: try Self.shardImageStore(plan: plan, given: download.images.imageStore), http: fetcher)
        let ingestor = ImageIngestor(store: images, mode: mode, sealer: sealer)
        let store = try await workspace.loadStore(batchSize: batch.runSize)
        let labelling = try await labelling(job: job, workspace: workspace, http: api)
        // A shard of a scoring job that cannot score would load its photos without scores, unlike
        // the other shards: refused instead.
        if labelling == nil, !(job.labels ?? []).isEmpty || job.labelsFile != nil {
            throw IngestError(
                .configuration,
                "the plan's job scores labels, but this worker has no Vision API key: set GOOGLE_VISION_API_KEY in "
                    + "the secrets file every worker uses")
        }

        let ledger = try workspace.ledger(create: true)
        let seeded = try await ShardWork.seed(
            ledger: ledger, plan: plan, planFolder: planFolder, shard: index, workdir: workdir)
        if seeded.inserted > 0 { printError("run: \(seeded.inserted) planned photos seeded into the ledger") }

        let pipeline = try pipeline(
            .planned(photos: seeded.photos), ledger: ledger, workspace: workspace, images: images,
            ingestor: ingestor, fetcher: fetcher, store: store, labelling: labelling, sizes: job.sizes, mode: mode,
            logger: logger)

        let display = progressOptions.display("run")
        let interrupts = Interrupts {
            pipeline.stop.request()
            printError("run: stopping once the work in flight is committed (press Ctrl-C again to quit at once)")
        }
        defer { interrupts.cancel() }
        let scores = pipeline.scores
        let tally = try await pipeline.run { tally in
            display.update { _ in Self.progressStages(tally, source: "import", scoring: scores) }
        }
        display.finish { _ in Self.progressStages(tally, source: "import", scoring: scores) }
        let status = try await ledger.status(detailed: false)
        for line in Self.summaryLines(
            tally, source: "import", scoring: scores, status: status, store: store.location, elapsed: display.elapsed
        ).dropFirst() {
            printError(line)
        }
        try await printFailureSummary(ledger, since: started, workdir: workdir)
        if let signal = interrupts.caught, tally.stopped {
            printError("run: interrupted; run the same shard again to finish (nothing committed is done twice)")
            throw ExitCode(128 + signal)
        }

        // Done, or not yet: rows still short of a final stage (a transient failure, a Vision
        // budget reached) wait for the next run, which a retry gives them.
        let stages = status.stages
        let finalRows = ["loaded", "unavailable", "failed"].reduce(0) { $0 + (stages[$1] ?? 0) }
        let waiting = status.photos - finalRows
        try ShardOutputs.write(ledger: ledger, planFolder: planFolder, shard: index, labels: labelling?.options.labels)
        for kind in ["success", "failure"] { try await mirror?.upload("\(kind)/\(ShardPlan.partName(index)).parquet") }
        if waiting > 0 {
            printError(
                "run: \(name): \(waiting) photos are not finished (transient failures or a budget reached); "
                    + "run the shard again (exit \(ShardExit.retry))")
            throw ExitCode(ShardExit.retry)
        }
        let failed = stages["failed"] ?? 0
        let exit = failed > 0 ? ShardExit.permanent : ShardExit.done
        let stats = ShardWork.Stats(
            planID: plan.planID, shard: index, shards: plan.shards, photos: seeded.photos,
            loaded: stages["loaded"] ?? 0,
            unavailable: stages["unavailable"] ?? 0, failed: failed, writtenThisRun: tally.loaded,
            labelledThisRun: tally.labelledImages, seconds: Date().timeIntervalSince(started), exitStatus: exit,
            startedAt: started)
        try stats.write(planFolder: planFolder)
        try await mirror?.upload(statsPath)
        if failed > 0 {
            printError(
                "run: \(name): \(failed) photos failed for good (in \(ShardPlan.outputPath(planFolder, "failure", index, ext: "parquet"))); "
                    + "running it again will not help (exit \(exit))")
            throw ExitCode(exit)
        }
        printError("run: \(name) done: \(stats.loaded) photos loaded, \(stats.unavailable) unavailable")
    }

    /// The image store a shard keeps images in: the plan's (`run --image-store`, if given,
    /// must name it), else the shard's workdir.
    static func shardImageStore(plan: ShardPlan, given: String?) throws -> String? {
        let given = Workspace.imageStoreLocation(given)
        guard let given, given != plan.sharedImageStore else { return plan.sharedImageStore }
        guard let planned = plan.sharedImageStore else {
            throw IngestError(
                .configuration,
                "--image-store \(given): this plan keeps images in each shard's workdir; give --image-store to "
                    + "`photoseal plan` so every shard shares it, or run without it")
        }
        throw IngestError(
            .configuration,
            "--image-store \(given) is not the plan's image store (\(planned)); every shard keeps its images there: "
                + "run without --image-store")
    }

    /// The store a shard loads into: `--store`, else the plan's store when its record
    /// reconnects alone, else MONGODB_URI when it is the plan's store.
    static func shardStoreURI(plan: ShardPlan, given: String?, secrets: Secrets) throws -> String {
        if let given, !given.trimmingCharacters(in: .whitespaces).isEmpty {
            if let planned = plan.store, StoreRecord.key(of: given) != planned {
                throw IngestError(
                    .configuration,
                    "--store is not the plan's store (\(planned)); every shard loads into the plan's store")
            }
            return given
        }
        guard let planned = plan.store else {
            throw IngestError(.configuration, "the plan names no store: give --store URI")
        }
        if !plan.storeNeedsSecret { return planned }
        if let uri = secrets.mongoURI, StoreRecord.key(of: uri) == planned { return uri }
        throw IngestError(
            .configuration,
            "the plan's store \(planned) needs its full URI (password or options): pass --store with it or set "
                + "MONGODB_URI in the secrets file")
    }
}
