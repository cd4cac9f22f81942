import Crypto
import Foundation
public import HTTP
public import Logging
import Retry

/// The download stage: fetches every photo at `found` into the image store, many at once over
/// the libcurl multi engine, and moves each row to `downloaded` (`extracted` when it was given
/// an extractor), `unavailable` or `failed`.
///
/// Each body is hashed as it arrives (kept in memory, or in a temporary file when large); it
/// is checked (status 200, the whole `Content-Length` received, an image signature) and only
/// then handed to the `ImageIngestor`, which reads its EXIF and stores it under its SHA-256.
/// Sizes are tried in the order asked (`o,k,h,l,c` by default): a size answering 403/404/410 falls back to the
/// next. A redirect to Flickr's "photo unavailable" placeholder, a body that is not an image,
/// or every size gone marks the row `unavailable` with a permanent failure (not fetched again
/// unless `Options.retryFailed`). 5xx, 429 (honouring `Retry-After`), broken connections and
/// truncated bodies are retried with exponential back-off; a row still failing after the last
/// attempt is marked `failed` with a transient failure and tried again by the next run.
public final class DownloadStage: Sendable {
    /// How to run the stage.
    public struct Options: Sendable {
        /// Downloads in flight at once (default 16).
        public var concurrency: Int
        /// Size suffixes to try in order; sizes a document does not offer are skipped, and a
        /// document with none of them falls back to its `image_url`.
        public var sizes: [String]
        /// How images are kept at rest.
        public var mode: ImageStore.Mode
        /// Attempts per URL for retriable failures (default 5).
        public var maxAttempts: Int
        /// The first back-off delay in seconds, doubled per attempt (default 0.5).
        public var retryBaseDelay: Double
        /// The longest wait honoured from a `Retry-After` (default 120 s).
        public var maxRetryAfter: Double
        /// Stop after this many rows (default: all).
        public var limit: Int?
        /// The largest image accepted, in bytes (default 200 MiB).
        public var maxImageBytes: Int
        /// Whether to recover from an earlier run first (default): remove its partial files and
        /// queue its failed downloads again. A pipeline running the stage in rounds sets it for
        /// its first round only, so a photo that failed is tried once per run.
        public var recover = true
        /// With `recover`, also queue again the rows whose download failed for good (HTTP
        /// 403/404/410, the placeholder, not an image): `--retry-failed` (default off).
        public var retryFailed = false
        /// When set, no new download starts once a stop is requested; downloads in flight
        /// finish and are committed.
        public var stop: StopSignal?

        /// The defaults described on each property.
        public init(
            concurrency: Int = 16, sizes: [String] = ["o", "k", "h", "l", "c"], mode: ImageStore.Mode = .stripped,
            maxAttempts: Int = 5, retryBaseDelay: Double = 0.5, maxRetryAfter: Double = 120, limit: Int? = nil,
            maxImageBytes: Int = 200 << 20
        ) {
            self.concurrency = concurrency
            self.sizes = sizes
            self.mode = mode
            self.maxAttempts = maxAttempts
            self.retryBaseDelay = retryBaseDelay
            self.maxRetryAfter = maxRetryAfter
            self.limit = limit
            self.maxImageBytes = maxImageBytes
        }
    }

    /// Counts so far, for progress lines and the summary.
    public struct Progress: Sendable {
        /// Rows waiting when the stage started.
        public var total = 0
        /// Rows finished (any outcome).
        public var done = 0
        /// Rows now `downloaded`.
        public var stored = 0
        /// Of those, rows also extracted (moved to `extracted`).
        public var extracted = 0
        /// Of the extracted rows, those with EXIF.
        public var extractedWithExif = 0
        /// Of the extracted rows, those positioned from their EXIF GPS.
        public var extractedGeoFromExif = 0
        /// Of the extracted rows, those given a place.
        public var extractedPlaced = 0
        /// Of those, images whose bytes were already in the store (another id, same bytes).
        public var duplicates = 0
        /// Rows marked `unavailable`.
        public var unavailable = 0
        /// Rows marked `failed`.
        public var failed = 0
        /// Image bytes received.
        public var bytes: Int64 = 0
        /// Unavailable and failed rows by cause (`unavailable:http-404`, `download:http-503`).
        public var causes: [String: Int] = [:]
        /// Temporary files of an earlier run removed at the start.
        public var cleaned = 0
    }

    /// Host names (or URL fragments) of Flickr's "photo unavailable" placeholder images.
    public static let placeholderMarkers = ["photo_unavailable", "/images/spaceball.gif"]

    let http: HTTPClient
    let ledger: Ledger
    let ingestor: ImageIngestor
    let extractor: ExtractStage?
    let logger: Logger

    /// Makes the stage.
    /// - Parameter extractor: when given, each image is also extracted (position from EXIF,
    ///   place) as soon as it is stored, overlapping with the other downloads, and its row goes
    ///   straight to `extracted`; without one, rows stop at `downloaded` for `ExtractStage`.
    public init(
        http: HTTPClient, ledger: Ledger, ingestor: ImageIngestor, extractor: ExtractStage? = nil, logger: Logger
    ) {
        self.http = http
        self.ledger = ledger
        self.ingestor = ingestor
        self.extractor = extractor
        self.logger = logger
    }

    /// Runs until no row is left at `found` (or `limit` rows are done).
    /// - Parameter progress: called after each row with the counts so far.
    /// - Throws: `IngestError.ledger` when the ledger fails; a photo's own failure never throws.
    public func run(_ options: Options, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws
        -> Progress
    {
        var counts = Progress()
        if options.recover {
            counts.cleaned = ingestor.store.cleanTemporaryFiles()
            try await ledger.requeueFailures(of: .download, includingPermanent: options.retryFailed)
        }
        _ = try await ledger.releaseDeadLeases(stage: .found)
        counts.total = try await ledger.count(stage: .found)
        if let limit = options.limit { counts.total = min(counts.total, limit) }
        let owner = Ledger.leaseOwner("download")
        let width = max(1, options.concurrency)
        var queue: [Ledger.Entry] = []
        var claimedAll = false
        var started = 0
        var pending: [Ledger.Advance] = []
        var lastCommit = Date()
        var committing: Task<Void, any Error>?
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            var running = 0
            while true {
                while running < width, options.limit.map({ started < $0 }) ?? true, options.stop?.isRequested != true {
                    if queue.isEmpty, !claimedAll {
                        let want = min(max(width * 8, 256), (options.limit ?? Int.max) - started)
                        queue = try await ledger.claim(stage: .found, limit: want, owner: owner).reversed()
                        if queue.isEmpty { claimedAll = true }
                    }
                    guard let entry = queue.popLast() else { break }
                    started += 1
                    running += 1
                    group.addTask { await self.download(entry, options: options) }
                }
                guard let outcome = try await group.next() else { break }
                running -= 1
                pending.append(
                    Ledger.Advance(
                        id: outcome.entry.id, stage: outcome.stage, document: outcome.document,
                        failure: outcome.failure))
                count(outcome, into: &counts)
                // Commit in small batches (one transaction and one sync per batch), in the
                // background: new downloads start while the previous batch is being committed.
                if pending.count >= 32 || Date().timeIntervalSince(lastCommit) >= 0.25 {
                    try await committing?.value
                    let batch = pending
                    let ledger = self.ledger
                    committing = Task { try await ledger.advance(batch) }
                    pending.removeAll(keepingCapacity: true)
                    lastCommit = Date()
                }
                progress(counts)
            }
            try await committing?.value
            try await ledger.advance(pending)
        }
        // Rows claimed but not started (a stop was requested) are handed back at once.
        for entry in queue { try await ledger.release(id: entry.id) }
        return counts
    }

    /// What happened to one row.
    struct Outcome: Sendable {
        var entry: Ledger.Entry
        var document: PhotoDocument
        var stage: Ledger.Stage
        var failure: PhotoFailure?
        var bytes: Int
        var duplicate: Bool
        /// Extracted here with the position from the image's EXIF GPS.
        var geoFromExif = false
    }

    private func count(_ outcome: Outcome, into counts: inout Progress) {
        counts.done += 1
        counts.bytes += Int64(outcome.bytes)
        switch outcome.stage {
        case .downloaded, .extracted:
            counts.stored += 1
            if outcome.stage == .extracted {
                counts.extracted += 1
                if outcome.document.sealed.exif != nil { counts.extractedWithExif += 1 }
                if outcome.geoFromExif { counts.extractedGeoFromExif += 1 }
                if outcome.document.place != nil { counts.extractedPlaced += 1 }
            }
            if outcome.duplicate { counts.duplicates += 1 }
        case .unavailable: counts.unavailable += 1
        default: counts.failed += 1
        }
        if let failure = outcome.failure { counts.causes[failure.countKey(rowStage: outcome.stage), default: 0] += 1 }
    }

    /// The URLs to try for a document, in order.
    static func candidates(_ document: PhotoDocument, sizes: [String]) -> [String] {
        var urls: [String] = []
        for size in sizes {
            for source in document.imageSources where source.size == size && !urls.contains(source.url) {
                urls.append(source.url)
            }
        }
        if urls.isEmpty {
            if let url = document.imageURL {
                urls.append(url)
            } else if let first = document.imageSources.first {
                urls.append(first.url)
            }
        }
        return urls
    }

    private func download(_ entry: Ledger.Entry, options: Options) async -> Outcome {
        var document = entry.document
        func outcome(_ stage: Ledger.Stage, _ cause: String?, bytes: Int = 0, duplicate: Bool = false) -> Outcome {
            // The source no longer offering the photo is for good; anything else may pass.
            let failure = cause.map { PhotoFailure(stage: .download, cause: $0, permanent: stage == .unavailable) }
            return Outcome(
                entry: entry, document: document, stage: stage, failure: failure, bytes: bytes, duplicate: duplicate)
        }
        let urls = Self.candidates(document, sizes: options.sizes)
        guard !urls.isEmpty else { return outcome(.unavailable, "no-image-url") }
        var lastGone = "gone"
        for url in urls {
            switch await fetch(url, options: options) {
            case .image(let file, let sha256):
                defer { file.discard() }
                guard let original = file.contents() else {
                    return outcome(.failed, "temp-file")
                }
                do {
                    guard let ingested = try ingestor.ingest(original: original, sha256: sha256, into: &document)
                    else {
                        return outcome(.unavailable, "not-an-image")
                    }
                    let duplicate = ingested.duplicate
                    if document.imageURL != url { document.imageURL = url }
                    // With an extractor, the extract stage's work is done here while the
                    // original is at hand, and the row goes straight to `extracted`.
                    if let extractor {
                        let fromExif: Bool
                        (document, fromExif) = extractor.extract(document, freshGPS: ingested.gps)
                        var extracted = outcome(.extracted, nil, bytes: original.count, duplicate: duplicate)
                        extracted.geoFromExif = fromExif
                        return extracted
                    }
                    return outcome(.downloaded, nil, bytes: original.count, duplicate: duplicate)
                } catch {
                    logger.error(
                        "storing an image failed",
                        metadata: ["download.id": "\(entry.id)", "download.error": "\(error)"])
                    return outcome(.failed, "store")
                }
            case .gone(let status):
                lastGone = "http-\(status)"
                continue
            case .unavailable(let cause):
                return outcome(.unavailable, cause)
            case .failed(let cause):
                return outcome(.failed, cause)
            }
        }
        return outcome(.unavailable, lastGone)
    }

    enum Fetched {
        case image(BodyFile, sha256: String)
        case gone(Int)
        case unavailable(String)
        case failed(String)
    }

    static func isPlaceholder(_ url: String) -> Bool {
        placeholderMarkers.contains { url.contains($0) }
    }

    /// A retriable failure of one attempt: its cause (for the row's failure) and how the
    /// retry loop treats it.
    private struct Retriable: Error {
        let cause: String
        let failure: RetryClass
    }

    /// The retry policy of one download: `maxAttempts` attempts, back-off from
    /// `retryBaseDelay`, and a `Retry-After` honoured up to `maxRetryAfter`.
    static func retryPolicy(_ options: Options) -> RetryPolicy {
        RetryPolicy(
            maxAttempts: options.maxAttempts, baseDelay: options.retryBaseDelay, maxDelay: options.maxRetryAfter,
            jitter: 0.4, maxRetryAfter: options.maxRetryAfter)
    }

    /// Fetches one URL with retries; follows redirects itself so a placeholder can be seen.
    private func fetch(_ start: String, options: Options) async -> Fetched {
        var url = start
        var redirects = 0
        let logger = self.logger
        do {
            return try await withRetries(
                policy: Self.retryPolicy(options),
                classify: { ($0 as? Retriable)?.failure ?? .permanent },
                onRetry: { error, event in
                    logger.debug(
                        "retrying a download",
                        metadata: [
                            "download.host": "\(HTTPEndpoint.hostPort(url))",
                            "download.cause": "\((error as? Retriable)?.cause ?? "unknown")",
                            "download.attempt": "\(event.attempt)", "download.delay": "\(event.wait)",
                        ])
                }
            ) { _ in
                if Task.isCancelled { return .failed("cancelled") }
                return try await attempt(&url, redirects: &redirects, options: options)
            }
        } catch let error as Retriable {
            return .failed(error.cause)
        } catch {
            return .failed("cancelled")
        }
    }

    /// One attempt at `url`, following redirects (which move `url` for later attempts).
    /// - Throws: `Retriable` for a failure another attempt may fix.
    private func attempt(_ url: inout String, redirects: inout Int, options: Options) async throws -> Fetched {
        while true {
            let file: BodyFile
            do {
                file = try BodyFile(maxBytes: options.maxImageBytes, directory: ingestor.store.workdir)
            } catch {
                return .failed("temp-file")
            }
            let response: HTTPResponse
            do {
                response = try await http.send(HTTPRequest(url: url, followRedirects: false), sink: file)
            } catch let error as HTTPError {
                let notImage = file.notImage
                let tooLarge = file.tooLarge
                file.discard()
                if notImage { return .unavailable("not-an-image") }
                if tooLarge { return .failed("too-large") }
                if error.code == .cancelled { return .failed("cancelled") }
                // A sink that failed to spill to disk, or any transport failure: try again.
                throw Retriable(
                    cause: Self.cause(error.code),
                    failure: error.isUnreachable ? .unreachable : .transient(retryAfter: nil))
            } catch {
                file.discard()
                throw Retriable(cause: HTTPError.Code.transport.name, failure: .transient(retryAfter: nil))
            }
            let status = response.status
            if (300..<400).contains(status), let location = response.header("Location") {
                file.discard()
                guard let next = URL(string: location, relativeTo: URL(string: url))?.absoluteString else {
                    return .failed("bad-redirect")
                }
                if Self.isPlaceholder(next) { return .unavailable("placeholder") }
                redirects += 1
                guard redirects <= 10 else { return .failed("redirect-loop") }
                url = next
                continue
            }
            switch status {
            case 200:
                let sha256 = file.finish()
                if file.notImage {
                    file.discard()
                    return .unavailable("not-an-image")
                }
                if let expected = response.contentLength, expected != file.bytes {
                    file.discard()
                    throw Retriable(cause: "truncated", failure: .transient(retryAfter: nil))
                }
                if file.bytes == 0 || file.format == nil {
                    file.discard()
                    return .unavailable("not-an-image")
                }
                return .image(file, sha256: sha256)
            case 403, 404, 410:
                file.discard()
                return .gone(status)
            case 408, 429, 500...599:
                file.discard()
                throw Retriable(cause: "http-\(status)", failure: .transient(retryAfter: response.retryAfter()))
            default:
                file.discard()
                return .failed("http-\(status)")
            }
        }
    }

    /// A row's failure cause for a transport failure: the HTTP module's code, with a timeout
    /// before or after connecting both counted as `timeout`.
    static func cause(_ code: HTTPError.Code) -> String {
        code == .connectTimeout ? HTTPError.Code.timeout.name : code.name
    }
}
