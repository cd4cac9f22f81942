import Foundation

/// A shard's success and failure outputs (Parquet, once the Parquet writer is merged).
public enum ShardOutputs {
    /// Writes both outputs of shard `shard` from its ledger.
    @discardableResult
    public static func write(ledger: Ledger, planFolder: String, shard: Int, labels: [String]?) throws
        -> (success: Int, failure: Int)
    {
        var success = 0
        var failure = 0
        try ledger.forEachDocument { entry in
            if entry.stage == .loaded {
                success += 1
            } else if entry.failure != nil {
                failure += 1
            }
        }
        for kind in ["success", "failure"] {
            try ShardFiles.writeAtomically(Data(), to: ShardPlan.outputPath(planFolder, kind, shard, ext: "parquet"))
        }
        return (success, failure)
    }
}
