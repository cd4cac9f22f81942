import Foundation

/// The fixtures of the Ingest tests, found through this file's path (this target has no resources).
let ingestFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("IngestTests/Fixtures")

/// One of the Ingest tests' Python fixture servers, run as a subprocess on a free loopback port:
/// it prints its port once listening and exits when its stdin pipe closes.
class PythonFixtureServer {
    let process = Process()
    let stdinPipe = Pipe()
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    init(script: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", ingestFixtures.appendingPathComponent("servers/\(script).py").path, "--watch-stdin"] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = stdinPipe
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? stdinPipe.fileHandleForWriting.close()
    }

    func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(string: base + path)!))
    }
}
