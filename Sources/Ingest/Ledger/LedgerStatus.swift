import GRDB

/// What `photoseal status` reports: counts per stage, search progress and API calls spent.
///
/// Its JSON form (`status --json`) is stable: keys as in `CodingKeys`.
public struct LedgerStatus: Codable, Sendable, Equatable {
    /// Photos in the ledger.
    public var photos: Int
    /// Photos per stage name (every stage listed, zero included).
    public var stages: [String: Int]
    /// Search progress.
    public var search: Search
    /// API calls per service, then per outcome (`ok`, `retried`, `failed`).
    public var apiCalls: [String: [String: Int]]
    /// Failed and unavailable photos by cause (`download:http-503`, `unavailable:placeholder`).
    public var failures: [String: Int] = [:]
    /// Photos whose image stripped mode stored sealed because it could not strip it, by
    /// reason (`malformed`, `unsupported-format`; see `PhotoDocument.Image.Fallback`).
    public var sealedFallbacks: [String: Int] = [:]

    /// The search's progress.
    public struct Search: Codable, Sendable, Equatable {
        /// Queries registered (term × box).
        public var queries: Int
        /// Slices in each state (`new`, `split`, `paging`, `done`).
        public var slices: [String: Int]
        /// Pages fetched and recorded.
        public var pagesDone: Int
        /// Pages known to be needed (of probed slices).
        public var pagesPlanned: Int
        /// Slices of one second that still hold 4,000 or more photos (not fully reachable).
        public var cappedSlices: Int

        enum CodingKeys: String, CodingKey {
            case queries, slices
            case pagesDone = "pages_done"
            case pagesPlanned = "pages_planned"
            case cappedSlices = "capped_slices"
        }
    }

    enum CodingKeys: String, CodingKey {
        case photos, stages, search, failures
        case apiCalls = "api_calls"
        case sealedFallbacks = "sealed_fallbacks"
    }

    /// Whether the search has work left (unprobed slices or unfetched pages).
    public var searchUnfinished: Bool {
        (search.slices["new"] ?? 0) > 0 || (search.slices["paging"] ?? 0) > 0
    }
}

extension Ledger {
    /// Reads the current status.
    /// - Parameter detailed: also count the failures by cause and the images sealed instead of
    ///   stripped (`failures`, `sealedFallbacks`; left empty otherwise). The second reads every
    ///   document: a run's closing summary, which shows neither, skips both.
    public func status(detailed: Bool = true) async throws -> LedgerStatus {
        var status = try await baseStatus()
        guard detailed else { return status }
        status.failures = try await failuresByCause()
        status.sealedFallbacks = try await sealedFallbacks()
        return status
    }

    /// Photos whose image is stored sealed instead of stripped, by reason. `instr` skips the
    /// JSON parse for the rows without the key (nearly all).
    func sealedFallbacks() async throws -> [String: Int] {
        try await read("count the images sealed instead of stripped") { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT json_extract(document, '$.image.fallback.reason') AS reason, COUNT(*) AS n FROM photo_document
                    WHERE instr(document, '"fallback"') > 0
                      AND json_extract(document, '$.image.fallback.stored_as') = 'sealed'
                    GROUP BY reason
                    """)
            {
                out[row["reason"] ?? "unknown"] = row["n"]
            }
            return out
        }
    }

    private func baseStatus() async throws -> LedgerStatus {
        try await read("read the status") { db in
            var stages = Dictionary(uniqueKeysWithValues: Stage.all.map { ($0.name, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT stage, COUNT(*) AS n FROM photo GROUP BY stage") {
                stages[row["stage"]] = row["n"]
            }
            var slices: [String: Int] = ["new": 0, "split": 0, "paging": 0, "done": 0]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM search_slice GROUP BY state") {
                slices[row["state"]] = row["n"]
            }
            var calls: [String: [String: Int]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT service, outcome, count FROM api_call") {
                calls[row["service"], default: [:]][row["outcome"]] = row["count"]
            }
            return LedgerStatus(
                photos: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM photo") ?? 0,
                stages: stages,
                search: LedgerStatus.Search(
                    queries: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM search_query") ?? 0,
                    slices: slices,
                    pagesDone: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM search_page") ?? 0,
                    pagesPlanned: try Int.fetchOne(
                        db, sql: "SELECT COALESCE(SUM(pages), 0) FROM search_slice WHERE state IN ('paging', 'done')")
                        ?? 0,
                    cappedSlices: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM search_slice WHERE capped = 1") ?? 0),
                apiCalls: calls)
        }
    }
}
