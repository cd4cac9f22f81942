import Foundation
import GRDB

/// A raster basemap from a local MBTiles file (SQLite: a `tiles` table or view, a `metadata`
/// table), served to the page's map as `/tiles/{z}/{x}/{y}.{ext}`: tiles come from this
/// machine, never from a tile service.
///
/// The file is opened read-only and checked once: a missing, unreadable or non-MBTiles file,
/// or one holding vector tiles, is refused with a ``ServeError`` naming it.
public final class TileSet: Sendable {
    /// What the page needs to draw the tiles (`/api/basemap`).
    public struct Info: Sendable, Equatable {
        /// The tiles' image format: `png`, `jpg` or `webp` (also the URL's extension).
        public var format: String
        /// The lowest zoom level the file has tiles for.
        public var minZoom: Int
        /// The highest zoom level the file has tiles for (the map enlarges them beyond).
        public var maxZoom: Int
        /// The attribution text from the file's metadata, as written there (it may hold HTML:
        /// the page shows it as text).
        public var attribution: String?
        /// The area covered, `[west, south, east, north]` in degrees, when the metadata says.
        public var bounds: [Double]?
        /// The file's name for itself, when the metadata says.
        public var name: String?
    }

    /// The path given.
    public let path: String
    /// Format, zooms, attribution and bounds, read when the file was opened.
    public let info: Info
    private let database: DatabaseQueue

    /// The image formats served, by the names MBTiles metadata uses.
    static let formats = ["png": "png", "jpg": "jpg", "jpeg": "jpg", "webp": "webp"]

    /// Opens and checks an MBTiles file.
    ///
    /// - Parameter path: The file (`serve --tiles FILE`).
    /// - Throws: ``ServeError`` naming the file and what to do when it is missing, unreadable,
    ///   not an MBTiles file, holds no tiles, or holds tiles of a format other than PNG, JPEG
    ///   or WebP.
    public init(path: String) throws {
        self.path = path
        let wanted =
            "give serve --tiles an MBTiles file (SQLite with a tiles table and a metadata table, "
            + "e.g. made by gdal_translate -of MBTILES or tilemaker)"
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ServeError("the tiles file \(path) does not exist; \(wanted)")
        }
        guard !isFolder.boolValue else { throw ServeError("the tiles file \(path) is a folder; \(wanted)") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ServeError("the tiles file \(path) cannot be read; check its permissions")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "photoseal.tiles"
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            info = try database.read { db in try Self.check(db, path: path, wanted: wanted) }
        } catch let error as ServeError {
            throw error
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw ServeError("the tiles file \(path) is not an MBTiles file (not an SQLite database); \(wanted)")
        } catch let error as DatabaseError {
            throw ServeError(
                "the tiles file \(path) cannot be read as an MBTiles file (SQLite: \(error.resultCode)); \(wanted)")
        }
    }

    /// Checks the tables and reads the metadata.
    private static func check(_ db: Database, path: String, wanted: String) throws -> Info {
        let columns = Set(try Row.fetchAll(db, sql: "PRAGMA table_info(tiles)").compactMap { $0["name"] as String? })
        let needed: Set = ["zoom_level", "tile_column", "tile_row", "tile_data"]
        guard columns.isSuperset(of: needed) else {
            throw ServeError(
                "the tiles file \(path) is not an MBTiles file (no tiles table with zoom_level, tile_column, "
                    + "tile_row and tile_data); \(wanted)")
        }
        var metadata: [String: String] = [:]
        let metadataColumns = Set(
            try Row.fetchAll(db, sql: "PRAGMA table_info(metadata)").compactMap { $0["name"] as String? })
        if metadataColumns.isSuperset(of: ["name", "value"]) {
            for row in try Row.fetchAll(db, sql: "SELECT name, value FROM metadata") {
                if let name = row["name"] as String?, let value = row["value"] as String? {
                    metadata[name.lowercased()] = value.trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
        }
        guard let range = try Row.fetchOne(db, sql: "SELECT min(zoom_level), max(zoom_level) FROM tiles"),
            let lowest = range[0] as Int?, let highest = range[1] as Int?
        else { throw ServeError("the tiles file \(path) holds no tiles; \(wanted)") }
        // `format` is required by the specification, but older files leave it out: the first
        // tile's bytes tell then.
        var named = metadata["format"].map { $0.lowercased() }
        if named == nil, let first = try Data.fetchOne(db, sql: "SELECT tile_data FROM tiles LIMIT 1") {
            named = Self.sniff(first)
        }
        guard let named, let format = Self.formats[named] else {
            let what = metadata["format"].map { "\($0) tiles" } ?? "tiles of an unknown format"
            throw ServeError(
                "the tiles file \(path) holds \(what); serve draws raster tiles only (png, jpg or webp): "
                    + "give serve --tiles a raster MBTiles file")
        }
        // The metadata's zooms when they are sane, else the tiles' own.
        let minZoom = metadata["minzoom"].flatMap { Int($0) }.map { max(0, min($0, 30)) } ?? lowest
        let maxZoom = metadata["maxzoom"].flatMap { Int($0) }.map { max(minZoom, min($0, 30)) } ?? max(minZoom, highest)
        let bounds = metadata["bounds"].flatMap { text -> [Double]? in
            let numbers = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard numbers.count == 4, (-180...180).contains(numbers[0]), (-180...180).contains(numbers[2]),
                (-90...90).contains(numbers[1]), (-90...90).contains(numbers[3]), numbers[0] < numbers[2],
                numbers[1] < numbers[3]
            else { return nil }
            return numbers
        }
        return Info(
            format: format, minZoom: minZoom, maxZoom: maxZoom,
            attribution: metadata["attribution"].flatMap { $0.isEmpty ? nil : $0 }, bounds: bounds,
            name: metadata["name"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The image format of a tile's bytes (PNG, JPEG or WebP signatures), or `nil`.
    static func sniff(_ data: Data) -> String? {
        let bytes = [UInt8](data.prefix(12))
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpg" }
        if bytes.count == 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8...]) == Array("WEBP".utf8) {
            return "webp"
        }
        return nil
    }

    /// The Content-Type of the tiles.
    public var contentType: String {
        switch info.format {
        case "jpg": "image/jpeg"
        case "webp": "image/webp"
        default: "image/png"
        }
    }

    /// The tile at XYZ coordinates (as Leaflet and most web maps number them: row 0 at the
    /// north), or `nil` when the file has none there. MBTiles numbers rows from the south
    /// (TMS): the row read is `2^z - 1 - y`.
    ///
    /// - Throws: ``ServeError`` when the file cannot be read any more.
    public func tile(z: Int, x: Int, y: Int) async throws -> [UInt8]? {
        guard (0...30).contains(z), (0..<(1 << z)).contains(x), (0..<(1 << z)).contains(y) else { return nil }
        let row = (1 << z) - 1 - y
        do {
            return try await database.read { db in
                try Data.fetchOne(
                    db, sql: "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    arguments: [z, x, row]
                ).map { [UInt8]($0) }
            }
        } catch {
            throw ServeError("the tiles file \(path) cannot be read; check that it is still there")
        }
    }
}

extension Gallery {
    /// `GET /api/basemap`: `{"tiles": null}` without `--tiles`, else where the page finds the
    /// tiles and how to draw them: `{"tiles": {"url": "/tiles/{z}/{x}/{y}.png", "format": …,
    /// "minzoom": …, "maxzoom": …, "attribution": …, "bounds": […], "name": …}}`.
    func basemap() -> GalleryResponse {
        struct Tiles: Encodable {
            var url: String
            var format: String
            var minzoom: Int
            var maxzoom: Int
            var attribution: String?
            var bounds: [Double]?
            var name: String?
        }
        struct Basemap: Encodable {
            var tiles: Tiles?

            // `null`, not left out, without tiles: the page tests it.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(tiles, forKey: .tiles)
            }

            enum CodingKeys: String, CodingKey { case tiles }
        }
        let body = Basemap(
            tiles: tiles.map {
                let info = $0.info
                return Tiles(
                    url: "/tiles/{z}/{x}/{y}.\(info.format)", format: info.format, minzoom: info.minZoom,
                    maxzoom: info.maxZoom, attribution: info.attribution, bounds: info.bounds, name: info.name)
            })
        guard let encoded = try? Self.encoder.encode(body) else {
            return Self.error(500, "the answer could not be made")
        }
        return Self.json(encoded)
    }

    /// `GET /tiles/{z}/{x}/{y}.{ext}` (the part after `/tiles/`): a tile of the basemap at XYZ
    /// coordinates; 400 for coordinates that are not numbers in range, 404 for a tile the
    /// file does not have (or without `--tiles`).
    func tile(_ coordinates: String) async -> GalleryResponse {
        guard let tiles else {
            return Self.error(404, "this server has no basemap: start photoseal serve --tiles FILE.mbtiles")
        }
        let parts = coordinates.split(separator: "/", omittingEmptySubsequences: false)
        let last = parts.last.map { $0.split(separator: ".", omittingEmptySubsequences: false) } ?? []
        guard parts.count == 3, last.count == 2 else {
            return Self.error(404, "no such tile: use /tiles/{z}/{x}/{y}.\(tiles.info.format)")
        }
        guard last[1] == tiles.info.format else {
            return Self.error(
                404, "this server's tiles are \(tiles.info.format): use /tiles/{z}/{x}/{y}.\(tiles.info.format)")
        }
        // Digits only (no sign, no spaces), and few enough of them to be a zoom or a tile number.
        func number(_ text: Substring) -> Int? {
            guard (1...10).contains(text.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                return nil
            }
            return Int(text)
        }
        guard let z = number(parts[0]), let x = number(parts[1]), let y = number(last[0]), z <= 30,
            x < 1 << z, y < 1 << z
        else {
            return Self.error(
                400, "the tile /tiles/\(coordinates) is not valid: z is 0 to 30, x and y are 0 to 2^z - 1")
        }
        do {
            guard let bytes = try await tiles.tile(z: z, x: x, y: y) else {
                return Self.error(404, "the basemap has no tile \(z)/\(x)/\(y)")
            }
            // Tiles do not change while the server runs; `private`: the server may need a token.
            return GalleryResponse(
                status: 200,
                headers: [("Content-Type", tiles.contentType), ("Cache-Control", "private, max-age=604800")],
                body: bytes)
        } catch {
            return Self.error(500, "the basemap's tiles cannot be read now")
        }
    }
}
