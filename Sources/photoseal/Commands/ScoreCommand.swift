import ArgumentParser
import Foundation
import HTTP
import Ingest
import Retry

/// `photoseal score`: label stored images with Google Cloud Vision and score them.
struct ScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Label stored photos with Google Cloud Vision (LABEL_DETECTION) and score them.",
        discussion: """
            Works on ledger rows at stage `extracted` (and `scored`, re-scored from the labels \
            cache for free) whose document has an image; leaves them `scored`. Each distinct \
            image (by SHA-256) is sent once, ever: labels are cached in the ledger. Before any \
            call the number of images to be billed and the price at the public rate \
            ($1.50 per 1,000 images, free tier ignored) are printed on stderr.

            Each photo is scored on the --label labels plus the labels its search terms map to \
            in the labels file (`scimmia -> monkey`). `scores.<label>` is the best score among \
            returned labels matching the label or a synonym as whole words; a label nothing \
            matched is absent (not returned is not 0). --threshold only sets which photos the \
            per-label counts printed at the end (stdout, `label<TAB>photos`) count as matches.

            An image Vision refuses for good ("Bad image data.") marks its photos failed with \
            the cause; later runs do not send it again (nor pay for it) unless given \
            --retry-failed. Other failures (a call still failing after its retries) are tried \
            again by the next run. The summary lists the failures; `photoseal status \
            --failures` lists them all.

            Examples:
              photoseal score --label monkey --label cage --dry-run
              photoseal score --labels-file labels.txt --max-images 500 --concurrency 8
              photoseal score --label monkey --retry-failed
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var visionOptions: VisionEndpointOptions

    @OptionGroup var labelOptions: LabelOptions

    @OptionGroup var retry: RetryFailedOptions

    @OptionGroup var progressOptions: ProgressOptions

    @Option(help: ArgumentHelp("The score a match must reach in the final counts (0...1).", valueName: "score"))
    var threshold: Double = 0.5

    @Flag(help: "Only print what would be billed; make no call.")
    var dryRun = false

    @Option(help: ArgumentHelp("Calls in flight at once.", valueName: "n"))
    var concurrency: Int = 4

    @Option(
        help: ArgumentHelp(
            "Deprecated (visible in ps): the Google Cloud API key; set GOOGLE_VISION_API_KEY in the secrets file or the environment.",
            valueName: "key"))
    var apiKey: String?

    @Option(help: .hidden)
    var retryBaseDelay: Double = 1

    @Option(help: .hidden)
    var maxAttempts: Int = 8

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard threshold.isFinite, (0...1).contains(threshold) else {
            throw ValidationError("--threshold must be between 0 and 1")
        }
        guard (1...32).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 32") }
        guard retryBaseDelay.isFinite, retryBaseDelay >= 0, (1...20).contains(maxAttempts) else {
            throw ValidationError("--retry-base-delay must be 0 or more and --max-attempts between 1 and 20")
        }
        let (vocabulary, wanted) = try labelOptions.labelSet()
        guard !wanted.isEmpty || !vocabulary.labels.isEmpty else {
            throw ValidationError("give at least one --label or a --labels-file that defines labels")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let started = Date()
            let (vocabulary, wanted) = try labelOptions.labelSet()
            let logger = global.logger()
            // A dry run changes nothing; a scoring run holds the workdir (two would pay twice).
            let workspace = try await global.workspace("score", access: dryRun ? .read : .write, needsKeys: false)
            let ledger = try workspace.ledger()
            let http = try HTTPClient(configuration: .photoseal, logger: logger)
            defer { http.shutdown() }
            var counter = APICallCounter()
            var client: VisionClient?
            if !dryRun {
                warnSecretOnCommandLine("--api-key", given: apiKey, secret: "GOOGLE_VISION_API_KEY")
                // The key is checked with a request that cannot be billed, before any image is sent.
                guard
                    let vision = try await workspace.visionClient(
                        http: http, endpoint: visionOptions.visionEndpoint, apiKey: apiKey,
                        retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: retryBaseDelay))
                else {
                    throw IngestError(
                        .configuration,
                        "no Google Vision API key: set GOOGLE_VISION_API_KEY in the secrets file or the environment")
                }
                (client, counter) = vision
            }
            // Seal keys open images stored sealed; plain and stripped images need none.
            let keyring = try? workspace.keyring()
            let images = try await workspace.recordedImageStore(logger: logger)
            defer { images.http.shutdown() }
            let stage = ScoreStage(
                ledger: ledger, client: client, counter: counter, workdir: global.workdir, logger: logger,
                keyring: keyring, images: images.store)
            var options = ScoreStage.Options(
                labels: wanted, vocabulary: vocabulary, maxImages: labelOptions.maxImages,
                maxCost: labelOptions.maxCost, concurrency: concurrency, dryRun: dryRun)
            options.retryFailed = retry.retryFailed
            let dry = dryRun
            let display = progressOptions.display("score")
            let summary = try await stage.run(
                options, report: { plan in printError(Self.planLine(plan, dryRun: dry)) },
                progress: { summary in display.update { _ in Self.progress(summary) } })
            display.finish { _ in Self.progress(summary) }
            if dryRun { return }
            var counts = Dictionary(uniqueKeysWithValues: wanted.map { ($0, 0) })
            try ledger.forEachDocument { entry in
                guard entry.stage == .scored, let scores = entry.document.scores else { return }
                for label in wanted where (scores[label] ?? -1) >= threshold { counts[label, default: 0] += 1 }
            }
            var out = OutputBuffer()
            for label in wanted { out.write("\(label)\t\(counts[label] ?? 0)\n") }
            out.flush()
            printError(
                "score: \(summary.labelledImages) images labelled in \(summary.calls) calls, "
                    + "\(summary.scoredPhotos) photos scored, \(summary.failedPhotos) photos with errors "
                    + "(\(summary.refusedPhotos) refused for good, the rest tried again next run)")
            try await printFailureSummary(ledger, since: started, workdir: global.workdir)
            if summary.failedPhotos > 0 { throw ExitCode.failure }
        }
    }

    /// The score stage's counts for the progress display: photos and billed images.
    static func progress(_ summary: ScoreStage.Summary) -> ProgressDisplay.Counts {
        let plan = summary.plan
        return (
            [
                ProgressStage(
                    "images", short: "im", done: summary.labelledImages, total: plan.billedImages,
                    note: "\(summary.calls)/\(plan.calls) calls"),
                ProgressStage(
                    "photos", short: "ph", done: summary.scoredPhotos + summary.failedPhotos, total: plan.photos),
            ],
            summary.failedPhotos > 0 ? ["score": summary.failedPhotos] : [:], nil
        )
    }

    /// The cost line printed before any call.
    static func planLine(_ plan: ScoreStage.Plan, dryRun: Bool) -> String {
        var line =
            "score\(dryRun ? " (dry run, no call made)" : ""): \(plan.photos) photos; \(plan.billedImages) images "
            + "will be billed in \(plan.calls) calls, estimated "
            + String(format: "$%.2f", plan.estimatedCost)
            + " at $\(String(format: "%.2f", Vision.pricePerThousandImages)) per 1,000 images (free tier ignored); "
            + "\(plan.cachedImages) already labelled (free)"
        if plan.deferredImages > 0 {
            line +=
                "; \(plan.deferredImages) left for a later run by \(plan.deferredByCost ? "--max-cost" : "--max-images")"
        }
        if plan.refusedImages > 0 { line += "; \(plan.refusedImages) too large or unreadable (not sent)" }
        if plan.refusedEarlier > 0 {
            line += "; \(plan.refusedEarlier) photos refused for good earlier (not sent; --retry-failed sends them)"
        }
        return line
    }
}
