import Foundation
import Logging
import Store
import TestSupport
import Testing

/// The stores every conformance test runs on.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case embedded
    case mongo
    case postgres

    var testDescription: String { rawValue }

    /// The stores this run can test: the embedded store, MongoDB (PHOTOSEAL_TEST_MONGODB_URI, or
    /// a server started for the run) and PostgreSQL when PHOTOSEAL_TEST_POSTGRES_URI names a
    /// server (scripts/test.sh starts one with scripts/pg-test-server.sh). PHOTOSEAL_TEST_STORES
    /// (`embedded,postgres`) narrows the list, to run or time the suite on some stores only.
    static var available: [StoreKind] {
        let all: [StoreKind] = postgresURI == nil ? [.embedded, .mongo] : [.embedded, .mongo, .postgres]
        guard let only = ProcessInfo.processInfo.environment["PHOTOSEAL_TEST_STORES"], !only.isEmpty else { return all }
        let chosen = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return all.filter { chosen.contains($0.rawValue) }
    }

    /// PHOTOSEAL_TEST_POSTGRES_URI, when set.
    static var postgresURI: String? {
        ProcessInfo.processInfo.environment["PHOTOSEAL_TEST_POSTGRES_URI"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A fresh table name, so tests sharing one PostgreSQL database never see each other's rows.
func randomTable() -> String {
    "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
}

let testLogger = Logger(label: "photoseal.store.tests")

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
    case .postgres:
        let uri = try #require(StoreKind.postgresURI, "PHOTOSEAL_TEST_POSTGRES_URI is not set")
        store = try PostgresStore(
            uri: uri, configuration: .init(batchSize: embeddedBatchSize, table: randomTable()), logger: testLogger)
    case .mongo:
        let server = try await MongoTestServer.shared()
        store = try MongoStore(
            uri: MongoTestServer.uri(server, database: MongoTestServer.randomDatabase()), configuration: configuration,
            logger: testLogger)
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
