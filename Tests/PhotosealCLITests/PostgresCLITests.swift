import Foundation
import TestSupport
import Testing

/// PHOTOSEAL_TEST_POSTGRES_URI (scripts/test.sh starts the server with scripts/pg-test-server.sh).
let postgresURI = ProcessInfo.processInfo.environment["PHOTOSEAL_TEST_POSTGRES_URI"].flatMap {
    $0.isEmpty ? nil : $0
}

/// One value from PostgreSQL through `psql` (not through photoseal).
func psql(_ uri: String, _ statement: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", statement]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard process.terminationStatus == 0 else { throw CLIError(message: "psql failed: \(text)") }
    return text
}

private struct CLIError: Error { let message: String }

/// A new database on the test server for one test (the store's tables have fixed names): its
/// URI, and how to drop it.
func freshPostgresDatabase(_ base: String) throws -> (uri: String, drop: () -> Void) {
    let database = "cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    _ = try psql(base, "CREATE DATABASE \(database)")
    var components = try #require(URLComponents(string: base))
    components.path = "/" + database
    return (components.string ?? "", { _ = try? psql(base, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") })
}

@Test(
    "import, extract, encrypt-load into PostgreSQL, audit, rotate-keys, audit, keys retire: all exit 0 and no output holds the URI's password",
    .enabled(if: postgresURI != nil, "PHOTOSEAL_TEST_POSTGRES_URI is not set"))
func postgresEndToEnd() async throws {
    let base = try #require(postgresURI)
    let password = try #require(URLComponents(string: base)?.password)
    // A database of its own: the store's tables have fixed names.
    let database = "cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    _ = try psql(base, "CREATE DATABASE \(database)")
    let store = try #require(URLComponents(string: base)).with(path: "/" + database)
    defer { _ = try? psql(base, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }

    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    let folder = scratch.path("photos")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let names = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_Kodak_CX7530.jpg", "et_Apple.jpg"]
    for name in names {
        try FileManager.default.copyItem(atPath: ExifCLIFixtures.path(name), toPath: "\(folder)/\(name)")
    }
    let common = ["--workdir", scratch.path("work"), "--keys", keys]
    var outputs: [String] = []
    func photoseal(_ arguments: [String]) async throws -> CLI.Result {
        let result = try await offPool { try CLI.run(arguments) }
        outputs.append(result.stdout + result.stderr)
        return result
    }

    #expect(try await photoseal(["keys", "generate", "--out", keys]).status == 0)
    let imported = try await photoseal(["import", folder] + common)
    #expect(imported.status == 0, "\(imported.stderr)")
    let extracted = try await photoseal(["extract"] + common)
    #expect(extracted.status == 0, "\(extracted.stderr)")
    let loaded = try await photoseal(["encrypt-load", "--store", store] + common)
    #expect(loaded.status == 0, "\(loaded.stderr)")
    #expect(try psql(store, "SELECT count(*) FROM photos") == String(names.count))

    let audit = try await photoseal(["audit", "--store", store] + common)
    #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")

    let oldKid = try #require(
        try await photoseal(["keys", "list", "--keys", keys]).stdout.split(separator: " ").dropFirst().first)
    let added = try await photoseal(["keys", "add", "--keys", keys])
    #expect(added.status == 0)
    let newKid = try #require(added.stdout.split(separator: " ").first.map(String.init))
    let rotated = try await photoseal(["rotate-keys", "--store", store] + common)
    #expect(rotated.status == 0, "\(rotated.stderr)")
    // The jsonb copy follows the compare-and-set: SQL sees every document under the new key.
    #expect(try psql(store, "SELECT count(*) FROM photos WHERE doc->'seal'->>'kid' = '\(newKid)'") == "\(names.count)")

    let again = try await photoseal(["audit", "--store", store] + common)
    #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
    let retired = try await photoseal(["keys", "retire", String(oldKid), "--store", store] + common)
    #expect(retired.status == 0, "\(retired.stderr)")

    for output in outputs { #expect(!output.contains(password)) }
    #expect(outputs.contains { $0.contains("postgresql://photoseal:***@") }, "\(outputs)")
}

@Test(
    "run of a folder with --store postgresql://: every image loaded once, a second run writes nothing",
    .enabled(if: postgresURI != nil, "PHOTOSEAL_TEST_POSTGRES_URI is not set"))
func postgresRun() async throws {
    let base = try #require(postgresURI)
    let database = "run_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    _ = try psql(base, "CREATE DATABASE \(database)")
    let store = try #require(URLComponents(string: base)).with(path: "/" + database)
    defer { _ = try? psql(base, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    let folder = scratch.path("photos")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let names = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "et_Apple.jpg"]
    for name in names {
        try FileManager.default.copyItem(atPath: ExifCLIFixtures.path(name), toPath: "\(folder)/\(name)")
    }
    #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
    let arguments = ["run", folder, "--store", store, "--workdir", scratch.path("work"), "--keys", keys]
    let first = try await offPool { try CLI.run(arguments) }
    #expect(first.status == 0, "\(first.stderr)")
    #expect(try psql(store, "SELECT count(*) FROM photos") == String(names.count))
    // The index rows follow the documents: one seal.kid entry per document.
    #expect(try psql(store, "SELECT count(*) FROM photos_fields WHERE path = 'seal.kid'") == String(names.count))
    let second = try await offPool { try CLI.run(arguments) }
    #expect(second.status == 0, "\(second.stderr)")
    #expect(second.stderr.contains("0 store writes"), "\(second.stderr)")
}

extension URLComponents {
    /// The URI with another path (the database).
    fileprivate func with(path: String) -> String {
        var copy = self
        copy.path = path
        return copy.string ?? ""
    }
}
