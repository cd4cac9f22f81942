import ArgumentParser
import Foundation
import HTTP
import Ingest
import Logging
import Retry

/// `photoseal search`: find photos on Flickr and record them in the ledger.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find photos on Flickr by terms, box and dates; record them, sealed, in the ledger.",
        discussion: """
            Every term runs in every box over the taken-date range; queries run concurrently and \
            share one rate budget per API key (default 3,600 calls an hour, bursts of 3). Past \
            Flickr's 4,000-result cap a query is split by taken date until every slice can be \
            paged through. Owner, owner name and path alias are sealed before anything is \
            written. Killed and re-run, the search resumes without repeating finished pages.

            Examples:
              photoseal search --term monkey --term scimmia --term 猴子 --bbox 5,35,20,48
              photoseal search --terms-file terms.txt --min-taken 2015-01-01 --limit 5000
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var flickrOptions: FlickrEndpointOptions

    @OptionGroup var query: SearchQueryOptions

    @Option(help: ArgumentHelp("Calls in flight at once.", valueName: "n"))
    var concurrency: Int = 4

    @Option(help: .hidden)
    var retryBaseDelay: Double = 1

    @Option(help: .hidden)
    var maxAttempts: Int = 8

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard (1...32).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 32") }
        guard retryBaseDelay.isFinite, retryBaseDelay >= 0, (1...20).contains(maxAttempts) else {
            throw ValidationError("--retry-base-delay must be 0 or more and --max-attempts between 1 and 20")
        }
        _ = try query.plan()
    }

    /// The search's counts for the progress display: pages (with those known to be left).
    static func progress(_ p: SearchStage.Progress) -> ProgressDisplay.Counts {
        (
            [
                ProgressStage(
                    "search", short: "se", done: p.pages, total: p.pages + p.pagesLeft, unit: "pages",
                    note: "\(p.newPhotos) new")
            ], [:], nil
        )
    }

    func run() async throws {
        try await reportingErrors {
            let plan = try query.plan()
            // Both readings of some boxes are valid (see --bbox's help): show the one taken.
            if !plan.boxes.isEmpty { printError("search: box \(BoundingBox.reading(of: plan.boxes))") }
            let logger = global.logger()
            let workspace = try await global.workspace("search", access: .seal)
            let sealer = try workspace.sealer()
            let blind = try workspace.blindIndex()
            if query.ratePerHour > RateBudget.flickrDefaultPerHour {
                logger.warning(
                    "the rate budget exceeds Flickr's 3,600 calls per hour; the key may be revoked",
                    metadata: ["search.rate_per_hour": "\(query.ratePerHour)"])
            }
            warnSecretOnCommandLine("--api-key", given: query.apiKey, secret: "FLICKR_API_KEY")
            let http = try HTTPClient(configuration: .photoseal, logger: logger)
            defer { http.shutdown() }
            // The key is checked with one cheap call before the ledger is touched.
            let (client, counter) = try await workspace.flickrClient(
                http: http, endpoint: flickrOptions.flickrEndpoint, apiKey: query.apiKey,
                ratePerHour: query.ratePerHour,
                retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: retryBaseDelay))
            let ledger = try workspace.ledger(create: true)
            let stage = SearchStage(
                client: client, counter: counter, ledger: ledger, sealer: sealer, blind: blind, logger: logger)
            let display = progressOptions.display("search")
            let summary = try await stage.run(
                plan, options: SearchStage.Options(limit: query.limit, concurrency: concurrency)
            ) { p in display.update { _ in Self.progress(p) } }
            display.finish()
            let status = try await ledger.status()
            let calls = status.apiCalls["flickr", default: [:]].values.reduce(0, +)
            var line =
                "search: \(status.photos) photos in the ledger (\(summary.newPhotos) new), \(summary.pages) pages "
                + "fetched, \(summary.queries) queries, \(calls) Flickr calls in total"
            if summary.limitReached { line += "; stopped at --limit \(query.limit ?? 0)" }
            if status.search.cappedSlices > 0 {
                line += "; \(status.search.cappedSlices) one-second slices over the 4,000 cap (some photos unreachable)"
            }
            printError(line)
        }
    }
}
