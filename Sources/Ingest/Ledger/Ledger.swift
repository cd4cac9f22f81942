import Crypto
import Foundation
import GRDB
public import Logging

/// The staging ledger: one SQLite database in the work directory that every stage reads its
/// work from and commits its results to.
///
/// One row per photo, the search's progress, the labels paid for and API-call counters (the
/// schema and its migrations: Ledger+Schema.swift). It opens in WAL mode through a GRDB
/// `DatabasePool`, so any number of tasks read while one writes, and every change is one
/// transaction: a process killed at any instant leaves the last committed state.
///
/// Documents hold personal fields only in sealed form; nothing here writes them in plaintext.
public final class Ledger: Sendable {
    /// The database's file name inside the work directory.
    public static let fileName = "ledger.sqlite"

    /// The stages a photo row moves through.
    public struct Stage: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The stage's name as stored.
        public let name: String
        /// Makes a stage from its stored name.
        public init(_ name: String) { self.name = name }
        /// Found by a source (search or import); not yet downloaded.
        public static let found = Stage("found")
        /// The image is in the image store.
        public static let downloaded = Stage("downloaded")
        /// EXIF read and place geocoded.
        public static let extracted = Stage("extracted")
        /// Labels scored.
        public static let scored = Stage("scored")
        /// Stored in the document store.
        public static let loaded = Stage("loaded")
        /// The source no longer offers the photo.
        public static let unavailable = Stage("unavailable")
        /// A stage failed for good on this photo.
        public static let failed = Stage("failed")
        /// Every stage in pipeline order.
        public static let all: [Stage] = [.found, .downloaded, .extracted, .scored, .loaded, .unavailable, .failed]
        /// The name.
        public var description: String { name }
    }

    /// The database file's path.
    public let path: String
    let pool: DatabasePool
    let logger: Logger
    /// Documents committed by one stage, kept for the next stage's claim (`run`).
    let handoff = DocumentHandoff()

    /// Opens (creating if needed) the ledger in `directory` and brings its schema up to date.
    /// - Throws: `IngestError.ledger` naming the path when the directory or database cannot be
    ///   created or opened.
    public init(directory: String, logger: Logger) throws {
        do {
            try PrivateFiles.makeDirectory(directory)
        } catch {
            throw IngestError(.ledger, "cannot create the work directory \(directory); check --workdir and permissions")
        }
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        self.logger = logger
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.label = "photoseal.ledger"
        // A checkpoint every 10,000 pages (40 MB of log) instead of SQLite's 1,000: the state
        // and index pages every commit rewrites are copied into the database once per
        // checkpoint, and a 5,000-photo run copied 47 MB instead of 89 MB.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000") }
        // 0600 before SQLite creates it (its -wal and -shm files take the same mode).
        PrivateFiles.prepareFile(path)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw IngestError(
                .ledger, "cannot open the ledger \(path): \(Self.describe(error)); is it a photoseal ledger?")
        }
    }

    /// Creates a ledger file in `directory` with the schema as it was once `migration` had run
    /// (tests of the later migrations start from it).
    package static func create(in directory: String, migratedUpTo migration: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pool = try DatabasePool(path: (directory as NSString).appendingPathComponent(fileName))
        try migrator.migrate(pool, upTo: migration)
    }

    /// Whether a ledger exists in `directory`.
    public static func exists(in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(fileName))
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "SQLite error \(error.resultCode)" }
        return "\(error)"
    }

    /// Runs a write transaction, mapping failures to `IngestError.ledger`.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as IngestError {
            throw error
        } catch is CancellationError {
            throw IngestError(.cancelled, "\(what) was cancelled")
        } catch {
            throw IngestError(.ledger, "cannot \(what) in the ledger \(path): \(Self.describe(error))")
        }
    }

    /// Runs a read, mapping failures to `IngestError.ledger`.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.ledger, "cannot \(what) from the ledger \(path): \(Self.describe(error))")
        }
    }

    static func now() -> String { isoNow() }

    // MARK: Photos

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A document's JSON as the ledger keeps it: `encoder`'s output, byte for byte, written by
    /// `DocumentJSON` (several times faster).
    static func encode(_ document: PhotoDocument) throws -> String {
        try DocumentJSON.encode(document)
    }

    static func decode(_ json: String, id: String) throws -> PhotoDocument {
        do {
            return try JSONDecoder().decode(PhotoDocument.self, from: Data(json.utf8))
        } catch {
            throw IngestError(.ledger, "the ledger's document for \(id) is not valid; the ledger may be damaged")
        }
    }

    /// Inserts a found photo, or adds `document.terms` to the terms of the row already there.
    /// - Returns: `true` when the photo is new.
    static func upsertFound(_ document: PhotoDocument, json: String, db: Database) throws -> Bool {
        if let existing = try String.fetchOne(
            db, sql: "SELECT document FROM photo_document WHERE id = ?", arguments: [document.id])
        {
            var stored = try decode(existing, id: document.id)
            let missing = document.terms.filter { !stored.terms.contains($0) }
            guard !missing.isEmpty else { return false }
            stored.terms += missing
            try db.execute(
                sql: "UPDATE photo_document SET document = ? WHERE id = ?",
                arguments: [try encode(stored), document.id])
            try db.execute(sql: "UPDATE photo SET updated_at = ? WHERE id = ?", arguments: [now(), document.id])
            return false
        }
        try insertRow(document, json: json, stage: .found, now: now(), db: db)
        return true
    }

    /// Inserts a new photo row at `stage`: its state in `photo`, its document in
    /// `photo_document`. Returns `false` (and writes nothing) when a row with its id exists.
    @discardableResult
    static func insertRow(_ document: PhotoDocument, json: String, stage: Stage, now: String, db: Database) throws
        -> Bool
    {
        try db.cachedStatement(
            sql: """
                INSERT INTO photo (id, source, source_id, stage, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(id) DO NOTHING
                """
        ).execute(arguments: [document.id, document.source, document.sourceID, stage.name, now])
        guard db.changesCount > 0 else { return false }
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO photo_document (id, document) VALUES (?, ?)")
            .execute(arguments: [document.id, json])
        return true
    }

    /// Writes a row's document, unless it is already exactly `json` (a stage that left the
    /// document as it was costs no write).
    static func writeDocument(id: String, json: String, db: Database) throws {
        try db.cachedStatement(sql: "UPDATE photo_document SET document = ? WHERE id = ? AND document IS NOT ?")
            .execute(arguments: [json, id, json])
    }

    /// A photo row as later stages see it.
    public struct Entry: Sendable {
        /// The document id.
        public var id: String
        /// The row's stage.
        public var stage: Stage
        /// The document.
        public var document: PhotoDocument
        /// The failure recorded on the row (read by `forEachDocument`; `nil` elsewhere).
        public var failure: PhotoFailure? = nil
        /// The document's JSON as read (set by `claim`).
        var json: String? = nil
    }

    /// Claims up to `limit` rows waiting at `stage` for `owner` for `lease` seconds, the oldest
    /// first (in the order the rows were added).
    ///
    /// Claimed rows are skipped by other claimers until the lease runs out (so a crashed
    /// worker's rows come back); finish each with `advance` or `release`.
    public func claim(stage: Stage, limit: Int, owner: String, lease: Double = 600) async throws -> [Entry] {
        // Decoded after the transaction: the one writer is held only for the SQL.
        let claimed = try await write("claim work") { db in
            let now = Date().timeIntervalSince1970
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.id, d.document FROM photo p JOIN photo_document d ON d.id = p.id
                    WHERE p.stage = ? AND (p.lease_until IS NULL OR p.lease_until < ?)
                    ORDER BY p.rowid LIMIT ?
                    """,
                arguments: [stage.name, now, limit])
            var claimed: [(id: String, json: String)] = []
            for row in rows {
                let id: String = row["id"]
                try db.cachedStatement(
                    sql: "UPDATE photo SET lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id = ?"
                ).execute(arguments: [owner, now + lease, id])
                claimed.append((id, row["document"]))
            }
            return claimed
        }
        return try claimed.map { row in
            let document = try handoff.take(id: row.id, json: row.json) ?? Self.decode(row.json, id: row.id)
            return Entry(id: row.id, stage: stage, document: document, json: row.json)
        }
    }

    /// From now on, the documents of rows committed at `stages` stay in memory (a bounded
    /// number) until a claim of this ledger takes them, so a stage running in this process
    /// after the one that committed them skips decoding their JSON (`run` calls it for the
    /// stages its next stages take).
    func handOff(_ stages: Set<Stage>) { handoff.keep(for: stages) }

    /// Moves a claimed row to its next stage with its updated document, records its failure
    /// (`nil` clears any earlier one) and ends the lease.
    public func advance(id: String, to stage: Stage, document: PhotoDocument, failure: PhotoFailure? = nil)
        async throws
    {
        try await advance([Advance(id: id, stage: stage, document: document, failure: failure)])
    }

    /// Ends a lease without changing the row (the work will be claimed again).
    public func release(id: String) async throws {
        try await write("release \(id)") { db in
            try db.execute(sql: "UPDATE photo SET lease_owner = NULL, lease_until = NULL WHERE id = ?", arguments: [id])
        }
    }

    /// Ends the leases on these rows without changing them, in one transaction.
    public func release(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await write("release \(ids.count) photos") { db in
            for id in ids {
                try db.cachedStatement(sql: "UPDATE photo SET lease_owner = NULL, lease_until = NULL WHERE id = ?")
                    .execute(arguments: [id])
            }
        }
    }

    /// Copies the log's committed pages into the database file (a passive checkpoint: it waits
    /// for no reader; the ledger's other writes wait for it), so that closing the ledger has
    /// little left to do.
    func checkpoint() async throws {
        _ = try await pool.writeWithoutTransaction { db in try db.checkpoint(.passive) }
    }

    /// The number of photo rows.
    public func photoCount() async throws -> Int {
        try await read("count photos") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM photo") ?? 0 }
    }

    /// Calls `body` with every document (and its recorded failure) in id order, reading in
    /// batches (memory stays flat).
    public func forEachDocument(_ body: (Entry) throws -> Void) throws {
        try forEachRow(
            columns: "id, stage, document, failure_stage, failure_cause, failure_permanent", what: "documents"
        ) { row in
            let id: String = row["id"]
            try body(
                Entry(
                    id: id, stage: Stage(row["stage"]), document: try Self.decode(row["document"], id: id),
                    failure: Self.failure(row)))
        }
    }

    /// Calls `body` with every photo row (those matching `condition`, when given) in id order,
    /// reading `columns` (which must include `id`; `document` is the row's document) 1,000 rows
    /// at a time: memory stays flat whatever the ledger's size. `what` names the rows in the
    /// error message.
    func forEachRow(
        columns: String, where condition: String? = nil, what: String, _ body: (Row) throws -> Void
    ) throws {
        var after = ""
        let filter = condition.map { "(\($0)) AND " } ?? ""
        // The documents are read only by the passes that name them.
        let table = columns.contains("document") ? "photo JOIN photo_document USING (id)" : "photo"
        while true {
            let batch: [Row]
            do {
                batch = try pool.read { db in
                    try Row.fetchAll(
                        db,
                        sql: """
                            SELECT \(columns) FROM \(table)
                            WHERE \(filter)id > ? ORDER BY id LIMIT 1000
                            """,
                        arguments: [after])
                }
            } catch {
                throw IngestError(.ledger, "cannot read \(what) from the ledger \(path): \(Self.describe(error))")
            }
            guard let last = batch.last else { return }
            for row in batch { try body(row) }
            after = last["id"]
        }
    }

    // MARK: API calls

    /// Adds attempt counts (outcome to count) to the `service` counters.
    public func addAPICalls(_ counts: [String: Int], service: String) async throws {
        guard !counts.isEmpty else { return }
        try await write("count API calls") { db in try Self.addAPICalls(counts, service: service, db: db) }
    }

    static func addAPICalls(_ counts: [String: Int], service: String, db: Database) throws {
        for (outcome, count) in counts where count > 0 {
            try db.execute(
                sql: """
                    INSERT INTO api_call (service, outcome, count) VALUES (?, ?, ?)
                    ON CONFLICT(service, outcome) DO UPDATE SET count = count + excluded.count
                    """,
                arguments: [service, outcome, count])
        }
    }

    /// Adds one to the counter of `service` calls that ended with `outcome`.
    public func countAPICall(service: String, outcome: String) async throws {
        try await write("count an API call") { db in
            try db.execute(
                sql: """
                    INSERT INTO api_call (service, outcome, count) VALUES (?, ?, 1)
                    ON CONFLICT(service, outcome) DO UPDATE SET count = count + 1
                    """,
                arguments: [service, outcome])
        }
    }
}

/// Now as ISO 8601 UTC with seconds.
func isoNow() -> String {
    TakenDate.format(Int64(Date().timeIntervalSince1970)) + "Z"
}
