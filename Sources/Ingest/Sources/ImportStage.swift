import Crypto
import Foundation
public import Logging

/// Records the photos of an import source in the ledger.
///
/// Local bytes (folder files, zip entries) go straight through the `ImageIngestor` into the
/// image store and land at `downloaded`, with id `local:<sha256 of the content>`: the same
/// picture imported twice, from any path or archive, is one photo, and no file name or path
/// (which may name a person) is recorded. URLs land at `found` with id `url:<sha256 of the
/// URL>` and are fetched by the download stage. Items already in the ledger are skipped.
public struct ImportStage: Sendable {
    /// Counts for the summary.
    public struct Summary: Sendable, Equatable {
        /// Items the source offered.
        public var items = 0
        /// New rows stored at `downloaded` (local images).
        public var stored = 0
        /// New rows at `found` (URLs).
        public var queued = 0
        /// Items already in the ledger.
        public var known = 0
        /// Local files that are not images photoseal knows (skipped).
        public var skipped = 0
        /// URLs stored without the credentials or secret query options they were given with.
        public var credentialsRemoved = 0
        /// Items that could not be read (unreadable or non-regular files, bad rows): reported
        /// by position and skipped; the rest of the source is still imported.
        public var unreadable = 0
        /// Local bytes read.
        public var bytes: Int64 = 0
        /// Makes empty counts.
        public init() {}
    }

    let ledger: Ledger
    let ingestor: ImageIngestor
    let logger: Logger

    /// Makes the stage.
    public init(ledger: Ledger, ingestor: ImageIngestor, logger: Logger) {
        self.ledger = ledger
        self.ingestor = ingestor
        self.logger = logger
    }

    /// Imports every item of `source`.
    /// - Parameters:
    ///   - stop: when requested, the import ends after the current item (what was read is kept).
    ///   - progress: called after each item.
    /// - Throws: `IngestError.source` when the source cannot be read, `.ledger`, `.imageStore`.
    public func run(
        _ source: any PhotoSource, stop: StopSignal? = nil, progress: (Summary) -> Void = { _ in }
    ) async throws -> Summary {
        var summary = Summary()
        ingestor.store.cleanTemporaryFiles()
        // URLs are recorded in batches: one transaction per 128 rows, after first batches of 32
        // and 64, so that a run's downloads can start after the first 32 rows. (Batches of 500
        // held 0.8 MB of documents and their JSON while a long run's other stages were busy.)
        var queued: [PhotoDocument] = []
        var batch = 32
        func flush() async throws {
            let added = try await ledger.insertImported(queued, stage: .found)
            summary.queued += added
            summary.known += queued.count - added
            queued.removeAll(keepingCapacity: true)
            batch = min(batch * 2, 128)
        }
        struct Stopped: Error {}
        do {
            try await source.forEachItem { item in
                if stop?.isRequested == true { throw Stopped() }
                try await importItem(item)
            }
        } catch is Stopped {
            // A stop was requested: keep what was read.
        }
        try await flush()
        return summary

        func importItem(_ item: SourceItem) async throws {
            summary.items += 1
            switch item.content {
            case .url(let given):
                // Credentials and secret query options are dropped before anything is recorded.
                let (url, stripped) = URLListSource.publicURL(given)
                if stripped { summary.credentialsRemoved += 1 }
                let document = Self.document(
                    source: "url", sourceID: try SHA256.hex(of: Array(url.utf8)), sealer: ingestor.sealer, url: url)
                queued.append(document)
                if queued.count >= batch { try await flush() }
            case .file(let path):
                guard let data = FileManager.default.contents(atPath: path) else {
                    skip("cannot be read")
                    break
                }
                try await local(Array(data), summary: &summary)
            case .unreadable(let reason):
                skip(reason)
            case .bytes(let bytes):
                try await local(bytes, summary: &summary)
            }
            progress(summary)
        }

        // By position only: a file name may name a person.
        func skip(_ reason: String) {
            summary.unreadable += 1
            logger.warning("import: item \(summary.items) skipped: \(reason)")
        }
    }

    private func local(_ bytes: [UInt8], summary: inout Summary) async throws {
        guard ImageFormat.sniff(bytes.prefix(16)) != nil else {
            summary.skipped += 1
            return
        }
        let sha256: String
        do {
            sha256 = try SHA256.hex(of: bytes)
        } catch {
            throw IngestError.wrapping(error, context: "hashing an imported image")
        }
        var document = Self.document(source: "local", sourceID: sha256, sealer: ingestor.sealer, url: nil)
        if try await ledger.contains(id: document.id) {
            summary.known += 1
            return
        }
        let ingested =
            ingestor.store.isRemote
            ? try await ingestor.upload(original: bytes, sha256: sha256, into: &document)
            : try ingestor.ingest(original: bytes, sha256: sha256, into: &document)
        guard ingested != nil else {
            summary.skipped += 1
            return
        }
        summary.bytes += Int64(bytes.count)
        if try await ledger.insertImported(document, stage: .downloaded) {
            summary.stored += 1
        } else {
            summary.known += 1
        }
    }

    static func document(source: String, sourceID: String, sealer: FieldSealer, url: String?) -> PhotoDocument {
        let now = isoNow()
        return PhotoDocument(
            id: "\(source):\(sourceID)", source: source, sourceID: sourceID, terms: [], title: "", description: "",
            tags: [], machineTags: [], views: nil, license: nil, takenAt: nil, uploadedAt: nil, pageURL: nil,
            imageURL: url,
            imageSources: url.map { [PhotoDocument.ImageSource(size: "url", url: $0, width: nil, height: nil)] } ?? [],
            image: nil, geo: nil, place: nil, scores: nil, scoreModel: nil, scoredAt: nil,
            sealed: PhotoDocument.Sealed(), seal: PhotoDocument.SealInfo(kid: sealer.keyring.primary.kid, at: now),
            blind: PhotoDocument.Blind(owner: nil), ingestedAt: now, pipelineVersion: IngestModule.version)
    }
}
