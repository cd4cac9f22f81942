import Crypto
import Foundation
import GRDB

/// A ledger row ready for `encrypt-load`, with the exact JSON it was read as.
public struct LoadCandidate: Sendable {
    /// The document id.
    public var id: String
    /// The row's stage when read.
    public var stage: Ledger.Stage
    /// The document.
    public var document: PhotoDocument
    /// The document's JSON as stored in the ledger (marking it loaded checks it is unchanged).
    public var json: String
    /// SHA-256 hex of `json`.
    public var digest: String
}

extension Ledger {
    /// The SHA-256 of a document's ledger JSON, as kept per store in `store_load`.
    static func digest(_ json: String) throws -> String {
        do {
            return try SHA256Digest.hex(Array(json.utf8))
        } catch {
            throw IngestError.wrapping(error, context: "digesting a ledger document")
        }
    }

    /// The next rows (in id order, after `after`) that `encrypt-load` should load into `store`:
    /// rows at `extracted` or `scored`, and `loaded` rows that `store` has not received in their
    /// current version (loaded into another store only, or changed since).
    ///
    /// - Parameters:
    ///   - store: The store's key (``StoreRecord/key``); load state is kept per store.
    ///   - after: Read ids greater than this (`nil`: from the start).
    ///   - limit: Rows read per call (the result holds at most this many).
    ///   - stages: The stages read (default `extracted`, `scored` and `loaded`); a pipeline that
    ///     scores passes only `scored` so nothing is loaded before it is scored.
    /// - Returns: The candidates and the last id read (`nil` when there are no more rows).
    public func loadCandidates(
        store: String, after: String?, limit: Int, stages: [Stage] = [.extracted, .scored, .loaded]
    ) async throws -> (candidates: [LoadCandidate], last: String?) {
        let marks = stages.map { _ in "?" }.joined(separator: ", ")
        // `+p.stage`: read along the id index from `after` (no sort), not the stage index, which
        // lists a stage's rows in the order they were added.
        let rows = try await read("read documents to load") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT p.id, p.stage, d.document, l.digest FROM photo p
                    JOIN photo_document d ON d.id = p.id
                    LEFT JOIN store_load l ON l.store = ? AND l.id = p.id
                    WHERE p.id > ? AND +p.stage IN (\(marks)) ORDER BY p.id LIMIT ?
                    """,
                arguments: StatementArguments(
                    [store, after ?? ""] as [any DatabaseValueConvertible] + stages.map(\.name) + [limit])
            ).map { row -> (id: String, stage: String, json: String, loaded: String?) in
                (row[0], row[1], row[2], row[3])
            }
        }
        var candidates: [LoadCandidate] = []
        for row in rows {
            let digest = try Self.digest(row.json)
            if row.loaded == digest { continue }
            candidates.append(
                LoadCandidate(
                    id: row.id, stage: Stage(row.stage), document: try Self.decode(row.json, id: row.id),
                    json: row.json, digest: digest))
        }
        return (candidates, rows.last?.id)
    }

    /// Records that `store` holds these documents in the version read, and marks their rows
    /// `loaded` (clearing any failure recorded earlier), in one transaction; a row whose document
    /// changed since it was read is left
    /// alone (the next run loads the new version).
    ///
    /// - Returns: How many rows were marked.
    @discardableResult
    public func markLoaded(_ candidates: [LoadCandidate], store: String) async throws -> Int {
        try await write("mark documents loaded") { db in
            let now = Self.now()
            var marked = 0
            // The document is only compared, never written: one UPDATE of the small state row
            // moves it and clears its failure; a row already `loaded` with no failure (loaded into
            // another store, or again) is not written at all.
            let clear = Self.failureColumns(nil)
            let unchanged = try db.cachedStatement(sql: "SELECT 1 FROM photo_document WHERE id = ? AND document = ?")
            let move = try db.cachedStatement(
                sql: """
                    UPDATE photo SET stage = 'loaded', updated_at = ?, lease_owner = NULL, lease_until = NULL,
                    \(clear.sql)
                    WHERE id = ? AND (stage != 'loaded' OR failure_stage IS NOT NULL OR lease_owner IS NOT NULL)
                    """)
            let release = try db.cachedStatement(
                sql: "UPDATE photo SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner IS NOT NULL")
            let record = try db.cachedStatement(
                sql: """
                    INSERT INTO store_load (store, id, digest) VALUES (?, ?, ?)
                    ON CONFLICT(store, id) DO UPDATE SET digest = excluded.digest
                    """)
            for candidate in candidates {
                guard try Int.fetchOne(unchanged, arguments: [candidate.id, candidate.json]) != nil else {
                    // Changed since it was read: the next run loads the new version.
                    try release.execute(arguments: [candidate.id])
                    continue
                }
                try move.execute(arguments: [now] + clear.arguments + [candidate.id])
                try record.execute(arguments: [store, candidate.id, candidate.digest])
                marked += 1
            }
            return marked
        }
    }

    /// Ids `store` has received (in id order, byte order), after `after`, at most `limit`.
    public func loadedIDs(store: String, after: String?, limit: Int) async throws -> [String] {
        try await read("read loaded ids") { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT l.id FROM store_load l JOIN photo p ON p.id = l.id
                    WHERE l.store = ? AND l.id > ? ORDER BY l.id LIMIT ?
                    """,
                arguments: [store, after ?? "", limit])
        }
    }

    /// How many documents each store has received, by store key.
    public func loadedCounts() async throws -> [String: Int] {
        try await read("count loaded documents") { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT store, COUNT(*) FROM store_load GROUP BY store") {
                counts[row[0]] = row[1]
            }
            return counts
        }
    }

    /// Whether rows carry load state from a version that kept one store's state in the photo
    /// table (`loaded_digest`), not yet assigned to a store.
    public func hasUnassignedLoadState() async throws -> Bool {
        try await read("read the load state") { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM photo WHERE loaded_digest IS NOT NULL)") ?? false
        }
    }

    /// Assigns the older one-store load state (`loaded_digest`) to `store`, once.
    public func assignLoadState(to store: String) async throws {
        try await write("move the load state") { db in
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO store_load (store, id, digest)
                    SELECT ?, id, loaded_digest FROM photo WHERE loaded_digest IS NOT NULL
                    """,
                arguments: [store])
            try db.execute(sql: "UPDATE photo SET loaded_digest = NULL WHERE loaded_digest IS NOT NULL")
        }
    }

    /// The distinct `seal.kid`s of the ledger's documents (which keys sealed something here).
    public func sealKids() async throws -> [String] {
        try await read("read key ids") { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT json_extract(document, '$.seal.kid') AS kid FROM photo_document WHERE kid IS NOT NULL
                    """)
        }
    }

    /// The number of rows whose document's `seal.kid` is `kid`.
    public func count(sealKid kid: String) async throws -> Int {
        try await read("count documents by key id") { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM photo_document WHERE json_extract(document, '$.seal.kid') = ?",
                arguments: [kid])
                ?? 0
        }
    }

    /// Rows (id order, after `after`) whose document's `seal.kid` is not `kid` (`nil`: every row).
    public func documents(notSealedBy kid: String?, after: String?, limit: Int) async throws -> [LoadCandidate] {
        let rows = try await read("read documents to re-seal") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT p.id, p.stage, d.document FROM photo p JOIN photo_document d ON d.id = p.id
                    WHERE p.id > ? AND (? IS NULL OR json_extract(d.document, '$.seal.kid') IS NOT ?)
                    ORDER BY p.id LIMIT ?
                    """,
                arguments: [after ?? "", kid, kid, limit]
            ).map { row -> (id: String, stage: String, json: String) in (row["id"], row["stage"], row["document"]) }
        }
        return try rows.map { row in
            LoadCandidate(
                id: row.id, stage: Stage(row.stage), document: try Self.decode(row.json, id: row.id), json: row.json,
                digest: "")
        }
    }

    /// Replaces a row's document if it is still exactly `expected` (compare-and-set).
    ///
    /// The stores keep their digests of the old version, so a loaded row whose document changed is
    /// loaded again.
    /// - Returns: Whether the row was changed.
    public func replaceDocument(id: String, expected: String, with document: PhotoDocument) async throws -> Bool {
        let json = try Self.encode(document)
        return try await write("re-seal \(id)") { db in
            try db.execute(
                sql: "UPDATE photo_document SET document = ? WHERE id = ? AND document = ?",
                arguments: [json, id, expected])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "UPDATE photo SET updated_at = ? WHERE id = ?", arguments: [Self.now(), id])
            return true
        }
    }
}
