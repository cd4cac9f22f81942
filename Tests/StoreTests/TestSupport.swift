import Foundation
import Logging
import Store
import Testing

/// The two stores every conformance test runs on.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case embedded
    case mongo

    var testDescription: String { rawValue }
}

let testLogger = Logger(label: "photoseal.store.tests")

/// Runs `scripts/mongo-test-server.sh` and returns what it printed on stdout.
func runServerScript(_ arguments: [String]) async throws -> String {
    let script = repoRoot.appendingPathComponent("scripts/mongo-test-server.sh").path
    return try await runProcess("/bin/bash", [script] + arguments)
}

/// Runs a program, returns its trimmed stdout; throws when it exits non-zero.
func runProcess(_ executable: String, _ arguments: [String]) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        // Process waits block a thread: keep them off the cooperative pool.
        DispatchQueue.global().async {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            do {
                try process.run()
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard process.terminationStatus == 0 else {
                    throw TestServerError(message: "\(executable) \(arguments.joined(separator: " ")) failed")
                }
                continuation.resume(returning: text)
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

struct TestServerError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The repository root, found from this file's path.
let repoRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// One MongoDB test server started by the script, stopped with it.
final class TestServer: Sendable {
    let uri: String
    let port: Int
    let pidFile: String
    let arguments: [String]

    /// Starts a private server; `arguments` are extra script options (--db-path, --user …).
    static func start(port: Int = 0, arguments: [String] = []) async throws -> TestServer {
        let pidFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("photoseal-mongo-\(UUID().uuidString).pid").path
        let uri = try await runServerScript(
            [
                "start", "--port", String(port), "--pid-file", pidFile, "--watch-pid",
                String(ProcessInfo.processInfo.processIdentifier),
            ] + arguments)
        return TestServer(uri: uri, pidFile: pidFile, arguments: arguments)
    }

    private init(uri: String, pidFile: String, arguments: [String]) {
        self.uri = uri
        self.pidFile = pidFile
        self.arguments = arguments
        // "mongodb://127.0.0.1:PORT/"
        let afterHost = uri.split(separator: ":").last ?? ""
        port = Int(afterHost.prefix(while: \.isNumber)) ?? 0
    }

    func stop() async throws {
        _ = try await runServerScript(["stop", "--pid-file", pidFile])
    }

    /// Starts the server again on the same port with the same options.
    func restart() async throws {
        _ = try await runServerScript(
            [
                "start", "--port", String(port), "--pid-file", pidFile, "--watch-pid",
                String(ProcessInfo.processInfo.processIdentifier),
            ] + arguments)
    }
}

/// The server the conformance tests share: `PHOTOSEAL_TEST_MONGODB_URI`, else one started once
/// for this test process (it exits by itself when the process ends, through --watch-pid).
enum SharedMongo {
    private static let server = Task<String, any Error> {
        if let uri = ProcessInfo.processInfo.environment["PHOTOSEAL_TEST_MONGODB_URI"], !uri.isEmpty {
            return uri
        }
        return try await TestServer.start().uri
    }

    static func uri() async throws -> String { try await server.value }
}

/// `uri` with its path replaced by `database` (query options kept).
func uri(_ uri: String, database: String, options: String = "") -> String {
    var base = uri
    var query = ""
    if let mark = base.firstIndex(of: "?") {
        query = String(base[base.index(after: mark)...])
        base = String(base[..<mark])
    }
    let schemeEnd = base.range(of: "://")!.upperBound
    if let slash = base[schemeEnd...].firstIndex(of: "/") { base = String(base[..<slash]) }
    let allOptions = [query, options].filter { !$0.isEmpty }.joined(separator: "&")
    return base + "/" + database + (allOptions.isEmpty ? "" : "?" + allOptions)
}

func randomDatabaseName() -> String {
    "photoseal_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
}

/// Opens a fresh store of `kind`, runs `body`, then drops the store's data.
func withStore<T>(
    _ kind: StoreKind, configuration: MongoStore.Configuration = MongoStore.Configuration(),
    embeddedBatchSize: Int = 1000, _ body: (any DocumentStore) async throws -> T
) async throws -> T {
    let store: any DocumentStore
    var cleanupPath: URL?
    switch kind {
    case .embedded:
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "photoseal-store-\(UUID().uuidString)")
        cleanupPath = folder
        store = try EmbeddedStore(
            path: folder.appendingPathComponent("store.sqlite").path, batchSize: embeddedBatchSize, logger: testLogger)
    case .mongo:
        let server = try await SharedMongo.uri()
        store = try MongoStore(
            uri: uri(server, database: randomDatabaseName()), configuration: configuration, logger: testLogger)
    }
    do {
        let result = try await body(store)
        try await store.drop()
        if let cleanupPath { try? FileManager.default.removeItem(at: cleanupPath) }
        return result
    } catch {
        try? await store.drop()
        if let cleanupPath { try? FileManager.default.removeItem(at: cleanupPath) }
        throw error
    }
}

/// A photo document shaped like the pipeline's.
func photo(_ number: Int, kid: String = "kid-a", owner: String = "owner-1", terms: [String] = ["monkey wild"])
    -> StoreDocument
{
    [
        "_id": .string("flickr:\(String(format: "%08d", number))"),
        "source": "flickr",
        "source_id": .string(String(number)),
        "terms": .array(terms.map { .string($0) }),
        "views": .int(Int64(number) * 10),
        "place": ["cc": "IT", "city": "Roma", "distance_km": 1.5],
        "sealed": ["owner": .string("token-\(number)-\(kid)")],
        "seal": ["kid": .string(kid), "at": .date(Date(timeIntervalSince1970: 1_700_000_000.250))],
        "blind": ["owner": .string(owner)],
    ]
}
