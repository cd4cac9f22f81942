import Foundation

/// The page's files: the page, its script and style (resources of this module), the country
/// outlines, and Leaflet with its marker-cluster plugin read from Debian's packages
/// (`libjs-leaflet`, `libjs-leaflet.markercluster`) at run time.
struct Assets: Sendable {
    /// Where Debian puts the JavaScript libraries (`/usr/share/javascript`).
    let javascriptDirectory: String

    /// The vendor files the page may load, by the name it uses, and their path under
    /// `javascriptDirectory`. Nothing else under that folder is served.
    static let vendorFiles: [String: String] = [
        "leaflet.js": "leaflet/leaflet.js",
        "leaflet.css": "leaflet/leaflet.css",
        "leaflet.markercluster.js": "leaflet/leaflet.markercluster.js",
        "MarkerCluster.css": "leaflet/MarkerCluster.css",
        "MarkerCluster.Default.css": "leaflet/MarkerCluster.Default.css",
        "images/layers.png": "leaflet/images/layers.png",
        "images/layers-2x.png": "leaflet/images/layers-2x.png",
        "images/marker-icon.png": "leaflet/images/marker-icon.png",
        "images/marker-icon-2x.png": "leaflet/images/marker-icon-2x.png",
        "images/marker-shadow.png": "leaflet/images/marker-shadow.png",
    ]

    /// The Debian packages that hold the vendor files.
    static let vendorPackages = "libjs-leaflet libjs-leaflet.markercluster"

    /// The vendor files that are missing (the map needs every script and style).
    func missingVendorFiles() -> [String] {
        Self.vendorFiles.values.filter { !$0.contains("/images/") }.sorted().filter {
            !FileManager.default.isReadableFile(atPath: (javascriptDirectory as NSString).appendingPathComponent($0))
        }
    }

    /// A page file shipped with the module: `index.html`, `app.js`, `app.css`, `countries.geojson`.
    func page(_ name: String) -> GalleryResponse {
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let url = Bundle.module.url(forResource: parts[0], withExtension: parts[1]),
            let data = try? Data(contentsOf: url)
        else { return Gallery.error(404, "the page file \(name) is missing from this build of photoseal") }
        return GalleryResponse(
            status: 200, headers: [("Content-Type", Self.contentType(name)), ("Cache-Control", "no-cache")],
            body: Array(data))
    }

    /// A vendor file by the name the page uses, or 404 naming the packages to install.
    func vendor(_ name: String) -> GalleryResponse {
        guard let relative = Self.vendorFiles[name] else { return Gallery.error(404, "no such file: /vendor/\(name)") }
        let path = (javascriptDirectory as NSString).appendingPathComponent(relative)
        guard let data = FileManager.default.contents(atPath: path) else {
            return Gallery.error(
                404, "\(path) is missing: install the Debian packages \(Self.vendorPackages) for the map")
        }
        return GalleryResponse(
            status: 200, headers: [("Content-Type", Self.contentType(name)), ("Cache-Control", "max-age=86400")],
            body: Array(data))
    }

    static func contentType(_ name: String) -> String {
        if name.hasSuffix(".html") { return "text/html; charset=utf-8" }
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        if name.hasSuffix(".png") { return "image/png" }
        if name.hasSuffix(".geojson") || name.hasSuffix(".json") { return "application/geo+json" }
        return "application/octet-stream"
    }
}
