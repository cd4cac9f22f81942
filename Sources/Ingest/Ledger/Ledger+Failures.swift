public import Foundation
import GRDB

extension Ledger {
    /// How a photo's failure is written: the `SET` assignments of the failure columns and
    /// their values (the failure with the time, or, for `nil`, cleared). Every write of a
    /// failure goes through this: `record`, and `advance`, which folds it into the row's one
    /// `UPDATE` (its hot path, once per downloaded photo).
    static func failureColumns(_ failure: PhotoFailure?) -> (sql: String, arguments: StatementArguments) {
        (
            "failure_stage = ?, failure_cause = ?, failure_permanent = ?, failure_at = ?",
            [
                failure?.stage.rawValue, failure?.cause, failure?.permanent ?? false,
                failure.map { _ in Date().timeIntervalSince1970 },
            ]
        )
    }

    /// Records a photo's failure (or clears it, with `nil`) inside a stage's transaction.
    static func record(_ failure: PhotoFailure?, id: String, db: Database) throws {
        let columns = failureColumns(failure)
        // Cached: stages call this once per row of the batches they commit.
        try db.cachedStatement(sql: "UPDATE photo SET \(columns.sql) WHERE id = ?")
            .execute(arguments: columns.arguments + [id])
    }

    /// Records failures on rows that keep their stage (a document the seal checks refused:
    /// the next run checks it again), in one transaction.
    public func recordFailures(_ failures: [(id: String, failure: PhotoFailure)]) async throws {
        guard !failures.isEmpty else { return }
        try await write("record \(failures.count) failures") { db in
            for (id, failure) in failures { try Self.record(failure, id: id, db: db) }
        }
    }

    /// The failure recorded on a row, if any.
    public func failure(id: String) async throws -> PhotoFailure? {
        try await read("read a photo's failure") { db in
            try Row.fetchOne(
                db, sql: "SELECT failure_stage, failure_cause, failure_permanent FROM photo WHERE id = ?",
                arguments: [id]
            ).flatMap(Self.failure)
        }
    }

    /// The failure held in a row's `failure_*` columns.
    static func failure(_ row: Row) -> PhotoFailure? {
        guard let name: String = row["failure_stage"], let stage = PhotoFailure.Stage(rawValue: name) else {
            return nil
        }
        // Stored causes were cleaned when recorded.
        return PhotoFailure(
            stage: stage, cleanCause: row["failure_cause"] ?? "unknown", permanent: row["failure_permanent"])
    }

    /// Puts the rows that failed at `stage` back where that stage takes its work (`download`:
    /// `found`; `extract`: `downloaded`; `score`: `extracted`) and clears their failure.
    ///
    /// Transient failures are requeued by each stage at the start of a run; permanent ones only
    /// with `includingPermanent` (`--retry-failed`). Load refusals keep their stage and need no
    /// requeueing.
    /// - Returns: how many rows were requeued.
    @discardableResult
    public func requeueFailures(of stage: PhotoFailure.Stage, includingPermanent: Bool) async throws -> Int {
        let target: Stage
        switch stage {
        case .download: target = .found
        case .extract: target = .downloaded
        case .score: target = .extracted
        case .load: return 0
        }
        return try await write("requeue failed photos") { db in
            try db.execute(
                sql: """
                    UPDATE photo SET stage = ?, lease_owner = NULL, lease_until = NULL, failure_stage = NULL,
                    failure_cause = NULL, failure_permanent = 0, failure_at = NULL
                    WHERE failure_stage = ? AND stage IN (?, ?) AND (? OR failure_permanent = 0)
                    """,
                arguments: [
                    target.name, stage.rawValue, Stage.failed.name, Stage.unavailable.name, includingPermanent,
                ])
            return db.changesCount
        }
    }

    /// The number of rows with a permanent failure at `stage`.
    public func permanentFailureCount(stage: PhotoFailure.Stage) async throws -> Int {
        try await read("count permanent failures") { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) FROM photo WHERE failure_stage = ? AND failure_permanent = 1
                    AND stage IN (?, ?)
                    """,
                arguments: [stage.rawValue, Stage.failed.name, Stage.unavailable.name]) ?? 0
        }
    }

    /// Calls `body` with every photo that has a failure recorded, in id order, reading in
    /// batches (memory stays flat).
    public func forEachFailure(_ body: (FailedPhoto) throws -> Void) throws {
        try forEachRow(
            columns: "id, stage, failure_stage, failure_cause, failure_permanent",
            where: "failure_stage IS NOT NULL", what: "failures"
        ) { row in
            guard let failure = Self.failure(row) else { return }
            try body(FailedPhoto(id: row["id"], status: row["stage"], failure: failure))
        }
    }

    /// The failures recorded since `start` (counted, the first `limit` listed in id order) and
    /// the permanent ones recorded before it, for a command's closing lines.
    public func failureReport(since start: Date, limit: Int = 10) async throws -> FailureReport {
        let since = start.timeIntervalSince1970
        return try await read("read the failures") { db in
            let counts = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS total, COALESCE(SUM(failure_permanent), 0) AS permanent FROM photo
                    WHERE failure_stage IS NOT NULL AND failure_at >= ?
                    """,
                arguments: [since])
            let listed = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, stage, failure_stage, failure_cause, failure_permanent FROM photo
                    WHERE failure_stage IS NOT NULL AND failure_at >= ? ORDER BY id LIMIT ?
                    """,
                arguments: [since, max(0, limit)]
            ).compactMap { row in
                Self.failure(row).map { FailedPhoto(id: row["id"], status: row["stage"], failure: $0) }
            }
            let earlier =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM photo WHERE failure_stage IS NOT NULL AND failure_permanent = 1
                        AND (failure_at IS NULL OR failure_at < ?)
                        """,
                    arguments: [since]) ?? 0
            return FailureReport(
                total: counts?["total"] ?? 0, permanent: counts?["permanent"] ?? 0, listed: listed,
                earlierPermanent: earlier)
        }
    }

    /// Rows with a failure recorded (and `failed` or `unavailable` rows without one), counted
    /// by `stage:cause` (`download:http-503`, `unavailable:placeholder`, `score:Vision refused…`).
    public func failuresByCause() async throws -> [String: Int] {
        try await read("count failures") { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT stage, failure_stage, failure_cause, failure_permanent, COUNT(*) AS n FROM photo
                    WHERE failure_stage IS NOT NULL OR stage IN (?, ?)
                    GROUP BY stage, failure_stage, failure_cause, failure_permanent
                    """,
                arguments: [Stage.failed.name, Stage.unavailable.name])
            {
                let stage = Stage(row["stage"])
                let key = Self.failure(row)?.countKey(rowStage: stage) ?? stage.name
                out[key, default: 0] += row["n"]
            }
            return out
        }
    }
}
