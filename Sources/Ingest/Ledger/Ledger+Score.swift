public import Enrich
import Foundation
import GRDB

extension Ledger {
    /// The rows of a query over `values` whose `IN (…)` list `sql` places (it is given the
    /// placeholders), run 500 values at a time (SQLite bounds the values of one statement).
    static func fetchAll(_ db: Database, in values: [String], _ sql: (String) -> String) throws -> [Row] {
        var rows: [Row] = []
        var start = 0
        while start < values.count {
            let chunk = Array(values[start..<min(start + 500, values.count)])
            start += 500
            let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            rows += try Row.fetchAll(db, sql: sql(marks), arguments: StatementArguments(chunk))
        }
        return rows
    }

    /// The labels-cache key each of `photoIDs` is linked to (the SHA-256 of the bytes its image
    /// was sent as), keyed by photo id; a link made under another original SHA-256 than
    /// `images[id]` (the photo was downloaded again since) is left out.
    public func labelLinks(_ images: [String: String]) async throws -> [String: String] {
        let wanted = Array(images.keys)
        return try await read("read the labels links") { db in
            var found: [String: String] = [:]
            for row in try Self.fetchAll(
                db, in: wanted,
                {
                    "SELECT photo_id, image_sha256, sent_sha256 FROM label_link WHERE photo_id IN (\($0))"
                })
            {
                let id: String = row["photo_id"]
                let image: String = row["image_sha256"]
                if images[id] == image { found[id] = row["sent_sha256"] }
            }
            return found
        }
    }

    /// Inserts a photo row at `stage` (or replaces the document and stage of the row with its
    /// id): for import sources and for building ledgers in tests.
    public func insertPhoto(_ document: PhotoDocument, stage: Stage) async throws {
        let json = try Self.encode(document)
        try await write("insert \(document.id)") { db in
            let now = Self.now()
            if try !Self.insertRow(document, json: json, stage: stage, now: now, db: db) {
                try db.execute(
                    sql: "UPDATE photo SET stage = ?, updated_at = ? WHERE id = ?",
                    arguments: [stage.name, now, document.id])
                try Self.writeDocument(id: document.id, json: json, db: db)
            }
        }
    }

    /// Rows the score stage would take, for its plan: stage `extracted` or `scored` with
    /// `image.sha256` set, in id order.
    /// - Parameter includingRefused: also rows at `failed` whose image the vision model refused
    ///   for good (a dry run with `--retry-failed` prices them; a real run requeues them first).
    public func scoreCandidates(includingRefused: Bool = false) async throws -> [Entry] {
        try await read("read the photos to score") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT p.id, p.stage, d.document FROM photo p JOIN photo_document d ON d.id = p.id
                    WHERE p.stage IN (?, ?) OR (? AND p.stage = ? AND p.failure_stage = ?) ORDER BY p.id
                    """,
                arguments: [
                    Stage.extracted.name, Stage.scored.name, includingRefused, Stage.failed.name,
                    PhotoFailure.Stage.score.rawValue,
                ])
            return try rows.compactMap { row -> Entry? in
                let id: String = row["id"]
                let document = try Self.decode(row["document"], id: id)
                guard let sha = document.image?.sha256, !sha.isEmpty else { return nil }
                return Entry(id: id, stage: Stage(row["stage"]), document: document)
            }
        }
    }

    /// The cached labels of each of `sha256s` (SHA-256 of the bytes sent) that has them.
    public func cachedLabels(_ sha256s: Set<String>) async throws -> [String: [Vision.Label]] {
        let wanted = Array(sha256s)
        return try await read("read the labels cache") { db in
            var found: [String: [Vision.Label]] = [:]
            for row in try Self.fetchAll(
                db, in: wanted, { "SELECT sha256, labels FROM label_cache WHERE sha256 IN (\($0))" })
            {
                let sha: String = row["sha256"]
                let json: String = row["labels"]
                guard let labels = try? JSONDecoder().decode([Vision.Label].self, from: Data(json.utf8)) else {
                    throw IngestError(
                        .ledger, "the cached labels of image \(sha) are not valid; the ledger may be damaged")
                }
                found[sha] = labels
            }
            return found
        }
    }

    /// What one Vision call (or a re-scoring from the cache) changes, committed as one transaction.
    public struct ScoreUpdate: Sendable {
        /// New cache entries: SHA-256 of the bytes sent to the labels returned.
        public var labels: [String: [Vision.Label]] = [:]
        /// Links from photos to cache entries: photo id, its original's SHA-256, and the
        /// SHA-256 of the bytes sent for it.
        public var links: [(photoID: String, imageSha256: String, sentSha256: String)] = []
        /// The model that returned them.
        public var model: String = ""
        /// Scored documents: they move to `scored`.
        public var scored: [(id: String, document: PhotoDocument)] = []
        /// Per-photo failures (stage `score`): a permanent one moves the row to `failed`; with a
        /// transient one the row keeps its stage and is tried again next run.
        public var failures: [(id: String, failure: PhotoFailure)] = []
        /// API-call counters to add for the `vision` service.
        public var apiCalls: [String: Int] = [:]
        /// Rows whose lease ends with this update (the score stage's finished rows).
        package var endLeases: [String] = []

        /// An empty update.
        public init() {}
    }

    /// Commits a `ScoreUpdate` in one transaction: a killed run keeps every image's labels
    /// once its call's answer was committed, and nothing of a call whose answer was not.
    /// Scored rows lose any failure recorded earlier.
    public func commit(_ update: ScoreUpdate) async throws {
        let cache = try update.labels.map { sha, labels in
            (sha, String(decoding: try Self.encoder.encode(labels), as: UTF8.self))
        }
        let scored = try update.scored.map { ($0.id, try Self.encode($0.document)) }
        let failures = update.failures
        let model = update.model
        let calls = update.apiCalls
        let links = update.links
        let endLeases = update.endLeases
        try await write("record labels and scores") { db in
            let now = Self.now()
            for link in links {
                try db.execute(
                    sql: """
                        INSERT INTO label_link (photo_id, image_sha256, sent_sha256) VALUES (?, ?, ?)
                        ON CONFLICT(photo_id) DO UPDATE SET image_sha256 = excluded.image_sha256,
                        sent_sha256 = excluded.sent_sha256
                        """,
                    arguments: [link.photoID, link.imageSha256, link.sentSha256])
            }
            for (sha, json) in cache {
                try db.execute(
                    sql: """
                        INSERT INTO label_cache (sha256, model, labels, labelled_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT(sha256) DO UPDATE SET model = excluded.model, labels = excluded.labels,
                        labelled_at = excluded.labelled_at
                        """,
                    arguments: [sha, model, json, now])
            }
            // The failure is cleared in the same UPDATE of the small state row; the document is
            // written only when the row is still the score stage's to move.
            let clear = Self.failureColumns(nil)
            for (id, json) in scored {
                try db.cachedStatement(
                    sql: """
                        UPDATE photo SET stage = ?, updated_at = ?, \(clear.sql)
                        WHERE id = ? AND stage IN (?, ?)
                        """
                ).execute(
                    arguments: [Stage.scored.name, now] + clear.arguments
                        + [id, Stage.extracted.name, Stage.scored.name])
                if db.changesCount > 0 { try Self.writeDocument(id: id, json: json, db: db) }
            }
            for (id, failure) in failures {
                // A refused image is never sent again by a later run: its row leaves the
                // stage's work (`failed`) until `--retry-failed` requeues it.
                try db.execute(
                    sql: """
                        UPDATE photo SET stage = CASE WHEN ? AND stage IN (?, ?) THEN ? ELSE stage END,
                        attempts = attempts + 1, updated_at = ? WHERE id = ?
                        """,
                    arguments: [
                        failure.permanent, Stage.extracted.name, Stage.scored.name, Stage.failed.name, now, id,
                    ])
                try Self.record(failure, id: id, db: db)
            }
            for id in endLeases {
                try db.cachedStatement(sql: "UPDATE photo SET lease_owner = NULL, lease_until = NULL WHERE id = ?")
                    .execute(arguments: [id])
            }
            try Self.addAPICalls(calls, service: "vision", db: db)
        }
        if handoff.keeps(.scored) {
            for (row, (id, json)) in zip(update.scored, scored) {
                handoff.put(id: id, json: json, document: row.document)
            }
        }
    }

    /// The number of images in the labels cache.
    public func labelCacheCount() async throws -> Int {
        try await read("count cached labels") { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM label_cache") ?? 0
        }
    }
}
