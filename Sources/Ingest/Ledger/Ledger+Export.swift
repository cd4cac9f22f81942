import Foundation
import GRDB

extension Ledger {
    /// Calls `body` with every document's `scores` (`nil` when it has none), in id order, in
    /// batches; SQLite extracts the member, so a pass costs a fraction of decoding documents
    /// (the export's first pass, which only needs the score labels).
    /// - Throws: `IngestError.ledger` when the ledger cannot be read or a `scores` is not an
    ///   object of numbers.
    func forEachScores(_ body: ([String: Double]?) throws -> Void) throws {
        let decoder = JSONDecoder()
        try forEachRow(columns: "id, json_extract(document, '$.scores') AS scores", what: "scores") { row in
            guard let text: String = row["scores"] else { return try body(nil) }
            do {
                try body(try decoder.decode([String: Double].self, from: Data(text.utf8)))
            } catch let error as IngestError {
                throw error
            } catch {
                let id: String = row["id"]
                throw IngestError(.ledger, "the ledger's scores for \(id) are not valid; the ledger may be damaged")
            }
        }
    }
}
