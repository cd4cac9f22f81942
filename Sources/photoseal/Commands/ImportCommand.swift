import ArgumentParser
import Foundation
import Ingest

/// `photoseal import`: photos from a folder, a zip or a URL list.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add photos from a folder, a .zip, or a CSV/TSV list of image URLs to the ledger.",
        discussion: """
            Local images (a folder tree, zip entries) are stored at once through the image store \
            (same modes as download) with id local:<sha256 of the content>; their names and \
            paths are not recorded. A CSV/TSV with a `url` header column queues each URL (id \
            url:<sha256 of the URL>) for `photoseal download`. Files that are not images are \
            skipped; files that cannot be read (FIFOs, devices, dangling links, damaged zip \
            entries), files larger than --max-file-size and list rows without an http(s) URL are \
            reported by position and skipped, the rest imported; a zip that inflates past \
            --max-zip-size stops there. Anything already in the ledger is left alone.

            Examples:
              photoseal import ~/Pictures/trip
              photoseal import photos.zip --store-images sealed
              photoseal import urls.csv && photoseal download
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: ArgumentHelp("A folder, a .zip, or a .csv/.tsv with a url column.", valueName: "source"),
        completion: .file())
    var source: String

    @OptionGroup var images: ImageModeOptions

    @OptionGroup var limits: ImportLimitOptions

    func run() async throws {
        try await reportingErrors {
            let photoSource = try PhotoSources.source(for: source, limits: limits.limits)
            let workspace = try await global.workspace("import", access: .seal)
            let stage = ImportStage(
                ledger: try workspace.ledger(create: true),
                ingestor: ImageIngestor(
                    store: workspace.images, mode: try workspace.imageMode(given: images.mode),
                    sealer: try workspace.sealer()),
                logger: global.logger())
            let meter = ProgressMeter(enabled: stderrIsTerminal)
            let summary = try await stage.run(photoSource) { s in
                meter.show("import: \(s.items) items, \(s.stored) stored, \(s.queued) queued")
            }
            meter.finish()
            printError(
                "import: \(summary.items) items from \(photoSource.description): \(summary.stored) images stored, "
                    + "\(summary.queued) URLs queued for download, \(summary.known) already known, "
                    + "\(summary.skipped) not images (skipped), \(summary.unreadable) unreadable (skipped)")
            if summary.credentialsRemoved > 0 {
                printError(
                    "import: \(summary.credentialsRemoved) URLs had credentials or secret query options; they were "
                        + "removed and are not stored (downloads that need them will fail)")
            }
        }
    }
}
