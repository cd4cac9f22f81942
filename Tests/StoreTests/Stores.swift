import Foundation
import Logging
import Store
import TestSupport
import Testing

/// The two stores every conformance test runs on.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case embedded
    case mongo

    var testDescription: String { rawValue }
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
