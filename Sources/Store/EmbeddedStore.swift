import Crypto
import Foundation
import GRDB
public import Logging

/// The embedded document store: one SQLite file (WAL mode) through GRDB, for when there is no
/// MongoDB server (`--store embedded:PATH`).
///
/// Each document is stored as the same BSON bytes the MongoDB store writes, so every
/// ``StoreValue`` round-trips exactly (ints stay ints, dates keep their milliseconds). Lookups
/// on `terms`, `place.cc`, `seal.kid` and `blind.owner` go through an index table (array fields
/// are indexed per element, as MongoDB's multikey indexes are); lookups on other paths scan.
/// Every batch of an upsert and every compare-and-set is one SQLite transaction. GRDB runs the
/// blocking SQLite calls on its own dispatch queues, off Swift's cooperative pool.
public final class EmbeddedStore: DocumentStore {
    /// The paths with an index.
    public static let indexedPaths = ["terms", "place.cc", "seal.kid", "blind.owner"]

    /// Documents per write transaction in `upsert`. Default 1000.
    public let batchSize: Int
    /// `embedded:PATH`.
    public let location: String
    private let path: String
    private let database: DatabasePool
    private let logger: Logger
    private let writes = StoreCounter()

    /// The format version kept in SQLite's `user_version`.
    private static let formatVersion = 1

    /// Opens (creating if needed) the store file at `path`, and any missing parent folders.
    ///
    /// - Parameters:
    ///   - path: The SQLite file.
    ///   - batchSize: Documents per write transaction in `upsert`.
    ///   - logger: Where the store logs.
    /// - Throws: ``StoreError`` `.badURI` for an empty path, `.corrupt` when the file is not a
    ///   photoseal store, `.io` when it cannot be created or opened.
    public init(path: String, batchSize: Int = 1000, logger: Logger) throws {
        location = "embedded:\(path)"
        self.path = path
        self.batchSize = max(1, batchSize)
        self.logger = logger
        guard !path.isEmpty else {
            throw StoreError(
                .badURI, store: location,
                message: "embedded: needs a file path, e.g. embedded:./photoseal-work/store.sqlite")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(
                at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(
                .io, store: location,
                message: "cannot create the folder \(folder.path) for the store; check its permissions")
        }
        var configuration = Configuration()
        configuration.label = "photoseal.embedded-store"
        configuration.busyMode = .timeout(10)
        // SQLite's checkpoint every 1,000 pages stays: GRDB runs WAL with `synchronous = NORMAL`,
        // so a commit reaches the disk for sure at the next checkpoint, and the store is where
        // documents end. (Every 10,000 pages copied 26 MB instead of 43 MB for 5,000 photos, but
        // left up to 40 MB of loaded documents to a power cut.)
        // 0600 before SQLite creates it (its -wal and -shm files take the same mode).
        if !FileManager.default.fileExists(atPath: path) { PrivateFiles.prepareFile(path) }
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try database.write { db in try Self.migrate(db, location: location) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw Self.mapped(error, location: location, operation: "opening the store")
        }
    }

    private static func migrate(_ db: Database, location: String) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        if version > formatVersion {
            throw StoreError(
                .corrupt, store: location,
                message: "the file was written by a newer photoseal (format \(version)); upgrade photoseal")
        }
        if version == 0 && !tables.isEmpty {
            throw StoreError(
                .corrupt, store: location,
                message: "the file is an SQLite database but not a photoseal store; choose another path")
        }
        guard version == 0 else {
            // Stores made before 2026-12-07 have an index of the field index by id, which every
            // write kept up to date (a third of the pages a load rewrote): entries are now
            // deleted by their whole key, read from the document they index.
            try db.execute(sql: "DROP INDEX IF EXISTS field_index_by_id")
            return
        }
        try db.execute(
            sql: """
                CREATE TABLE documents (id TEXT PRIMARY KEY NOT NULL, body BLOB NOT NULL);
                CREATE TABLE field_index (
                    path TEXT NOT NULL, key BLOB NOT NULL, id TEXT NOT NULL,
                    PRIMARY KEY (path, key, id)) WITHOUT ROWID;
                PRAGMA user_version = \(formatVersion);
                """)
    }

    /// The file `<stem>.<name>.sqlite` beside this store's file; see the protocol. (A file of
    /// its own: the store's format holds one collection.)
    public func collection(named name: String) throws -> any DocumentStore {
        try StoreURI.checkCollectionName(name, store: location)
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let sibling = url.deletingLastPathComponent().appendingPathComponent("\(stem).\(name).sqlite").path
        return try EmbeddedStore(path: sibling, batchSize: batchSize, logger: logger)
    }

    /// Write transactions that changed data since the store was opened.
    public var writeCount: Int { writes.value }

    // MARK: DocumentStore

    /// Reads the file's format version: the file is open, readable and a photoseal store.
    public func ping() async throws {
        _ = try await read("checking the store") { db in try Int.fetchOne(db, sql: "PRAGMA user_version") }
    }

    /// The indexes exist from the moment the file is created; nothing to do.
    public func ensureIndexes() async throws {}

    /// Inserts or replaces documents, one transaction per `batchSize` documents; identical
    /// documents are not written. A document that cannot be encoded fails its transaction (the
    /// transactions before it in the same call stay written: an upsert again is harmless).
    public func upsert(_ documents: [StoreDocument]) async throws -> UpsertSummary {
        var checked: [(id: String, document: StoreDocument)] = []
        checked.reserveCapacity(documents.count)
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
            checked.append((id, document))
        }
        let location = location
        var summary = UpsertSummary()
        var start = 0
        while start < checked.count {
            let batch = Array(checked[start..<min(start + batchSize, checked.count)])
            start += batch.count
            summary += try await perform("writing \(batch.count) documents") { db in
                var summary = UpsertSummary()
                for item in batch {
                    // Encoded one at a time, as it is written: a batch's bodies are never all
                    // in memory at once (500 documents held 1.4 MB at a run's peak).
                    let body: Data
                    do throws(BSONCodecError) {
                        body = Data(try BSONCodec.encode(item.document).bytes)
                    } catch {
                        throw error.storeError(store: location, id: item.id)
                    }
                    let stored = try Self.body(db, id: item.id)
                    if stored == body {
                        summary.unchanged += 1
                        continue
                    }
                    if stored == nil {
                        summary.inserted += 1
                        try db.cachedStatement(sql: "INSERT INTO documents (id, body) VALUES (?, ?)")
                            .execute(arguments: [item.id, body])
                    } else {
                        summary.updated += 1
                        try db.cachedStatement(sql: "UPDATE documents SET body = ? WHERE id = ?")
                            .execute(arguments: [body, item.id])
                    }
                    try Self.reindex(
                        db, id: item.id, entries: try Self.indexEntries(of: item.document),
                        replacing: stored.map { Self.storedEntries($0, id: item.id) } ?? [])
                }
                return summary
            }
        }
        return summary
    }

    /// The document with this `_id`, or `nil`.
    public func find(id: String) async throws -> StoreDocument? {
        try await read("reading document \(id)") { db in
            guard let body = try Self.body(db, id: id) else { return nil }
            return try Self.decode(body, id: id)
        }
    }

    /// Documents whose value at `path` matches `value`, in `_id` order (indexed paths use the
    /// index; others scan every document).
    public func find(where path: String, equals value: StoreValue, limit: Int?) async throws -> [StoreDocument] {
        let limit = limit.map { max(1, $0) } ?? -1
        return try await read("finding documents by \(path)") { db in
            if Self.indexedPaths.contains(path), !value.isNull {
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT d.id, d.body FROM field_index f JOIN documents d ON d.id = f.id
                        WHERE f.path = ? AND f.key = ? ORDER BY d.id LIMIT ?
                        """,
                    arguments: [path, try Self.indexKey(value), limit])
                var found: [StoreDocument] = []
                while let row = try rows.next() { found.append(try Self.decode(row[1], id: row[0])) }
                return found
            }
            var found: [StoreDocument] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT id, body FROM documents ORDER BY id")
            while let row = try rows.next(), limit < 0 || found.count < limit {
                let document = try Self.decode(row[1], id: row[0])
                if document.matches(path, value) { found.append(document) }
            }
            return found
        }
    }

    /// The number of documents.
    public func count() async throws -> Int {
        try await read("counting documents") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM documents") ?? 0 }
    }

    /// The number of documents whose value at `path` matches `value`.
    public func count(where path: String, equals value: StoreValue) async throws -> Int {
        if Self.indexedPaths.contains(path), !value.isNull {
            return try await read("counting documents by \(path)") { db in
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM field_index WHERE path = ? AND key = ?",
                    arguments: [path, try Self.indexKey(value)]) ?? 0
            }
        }
        return try await find(where: path, equals: value, limit: nil).count
    }

    /// Reads, checks and rewrites the document in one SQLite write transaction.
    public func compareAndSet(
        id: String, expect: [(String, StoreValue)], set: [(String, StoreValue)]
    ) async throws -> Bool {
        try StoreURI.checkSettable(set, id: id, store: location)
        return try await perform("updating document \(id)") { db in
            guard let body = try Self.body(db, id: id) else { return false }
            var document = try Self.decode(body, id: id)
            guard expect.allSatisfy({ document.matches($0.0, $0.1) }) else { return false }
            let replaced = try Self.indexEntries(of: document)
            for (path, value) in set {
                guard document.setValue(value, at: path) else {
                    throw StoreError(
                        .writeFailed, store: "embedded:",
                        message: "document \(id): cannot set \(path) because a field on the way is not a document")
                }
            }
            let updated: Data
            do throws(BSONCodecError) { updated = Data(try BSONCodec.encode(document).bytes) } catch {
                throw error.storeError(store: "embedded:", id: id)
            }
            guard updated != body else { return true }
            try db.execute(sql: "UPDATE documents SET body = ? WHERE id = ?", arguments: [updated, id])
            try Self.reindex(db, id: id, entries: try Self.indexEntries(of: document), replacing: replaced)
            return true
        }
    }

    /// Deletes the document with this `_id`.
    public func delete(id: String) async throws -> Bool {
        try await perform("deleting document \(id)") { db in
            guard let body = try Self.body(db, id: id) else { return false }
            try Self.reindex(db, id: id, entries: [], replacing: Self.storedEntries(body, id: id))
            try db.execute(sql: "DELETE FROM documents WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// Every document in `_id` order, one read per batch.
    public func allDocuments(batchSize: Int) -> DocumentBatches {
        DocumentBatches(fetch: batchReader(batchSize) { row in try Self.decode(row[1], id: row[0]) })
    }

    /// Every document's stored bytes, checked as a decode would but not decoded; bytes that
    /// would not decode come with ``RawDocument/damage`` set.
    public func allRawDocuments(batchSize: Int) -> RawDocumentBatches {
        RawDocumentBatches(
            fetch: batchReader(batchSize) { row in
                let id: String = row[0]
                // The blob straight from SQLite's buffer into the array, with no Data between.
                let bytes = try row.withUnsafeData(atIndex: 1) { data in [UInt8](data ?? Data()) }
                return RawDocument(auditing: bytes, id: id)
            })
    }

    /// Reads the batch of `batchSize` rows (`id`, `body`) after an `_id`, each made into a
    /// document by `make`.
    private func batchReader<Document: Sendable>(
        _ batchSize: Int, _ make: @escaping @Sendable (Row) throws -> Document
    ) -> @Sendable (String?) async throws -> [Document] {
        let size = max(1, batchSize)
        return { [self] after in
            try await read("reading documents") { db in
                let rows =
                    if let after {
                        try Row.fetchCursor(
                            db, sql: "SELECT id, body FROM documents WHERE id > ? ORDER BY id LIMIT ?",
                            arguments: [after, size])
                    } else {
                        try Row.fetchCursor(
                            db, sql: "SELECT id, body FROM documents ORDER BY id LIMIT ?", arguments: [size])
                    }
                var batch: [Document] = []
                batch.reserveCapacity(size)
                while let row = try rows.next() { batch.append(try make(row)) }
                return batch
            }
        }
    }

    /// Deletes every document.
    public func drop() async throws {
        _ = try await perform("dropping the store") { db in
            try db.execute(sql: "DELETE FROM field_index; DELETE FROM documents;")
            return true
        }
    }

    // MARK: Helpers

    private static func decode(_ body: Data, id: String) throws -> StoreDocument {
        let result = body.withUnsafeBytes { raw in
            Result { () throws(BSONCodecError) in try BSONCodec.decode(bytes: raw) }
        }
        switch result {
        case .success(let document): return document
        case .failure(let error): throw error.storeError(store: "embedded:", id: id)
        }
    }

    /// The index key of a value: its BSON encoding as the only field of a document, so values
    /// of different types never collide.
    static func indexKey(_ value: StoreValue) throws -> Data {
        // Strings (kids, blind-index hex, terms, country codes) are nearly every key: a tag byte
        // plus UTF-8. Other values: tag 0x00 plus their BSON form. Distinct tags never collide.
        if case .string(let text) = value { return Data([0x02]) + Data(text.utf8) }
        do {
            return Data([0x00]) + Data(try BSONCodec.encode(fieldsInOrder: [StoreField(key: "", value: value)]).bytes)
        } catch {
            throw error.storeError(store: "embedded:", id: nil)
        }
    }

    /// The stored BSON of the document with this `_id`, or `nil`.
    private static func body(_ db: Database, id: String) throws -> Data? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT body FROM documents WHERE id = ?"), arguments: [id])
    }

    /// The field index's entries for `document`: (path, key) for each indexed path it has, and
    /// for each element of an array there.
    private static func indexEntries(of document: StoreDocument) throws -> Set<IndexEntry> {
        var entries = Set<IndexEntry>()
        for path in indexedPaths {
            guard let value = document.value(at: path), !value.isNull else { continue }
            var keys = [value]
            if case .array(let elements) = value { keys += elements }
            for key in keys { entries.insert(IndexEntry(path: path, key: try indexKey(key))) }
        }
        return entries
    }

    /// One entry of the field index, less the document's id.
    private struct IndexEntry: Hashable {
        let path: String
        let key: Data
    }

    /// The field index's entries of a stored body; `nil` when it does not decode.
    private static func storedEntries(_ body: Data, id: String) -> Set<IndexEntry>? {
        try? indexEntries(of: decode(body, id: id))
    }

    /// Brings the field index's entries for `id` from `gone` (those of the document replaced:
    /// empty for a new one; `nil` when unknown, for a stored body that does not decode) to
    /// `entries`: only the entries that changed are deleted or inserted (a key rotation
    /// changes `seal.kid` alone).
    private static func reindex(
        _ db: Database, id: String, entries: Set<IndexEntry>, replacing gone: Set<IndexEntry>?
    ) throws {
        // Cached statements: an upsert of many documents would otherwise spend most of its
        // time compiling the same few statements again.
        if let gone {
            let delete = try db.cachedStatement(sql: "DELETE FROM field_index WHERE path = ? AND key = ? AND id = ?")
            for entry in gone.subtracting(entries) { try delete.execute(arguments: [entry.path, entry.key, id]) }
        } else {
            // Found by id: a scan of the index, only for a document that was damaged.
            try db.execute(sql: "DELETE FROM field_index WHERE id = ?", arguments: [id])
        }
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO field_index (path, key, id) VALUES (?, ?, ?)")
        let added = gone.map { $0.isEmpty ? entries : entries.subtracting($0) } ?? entries
        for entry in added { try insert.execute(arguments: [entry.path, entry.key, id]) }
    }

    private func perform<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        let counter = writes
        do {
            return try await database.write { db in
                let before = db.totalChangesCount
                let result = try body(db)
                if db.totalChangesCount != before { counter.increment() }
                return result
            }
        } catch {
            throw Self.mapped(error, location: location, operation: operation)
        }
    }

    private func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        do {
            return try await database.read(body)
        } catch {
            throw Self.mapped(error, location: location, operation: operation)
        }
    }

    private static func mapped(_ error: any Error, location: String, operation: String) -> StoreError {
        if let error = error as? StoreError {
            return StoreError(error.code, store: location, message: error.message, rawCode: error.rawCode)
        }
        guard let error = error as? DatabaseError else {
            return StoreError(.io, store: location, message: "\(operation) failed: \(error)")
        }
        let raw = (domain: UInt32(0), code: UInt32(truncatingIfNeeded: error.extendedResultCode.rawValue))
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return StoreError(
                .corrupt, store: location,
                message: "\(operation) failed: the file is not a readable SQLite database; restore it from a "
                    + "backup or choose another path",
                rawCode: raw)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(
                .conflict, store: location,
                message: "\(operation) failed: another process holds the store's lock; try again", rawCode: raw)
        case .SQLITE_CANTOPEN, .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_IOERR, .SQLITE_FULL:
            return StoreError(
                .io, store: location,
                message: "\(operation) failed: \(error.message ?? "I/O error"); check the path, its permissions "
                    + "and free disk space",
                rawCode: raw)
        default:
            return StoreError(
                .io, store: location, message: "\(operation) failed: \(error.message ?? "SQLite error")", rawCode: raw)
        }
    }
}
