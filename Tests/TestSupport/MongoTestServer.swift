import Foundation

/// A MongoDB test server (mongoeco) started through the project's launcher,
/// `scripts/mongo-test-server.sh`, the same way CI starts the shared one; it exits with the
/// test process (`--watch-pid`).
public final class MongoTestServer: Sendable {
    /// `mongodb://127.0.0.1:<port>/`.
    public let uri: String
    /// The port it listens on.
    public let port: Int
    let pidFile: String
    let arguments: [String]

    /// Starts a private server; `arguments` are extra launcher options (`--db-path F`,
    /// `--user U --password P` …).
    public static func start(port: Int = 0, arguments: [String] = []) async throws -> MongoTestServer {
        let pidFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("photoseal-mongo-\(UUID().uuidString).pid").path
        let uri = try await script(
            [
                "start", "--port", String(port), "--pid-file", pidFile, "--watch-pid",
                String(ProcessInfo.processInfo.processIdentifier),
            ] + arguments)
        return MongoTestServer(uri: uri, pidFile: pidFile, arguments: arguments)
    }

    /// `PHOTOSEAL_TEST_MONGODB_URI` when set (scripts/test.sh, CI), else one server started once
    /// for this test process.
    public static func shared() async throws -> String { try await sharedServer.value }

    private static let sharedServer = Task<String, any Error> {
        if let uri = ProcessInfo.processInfo.environment["PHOTOSEAL_TEST_MONGODB_URI"], !uri.isEmpty { return uri }
        return try await MongoTestServer.start().uri
    }

    private init(uri: String, pidFile: String, arguments: [String]) {
        self.uri = uri
        self.pidFile = pidFile
        self.arguments = arguments
        // "mongodb://127.0.0.1:PORT/"
        port = Int((uri.split(separator: ":").last ?? "").prefix(while: \.isNumber)) ?? 0
    }

    /// Stops the server.
    public func stop() async throws { _ = try await Self.script(["stop", "--pid-file", pidFile]) }

    /// Starts the server again on the same port with the same options.
    public func restart() async throws {
        _ = try await Self.script(
            [
                "start", "--port", String(port), "--pid-file", pidFile, "--watch-pid",
                String(ProcessInfo.processInfo.processIdentifier),
            ] + arguments)
    }

    /// `base` with its database replaced by `database`, its query options kept and `options`
    /// (`a=1&b=2`) added.
    public static func uri(_ base: String, database: String, options: String = "") -> String {
        var head = base
        var query = ""
        if let mark = head.firstIndex(of: "?") {
            query = String(head[head.index(after: mark)...])
            head = String(head[..<mark])
        }
        if let scheme = head.range(of: "://"), let slash = head[scheme.upperBound...].firstIndex(of: "/") {
            head = String(head[..<slash])
        }
        let all = [query, options].filter { !$0.isEmpty }.joined(separator: "&")
        return head + "/" + database + (all.isEmpty ? "" : "?" + all)
    }

    /// A fresh database name, so tests sharing one server never see each other's documents.
    public static func randomDatabase(prefix: String = "photoseal_test_") -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    }

    /// Runs the launcher with `arguments` (`install`, `start …`, `stop …`) and returns its
    /// trimmed stdout.
    public static func script(_ arguments: [String]) async throws -> String {
        try await runProcess(
            "/bin/bash", [repositoryRoot.appendingPathComponent("scripts/mongo-test-server.sh").path] + arguments)
    }
}
