public import Crypto
import Foundation
public import Logging
public import Store

/// The `encrypt-load` stage: verify every sealed field of each ready document, then upsert the
/// sound ones into the store and mark them `loaded` in the ledger.
///
/// Ready means: at `extracted` or `scored`, or `loaded` with a version this store has not
/// received (the ledger keeps, per store, a digest of the version loaded there). Each batch is written to the
/// store first and marked in the ledger after, so a process killed at any instant re-loads at
/// most one batch on the next run, and the store's upsert by `_id` makes that a no-op.
/// A refused document keeps its stage, with a transient `load` failure recorded (its reasons,
/// never a value): the next run checks it again.
public struct EncryptLoad: Sendable {
    /// One document that was not loaded, and why (never a value).
    public struct Refusal: Sendable, Hashable {
        /// The document id.
        public var id: String
        /// The field at fault.
        public var field: String
        /// What is wrong (`does-not-open`, `misplaced-token`, `kid-mismatch`, …).
        public var kind: String
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Documents written to the store (inserted or updated).
        public var loaded = 0
        /// Documents whose stored form was already identical (nothing written).
        public var unchanged = 0
        /// Documents refused by the checks, with the reasons.
        public var refused: [Refusal] = []
        /// Store write commands (MongoDB) or write transactions (embedded) this run issued.
        public var writeCommands = 0
        /// The number of distinct documents refused.
        public var refusedDocuments: Int { Set(refused.map(\.id)).count }
    }

    let ledger: Ledger
    let store: any DocumentStore
    let checker: SealCheck
    let batchSize: Int
    let logger: Logger

    /// Documents per store write when none is given: a standalone load of 20,000 documents into
    /// a new embedded store took 3.37 s with 500, 3.41 s with 128 and 3.63 s with 64 (more
    /// commits), and 500 held that many documents in memory at once.
    public static let defaultBatchSize = 128

    /// Makes the stage.
    ///
    /// - Parameters:
    ///   - ledger: The staging ledger.
    ///   - store: The document store.
    ///   - keyring: The seal keys that open every token.
    ///   - blind: The blind index under INDEX_KEY.
    ///   - batchSize: Documents per store write (default `defaultBatchSize`).
    ///   - logger: Progress goes here.
    public init(
        ledger: Ledger, store: any DocumentStore, keyring: Keyring, blind: BlindIndex,
        batchSize: Int = Self.defaultBatchSize,
        logger: Logger
    ) {
        self.ledger = ledger
        self.store = store
        // The plaintext checks too: a title holding the owner's name is refused here rather than
        // found by a later audit in a store that already published it.
        self.checker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: true)
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    /// Loads every ready document: the rows at each of `stages` through the `StageRunner`
    /// (claimed with leases, checked one per core, written to the store in batches of
    /// `batchSize`), then, with `.loaded` among them, the loaded rows this store has not received
    /// in their current version.
    ///
    /// - Parameters:
    ///   - stages: The ledger stages read (default: `extracted`, `scored`, and `loaded` rows
    ///     whose document changed).
    ///   - stop: When requested, the run ends after the batch being written.
    ///   - progress: Called after each document with the summary so far.
    /// - Throws: `StoreError` when the store fails for good (after its own retries),
    ///   `IngestError` for the ledger.
    public func run(
        stages: [Ledger.Stage] = [.extracted, .scored, .loaded], stop: StopSignal? = nil,
        progress: @escaping @Sendable (Summary) -> Void = { _ in }
    ) async throws -> Summary {
        var report = StageReport()
        for stage in stages where stage != .loaded {
            if stop?.isRequested == true { break }
            let before = report
            report += try await StageRunner(ledger: ledger).run(
                step(takes: stage), options: runnerOptions(stop: stop),
                progress: { progress(Self.summary(before + $0)) })
        }
        if stages.contains(.loaded), stop?.isRequested != true {
            let base = report
            report += try await reloadChanged(stop: stop) { progress(Self.summary(base + $0)) }
        }
        return Self.summary(report)
    }

    /// The runner's options for this stage: one document per core in flight, one store write
    /// per `batchSize` documents (or per 2 s when they come slowly).
    package func runnerOptions(stop: StopSignal?) -> StageRunner.Options {
        var options = StageRunner.Options(concurrency: ProcessInfo.processInfo.activeProcessorCount, stop: stop)
        options.commitBatch = batchSize
        options.commitInterval = 2
        return options
    }

    /// The summary of a report.
    static func summary(_ report: StageReport) -> Summary {
        var summary = Summary()
        summary.loaded = report.written
        summary.unchanged = report.unchanged
        summary.writeCommands = report.writeCommands
        summary.refused = report.refusals.sorted { ($0.id, $0.field) < ($1.id, $1.field) }
        return summary
    }

    /// The stage as the runner drives it, on rows at `takes` (`extracted` or `scored`).
    public func step(takes: Ledger.Stage) -> Step { Step(load: self, takes: takes) }

    /// The load step: checks one document's every sealed field; its commit writes the sound
    /// ones to the store, then marks them loaded for this store, and records the refusals.
    public struct Step: PipelineStage {
        let load: EncryptLoad
        /// The rows it takes.
        public let takes: Ledger.Stage

        /// `load`.
        public var name: String { "load" }

        /// Checks one document (refusals are results, with their reasons).
        public func process(_ item: StageItem) async throws -> StepResult {
            let json = try item.json ?? Ledger.encode(item.document)
            let candidate = LoadCandidate(
                id: item.id, stage: takes, document: item.document, json: json, digest: try Ledger.digest(json))
            return load.check(candidate)
        }

        /// Writes the batch's sound documents to the store, then records them and the refusals
        /// in the ledger (a kill in between re-writes at most this batch: an upsert, a no-op).
        public func commit(_ batch: [StepResult], ledger: Ledger) async throws -> StageReport {
            try await load.write(batch)
        }
    }

    /// The result of checking one document.
    func check(_ candidate: LoadCandidate) -> StepResult {
        let document = candidate.document.storeDocument()
        let findings = checker.check(document, now: Int64(Date().timeIntervalSince1970)).findings
        var report = StageReport()
        guard findings.isEmpty else {
            report.refusals = findings.map { Refusal(id: candidate.id, field: $0.field, kind: $0.kind) }
            report.failed = 1
            logger.debug(
                "document refused", metadata: ["load.id": "\(candidate.id)", "load.reason": "\(findings[0].kind)"])
            return StepResult(
                id: candidate.id, stage: candidate.stage, document: candidate.document,
                failure: Self.failure(findings.map { ($0.field, $0.kind) }), report: report)
        }
        var result = StepResult(id: candidate.id, stage: .loaded, document: candidate.document, report: report)
        result.loadable = (candidate, document)
        return result
    }

    /// Writes a batch of checked documents: the store first, then the ledger.
    func write(_ batch: [StepResult]) async throws -> StageReport {
        var report = StageReport()
        let loads = batch.compactMap(\.loadable)
        if !loads.isEmpty {
            let writesBefore = store.writeCount
            let result = try await store.upsert(loads.map(\.document))
            report.written = result.inserted + result.updated
            report.unchanged = result.unchanged
            report.writeCommands = store.writeCount - writesBefore
            try await ledger.markLoaded(loads.map(\.candidate), store: store.storeKey)
        }
        // Refused rows keep their stage, with the reasons, and are handed back.
        let refused = batch.compactMap { result in result.failure.map { (id: result.id, failure: $0) } }
        try await ledger.recordFailures(refused)
        try await ledger.release(ids: refused.map(\.id))
        return report
    }

    /// The loaded rows this store has not received in their current version (loaded into
    /// another store only, or changed since), read in id order and written in batches.
    private func reloadChanged(stop: StopSignal?, progress: (StageReport) -> Void) async throws -> StageReport {
        var report = StageReport()
        let storeKey = store.storeKey
        var after: String?
        while stop?.isRequested != true {
            let (candidates, last) = try await ledger.loadCandidates(
                store: storeKey, after: after, limit: batchSize, stages: [.loaded])
            guard let last else { break }
            after = last
            let batch = candidates.map(check)
            report += try await write(batch)
            for result in batch { report += result.report }
            progress(report)
        }
        return report
    }

    /// A refused document's failure: the fields at fault and why (`sealed.exif does-not-open`).
    static func failure(_ findings: [(field: String, kind: String)]) -> PhotoFailure {
        PhotoFailure(
            stage: .load,
            cause: "refused by the seal checks: " + findings.map { "\($0.field) \($0.kind)" }.joined(separator: ", "),
            permanent: false)
    }
}
