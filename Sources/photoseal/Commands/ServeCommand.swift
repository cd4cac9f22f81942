import ArgumentParser
import Foundation
import HTTP
import Ingest
import Serve

/// `photoseal serve`: the gallery, table and map of a workdir's store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the gallery, table and map of the workdir's store on this machine.",
        discussion: """
            Reads the store (the workdir's, or --store) without changing it, beside a running \
            pipeline, and serves a page with a grid of thumbnails, a photo view (←/→, Esc), \
            filters that combine (kept in the URL), a sortable table with CSV and JSON-lines \
            downloads, and a map with clusters. Only public fields are served: never a sealed \
            field or a blind index. Thumbnails are new JPEGs without metadata, cached under \
            thumbs/ in the workdir (in sealed image mode, only in memory). The page loads \
            nothing from other servers.

            It binds 127.0.0.1. Any other address needs SERVE_TOKEN in the secrets file; open \
            http://HOST:PORT/?token=<SERVE_TOKEN> once (a cookie keeps it) or send \
            "Authorization: Bearer <SERVE_TOKEN>". The map uses Debian's libjs-leaflet and \
            libjs-leaflet.markercluster. --tiles FILE.mbtiles adds a raster basemap under \
            the country outlines from a local MBTiles file (png, jpg or webp tiles), served by \
            photoseal itself. The JSON API is described in docs/serve.md.

            --form s3://BUCKET/PREFIX adds the request form (/request, linked from the page): \
            search terms, an optional box, a number of images, labels, an address and a time. \
            Each request is recorded as a job in the store (collections jobs and job_log, the \
            address sealed with the secrets file's keys); `photoseal deliver --due` runs it \
            (search, download, extract, score, load in <workdir>/jobs/<id>), packs it, uploads \
            it to s3://BUCKET/PREFIX/<id>.zip and mails the link at the time asked. --worker \
            does the same inside the server every --worker-interval seconds (stopping with it).

            Examples:
              photoseal serve
              photoseal serve --form s3://datasets/requests --worker
              photoseal serve --workdir run1 --port 8090
              photoseal serve --tiles ~/maps/europe.mbtiles
              photoseal serve --store mongodb://127.0.0.1:27017/photoseal
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("The address to listen on (other than loopback needs SERVE_TOKEN).", valueName: "ip"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("The TCP port to listen on.", valueName: "port"))
    var port: UInt16 = 8080

    @Option(
        help: ArgumentHelp(
            "Serve the request form (/request); the zips of its jobs go under this S3 prefix.",
            valueName: "s3://bucket/prefix"))
    var form: String?

    @Option(
        help: ArgumentHelp(
            "A raster basemap for the map: a local MBTiles file (png, jpg or webp tiles).",
            valueName: "file.mbtiles"),
        completion: .file(extensions: ["mbtiles"]))
    var tiles: String?

    @Flag(help: "Run `deliver --due` inside the server every --worker-interval seconds (requests and jobs).")
    var worker = false

    @Option(help: ArgumentHelp("Seconds between the worker's passes.", valueName: "seconds"))
    var workerInterval: Double = 60

    @OptionGroup var flickrOptions: FlickrEndpointOptions

    @OptionGroup var visionOptions: VisionEndpointOptions

    func validate() throws {
        guard UsageChecks.enabled else { return }
        if let form {
            let prefix = form.hasSuffix("/") ? String(form.dropLast()) : form
            guard (try? S3Location(parsing: prefix + "/x.zip")) != nil, prefix.hasPrefix("s3://") else {
                throw ValidationError("--form \(form) is not s3://BUCKET/PREFIX (where the requested zips go)")
            }
        }
        guard workerInterval >= 1, workerInterval <= 86400 else {
            throw ValidationError("--worker-interval \(workerInterval) must be from 1 to 86400 seconds")
        }
    }

    func run() async throws {
        try await reportingErrors {
            // Checked first: a wrong file is a usage error, found before the store is read.
            let basemap: TileSet?
            do {
                basemap = try tiles.map { try TileSet(path: $0) }
            } catch let error as ServeError {
                throw ValidationError(error.message)
            }
            let workspace = try await global.workspace(
                "serve", access: .read, needsKeys: form != nil, store: storeOptions)
            let found = try await workspace.checkLoadStore()
            // With the form, an empty store is fine: the requests fill it.
            guard found.exists || form != nil else {
                throw ValidationError(
                    "the store \(found.display) does not exist yet; run `photoseal encrypt-load` (or `run`) first, "
                        + "or pass --store")
            }
            let store = try await workspace.loadStore(batchSize: 1000)
            let sealedMode = try workspace.imageMode(given: nil) == .sealed
            // A bucket's images are fetched when a copy is first asked for, then cached as local ones.
            let images = try await workspace.recordedImageStore(logger: global.logger())
            defer { images.http.shutdown() }
            let thumbnails = Thumbnails(
                images: images.store, keyring: try? workspace.keyring(),
                cacheDirectory: sealedMode ? nil : (workspace.workdir as NSString).appendingPathComponent("thumbs"))
            var configuration = Gallery.Configuration()
            configuration.token = workspace.secrets["SERVE_TOKEN"]
            let requestForm = try form.map { prefix in
                try RequestForm(
                    jobs: try JobStore(store: store), sealer: try workspace.sealer(),
                    configuration: RequestForm.Configuration(
                        upload: prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix))
            }
            let gallery = Gallery(
                store: store, thumbnails: thumbnails, configuration: configuration, form: requestForm,
                tiles: basemap, logger: global.logger())
            let server = try GalleryServer(gallery: gallery, host: host, port: port)
            let count = try await gallery.load()
            let missing = gallery.missingMapFiles()
            if !missing.isEmpty {
                printError(
                    "serve: the map is off: \(missing.joined(separator: ", ")) missing; "
                        + "install the Debian packages libjs-leaflet libjs-leaflet.markercluster")
            }
            let interrupts = Interrupts { Task { await server.stop() } }
            defer { interrupts.cancel() }
            let task = Task { try await server.run() }
            let bound = try await server.port()
            let shown = host.contains(":") ? "[\(host)]" : host
            printError("serve: \(count) photos from \(found.display) at http://\(shown):\(bound)/ (Ctrl-C stops)")
            if let basemap {
                printError(
                    "serve: basemap \(basemap.path): \(basemap.info.format) tiles, "
                        + "zoom \(basemap.info.minZoom) to \(basemap.info.maxZoom)")
            }
            if form != nil { printError("serve: the request form is at http://\(shown):\(bound)/request") }
            let background = worker ? startWorker() : nil
            do {
                try await task.value
            } catch {
                background?.cancel()
                await background?.value
                // A stop asked for by a signal can end the accept loop with `disconnected`
                // instead of a return: that is the stop, not a failure to serve.
                if interrupts.caught != nil { return }
                throw error
            }
            // Stopped: the worker finishes the step in hand and ends.
            background?.cancel()
            await background?.value
        }
    }

    /// The worker: `deliver --due` now, then every --worker-interval seconds, until cancelled.
    /// Only passes that found work are reported.
    func startWorker() -> Task<Void, Never> {
        let (global, store, interval) = (global, storeOptions, workerInterval)
        let (flickr, vision) = (flickrOptions.flickrEndpoint, visionOptions.visionEndpoint)
        printError("serve: worker: deliver --due every \(interval) s")
        return Task {
            while !Task.isCancelled {
                do {
                    _ = try await DeliverCommand.deliverDue(
                        global: global, store: store, flickrEndpoint: flickr, visionEndpoint: vision,
                        report: { line in
                            guard !line.hasPrefix("0 due: 0 uploaded"), line != "jobs: 0 open" else { return }
                            printError("serve: worker: \(line)")
                        })
                } catch {
                    printError("serve: worker: \(error)")
                }
                try? await Task.sleep(for: .seconds(interval))
            }
            printError("serve: worker: stopped")
        }
    }
}
