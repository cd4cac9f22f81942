public import Enrich
import Foundation
import Store

/// One step of the pipeline as the `StageRunner` drives it: which ledger rows it takes and
/// what it does with one of them.
///
/// A stage does not claim, lease, commit or count: the runner does, the same way for every
/// stage. `process` gets one photo (its document decoded once, when the row was claimed) and
/// says where the row goes next; the runner commits the results in batches.
public protocol PipelineStage: Sendable {
    /// The stage's name, as lease owners, progress lines and `Tally.finished` name it.
    var name: String { get }
    /// The ledger stage of the rows it takes.
    var takes: Ledger.Stage { get }
    /// Run once before the first claim of a run: hands back what an earlier run left
    /// (failures to try again; with `retryFailed`, the permanent ones too).
    func recover(retryFailed: Bool) async throws -> StageReport
    /// Does the stage's work on one photo. A photo's own failure is a result (`failed`,
    /// `unavailable`), not an error: throwing stops the run (a ledger or configuration failure).
    func process(_ item: StageItem) async throws -> StepResult
    /// Rows handed to `process(batch:)` at once, at most (default 1: one `process` per row).
    var batchSize: Int { get }
    /// Does the stage's work on up to `batchSize` photos claimed together (default: `process`
    /// on each in turn): a stage whose work is cheaper in groups (one Vision request for
    /// several images) overrides it. Returns one result per item, in the items' order.
    func process(batch items: [StageItem]) async throws -> [StepResult]
    /// Commits a batch of results in one ledger transaction, ending their leases (default:
    /// `Ledger.advance`); the load stage writes its store first. Returns what committing
    /// counted (store writes), added to the run's report.
    func commit(_ batch: [StepResult], ledger: Ledger) async throws -> StageReport
}

extension PipelineStage {
    /// Nothing to recover.
    public func recover(retryFailed: Bool) async throws -> StageReport { StageReport() }

    /// One row at a time.
    public var batchSize: Int { 1 }

    /// `process` on each item in turn.
    public func process(batch items: [StageItem]) async throws -> [StepResult] {
        var results: [StepResult] = []
        results.reserveCapacity(items.count)
        for item in items { results.append(try await process(item)) }
        return results
    }

    /// Moves each row to its result's stage with its document and failure.
    public func commit(_ batch: [StepResult], ledger: Ledger) async throws -> StageReport {
        try await ledger.advance(batch.map(Ledger.Advance.init))
        return StageReport()
    }

    /// This stage, then `next` on every row this one moves to `next.takes`, in memory: what
    /// this stage carries (the original image) is handed over without a ledger round trip.
    public func then<Next: PipelineStage>(_ next: Next) -> ComposedStage<Self, Next> {
        ComposedStage(first: self, second: next)
    }
}

/// A photo handed to a stage.
public struct StageItem: Sendable {
    /// The document id.
    public var id: String
    /// The document, as the step before left it.
    public var document: PhotoDocument {
        get { boxedDocument.value }
        set { boxedDocument.value = newValue }
    }
    private var boxedDocument: Boxed<PhotoDocument>
    /// What the step before had in memory for this one (set within a composed stage only).
    public var carried: Carried?
    /// The document's ledger JSON as claimed (what the load stage records it loaded).
    package var json: String?

    /// Makes an item.
    public init(id: String, document: PhotoDocument, carried: Carried? = nil) {
        self.id = id
        boxedDocument = Boxed(document)
        self.carried = carried
    }

    /// The item a composed stage's next step gets: the result's document (the same box, not
    /// a copy) and what it carries.
    init(handingOn step: StepResult) {
        id = step.id
        boxedDocument = step.boxedDocument
        carried = step.carried
    }

    /// What a download hands to the extract step: the original's EXIF GPS as read while
    /// storing it (so the sealed EXIF need not be opened again), and the original's bytes.
    public struct Carried: Sendable {
        /// The original image's bytes (empty for a large download, streamed into the store).
        public var original: [UInt8]
        /// Its EXIF GPS position, when it has one.
        public var gps: ExifGPS?

        /// Makes the hand-over.
        public init(original: [UInt8], gps: ExifGPS?) {
            self.original = original
            self.gps = gps
        }
    }
}

/// What a stage did with one photo.
public struct StepResult: Sendable {
    /// The document id.
    public var id: String
    /// The row's next ledger stage.
    public var stage: Ledger.Stage
    /// The updated document.
    public var document: PhotoDocument {
        get { boxedDocument.value }
        set { boxedDocument.value = newValue }
    }
    fileprivate var boxedDocument: Boxed<PhotoDocument>
    /// The failure to record (`nil` clears any earlier one).
    public var failure: PhotoFailure?
    /// This photo's counts.
    public var report: StageReport
    /// What the next step of a composed stage gets in memory (never committed).
    public var carried: StageItem.Carried?
    /// For the load stage: the row as read and its store form, written by its `commit`.
    package var loadable: (candidate: LoadCandidate, document: StoreDocument)? {
        get { boxedLoadable?.value }
        set { boxedLoadable = newValue.map(Boxed.init) }
    }
    private var boxedLoadable: Boxed<(candidate: LoadCandidate, document: StoreDocument)>?
    /// The document's ledger JSON as claimed, when the step left the document as it was (set
    /// by the runner): committing then neither encodes nor writes the document again.
    package var unchangedJSON: String?
    /// The row stays at its stage, leased by this run, until the run ends (the runner then
    /// ends the lease): a row the stage left for a later run (held back by a budget, or
    /// failed for now) is not claimed again by the same run.
    package var rests = false
    /// For the score stage: the labels-cache key this photo's image was sent as (the SHA-256
    /// of the bytes sent) under its original's SHA-256, when the ledger lacks that link.
    package var labelLink: (image: String, sent: String)?
    /// For the score stage: labels to record in the cache under the SHA-256 of the bytes sent.
    package var cacheLabels: (sent: String, labels: [Vision.Label])?

    /// Makes a result.
    public init(
        id: String, stage: Ledger.Stage, document: PhotoDocument, failure: PhotoFailure? = nil,
        report: StageReport, carried: StageItem.Carried? = nil
    ) {
        self.id = id
        self.stage = stage
        boxedDocument = Boxed(document)
        self.failure = failure
        self.report = report
        self.carried = carried
    }
}

/// Two stages run as one: `second` takes every row `first` moves to `second.takes`, at once and
/// in memory (`download.then(extract)`: each image is extracted while its original is at hand).
public struct ComposedStage<First: PipelineStage, Second: PipelineStage>: PipelineStage {
    /// The first step.
    public let first: First
    /// The step after it.
    public let second: Second

    /// `first`'s name.
    public var name: String { first.name }
    /// `first`'s rows.
    public var takes: Ledger.Stage { first.takes }

    /// Recovers `first` (the second's rows are its own stage's business).
    public func recover(retryFailed: Bool) async throws -> StageReport {
        try await first.recover(retryFailed: retryFailed)
    }

    /// `second`'s commit (the last step decides how a row is committed).
    public func commit(_ batch: [StepResult], ledger: Ledger) async throws -> StageReport {
        try await second.commit(batch, ledger: ledger)
    }

    /// `first`, then `second` when the row reached its stage; the counts of both.
    public func process(_ item: StageItem) async throws -> StepResult {
        let step = try await first.process(item)
        guard step.stage == second.takes else { return step }
        var next = try await second.process(StageItem(handingOn: step))
        next.report += step.report
        next.carried = nil
        return next
    }
}

/// The counts of a stage (or of several, summed with `+=`): rows finished by outcome, what
/// each stage found, and failures by cause. One type for every stage, so a run's tally is a
/// sum of them.
public struct StageReport: Sendable, Equatable {
    /// Rows waiting when the stage started (for an ETA; not summed meaningfully across rounds).
    public var total = 0
    /// Rows finished (any outcome).
    public var done = 0
    /// Rows whose image is now stored (download).
    public var stored = 0
    /// Of those, images whose bytes were already in the store (another id, same bytes).
    public var duplicates = 0
    /// Image bytes received.
    public var bytes: Int64 = 0
    /// Rows moved to `extracted` (by download's extract step or the extract stage).
    public var extracted = 0
    /// Of the extracted rows, those with EXIF.
    public var withExif = 0
    /// Of the extracted rows, those positioned from their EXIF GPS.
    public var geoFromExif = 0
    /// Of the extracted rows, those given a place.
    public var placed = 0
    /// Rows marked `unavailable` (the source no longer offers the photo).
    public var unavailable = 0
    /// Rows that failed (at `failed`, or kept at their stage with a failure recorded).
    public var failed = 0
    /// Unavailable and failed rows by cause (`unavailable:http-404`, `download:http-503`).
    public var causes: [String: Int] = [:]
    /// Temporary files of an earlier run removed at the start.
    public var cleaned = 0
    /// Documents written to the store (inserted or updated).
    public var written = 0
    /// Documents whose stored form was already identical (nothing written).
    public var unchanged = 0
    /// Store write commands (MongoDB) or write transactions (embedded).
    public var writeCommands = 0
    /// Documents the seal checks refused, with the reasons (never a value).
    public var refusals: [EncryptLoad.Refusal] = []
    /// Distinct images sent to the vision model and labelled (each billed once).
    public var labelled = 0
    /// Vision calls answered.
    public var calls = 0
    /// Photos given new scores (moved to `scored`, or re-scored with changed scores).
    public var scored = 0
    /// Photos whose image was refused for good by the vision model (moved to `failed`).
    public var scoreRefused = 0
    /// Photos left for a later run by the images budget (`--max-images`, `--max-cost`).
    public var deferred = 0

    /// An empty report.
    public init() {}

    /// Adds `b`'s counts to `a` (`total` too).
    public static func += (a: inout StageReport, b: StageReport) {
        a.total += b.total
        a.done += b.done
        a.stored += b.stored
        a.duplicates += b.duplicates
        a.bytes += b.bytes
        a.extracted += b.extracted
        a.withExif += b.withExif
        a.geoFromExif += b.geoFromExif
        a.placed += b.placed
        a.unavailable += b.unavailable
        a.failed += b.failed
        a.cleaned += b.cleaned
        a.written += b.written
        a.unchanged += b.unchanged
        a.writeCommands += b.writeCommands
        a.labelled += b.labelled
        a.calls += b.calls
        a.scored += b.scored
        a.scoreRefused += b.scoreRefused
        a.deferred += b.deferred
        if !b.refusals.isEmpty { a.refusals += b.refusals }
        if !b.causes.isEmpty { a.causes.merge(b.causes, uniquingKeysWith: +) }
    }

    /// The sum of two reports.
    public static func + (a: StageReport, b: StageReport) -> StageReport {
        var sum = a
        sum += b
        return sum
    }

    /// One finished row's count of `failure` (by the row's stage: `unavailable:…`, `download:…`).
    mutating func count(_ failure: PhotoFailure?, rowStage: Ledger.Stage) {
        switch rowStage {
        case .unavailable: unavailable += 1
        case .failed: failed += 1
        default: if failure != nil { failed += 1 }
        }
        if let failure { causes[failure.countKey(rowStage: rowStage), default: 0] += 1 }
    }
}
