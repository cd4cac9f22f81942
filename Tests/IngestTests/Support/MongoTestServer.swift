import Foundation

/// A MongoDB test server (mongoeco) started through the project's launcher,
/// `scripts/mongo-test-server.sh`, exactly as the Store tests start theirs; it exits with the
/// test process (--watch-pid).
final class MongoTestServer: Sendable {
    let uri: String
    let port: Int
    let pidFile: String
    let arguments: [String]

    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Starts a private server; `arguments` are extra script options (`--db-path F`, `--user U` …).
    static func start(port: Int = 0, arguments: [String] = []) async throws -> MongoTestServer {
        let pidFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("photoseal-mongo-\(UUID().uuidString).pid").path
        let uri = try await script(
            [
                "start", "--port", String(port), "--pid-file", pidFile, "--watch-pid",
                String(ProcessInfo.processInfo.processIdentifier),
            ] + arguments)
        return MongoTestServer(uri: uri, pidFile: pidFile, arguments: arguments)
    }

    /// `PHOTOSEAL_TEST_MONGODB_URI` when set (scripts/test.sh, CI), else one server started once.
    static func shared() async throws -> String { try await sharedServer.value }

    private static let sharedServer = Task<String, any Error> {
        if let uri = ProcessInfo.processInfo.environment["PHOTOSEAL_TEST_MONGODB_URI"], !uri.isEmpty { return uri }
        return try await MongoTestServer.start().uri
    }

    private init(uri: String, pidFile: String, arguments: [String]) {
        self.uri = uri
        self.pidFile = pidFile
        self.arguments = arguments
        port = Int((uri.split(separator: ":").last ?? "").prefix(while: \.isNumber)) ?? 0
    }

    func stop() async throws { _ = try await Self.script(["stop", "--pid-file", pidFile]) }

    /// Starts the server again on the same port with the same options.
    func restart() async throws {
        _ = try await Self.script(
            [
                "start", "--port", String(port), "--pid-file", pidFile, "--watch-pid",
                String(ProcessInfo.processInfo.processIdentifier),
            ] + arguments)
    }

    /// `base` with its database replaced (query options kept).
    static func uri(_ base: String, database: String) -> String {
        var head = base
        var query = ""
        if let mark = head.firstIndex(of: "?") {
            query = String(head[mark...])
            head = String(head[..<mark])
        }
        if let scheme = head.range(of: "://"), let slash = head[scheme.upperBound...].firstIndex(of: "/") {
            head = String(head[..<slash])
        }
        return head + "/" + database + query
    }

    static func randomDatabase() -> String {
        "photoseal_load_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }

    /// Runs the launcher script, returns its trimmed stdout (stdout goes to a file: the
    /// background server must not hold a pipe of ours open).
    static func script(_ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let out = FileManager.default.temporaryDirectory.appendingPathComponent(
                        "mongo-\(UUID().uuidString)")
                    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
                    defer { try? FileManager.default.removeItem(at: out) }
                    let handle = try FileHandle(forWritingTo: out)
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/bin/bash")
                    process.arguments =
                        [repoRoot.appendingPathComponent("scripts/mongo-test-server.sh").path] + arguments
                    process.standardOutput = handle
                    try process.run()
                    process.waitUntilExit()
                    try handle.close()
                    let text = String(decoding: try Data(contentsOf: out), as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    guard process.terminationStatus == 0 else {
                        throw FlickrTestServer.ServerError.badAnswer(
                            "mongo-test-server.sh \(arguments.first ?? "") failed")
                    }
                    continuation.resume(returning: text)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
