public import Crypto
import Foundation
public import Logging

/// Counts API call attempts by outcome until the ledger takes them.
public final class APICallCounter: Sendable {
    private let counts = Locked<[String: Int]>([:])

    /// Makes an empty counter.
    public init() {}

    /// Counts one attempt.
    public func record(_ outcome: FlickrClient.Outcome) {
        counts.withLock { $0[outcome.rawValue, default: 0] += 1 }
    }

    /// The counts so far, reset to zero.
    func take() -> [String: Int] {
        counts.withLock {
            let taken = $0
            $0 = [:]
            return taken
        }
    }

    /// Puts counts back (a transaction that would have stored them failed).
    func restore(_ taken: [String: Int]) {
        counts.withLock { for (k, v) in taken { $0[k, default: 0] += v } }
    }
}

/// The search stage: runs every query of a plan against Flickr and records what it finds in
/// the ledger, resumably.
///
/// Each query starts as one slice over its taken-date range. A slice's first page (its probe)
/// tells the total: under Flickr's 4,000 cap, the slice is paged through; at or over it (and
/// wider than one second) it is split into narrower date ranges, which are probed in turn.
/// Every page is recorded with its photos in one transaction, so a killed search resumes with
/// the pages not yet recorded and never fetches a recorded page again. Queries run
/// concurrently through one client, whose rate budget they share.
public struct SearchStage: Sendable {
    /// Flickr's reachable-results cap per query.
    public static let cap = 4000

    /// How the stage runs.
    public struct Options: Sendable {
        /// Stop once the ledger holds this many photos (default: no limit).
        public var limit: Int?
        /// Calls in flight at once (default 4; the rate budget paces them anyway).
        public var concurrency: Int
        /// When set, no new call starts once a stop is requested; calls in flight finish and
        /// their pages are recorded.
        public var stop: StopSignal?
        /// Makes options.
        public init(limit: Int? = nil, concurrency: Int = 4, stop: StopSignal? = nil) {
            self.limit = limit
            self.concurrency = max(1, concurrency)
            self.stop = stop
        }
    }

    /// A progress report, sent after every recorded page.
    public struct Progress: Sendable {
        /// Pages recorded in this run.
        public var pages: Int
        /// Pages known to be left (grows as slices are probed).
        public var pagesLeft: Int
        /// Photos new to the ledger in this run.
        public var newPhotos: Int
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Queries in the plan.
        public var queries: Int
        /// Pages recorded in this run.
        public var pages: Int
        /// Slices split in this run.
        public var splits: Int
        /// Photos new to the ledger in this run.
        public var newPhotos: Int
        /// Whether the run stopped at `--limit`.
        public var limitReached: Bool
        /// Slices that could not be split below the cap (some photos unreachable).
        public var cappedSlices: Int
    }

    let client: FlickrClient
    let counter: APICallCounter
    let ledger: Ledger
    let sealer: FieldSealer
    let blind: BlindIndex
    let logger: Logger

    /// Makes the stage.
    /// - Parameters:
    ///   - client: the Flickr client (its `onAttempt` should feed `counter`).
    ///   - counter: the attempt counter the ledger's API-call counts come from.
    ///   - ledger: where progress and photos go.
    ///   - sealer: seals the personal fields.
    ///   - blind: indexes the owner.
    ///   - logger: progress and warnings.
    public init(
        client: FlickrClient, counter: APICallCounter, ledger: Ledger, sealer: FieldSealer, blind: BlindIndex,
        logger: Logger
    ) {
        self.client = client
        self.counter = counter
        self.ledger = ledger
        self.sealer = sealer
        self.blind = blind
        self.logger = logger
    }

    /// The narrower ranges a slice over `range` with `total` photos is split into: equal
    /// date ranges, as many as needed for each to hold about three quarters of the cap if the
    /// photos were spread evenly (at least 2, at most 16, never narrower than one second).
    public static func split(_ range: ClosedRange<Int64>, total: Int, cap: Int = SearchStage.cap) -> [ClosedRange<
        Int64
    >] {
        let width = range.upperBound - range.lowerBound + 1
        guard width >= 2 else { return [range] }
        let wanted = Int64((Double(total) / (Double(cap) * 0.75)).rounded(.up))
        let pieces = min(max(2, wanted), 16, width)
        var result: [ClosedRange<Int64>] = []
        var start = range.lowerBound
        for i in 0..<pieces {
            let end =
                i == pieces - 1 ? range.upperBound : range.lowerBound + (width * (i + 1)) / pieces - 1
            result.append(start...end)
            start = end + 1
        }
        return result
    }

    /// What one probe call found for one query of a plan.
    public struct QueryProbe: Sendable, Equatable {
        /// The query probed.
        public var query: SearchQuery
        /// The query as a person reads it: term, box and taken dates (no key).
        public var description: String
        /// The number of matching photos Flickr reports (it may exceed the 4,000 a single
        /// query can page through; the stage splits such queries by date).
        public var total: Int
    }

    /// Photos asked for per probe call: the call is for `total`, not for photos.
    static let probePerPage = 1

    /// Asks Flickr, with one cheap call per query (page 1 of one photo), how many photos each
    /// query of `plan` matches; for `run --dry-run`, which must spend nothing.
    ///
    /// Nothing is written to the ledger. Calls share the client's rate budget and retries.
    /// - Parameters:
    ///   - plan: the queries.
    ///   - client: the Flickr client (its key already checked or not).
    ///   - concurrency: calls in flight at once (default 4).
    /// - Returns: one probe per query, in the plan's order.
    /// - Throws: `IngestError` as `FlickrClient.search` does (an invalid key, an unreachable
    ///   endpoint, ...).
    public static func probe(_ plan: SearchPlan, client: FlickrClient, concurrency: Int = 4) async throws
        -> [QueryProbe]
    {
        let queries = plan.queries
        var totals = [Int](repeating: 0, count: queries.count)
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            var next = 0
            var running = 0
            while true {
                while running < max(1, concurrency), next < queries.count {
                    let index = next
                    let query = queries[index]
                    group.addTask {
                        let page = try await client.search(
                            FlickrSearchRequest(
                                text: query.term, bbox: query.bbox, minTaken: query.minTaken, maxTaken: query.maxTaken,
                                page: 1, perPage: Self.probePerPage))
                        return (index, page.total)
                    }
                    next += 1
                    running += 1
                }
                guard running > 0, let (index, total) = try await group.next() else { break }
                running -= 1
                totals[index] = total
            }
        }
        return zip(queries, totals).map { QueryProbe(query: $0, description: $0.summary, total: $1) }
    }

    private enum Step: Sendable {
        case more([SearchWork], pages: Int, newPhotos: Int, split: Bool)
        case limitReached(pages: Int, newPhotos: Int)
    }

    /// Runs the plan to completion (or to the limit).
    /// - Throws: `IngestError` for a permanent Flickr error (the stage stops at once; what was
    ///   recorded stays) or a ledger failure.
    public func run(
        _ plan: SearchPlan, options: Options = Options(), progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> Summary {
        var summary = Summary(
            queries: plan.queries.count, pages: 0, splits: 0, newPhotos: 0, limitReached: false, cappedSlices: 0)
        if let limit = options.limit, try await ledger.photoCount() >= limit {
            summary.limitReached = true
            return summary
        }
        var queue = try await ledger.prepareSearch(plan.queries)
        logger.info(
            "search work prepared",
            metadata: ["search.queries": "\(plan.queries.count)", "search.work": "\(queue.count)"])
        queue.reverse()
        do {
            try await withThrowingTaskGroup(of: Step.self) { group in
                var running = 0
                while true {
                    while running < options.concurrency, options.stop?.isRequested != true,
                        let work = queue.popLast()
                    {
                        group.addTask { try await perform(work, limit: options.limit) }
                        running += 1
                    }
                    guard running > 0, let step = try await group.next() else { break }
                    running -= 1
                    switch step {
                    case .more(let work, let pages, let newPhotos, let split):
                        queue.append(contentsOf: work.reversed())
                        summary.pages += pages
                        summary.newPhotos += newPhotos
                        if split { summary.splits += 1 }
                    case .limitReached(let pages, let newPhotos):
                        summary.pages += pages
                        summary.newPhotos += newPhotos
                        summary.limitReached = true
                        group.cancelAll()
                        queue.removeAll()
                    }
                    progress(
                        Progress(pages: summary.pages, pagesLeft: queue.count + running, newPhotos: summary.newPhotos))
                }
            }
        } catch {
            try? await ledger.addAPICalls(counter.take(), service: "flickr")
            throw IngestError.wrapping(error, context: "the search")
        }
        try await ledger.addAPICalls(counter.take(), service: "flickr")
        summary.cappedSlices = try await ledger.status().search.cappedSlices
        return summary
    }

    private func perform(_ work: SearchWork, limit: Int?) async throws -> Step {
        do {
            return try await performOnce(work, limit: limit)
        } catch let error as IngestError where error.code == .cancelled && Task.isCancelled {
            // Cancelled because the limit was reached elsewhere: nothing was recorded.
            return .more([], pages: 0, newPhotos: 0, split: false)
        }
    }

    private func performOnce(_ work: SearchWork, limit: Int?) async throws -> Step {
        let query = work.query
        let request = FlickrSearchRequest(
            text: query.term, bbox: query.bbox, minTaken: work.slice.minTaken, maxTaken: work.slice.maxTaken,
            page: work.page, perPage: query.perPage)
        let page = try await client.search(request)
        let maxPages = Self.cap / query.perPage
        if work.page == 1 {
            let range = work.slice.minTaken...work.slice.maxTaken
            if page.total >= Self.cap && range.count > 1 {
                // Sorted by taken date ascending: nothing in the slice is older than the first photo.
                var lower = range.lowerBound
                if let first = page.photos.first.flatMap({ TakenDate.flickr($0.dateTaken) }), range.contains(first) {
                    lower = first
                }
                let children = Self.split(lower...range.upperBound, total: page.total)
                let calls = counter.take()
                let made: [SearchSlice]
                do {
                    made = try await ledger.recordSplit(
                        slice: work.slice, total: page.total, children: children, apiCalls: calls)
                } catch {
                    counter.restore(calls)
                    throw error
                }
                logger.debug(
                    "search slice split",
                    metadata: ["search.total": "\(page.total)", "search.children": "\(made.count)"])
                return .more(
                    made.map { SearchWork(queryID: work.queryID, query: query, slice: $0, page: 1) }, pages: 0,
                    newPhotos: 0, split: true)
            }
        }
        let now = isoNow()
        var documents: [PhotoDocument] = []
        documents.reserveCapacity(page.photos.count)
        for photo in page.photos {
            documents.append(
                try PhotoDocument.fromFlickr(photo, term: query.term, sealer: sealer, blind: blind, now: now))
        }
        var follow: [SearchWork] = []
        var pages: Int?
        var capped = false
        if work.page == 1 {
            let needed = max(1, (page.total + query.perPage - 1) / query.perPage)
            capped = page.total >= Self.cap
            if capped {
                logger.warning(
                    "a one-second slice holds more photos than Flickr lets anyone page through",
                    metadata: ["search.total": "\(page.total)", "search.taken": "\(work.slice.minTaken)"])
            }
            pages = min(needed, maxPages)
            var slice = work.slice
            slice.state = "paging"
            slice.total = page.total
            slice.pages = pages
            if let pages, pages >= 2 {
                follow = (2...pages).map { SearchWork(queryID: work.queryID, query: query, slice: slice, page: $0) }
            }
        }
        let calls = counter.take()
        let recorded: PageRecorded
        do {
            recorded = try await ledger.recordPage(
                slice: work.slice, page: work.page, total: work.page == 1 ? page.total : nil, pages: pages,
                capped: capped, documents: documents, limit: limit, apiCalls: calls)
        } catch {
            counter.restore(calls)
            throw error
        }
        if recorded.limitReached { return .limitReached(pages: 1, newPhotos: recorded.newPhotos) }
        return .more(follow, pages: 1, newPhotos: recorded.newPhotos, split: false)
    }
}
