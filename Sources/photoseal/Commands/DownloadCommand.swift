import ArgumentParser
import Foundation
import HTTP
import Ingest
import Logging

/// `photoseal download`: fetch every found photo into the image store.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download every photo the ledger has found into the content-addressed image store.",
        discussion: """
            Images are hashed (SHA-256) as they arrive, held in memory up to 8 MiB (larger ones \
            in a temporary file), checked (whole Content-Length, an image signature) and stored \
            once as images/<ab>/<sha256>.<ext>. \
            EXIF is read and sealed into the document before the image is stored in the chosen \
            mode: plain (the original), stripped (EXIF/XMP/IPTC removed; default) or sealed \
            (the original as one Fernet token, .fernet). HTTP 403/404/410, redirects to Flickr's \
            placeholder and bodies that are not images mark a photo unavailable for good: later \
            runs do not fetch it again unless given --retry-failed. 5xx, 429, resets and \
            truncated bodies are retried with back-off; photos still failing are marked failed \
            and tried again by the next run. The summary lists the failures; \
            `photoseal status --failures` lists them all. Killed and re-run, nothing stored is \
            fetched again. \
            Each stored image is also extracted at once (GPS from EXIF when the source gave \
            none, the place from the offline geocoder), so rows end at `extracted`; \
            --no-extract leaves them at `downloaded` for `photoseal extract`.

            Examples:
              photoseal download
              photoseal download --concurrency 32 --size o,k,h --store-images sealed
              photoseal download --retry-failed
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var download: DownloadOptions

    @OptionGroup var retry: RetryFailedOptions

    @Option(help: ArgumentHelp("Stop after this many photos.", valueName: "n"))
    var limit: Int?

    @Flag(
        inversion: .prefixedNo,
        help: ArgumentHelp(
            "Extract each image (position from EXIF, place) as soon as it is stored, so rows end at `extracted`; "
                + "--no-extract leaves them at `downloaded` for `photoseal extract`."))
    var extract = true

    func validate() throws {
        guard UsageChecks.enabled else { return }
        if let limit, limit < 1 { throw ValidationError("--limit must be 1 or more") }
    }

    func run() async throws {
        try await reportingErrors {
            let started = Date()
            let logger = global.logger()
            let workspace = try await global.workspace("download", access: .seal)
            let sealer = try workspace.sealer()
            let ledger = try workspace.ledger()
            let http = try HTTPClient(configuration: download.httpConfiguration, logger: logger)
            defer { http.shutdown() }
            let mode = try workspace.imageMode(given: download.images.mode)
            let ingestor = ImageIngestor(
                store: try await workspace.imageStore(given: download.images.imageStore, http: http), mode: mode,
                sealer: sealer)
            var extractor: ExtractStage?
            if extract {
                extractor = ExtractStage(
                    ledger: ledger, store: ingestor.store, sealer: sealer, geocoder: try loadGeocoder(), logger: logger)
            }
            let stage = DownloadStage(
                http: http, ledger: ledger, ingestor: ingestor, extractor: extractor, logger: logger)
            let display = progressOptions.display("download")
            var options = download.stageOptions(limit: limit, mode: mode, sizes: try workspace.job()?.sizes)
            options.retryFailed = retry.retryFailed
            // Ctrl-C or SIGTERM: downloads in flight are cancelled, what finished is committed.
            let stop = StopSignal()
            options.stop = stop
            let interrupts = Interrupts {
                stop.request()
                printError("download: stopping; press Ctrl-C again to quit at once")
            }
            defer { interrupts.cancel() }
            let summary = try await stage.run(options) { p in display.update { _ in Self.progress(p) } }
            display.finish { _ in Self.progress(summary) }
            printError(Self.line(summary, elapsed: display.elapsed, final: true))
            try await printFailureSummary(ledger, since: started, workdir: global.workdir)
            if let signal = interrupts.caught {
                printError("download: interrupted; run the same command again to finish")
                throw ExitCode(128 + signal)
            }
            if summary.failed > 0 { throw ExitCode(1) }
        }
    }

    /// The download stage's counts for the progress display.
    static func progress(_ p: DownloadStage.Progress) -> ProgressDisplay.Counts {
        (
            [ProgressStage("download", short: "dl", done: p.done, total: p.total)], p.causes,
            ProgressDisplay.bytes(p.bytes)
        )
    }

    /// The progress line (and, with `final`, the summary line; with `extraction`, what extracting
    /// as it went found: `run` counts that in its extract line instead).
    static func line(_ p: DownloadStage.Progress, elapsed: Double, final: Bool, extraction: Bool = true) -> String {
        let rate = Double(p.done) / max(elapsed, 0.001)
        let left = max(0, p.total - p.done)
        let eta = rate > 0 ? Int(Double(left) / rate) : 0
        var text =
            "download: \(p.done)/\(p.total) photos, \(p.stored) stored (\(p.duplicates) duplicate bytes"
            + (p.extracted > 0 ? ", \(p.extracted) extracted), " : "), ")
            + "\(p.unavailable) unavailable, \(p.failed) failed, \(ProgressDisplay.bytes(p.bytes)), "
            + String(format: "%.1f photos/s", rate)
        if !final { text += ", ETA \(eta / 60)m\(String(format: "%02d", eta % 60))s" }
        if !p.causes.isEmpty {
            text +=
                " [" + p.causes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                + "]"
        }
        if final, extraction, p.extracted > 0 {
            text +=
                "; extracted as they were stored: \(p.withExif) with EXIF, \(p.geoFromExif) "
                + "positioned from EXIF, \(p.placed) with a place"
        }
        if final, p.cleaned > 0 { text += "; removed \(p.cleaned) partial files of an earlier run" }
        return text
    }
}
