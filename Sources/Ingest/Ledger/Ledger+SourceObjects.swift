import Foundation
import GRDB

/// Remote source objects already imported (S3 objects), known by a keyed fingerprint.
///
/// An S3 import identifies each photo by its content hash, like a local file, and records no
/// object key (keys are file names, which may name a person). To list a bucket again without
/// downloading what is already stored, the ledger keeps, per object imported, an HMAC under the
/// index key of its endpoint, bucket, key, ETag and size: it says "this object was seen" and
/// reveals no name, even to someone holding the ledger but not the keys. A changed object (new
/// ETag or size) has a new fingerprint and is fetched again.
extension Ledger {
    /// The fingerprints among `fingerprints` already recorded.
    public func knownSourceObjects(_ fingerprints: [String]) async throws -> Set<String> {
        guard !fingerprints.isEmpty else { return [] }
        return try await read("look up imported objects") { db in
            var known = Set<String>()
            // Chunks under SQLite's bound-parameter limit.
            for start in stride(from: 0, to: fingerprints.count, by: 500) {
                let chunk = Array(fingerprints[start..<min(start + 500, fingerprints.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try String.fetchAll(
                    db, sql: "SELECT fingerprint FROM source_object WHERE fingerprint IN (\(marks))",
                    arguments: StatementArguments(chunk))
                known.formUnion(rows)
            }
            return known
        }
    }

    /// Records imported objects in one transaction: each object's fingerprint, and the photo
    /// it held (at `downloaded`, skipped when its id is already in the ledger), or no photo for
    /// an object that is not an image.
    /// - Returns: how many photo rows are new.
    public func recordSourceObjects(_ objects: [(fingerprint: String, document: PhotoDocument?)]) async throws -> Int {
        guard !objects.isEmpty else { return 0 }
        let rows = try objects.map { ($0.fingerprint, $0.document, try $0.document.map { try Self.encode($0) }) }
        return try await write("record imported objects") { db in
            var added = 0
            let now = Self.now()
            for (fingerprint, document, json) in rows {
                if let document, let json,
                    try Self.insertRow(document, json: json, stage: .downloaded, now: now, db: db)
                {
                    added += 1
                }
                try db.execute(
                    sql: "INSERT INTO source_object (fingerprint, photo_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    arguments: [fingerprint, document?.id])
            }
            return added
        }
    }
}
