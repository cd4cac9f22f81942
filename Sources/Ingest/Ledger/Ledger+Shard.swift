import Foundation
import GRDB

extension Ledger {
    /// Calls `body` with the id and the document JSON (exactly as the ledger holds it: personal
    /// fields sealed) of every row at `found`, in id order, 1,000 rows at a time (what
    /// `photoseal plan` writes into shard files).
    public func forEachFoundDocument(_ body: (_ id: String, _ json: String) throws -> Void) throws {
        // `+stage`: read along the id index (each batch starts where the last ended), not the
        // stage index, which lists a stage's rows in the order they were added.
        try forEachRow(columns: "id, document", where: "+stage = 'found'", what: "found photos") { row in
            try body(row["id"], row["document"])
        }
    }

    /// Inserts rows at `found` for documents a plan's shard file holds; a row whose id is
    /// already in the ledger is left as it is (seeding again changes nothing).
    /// - Returns: The rows inserted.
    public func seedFound(_ documents: [PhotoDocument]) async throws -> Int {
        guard !documents.isEmpty else { return 0 }
        let encoded = try documents.map { ($0, try Self.encode($0)) }
        return try await write("seed \(documents.count) planned photos") { db in
            let now = Self.now()
            var inserted = 0
            for (document, json) in encoded
            where try Self.insertRow(document, json: json, stage: .found, now: now, db: db) {
                inserted += 1
            }
            return inserted
        }
    }

    /// Rows with a failure recorded that a later run may clear (transient: not at `failed`,
    /// `unavailable` or `loaded`).
    public func transientFailureCount() async throws -> Int {
        try await read("count transient failures") { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM photo WHERE failure_stage IS NOT NULL AND failure_permanent = 0
                    AND stage NOT IN ('failed', 'unavailable', 'loaded')
                    """) ?? 0
        }
    }
}
