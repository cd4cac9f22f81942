import ArgumentParser
import Foundation
import HTTP
import Ingest
import Retry

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

            An http(s) address is fetched: a web page gives its images (img src and srcset, \
            og:image, links to image files; relative links resolved), an RSS or Atom feed its \
            image enclosures and media:content; each is queued like a URL list's row.

            s3://BUCKET/PREFIX lists the objects under PREFIX (credentials, region and \
            S3_ENDPOINT from the secrets file) and fetches each image object not imported \
            before, --concurrency at once, storing it with id s3:<sha256 of the content>; object \
            keys are not recorded. A re-run lists again and fetches only new or changed objects.

            Examples:
              photoseal import ~/Pictures/trip
              photoseal import photos.zip --store-images sealed
              photoseal import urls.csv && photoseal download
              photoseal import s3://my-bucket/photos/2024/
              photoseal import https://example.org/gallery.html && photoseal download
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @Argument(
        help: ArgumentHelp(
            "A folder, a .zip, a .csv/.tsv with a url column, s3://BUCKET/PREFIX, or a web page or feed URL.",
            valueName: "source"),
        completion: .file())
    var source: String

    @Option(help: ArgumentHelp("S3 objects fetched at once (s3:// sources).", valueName: "n"))
    var concurrency: Int = 16

    @OptionGroup var images: ImageModeOptions

    @OptionGroup var limits: ImportLimitOptions

    func run() async throws {
        try await reportingErrors {
            if S3Location.isS3(source) { return try await importS3() }
            // A web page or feed is fetched through the HTTP engine; its images are queued as URLs.
            let http = WebSource.isWeb(source) ? try HTTPClient(logger: global.logger()) : nil
            defer { http?.shutdown() }
            let photoSource: any PhotoSource =
                try http.map { WebSource(url: source, http: $0, logger: global.logger()) }
                ?? PhotoSources.source(for: source, limits: limits.limits)
            let workspace = try await global.workspace("import", access: .seal)
            let storeHTTP = try HTTPClient(configuration: .photoseal, logger: global.logger())
            defer { storeHTTP.shutdown() }
            let stage = ImportStage(
                ledger: try workspace.ledger(create: true),
                ingestor: ImageIngestor(
                    store: try await workspace.imageStore(given: images.imageStore, http: storeHTTP),
                    mode: try workspace.imageMode(given: images.mode),
                    sealer: try workspace.sealer()),
                logger: global.logger())
            let display = progressOptions.display("import")
            @Sendable func counts(_ s: ImportStage.Summary) -> ProgressDisplay.Counts {
                (
                    [
                        ProgressStage(
                            "import", short: "im", done: s.items, note: "\(s.stored) stored, \(s.queued) queued")
                    ], s.unreadable > 0 ? ["unreadable": s.unreadable] : [:], ProgressDisplay.bytes(s.bytes)
                )
            }
            let summary = try await stage.run(photoSource) { s in display.update { _ in counts(s) } }
            display.finish { _ in counts(summary) }
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

    /// `import s3://BUCKET/PREFIX`.
    func importS3() async throws {
        let location = try S3Location(parsing: source)
        let logger = global.logger()
        let workspace = try await global.workspace("import", access: .seal)
        let http = try HTTPClient(
            configuration: HTTPClient.Configuration(
                maxConnectionsPerHost: max(concurrency, 6), maxTotalConnections: max(concurrency, 6)),
            logger: logger)
        defer { http.shutdown() }
        let stage = S3ImportStage(
            client: try S3Client(http: http, settings: try S3Settings(secrets: workspace.secrets), logger: logger),
            ledger: try workspace.ledger(create: true),
            ingestor: ImageIngestor(
                store: try await workspace.imageStore(given: images.imageStore, http: http),
                mode: try workspace.imageMode(given: images.mode), sealer: try workspace.sealer()),
            index: try workspace.blindIndex(), logger: logger)
        let display = progressOptions.display("import")
        @Sendable func counts(_ s: S3ImportStage.Summary) -> ProgressDisplay.Counts {
            (
                [
                    ProgressStage("list", short: "ls", done: s.objects, unit: "objects"),
                    ProgressStage("fetch", short: "fe", done: s.fetched, total: s.objects, note: "\(s.stored) stored"),
                ], s.causes, ProgressDisplay.bytes(s.bytes)
            )
        }
        let summary = try await stage.run(location, options: S3ImportStage.Options(concurrency: concurrency)) { s in
            display.update { _ in counts(s) }
        }
        display.finish { _ in counts(summary) }
        var line =
            "import: \(summary.objects) objects in s3://\(location.bucket)/ (\(summary.listCalls) list calls): "
            + "\(summary.stored) images stored, \(summary.duplicates) duplicates, \(summary.known) imported before, "
            + "\(summary.skipped) not images (skipped), \(summary.failed) failed, \(ProgressDisplay.bytes(summary.bytes))"
        if !summary.causes.isEmpty {
            line +=
                " [" + summary.causes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                + "]"
        }
        printError(line)
        if summary.failed > 0 {
            printError("import: run the same command again to retry the objects that failed")
            throw ExitCode(1)
        }
    }
}
