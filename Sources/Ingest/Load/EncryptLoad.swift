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

    /// Makes the stage.
    ///
    /// - Parameters:
    ///   - ledger: The staging ledger.
    ///   - store: The document store.
    ///   - keyring: The seal keys that open every token.
    ///   - blind: The blind index under INDEX_KEY.
    ///   - batchSize: Documents per store write (default 500).
    ///   - logger: Progress goes here.
    public init(
        ledger: Ledger, store: any DocumentStore, keyring: Keyring, blind: BlindIndex, batchSize: Int = 500,
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

    /// Loads every ready document.
    ///
    /// - Parameters:
    ///   - stages: The ledger stages read (default: `extracted`, `scored`, and `loaded` rows
    ///     whose document changed).
    ///   - stop: When requested, the run ends after the batch being written.
    ///   - progress: Called after each batch with the summary so far.
    /// - Throws: `StoreError` when the store fails for good (after its own retries),
    ///   `IngestError` for the ledger.
    public func run(
        stages: [Ledger.Stage] = [.extracted, .scored, .loaded], stop: StopSignal? = nil,
        progress: @Sendable (Summary) -> Void = { _ in }
    ) async throws -> Summary {
        var summary = Summary()
        let storeKey = store.storeKey
        let writesBefore = store.writeCount
        var after: String?
        var pending: [(candidate: LoadCandidate, document: StoreDocument)] = []
        func flush() async throws {
            guard !pending.isEmpty else { return }
            let result = try await store.upsert(pending.map(\.document))
            try await ledger.markLoaded(pending.map(\.candidate), store: storeKey)
            summary.loaded += result.inserted + result.updated
            summary.unchanged += result.unchanged
            summary.writeCommands = store.writeCount - writesBefore
            pending.removeAll(keepingCapacity: true)
            progress(summary)
        }
        while stop?.isRequested != true {
            let (candidates, last) = try await ledger.loadCandidates(
                store: storeKey, after: after, limit: batchSize, stages: stages)
            guard let last else { break }
            after = last
            let now = Int64(Date().timeIntervalSince1970)
            var refusals: [(id: String, failure: PhotoFailure)] = []
            for candidate in candidates {
                let document = candidate.document.storeDocument()
                let findings = checker.check(document, now: now).findings
                if findings.isEmpty {
                    pending.append((candidate, document))
                } else {
                    summary.refused += findings.map { Refusal(id: candidate.id, field: $0.field, kind: $0.kind) }
                    refusals.append((candidate.id, Self.failure(findings.map { ($0.field, $0.kind) })))
                    logger.debug(
                        "document refused",
                        metadata: ["load.id": "\(candidate.id)", "load.reason": "\(findings[0].kind)"])
                }
                if pending.count >= batchSize { try await flush() }
            }
            try await ledger.recordFailures(refusals)
        }
        try await flush()
        summary.writeCommands = store.writeCount - writesBefore
        return summary
    }

    /// A refused document's failure: the fields at fault and why (`sealed.exif does-not-open`).
    static func failure(_ findings: [(field: String, kind: String)]) -> PhotoFailure {
        PhotoFailure(
            stage: .load,
            cause: "refused by the seal checks: " + findings.map { "\($0.field) \($0.kind)" }.joined(separator: ", "),
            permanent: false)
    }
}
