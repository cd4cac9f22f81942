import Foundation
import GRDB

extension Ledger {
    /// A lease owner name for a stage worker in this process: `<stage>@<host>#<pid>#<random>`.
    public static func leaseOwner(_ stage: String) -> String {
        "\(stage)@\(ProcessInfo.processInfo.hostName)#\(getpid())#\(UUID().uuidString.prefix(8))"
    }

    /// Ends the leases on rows at `stage` held by workers of this host whose process is gone
    /// (killed), so a re-run takes their work over at once instead of after the lease expires.
    /// - Returns: how many rows were released.
    public func releaseDeadLeases(stage: Stage) async throws -> Int {
        let host = ProcessInfo.processInfo.hostName
        return try await write("release the leases of killed workers") { db in
            let owners = try String.fetchAll(
                db, sql: "SELECT DISTINCT lease_owner FROM photo WHERE stage = ? AND lease_owner IS NOT NULL",
                arguments: [stage.name])
            var released = 0
            for owner in owners {
                let parts = owner.split(separator: "@", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let rest = parts[1].split(separator: "#")
                guard rest.count == 3, String(rest[0]) == host, let pid = Int32(rest[1]) else { continue }
                // kill(pid, 0) fails with ESRCH when no such process exists.
                guard pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
                try db.execute(
                    sql: "UPDATE photo SET lease_owner = NULL, lease_until = NULL WHERE stage = ? AND lease_owner = ?",
                    arguments: [stage.name, owner])
                released += db.changesCount
            }
            return released
        }
    }

    /// The number of rows at `stage`.
    public func count(stage: Stage) async throws -> Int {
        try await read("count photos at a stage") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM photo WHERE stage = ?", arguments: [stage.name]) ?? 0
        }
    }

    /// Inserts a photo from an import source at `stage` unless a row with its id exists.
    /// - Returns: `true` when the row is new.
    public func insertImported(_ document: PhotoDocument, stage: Stage) async throws -> Bool {
        try await insertImported([document], stage: stage) == 1
    }

    /// Inserts photos from an import source at `stage` in one transaction, skipping ids
    /// already in the ledger.
    /// - Returns: how many rows are new.
    public func insertImported(_ documents: [PhotoDocument], stage: Stage) async throws -> Int {
        guard !documents.isEmpty else { return 0 }
        let rows = try documents.map { (document: $0, json: try Self.encode($0)) }
        return try await write("record imported photos") { db in
            var added = 0
            let now = Self.now()
            for (document, json) in rows where try Self.insertRow(document, json: json, stage: stage, now: now, db: db)
            {
                added += 1
            }
            return added
        }
    }

    /// One row's new state, for `advance(_:)`.
    public struct Advance: Sendable {
        /// The row id.
        public var id: String
        /// Its new stage.
        public var stage: Stage
        /// Its updated document.
        public var document: PhotoDocument
        /// The failure to record (`nil` clears any earlier one).
        public var failure: PhotoFailure?
        /// The document's JSON as stored, when `document` is unchanged since it was read: the
        /// document is then neither encoded nor written.
        var json: String?
        /// Makes the record.
        public init(id: String, stage: Stage, document: PhotoDocument, failure: PhotoFailure?) {
            self.id = id
            self.stage = stage
            self.document = document
            self.failure = failure
        }
    }

    /// Moves many claimed rows to their next stages in one transaction (one commit, one sync,
    /// however many rows), records each row's failure (`nil` clears an earlier one) and ends
    /// their leases.
    public func advance(_ rows: [Advance]) async throws {
        guard !rows.isEmpty else { return }
        let encoded = try rows.map { (row: $0, json: try $0.json == nil ? Self.encode($0.document) : nil) }
        try await write("advance \(rows.count) photos") { db in
            let now = Self.now()
            for (row, json) in encoded {
                // The state row is small: moving it never rewrites the document, which is
                // written only when the stage changed it.
                let failure = Self.failureColumns(row.failure)
                try db.cachedStatement(
                    sql: """
                        UPDATE photo SET stage = ?, updated_at = ?, lease_owner = NULL,
                        lease_until = NULL, \(failure.sql) WHERE id = ?
                        """
                ).execute(arguments: [row.stage.name, now] + failure.arguments + [row.id])
                if let json { try Self.writeDocument(id: row.id, json: json, db: db) }
            }
        }
        for (row, json) in encoded where handoff.keeps(row.stage) {
            if let json = json ?? row.json { handoff.put(id: row.id, json: json, document: row.document) }
        }
    }

    /// Whether a row with this id exists.
    public func contains(id: String) async throws -> Bool {
        try await read("look up a photo") { db in
            try Int.fetchOne(db, sql: "SELECT 1 FROM photo WHERE id = ?", arguments: [id]) != nil
        }
    }
}
