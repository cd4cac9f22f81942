public import Foundation
import Store

/// One shard's work in its workdir: seeding its ledger from its shard file, and what it
/// reports when done (the stats file, the success and failure rows).
public enum ShardWork {
    /// `<workdir>/shard.json`: which plan and shard a shard workdir belongs to, and whether its
    /// shard file has been seeded whole.
    public struct Marker: Codable, Sendable, Equatable {
        /// The plan's id.
        public var planID: String
        /// The shard.
        public var shard: Int
        /// The plan's shard count.
        public var shards: Int
        /// Photos in the shard file, once seeded whole.
        public var seededPhotos: Int?

        enum CodingKeys: String, CodingKey {
            case shard, shards
            case planID = "plan_id"
            case seededPhotos = "seeded_photos"
        }
    }

    static func markerPath(_ workdir: String) -> String { (workdir as NSString).appendingPathComponent("shard.json") }

    /// Seeds a shard's ledger from its shard file once per plan (a re-run of the same plan reads
    /// the marker and skips it; seeding again would change nothing either).
    ///
    /// - Returns: The photos in the shard file, and the rows new to the ledger.
    /// - Throws: `IngestError.configuration` when the workdir belongs to another shard or to a
    ///   plan of another shard count (its photos would not be this shard's).
    public static func seed(ledger: Ledger, plan: ShardPlan, planFolder: String, shard: Int, workdir: String)
        async throws -> (photos: Int, inserted: Int)
    {
        let path = markerPath(workdir)
        var marker = try readJSON(Marker.self, at: path, what: "shard marker")
        if let marker, marker.shard != shard || marker.shards != plan.shards {
            throw IngestError(
                .configuration,
                "the workdir \(workdir) holds shard \(marker.shard) of \(marker.shards), not shard \(shard) of "
                    + "\(plan.shards): give this shard its own --workdir, or remove that one")
        }
        if let marker, marker.planID == plan.planID, let seeded = marker.seededPhotos { return (seeded, 0) }
        var photos = 0
        var inserted = 0
        try await ShardFiles.forEachBatch(ShardPlan.shardPath(planFolder, shard)) { documents in
            photos += documents.count
            inserted += try await ledger.seedFound(documents)
        }
        marker = Marker(planID: plan.planID, shard: shard, shards: plan.shards, seededPhotos: photos)
        try writeJSON(marker, to: path, what: "shard marker")
        return (photos, inserted)
    }

    /// What a shard's run did, written to `<plan>/stats/part-NNNNN.json` (last of its outputs).
    public struct Stats: Codable, Sendable, Equatable {
        /// The plan's id.
        public var planID: String
        /// The shard.
        public var shard: Int
        /// The plan's shard count.
        public var shards: Int
        /// Photos in the shard file.
        public var photos: Int
        /// Photos loaded into the store (in all runs of the shard).
        public var loaded: Int
        /// Photos the source no longer offers.
        public var unavailable: Int
        /// Photos that failed for good.
        public var failed: Int
        /// Documents written to the store by this run.
        public var writtenThisRun: Int
        /// Images sent to Vision (and billed) by this run.
        public var labelledThisRun: Int
        /// Seconds this run took.
        public var seconds: Double
        /// The exit status of this run.
        public var exitStatus: Int32
        /// When this run started and finished (ISO 8601 UTC).
        public var startedAt: String
        /// When this run finished.
        public var finishedAt: String

        enum CodingKeys: String, CodingKey {
            case shard, shards, photos, loaded, unavailable, failed, seconds
            case planID = "plan_id"
            case writtenThisRun = "written_this_run"
            case labelledThisRun = "labelled_this_run"
            case exitStatus = "exit_status"
            case startedAt = "started_at"
            case finishedAt = "finished_at"
        }

        /// Makes the stats of a run.
        public init(
            planID: String, shard: Int, shards: Int, photos: Int, loaded: Int, unavailable: Int, failed: Int,
            writtenThisRun: Int, labelledThisRun: Int, seconds: Double, exitStatus: Int32, startedAt: Date
        ) {
            self.planID = planID
            self.shard = shard
            self.shards = shards
            self.photos = photos
            self.loaded = loaded
            self.unavailable = unavailable
            self.failed = failed
            self.writtenThisRun = writtenThisRun
            self.labelledThisRun = labelledThisRun
            self.seconds = seconds
            self.exitStatus = exitStatus
            self.startedAt = TakenDate.format(Int64(startedAt.timeIntervalSince1970)) + "Z"
            self.finishedAt = isoNow()
        }

        /// Writes the stats file atomically.
        public func write(planFolder: String) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            var data = try encoder.encode(self)
            data.append(0x0A)
            try ShardFiles.writeAtomically(data, to: ShardPlan.outputPath(planFolder, "stats", shard, ext: "json"))
        }

        /// The stats file of shard `shard`, when it exists.
        public static func read(planFolder: String, shard: Int) throws -> Stats? {
            try readJSON(
                Stats.self, at: ShardPlan.outputPath(planFolder, "stats", shard, ext: "json"), what: "shard stats file")
        }
    }
}

/// The exit statuses of `photoseal run --shard`, for batch systems deciding on a retry.
public enum ShardExit {
    /// The shard is done (or was done before): every photo loaded or unavailable.
    public static let done: Int32 = 0
    /// Trying again can help: a server was down or slow, the workdir lock was busy, some photos
    /// failed transiently (EX_TEMPFAIL). The stats file is not written: the next run resumes.
    public static let retry: Int32 = 75
    /// Trying again cannot help: the plan or the keys are wrong, or photos failed for good
    /// (EX_DATAERR); the failures are in the failure output.
    public static let permanent: Int32 = 65

    /// The status for an error that ended a shard's run.
    public static func status(for error: any Error) -> Int32 {
        if let error = error as? IngestError {
            switch error.code {
            case .transport, .busy, .cancelled, .ledger: return retry
            case .httpStatus, .flickr, .malformedResponse: return error.isRetriable ? retry : permanent
            default: return permanent
            }
        }
        if let error = error as? StoreError { return error.isRetriable ? retry : permanent }
        return permanent
    }
}
