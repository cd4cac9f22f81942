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
    /// The SHA-256 of a document's ledger JSON, as kept in `loaded_digest`.
    static func digest(_ json: String) throws -> String {
        do {
            return try SHA256Digest.hex(Array(json.utf8))
        } catch {
            throw IngestError.wrapping(error, context: "digesting a ledger document")
        }
    }

    /// The next rows (in id order, after `after`) that `encrypt-load` should load: rows at
    /// `extracted` or `scored`, and `loaded` rows whose document changed since it was loaded.
    ///
    /// - Parameters:
    ///   - after: Read ids greater than this (`nil`: from the start).
    ///   - limit: Rows read per call (the result holds at most this many).
    ///   - stages: The stages read (default `extracted`, `scored` and `loaded`); a pipeline that
    ///     scores passes only `scored` so nothing is loaded before it is scored.
    /// - Returns: The candidates and the last id read (`nil` when there are no more rows).
    public func loadCandidates(
        after: String?, limit: Int, stages: [Stage] = [.extracted, .scored, .loaded]
    ) async throws -> (candidates: [LoadCandidate], last: String?) {
        let marks = stages.map { _ in "?" }.joined(separator: ", ")
        let rows = try await read("read documents to load") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, stage, document, loaded_digest FROM photo
                    WHERE id > ? AND stage IN (\(marks)) ORDER BY id LIMIT ?
                    """,
                arguments: StatementArguments(
                    [after ?? ""] as [any DatabaseValueConvertible] + stages.map(\.name) + [limit])
            ).map { row -> (id: String, stage: String, json: String, loaded: String?) in
                (row["id"], row["stage"], row["document"], row["loaded_digest"])
            }
        }
        var candidates: [LoadCandidate] = []
        for row in rows {
            let stage = Stage(row.stage)
            let digest = try Self.digest(row.json)
            if stage == .loaded, row.loaded == digest { continue }
            candidates.append(
                LoadCandidate(
                    id: row.id, stage: stage, document: try Self.decode(row.json, id: row.id), json: row.json,
                    digest: digest))
        }
        return (candidates, rows.last?.id)
    }

    /// Marks loaded documents `loaded` with their digest (clearing any failure recorded
    /// earlier), in one transaction; a row whose document changed since it was read is left
    /// alone (the next run loads the new version).
    ///
    /// - Returns: How many rows were marked.
    @discardableResult
    public func markLoaded(_ candidates: [LoadCandidate]) async throws -> Int {
        try await write("mark documents loaded") { db in
            let now = Self.now()
            var marked = 0
            for candidate in candidates {
                try db.execute(
                    sql: """
                        UPDATE photo SET stage = 'loaded', loaded_digest = ?, updated_at = ?
                        WHERE id = ? AND document = ?
                        """,
                    arguments: [candidate.digest, now, candidate.id, candidate.json])
                guard db.changesCount > 0 else { continue }
                marked += 1
                try Self.record(nil, id: candidate.id, db: db)
            }
            return marked
        }
    }

    /// Loaded row ids in id order (byte order), after `after`, at most `limit`.
    public func loadedIDs(after: String?, limit: Int) async throws -> [String] {
        try await read("read loaded ids") { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM photo WHERE stage = 'loaded' AND id > ? ORDER BY id LIMIT ?",
                arguments: [after ?? "", limit])
        }
    }

    /// The number of rows whose document's `seal.kid` is `kid`.
    public func count(sealKid kid: String) async throws -> Int {
        try await read("count documents by key id") { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM photo WHERE json_extract(document, '$.seal.kid') = ?", arguments: [kid])
                ?? 0
        }
    }

    /// Rows (id order, after `after`) whose document's `seal.kid` is not `kid`.
    public func documents(notSealedBy kid: String, after: String?, limit: Int) async throws -> [LoadCandidate] {
        let rows = try await read("read documents to re-seal") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, stage, document FROM photo
                    WHERE id > ? AND json_extract(document, '$.seal.kid') IS NOT ? ORDER BY id LIMIT ?
                    """,
                arguments: [after ?? "", kid, limit]
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
    /// The row keeps its `loaded_digest`, so a loaded row whose document changed is loaded again.
    /// - Returns: Whether the row was changed.
    public func replaceDocument(id: String, expected: String, with document: PhotoDocument) async throws -> Bool {
        let json = try Self.encode(document)
        return try await write("re-seal \(id)") { db in
            try db.execute(
                sql: "UPDATE photo SET document = ?, updated_at = ? WHERE id = ? AND document = ?",
                arguments: [json, Self.now(), id, expected])
            return db.changesCount > 0
        }
    }
}
