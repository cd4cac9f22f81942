public import Crypto
public import Enrich
import Foundation
public import Logging

/// The score stage: labels each stored image once with the vision model and turns the labels
/// into `scores.<label>` on every document showing those bytes.
///
/// Rows at `extracted` (and `scored`, re-scored from the cache for free) whose document has
/// `image.sha256` are its work. Images are billed per distinct SHA-256 of the bytes sent (the
/// stored copy, stripped or opened, not the original): bytes already in the ledger's labels
/// cache are never sent again, and bytes shared by several photos (also photos whose
/// originals differ only in metadata) are sent once. Each photo keeps a link to its entry. Each call's answer is committed (cache, documents, failures) in one transaction.
/// An image the service refuses for good ("Bad image data.") moves its photos to `failed` with
/// the cause, and later runs do not send it again unless asked (`Options.retryFailed`); other
/// failures leave the photos at `extracted`, tried again by the next run.
public struct ScoreStage: Sendable {
    /// How a run is bounded.
    public struct Options: Sendable {
        /// The labels asked for on every photo (besides those its search terms map to).
        public var labels: [String]
        /// The vocabulary: synonyms and term mappings.
        public var vocabulary: LabelVocabulary
        /// The most distinct images sent (billed) in this run, or `nil` for all.
        public var maxImages: Int?
        /// The most this run may cost in US dollars at the public rate
        /// (`Vision.pricePerThousandImages`, free tier ignored), or `nil` for no limit.
        ///
        /// Labelling stops before the estimate would pass it: it caps the images billed at
        /// `ScoreStage.images(affordableFor:)`, together with `maxImages` (the lower wins), and
        /// the images left over are reported as deferred, as for `maxImages`.
        public var maxCost: Double?
        /// Calls in flight at once.
        public var concurrency: Int
        /// Only plan and report: no call is made and nothing is written.
        public var dryRun: Bool
        /// Only rows at `extracted` with no error recorded, at most this many (in id order):
        /// a pipeline scoring in rounds sets it after its first round, so a photo whose image
        /// was refused is not sent again in the same run and memory stays bounded.
        public var freshOnly: Int?
        /// When set, no new call starts once a stop is requested; calls in flight finish and
        /// are committed.
        public var stop: StopSignal?
        /// Send again the images the vision model refused for good in earlier runs (their rows
        /// go back to `extracted` first); without it they are left alone (default off).
        public var retryFailed = false

        /// Makes options.
        public init(
            labels: [String], vocabulary: LabelVocabulary, maxImages: Int? = nil, maxCost: Double? = nil,
            concurrency: Int = 4, dryRun: Bool = false
        ) {
            self.labels = LabelVocabulary(labels: labels).labels
            self.vocabulary = vocabulary
            self.maxImages = maxImages
            self.maxCost = maxCost
            self.concurrency = max(1, concurrency)
            self.dryRun = dryRun
        }

        /// The most distinct images this run may send: the lower of `maxImages` and what
        /// `maxCost` affords, or `nil` when neither is set.
        public var imageCap: Int? {
            let byCost = maxCost.map { ScoreStage.images(affordableFor: $0) }
            switch (maxImages, byCost) {
            case let (images?, cost?): return min(images, cost)
            case let (images, cost): return images ?? cost
            }
        }

        /// Whether `maxCost`, rather than `maxImages`, sets `imageCap`.
        var costSetsCap: Bool {
            guard let maxCost else { return false }
            return maxImages.map { ScoreStage.images(affordableFor: maxCost) < $0 } ?? true
        }
    }

    /// How many images can be labelled for `dollars` at `Vision.pricePerThousandImages`
    /// (rounded down: the estimate never passes the amount; 0 for 0 or less).
    public static func images(affordableFor dollars: Double) -> Int {
        guard dollars.isFinite, dollars > 0 else { return dollars == .infinity ? Int.max : 0 }
        // The small epsilon keeps $0.003 at 2 images despite binary rounding (2.0000000000000004).
        let images = (dollars * 1000 / Vision.pricePerThousandImages + 1e-9).rounded(.down)
        return images >= Double(Int.max) ? Int.max : Int(images)
    }

    /// What a run will cost, known before any call.
    public struct Plan: Sendable, Equatable {
        /// Photos to score (rows at `extracted` or `scored` with an image).
        public var photos: Int
        /// Distinct images whose labels are cached already (free).
        public var cachedImages: Int
        /// Distinct images to send, each billed one unit (after `--max-images`).
        public var billedImages: Int
        /// Distinct images left for a later run by `--max-images` or `--max-cost`.
        public var deferredImages: Int
        /// Whether the deferral comes from the cost cap (`Options.maxCost`) rather than
        /// `maxImages`; `false` when nothing is deferred.
        public var deferredByCost: Bool = false
        /// Distinct images refused before sending (too large or unreadable).
        public var refusedImages: Int
        /// Calls planned (at most 16 images each).
        public var calls: Int
        /// Estimated price in US dollars at the public rate (ignoring the free tier).
        public var estimatedCost: Double
        /// Photos whose image the vision model refused for good in an earlier run: not sent
        /// (`retryFailed` sends them).
        public var refusedEarlier: Int = 0
    }

    /// What a run did.
    public struct Summary: Sendable, Equatable {
        /// The plan reported before any call.
        public var plan: Plan
        /// Images sent and labelled.
        public var labelledImages: Int = 0
        /// Photos moved to or kept at `scored` with changed scores.
        public var scoredPhotos: Int = 0
        /// Photos with a failure recorded this run.
        public var failedPhotos: Int = 0
        /// Of those, photos whose image was refused for good (moved to `failed`, not sent again
        /// by later runs unless `retryFailed`); the others are tried again next run.
        public var refusedPhotos: Int = 0
        /// Successful calls.
        public var calls: Int = 0
    }

    private let ledger: Ledger
    private let client: VisionClient?
    private let counter: APICallCounter
    private let logger: Logger
    private let readImage: @Sendable (PhotoDocument.Image) async throws -> [UInt8]
    private let imageSize: @Sendable (PhotoDocument.Image) -> Int?

    /// Makes the stage.
    /// - Parameters:
    ///   - ledger: the ledger.
    ///   - client: the Vision client (`nil` is allowed for dry runs only).
    ///   - counter: the counter the client reports attempts to (stored with each commit).
    ///   - workdir: the work directory that `image.path` is relative to.
    ///   - logger: the logger.
    ///   - keyring: the seal keys, needed only for images stored sealed.
    ///   - images: the image store (default: the workdir's `images/`); a store in a bucket is
    ///     read through S3.
    ///   - readImage: reads the bytes sent for an image (default: from `images`, an
    ///     `ImageStore`, which opens sealed files with `keyring`, then `ImageScaler.visionCopy`:
    ///     a JPEG longer than 1,600 px is sent as a downscaled copy).
    public init(
        ledger: Ledger, client: VisionClient?, counter: APICallCounter = APICallCounter(), workdir: String,
        logger: Logger, keyring: Keyring? = nil, images: ImageStore? = nil,
        readImage: (@Sendable (PhotoDocument.Image) async throws -> [UInt8])? = nil
    ) {
        self.ledger = ledger
        self.client = client
        self.counter = counter
        self.logger = logger
        let store = images ?? ImageStore(workdir: workdir)
        // Vision gets a copy at most ImageScaler.visionMaxSide pixels long (JPEGs only).
        self.readImage =
            readImage ?? { image in
                // A local image is read without suspending; only a bucket's is fetched.
                let bytes =
                    store.isRemote
                    ? try await store.read(image, keyring: keyring) : try store.bytes(for: image, keyring: keyring)
                return ImageScaler.visionCopy(bytes)
            }
        self.imageSize = { image in
            // A bucket is not asked for sizes: the original's size stands in for the stored one.
            guard !store.isRemote else { return image.bytes > 0 ? image.bytes : nil }
            guard let relative = image.path, !relative.isEmpty,
                let attributes = try? FileManager.default.attributesOfItem(atPath: store.absolute(relative)),
                let size = attributes[.size] as? NSNumber
            else { return image.bytes > 0 ? image.bytes : nil }
            return size.intValue
        }
    }

    /// The labels a photo is scored on: the requested ones plus those its search terms map to.
    static func labels(for document: PhotoDocument, options: Options) -> [String] {
        var result: [String] = []
        for label in options.labels + document.terms.flatMap({ options.vocabulary.labels(forTerm: $0) })
        where !result.contains(label) {
            result.append(label)
        }
        return result
    }

    /// The document with scores from `labels`: every label of its label set set to the best
    /// matching score or removed (not returned); scores of other labels kept.
    static func scored(
        _ document: PhotoDocument, labels returned: [Vision.Label], options: Options, model: String, now: String
    ) -> PhotoDocument {
        var vocabulary = options.vocabulary
        let wanted = labels(for: document, options: options)
        for label in wanted { vocabulary.add(label: label, synonyms: []) }
        let best = LabelScorer.scores(returned, vocabulary: vocabulary)
        var scores = document.scores ?? [:]
        for label in wanted { scores[label] = best[label] }
        var next = document
        next.scores = scores
        next.labels = returned
        next.scoreModel = model
        if next != document || document.scoredAt == nil { next.scoredAt = now }
        return next
    }

    /// Runs the stage. `report` receives the plan before any call is made, `progress` the
    /// counts so far after the free work (cached images) and after each call.
    /// - Throws: `IngestError.invalidAPIKey` at once when the key is refused (what was
    ///   committed stays), a ledger failure, or `.configuration` for a real run without a client.
    public func run(
        _ options: Options, report: @Sendable (Plan) -> Void = { _ in },
        progress: @Sendable (Summary) -> Void = { _ in }
    ) async throws -> Summary {
        // Rounds of a pipeline (`freshOnly`) never look at earlier failures: its first round did.
        let firstLook = options.freshOnly == nil
        if firstLook, options.retryFailed, !options.dryRun {
            try await ledger.requeueFailures(of: .score, includingPermanent: true)
        }
        let candidates = try await ledger.scoreCandidates(
            freshOnly: options.freshOnly, includingRefused: firstLook && options.retryFailed && options.dryRun)
        let refusedEarlier =
            firstLook && !options.retryFailed ? try await ledger.permanentFailureCount(stage: .score) : 0
        var bySha: [String: [Ledger.Entry]] = [:]
        var order: [String] = []
        for entry in candidates {
            guard let sha = entry.document.image?.sha256 else { continue }
            if bySha[sha] == nil { order.append(sha) }
            bySha[sha, default: []].append(entry)
        }
        // The cache is keyed by the bytes sent (a stripped copy, not the original): photos whose
        // originals differ only in metadata send the same bytes, billed once. A photo linked
        // earlier names its entry; the others are read and hashed here (and read again to send).
        var images: [String: String] = [:]
        for entry in candidates { images[entry.id] = entry.document.image?.sha256 }
        let links = try await ledger.labelLinks(images)
        var sentOf: [String: String] = [:]
        var sentSize: [String: Int] = [:]
        var refused: [String: String] = [:]
        for sha in order {
            if let linked = bySha[sha]?.lazy.compactMap({ links[$0.id] }).first {
                sentOf[sha] = linked
                continue
            }
            guard let image = bySha[sha]?.first?.document.image else { continue }
            switch await sentDigest(image) {
            case .success(let (digest, size)):
                sentOf[sha] = digest
                sentSize[digest] = size
            case .failure(let refusal): refused[sha] = refusal.message
            }
        }
        var cache = try await ledger.cachedLabels(Set(sentOf.values))
        // Labels already on a document (a ledger whose cache was lost) count as cached too.
        var recovered: [String: [Vision.Label]] = [:]
        var labelled: [String: [Vision.Label]] = [:]
        for sha in order {
            if let sent = sentOf[sha], let labels = cache[sent] {
                labelled[sha] = labels
            } else if let labels = bySha[sha]?.first(where: { $0.document.labels != nil })?.document.labels {
                labelled[sha] = labels
                refused[sha] = nil
                if let sent = sentOf[sha] {
                    recovered[sent] = labels
                    cache[sent] = labels
                }
            }
        }
        // Distinct bytes to send, in the order of the first photo showing them.
        var toSend: [(sha: String, size: Int)] = []
        var originals: [String: [String]] = [:]
        for sha in order where labelled[sha] == nil && refused[sha] == nil {
            guard let sent = sentOf[sha], let image = bySha[sha]?.first?.document.image else { continue }
            if originals[sent] == nil {
                // A linked image whose labels were lost was not read above: its stored size.
                guard let size = sentSize[sent] ?? imageSize(image) else {
                    refused[sha] = Self.missingMessage(image)
                    continue
                }
                toSend.append((sent, size))
            }
            originals[sent, default: []].append(sha)
        }
        let cachedImages = Set(order.compactMap { labelled[$0] == nil ? nil : sentOf[$0] ?? $0 }).count
        let deferred = options.imageCap.map { max(0, toSend.count - $0) } ?? 0
        if deferred > 0 { toSend.removeLast(deferred) }
        let calls = VisionClient.pack(sizes: toSend.map { $0.size })
        let plan = Plan(
            photos: candidates.count, cachedImages: cachedImages,
            billedImages: toSend.count, deferredImages: deferred, deferredByCost: deferred > 0 && options.costSetsCap,
            refusedImages: refused.count, calls: calls.count, estimatedCost: Vision.estimatedCost(images: toSend.count),
            refusedEarlier: refusedEarlier)
        report(plan)
        var summary = Summary(plan: plan)
        if options.dryRun { return summary }

        // Free work first: documents whose image is cached, and refused images' errors.
        let now = isoNow()
        var free = Ledger.ScoreUpdate()
        free.model = VisionClient.model
        free.labels = recovered
        for sha in order {
            if let labels = labelled[sha] {
                for entry in bySha[sha] ?? [] {
                    if let sent = sentOf[sha], links[entry.id] != sent {
                        free.links.append((entry.id, sha, sent))
                    }
                    let next = Self.scored(
                        entry.document, labels: labels, options: options, model: VisionClient.model, now: now)
                    if next != entry.document || entry.stage != .scored {
                        free.scored.append((entry.id, next))
                    }
                }
            } else if let message = refused[sha] {
                for entry in bySha[sha] ?? [] {
                    free.failures.append((entry.id, Self.failure(message, permanent: false)))
                }
            } else if let sent = sentOf[sha] {
                // Hashed for the plan but sent later (or deferred by a cap): linked now, so the
                // next run need not read it again to know its bytes.
                for entry in bySha[sha] ?? [] where links[entry.id] != sent {
                    free.links.append((entry.id, sha, sent))
                }
            }
        }
        try await ledger.commit(free)
        summary.scoredPhotos += free.scored.count
        summary.failedPhotos += free.failures.count
        progress(summary)
        guard !calls.isEmpty else { return summary }
        guard let client else {
            throw IngestError(.configuration, "scoring needs the Vision client; this is a bug in photoseal")
        }

        var queue = calls.reversed().map { range in toSend[range].map { $0.sha } }
        var photosOf: [String: [Ledger.Entry]] = [:]
        for (sent, shas) in originals { photosOf[sent] = shas.flatMap { bySha[$0] ?? [] } }
        let groups = photosOf
        try await withThrowingTaskGroup(of: Summary.self) { group in
            var running = 0
            while true {
                while running < options.concurrency, options.stop?.isRequested != true, let shas = queue.popLast() {
                    group.addTask {
                        try await self.call(shas, entries: groups, client: client, options: options, plan: plan)
                    }
                    running += 1
                }
                guard running > 0, let done = try await group.next() else { break }
                running -= 1
                summary.labelledImages += done.labelledImages
                summary.scoredPhotos += done.scoredPhotos
                summary.failedPhotos += done.failedPhotos
                summary.refusedPhotos += done.refusedPhotos
                summary.calls += done.calls
                progress(summary)
            }
        }
        return summary
    }

    /// Why an image is not sent (too large, missing or unreadable), as recorded on its photos.
    struct Refusal: Error {
        let message: String
    }

    static func missingMessage(_ image: PhotoDocument.Image) -> String {
        "the image file \(image.path ?? "") is missing or unreadable; download it again"
    }

    /// The SHA-256 and size of the bytes `image` is sent as (the stored file, a sealed one
    /// opened), or why it cannot be sent. Too large a file is refused before it is read.
    private func sentDigest(_ image: PhotoDocument.Image) async -> Result<(String, Int), Refusal> {
        guard let stored = imageSize(image) else { return .failure(Refusal(message: Self.missingMessage(image))) }
        // A JPEG is read anyway: its downscaled copy may fit.
        if stored > VisionClient.maxImageBytes && !(image.path ?? "").hasSuffix(".fernet") && image.format != "jpeg" {
            return .failure(Refusal(message: Self.tooLargeMessage(stored)))
        }
        do {
            let bytes = try await readImage(image)
            if bytes.count > VisionClient.maxImageBytes {
                return .failure(Refusal(message: Self.tooLargeMessage(bytes.count)))
            }
            return .success((try SHA256Digest.hex(bytes), bytes.count))
        } catch {
            return .failure(Refusal(message: "\(error)"))
        }
    }

    static func tooLargeMessage(_ size: Int) -> String {
        "the image is too large for the Vision API (\(size) bytes, limit \(VisionClient.maxImageBytes));"
            + " no smaller stored size exists, so it was not sent"
    }

    /// A score failure.
    static func failure(_ cause: String, permanent: Bool) -> PhotoFailure {
        PhotoFailure(stage: .score, cause: cause, permanent: permanent)
    }

    /// One call: read the images, annotate, commit. Whole-call failures other than a refused
    /// key are recorded on the photos of the call (tried again next run); an image the service
    /// refuses for good is recorded permanent.
    private func call(
        _ shas: [String], entries: [String: [Ledger.Entry]], client: VisionClient, options: Options, plan: Plan
    ) async throws -> Summary {
        var groups = entries
        var update = Ledger.ScoreUpdate()
        update.model = VisionClient.model
        var summary = Summary(plan: plan)
        var sendShas: [String] = []
        var images: [[UInt8]] = []
        for planned in shas {
            guard let image = entries[planned]?.first?.document.image else { continue }
            do {
                let bytes = try await readImage(image)
                // Keyed by what is really sent, should the file have changed since the plan.
                let sha = try SHA256Digest.hex(bytes)
                images.append(bytes)
                sendShas.append(sha)
                if sha != planned { groups[sha, default: []] += entries[planned] ?? [] }
            } catch {
                let failure = Self.failure("\(error)", permanent: false)
                for entry in entries[planned] ?? [] { update.failures.append((entry.id, failure)) }
            }
        }
        var results: [VisionClient.ImageResult] = []
        do {
            results = try await client.annotate(images)
            summary.calls = images.isEmpty ? 0 : 1
        } catch let error as IngestError where error.code != .invalidAPIKey && error.code != .cancelled {
            logger.error("a Vision call failed", metadata: ["vision.error": "\(error)"])
            let failure = Self.failure(error.message, permanent: false)
            for sha in sendShas {
                for entry in groups[sha] ?? [] { update.failures.append((entry.id, failure)) }
            }
            sendShas = []
        } catch {
            update.apiCalls = counter.take()
            try? await ledger.commit(update)
            throw error
        }
        let now = isoNow()
        for (sha, result) in zip(sendShas, results) {
            switch result {
            case .labels(let labels):
                update.labels[sha] = labels
                summary.labelledImages += 1
                for entry in groups[sha] ?? [] {
                    if let image = entry.document.image { update.links.append((entry.id, image.sha256, sha)) }
                    update.scored.append(
                        (
                            entry.id,
                            Self.scored(
                                entry.document, labels: labels, options: options, model: VisionClient.model, now: now)
                        ))
                }
            case .failed(let message, let permanent):
                let failure = Self.failure(message, permanent: permanent)
                for entry in groups[sha] ?? [] { update.failures.append((entry.id, failure)) }
            }
        }
        summary.scoredPhotos = update.scored.count
        summary.failedPhotos = update.failures.count
        summary.refusedPhotos = update.failures.filter { $0.failure.permanent }.count
        update.apiCalls = counter.take()
        do {
            try await ledger.commit(update)
        } catch {
            counter.restore(update.apiCalls)
            throw error
        }
        return summary
    }
}
