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
        /// queue its failed downloads again (`StageRunner.Options.recover`), so a photo that
        /// failed is tried once per run.
        public var recover = true
        /// With `recover`, also queue again the rows whose download failed for good (HTTP
        /// 403/404/410, the placeholder, not an image): `--retry-failed` (default off).
        public var retryFailed = false
        /// The overall deadline of one transfer in seconds, on top of the HTTP client's
        /// low-speed limit (which a body dribbling a few bytes a second never trips); `nil`
        /// (default) scales it with `maxImageBytes`: `transferDeadline`. A transfer past it
        /// fails with the cause `timeout` (and is retried like one).
        public var transferTimeout: Double?
        /// When set, no new download starts once a stop is requested, and downloads still in
        /// flight `stopGrace` seconds later are cancelled (their rows stay at `found` for the
        /// next run); what finished is committed.
        public var stop: StopSignal?
        /// Seconds downloads in flight get to finish after a stop is requested (default 2).
        public var stopGrace: Double = 2
        /// Bodies up to this many bytes stay in memory; larger ones spill to an unnamed file
        /// and are streamed from it into the store (default 8 MiB; tests lower it).
        package var memoryLimit = 8 << 20
        /// Whether `recover` removes an earlier run's partial image files (default). A run
        /// whose import cleaned them at its start, and writes images while this stage runs,
        /// turns it off: a second clean could remove a file the import is writing.
        package var cleansPartialFiles = true

        /// The deadline applied to each transfer: `transferTimeout`, else 10 minutes or the
        /// time `maxImageBytes` takes at 256 KiB/s, whichever is longer.
        public var transferDeadline: Double {
            transferTimeout ?? max(600, Double(maxImageBytes) / Double(256 << 10))
        }

        /// The defaults described on each property.
        public init(
            concurrency: Int = 16, sizes: [String] = ["o", "k", "h", "l", "c"], mode: ImageStore.Mode = .stripped,
            maxAttempts: Int = 5, retryBaseDelay: Double = 0.5, maxRetryAfter: Double = 120, limit: Int? = nil,
            maxImageBytes: Int = 200 << 20, transferTimeout: Double? = nil
        ) {
            self.concurrency = concurrency
            self.sizes = sizes
            self.mode = mode
            self.maxAttempts = maxAttempts
            self.retryBaseDelay = retryBaseDelay
            self.maxRetryAfter = maxRetryAfter
            self.limit = limit
            self.maxImageBytes = maxImageBytes
            self.transferTimeout = transferTimeout
        }
    }

    /// Counts so far, for progress lines and the summary (`stored`, `duplicates`, `bytes`,
    /// `unavailable`, `failed`, `causes`, `cleaned`; with an extractor, `extracted` and what it found).
    public typealias Progress = StageReport

    /// Host names (or URL fragments) of Flickr's "photo unavailable" placeholder images.
    public static let placeholderMarkers = ["photo_unavailable", "/images/spaceball.gif"]

    let http: HTTPClient
    let ledger: Ledger
    let ingestor: ImageIngestor
    let extractor: ExtractStage?
    let logger: Logger

    /// Makes the stage.
    /// - Parameter extractor: when given, `run` composes it after the download step
    ///   (`step(_:).then(extractor)`): each image is extracted as soon as it is stored, and its
    ///   row goes straight to `extracted`; without one, rows stop at `downloaded`.
    public init(
        http: HTTPClient, ledger: Ledger, ingestor: ImageIngestor, extractor: ExtractStage? = nil, logger: Logger
    ) {
        self.http = http
        self.ledger = ledger
        self.ingestor = ingestor
        self.extractor = extractor
        self.logger = logger
    }

    /// Runs until no row is left at `found` (or `limit` rows are done), through the
    /// `StageRunner`; with an extractor, each stored image is extracted at once (`then`).
    /// - Parameter progress: called after each row with the counts so far.
    /// - Throws: `IngestError.ledger` when the ledger fails; a photo's own failure never throws.
    public func run(_ options: Options, progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws
        -> Progress
    {
        var runner = StageRunner.Options(concurrency: options.concurrency, limit: options.limit, stop: options.stop)
        runner.recover = options.recover
        runner.retryFailed = options.retryFailed
        let step = self.step(options)
        if let extractor {
            return try await StageRunner(ledger: ledger).run(step.then(extractor), options: runner, progress: progress)
        }
        return try await StageRunner(ledger: ledger).run(step, options: runner, progress: progress)
    }

    /// The stage as the runner drives it, with these options (sizes, attempts, limits).
    public func step(_ options: Options) -> Step { Step(stage: self, options: options) }

    /// The download step: `found` rows in, `downloaded` (the original carried to the next
    /// step in memory), `unavailable` or `failed` out.
    public struct Step: PipelineStage {
        let stage: DownloadStage
        let options: Options

        /// `download`.
        public var name: String { "download" }
        /// Rows at `found`.
        public var takes: Ledger.Stage { .found }

        /// Removes an earlier run's partial files and queues its failed downloads again.
        public func recover(retryFailed: Bool) async throws -> StageReport {
            var report = StageReport()
            if options.cleansPartialFiles { report.cleaned = stage.ingestor.store.cleanTemporaryFiles() }
            try await stage.ledger.requeueFailures(of: .download, includingPermanent: retryFailed)
            return report
        }

        /// Downloads one photo.
        public func process(_ item: StageItem) async throws -> StepResult {
            guard let stop = options.stop else { return await stage.download(item, options: options) }
            let (stage, options) = (self.stage, self.options)
            return await stop.cancelling(grace: options.stopGrace) { await stage.download(item, options: options) }
        }
    }

    /// The URLs to try for a row's document, in order. Not inlined: see below.
    @inline(never)
    static func candidates(_ item: StageItem, sizes: [String]) -> [String] {
        let document = item.document
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

    // What follows keeps `PhotoDocument` values (664 bytes each) out of the async functions:
    // an async function keeps every such temporary in its task's frame for the whole call, and
    // one download in flight held an 84 KB frame. The document is read and changed in the
    // synchronous helpers (`candidates` above and those below), which are not inlined (their
    // temporaries live on the thread's stack).

    private func download(_ item: StageItem, options: Options) async -> StepResult {
        let urls = Self.candidates(item, sizes: options.sizes)
        guard !urls.isEmpty else { return Self.outcome(item, .unavailable, "no-image-url") }
        var lastGone = "gone"
        for url in urls {
            switch await fetch(url, options: options) {
            case .image(let file, let sha256):
                defer { file.discard() }
                return await store(file, sha256: sha256, url: url, item: item)
            case .gone(let status):
                lastGone = "http-\(status)"
                continue
            case .unavailable(let cause):
                return Self.outcome(item, .unavailable, cause)
            case .failed(let cause):
                // Cancelled by a stop: the row goes back to `found`, with no failure and nothing
                // counted, for the next run.
                if Task.isCancelled { return Self.outcome(item, .found, nil) }
                return Self.outcome(item, .failed, cause)
            }
        }
        return Self.outcome(item, .unavailable, lastGone)
    }

    /// Stores a downloaded image and records it in the row's document.
    private func store(_ file: BodyFile, sha256: String, url: String, item: StageItem) async -> StepResult {
        let ingestor = ingestor
        do {
            if let descriptor = file.spilledDescriptor {
                // A large body is streamed from its file into the store, never read whole (when
                // this image can be: otherwise it is read whole below).
                let streamed = try Self.stored(item, url: url, bytes: file.bytes, original: []) { document in
                    try ingestor.ingest(descriptor: descriptor, size: file.bytes, sha256: sha256, into: &document)
                }
                if let streamed { return streamed }
            }
            guard let original = file.contents() else {
                return Self.outcome(item, .failed, "temp-file")
            }
            if ingestor.store.isRemote {
                return try await upload(original, sha256: sha256, url: url, item: item)
            }
            // Off the task pool: the image file's write may wait for the disk.
            return try await BlockingPool.shared.run {
                let stored = try Self.stored(item, url: url, bytes: original.count, original: original) { document in
                    try ingestor.ingest(original: original, sha256: sha256, into: &document)
                }
                return stored ?? Self.outcome(item, .unavailable, "not-an-image")
            }
        } catch {
            logger.error(
                "storing an image failed", metadata: ["download.id": "\(item.id)", "download.error": "\(error)"])
            return Self.outcome(item, .failed, "store")
        }
    }

    /// `store` to a remote image store. Apart from `store`: the upload is async, so the document
    /// it fills takes a slot in this function's frame, allocated for a remote store only.
    @inline(never)
    private func upload(_ original: [UInt8], sha256: String, url: String, item: StageItem) async throws -> StepResult {
        var document = item.document
        guard let ingested = try await ingestor.upload(original: original, sha256: sha256, into: &document) else {
            return Self.outcome(item, .unavailable, "not-an-image")
        }
        return Self.downloaded(item, document, url: url, bytes: original.count, ingested: ingested, original: original)
    }

    /// The row's result once `ingest` stored its image into a copy of its document; `nil` when
    /// `ingest` did not (returned `nil`).
    @inline(never)
    private static func stored(
        _ item: StageItem, url: String, bytes: Int, original: [UInt8],
        _ ingest: (inout PhotoDocument) throws -> ImageIngestor.Ingested?
    ) throws -> StepResult? {
        var document = item.document
        guard let ingested = try ingest(&document) else { return nil }
        return downloaded(item, document, url: url, bytes: bytes, ingested: ingested, original: original)
    }

    /// A stored download's result: the document as stored, the original handed to the next
    /// step (extract) in memory, not through the ledger (empty when it was streamed).
    private static func downloaded(
        _ item: StageItem, _ document: PhotoDocument, url: String, bytes: Int, ingested: ImageIngestor.Ingested,
        original: [UInt8]
    ) -> StepResult {
        var document = document
        if document.imageURL != url { document.imageURL = url }
        var report = StageReport()
        report.bytes = Int64(bytes)
        report.stored = 1
        if ingested.duplicate { report.duplicates = 1 }
        return StepResult(
            id: item.id, stage: .downloaded, document: document, report: report,
            carried: StageItem.Carried(original: original, gps: ingested.gps))
    }

    /// A download that stored nothing: the row's next stage and its failure (the source no
    /// longer offering the photo is for good; anything else may pass), counted.
    @inline(never)
    private static func outcome(_ item: StageItem, _ stage: Ledger.Stage, _ cause: String?) -> StepResult {
        let failure = cause.map { PhotoFailure(stage: .download, cause: $0, permanent: stage == .unavailable) }
        var report = StageReport()
        report.count(failure, rowStage: stage)
        return StepResult(id: item.id, stage: stage, document: item.document, failure: failure, report: report)
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
                file = try BodyFile(
                    maxBytes: options.maxImageBytes, memoryLimit: options.memoryLimit, directory: ingestor.store.workdir
                )
            } catch {
                return .failed("temp-file")
            }
            let response: HTTPResponse
            do {
                response = try await http.send(
                    HTTPRequest(url: url, followRedirects: false, timeout: options.transferDeadline), sink: file)
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
                // libcurl checks a Content-Length against the bytes on the wire and a chunked
                // body's last chunk itself; this catches a length that does not match what
                // arrived (checked on unencoded bodies only: with Content-Encoding the length
                // is the compressed size), and a body framed by nothing but the connection's
                // close that stops short of its format's end marker.
                if let expected = response.contentLength, !file.encoded, expected != file.bytes {
                    file.discard()
                    throw Retriable(cause: "truncated", failure: .transient(retryAfter: nil))
                }
                if !file.framed, !file.endsWithEndMarker {
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
