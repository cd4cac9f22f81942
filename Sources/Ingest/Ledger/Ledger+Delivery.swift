import Foundation
import GRDB

/// A dataset delivery asked for a later time: what to pack, where to upload it, the address to
/// mail the link to (sealed), when, and how far it has got.
public struct DeliveryRequest: Sendable, Equatable {
    /// What to pack and where it goes.
    public struct Spec: Codable, Sendable, Equatable {
        /// `--min-score` filters: label → minimum.
        public var minScores: [String: Double]
        /// `--limit`.
        public var limit: Int?
        /// `--include-all-rights-reserved`.
        public var includeAllRightsReserved: Bool
        /// `--attribution`.
        public var attribution: Bool
        /// `--upload` (`s3://BUCKET/KEY`).
        public var upload: String
        /// `--link-expires`, seconds.
        public var linkExpires: Int
        /// `--part-size`, bytes.
        public var partSize: Int
        /// `--pseudonymous` (absent in requests recorded before it existed: off).
        public var pseudonymous: Bool

        /// Makes a specification.
        public init(
            minScores: [String: Double], limit: Int?, includeAllRightsReserved: Bool, attribution: Bool,
            upload: String, linkExpires: Int, partSize: Int, pseudonymous: Bool = false
        ) {
            self.pseudonymous = pseudonymous
            self.minScores = minScores
            self.limit = limit
            self.includeAllRightsReserved = includeAllRightsReserved
            self.attribution = attribution
            self.upload = upload
            self.linkExpires = linkExpires
            self.partSize = partSize
        }

        enum CodingKeys: String, CodingKey {
            case minScores, limit, includeAllRightsReserved, attribution, upload, linkExpires, partSize, pseudonymous
        }

        /// Reads a recorded specification; one recorded before `pseudonymous` existed is not pseudonymous.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            minScores = try c.decode([String: Double].self, forKey: .minScores)
            limit = try c.decodeIfPresent(Int.self, forKey: .limit)
            includeAllRightsReserved = try c.decode(Bool.self, forKey: .includeAllRightsReserved)
            attribution = try c.decode(Bool.self, forKey: .attribution)
            upload = try c.decode(String.self, forKey: .upload)
            linkExpires = try c.decode(Int.self, forKey: .linkExpires)
            partSize = try c.decode(Int.self, forKey: .partSize)
            pseudonymous = try c.decodeIfPresent(Bool.self, forKey: .pseudonymous) ?? false
        }
    }

    /// What the mail says about the uploaded pack (kept when the upload is recorded, so a
    /// re-run mails without packing again).
    public struct Packed: Codable, Sendable, Equatable {
        /// Photos packed.
        public var photos: Int
        /// Archive bytes.
        public var bytes: Int64
        /// Photos per licence name.
        public var licenses: [String: Int]

        /// Makes one.
        public init(photos: Int, bytes: Int64, licenses: [String: Int]) {
            self.photos = photos
            self.bytes = bytes
            self.licenses = licenses
        }
    }

    /// The request's id (a UUID; the sealed address is bound to it).
    public var id: String
    /// What to pack and where.
    public var spec: Spec
    /// The address as a Fernet token (field `address`, document `delivery:<id>`).
    public var sealedAddress: String
    /// When to deliver (unix seconds).
    public var dueAt: Double
    /// The pack uploaded, if it was.
    public var packed: Packed?
    /// Mails tried (a kill after a send was tried leaves it counted).
    public var mailAttempts: Int
    /// When the mail went out, if it did.
    public var sentAt: Double?

    /// The sealed field name of the address, and the document id it is bound to.
    public static let addressField = "address"

    /// The id the address's token is bound to.
    public var sealID: String { "delivery:\(id)" }
}

/// Delivery requests (`delivery` table): recorded by `pack --at`, sent by `deliver --due`.
/// Each step is recorded as it completes: uploaded (with the pack's summary), a mail attempt
/// (before sending), sent. A request is due while it is unsent, its time has come and fewer
/// than two mails were tried: a kill between upload and mail sends the mail again at most
/// once, and never uploads again.
extension Ledger {
    /// Mails tried at most per request.
    public static let maxMailAttempts = 2

    /// Records a request.
    public func recordDelivery(id: String, spec: DeliveryRequest.Spec, sealedAddress: String, dueAt: Double)
        async throws
    {
        let json = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        try await write("record a delivery request") { db in
            try db.execute(
                sql: """
                    INSERT INTO delivery (id, spec, address, due_at, created_at, mail_attempts)
                    VALUES (?, ?, ?, ?, ?, 0)
                    """,
                arguments: [id, json, sealedAddress, dueAt, Date().timeIntervalSince1970])
        }
    }

    /// The requests due at `now`, oldest first.
    public func dueDeliveries(now: Double) async throws -> [DeliveryRequest] {
        let rows = try await read("read the delivery requests") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, spec, address, due_at, packed, mail_attempts, sent_at FROM delivery
                    WHERE sent_at IS NULL AND due_at <= ? AND mail_attempts < ? ORDER BY due_at, id
                    """, arguments: [now, Self.maxMailAttempts]
            ).map { row -> (String, String, String, Double, String?, Int, Double?) in
                (
                    row["id"], row["spec"], row["address"], row["due_at"], row["packed"], row["mail_attempts"],
                    row["sent_at"]
                )
            }
        }
        let decoder = JSONDecoder()
        return try rows.map { row in
            do {
                return DeliveryRequest(
                    id: row.0, spec: try decoder.decode(DeliveryRequest.Spec.self, from: Data(row.1.utf8)),
                    sealedAddress: row.2, dueAt: row.3,
                    packed: try row.4.map { try decoder.decode(DeliveryRequest.Packed.self, from: Data($0.utf8)) },
                    mailAttempts: row.5, sentAt: row.6)
            } catch {
                throw IngestError(.ledger, "the delivery request \(row.0) is not readable; the ledger may be damaged")
            }
        }
    }

    /// Records that a request's pack is uploaded.
    public func markDeliveryUploaded(id: String, packed: DeliveryRequest.Packed) async throws {
        let json = String(decoding: try JSONEncoder().encode(packed), as: UTF8.self)
        try await write("record a delivery's upload") { db in
            try db.execute(
                sql: "UPDATE delivery SET packed = ?, uploaded_at = ?, last_error = NULL WHERE id = ?",
                arguments: [json, Date().timeIntervalSince1970, id])
        }
    }

    /// Records that a mail is about to be sent (before it is), or with `undo` that the server
    /// refused it (so it does not count).
    public func markDeliveryMailing(id: String, undo: Bool = false) async throws {
        try await write("record a delivery's mail attempt") { db in
            try db.execute(
                sql: "UPDATE delivery SET mail_attempts = max(0, mail_attempts + ?) WHERE id = ?",
                arguments: [undo ? -1 : 1, id])
        }
    }

    /// Records that the mail went out.
    public func markDeliverySent(id: String) async throws {
        try await write("record a delivery sent") { db in
            try db.execute(
                sql: "UPDATE delivery SET sent_at = ?, last_error = NULL WHERE id = ?",
                arguments: [Date().timeIntervalSince1970, id])
        }
    }

    /// Records why a step failed (no address, no secret: the message is the library's).
    public func markDeliveryFailed(id: String, message: String) async throws {
        try await write("record a delivery failure") { db in
            try db.execute(sql: "UPDATE delivery SET last_error = ? WHERE id = ?", arguments: [message, id])
        }
    }

    /// `v6-delivery`: the `delivery` table.
    static func registerDeliveryMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-delivery") { db in
            try db.execute(
                sql: """
                    CREATE TABLE delivery (
                        id TEXT PRIMARY KEY NOT NULL,
                        spec TEXT NOT NULL,
                        address TEXT NOT NULL,
                        due_at REAL NOT NULL,
                        created_at REAL NOT NULL,
                        packed TEXT,
                        uploaded_at REAL,
                        mail_attempts INTEGER NOT NULL DEFAULT 0,
                        sent_at REAL,
                        last_error TEXT
                    );
                    CREATE INDEX delivery_due ON delivery(due_at) WHERE sent_at IS NULL;
                    """)
        }
    }
}
