import Foundation
public import Logging

/// A store of photo documents keyed by their string `_id`: MongoDB, PostgreSQL or the embedded
/// SQLite store.
///
/// Every implementation pass one conformance suite, so callers (encrypt-load, key rotation,
/// audit, export) never ask which one they hold. Every method may throw ``StoreError``.
/// Blocking work never runs on Swift's cooperative thread pool.
public protocol DocumentStore: AnyObject, Sendable {
    /// The store's URI with any password masked, for messages and logs.
    var location: String { get }

    /// How many write commands (MongoDB) or write transactions that changed data (embedded)
    /// this store has issued since it was opened. A diagnostic for tests and progress output.
    var writeCount: Int { get }

    /// Checks, cheaply, that the store can be used now: for MongoDB it connects,
    /// authenticates and runs `ping`; for the embedded store it reads the open file.
    ///
    /// Meant to run before any slow or paid step, so an unreachable server or refused
    /// credentials are reported before work is spent. Writes nothing.
    ///
    /// - Throws: ``StoreError`` `.unreachable` naming the store (password masked) once the
    ///   short retry budget for unreachable servers is spent, `.authFailed` at once when the
    ///   credentials are refused, `.io`/`.corrupt` when the embedded file cannot be read.
    func ping() async throws

    /// Creates the lookup indexes (`terms`, `place.cc`, `seal.kid`, `blind.owner`) if missing.
    ///
    /// Writes call this on first use, so calling it is optional.
    func ensureIndexes() async throws

    /// Inserts or replaces documents by `_id`, in batches (one bulk write per batch).
    ///
    /// A document whose stored form is already identical is not written at all, so loading the
    /// same documents again writes nothing. Re-running after a failure is safe: replacing by
    /// `_id` never duplicates a document.
    ///
    /// - Parameter documents: Documents, each with a string `_id`; any number (they are split
    ///   into the store's batch size).
    /// - Returns: How many were inserted, updated and found unchanged.
    func upsert(_ documents: [StoreDocument]) async throws -> UpsertSummary

    /// The document with this `_id`, or `nil`.
    func find(id: String) async throws -> StoreDocument?

    /// Documents whose value at a dotted path matches, as a MongoDB equality filter does (an
    /// array field matches when it contains the value; `.null` matches a missing field).
    ///
    /// - Parameters:
    ///   - path: A dotted path such as `"seal.kid"`.
    ///   - value: The value to match.
    ///   - limit: At most this many documents (`nil`: all of them).
    /// - Returns: The matching documents in `_id` order.
    func find(where path: String, equals value: StoreValue, limit: Int?) async throws -> [StoreDocument]

    /// The number of documents in the store.
    func count() async throws -> Int

    /// The number of documents whose value at `path` matches `value` (same rule as `find`).
    func count(where path: String, equals value: StoreValue) async throws -> Int

    /// Atomically sets fields of one document if, and only if, every expected field still
    /// matches its expected value (same rule as `find`).
    ///
    /// This is the primitive of key rotation: re-seal a document only if its `seal.kid` and
    /// sealed tokens are still what the rotator read. Among concurrent callers with the same
    /// expectation, exactly one succeeds.
    ///
    /// - Parameters:
    ///   - id: The document's `_id`.
    ///   - expect: Dotted paths and the values they must hold now.
    ///   - set: Dotted paths and their new values (missing intermediate documents are created);
    ///     `_id` cannot be set (``StoreError`` `.writeFailed`).
    /// - Returns: `true` when the change was applied, `false` when the document is missing or
    ///   an expectation no longer holds (nothing was changed).
    func compareAndSet(id: String, expect: [(String, StoreValue)], set: [(String, StoreValue)]) async throws -> Bool

    /// Deletes the document with this `_id`.
    ///
    /// - Returns: Whether a document was deleted.
    func delete(id: String) async throws -> Bool

    /// Every document, in `_id` order, a batch at a time, in constant memory.
    ///
    /// Each batch is read when the consumer asks for it (keyset pagination on `_id`), so a
    /// transient failure costs one batch retry, not the whole scan. Documents added or changed
    /// during the scan may or may not be seen.
    ///
    /// - Parameter batchSize: Documents per batch (at least 1).
    func allDocuments(batchSize: Int) -> DocumentBatches

    /// Every document as its stored BSON bytes, checked but not decoded, in `_id` order, a
    /// batch at a time: ``allDocuments(batchSize:)`` for readers that walk the bytes (`audit`).
    /// A document whose bytes would not decode (a BSON type photoseal does not store, damage)
    /// is handed over with ``RawDocument/damage`` set, not thrown, so that one document does
    /// not hide the others.
    ///
    /// - Parameter batchSize: Documents per batch (at least 1).
    func allRawDocuments(batchSize: Int) -> RawDocumentBatches

    /// Deletes every document and the indexes of this store (for tests and `--reset`).
    func drop() async throws

    /// Another collection of the same store, with the same connection settings: for records
    /// kept beside the photos (the request form's `jobs` and `job_log`).
    ///
    /// MongoDB: the collection `name` of the same database; PostgreSQL: the table `name` (and
    /// `name_fields`) of the same database; embedded: the file `<stem>.<name>.sqlite` beside
    /// the store's file. A store opened on another collection than the default `photos` gives
    /// `<collection>_<name>` instead, so that stores sharing a database never share a sibling.
    /// The embedded store creates its file when opened; the others make nothing before a write.
    ///
    /// - Parameter name: A lower-case identifier (`[a-z_][a-z0-9_]*`, at most 40 characters).
    /// - Throws: ``StoreError`` `.badURI` for any other name.
    func collection(named name: String) throws -> any DocumentStore
}

extension StoreURI {
    /// Checks the name of a sibling collection (see `DocumentStore.collection(named:)`).
    static func checkCollectionName(_ name: String, store: String) throws {
        guard name.range(of: "^[a-z_][a-z0-9_]{0,39}$", options: .regularExpression) != nil else {
            throw StoreError(
                .badURI, store: store, message: "collection name \(name) is not a lower-case identifier")
        }
    }

    /// The name of the sibling `name` of a store whose own collection is `own`.
    static func siblingName(_ name: String, of own: String) -> String {
        own == "photos" ? name : "\(own)_\(name)"
    }
}

extension DocumentStore {
    /// The documents of ``allDocuments(batchSize:)`` encoded back to BSON (for stores that
    /// cannot hand out their bytes).
    public func allRawDocuments(batchSize: Int) -> RawDocumentBatches {
        let batches = allDocuments(batchSize: batchSize)
        return RawDocumentBatches { after in
            var iterator = batches.makeAsyncIterator()
            iterator.lastID = after
            guard let batch = try await iterator.next() else { return [] }
            return try batch.map { try RawDocument(bsonBytes: try $0.bsonBytes()) }
        }
    }

    /// Documents whose value at `path` matches `value`; see `find(where:equals:limit:)`.
    public func find(where path: String, equals value: StoreValue) async throws -> [StoreDocument] {
        try await find(where: path, equals: value, limit: nil)
    }
}

/// What an `upsert` did.
public struct UpsertSummary: Sendable, Hashable, CustomStringConvertible {
    /// Documents that did not exist and were inserted.
    public var inserted: Int
    /// Documents that existed with different content and were replaced.
    public var updated: Int
    /// Documents that existed with identical content and were not written.
    public var unchanged: Int

    /// Creates a summary.
    public init(inserted: Int = 0, updated: Int = 0, unchanged: Int = 0) {
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
    }

    /// All documents the upsert handled.
    public var total: Int { inserted + updated + unchanged }

    /// Adds another summary's counts to this one.
    public static func += (lhs: inout UpsertSummary, rhs: UpsertSummary) {
        lhs.inserted += rhs.inserted
        lhs.updated += rhs.updated
        lhs.unchanged += rhs.unchanged
    }

    /// "3 inserted, 1 updated, 10 unchanged".
    public var description: String { "\(inserted) inserted, \(updated) updated, \(unchanged) unchanged" }
}

/// A document that knows its `_id` (what a batched read resumes after).
public protocol IdentifiedDocument: Sendable {
    /// The `_id` as a string, or `nil` when it has none (or another type).
    var id: String? { get }
}

extension StoreDocument: IdentifiedDocument {}
extension RawDocument: IdentifiedDocument {}

/// The batches of `DocumentStore.allDocuments(batchSize:)`: decoded documents.
public typealias DocumentBatches = Batches<StoreDocument>

/// The batches of `DocumentStore.allRawDocuments(batchSize:)`: documents as BSON bytes.
public typealias RawDocumentBatches = Batches<RawDocument>

/// An async sequence of arrays of documents in `_id` order, each batch fetched when asked for.
public struct Batches<Document: IdentifiedDocument>: AsyncSequence, Sendable {
    /// One batch of documents, never empty.
    public typealias Element = [Document]

    /// Fetches the batch after the given `_id` (`nil`: the first batch); empty means done.
    let fetch: @Sendable (_ after: String?) async throws -> [Document]

    init(fetch: @escaping @Sendable (_ after: String?) async throws -> [Document]) {
        self.fetch = fetch
    }

    /// Creates an iterator that starts at the first document.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(fetch: fetch)
    }

    /// Iterates the batches.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let fetch: @Sendable (_ after: String?) async throws -> [Document]
        var lastID: String?
        var finished = false

        /// The next batch, or `nil` after the last one.
        public mutating func next() async throws -> [Document]? {
            guard !finished else { return nil }
            let batch = try await fetch(lastID)
            guard let last = batch.last else {
                finished = true
                return nil
            }
            lastID = last.id
            if lastID == nil { finished = true }
            return batch
        }
    }
}

/// Opens the store a URI names.
public enum DocumentStores {
    /// Opens a store by URI: `mongodb://…` or `mongodb+srv://…` (MongoDB through libmongoc),
    /// `postgresql://…` or `postgres://…` (PostgreSQL through libpq), or `embedded:PATH` (a
    /// single SQLite file, created if missing).
    ///
    /// MongoDB options come from the URI: TLS (`tls=true`, `tlsCAFile=`), auth
    /// (`user:password@`, `authSource=`, `authMechanism=`), replica sets (`replicaSet=`), `w=`
    /// for the write concern (default majority), timeouts, `maxPoolSize`. The database is the
    /// URI's path (default `photoseal`), the collection is `photos`. PostgreSQL options are
    /// libpq's (`sslmode=`, `connect_timeout=`, …); the database is the URI's path (default
    /// `photoseal`, which must exist), the tables `photos` and `photos_fields`.
    ///
    /// - Parameters:
    ///   - uri: The store URI.
    ///   - batchSize: Documents per bulk write or write transaction in `upsert`; default 1000.
    ///   - logger: Where the store logs retries.
    /// - Throws: ``StoreError`` with code `.badURI` for anything else, naming the accepted forms.
    public static func open(uri: String, batchSize: Int = 1000, logger: Logger) throws -> any DocumentStore {
        let trimmed = uri.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("mongodb://") || trimmed.hasPrefix("mongodb+srv://") {
            return try MongoStore(uri: trimmed, configuration: .init(batchSize: batchSize), logger: logger)
        }
        if trimmed.hasPrefix("postgresql://") || trimmed.hasPrefix("postgres://") {
            return try PostgresStore(uri: trimmed, configuration: .init(batchSize: batchSize), logger: logger)
        }
        if trimmed.hasPrefix("embedded:") {
            let path = String(trimmed.dropFirst("embedded:".count))
            return try EmbeddedStore(path: path, batchSize: batchSize, logger: logger)
        }
        throw StoreError(
            .badURI, store: trimmed,
            message: "unknown kind of store; use one of: \(StoreURI.acceptedForms)")
    }
}
