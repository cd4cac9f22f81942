import ArgumentParser
import Foundation
import HTTP
import Ingest

/// `photoseal extract`: EXIF, position and place for every downloaded photo.
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Seal each downloaded photo's EXIF, take GPS from it when missing, and geocode the place.",
        discussion: """
            For every photo at `downloaded` (`photoseal download` extracts as it goes unless \
            given --no-extract, so this is for imported photos and --no-extract runs): the EXIF object (as `photoseal exif --json` prints \
            it) is sealed into sealed.exif (the download stage usually did this already, while \
            it had the original), geo is taken from the EXIF GPS when the source gave none \
            (geo.source = "exif"), and place is the nearest GeoNames place (offline). Rows move \
            to `extracted`. A photo whose stored image cannot be read or sealed is marked \
            failed and left alone by later runs unless given --retry-failed.

            Examples:
              photoseal extract
              photoseal extract --workdir run1 --keys keys.env
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var retry: RetryFailedOptions

    func run() async throws {
        try await reportingErrors {
            let started = Date()
            let workspace = try await global.workspace("extract", access: .seal)
            let ledger = try workspace.ledger()
            let images = try await workspace.recordedImageStore(logger: global.logger())
            defer { images.http.shutdown() }
            let stage = ExtractStage(
                ledger: ledger, store: images.store, sealer: try workspace.sealer(),
                geocoder: try loadGeocoder(), logger: global.logger())
            let display = progressOptions.display("extract")
            @Sendable func counts(_ p: ExtractStage.Progress) -> ProgressDisplay.Counts {
                ([ProgressStage("extract", short: "ex", done: p.done, total: p.total)], p.causes, nil)
            }
            let summary = try await stage.run(retryFailed: retry.retryFailed) { p in display.update { _ in counts(p) } }
            display.finish { _ in counts(summary) }
            if summary.total == 0, summary.done == 0, summary.failed == 0 {
                // download (and run) extract as they go: say so rather than count zeros.
                var extracted = 0
                for stage in [Ledger.Stage.extracted, .scored, .loaded] {
                    extracted += try await ledger.count(stage: stage)
                }
                printError(
                    "extract: no photo was waiting to be extracted (\(extracted) already extracted: download and "
                        + "run extract as they store images, unless download is given --no-extract)")
            } else {
                printError(
                    "extract: \(summary.extracted) photos extracted (\(summary.withExif) with EXIF, \(summary.geoFromExif) "
                        + "positioned from EXIF, \(summary.placed) with a place), \(summary.failed) failed")
            }
            try await printFailureSummary(ledger, since: started, workdir: global.workdir)
            if summary.failed > 0 { throw ExitCode(1) }
        }
    }
}

/// The bundled offline geocoder, or a configuration error naming what failed.
func loadGeocoder() throws -> Geocoder {
    do {
        return try Geocoder.bundled()
    } catch {
        throw IngestError(.configuration, "the offline geocoder did not load: \(error)")
    }
}
