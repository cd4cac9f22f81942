import Foundation
import HTTP
import Serve
import TestSupport
import Testing

/// Makes an MBTiles file with scripts/make-mbtiles.py; returns its path and the folder holding
/// each tile's bytes as `z/x/row.png` (row as stored: TMS, from the south).
private func makeTiles(
    in folder: String, _ name: String = "tiles.mbtiles", options: [String] = []
) throws -> (file: String, tiles: String) {
    let file = (folder as NSString).appendingPathComponent(name)
    let tiles = (folder as NSString).appendingPathComponent(name + ".d")
    let script = repositoryRoot.appendingPathComponent("scripts/make-mbtiles.py").path
    let (status, output) = try runProgram(
        ["python3", script, file, "--tiles-dir", tiles] + options, mergingStderr: true)
    #expect(status == 0, "\(String(decoding: output, as: UTF8.self))")
    return (file, tiles)
}

/// A scratch folder, removed by the caller.
private func scratchFolder() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-tiles-\(UUID().uuidString)")
        .path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return folder
}

@Suite("Basemap tiles (serve --tiles)", .serialized)
struct TileSetTests {
    @Test(
        "a tile fetched over HTTP at XYZ coordinates is the stored tile of the flipped (TMS) row",
        .tags(.integration), arguments: ["table", "view"])
    func tilesOverHTTP(schema: String) async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Italy: at zoom 1 and 2 one tile each, in the northern half (XYZ y != TMS row).
        let made = try makeTiles(
            in: folder,
            options: [
                "--zooms", "0-2", "--bbox", "6,36,19,47", "--schema", schema, "--attribution",
                "<a href=\"https://example.org/\">© Test & Co</a>",
            ])
        let tiles = try TileSet(path: made.file)
        #expect(tiles.info.format == "png" && tiles.info.minZoom == 0 && tiles.info.maxZoom == 2)
        try await withFixture(.embedded) { fixture in
            let gallery = try await fixture.gallery(tiles: tiles)
            let server = try GalleryServer(gallery: gallery, host: "127.0.0.1", port: 0)
            let task = Task { try await server.run() }
            defer { task.cancel() }
            let port = try await server.port()
            let client = try HTTPClient(logger: testLogger)
            defer { client.shutdown() }
            func get(_ target: String) async throws -> HTTPResponse {
                try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)\(target)"))
            }
            for (z, x, y) in [(0, 0, 0), (1, 1, 0), (2, 2, 1)] {
                let row = (1 << z) - 1 - y
                let stored = try Data(contentsOf: URL(fileURLWithPath: "\(made.tiles)/\(z)/\(x)/\(row).png"))
                let answer = try await get("/tiles/\(z)/\(x)/\(y).png")
                #expect(answer.status == 200, "\(z)/\(x)/\(y)")
                #expect(Data(answer.body) == stored, "\(z)/\(x)/\(y) is the tile of row \(row)")
                #expect(answer.header("Content-Type") == "image/png")
                #expect(answer.header("Cache-Control")?.contains("max-age=604800") == true)
                #expect(answer.header("Content-Security-Policy")?.contains("default-src 'self'") == true)
            }
            // Not in the file: the other half of zoom 1 (whose TMS row 0 would be the unflipped
            // read of 1/1/1), and a zoom beyond the file's.
            for target in ["/tiles/1/1/1.png", "/tiles/1/0/0.png", "/tiles/3/4/2.png", "/tiles/2/2/1.jpg"] {
                #expect(try await get(target).status == 404, "\(target)")
            }
            for target in ["/tiles/1/2/0.png", "/tiles/a/0/0.png", "/tiles/1/-1/0.png", "/tiles/31/0/0.png"] {
                #expect(try await get(target).status == 400, "\(target)")
            }
            let basemap = try await get("/api/basemap")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(basemap.body)) as? [String: Any])
            let described = try #require(body["tiles"] as? [String: Any])
            #expect(described["url"] as? String == "/tiles/{z}/{x}/{y}.png")
            #expect(described["minzoom"] as? Int == 0 && described["maxzoom"] as? Int == 2)
            #expect(described["attribution"] as? String == "<a href=\"https://example.org/\">© Test & Co</a>")
            #expect(described["bounds"] as? [Double] == [6, 36, 19, 47])
            await server.stop()
        }
    }

    @Test("tiles follow the access token rule; without --tiles there is no basemap", .tags(.integration))
    func tokenAndNoTiles() async throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let made = try makeTiles(in: folder, options: ["--zooms", "0-0"])
        try await withFixture(.embedded) { fixture in
            let token = "t1les-\(UUID().uuidString)"
            let guarded = try await fixture.gallery(token: token, tiles: try TileSet(path: made.file))
            #expect(await guarded.respond(to: GalleryRequest(target: "/tiles/0/0/0.png")).status == 401)
            #expect(await guarded.respond(to: GalleryRequest(target: "/api/basemap")).status == 401)
            let allowed = await guarded.respond(
                to: GalleryRequest(target: "/tiles/0/0/0.png", headers: ["Authorization": "Bearer \(token)"]))
            #expect(allowed.status == 200)
            #expect(allowed.body.starts(with: [0x89, 0x50, 0x4E, 0x47]))
            let plain = try await fixture.gallery()
            let none = try await json(plain, "/api/basemap")
            #expect(none["tiles"] is NSNull)
            #expect(await plain.respond(to: GalleryRequest(target: "/tiles/0/0/0.png")).status == 404)
        }
    }

    @Test("a file that is missing, not MBTiles, empty or of vector tiles is refused naming it", .tags(.integration))
    func refusals() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = (folder as NSString).appendingPathComponent("notes.mbtiles")
        try Data("not a database at all, but long enough to be read as a header by SQLite...".utf8)
            .write(to: URL(fileURLWithPath: text))
        let other = (folder as NSString).appendingPathComponent("other.sqlite")
        let made = try runPython(
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('CREATE TABLE photos (id TEXT)');"
                + "db.commit()", [other])
        #expect(made.status == 0, "\(made.output)")
        let vector = try makeTiles(in: folder, "vector.mbtiles", options: ["--zooms", "0-0", "--format", "pbf"]).file
        let empty = try makeTiles(in: folder, "empty.mbtiles", options: ["--zooms", "3-2"]).file
        let cases: [(String, String)] = [
            ((folder as NSString).appendingPathComponent("missing.mbtiles"), "does not exist"),
            (folder, "is a folder"),
            (text, "not an SQLite database"),
            (other, "no tiles table"),
            (vector, "pbf tiles"),
            (empty, "holds no tiles"),
        ]
        for (path, reason) in cases {
            do {
                _ = try TileSet(path: path)
                Issue.record("\(path) was accepted")
            } catch let error as ServeError {
                #expect(error.message.contains(path) && error.message.contains(reason), "\(error.message)")
                #expect(error.message.contains("serve --tiles") || error.message.contains("permissions"))
            }
        }
        // No `format` in the metadata (older files): the tiles' bytes say PNG.
        let unnamed = try makeTiles(in: folder, "unnamed.mbtiles", options: ["--zooms", "0-1", "--format", "none"]).file
        #expect(try TileSet(path: unnamed).info.format == "png")
    }
}
