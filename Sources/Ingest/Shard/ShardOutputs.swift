import Foundation
public import Parquet

/// A shard's success and failure outputs: `<plan>/success/part-NNNNN.parquet` (one row per
/// loaded photo: its id and the public fields that fit flat columns, one `score_<label>` column
/// per job label) and `<plan>/failure/part-NNNNN.parquet` (id, stage, cause, permanent), each
/// written whole or not at all (the writer renames a finished temporary file into place).
public enum ShardOutputs {
    /// The success output's columns for a job scoring `labels`.
    public static func successSchema(labels: [String]) -> ParquetSchema {
        ParquetSchema(
            [
                .string("id", optional: false), .string("source", optional: false),
                .string("source_id", optional: false), .string("title", optional: false), .string("license"),
                .string("taken_at"), .string("uploaded_at"), .string("page_url"), .string("image_url"),
                .string("image_sha256"), .int64("image_bytes"), .int64("width"), .int64("height"), .double("lat"),
                .double("lon"), .string("country_code"), .string("city"),
            ] + labels.map { .double("score_" + $0) })
    }

    /// The failure output's columns.
    public static let failureSchema = ParquetSchema([
        .string("id", optional: false), .string("stage", optional: false), .string("cause", optional: false),
        .bool("permanent", optional: false),
    ])

    /// Writes both outputs of shard `shard` from its ledger, reading it in batches (memory
    /// stays flat).
    /// - Parameter labels: The job's labels (one score column each).
    /// - Returns: The rows written to each.
    /// - Throws: `IngestError.configuration` naming the file that cannot be written,
    ///   `.ledger` when the ledger cannot be read.
    @discardableResult
    public static func write(ledger: Ledger, planFolder: String, shard: Int, labels: [String]?) throws
        -> (success: Int, failure: Int)
    {
        let labels = labels ?? []
        let successPath = ShardPlan.outputPath(planFolder, "success", shard, ext: "parquet")
        let failurePath = ShardPlan.outputPath(planFolder, "failure", shard, ext: "parquet")
        try ShardFiles.makeFolder((successPath as NSString).deletingLastPathComponent)
        try ShardFiles.makeFolder((failurePath as NSString).deletingLastPathComponent)
        let success = try opened(successPath, successSchema(labels: labels))
        let failure = try opened(failurePath, failureSchema)
        try ledger.forEachDocument { entry in
            if entry.stage == .loaded {
                try appending(successPath) { try success.append(successRow(entry.document, labels: labels)) }
            } else if let f = entry.failure {
                try appending(failurePath) {
                    try failure.append([
                        .string(entry.id), .string(f.stage.rawValue), .string(f.cause), .bool(f.permanent),
                    ])
                }
            }
        }
        try appending(successPath) { try success.close() }
        try appending(failurePath) { try failure.close() }
        return (success.rowCount, failure.rowCount)
    }

    /// One loaded document as a success row.
    static func successRow(_ d: PhotoDocument, labels: [String]) -> [ParquetValue] {
        [
            .string(d.id), .string(d.source), .string(d.sourceID), .string(d.title), .optional(d.license),
            .optional(d.takenAt), .optional(d.uploadedAt), .optional(d.pageURL), .optional(d.imageURL),
            .optional(d.image?.sha256), .optional(d.image?.bytes), .optional(d.image?.width),
            .optional(d.image?.height), .optional(d.geo?.lat), .optional(d.geo?.lon), .optional(d.place?.cc),
            .optional(d.place?.city),
        ] + labels.map { .optional(d.scores?[$0]) }
    }

    private static func opened(_ path: String, _ schema: ParquetSchema) throws -> ParquetWriter {
        do {
            return try ParquetWriter(path: path, schema: schema)
        } catch {
            throw IngestError(.configuration, "cannot write \(path): \(error); check the plan folder")
        }
    }

    private static func appending(_ path: String, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            throw IngestError(.configuration, "cannot write \(path): \(error); check the plan folder's space")
        }
    }
}
