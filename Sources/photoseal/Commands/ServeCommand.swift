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
            libjs-leaflet.markercluster. The JSON API is described in docs/serve.md.

            Examples:
              photoseal serve
              photoseal serve --workdir run1 --port 8090
              photoseal serve --store mongodb://127.0.0.1:27017/photoseal
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var storeOptions: StoreOptions

    @Option(help: ArgumentHelp("The address to listen on (other than loopback needs SERVE_TOKEN).", valueName: "ip"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("The TCP port to listen on.", valueName: "port"))
    var port: UInt16 = 8080

    func run() async throws {
        try await reportingErrors {
            let workspace = try await global.workspace("serve", access: .read, needsKeys: false, store: storeOptions)
            let found = try await workspace.checkLoadStore()
            guard found.exists else {
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
            let gallery = Gallery(
                store: store, thumbnails: thumbnails, configuration: configuration, logger: global.logger())
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
            try await task.value
        }
    }
}
