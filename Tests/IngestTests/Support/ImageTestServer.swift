import Foundation

/// A Python fixture server started on a free loopback port: runs `script` with `arguments`,
/// reads the port from its first stdout line, and stops it (SIGKILL) in `stop()`. The server
/// exits by itself when its stdin pipe closes, so a crashed test leaves none behind.
final class PythonTestServer: @unchecked Sendable {
    let process = Process()
    let stdinPipe = Pipe()
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    enum ServerError: Error { case noPort, badAnswer(String) }

    init(script: URL, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--watch-stdin"] + arguments
        let out = Pipe()
        process.standardOutput = out
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

    func stop() {
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
}

/// The local image CDN (Fixtures/servers/image_server.py) serving Fixtures/images.
final class ImageTestServer: @unchecked Sendable {
    let server: PythonTestServer
    var base: String { server.base }

    static func fixture(_ relative: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures/" + relative)
    }

    static var imagesDirectory: URL { fixture("images") }

    init(delay: Double = 0, stallSeconds: Double = 3) throws {
        server = try PythonTestServer(
            script: Self.fixture("servers/image_server.py"),
            arguments: [
                "--dir", Self.imagesDirectory.path, "--delay", "\(delay)", "--stall-seconds", "\(stallSeconds)",
            ])
    }

    func stop() { server.stop() }

    struct LogEntry: Decodable {
        var path: String
        var outcome: String
        var sent: Int
        var complete: Bool
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
