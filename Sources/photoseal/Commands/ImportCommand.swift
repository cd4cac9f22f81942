import ArgumentParser
import Crypto
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
            skipped; anything already in the ledger is left alone.

            Examples:
              photoseal import ~/Pictures/trip
              photoseal import photos.zip --store-images sealed
              photoseal import urls.csv && photoseal download
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A folder, a .zip, or a .csv/.tsv with a url column.", valueName: "source"))
    var source: String

    @OptionGroup var images: ImageModeOptions

    func run() async throws {
        try await reportingErrors {
            let logger = global.logger()
            let secrets = try global.secrets.load()
            let sealer = FieldSealer(keyring: try secrets.keyring())
            let photoSource = try PhotoSources.source(for: source)
            let ledger = try Ledger(directory: global.workdir, logger: logger)
            let stage = ImportStage(
                ledger: ledger,
                ingestor: ImageIngestor(
                    store: ImageStore(workdir: global.workdir), mode: images.storeImages.mode, sealer: sealer),
                logger: logger)
            let meter = ProgressMeter(enabled: stderrIsTerminal)
            let summary = try await stage.run(photoSource) { s in
                meter.show("import: \(s.items) items, \(s.stored) stored, \(s.queued) queued")
            }
            meter.finish()
            printError(
                "import: \(summary.items) items from \(photoSource.description): \(summary.stored) images stored, "
                    + "\(summary.queued) URLs queued for download, \(summary.known) already known, "
                    + "\(summary.skipped) not images (skipped)")
        }
    }
}
