import Foundation
import GRDB

/// The ledger's schema, every table and every migration in one place (GRDB's `DatabaseMigrator`
/// runs the ones a ledger has not had yet, in order, each in one transaction).
///
/// Tables: `photo` (one small row per photo: id, source, source id, stage, lease columns, the
/// failure recorded when a stage failed on it), `photo_document` (the document as JSON, apart,
/// so moving, leasing or failing a row never rewrites it), `store_load` (per store, the digest
/// of each document as last written there: loading never changes the document),
/// `search_query`, `search_slice`, `search_page` (the search's progress), `label_cache` and
/// `label_link` (the vision labels paid for, by the bytes sent), `api_call` (call counters),
/// `delivery` (dataset delivery requests, `Ledger+Delivery.swift`).
/// Migrations are never edited once released: a change is a new one, appended.
extension Ledger {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE photo (
                        id TEXT PRIMARY KEY NOT NULL,
                        source TEXT NOT NULL,
                        source_id TEXT NOT NULL,
                        stage TEXT NOT NULL,
                        document TEXT NOT NULL,
                        updated_at TEXT NOT NULL,
                        lease_owner TEXT,
                        lease_until REAL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT
                    );
                    CREATE INDEX photo_stage ON photo(stage, lease_until);
                    CREATE TABLE search_query (
                        id INTEGER PRIMARY KEY,
                        key TEXT NOT NULL UNIQUE,
                        term TEXT,
                        bbox TEXT,
                        min_taken INTEGER NOT NULL,
                        max_taken INTEGER NOT NULL,
                        per_page INTEGER NOT NULL,
                        created_at TEXT NOT NULL
                    );
                    CREATE TABLE search_slice (
                        id INTEGER PRIMARY KEY,
                        query_id INTEGER NOT NULL REFERENCES search_query(id),
                        parent_id INTEGER REFERENCES search_slice(id),
                        min_taken INTEGER NOT NULL,
                        max_taken INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        total INTEGER,
                        pages INTEGER,
                        capped INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX search_slice_query ON search_slice(query_id, state);
                    CREATE TABLE search_page (
                        slice_id INTEGER NOT NULL REFERENCES search_slice(id),
                        page INTEGER NOT NULL,
                        photos INTEGER NOT NULL,
                        fetched_at TEXT NOT NULL,
                        PRIMARY KEY (slice_id, page)
                    );
                    CREATE TABLE api_call (
                        service TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        count INTEGER NOT NULL,
                        PRIMARY KEY (service, outcome)
                    );
                    """)
        }
        registerScoreMigration(&migrator)
        // encrypt-load: the digest of the document as last loaded into the store.
        migrator.registerMigration("v2-load") { db in
            try db.execute(sql: "ALTER TABLE photo ADD COLUMN loaded_digest TEXT")
        }
        // The load state per store (a workdir may load into several): the digest of each
        // document as last written to that store. `loaded_digest` above is what older versions
        // kept for their one store; the workspace moves it here once it knows which store that was.
        migrator.registerMigration("v3-store-load") { db in
            try db.execute(
                sql: """
                    CREATE TABLE store_load (
                        store TEXT NOT NULL,
                        id TEXT NOT NULL,
                        digest TEXT NOT NULL,
                        PRIMARY KEY (store, id)
                    ) WITHOUT ROWID;
                    """)
        }
        registerFailureMigration(&migrator)
        registerLabelLinkMigration(&migrator)
        registerSourceObjectMigration(&migrator)
        registerDocumentTableMigration(&migrator)
        registerDeliveryMigration(&migrator)
        registerStageOrderMigration(&migrator)
        registerClaimOrderMigration(&migrator)
        return migrator
    }()

    /// The score stage's schema: `label_cache`, the labels the vision model returned for each
    /// image's bytes (keyed by SHA-256; see `registerLabelLinkMigration` for which bytes), so
    /// the same bytes are paid for once.
    static func registerScoreMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-score") { db in
            try db.execute(
                sql: """
                    CREATE TABLE label_cache (
                        sha256 TEXT PRIMARY KEY NOT NULL,
                        model TEXT NOT NULL,
                        labels TEXT NOT NULL,
                        labelled_at TEXT NOT NULL
                    );
                    """)
        }
    }

    /// The failure columns of `photo`: `failure_stage`, `failure_cause` (the former
    /// `last_error`), `failure_permanent` and `failure_at` (unix seconds), set by `record` only.
    ///
    /// Rows of older ledgers are converted: `download:<cause>` is a transient download failure,
    /// `unavailable:<cause>` a permanent one, `extract:<cause>` a permanent extract failure, and
    /// any other message a score failure, permanent when Vision refused the image itself (the
    /// row then moves to `failed`, as the score stage now does).
    static func registerFailureMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-failures") { db in
            let permanentVision = VisionClient.permanentImageErrorCodes.sorted().map {
                "failure_cause LIKE 'Vision refused this image:%(code \($0))'"
            }.joined(separator: " OR ")
            try db.execute(
                sql: """
                    ALTER TABLE photo RENAME COLUMN last_error TO failure_cause;
                    ALTER TABLE photo ADD COLUMN failure_stage TEXT;
                    ALTER TABLE photo ADD COLUMN failure_permanent INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE photo ADD COLUMN failure_at REAL;
                    UPDATE photo SET failure_stage = 'download', failure_cause = substr(failure_cause, 10)
                        WHERE failure_cause LIKE 'download:%';
                    UPDATE photo SET failure_stage = 'download', failure_cause = substr(failure_cause, 13),
                        failure_permanent = 1 WHERE failure_cause LIKE 'unavailable:%';
                    UPDATE photo SET failure_stage = 'extract', failure_cause = substr(failure_cause, 9),
                        failure_permanent = 1 WHERE failure_cause LIKE 'extract:%';
                    UPDATE photo SET failure_stage = 'score', failure_permanent = (\(permanentVision))
                        WHERE failure_stage IS NULL AND failure_cause IS NOT NULL;
                    UPDATE photo SET stage = 'failed'
                        WHERE failure_stage = 'score' AND failure_permanent = 1 AND stage IN ('extracted', 'scored');
                    UPDATE photo SET failure_at = COALESCE(CAST(strftime('%s', updated_at) AS REAL), 0)
                        WHERE failure_stage IS NOT NULL;
                    CREATE INDEX photo_failure ON photo(id) WHERE failure_stage IS NOT NULL;
                    """)
        }
    }

    /// `v4-label-by-sent-bytes`: the labels cache is keyed by the SHA-256 of the exact bytes
    /// sent to the vision model (a stripped or opened sealed copy, not the original), and
    /// `label_link` ties each photo (with the original SHA-256 it was linked under) to them, so
    /// re-scoring needs no reading and photos whose originals differ only in metadata share one
    /// entry. Entries written before were keyed by the original's SHA-256: each photo showing
    /// such an original is linked to its entry, so nothing already paid for is sent again.
    static func registerLabelLinkMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-label-by-sent-bytes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE label_link (
                        photo_id TEXT PRIMARY KEY NOT NULL,
                        image_sha256 TEXT NOT NULL,
                        sent_sha256 TEXT NOT NULL
                    );
                    INSERT INTO label_link (photo_id, image_sha256, sent_sha256)
                    SELECT photo.id, label_cache.sha256, label_cache.sha256 FROM photo
                    JOIN label_cache ON label_cache.sha256 = json_extract(photo.document, '$.image.sha256');
                    """)
        }
    }

    /// `v5-source-object`: keyed fingerprints of the remote objects an import has seen (S3), so a
    /// re-run lists again but fetches only new or changed objects (`Ledger+SourceObjects.swift`).
    static func registerSourceObjectMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-source-object") { db in
            try db.execute(
                sql: """
                    CREATE TABLE source_object (
                        fingerprint TEXT PRIMARY KEY NOT NULL,
                        photo_id TEXT
                    ) WITHOUT ROWID;
                    """)
        }
    }

    /// `v6-photo-document`: the document moves out of `photo` into `photo_document`. SQLite
    /// writes a whole row on any UPDATE, so with the ~4.6 KB document in it every claim, lease
    /// release, failure and move to `loaded` rewrote the document too; `photo` now holds only
    /// the row's state (stage, lease, failure: about 200 bytes) and a document is written only
    /// when a stage changes it. Existing rows keep their documents byte for byte (the stores'
    /// digests in `store_load` stay valid: nothing is loaded again).
    static func registerDocumentTableMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-photo-document") { db in
            try db.execute(
                sql: """
                    CREATE TABLE photo_document (
                        id TEXT PRIMARY KEY NOT NULL,
                        document TEXT NOT NULL
                    );
                    INSERT INTO photo_document (id, document) SELECT id, document FROM photo;
                    ALTER TABLE photo DROP COLUMN document;
                    """)
        }
    }

    /// `photo_stage` indexes the rows of a stage in id order, the order a claim takes them in:
    /// a claim reads its LIMIT rows off the index (skipping leased ones) instead of joining
    /// and sorting every waiting row and its document, which made each claim cost as much as
    /// the stage's whole backlog. Leases are no longer in the index, so taking or ending one
    /// rewrites only the row.
    static func registerStageOrderMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7-stage-order") { db in
            try db.execute(
                sql: """
                    DROP INDEX photo_stage;
                    CREATE INDEX photo_stage ON photo(stage, id);
                    """)
        }
    }

    /// `v8-claim-order`: a claim takes a stage's rows in the order they were added (`rowid`,
    /// which `photo_stage` now ends with, as every SQLite index does) instead of id order. The
    /// ids are hashes, so rows next to each other in id order lie on pages far apart, in
    /// `photo` and in `photo_document`, whose rows are stored in the order they were added:
    /// each lease and each batch of new documents rewrote pages all over both tables. In a
    /// copy of a 5,000-photo ledger, moving every row through one stage (claims of 256,
    /// commits of 32) wrote 5.4 pages a photo to the log in id order and 1.7 in rowid order.
    static func registerClaimOrderMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8-claim-order") { db in
            try db.execute(
                sql: """
                    DROP INDEX photo_stage;
                    CREATE INDEX photo_stage ON photo(stage);
                    """)
        }
    }
}
