import Foundation
import GRDB

/// A slice of a search query: a taken-date range searched and paged on its own.
public struct SearchSlice: Sendable, Equatable {
    /// The row id.
    public var id: Int64
    /// The query it belongs to.
    public var queryID: Int64
    /// Earliest taken date, unix seconds (inclusive).
    public var minTaken: Int64
    /// Latest taken date, unix seconds (inclusive).
    public var maxTaken: Int64
    /// `new` (not probed), `split` (replaced by children), `paging`, or `done`.
    public var state: String
    /// The total Flickr reported for the slice, once probed.
    public var total: Int?
    /// The pages to fetch, once probed.
    public var pages: Int?
}

/// One unit of search work: probe a slice (its first page) or fetch one of its later pages.
public struct SearchWork: Sendable {
    /// The query's row id.
    public var queryID: Int64
    /// The query.
    public var query: SearchQuery
    /// The slice.
    public var slice: SearchSlice
    /// The page to fetch; 1 means the slice's probe.
    public var page: Int
}

/// What recording a page did.
public struct PageRecorded: Sendable {
    /// Photos new to the ledger.
    public var newPhotos: Int
    /// Whether the ledger reached the photo limit (the page may be left unfinished).
    public var limitReached: Bool
}

extension Ledger {
    /// Registers the queries (once each; a query already in the ledger keeps its progress)
    /// and returns the work still to do: probes of unprobed slices and pages not yet fetched.
    public func prepareSearch(_ queries: [SearchQuery]) async throws -> [SearchWork] {
        try await write("record the search queries") { db in
            var work: [SearchWork] = []
            for query in queries {
                let queryID: Int64
                if let id = try Int64.fetchOne(
                    db, sql: "SELECT id FROM search_query WHERE key = ?", arguments: [query.key])
                {
                    queryID = id
                } else {
                    try db.execute(
                        sql: """
                            INSERT INTO search_query (key, term, bbox, min_taken, max_taken, per_page, created_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            query.key, query.term, query.bbox?.parameter, query.minTaken, query.maxTaken, query.perPage,
                            Self.now(),
                        ])
                    queryID = db.lastInsertedRowID
                    try db.execute(
                        sql: "INSERT INTO search_slice (query_id, min_taken, max_taken, state) VALUES (?, ?, ?, 'new')",
                        arguments: [queryID, query.minTaken, query.maxTaken])
                }
                let slices = try Row.fetchAll(
                    db, sql: "SELECT * FROM search_slice WHERE query_id = ? AND state IN ('new', 'paging') ORDER BY id",
                    arguments: [queryID])
                for row in slices {
                    let slice = Self.slice(row)
                    if slice.state == "new" {
                        work.append(SearchWork(queryID: queryID, query: query, slice: slice, page: 1))
                        continue
                    }
                    let done = Set(
                        try Int.fetchAll(
                            db, sql: "SELECT page FROM search_page WHERE slice_id = ?", arguments: [slice.id]))
                    for page in 1...max(1, slice.pages ?? 1) where !done.contains(page) {
                        work.append(SearchWork(queryID: queryID, query: query, slice: slice, page: page))
                    }
                }
            }
            return work
        }
    }

    static func slice(_ row: Row) -> SearchSlice {
        SearchSlice(
            id: row["id"], queryID: row["query_id"], minTaken: row["min_taken"], maxTaken: row["max_taken"],
            state: row["state"], total: row["total"], pages: row["pages"])
    }

    /// Replaces a slice by children covering its range (its total reached Flickr's cap).
    /// - Returns: the new child slices.
    public func recordSplit(
        slice: SearchSlice, total: Int, children: [ClosedRange<Int64>], apiCalls: [String: Int] = [:]
    ) async throws -> [SearchSlice] {
        try await write("record a split search slice") { db in
            try Self.addAPICalls(apiCalls, service: "flickr", db: db)
            try db.execute(
                sql: "UPDATE search_slice SET state = 'split', total = ? WHERE id = ?", arguments: [total, slice.id])
            var made: [SearchSlice] = []
            for range in children {
                try db.execute(
                    sql: """
                        INSERT INTO search_slice (query_id, parent_id, min_taken, max_taken, state)
                        VALUES (?, ?, ?, ?, 'new')
                        """,
                    arguments: [slice.queryID, slice.id, range.lowerBound, range.upperBound])
                made.append(
                    SearchSlice(
                        id: db.lastInsertedRowID, queryID: slice.queryID, minTaken: range.lowerBound,
                        maxTaken: range.upperBound, state: "new", total: nil, pages: nil))
            }
            return made
        }
    }

    /// Records a fetched page and its photos in one transaction.
    ///
    /// For page 1 (the probe) it also stores the slice's total and page count. A photo
    /// already in the ledger gains the page's term. With `limit`, at most that many photos
    /// are kept in the ledger; a page cut short by the limit is not marked done.
    public func recordPage(
        slice: SearchSlice, page: Int, total: Int?, pages: Int?, capped: Bool, documents: [PhotoDocument], limit: Int?,
        apiCalls: [String: Int] = [:]
    ) async throws -> PageRecorded {
        // Encoded before the write transaction, which every task waits for in turn.
        let encoded = try documents.map { ($0, try Self.encode($0)) }
        return try await write("record a search page") { db in
            try Self.addAPICalls(apiCalls, service: "flickr", db: db)
            if page == 1, let total, let pages {
                try db.execute(
                    sql: "UPDATE search_slice SET state = 'paging', total = ?, pages = ?, capped = ? WHERE id = ?",
                    arguments: [total, pages, capped, slice.id])
            }
            // Counting every row costs a scan: only a limited search needs it.
            var count = limit == nil ? 0 : try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM photo") ?? 0
            var new = 0
            var cut = false
            for (document, json) in encoded {
                if let limit, count >= limit {
                    let exists =
                        try Bool.fetchOne(db, sql: "SELECT 1 FROM photo WHERE id = ?", arguments: [document.id])
                        ?? false
                    if !exists {
                        cut = true
                        continue
                    }
                }
                if try Self.upsertFound(document, json: json, db: db) {
                    new += 1
                    count += 1
                }
            }
            if !cut {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO search_page (slice_id, page, photos, fetched_at) VALUES (?, ?, ?, ?)",
                    arguments: [slice.id, page, documents.count, Self.now()])
                let expected =
                    try Int.fetchOne(db, sql: "SELECT pages FROM search_slice WHERE id = ?", arguments: [slice.id]) ?? 1
                let done =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM search_page WHERE slice_id = ?", arguments: [slice.id])
                    ?? 0
                if done >= expected {
                    try db.execute(sql: "UPDATE search_slice SET state = 'done' WHERE id = ?", arguments: [slice.id])
                }
            }
            let limitReached = limit.map { count >= $0 } ?? false
            return PageRecorded(newPhotos: new, limitReached: limitReached)
        }
    }

    /// Search pages recorded as done, as `(slice id, page)` pairs.
    public func donePages() async throws -> [SearchPageKey] {
        try await read("list done pages") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT q.term, q.bbox, s.min_taken, s.max_taken, p.page
                    FROM search_page p JOIN search_slice s ON s.id = p.slice_id JOIN search_query q ON q.id = s.query_id
                    """
            ).map {
                SearchPageKey(
                    text: $0["term"], bbox: $0["bbox"], minTaken: $0["min_taken"], maxTaken: $0["max_taken"],
                    page: $0["page"])
            }
        }
    }
}

/// Names a fetched search page by what was asked (for checking that none is fetched twice).
public struct SearchPageKey: Sendable, Hashable {
    /// The text searched, if any.
    public var text: String?
    /// The bbox parameter, if any.
    public var bbox: String?
    /// The slice's earliest taken date.
    public var minTaken: Int64
    /// The slice's latest taken date.
    public var maxTaken: Int64
    /// The page.
    public var page: Int
    /// Makes a key.
    public init(text: String?, bbox: String?, minTaken: Int64, maxTaken: Int64, page: Int) {
        self.text = text
        self.bbox = bbox
        self.minTaken = minTaken
        self.maxTaken = maxTaken
        self.page = page
    }
}
