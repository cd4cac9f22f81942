import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The local Flickr API server (Fixtures/servers/flickr_server.py) on a free loopback port.
/// Stop it with `stop()` in a `defer`.
final class FlickrTestServer: @unchecked Sendable {
    static let apiKey = "test-api-key-0123456789"
    static let terms = ["monkey", "scimmia", "猴子"]
    static let bbox = "5,35,20,48"

    let process = Process()
    let stdinPipe = Pipe()
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)/services/rest/" }
    var base: String { "http://127.0.0.1:\(port)" }

    static var script: URL {
        if let url = Bundle.module.url(forResource: "Fixtures/servers/flickr_server", withExtension: "py") {
            return url
        }
        return Bundle.module.resourceURL!.appendingPathComponent("Fixtures/servers/flickr_server.py")
    }

    init(_ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script.path, "--watch-stdin"] + arguments
        let out = Pipe()
        process.standardOutput = out
        // The server exits when this pipe closes, so a crashed test leaves no server behind.
        process.standardInput = stdinPipe
        process.standardError = FileHandle.standardError
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespaces)) else {
            process.terminate()
            throw ServerError.noPort
        }
        self.port = port
    }

    enum ServerError: Error { case noPort, badAnswer(String) }

    func stop() {
        // SIGKILL: the test runner's threads may block SIGTERM, and children inherit that mask.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? stdinPipe.fileHandleForWriting.close()
    }

    func get(_ path: String) throws -> Data {
        guard let url = URL(string: base + path) else { throw ServerError.badAnswer(path) }
        return try Data(contentsOf: url)
    }

    func json(_ path: String) throws -> Any { try JSONSerialization.jsonObject(with: get(path)) }

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
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["grep", "-r", "-a", "-o", "-h", "-F", "-f", patterns.path, directory.path]
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("grep-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out) }
    let handle = try FileHandle(forWritingTo: out)
    process.standardOutput = handle
    try process.run()
    process.waitUntilExit()
    try handle.close()
    // grep exits 1 when nothing matched, 0 when something did; 2 is a failure.
    guard process.terminationStatus != 2 else { throw FlickrTestServer.ServerError.badAnswer("grep failed") }
    return Array(
        Set(String(decoding: try Data(contentsOf: out), as: UTF8.self).split(separator: "\n").map(String.init)))
}
