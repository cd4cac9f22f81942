import Foundation

/// A Python fixture server (a script under Fixtures/servers/) on a free loopback port.
///
/// The script prints its port on stdout once listening and exits when its stdin closes, so a
/// crashed test leaves no server behind. Stop it with `stop()` in a `defer`.
final class FixtureServer: @unchecked Sendable {
    let process = Process()
    let stdinPipe = Pipe()
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    enum ServerError: Error { case noPort, badAnswer(String) }

    /// The bundled script `Fixtures/servers/<name>.py`.
    static func script(_ name: String) -> URL {
        if let url = Bundle.module.url(forResource: "Fixtures/servers/\(name)", withExtension: "py") {
            return url
        }
        return Bundle.module.resourceURL!.appendingPathComponent("Fixtures/servers/\(name).py")
    }

    /// Starts `Fixtures/servers/<name>.py` with `arguments` and waits for its port.
    init(script name: String, _ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script(name).path, "--watch-stdin"] + arguments
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
}
