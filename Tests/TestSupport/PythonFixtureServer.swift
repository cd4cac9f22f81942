public import Foundation

/// The repository root, found from this file's path (tests run from a source checkout).
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The Ingest tests' fixtures (images, Python servers), shared by every test target.
public let ingestFixtures = repositoryRoot.appendingPathComponent("Tests/IngestTests/Fixtures")

/// One of the Python fixture servers (`Tests/IngestTests/Fixtures/servers/<name>.py`: the
/// Flickr, image and Vision servers) as a subprocess on a free loopback port.
///
/// The script prints its port on stdout once listening and exits when its stdin closes, so a
/// crashed test leaves no server behind. Stop it with `stop()` in a `defer`. Subclass it to add
/// a server's own log and truth queries.
open class PythonFixtureServer: @unchecked Sendable {
    /// Why a fixture server could not be used.
    public enum ServerError: Error, CustomStringConvertible {
        /// The script exited before printing its port.
        case noPort
        /// A request or helper process gave an unexpected answer (named).
        case badAnswer(String)

        public var description: String {
            switch self {
            case .noPort: return "the fixture server did not print its port"
            case .badAnswer(let what): return "unexpected answer: \(what)"
            }
        }
    }

    /// The server process.
    public let process = Process()
    /// Its stdin: closing it stops the server.
    public let stdinPipe = Pipe()
    /// The loopback port it listens on.
    public let port: Int
    /// `http://127.0.0.1:<port>`.
    public var base: String { "http://127.0.0.1:\(port)" }

    /// The path of the server script `name` (without `.py`).
    public static func script(_ name: String) -> URL {
        ingestFixtures.appendingPathComponent("servers/\(name).py")
    }

    /// Starts the server script `name` with `arguments` and waits for its port.
    public init(script name: String, _ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script(name).path, "--watch-stdin"] + arguments
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

    /// Stops the server (SIGKILL: the test runner's threads may block SIGTERM, and children
    /// inherit that mask).
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? stdinPipe.fileHandleForWriting.close()
    }

    /// The body of `GET <base><path>`.
    public func get(_ path: String) throws -> Data {
        guard let url = URL(string: base + path) else { throw ServerError.badAnswer(path) }
        return try Data(contentsOf: url)
    }

    /// `GET <base><path>` parsed as JSON.
    public func json(_ path: String) throws -> Any { try JSONSerialization.jsonObject(with: get(path)) }
}

/// Runs `arguments` (a program found on PATH, then its arguments) and returns its exit status
/// and output: stdout, or stdout and stderr together with `mergingStderr`. Output goes through
/// a file, not a pipe, so a large output cannot block the child and a background process it
/// starts (a database server) cannot keep the read open. Blocks: call it off the cooperative
/// pool for long runs (`runProcess` does).
public func runProgram(_ arguments: [String], mergingStderr: Bool = false) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out) }
    let handle = try FileHandle(forWritingTo: out)
    process.standardOutput = handle
    if mergingStderr { process.standardError = handle }
    try process.run()
    process.waitUntilExit()
    try handle.close()
    return (process.terminationStatus, try Data(contentsOf: out))
}

/// Runs a program off the cooperative pool and returns its trimmed stdout; throws when it
/// exits non-zero.
public func runProcess(_ executable: String, _ arguments: [String]) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(
                with: Result {
                    let (status, output) = try runProgram([executable] + arguments)
                    guard status == 0 else {
                        throw PythonFixtureServer.ServerError.badAnswer(
                            "\((executable as NSString).lastPathComponent) \(arguments.prefix(2).joined(separator: " ")) "
                                + "exited with \(status)")
                    }
                    return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                })
        }
    }
}

/// Runs `python3 -c script arguments...` (or another interpreter, e.g. a venv's) and returns its
/// exit status and its standard output and error together, trimmed.
public func runPython(_ script: String, _ arguments: [String] = [], python: String = "python3") throws -> (
    status: Int32, output: String
) {
    let (status, output) = try runProgram([python, "-c", script] + arguments, mergingStderr: true)
    return (status, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
}
