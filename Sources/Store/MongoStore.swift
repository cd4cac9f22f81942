private import CMongoc
import Foundation
public import Logging
import Retry

/// The MongoDB document store, on libmongoc's thread-safe client pool.
///
/// All blocking libmongoc calls run on a ``BlockingExecutor`` with one thread per pooled
/// client, never on Swift's cooperative pool. Transient failures (not primary, shutting down,
/// network drop, errors labelled `RetryableWriteError`) are retried with exponential back-off
/// up to ``Configuration/retry``. A server that cannot be reached at all (connection refused,
/// unknown host, TLS failure) is retried only for ``RetryPolicy/unreachableBudget`` (about
/// 10 s in all, with server selection bounded by ``Configuration/serverSelectionTimeout``);
/// permanent failures (bad credentials, invalid namespace, unsatisfiable write concern) fail
/// at once with a ``StoreError``.
public final class MongoStore: DocumentStore {
    /// How the store talks to MongoDB beyond what the URI says.
    public struct Configuration: Sendable {
        /// Documents per bulk write: loading N documents issues about N / batchSize write
        /// commands. Default 1000.
        public var batchSize: Int
        /// The write concern; `nil` (the default) uses the URI's `w=` if it has one, else
        /// `w: majority`.
        public var writeConcern: WriteConcern?
        /// How often and how patiently transient failures are retried.
        public var retry: RetryPolicy
        /// Threads (and so pooled connections) used at once; capped by the URI's `maxPoolSize`.
        /// Default 4.
        public var threads: Int
        /// Documents per server round trip when a query returns many (`find` cursors);
        /// `nil` leaves it to the server.
        public var cursorBatchSize: Int?
        /// The collection holding the documents. Default `photos`.
        public var collection: String
        /// How long one operation waits for a usable server when the URI does not say
        /// (`serverSelectionTimeoutMS`). Default 3 s, not libmongoc's 30 s: with the retry
        /// budget, an unreachable server is reported in about 10 s instead of minutes.
        public var serverSelectionTimeout: Duration

        /// Creates a configuration; every parameter has the documented default.
        public init(
            batchSize: Int = 1000, writeConcern: WriteConcern? = nil, retry: RetryPolicy = RetryPolicy(),
            threads: Int = 4, cursorBatchSize: Int? = nil, collection: String = "photos",
            serverSelectionTimeout: Duration = .seconds(3)
        ) {
            self.batchSize = max(1, batchSize)
            self.writeConcern = writeConcern
            self.retry = retry
            self.threads = max(1, threads)
            self.cursorBatchSize = cursorBatchSize
            self.collection = collection
            self.serverSelectionTimeout = serverSelectionTimeout
        }
    }

    /// The acknowledgement MongoDB gives before a write counts as done.
    public enum WriteConcern: Sendable, Hashable, CustomStringConvertible {
        /// Acknowledged by a majority of the replica set's voting members (survives a failover).
        case majority
        /// Acknowledged by this many members (`1`: the primary alone).
        case nodes(Int)

        /// `w=majority` or `w=N`.
        public var description: String {
            switch self {
            case .majority: "w=majority"
            case .nodes(let count): "w=\(count)"
            }
        }
    }

    /// Bounded retries with exponential back-off.
    public struct RetryPolicy: Sendable {
        /// Attempts in all, the first included (1 means no retry). Default 6.
        public var maxAttempts: Int
        /// The wait before the first retry; each further wait doubles. Default 200 ms.
        public var initialBackoff: Duration
        /// The longest wait between attempts. Default 3 s.
        public var maxBackoff: Duration
        /// How long an operation keeps retrying a server that cannot be reached (connection
        /// refused, unknown host, TLS failure), from the start of its first attempt: no retry
        /// starts once it has passed. Default 10 s.
        public var unreachableBudget: Duration

        /// Creates a policy; every parameter has the documented default.
        public init(
            maxAttempts: Int = 6, initialBackoff: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(3),
            unreachableBudget: Duration = .seconds(10)
        ) {
            self.maxAttempts = max(1, maxAttempts)
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
            self.unreachableBudget = unreachableBudget
        }

        /// The shared policy these settings mean: fixed doubling waits (no jitter), and for an
        /// unreachable server one retry always, then only an attempt expected to end within
        /// the budget.
        var shared: Retry.RetryPolicy {
            Retry.RetryPolicy(
                maxAttempts: maxAttempts, baseDelay: initialBackoff.seconds, maxDelay: maxBackoff.seconds,
                unreachableBudget: unreachableBudget.seconds, unreachableBaseDelay: initialBackoff.seconds,
                unreachableMaxDelay: maxBackoff.seconds, unreachableMinimumRetries: 1, jitter: 0)
        }
    }

    /// The URI with any password masked.
    public let location: String
    /// The database name (the URI's path, default `photoseal`).
    public let database: String
    /// The effective write concern.
    public let writeConcern: WriteConcern
    private let configuration: Configuration
    private let uri: String
    private let pool: MongoPool
    private let executor: BlockingExecutor
    private let logger: Logger
    private let indexState = IndexState()
    private let retries = StoreCounter()

    /// Opens a client pool for a `mongodb://` or `mongodb+srv://` URI.
    ///
    /// No connection is made yet: an unreachable server shows up on the first operation.
    ///
    /// - Parameters:
    ///   - uri: The connection string; its options (TLS, auth, replicaSet, w, timeouts,
    ///     maxPoolSize, appname) are honoured. The path names the database.
    ///   - configuration: Batch size, write concern, retries, threads.
    ///   - logger: Where retries and index creation are logged.
    /// - Throws: ``StoreError`` `.badURI` when libmongoc rejects the URI.
    public init(uri: String, configuration: Configuration = Configuration(), logger: Logger) throws {
        MongoPool.initializeLibrary()
        location = StoreURI.redact(uri)
        self.uri = uri
        self.configuration = configuration
        self.logger = logger
        pool = try MongoPool(uri: uri, configuration: configuration)
        database = pool.database
        writeConcern = pool.effectiveWriteConcern
        executor = BlockingExecutor(threads: min(configuration.threads, pool.maxPoolSize), name: "photoseal-mongo")
    }

    deinit { executor.shutdown() }

    /// Write commands (`insert`, `update`, `delete`) sent since the store was opened.
    public var writeCount: Int {
        pool.counter.count(of: ["insert", "update", "delete"])
    }

    /// Operations retried after a transient failure since the store was opened (a diagnostic).
    public var retryCount: Int { retries.value }

    /// How many commands of a given name (`"find"`, `"getMore"`, `"update"`, …) were sent, as
    /// seen by libmongoc's command monitoring.
    public func commandCount(_ name: String) -> Int {
        pool.counter.count(of: [name])
    }

    // MARK: DocumentStore

    /// Connects, authenticates and runs `ping` on the database: an unreachable server is
    /// reported within about ``RetryPolicy/unreachableBudget``, refused credentials at once.
    public func ping() async throws {
        try await retrying("checking the store (ping)", write: false) { [pool] in
            try pool.withClient { client in
                let command = try MongoPool.bson(fieldsInOrder: [StoreField(key: "ping", value: 1)])
                try MongoPool.withReply { reply in
                    var error = bson_error_t()
                    guard mongoc_client_command_simple(client, pool.database, command.pointer, nil, reply, &error)
                    else { throw MongoFailure(error, reply: reply) }
                }
            }
        }
    }

    /// Creates the `terms`, `place.cc`, `seal.kid` and `blind.owner` indexes if missing.
    public func ensureIndexes() async throws {
        try await retrying("creating indexes", write: true) { [pool, configuration] in
            try pool.withCollection(configuration.collection) { collection in
                let indexes: [StoreValue] = IndexState.paths.map { path in
                    .document(
                        StoreDocument([
                            StoreField(key: "key", value: .document(StoreDocument([StoreField(key: path, value: 1)]))),
                            StoreField(key: "name", value: .string("\(path)_1")),
                        ]))
                }
                let command = try MongoPool.bson(fieldsInOrder: [
                    StoreField(key: "createIndexes", value: .string(configuration.collection)),
                    StoreField(key: "indexes", value: .array(indexes)),
                ])
                try MongoPool.withReply { reply in
                    var error = bson_error_t()
                    guard mongoc_collection_command_simple(collection, command.pointer, nil, reply, &error) else {
                        throw MongoFailure(error, reply: reply)
                    }
                }
            }
        }
        indexState.markCreated()
    }

    /// Inserts or replaces documents by `_id` in bulk writes of `batchSize`; identical stored
    /// documents are not written again.
    public func upsert(_ documents: [StoreDocument]) async throws -> UpsertSummary {
        if !indexState.created { try await ensureIndexes() }
        try Self.checkIDs(documents, store: location)
        var summary = UpsertSummary()
        var start = 0
        while start < documents.count {
            let end = min(start + configuration.batchSize, documents.count)
            summary += try await upsertBatch(Array(documents[start..<end]))
            start = end
        }
        return summary
    }

    private func upsertBatch(_ batch: [StoreDocument]) async throws -> UpsertSummary {
        let ids = batch.compactMap(\.id)
        // Which documents already exist, and with what content: decided once, so a retried
        // write does not turn "inserted" into "unchanged".
        let existing: [String: [UInt8]] = try await retrying("reading existing documents", write: false) {
            [pool, configuration] in
            let filter: [(String, StoreValue)] = [("_id", .document(["$in": .array(ids.map { .string($0) })]))]
            var stored: [String: [UInt8]] = [:]
            try pool.forEach(in: configuration.collection, filter: filter, options: [], batchSize: nil) { document in
                if let id = document.id { stored[id] = try MongoPool.bytes(of: document) }
            }
            return stored
        }
        var summary = UpsertSummary()
        var changed: [StoreDocument] = []
        for document in batch {
            let bytes: [UInt8]
            do { bytes = try MongoPool.bytes(of: document) } catch let error as BSONCodecError {
                throw error.storeError(store: location, id: document.id)
            }
            switch existing[document.id ?? ""] {
            case nil:
                summary.inserted += 1
                changed.append(document)
            case let stored? where stored == bytes:
                summary.unchanged += 1
            default:
                summary.updated += 1
                changed.append(document)
            }
        }
        guard !changed.isEmpty else { return summary }
        let toWrite = changed
        try await retrying("writing \(changed.count) documents", write: true) { [pool, configuration] in
            try pool.bulkReplace(toWrite, collection: configuration.collection)
        }
        return summary
    }

    /// The document with this `_id`, or `nil`.
    public func find(id: String) async throws -> StoreDocument? {
        try await find(filter: [("_id", .string(id))], limit: 1).first
    }

    /// Documents whose value at `path` matches `value`, in `_id` order.
    public func find(where path: String, equals value: StoreValue, limit: Int?) async throws -> [StoreDocument] {
        try await find(filter: [Self.equality(path, value)], limit: limit)
    }

    private func find(filter: [(String, StoreValue)], limit: Int?) async throws -> [StoreDocument] {
        try await retrying("reading documents", write: false) { [pool, configuration] in
            var options: [StoreField] = [StoreField(key: "sort", value: ["_id": 1])]
            if let limit { options.append(StoreField(key: "limit", value: .int(Int64(max(1, limit))))) }
            var found: [StoreDocument] = []
            try pool.forEach(
                in: configuration.collection, filter: filter, options: options, batchSize: configuration.cursorBatchSize
            ) { found.append($0) }
            return found
        }
    }

    /// The number of documents.
    public func count() async throws -> Int {
        try await count(filter: [])
    }

    /// The number of documents whose value at `path` matches `value`.
    public func count(where path: String, equals value: StoreValue) async throws -> Int {
        try await count(filter: [Self.equality(path, value)])
    }

    private func count(filter: [(String, StoreValue)]) async throws -> Int {
        try await retrying("counting documents", write: false) { [pool, configuration] in
            try pool.withCollection(configuration.collection) { collection in
                let query = try MongoPool.bson(pairs: filter)
                var error = bson_error_t()
                let count = mongoc_collection_count_documents(collection, query.pointer, nil, nil, nil, &error)
                guard count >= 0 else { throw MongoFailure(error, reply: nil) }
                return Int(count)
            }
        }
    }

    /// Sets fields with one `update_one` whose filter holds the `_id` and every expectation.
    public func compareAndSet(
        id: String, expect: [(String, StoreValue)], set: [(String, StoreValue)]
    ) async throws -> Bool {
        try StoreURI.checkSettable(set, id: id, store: location)
        guard !set.isEmpty else {
            return try await count(filter: [("_id", .string(id))] + expect.map(Self.equality)) == 1
        }
        var sawAmbiguousFailure = false
        let applied: Bool = try await retrying(
            "updating document \(id)", write: true, onRetry: { sawAmbiguousFailure = true }
        ) { [pool, configuration] in
            try pool.withCollection(configuration.collection) { collection in
                let filter = try MongoPool.bson(pairs: [("_id", .string(id))] + expect.map(Self.equality))
                let update = try MongoPool.bson(fieldsInOrder: [
                    StoreField(
                        key: "$set", value: .document(StoreDocument(set.map { StoreField(key: $0.0, value: $0.1) })))
                ])
                return try MongoPool.withReply { reply in
                    var error = bson_error_t()
                    guard mongoc_collection_update_one(collection, filter.pointer, update.pointer, nil, reply, &error)
                    else { throw MongoFailure(error, reply: reply) }
                    return MongoPool.int(in: reply, key: "matchedCount") == 1
                }
            }
        }
        if !applied && sawAmbiguousFailure {
            // A failed attempt may have applied the update before its reply was lost; then the
            // retry no longer matches. The update is ours if the document now holds every new value.
            if let document = try await find(id: id), set.allSatisfy({ document.value(at: $0.0) == $0.1 }) {
                return true
            }
        }
        return applied
    }

    /// Deletes the document with this `_id`.
    public func delete(id: String) async throws -> Bool {
        try await retrying("deleting document \(id)", write: true) { [pool, configuration] in
            try pool.withCollection(configuration.collection) { collection in
                let filter = try MongoPool.bson(pairs: [("_id", .string(id))])
                return try MongoPool.withReply { reply in
                    var error = bson_error_t()
                    guard mongoc_collection_delete_one(collection, filter.pointer, nil, reply, &error) else {
                        throw MongoFailure(error, reply: reply)
                    }
                    return MongoPool.int(in: reply, key: "deletedCount") == 1
                }
            }
        }
    }

    /// Every document in `_id` order, one `find` (sorted, limited, after the last `_id`) per batch.
    public func allDocuments(batchSize: Int) -> DocumentBatches {
        let size = max(1, batchSize)
        return DocumentBatches { [self] after in
            let filter: [(String, StoreValue)] = after.map { [("_id", .document(["$gt": .string($0)]))] } ?? []
            return try await retrying("reading documents", write: false) { [pool, configuration] in
                let options = [
                    StoreField(key: "sort", value: ["_id": 1]), StoreField(key: "limit", value: .int(Int64(size))),
                ]
                var batch: [StoreDocument] = []
                batch.reserveCapacity(size)
                try pool.forEach(in: configuration.collection, filter: filter, options: options, batchSize: size) {
                    batch.append($0)
                }
                return batch
            }
        }
    }

    /// Every document's bytes as the server sent them, checked as a decode would but not
    /// decoded; bytes that would not decode come with ``RawDocument/damage`` set.
    public func allRawDocuments(batchSize: Int) -> RawDocumentBatches {
        let size = max(1, batchSize)
        return RawDocumentBatches { [self] after in
            let filter: [(String, StoreValue)] = after.map { [("_id", .document(["$gt": .string($0)]))] } ?? []
            return try await retrying("reading documents", write: false) { [pool, configuration] in
                let options = [
                    StoreField(key: "sort", value: ["_id": 1]), StoreField(key: "limit", value: .int(Int64(size))),
                ]
                var batch: [RawDocument] = []
                batch.reserveCapacity(size)
                try pool.forEachRaw(in: configuration.collection, filter: filter, options: options, batchSize: size) {
                    batch.append(RawDocument(auditing: $0))
                }
                return batch
            }
        }
    }

    /// The collection `name` (or `<collection>_<name>`) of the same database; see the protocol.
    public func collection(named name: String) throws -> any DocumentStore {
        try StoreURI.checkCollectionName(name, store: location)
        var sibling = configuration
        sibling.collection = StoreURI.siblingName(name, of: configuration.collection)
        return try MongoStore(uri: uri, configuration: sibling, logger: logger)
    }

    /// Drops the collection and its indexes.
    public func drop() async throws {
        try await retrying("dropping the collection", write: true) { [pool, configuration] in
            try pool.withCollection(configuration.collection) { collection in
                var error = bson_error_t()
                // 26 NamespaceNotFound: already gone, which is what drop wants.
                guard mongoc_collection_drop_with_opts(collection, nil, &error) || error.code == 26 else {
                    throw MongoFailure(error, reply: nil)
                }
            }
        }
        indexState.reset()
    }

    // MARK: Retries and errors

    /// `{path: {$eq: value}}`: the same match as `{path: value}` (arrays match an element,
    /// null matches missing), but a document value is always data, never operators.
    private static func equality(_ path: String, _ value: StoreValue) -> (String, StoreValue) {
        (path, .document(StoreDocument([StoreField(key: "$eq", value: value)])))
    }

    private static func checkIDs(_ documents: [StoreDocument], store: String) throws {
        var seen = Set<String>()
        for (index, document) in documents.enumerated() {
            guard let id = document.id else {
                throw StoreError(
                    .invalidDocument, store: store,
                    message: "document #\(index + 1) of the batch has no string _id; every document needs one")
            }
            guard seen.insert(id).inserted else {
                throw StoreError(
                    .invalidDocument, store: store,
                    message: "document \(id) appears twice in one upsert; pass each _id once")
            }
        }
    }

    private func retrying<T: Sendable>(
        _ operation: String, write: Bool, onRetry: () -> Void = {},
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        let location = self.location
        let writeConcern = self.writeConcern
        return try await withStoreRetries(
            MongoFailure.self, policy: configuration.retry.shared, operation: operation, location: location,
            logger: logger, retries: retries, onRetry: onRetry,
            describe: { failure, attempts, elapsed in
                failure.storeError(
                    operation: operation, write: write, store: location, writeConcern: writeConcern,
                    attempts: attempts, elapsed: elapsed)
            },
            other: { error in (error as? BSONCodecError)?.storeError(store: location, id: nil) ?? error }
        ) {
            try await executor.run(body)
        }
    }
}

extension Duration {
    /// The duration in seconds.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}

/// Whether the lookup indexes exist, so writes create them once.
private final class IndexState: @unchecked Sendable {
    static let paths = ["terms", "place.cc", "seal.kid", "blind.owner"]
    // Guarded by `lock`.
    private let lock = NSLock()
    private var done = false

    var created: Bool { lock.withLock { done } }
    func markCreated() { lock.withLock { done = true } }
    func reset() { lock.withLock { done = false } }
}

/// Counts the commands libmongoc sends, by name, from its command-monitoring callback.
final class CommandCounter: @unchecked Sendable {
    // Guarded by `lock`: the callback runs on whichever thread sent the command.
    private let lock = NSLock()
    private var counts: [String: Int] = [:]

    func record(_ name: String) { lock.withLock { counts[name, default: 0] += 1 } }
    func count(of names: [String]) -> Int { lock.withLock { names.reduce(0) { $0 + (counts[$1] ?? 0) } } }
}

/// A libmongoc failure read right after the failing call, safe to carry across threads.
struct MongoFailure: StoreDriverFailure, Sendable {
    let domain: UInt32
    let code: UInt32
    let message: String
    let isTransient: Bool

    /// Server error codes that mean "try again": network, not primary, shutting down.
    private static let transientServerCodes: Set<UInt32> = [
        6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150,
    ]
    private static let authServerCodes: Set<UInt32> = [13, 18]

    fileprivate init(_ error: bson_error_t, reply: OpaquePointer?) {
        var error = error
        domain = error.domain
        code = error.code
        message = withUnsafeBytes(of: &error.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let labelled = reply.map {
            mongoc_error_has_label($0, "RetryableWriteError") || mongoc_error_has_label($0, "TransientTransactionError")
        }
        let networkDomains = [MONGOC_ERROR_STREAM.rawValue, MONGOC_ERROR_SERVER_SELECTION.rawValue]
        isTransient =
            labelled == true || networkDomains.contains(error.domain)
            || (error.domain == MONGOC_ERROR_PROTOCOL.rawValue)
            || (!Self.isClientDomain(error.domain) && Self.transientServerCodes.contains(error.code))
    }

    private static func isClientDomain(_ domain: UInt32) -> Bool {
        [MONGOC_ERROR_CLIENT.rawValue, MONGOC_ERROR_BSON.rawValue, MONGOC_ERROR_COMMAND.rawValue].contains(domain)
    }

    /// Whether no server could be reached at all: the host name does not resolve, nothing
    /// accepts the connection, or the TLS handshake fails. libmongoc reports all of these as a
    /// server selection failure (or a stream error) and says which only in the message; a
    /// replica set with no primary yet is a selection failure too, but a reachable one.
    var isUnreachable: Bool {
        if domain == MONGOC_ERROR_STREAM.rawValue {
            return [MONGOC_ERROR_STREAM_NAME_RESOLUTION.rawValue, MONGOC_ERROR_STREAM_CONNECT.rawValue].contains(code)
        }
        guard domain == MONGOC_ERROR_SERVER_SELECTION.rawValue else { return false }
        let text = message.lowercased()
        return Self.unreachableMarkers.contains { text.contains($0) }
    }

    /// What libmongoc's server-selection message says when no host could be reached.
    private static let unreachableMarkers = [
        "failed to connect", "failed to resolve", "connection refused", "tls handshake failed", "certificate",
        "ssl", "no route to host", "network is unreachable",
    ]

    var isAuthFailure: Bool {
        (domain == MONGOC_ERROR_CLIENT.rawValue && code == MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue)
            || domain == MONGOC_ERROR_SASL.rawValue || domain == MONGOC_ERROR_SCRAM.rawValue
            || (domain == MONGOC_ERROR_SERVER.rawValue && Self.authServerCodes.contains(code))
            || message.localizedCaseInsensitiveContains("authentication failed")
    }

    func storeError(
        operation: String, write: Bool, store: String, writeConcern: MongoStore.WriteConcern, attempts: Int,
        elapsed: Duration = .zero
    ) -> StoreError {
        let raw = (domain: domain, code: code)
        let tries = storeTries(attempts: attempts, elapsed: elapsed)
        if isAuthFailure {
            return StoreError(
                .authFailed, store: store,
                message: "\(operation) failed: the server refused the credentials (\(message)). Check the user "
                    + "name and password in the URI and its authSource= (the database holding the user, "
                    + "usually admin); retrying does not help.",
                rawCode: raw)
        }
        if domain == MONGOC_ERROR_NAMESPACE.rawValue || code == 73 {
            return StoreError(
                .invalidNamespace, store: store,
                message: "\(operation) failed: invalid database or collection name (\(message)). Use a database "
                    + "name in the URI path without spaces or any of / \\ . \" $.",
                rawCode: raw)
        }
        // 2 BadValue is how a standalone server refuses w > 1 ("w > 1 requires a replicated host").
        let badWriteConcernValue =
            code == 2 && (message.contains("replica") || message.contains("write concern") || message.hasPrefix("w "))
        if domain == MONGOC_ERROR_WRITE_CONCERN.rawValue || [64, 79, 100].contains(code) || badWriteConcernValue {
            return StoreError(
                .writeConcernFailed, store: store,
                message: "\(operation) failed: the server could not satisfy write concern \(writeConcern) "
                    + "(\(message)). A standalone server or a replica set with too few members cannot "
                    + "acknowledge w=majority; add w=1 to the URI to accept the primary's acknowledgement.",
                rawCode: raw)
        }
        if domain == MONGOC_ERROR_STREAM.rawValue || domain == MONGOC_ERROR_SERVER_SELECTION.rawValue {
            let hosts = StoreURI.hosts(store).map { " at \($0)" } ?? ""
            return StoreError(
                .unreachable, store: store,
                message: "\(operation) failed\(tries): no MongoDB server answered\(hosts) (\(message)). Check "
                    + "that the server is running and the URI's hosts, port, TLS options and replicaSet are "
                    + "right (--store), and the network; --store embedded:PATH works without a server.",
                rawCode: raw)
        }
        if isTransient {
            return StoreError(
                .transient, store: store,
                message: "\(operation) failed\(tries): the server was not ready (\(message)). Try again once "
                    + "the replica set has a primary.",
                rawCode: raw)
        }
        return StoreError(
            write ? .writeFailed : .queryFailed, store: store,
            message: "\(operation) failed: \(message).", rawCode: raw)
    }
}

/// Owns libmongoc's URI, client pool and write concern; frees them in `deinit`.
///
/// `@unchecked Sendable` because `mongoc_client_pool_t` is documented thread-safe ("the pool
/// itself is thread-safe … clients may be popped and pushed from any thread", libmongoc's
/// mongoc_client_pool_t and "Connection Pooling" pages); each popped `mongoc_client_t` is used
/// by one thread only and pushed back before the job ends. The URI and write concern are
/// read-only after `init`.
final class MongoPool: @unchecked Sendable {
    private let uri: OpaquePointer
    private let pool: OpaquePointer
    private let concern: OpaquePointer
    let counter = CommandCounter()
    let database: String
    let maxPoolSize: Int
    let effectiveWriteConcern: MongoStore.WriteConcern

    private static let initialized: Bool = {
        mongoc_init()
        // libmongoc would otherwise print its own warnings to stderr, outside our logging.
        mongoc_log_set_handler({ _, _, _, _ in }, nil)
        return true
    }()

    static func initializeLibrary() { _ = initialized }

    init(uri uriString: String, configuration: MongoStore.Configuration) throws {
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(uriString, &error) else {
            let failure = MongoFailure(error, reply: nil)
            throw StoreError(
                .badURI, store: uriString,
                message: "not a valid MongoDB connection string (\(failure.message)); expected "
                    + StoreURI.acceptedForms,
                rawCode: (failure.domain, failure.code))
        }
        if !mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS) {
            let milliseconds =
                configuration.serverSelectionTimeout.components.seconds * 1000
                + configuration.serverSelectionTimeout.components.attoseconds / 1_000_000_000_000_000
            _ = mongoc_uri_set_option_as_int32(
                uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, Int32(clamping: max(1, milliseconds)))
        }
        self.uri = uri
        database = mongoc_uri_get_database(uri).map { String(cString: $0) } ?? "photoseal"
        maxPoolSize = Int(mongoc_uri_get_option_as_int32(uri, "maxpoolsize", 100))
        if let configured = configuration.writeConcern {
            effectiveWriteConcern = configured
        } else if let fromURI = mongoc_uri_get_write_concern(uri), mongoc_write_concern_is_default(fromURI) == false {
            let w = mongoc_write_concern_get_w(fromURI)
            effectiveWriteConcern = w == MONGOC_WRITE_CONCERN_W_MAJORITY ? .majority : .nodes(Int(w))
        } else {
            effectiveWriteConcern = .majority
        }
        concern = mongoc_write_concern_new()
        switch effectiveWriteConcern {
        case .majority: mongoc_write_concern_set_wmajority(concern, 0)
        case .nodes(let count): mongoc_write_concern_set_w(concern, Int32(clamping: count))
        }
        guard let pool = mongoc_client_pool_new_with_error(uri, &error) else {
            let failure = MongoFailure(error, reply: nil)
            mongoc_write_concern_destroy(concern)
            mongoc_uri_destroy(uri)
            let srv = uriString.hasPrefix("mongodb+srv://")
            throw StoreError(
                srv ? .unreachable : .badURI, store: uriString,
                message: "cannot set up a connection pool (\(failure.message))"
                    + (srv ? "; check the cluster's DNS SRV record" : ""),
                rawCode: (failure.domain, failure.code))
        }
        self.pool = pool
        mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2)
        // Fails harmlessly when the URI sets its own appname, which then wins.
        _ = mongoc_client_pool_set_appname(pool, "photoseal")
        let callbacks = mongoc_apm_callbacks_new()
        mongoc_apm_set_command_started_cb(callbacks) { event in
            guard let event, let context = mongoc_apm_command_started_get_context(event),
                let name = mongoc_apm_command_started_get_command_name(event)
            else { return }
            Unmanaged<CommandCounter>.fromOpaque(context).takeUnretainedValue().record(String(cString: name))
        }
        _ = mongoc_client_pool_set_apm_callbacks(pool, callbacks, Unmanaged.passUnretained(counter).toOpaque())
        mongoc_apm_callbacks_destroy(callbacks)
    }

    deinit {
        mongoc_client_pool_destroy(pool)
        mongoc_write_concern_destroy(concern)
        mongoc_uri_destroy(uri)
    }

    /// Runs `body` with a client popped from the pool (this thread only).
    func withClient<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        guard let client = mongoc_client_pool_pop(pool) else {
            throw MongoFailure(
                domain: MONGOC_ERROR_CLIENT.rawValue, code: 0, message: "no client available", transient: true)
        }
        defer { mongoc_client_pool_push(pool, client) }
        return try body(client)
    }

    /// Runs `body` with a collection handle on a client popped from the pool (this thread only).
    func withCollection<T>(_ name: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        try withClient { client in try collection(name, on: client, body) }
    }

    private func collection<T>(_ name: String, on client: OpaquePointer, _ body: (OpaquePointer) throws -> T) throws
        -> T
    {
        guard let collection = mongoc_client_get_collection(client, database, name) else {
            throw MongoFailure(
                domain: MONGOC_ERROR_NAMESPACE.rawValue, code: 0, message: "cannot open collection \(name)",
                transient: false)
        }
        defer { mongoc_collection_destroy(collection) }
        mongoc_collection_set_write_concern(collection, concern)
        return try body(collection)
    }

    /// Runs a find and hands each decoded document to `body`.
    func forEach(
        in collection: String, filter: [(String, StoreValue)], options: [StoreField], batchSize: Int?,
        _ body: (StoreDocument) throws -> Void
    ) throws {
        try forEachResult(in: collection, filter: filter, options: options, batchSize: batchSize) { current in
            try body(try BSONCodec.decode(handle: current))
        }
    }

    /// Runs a find and hands each document's bytes to `body`.
    func forEachRaw(
        in collection: String, filter: [(String, StoreValue)], options: [StoreField], batchSize: Int?,
        _ body: ([UInt8]) throws -> Void
    ) throws {
        try forEachResult(in: collection, filter: filter, options: options, batchSize: batchSize) { current in
            guard let data = bson_get_data(current) else { return }
            try body(Array(UnsafeBufferPointer(start: data, count: Int(ps_bson_len(current)))))
        }
    }

    /// Runs a find and hands each result (a `bson_t`, valid only during the call) to `body`.
    private func forEachResult(
        in collection: String, filter: [(String, StoreValue)], options: [StoreField], batchSize: Int?,
        _ body: (OpaquePointer) throws -> Void
    ) throws {
        try withCollection(collection) { handle in
            let query = try Self.bson(pairs: filter)
            var allOptions = options
            if let batchSize { allOptions.append(StoreField(key: "batchSize", value: .int(Int64(batchSize)))) }
            let opts = try Self.bson(fieldsInOrder: allOptions)
            guard let cursor = mongoc_collection_find_with_opts(handle, query.pointer, opts.pointer, nil) else {
                throw MongoFailure(
                    domain: MONGOC_ERROR_CURSOR.rawValue, code: 0, message: "no cursor", transient: false)
            }
            defer { mongoc_cursor_destroy(cursor) }
            var current: OpaquePointer?
            while mongoc_cursor_next(cursor, &current) {
                guard let current else { continue }
                try body(current)
            }
            var error = bson_error_t()
            var reply: OpaquePointer?
            if mongoc_cursor_error_document(cursor, &error, &reply) {
                throw MongoFailure(error, reply: reply)
            }
        }
    }

    /// One unordered bulk write of replace-with-upsert by `_id`.
    func bulkReplace(_ documents: [StoreDocument], collection: String) throws {
        try withCollection(collection) { handle in
            let bulkOptions = try Self.bson(fieldsInOrder: [StoreField(key: "ordered", value: false)])
            guard let bulk = mongoc_collection_create_bulk_operation_with_opts(handle, bulkOptions.pointer) else {
                throw MongoFailure(domain: MONGOC_ERROR_COMMAND.rawValue, code: 0, message: "no bulk", transient: false)
            }
            defer { mongoc_bulk_operation_destroy(bulk) }
            let upsert = try Self.bson(fieldsInOrder: [StoreField(key: "upsert", value: true)])
            for document in documents {
                let selector = try Self.bson(pairs: [("_id", .string(document.id ?? ""))])
                let body = try BSONCodec.encode(document)
                var error = bson_error_t()
                guard
                    mongoc_bulk_operation_replace_one_with_opts(
                        bulk, selector.pointer, body.pointer, upsert.pointer, &error)
                else { throw MongoFailure(error, reply: nil) }
            }
            try Self.withReply { reply in
                var error = bson_error_t()
                guard mongoc_bulk_operation_execute(bulk, reply, &error) != 0 else {
                    var failure = MongoFailure(error, reply: reply)
                    if let detail = Self.string(in: reply, path: "writeErrors.0.errmsg"),
                        let index = Self.int(in: reply, key: "writeErrors.0.index"),
                        documents.indices.contains(Int(index))
                    {
                        let id = documents[Int(index)].id ?? "?"
                        failure = MongoFailure(
                            domain: failure.domain, code: failure.code,
                            message: "document \(id): \(detail)",
                            // 11000 duplicate key: two concurrent upserts of one new _id; the retry replaces.
                            transient: failure.isTransient || failure.code == 11000)
                    }
                    throw failure
                }
            }
        }
    }

    // MARK: BSON helpers

    static func bson(pairs: [(String, StoreValue)]) throws -> BSONDocument {
        try BSONCodec.encode(pairs: pairs)
    }

    static func bson(fieldsInOrder fields: [StoreField]) throws -> BSONDocument {
        try BSONCodec.encode(fieldsInOrder: fields)
    }

    /// The canonical bytes of a document as this module writes it (so equal content means equal bytes).
    static func bytes(of document: StoreDocument) throws -> [UInt8] {
        try BSONCodec.encode(document).bytes
    }

    /// Runs `body` with an initialised reply document that is destroyed afterwards.
    fileprivate static func withReply<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        let reply = bson_new()!
        defer { bson_destroy(reply) }
        // Functions taking a reply re-initialise it; a heap bson_t from bson_new stays freeable.
        return try body(reply)
    }

    fileprivate static func int(in reply: OpaquePointer, key: String) -> Int64? {
        let iterator = ps_bson_iter_new()
        let found = ps_bson_iter_new()
        defer {
            ps_bson_iter_free(iterator)
            ps_bson_iter_free(found)
        }
        guard bson_iter_init(iterator, reply), bson_iter_find_descendant(iterator, key, found),
            [BSON_TYPE_INT32, BSON_TYPE_INT64, BSON_TYPE_DOUBLE].contains(bson_iter_type(found))
        else { return nil }
        return bson_iter_as_int64(found)
    }

    fileprivate static func string(in reply: OpaquePointer, path: String) -> String? {
        let iterator = ps_bson_iter_new()
        let found = ps_bson_iter_new()
        defer {
            ps_bson_iter_free(iterator)
            ps_bson_iter_free(found)
        }
        guard bson_iter_init(iterator, reply), bson_iter_find_descendant(iterator, path, found),
            bson_iter_type(found) == BSON_TYPE_UTF8, let text = bson_iter_utf8(found, nil)
        else { return nil }
        return String(cString: text)
    }
}

extension BSONDocument {
    fileprivate var pointer: OpaquePointer { handle }
}

extension MongoFailure {
    init(domain: UInt32, code: UInt32, message: String, transient: Bool) {
        self.domain = domain
        self.code = code
        self.message = message
        self.isTransient = transient
    }
}
