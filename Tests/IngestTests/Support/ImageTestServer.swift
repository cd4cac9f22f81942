import Foundation
import TestSupport

/// The local image CDN (Fixtures/servers/image_server.py) serving Fixtures/images.
final class ImageTestServer: @unchecked Sendable {
    let server: PythonFixtureServer
    var base: String { server.base }

    static func fixture(_ relative: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + relative)
    }

    static var imagesDirectory: URL { fixture("images") }

    init(delay: Double = 0, stallSeconds: Double = 3, dribbleSeconds: Double = 30) throws {
        server = try PythonFixtureServer(
            script: "image_server",
            [
                "--dir", Self.imagesDirectory.path, "--delay", "\(delay)", "--stall-seconds", "\(stallSeconds)",
                "--dribble-seconds", "\(dribbleSeconds)",
            ])
    }

    func stop() { server.stop() }

    struct LogEntry: Decodable {
        var path: String
        var outcome: String
        var sent: Int
        var complete: Bool
        /// When the server logged it (Unix seconds).
        var t: Double
    }

    func log() throws -> [LogEntry] { try JSONDecoder().decode([LogEntry].self, from: server.get("/__log")) }

    /// The expected facts of each fixture image, measured with sha256sum and exiftool.
    struct Truth: Decodable {
        var sha256: String
        var bytes: Int
        var Make: String?
        var Model: String?
        var GPSLatitude: Double?
        var GPSLongitude: Double?
        var ImageWidth: Int
        var ImageHeight: Int
    }

    static func truth() throws -> [String: Truth] {
        try JSONDecoder().decode([String: Truth].self, from: Data(contentsOf: fixture("images/truth.json")))
    }
}
