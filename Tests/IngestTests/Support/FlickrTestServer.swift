import Foundation
import TestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The local Flickr API server (Fixtures/servers/flickr_server.py) on a free loopback port.
/// Stop it with `stop()` in a `defer`.
final class FlickrTestServer: @unchecked Sendable {
    static let apiKey = "test-api-key-0123456789"
    static let terms = ["monkey", "scimmia", "猴子"]
    static let bbox = "5,35,20,48"

    let server: PythonFixtureServer
    var port: Int { server.port }
    var endpoint: String { "http://127.0.0.1:\(port)/services/rest/" }
    var base: String { server.base }

    init(_ arguments: [String] = []) throws {
        server = try PythonFixtureServer(script: "flickr_server", arguments)
    }

    typealias ServerError = PythonFixtureServer.ServerError

    func stop() { server.stop() }

    func get(_ path: String) throws -> Data { try server.get(path) }

    func json(_ path: String) throws -> Any { try server.json(path) }

    struct LogEntry {
        var params: [String: String]
        var outcome: String
        var time: Double
        /// The page's identity: what was asked, whatever the attempt.
        var pageKey: String {
            ["text", "bbox", "min_taken_date", "max_taken_date", "page"].map { params[$0] ?? "" }.joined(separator: "|")
        }
    }

    func log() throws -> [LogEntry] {
        guard let list = try json("/__log") as? [[String: Any]] else { throw ServerError.badAnswer("/__log") }
        return list.map {
            LogEntry(
                params: ($0["params"] as? [String: String]) ?? [:], outcome: ($0["outcome"] as? String) ?? "",
                time: ($0["t"] as? Double) ?? 0)
        }
    }

    /// Every matching photo id with its terms, and each term's total, by the server's own filter.
    func truth(terms: [String] = FlickrTestServer.terms, bbox: String? = FlickrTestServer.bbox, extra: String = "")
        throws
        -> (photos: [String: Set<String>], totals: [String: Int])
    {
        var query = terms.map { "term=" + $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
        if let bbox { query.append("bbox=\(bbox)") }
        if !extra.isEmpty { query.append(extra) }
        guard let object = try json("/__truth?" + query.joined(separator: "&")) as? [String: Any],
            let photos = object["photos"] as? [String: [String]], let totals = object["totals"] as? [String: Int]
        else { throw ServerError.badAnswer("/__truth") }
        return (photos.mapValues(Set.init), totals)
    }

    /// Every personal value (owner, owner name, path alias) in the dataset.
    func personalValues() throws -> [String] {
        guard let list = try json("/__personal") as? [String] else { throw ServerError.badAnswer("/__personal") }
        return list
    }

    /// The dataset's record of one photo.
    func photo(_ id: String) throws -> [String: Any] {
        guard let object = try json("/__photo?id=\(id)") as? [String: Any] else { throw ServerError.badAnswer(id) }
        return object
    }
}

/// The personal values found as raw bytes in any file under `directory` (SQLite database, WAL
/// and SHM included), by `grep -F` over every file: fast and independent of photoseal.
func filesContaining(_ needles: [String], under directory: URL) throws -> [String] {
    let patterns = FileManager.default.temporaryDirectory.appendingPathComponent("needles-\(UUID().uuidString)")
    try Data(needles.filter { $0.utf8.count >= 4 }.joined(separator: "\n").utf8).write(to: patterns)
    defer { try? FileManager.default.removeItem(at: patterns) }
    let (status, output) = try runProgram(["grep", "-r", "-a", "-o", "-h", "-F", "-f", patterns.path, directory.path])
    // grep exits 1 when nothing matched, 0 when something did; 2 is a failure.
    guard status != 2 else { throw FlickrTestServer.ServerError.badAnswer("grep failed") }
    return Array(Set(String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)))
}
