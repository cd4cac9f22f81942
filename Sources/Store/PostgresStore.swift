private import CPostgres
import Foundation
public import Logging
import Retry

/// The PostgreSQL document store, on libpq (`--store postgresql://…` or `postgres://…`).
///
/// Each document is one row of the table `photos`: `id` (the `_id`, byte-ordered), `body` (the
/// same BSON bytes the other stores write, so every ``StoreValue`` round-trips exactly: ints stay
/// ints, dates keep their milliseconds) and `doc` (the document as `jsonb`, for SQL queries:
/// dates as ISO 8601 strings, as `export` writes them). Lookups on `terms`, `place.cc`,
/// `seal.kid` and `blind.owner` go through the index table `photos_fields` (array fields indexed
/// per element, as MongoDB's multikey indexes are); lookups on other paths scan.
///
/// All blocking libpq calls run on a ``BlockingExecutor`` whose threads each hold at most one
/// connection, never on Swift's cooperative pool. Transient failures (lost connection,
/// serialization failure, deadlock, server starting or shutting down) are retried with
/// exponential back-off, an unreachable server only within ``MongoStore/RetryPolicy/unreachableBudget``;
/// refused credentials and a missing database fail at once.
public final class PostgresStore: DocumentStore {
    /// How the store talks to PostgreSQL beyond what the URI says.
    public struct Configuration: Sendable {
        /// Documents per write transaction in `upsert`. Default 1000, at most 20,000 (a statement
        /// takes at most 65,535 parameters, three a document).
        public var batchSize: Int
        /// How often and how patiently transient failures are retried (the MongoDB store's policy).
        public var retry: MongoStore.RetryPolicy
        /// Threads, and so connections, used at once. Default 4.
        public var threads: Int
        /// The documents table; the index table is this name plus `_fields`. Default `photos`.
        public var table: String
        /// Seconds libpq waits for a connection when the URI has no `connect_timeout`. Default 5.
        public var connectTimeout: Int

        /// Creates a configuration; every parameter has the documented default.
        public init(
            batchSize: Int = 1000, retry: MongoStore.RetryPolicy = MongoStore.RetryPolicy(), threads: Int = 4,
            table: String = "photos", connectTimeout: Int = 5
        ) {
            self.batchSize = min(max(1, batchSize), 20_000)
            self.retry = retry
            self.threads = max(1, threads)
            self.table = table
            self.connectTimeout = max(2, connectTimeout)
        }
    }

    /// The URI with any password and secret option masked.
    public let location: String
    /// The database name (the URI's path, default `photoseal`).
    public let database: String
    private let configuration: Configuration
    private let uri: String
    private let pool: PostgresPool
    private let executor: BlockingExecutor
    private let logger: Logger
    private let schema = SchemaState()
    private let writes = StoreCounter()
    private let retries = StoreCounter()
    private let documents: String
    private let fields: String

    /// Prepares connections for a `postgresql://` or `postgres://` URI.
    ///
    /// No connection is made yet: an unreachable server shows up on the first operation. A URI
    /// without a database path uses the database `photoseal`.
    ///
    /// - Parameters:
    ///   - uri: The connection URI; libpq's options (`sslmode`, `connect_timeout`,
    ///     `application_name`, …) are honoured.
    ///   - configuration: Batch size, retries, threads, table.
    ///   - logger: Where retries are logged.
    /// - Throws: ``StoreError`` `.badURI` when libpq rejects the URI or the table name is not
    ///   a plain identifier.
    public init(uri: String, configuration: Configuration = Configuration(), logger: Logger) throws {
        let full = Self.withDefaultDatabase(uri)
        // As given (not with the default database added): the workdir records stores by it.
        location = StoreURI.redact(uri.trimmingCharacters(in: .whitespaces))
        self.uri = uri
        self.configuration = configuration
        self.logger = logger
        guard configuration.table.range(of: "^[a-z_][a-z0-9_]{0,40}$", options: .regularExpression) != nil else {
            throw StoreError(
                .badURI, store: location,
                message: "table name \(configuration.table) is not a lower-case SQL identifier")
        }
        documents = configuration.table
        fields = configuration.table + "_fields"
        pool = try PostgresPool(uri: full, connectTimeout: configuration.connectTimeout)
        database = pool.database
        executor = BlockingExecutor(threads: configuration.threads, name: "photoseal-postgres")
    }

    deinit { executor.shutdown() }

    /// The table `name` (or `<table>_<name>`) of the same database; see the protocol.
    public func collection(named name: String) throws -> any DocumentStore {
        try StoreURI.checkCollectionName(name, store: location)
        var sibling = configuration
        sibling.table = StoreURI.siblingName(name, of: configuration.table)
        return try PostgresStore(uri: uri, configuration: sibling, logger: logger)
    }

    /// Transactions that changed data since the store was opened.
    public var writeCount: Int { writes.value }

    /// Operations retried after a transient failure since the store was opened (a diagnostic).
    public var retryCount: Int { retries.value }

    /// `uri` with `/photoseal` as its path when it names no database.
    static func withDefaultDatabase(_ uri: String) -> String {
        let trimmed = uri.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = trimmed.range(of: "://") else { return trimmed }
        let rest = trimmed[schemeEnd.upperBound...]
        guard let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return trimmed + "/photoseal" }
        if rest[end] == "?" { return String(trimmed[..<end]) + "/photoseal" + String(trimmed[end...]) }
        let afterSlash = rest.index(after: end)
        if afterSlash == rest.endIndex || rest[afterSlash] == "?" {
            return String(trimmed[...end]) + "photoseal" + String(trimmed[afterSlash...])
        }
        return trimmed
    }

    // MARK: DocumentStore

    /// Connects, authenticates and runs `SELECT 1`: an unreachable server is reported within
    /// about the unreachable budget, refused credentials and a missing database at once.
    public func ping() async throws {
        try await retrying("checking the store", write: false) { connection in
            _ = try connection.execute("SELECT 1", [])
        }
    }

    /// Creates the tables and their indexes if missing.
    public func ensureIndexes() async throws {
        let documents = documents
        let fields = fields
        try await retrying("creating the tables", write: true) { connection in
            // The advisory lock serialises concurrent first loads: CREATE ... IF NOT EXISTS
            // alone can still collide on the catalog.
            try connection.executeScript(
                """
                BEGIN;
                SELECT pg_advisory_xact_lock(hashtext('photoseal:\(documents)'));
                CREATE TABLE IF NOT EXISTS \(documents) (
                    id text COLLATE "C" PRIMARY KEY, body bytea NOT NULL, doc jsonb NOT NULL);
                CREATE TABLE IF NOT EXISTS \(fields) (
                    path text NOT NULL, key bytea NOT NULL, id text COLLATE "C" NOT NULL,
                    PRIMARY KEY (path, key, id));
                CREATE INDEX IF NOT EXISTS \(fields)_by_id ON \(fields) (id);
                COMMIT;
                """)
        }
        schema.markCreated()
    }

    /// Inserts or replaces documents, one transaction per `batchSize` documents; documents
    /// whose stored bytes are identical are not written.
    public func upsert(_ documents: [StoreDocument]) async throws -> UpsertSummary {
        var encoded: [Row] = []
        encoded.reserveCapacity(documents.count)
        var seen = Set<String>()
        for (index, document) in documents.enumerated() {
            guard let id = document.id else {
                throw StoreError(
                    .invalidDocument, store: location,
                    message: "document #\(index + 1) of the batch has no string _id; every document needs one")
            }
            guard seen.insert(id).inserted else {
                throw StoreError(
                    .invalidDocument, store: location,
                    message: "document \(id) appears twice in one upsert; pass each _id once")
            }
            encoded.append(try Row(document, id: id, store: location))
        }
        if !schema.created { try await ensureIndexes() }
        var batches: [[Row]] = []
        var start = 0
        while start < encoded.count {
            let end = min(start + configuration.batchSize, encoded.count)
            batches.append(Array(encoded[start..<end]))
            start = end
        }
        // Batches hold distinct _ids, so they run side by side, one per connection: the server
        // parses and indexes one batch while the next is being prepared.
        return try await withThrowingTaskGroup(of: UpsertSummary.self) { group in
            var summary = UpsertSummary()
            var pending = batches[...]
            for _ in 0..<min(configuration.threads, batches.count) {
                guard let batch = pending.popFirst() else { break }
                group.addTask { try await self.upsertBatch(batch) }
            }
            while let done = try await group.next() {
                summary += done
                if let batch = pending.popFirst() { group.addTask { try await self.upsertBatch(batch) } }
            }
            return summary
        }
    }

    private func upsertBatch(_ batch: [Row]) async throws -> UpsertSummary {
        let table = documents
        // Which documents exist, and with what bytes: decided once, so a retried write does not
        // turn "inserted" into "unchanged".
        let stored: [String: [UInt8]] = try await retrying("reading existing documents", write: false) { connection in
            let result = try connection.execute(
                "SELECT id, body FROM \(table) WHERE id IN (\(Self.placeholders(batch.count)))",
                batch.map { .text($0.id) }, binary: true)
            var stored: [String: [UInt8]] = [:]
            for row in 0..<result.rows { stored[result.string(row, 0)] = result.bytes(row, 1) }
            return stored
        }
        var summary = UpsertSummary()
        var changed: [Row] = []
        for row in batch {
            switch stored[row.id] {
            case nil:
                summary.inserted += 1
                changed.append(row)
            case let bytes? where bytes == row.body:
                summary.unchanged += 1
            default:
                summary.updated += 1
                changed.append(row)
            }
        }
        guard !changed.isEmpty else { return summary }
        for index in changed.indices { try changed[index].prepare(store: location) }
        let fields = fields
        let toWrite = changed
        try await retrying("writing \(changed.count) documents", write: true) { connection in
            try connection.transaction {
                var values: [PostgresParameter] = []
                values.reserveCapacity(toWrite.count * 3)
                for row in toWrite { values += [.text(row.id), .bytes(row.body), .text(row.json)] }
                let tuples = (0..<toWrite.count).map { "($\($0 * 3 + 1), $\($0 * 3 + 2), $\($0 * 3 + 3)::jsonb)" }
                // The WHERE keeps a concurrent writer's identical document from being written again.
                try connection.execute(
                    """
                    INSERT INTO \(table) (id, body, doc) VALUES \(tuples.joined(separator: ", "))
                    ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, doc = EXCLUDED.doc
                    WHERE \(table).body IS DISTINCT FROM EXCLUDED.body
                    """, values)
                // The rows just written stay locked until commit, so no other writer touches
                // their index entries in between.
                try connection.execute(
                    "DELETE FROM \(fields) WHERE id IN (\(Self.placeholders(toWrite.count)))",
                    toWrite.map { .text($0.id) })
                try Self.insertEntries(
                    toWrite.flatMap { row in row.entries.map { ($0, row.id) } }, into: fields, connection)
            }
        }
        writes.increment()
        return summary
    }

    /// Inserts index entries, a bounded number of parameters per statement.
    private static func insertEntries(
        _ entries: [(entry: IndexEntry, id: String)], into fields: String, _ connection: PostgresConnection
    ) throws {
        var start = 0
        while start < entries.count {
            let chunk = entries[start..<min(start + 10_000, entries.count)]
            start += chunk.count
            var values: [PostgresParameter] = []
            values.reserveCapacity(chunk.count * 3)
            for item in chunk { values += [.text(item.entry.path), .bytes(item.entry.key), .text(item.id)] }
            let tuples = (0..<chunk.count).map { "($\($0 * 3 + 1), $\($0 * 3 + 2), $\($0 * 3 + 3))" }
            try connection.execute(
                "INSERT INTO \(fields) (path, key, id) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT DO NOTHING",
                values)
        }
    }

    /// The document with this `_id`, or `nil`.
    public func find(id: String) async throws -> StoreDocument? {
        let table = documents
        let location = location
        return try await retrying("reading document \(id)", write: false, missing: .some(nil)) { connection in
            let result = try connection.execute(
                "SELECT body FROM \(table) WHERE id = $1", [.text(id)], binary: true)
            guard result.rows > 0 else { return nil }
            return try Self.decode(result.bytes(0, 0), id: id, store: location)
        }
    }

    /// Documents whose value at `path` matches `value`, in `_id` order (indexed paths use the
    /// index table; others scan every document).
    public func find(where path: String, equals value: StoreValue, limit: Int?) async throws -> [StoreDocument] {
        let limit = limit.map { max(1, $0) }
        guard EmbeddedStore.indexedPaths.contains(path), !value.isNull else {
            var found: [StoreDocument] = []
            for try await batch in allDocuments(batchSize: 1000) {
                for document in batch where document.matches(path, value) {
                    found.append(document)
                    if let limit, found.count >= limit { return found }
                }
            }
            return found
        }
        let key = try Self.indexKey(value, store: location)
        let (table, fields, location) = (documents, fields, location)
        return try await retrying("finding documents by \(path)", write: false, missing: []) { connection in
            let result = try connection.execute(
                """
                SELECT d.id, d.body FROM \(fields) f JOIN \(table) d ON d.id = f.id
                WHERE f.path = $1 AND f.key = $2 ORDER BY f.id\(limit.map { " LIMIT \($0)" } ?? "")
                """, [.text(path), .bytes(key)], binary: true)
            return try (0..<result.rows).map { row in
                try Self.decode(result.bytes(row, 1), id: result.string(row, 0), store: location)
            }
        }
    }

    /// The number of documents.
    public func count() async throws -> Int {
        let table = documents
        return try await retrying("counting documents", write: false, missing: 0) { connection in
            try connection.execute("SELECT count(*) FROM \(table)", []).int(0, 0)
        }
    }

    /// The number of documents whose value at `path` matches `value`.
    public func count(where path: String, equals value: StoreValue) async throws -> Int {
        guard EmbeddedStore.indexedPaths.contains(path), !value.isNull else {
            return try await find(where: path, equals: value, limit: nil).count
        }
        let key = try Self.indexKey(value, store: location)
        let fields = fields
        return try await retrying("counting documents by \(path)", write: false, missing: 0) { connection in
            try connection.execute(
                "SELECT count(*) FROM \(fields) WHERE path = $1 AND key = $2", [.text(path), .bytes(key)]
            ).int(0, 0)
        }
    }

    /// Reads the document, checks the expectations and sets the fields in Swift, then writes it
    /// with one atomic statement that applies only if the stored bytes are still the ones read
    /// (and moves the changed index entries in the same statement). When another writer got in
    /// between, the expectations are checked again on what it wrote.
    public func compareAndSet(
        id: String, expect: [(String, StoreValue)], set: [(String, StoreValue)]
    ) async throws -> Bool {
        try StoreURI.checkSettable(set, id: id, store: location)
        let (table, fields, location) = (documents, fields, location)
        for _ in 0..<20 {
            let stored: [UInt8]? = try await retrying("reading document \(id)", write: false, missing: .some(nil)) {
                connection in
                let result = try connection.execute(
                    "SELECT body FROM \(table) WHERE id = $1", [.text(id)], binary: true)
                return result.rows > 0 ? result.bytes(0, 0) : nil
            }
            guard let stored else { return false }
            var document = try Self.decode(stored, id: id, store: location)
            guard expect.allSatisfy({ document.matches($0.0, $0.1) }) else { return false }
            let before = Set(try Self.entries(of: document, store: location))
            for (path, value) in set {
                guard document.setValue(value, at: path) else {
                    throw StoreError(
                        .writeFailed, store: location,
                        message: "document \(id): cannot set \(path) because a field on the way is not a document")
                }
            }
            var row = try Row(document, id: id, store: location)
            guard row.body != stored else { return true }
            try row.prepare(store: location)
            let after = Set(row.entries)
            let removed = Array(before.subtracting(after))
            let added = Array(after.subtracting(before))
            var sql = "WITH updated AS (UPDATE \(table) SET body = $3, doc = $4::jsonb WHERE id = $1 AND body = $2 "
            sql += "RETURNING id)"
            var values: [PostgresParameter] = [.text(id), .bytes(stored), .bytes(row.body), .text(row.json)]
            if !removed.isEmpty {
                let tuples = removed.indices.map {
                    "($\(values.count + $0 * 2 + 1)::text, $\(values.count + $0 * 2 + 2)::bytea)"
                }
                for entry in removed { values += [.text(entry.path), .bytes(entry.key)] }
                sql += ", removed AS (DELETE FROM \(fields) WHERE id IN (SELECT id FROM updated) "
                sql += "AND (path, key) IN (VALUES \(tuples.joined(separator: ", "))))"
            }
            if !added.isEmpty {
                let tuples = added.indices.map {
                    "($\(values.count + $0 * 2 + 1)::text, $\(values.count + $0 * 2 + 2)::bytea)"
                }
                for entry in added { values += [.text(entry.path), .bytes(entry.key)] }
                sql += ", added AS (INSERT INTO \(fields) (path, key, id) SELECT v.path, v.key, u.id FROM "
                sql += "(VALUES \(tuples.joined(separator: ", "))) AS v (path, key) CROSS JOIN updated u "
                sql += "ON CONFLICT DO NOTHING)"
            }
            sql += " SELECT count(*) FROM updated"
            let statement = sql
            let parameters = values
            var sawAmbiguousFailure = false
            let applied: Bool = try await retrying(
                "updating document \(id)", write: true, onRetry: { sawAmbiguousFailure = true }
            ) { connection in
                try connection.execute(statement, parameters).int(0, 0) == 1
            }
            if applied {
                writes.increment()
                return true
            }
            if sawAmbiguousFailure {
                // A failed attempt may have committed before its reply was lost; then the retry
                // no longer matches. The update is ours if the stored bytes are now exactly ours.
                let now: [UInt8]? = try await retrying("reading document \(id)", write: false) { connection in
                    let result = try connection.execute(
                        "SELECT body FROM \(table) WHERE id = $1", [.text(id)], binary: true)
                    return result.rows > 0 ? result.bytes(0, 0) : nil
                }
                if now == row.body { return true }
            }
            // The bytes changed since the read (or the document is gone): judge again.
        }
        throw StoreError(
            .conflict, store: location,
            message: "document \(id) kept changing while it was being updated; try again")
    }

    /// Deletes the document with this `_id` and its index entries.
    public func delete(id: String) async throws -> Bool {
        let (table, fields) = (documents, fields)
        let deleted: Bool = try await retrying("deleting document \(id)", write: true, missing: false) { connection in
            try connection.execute(
                """
                WITH gone AS (DELETE FROM \(table) WHERE id = $1 RETURNING id),
                entries AS (DELETE FROM \(fields) WHERE id IN (SELECT id FROM gone))
                SELECT count(*) FROM gone
                """, [.text(id)]
            ).int(0, 0) == 1
        }
        if deleted { writes.increment() }
        return deleted
    }

    /// Every document in `_id` order, one keyset query per batch.
    public func allDocuments(batchSize: Int) -> DocumentBatches {
        let location = location
        return DocumentBatches(
            fetch: batchReader(batchSize) { id, bytes in try Self.decode(bytes, id: id, store: location) })
    }

    /// Every document's stored bytes, checked as a decode would but not decoded; bytes that
    /// would not decode come with ``RawDocument/damage`` set.
    public func allRawDocuments(batchSize: Int) -> RawDocumentBatches {
        RawDocumentBatches(fetch: batchReader(batchSize) { id, bytes in RawDocument(auditing: bytes, id: id) })
    }

    private func batchReader<Document: Sendable>(
        _ batchSize: Int, _ make: @escaping @Sendable (String, [UInt8]) throws -> Document
    ) -> @Sendable (String?) async throws -> [Document] {
        let size = max(1, batchSize)
        let table = documents
        return { [self] after in
            return try await retrying("reading documents", write: false, missing: []) { connection in
                let result =
                    if let after {
                        try connection.execute(
                            "SELECT id, body FROM \(table) WHERE id > $1 ORDER BY id LIMIT \(size)", [.text(after)],
                            binary: true)
                    } else {
                        try connection.execute(
                            "SELECT id, body FROM \(table) ORDER BY id LIMIT \(size)", [], binary: true)
                    }
                var batch: [Document] = []
                batch.reserveCapacity(result.rows)
                for row in 0..<result.rows { batch.append(try make(result.string(row, 0), result.bytes(row, 1))) }
                return batch
            }
        }
    }

    /// Drops both tables.
    public func drop() async throws {
        let (table, fields) = (documents, fields)
        try await retrying("dropping the tables", write: true) { connection in
            try connection.executeScript("DROP TABLE IF EXISTS \(fields); DROP TABLE IF EXISTS \(table);")
        }
        schema.reset()
    }

    // MARK: Helpers

    /// `$1, $2, …, $count`.
    private static func placeholders(_ count: Int) -> String {
        (1...max(1, count)).map { "$\($0)" }.joined(separator: ", ")
    }

    private static func decode(_ bytes: [UInt8], id: String, store: String) throws -> StoreDocument {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(BSONCodecError) in try BSONCodec.decode(bytes: raw) }
        }
        switch result {
        case .success(let document): return document
        case .failure(let error): throw error.storeError(store: store, id: id)
        }
    }

    private static func indexKey(_ value: StoreValue, store: String) throws -> [UInt8] {
        do {
            return [UInt8](try EmbeddedStore.indexKey(value))
        } catch let error as StoreError {
            throw StoreError(error.code, store: store, message: error.message)
        }
    }

    /// The index entries of a document: each indexed path's value and, for arrays, each element.
    static func entries(of document: StoreDocument, store: String) throws -> [IndexEntry] {
        var entries: [IndexEntry] = []
        var seen = Set<IndexEntry>()
        for path in EmbeddedStore.indexedPaths {
            guard let value = document.value(at: path), !value.isNull else { continue }
            var keys = [value]
            if case .array(let elements) = value { keys += elements }
            for key in keys {
                let entry = IndexEntry(path: path, key: try indexKey(key, store: store))
                if seen.insert(entry).inserted { entries.append(entry) }
            }
        }
        return entries
    }

    /// Runs `body` with a connection on the executor, retrying transient failures; when the
    /// tables do not exist yet (nothing was ever written) and `missing` is given, that is the
    /// answer: reads create nothing.
    private func retrying<T: Sendable>(
        _ operation: String, write: Bool, missing: T? = nil, onRetry: () -> Void = {},
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let location = self.location
        let database = self.database
        return try await withStoreRetries(
            PostgresFailure.self, policy: configuration.retry.shared, operation: operation, location: location,
            logger: logger, retries: retries, onRetry: onRetry,
            describe: { failure, attempts, elapsed in
                failure.storeError(
                    operation: operation, write: write, store: location, database: database, attempts: attempts,
                    elapsed: elapsed)
            }
        ) {
            do {
                return try await executor.run { [pool] in try pool.withConnection(body) }
            } catch let failure as PostgresFailure where failure.sqlState == "42P01" {
                // 42P01 undefined_table: nothing was ever written; a read answers `missing`.
                guard let missing else { throw failure }
                return missing
            }
        }
    }
}

/// One index entry: a path and the key of one of its values.
struct IndexEntry: Hashable, Sendable {
    let path: String
    let key: [UInt8]
}

/// A document ready to compare (its BSON bytes) and, once ``prepare(store:)`` has run, to write
/// (its jsonb text and index entries: made only for documents that changed).
private struct Row: Sendable {
    let id: String
    let body: [UInt8]
    let document: StoreDocument
    private(set) var json = ""
    private(set) var entries: [IndexEntry] = []

    init(_ document: StoreDocument, id: String, store: String) throws {
        guard !id.utf8.contains(0) else {
            throw StoreError(
                .invalidDocument, store: store, message: "a document _id holds a NUL character; PostgreSQL text cannot")
        }
        self.id = id
        do {
            body = try BSONCodec.encode(document).bytes
        } catch {
            throw error.storeError(store: store, id: id)
        }
        self.document = document
    }

    /// Makes the jsonb text and the index entries.
    mutating func prepare(store: String) throws {
        json = Self.jsonb(document.jsonText)
        entries = try PostgresStore.entries(of: document, store: store)
    }

    /// JSON text PostgreSQL's jsonb accepts: it refuses the escape `\u0000`, so a NUL inside a
    /// string becomes U+FFFD in the jsonb copy (`body` keeps the exact value).
    static func jsonb(_ json: String) -> String {
        guard json.contains("\\u0000") else { return json }
        var out = ""
        var characters = json[...]
        while let backslash = characters.firstIndex(of: "\\") {
            out += characters[..<backslash]
            let escape = characters[backslash...].prefix(6)
            if escape == "\\u0000" {
                out += "\\ufffd"
                characters = characters[characters.index(backslash, offsetBy: 6)...]
            } else {
                // Any other escape is two characters (`\\`, `\"`, `\n`) or six (`\u001f`); copying
                // its first two keeps an escaped backslash from starting a new escape.
                let end =
                    characters.index(backslash, offsetBy: 2, limitedBy: characters.endIndex) ?? characters.endIndex
                out += characters[backslash..<end]
                characters = characters[end...]
            }
        }
        out += characters
        return out
    }
}

/// Whether this store's tables exist, so the first operation creates them once.
private final class SchemaState: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var done = false

    var created: Bool { lock.withLock { done } }
    func markCreated() { lock.withLock { done = true } }
    func reset() { lock.withLock { done = false } }
}

// MARK: libpq

/// A statement parameter: text (sent as text) or bytes (sent in binary, for `bytea`).
enum PostgresParameter: Sendable {
    case text(String)
    case bytes([UInt8])
}

/// The libpq connections of one store, handed to one thread at a time.
///
/// `@unchecked Sendable` because its only mutable state, the idle connections, is guarded by
/// `lock`; a `PGconn` is used by one thread at a time (libpq's rule: "it is not safe to use one
/// connection from several threads at once"). With as many executor threads as connections a
/// thread never waits for one.
final class PostgresPool: @unchecked Sendable {
    let uri: String
    let database: String
    private let connectTimeout: Int
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []

    init(uri: String, connectTimeout: Int) throws {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(uri, &message) else {
            let text = message.map { String(cString: $0) } ?? "out of memory"
            if let message { PQfreemem(message) }
            throw StoreError(
                .badURI, store: uri,
                message: "not a valid PostgreSQL URI (\(text.trimmingCharacters(in: .whitespacesAndNewlines))); "
                    + "expected \(StoreURI.acceptedForms)")
        }
        var database = "photoseal"
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "dbname", let value = option.pointee.val {
                database = String(cString: value)
            }
            option += 1
        }
        PQconninfoFree(options)
        self.uri = uri
        self.database = database
        self.connectTimeout = connectTimeout
    }

    deinit { for connection in idle { connection.close() } }

    /// Runs `body` with an idle connection, or a new one; a connection that broke is closed
    /// instead of being kept.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try lock.withLock { idle.popLast() } ?? PostgresConnection(uri: uri, timeout: connectTimeout)
        do {
            let result = try body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    private func release(_ connection: PostgresConnection) {
        if connection.isBroken {
            connection.close()
        } else {
            lock.withLock { idle.append(connection) }
        }
    }
}

/// One libpq connection (`PGconn`), used by one thread at a time.
final class PostgresConnection {
    private var handle: OpaquePointer?

    init(uri: String, timeout: Int) throws {
        // Earlier keywords are overridden by what the URI (expanded from dbname) says.
        let keywords = ["connect_timeout", "fallback_application_name", "client_encoding", "dbname"]
        let values = [String(timeout), "photoseal", "UTF8", uri]
        let connection = Self.withCStrings(keywords) { keywords in
            Self.withCStrings(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection else {
            throw PostgresFailure(sqlState: nil, message: "out of memory", connectionLost: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresFailure(connecting: message)
        }
        // libpq prints notices ("relation already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
    }

    deinit { close() }

    /// Whether the connection can no longer be used.
    var isBroken: Bool { handle.map { PQstatus($0) != CONNECTION_OK } ?? true }

    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// Runs one statement with parameters; `binary` asks for every result column in binary.
    @discardableResult
    func execute(_ sql: String, _ parameters: [PostgresParameter], binary: Bool = false) throws -> PostgresResult {
        guard let handle else {
            throw PostgresFailure(sqlState: nil, message: "connection closed", connectionLost: true)
        }
        var pointers: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        pointers.reserveCapacity(parameters.count)
        defer { for pointer in pointers { free(pointer) } }
        for parameter in parameters {
            switch parameter {
            case .text(let text):
                pointers.append(strdup(text))
                lengths.append(0)
                formats.append(0)
            case .bytes(let bytes):
                let buffer = malloc(max(1, bytes.count))!.assumingMemoryBound(to: CChar.self)
                bytes.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { memcpy(buffer, base, bytes.count) }
                }
                pointers.append(buffer)
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        let result = pointers.withUnsafeBufferPointer { pointers in
            pointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                PQexecParams(
                    handle, sql, Int32(parameters.count), nil, values.baseAddress, lengths, formats, binary ? 1 : 0)
            }
        }
        return try check(result)
    }

    /// Runs statements without parameters (one implicit transaction unless they say otherwise).
    func executeScript(_ sql: String) throws {
        guard let handle else {
            throw PostgresFailure(sqlState: nil, message: "connection closed", connectionLost: true)
        }
        _ = try check(PQexec(handle, sql))
    }

    /// Runs `body` between BEGIN and COMMIT, rolling back when it throws.
    func transaction(_ body: () throws -> Void) throws {
        try executeScript("BEGIN")
        do {
            try body()
            try executeScript("COMMIT")
        } catch {
            if !isBroken { try? executeScript("ROLLBACK") }
            throw error
        }
    }

    private func check(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else {
            throw PostgresFailure(
                sqlState: nil, message: handle.map { String(cString: PQerrorMessage($0)) } ?? "no result",
                connectionLost: isBroken)
        }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            PQclear(result)
            throw PostgresFailure(sqlState: state, message: message, connectionLost: isBroken)
        }
        return PostgresResult(result)
    }

    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
        var pointers: [UnsafePointer<CChar>?] = strings.map { UnsafePointer(strdup($0)) }
        pointers.append(nil)
        defer { for pointer in pointers { free(UnsafeMutablePointer(mutating: pointer)) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// A `PGresult` owned by Swift and cleared in `deinit`.
final class PostgresResult {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { PQclear(handle) }

    var rows: Int { Int(PQntuples(handle)) }

    /// A column's bytes (in binary results, a `bytea` or `text` value as it is).
    func bytes(_ row: Int, _ column: Int) -> [UInt8] {
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        guard length > 0, let value = PQgetvalue(handle, Int32(row), Int32(column)) else { return [] }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// A `text` column (text or binary result: the same UTF-8 bytes).
    func string(_ row: Int, _ column: Int) -> String {
        String(decoding: bytes(row, column), as: UTF8.self)
    }

    /// An integer column of a text result.
    func int(_ row: Int, _ column: Int) -> Int {
        Int(string(row, column)) ?? 0
    }
}

/// A libpq failure read right after the failing call, safe to carry across threads.
struct PostgresFailure: StoreDriverFailure, Sendable {
    /// The SQLSTATE code, when the server sent one.
    let sqlState: String?
    let message: String
    /// Whether the connection is gone (it is not reused).
    let connectionLost: Bool
    /// Whether the connection could not be made at all.
    var connecting = false

    init(sqlState: String?, message: String, connectionLost: Bool) {
        self.sqlState = sqlState
        self.message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        self.connectionLost = connectionLost
    }

    /// A failure of `PQconnectdb`, known only by its message.
    init(connecting message: String) {
        self.init(sqlState: nil, message: message, connectionLost: true)
        connecting = true
    }

    /// Transient server conditions: connection exceptions (08), serialization failure,
    /// deadlock, admin or crash shutdown, cannot connect now, too many connections, lock not
    /// available.
    private static let transientStates: Set<String> = ["40001", "40P01", "57P01", "57P02", "57P03", "53300", "55P03"]

    private var lower: String { message.lowercased() }

    var isAuthFailure: Bool {
        if let sqlState { return sqlState.hasPrefix("28") || sqlState == "42501" }
        return connecting
            && [
                "password authentication failed", "authentication failed", "no password supplied", "pg_hba.conf",
                "role \"",
            ]
            .contains { lower.contains($0) }
    }

    var isMissingDatabase: Bool {
        sqlState == "3D000" || (connecting && lower.contains("database \"") && lower.contains("does not exist"))
    }

    var isUnreachable: Bool {
        connecting && !isAuthFailure && !isMissingDatabase && !isStarting
    }

    private var isStarting: Bool {
        [
            "the database system is starting up", "the database system is shutting down", "too many clients",
            "in recovery mode",
        ].contains { lower.contains($0) }
    }

    var isTransient: Bool {
        if isAuthFailure || isMissingDatabase { return false }
        if connecting || connectionLost { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || Self.transientStates.contains(sqlState)
    }

    func storeError(
        operation: String, write: Bool, store: String, database: String, attempts: Int, elapsed: Duration
    ) -> StoreError {
        let tries = storeTries(attempts: attempts, elapsed: elapsed)
        // libpq's messages span lines and indent with tabs: one line for ours.
        let detail = message.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let state = sqlState.map { " [SQLSTATE \($0)]" } ?? ""
        if isAuthFailure {
            return StoreError(
                .authFailed, store: store,
                message: "\(operation) failed: the server refused the credentials or the user lacks a privilege "
                    + "(\(detail))\(state). Check the user name and password in the URI (or PGPASSWORD, "
                    + "~/.pgpass) and the user's grants; retrying does not help.")
        }
        if isMissingDatabase {
            return StoreError(
                .invalidNamespace, store: store,
                message: "\(operation) failed: the database \(database) does not exist on the server. Create it "
                    + "(createdb \(database), or CREATE DATABASE \(database)) or name an existing one in the "
                    + "URI's path.")
        }
        if isUnreachable {
            let hosts = StoreURI.hosts(store).map { " at \($0)" } ?? ""
            return StoreError(
                .unreachable, store: store,
                message: "\(operation) failed\(tries): no PostgreSQL server answered\(hosts) (\(detail)). Check "
                    + "that the server is running and the URI's host, port and sslmode are right (--store), and "
                    + "the network; --store embedded:PATH works without a server.")
        }
        if isTransient {
            return StoreError(
                .transient, store: store,
                message: "\(operation) failed\(tries): the server was not ready (\(detail))\(state). Try again.")
        }
        return StoreError(
            write ? .writeFailed : .queryFailed, store: store, message: "\(operation) failed: \(detail)\(state).")
    }
}
