import Foundation
import Store
import TestSupport
import Testing

/// PostgreSQL-specific behaviour, against the server scripts/pg-test-server.sh starts
/// (PHOTOSEAL_TEST_POSTGRES_URI); the shared behaviour is in the conformance suite.
@Suite("PostgreSQL store", .enabled(if: StoreKind.postgresURI != nil, "PHOTOSEAL_TEST_POSTGRES_URI is not set"))
struct PostgresStoreTests {
    /// The test server's URI with its password, user and port, and `path` as the database.
    private func uri(database: String = "photoseal", password: String? = nil) throws -> String {
        let base = try #require(StoreKind.postgresURI)
        let parts = try #require(URLComponents(string: base))
        let user = parts.user ?? "photoseal"
        let secret = password ?? parts.password ?? ""
        return "postgresql://\(user):\(secret)@\(parts.host ?? "127.0.0.1"):\(parts.port ?? 5432)/\(database)"
    }

    @Test("a server that is not listening gives one unreachable error, quickly, naming host:port, never the password")
    func unreachable() async throws {
        let port = try await closedLoopbackPort()
        let recorder = LogRecorder()
        let store = try PostgresStore(
            uri: "postgresql://app:dead-pa55word@127.0.0.1:\(port)/photoseal",
            configuration: .init(retry: .init(maxAttempts: 3, initialBackoff: .milliseconds(50))),
            logger: recorder.logger())
        let started = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) { try await store.ping() }
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(error?.code == .unreachable)
        #expect(error?.isRetriable == true)
        #expect(error?.description.contains("postgresql://app:***@127.0.0.1:\(port)/photoseal") == true)
        #expect(error?.description.contains("--store") == true)
        // Retried, within the budget (a loaded machine may fit fewer attempts in it).
        #expect((1...2).contains(store.retryCount), "\(store.retryCount) retries")
        for text in [error?.description ?? ""] + recorder.records.map({ "\($0.message) \($0.metadata)" }) {
            #expect(!text.contains("dead-pa55word"))
        }
    }

    @Test("a wrong password fails at once, with no retry, saying the credentials were refused")
    func wrongPassword() async throws {
        let store = try PostgresStore(uri: try uri(password: "wrong-battery"), logger: testLogger)
        let error = await #expect(throws: StoreError.self) { try await store.ping() }
        #expect(error?.code == .authFailed)
        #expect(error?.isRetriable == false)
        #expect(error?.description.contains("refused the credentials") == true)
        #expect(error?.description.contains("wrong-battery") == false)
        #expect(store.retryCount == 0)
    }

    @Test("a database that does not exist gives one error naming it and how to create it")
    func missingDatabase() async throws {
        let store = try PostgresStore(uri: try uri(database: "no_such_db_here"), logger: testLogger)
        let error = await #expect(throws: StoreError.self) { _ = try await store.count() }
        #expect(error?.code == .invalidNamespace)
        #expect(error?.description.contains("no_such_db_here") == true)
        #expect(error?.description.contains("createdb") == true)
        #expect(store.retryCount == 0)
        let secret = try #require(URLComponents(string: try uri())?.password)
        #expect(error?.description.contains(secret) == false)
    }

    @Test("a URI libpq refuses gives one badURI error without the password")
    func badURI() {
        let error = #expect(throws: StoreError.self) {
            _ = try DocumentStores.open(uri: "postgresql://u:hunter2@h/db?no_such_option=1", logger: testLogger)
        }
        #expect(error?.code == .badURI)
        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains("postgresql://") == true)
    }

    @Test("loading N documents with batch size B writes in N/B transactions, and a reload writes none")
    func transactionsPerBatch() async throws {
        let store = try PostgresStore(
            uri: try uri(), configuration: .init(batchSize: 100, table: randomTable()), logger: testLogger)
        defer { Task { try? await store.drop() } }
        #expect(try await store.upsert((1...250).map { photo($0) }) == UpsertSummary(inserted: 250))
        #expect(store.writeCount == 3)
        #expect(try await store.upsert((1...250).map { photo($0) }) == UpsertSummary(unchanged: 250))
        #expect(store.writeCount == 3)
        #expect(try await store.count(where: "seal.kid", equals: "kid-a") == 250)
    }

    @Test("reads before anything was written find nothing, without error and without a write")
    func readsBeforeFirstWrite() async throws {
        let store = try PostgresStore(uri: try uri(), configuration: .init(table: randomTable()), logger: testLogger)
        #expect(try await store.count() == 0)
        #expect(try await store.find(id: "flickr:1") == nil)
        #expect(try await store.count(where: "seal.kid", equals: "k") == 0)
        #expect(try await store.find(where: "source", equals: "flickr").isEmpty)
        #expect(!(try await store.compareAndSet(id: "flickr:1", expect: [], set: [("a", 1)])))
        #expect(!(try await store.delete(id: "flickr:1")))
        var batches = 0
        for try await _ in store.allRawDocuments(batchSize: 10) { batches += 1 }
        #expect(batches == 0)
        #expect(store.writeCount == 0)
    }

    @Test("connections the server ends are replaced: the next operations retry and succeed")
    func terminatedConnections() async throws {
        let store = try PostgresStore(
            uri: try uri(), configuration: .init(batchSize: 10, threads: 2, table: randomTable()), logger: testLogger)
        defer { Task { try? await store.drop() } }
        _ = try await store.upsert((1...20).map { photo($0) })
        let ended = try psql(
            try uri(),
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                + "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'photoseal'")
        #expect((Int(ended) ?? 0) >= 1, "\(ended)")
        #expect(try await store.upsert((1...40).map { photo($0) }) == UpsertSummary(inserted: 20, unchanged: 20))
        #expect(try await store.count() == 40)
        #expect(store.retryCount >= 1)
    }

    @Test("two writers loading the same _ids side by side leave each document once and its index rows in step")
    func concurrentWriters() async throws {
        let table = randomTable()
        let first = try PostgresStore(
            uri: try uri(), configuration: .init(batchSize: 25, table: table), logger: testLogger)
        let second = try PostgresStore(
            uri: try uri(), configuration: .init(batchSize: 25, table: table), logger: testLogger)
        defer { Task { try? await first.drop() } }
        try await first.ensureIndexes()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (store, kid) in [(first, "kid-a"), (second, "kid-b")] {
                group.addTask {
                    for round in 0..<3 {
                        // Each round in another order, so the writers' row locks cross.
                        let numbers = round % 2 == 0 ? Array(1...150) : Array((1...150).reversed())
                        _ = try await store.upsert(numbers.map { photo($0, kid: kid) })
                    }
                }
            }
            try await group.waitForAll()
        }
        var stored: [String: Int] = [:]
        for try await batch in first.allDocuments(batchSize: 100) {
            for document in batch { stored[document.value(at: "seal.kid")?.stringValue ?? "", default: 0] += 1 }
        }
        #expect(try await first.count() == 150)
        #expect(stored.values.reduce(0, +) == 150)
        #expect(try await first.count(where: "seal.kid", equals: "kid-a") == stored["kid-a", default: 0])
        #expect(try await first.count(where: "seal.kid", equals: "kid-b") == stored["kid-b", default: 0])
    }

    @Test("a URI with no database uses photoseal, and the location never holds a secret option")
    func locations() throws {
        let store = try PostgresStore(
            uri: "postgresql://loader:PgPassW0rd@127.0.0.1:5999?sslmode=prefer&sslpassword=KeyPassX", logger: testLogger
        )
        #expect(store.database == "photoseal")
        #expect(store.location == "postgresql://loader:***@127.0.0.1:5999?sslmode=prefer&sslpassword=***")
        let query = try PostgresStore(
            uri: "postgres://127.0.0.1:5999/db1?user=u&password=QueryPassX", logger: testLogger)
        #expect(query.database == "db1")
        #expect(query.location == "postgres://127.0.0.1:5999/db1?user=u&password=***")
    }
}

/// One value from PostgreSQL through `psql` (not through the store).
private func psql(_ uri: String, _ statement: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", statement]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
