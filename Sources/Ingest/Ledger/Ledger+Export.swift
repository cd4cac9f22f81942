import Foundation
import GRDB

extension Ledger {
    /// Calls `body` with every document's `scores` (`nil` when it has none), in id order, in
    /// batches; SQLite extracts the member, so a pass costs a fraction of decoding documents
    /// (the export's first pass, which only needs the score labels).
    /// - Throws: `IngestError.ledger` when the ledger cannot be read or a `scores` is not an
    ///   object of numbers.
    func forEachScores(_ body: ([String: Double]?) throws -> Void) throws {
        var after = ""
        let decoder = JSONDecoder()
        while true {
            let batch: [Row]
            do {
                batch = try pool.read { db in
                    try Row.fetchAll(
                        db,
                        sql: """
                            SELECT id, json_extract(document, '$.scores') AS scores FROM photo
                            WHERE id > ? ORDER BY id LIMIT 1000
                            """,
                        arguments: [after])
                }
            } catch {
                throw IngestError(.ledger, "cannot read scores from the ledger \(path): \(Self.describe(error))")
            }
            guard let last = batch.last else { return }
            for row in batch {
                guard let text: String = row["scores"] else {
                    try body(nil)
                    continue
                }
                do {
                    try body(try decoder.decode([String: Double].self, from: Data(text.utf8)))
                } catch let error as IngestError {
                    throw error
                } catch {
                    let id: String = row["id"]
                    throw IngestError(.ledger, "the ledger's scores for \(id) are not valid; the ledger may be damaged")
                }
            }
            after = last["id"]
        }
    }
}
