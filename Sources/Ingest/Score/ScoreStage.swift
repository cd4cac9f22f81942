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
/// originals differ only in metadata) are sent once. Each photo keeps a link to its entry.
/// It runs on the `StageRunner` (`Step`: leased rows in batches of 64, committed in batches);
/// each call's answer (the cache entries) is committed as soon as it arrives, so a run killed
/// before its photos are committed never pays for those images again.
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

        /// A summary of `plan` with nothing done yet.
        public init(plan: Plan) { self.plan = plan }

        /// The plan and the counts of the runner.
        init(plan: Plan, _ counts: StageReport) {
            self.plan = plan
            labelledImages = counts.labelled
            scoredPhotos = counts.scored
            failedPhotos = counts.failed
            refusedPhotos = counts.scoreRefused
            calls = counts.calls
        }
    }

    let ledger: Ledger
    let client: VisionClient?
    let counter: APICallCounter
    let logger: Logger
    let readImage: @Sendable (PhotoDocument.Image) async throws -> [UInt8]
    let imageSize: @Sendable (PhotoDocument.Image) -> Int?

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

    /// What a run will do, read from the ledger and the image files (nothing is sent or
    /// written): the `--dry-run` report, and the line printed before a real run's calls.
    public func plan(_ options: Options) async throws -> Plan {
        let candidates = try await ledger.scoreCandidates(includingRefused: options.retryFailed && options.dryRun)
        let refusedEarlier = options.retryFailed ? 0 : try await ledger.permanentFailureCount(stage: .score)
        var bySha: [String: [Ledger.Entry]] = [:]
        var order: [String] = []
        for entry in candidates {
            guard let sha = entry.document.image?.sha256 else { continue }
            if bySha[sha] == nil { order.append(sha) }
            bySha[sha, default: []].append(entry)
        }
        var images: [String: String] = [:]
        for entry in candidates { images[entry.id] = entry.document.image?.sha256 }
        let links = try await ledger.labelLinks(images)
        var sentOf: [String: String] = [:]
        var sentSize: [String: Int] = [:]
        var refused = Set<String>()
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
            case .failure: refused.insert(sha)
            }
        }
        let cache = try await ledger.cachedLabels(Set(sentOf.values))
        var cached = Set<String>()
        for sha in order {
            if let sent = sentOf[sha], cache[sent] != nil {
                cached.insert(sent)
            } else if bySha[sha]?.contains(where: { $0.document.labels != nil }) == true {
                // Labels already on a document (a ledger whose cache was lost) count as cached.
                cached.insert(sentOf[sha] ?? sha)
                refused.remove(sha)
            }
        }
        // Distinct bytes to send, in the order of the first photo showing them.
        var toSend: [Int] = []
        var planned = Set<String>()
        for sha in order where !refused.contains(sha) {
            guard let sent = sentOf[sha], !cached.contains(sent), let image = bySha[sha]?.first?.document.image
            else { continue }
            guard planned.insert(sent).inserted else { continue }
            // A linked image whose labels were lost was not read above: its stored size.
            guard let size = sentSize[sent] ?? imageSize(image) else {
                refused.insert(sha)
                continue
            }
            toSend.append(size)
        }
        let deferred = options.imageCap.map { max(0, toSend.count - $0) } ?? 0
        if deferred > 0 { toSend.removeLast(deferred) }
        return Plan(
            photos: candidates.count, cachedImages: cached.count,
            billedImages: toSend.count, deferredImages: deferred, deferredByCost: deferred > 0 && options.costSetsCap,
            refusedImages: refused.count, calls: VisionClient.pack(sizes: toSend).count,
            estimatedCost: Vision.estimatedCost(images: toSend.count), refusedEarlier: refusedEarlier)
    }

    /// Runs the stage: plans (`report` receives the plan before any call is made), then
    /// scores every row at `scored` (again, from the cache: free) and at `extracted` on the
    /// `StageRunner`. `progress` receives the counts so far after each batch of photos.
    /// - Throws: `IngestError.invalidAPIKey` at once when the key is refused (what was
    ///   committed stays), a ledger failure, or `.configuration` for a real run without a client.
    public func run(
        _ options: Options, report: @Sendable (Plan) -> Void = { _ in },
        progress: @escaping @Sendable (Summary) -> Void = { _ in }
    ) async throws -> Summary {
        // Asked to, the images refused for good go back to `extracted` before the plan prices them.
        if options.retryFailed, !options.dryRun {
            try await ledger.requeueFailures(of: .score, includingPermanent: true)
        }
        let plan = try await plan(options)
        report(plan)
        guard !options.dryRun else { return Summary(plan: plan) }
        let counts = try await run(options, recover: false, progress: { progress(Summary(plan: plan, $0)) })
        return Summary(plan: plan, counts)
    }

    /// Runs the stage without a plan (what `PipelineRun` does): the rows at `scored` first
    /// (re-scored from the cache, free), then those at `extracted`, the images billed over both
    /// bounded by `options.imageCap`.
    /// - Parameters:
    ///   - recover: with `options.retryFailed`, send again the images refused for good first.
    ///   - upstream: the stage that moves rows to `extracted` in a run: the runner waits for it
    ///     instead of ending when no row is left.
    ///   - committed: called with each committed batch (a run rings the load stage from here),
    ///     and with an empty one once the rows re-scored from the cache are handed back.
    ///   - progress: the counts so far, after each batch of photos.
    package func run(
        _ options: Options, recover: Bool, upstream: Doorbell? = nil,
        committed: @escaping @Sendable ([StepResult]) async -> Void = { _ in },
        progress: @escaping @Sendable (StageReport) -> Void = { _ in }
    ) async throws -> StageReport {
        let shared = Shared(budget: options.imageCap)
        let runner = StageRunner(ledger: ledger)
        var runnerOptions = StageRunner.Options(concurrency: options.concurrency, stop: options.stop)
        runnerOptions.recover = recover
        runnerOptions.retryFailed = options.retryFailed
        let rescored = try await runner.run(
            Step(stage: self, options: options, takes: .scored, shared: shared), options: runnerOptions,
            committed: committed, progress: progress)
        // The re-scored rows rested (leased) until their pass ended: they are free now.
        if rescored.done > 0 { await committed([]) }
        runnerOptions.recover = false
        runnerOptions.upstream = upstream
        return try await runner.run(
            Step(stage: self, options: options, takes: .extracted, shared: shared), options: runnerOptions,
            committed: committed, progress: { progress(rescored + $0) }) + rescored
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
    func sentDigest(_ image: PhotoDocument.Image) async -> Result<(String, Int), Refusal> {
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
}
