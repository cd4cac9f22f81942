import Crypto
import Foundation
import HTTP
public import Logging
import Retry

/// Imports the image objects under an S3 prefix: lists them with ListObjectsV2 (1,000 keys a
/// page), fetches every object not imported before with the download stage's concurrency and
/// retries, and stores each image through the `ImageIngestor` at `downloaded`.
///
/// A photo is identified by its content, id `s3:<sha256 of the bytes>`: the same picture under
/// two keys is one photo. No object key is recorded (keys are file names, which may name a
/// person) and none appears in a message or log line. What makes a re-run cheap is the
/// ledger's keyed fingerprint of each object (`Ledger.recordSourceObjects`): a re-run lists
/// again and fetches only objects not seen yet, or changed since (new ETag or size). Objects
/// that are not images are fingerprinted too, so they are not fetched again either; objects
/// whose fetch failed are not, so the next run tries them again.
public struct S3ImportStage: Sendable {
    /// How the import runs.
    public struct Options: Sendable {
        /// Objects fetched at once (the download stage's `--concurrency`).
        public var concurrency: Int
        /// Keys per list call (S3 gives at most 1,000).
        public var pageSize: Int
        /// The largest object fetched; a larger one fails (`too-large`).
        public var maxImageBytes: Int
        /// When requested, the import ends after the objects in flight (what was fetched is kept).
        public var stop: StopSignal?

        /// Defaults: 16 at once, 1,000 keys a page, 200 MiB at most.
        public init(
            concurrency: Int = 16, pageSize: Int = 1000, maxImageBytes: Int = 200 << 20, stop: StopSignal? = nil
        ) {
            self.concurrency = concurrency
            self.pageSize = pageSize
            self.maxImageBytes = maxImageBytes
            self.stop = stop
        }
    }

    /// Counts for the summary.
    public struct Summary: Sendable, Equatable {
        /// ListObjectsV2 calls made.
        public var listCalls = 0
        /// Objects listed.
        public var objects = 0
        /// Objects imported by an earlier run (not fetched).
        public var known = 0
        /// Objects fetched by this run.
        public var fetched = 0
        /// New photo rows stored.
        public var stored = 0
        /// Fetched images whose content was already in the ledger (another key, same bytes).
        public var duplicates = 0
        /// Objects that are not images photoseal knows (recorded, skipped).
        public var skipped = 0
        /// Objects whose fetch failed after the retries (tried again by the next run).
        public var failed = 0
        /// Bytes of the images fetched.
        public var bytes: Int64 = 0
        /// Failure causes and their counts (`http-503`, `too-large`, …).
        public var causes: [String: Int] = [:]
        /// Makes empty counts.
        public init() {}
    }

    let client: S3Client
    let ledger: Ledger
    let ingestor: ImageIngestor
    let index: BlindIndex
    let logger: Logger

    /// Makes the stage.
    /// - Parameter index: the workdir's blind index, which keys the object fingerprints.
    public init(client: S3Client, ledger: Ledger, ingestor: ImageIngestor, index: BlindIndex, logger: Logger) {
        self.client = client
        self.ledger = ledger
        self.ingestor = ingestor
        self.index = index
        self.logger = logger
    }

    /// Imports every object under `location` (its key is the prefix).
    /// - Parameter progress: called after each object.
    /// - Throws: `IngestError.invalidAPIKey` when S3 refuses the credentials, `.httpStatus` for a
    ///   missing bucket or a listing that keeps failing, `.ledger`, `.imageStore`. One object's
    ///   failure never throws: it is counted and tried again by the next run.
    public func run(
        _ location: S3Location, options: Options = Options(), progress: (Summary) -> Void = { _ in }
    ) async throws -> Summary {
        var summary = Summary()
        ingestor.store.cleanTemporaryFiles()
        struct Stopped: Error {}
        do {
            try await client.forEachPage(bucket: location.bucket, prefix: location.key, maxKeys: options.pageSize) {
                objects in
                summary.listCalls += 1
                summary.objects += objects.count
                try await importPage(
                    objects, location: location, options: options, summary: &summary, progress: progress)
                if options.stop?.isRequested == true { throw Stopped() }
            }
        } catch is Stopped {
            // A stop was requested: what was fetched is recorded.
        }
        return summary
    }

    /// What fetching one object gave.
    enum Outcome: Sendable {
        case image(PhotoDocument, bytes: Int, duplicate: Bool)
        case notImage
        case failed(String)
    }

    private func importPage(
        _ objects: [S3Object], location: S3Location, options: Options, summary: inout Summary,
        progress: (Summary) -> Void
    ) async throws {
        let prints = try objects.map { try fingerprint($0, bucket: location.bucket) }
        let known = try await ledger.knownSourceObjects(prints)
        var todo = zip(objects, prints).filter { !known.contains($0.1) }.reversed() as [(S3Object, String)]
        summary.known += objects.count - todo.count
        var pending: [(fingerprint: String, document: PhotoDocument?)] = []
        func flush() async throws {
            _ = try await ledger.recordSourceObjects(pending)
            pending.removeAll(keepingCapacity: true)
        }
        try await withThrowingTaskGroup(of: (String, Outcome).self) { group in
            var running = 0
            while true {
                while running < max(1, options.concurrency), options.stop?.isRequested != true,
                    let (object, print) = todo.popLast()
                {
                    running += 1
                    group.addTask { (print, try await self.fetch(object, bucket: location.bucket, options: options)) }
                }
                guard let (print, outcome) = try await group.next() else { break }
                running -= 1
                summary.fetched += 1
                switch outcome {
                case .image(let document, let bytes, let duplicate):
                    pending.append((print, document))
                    summary.bytes += Int64(bytes)
                    if duplicate { summary.duplicates += 1 } else { summary.stored += 1 }
                case .notImage:
                    pending.append((print, nil))
                    summary.skipped += 1
                case .failed(let cause):
                    summary.failed += 1
                    summary.causes[cause, default: 0] += 1
                }
                // Small batches: a kill loses at most a few fetched objects, fetched again next time.
                if pending.count >= 32 { try await flush() }
                progress(summary)
            }
        }
        try await flush()
    }

    /// Fetches one object and stores it when it is an image. Refused credentials and
    /// cancellation end the import (thrown); other failures are this object's.
    private func fetch(_ object: S3Object, bucket: String, options: Options) async throws -> Outcome {
        guard object.size <= Int64(options.maxImageBytes) else { return .failed("too-large") }
        final class Last: @unchecked Sendable { var file: BodyFile? }
        let last = Last()
        let store = ingestor.store
        let file: BodyFile
        do {
            file = try await client.getObject(
                bucket: bucket, key: object.key,
                makeSink: {
                    let made = try BodyFile(maxBytes: options.maxImageBytes, directory: store.workdir)
                    last.file = made
                    return made
                },
                discard: { $0.discard() })
        } catch let error as IngestError {
            if last.file?.notImage == true { return .notImage }
            if last.file?.tooLarge == true { return .failed("too-large") }
            if error.code == .invalidAPIKey || error.code == .cancelled { throw error }
            // The message names the key (a file name): only the cause is logged.
            let cause =
                error.httpStatus.map { "http-\($0)" }
                ?? DownloadStage.cause(error.transportCause ?? HTTPError.Code.transport)
            logger.warning("import: an S3 object could not be fetched", metadata: ["s3.cause": "\(cause)"])
            return .failed(cause)
        } catch {
            return .failed("temp-file")
        }
        defer { file.discard() }
        let sha256 = file.finish()
        guard !file.notImage, file.format != nil, file.bytes > 0 else { return .notImage }
        guard let original = file.contents() else { return .failed("temp-file") }
        var document = ImportStage.document(source: "s3", sourceID: sha256, sealer: ingestor.sealer, url: nil)
        if try await ledger.contains(id: document.id) {
            return .image(document, bytes: original.count, duplicate: true)
        }
        let ingested =
            ingestor.store.isRemote
            ? try await ingestor.upload(original: original, sha256: sha256, into: &document)
            : try ingestor.ingest(original: original, sha256: sha256, into: &document)
        guard ingested != nil else { return .notImage }
        return .image(document, bytes: original.count, duplicate: false)
    }

    /// The keyed fingerprint of an object: the blind index of its endpoint, bucket, key, ETag
    /// and size (hex-encoded first, as the index lower-cases what it hashes).
    func fingerprint(_ object: S3Object, bucket: String) throws -> String {
        let identity = [client.settings.endpoint, bucket, object.key, object.etag, String(object.size)]
            .joined(separator: "\u{0}")
        do {
            return try index.hex("s3-object:" + Array(identity.utf8).map { String(format: "%02x", $0) }.joined())
        } catch {
            throw IngestError.wrapping(error, context: "fingerprinting an S3 object")
        }
    }
}
