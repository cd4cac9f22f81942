public import Crypto
import Foundation
public import Logging
public import Store

/// `rotate-keys`: re-seals every document, in the store and in the ledger, whose `seal.kid` is
/// not the primary key, and every sealed image file not under it, keeping token timestamps.
/// Given a new index key (`reindex`), it also recomputes every document's `blind.owner` under it
/// from the opened owner, in the same compare-and-set.
///
/// Every store update is one compare-and-set that expects the old `seal.kid` and every old
/// token and sets all new tokens and the new `seal.kid` together, so no document is ever left
/// with fields under different keys, and a writer that changed the document meanwhile wins:
/// the document is read again and re-sealed in the next round. Ledger rows are replaced the
/// same way (only if their JSON is unchanged). Sealed image files are replaced atomically,
/// keeping their modification time (`SealedImages`). Killed at any instant, a re-run finishes.
public struct KeyRotation: Sendable {
    /// A document or sealed image file that could not be re-sealed, and why (never a value).
    public struct Failure: Sendable, Hashable {
        /// `store`, `ledger` or `images`.
        public var place: String
        /// The document id, or for `images` the file relative to the work directory.
        public var id: String
        /// The field at fault (`sealed.owner`, `document` when it kept changing, `image` for a file).
        public var field: String
        /// What is wrong (`does-not-open`, `misplaced-token`, `kept-changing`, …).
        public var kind: String
    }

    /// What a run did.
    public struct Summary: Sendable {
        /// Store documents re-sealed.
        public var storeResealed = 0
        /// Store documents already under the primary key.
        public var storeCurrent = 0
        /// Ledger rows re-sealed.
        public var ledgerResealed = 0
        /// Documents (store and ledger) whose `blind.owner` was recomputed under the new index key.
        public var blindRecomputed = 0
        /// Sealed image files re-sealed.
        public var imagesResealed = 0
        /// Sealed image files already under the primary key.
        public var imagesCurrent = 0
        /// Compare-and-set attempts that lost to a concurrent writer (retried).
        public var conflicts = 0
        /// Documents not re-sealed.
        public var failed: [Failure] = []
    }

    let stores: [any DocumentStore]
    let ledger: Ledger?
    let images: SealedImages?
    let sealer: FieldSealer
    let reindex: BlindIndex?
    let batchSize: Int
    let maxRounds: Int
    let logger: Logger

    /// Makes a rotation of one store and a ledger.
    ///
    /// - Parameters:
    ///   - store: The store to rotate (`nil`: ledger only).
    ///   - ledger: The ledger to rotate (`nil`: store only).
    ///   - images: The image store whose sealed files to re-seal (`nil`: none).
    ///   - keyring: The keys; the first (primary) seals.
    ///   - batchSize: Documents read per batch (default 500).
    ///   - maxRounds: Passes over documents that a concurrent writer changed (default 10).
    ///   - logger: Progress goes here.
    public init(
        store: (any DocumentStore)?, ledger: Ledger?, images: ImageStore? = nil, keyring: Keyring,
        reindex: BlindIndex? = nil, batchSize: Int = 500, maxRounds: Int = 10, logger: Logger
    ) {
        self.init(
            stores: store.map { [$0] } ?? [], ledger: ledger, images: images, keyring: keyring, reindex: reindex,
            batchSize: batchSize, maxRounds: maxRounds, logger: logger)
    }

    /// Makes a rotation of every store a workdir has loaded into, and its ledger.
    ///
    /// - Parameters:
    ///   - stores: The stores to rotate, in order.
    ///   - ledger: The ledger to rotate (`nil`: stores only), after the stores.
    ///   - images: The image store whose sealed files to re-seal (`nil`: none).
    ///   - keyring: The keys; the first (primary) seals.
    ///   - reindex: A new index key: every `blind.owner` not computed under it is recomputed
    ///     (`nil`: blind indexes are left as they are).
    ///   - batchSize: Documents read per batch (default 500).
    ///   - maxRounds: Passes over documents that a concurrent writer changed (default 10).
    ///   - logger: Progress goes here.
    public init(
        stores: [any DocumentStore], ledger: Ledger?, images: ImageStore? = nil, keyring: Keyring,
        reindex: BlindIndex? = nil, batchSize: Int = 500, maxRounds: Int = 10, logger: Logger
    ) {
        self.stores = stores
        self.reindex = reindex
        self.ledger = ledger
        self.images = images.map { SealedImages(store: $0, keyring: keyring) }
        self.sealer = FieldSealer(keyring: keyring)
        self.batchSize = max(1, batchSize)
        self.maxRounds = max(1, maxRounds)
        self.logger = logger
    }

    var primaryKid: String { sealer.keyring.primary.kid }

    enum Outcome: Sendable {
        /// Changed: whether the tokens were re-sealed and whether `blind.owner` was recomputed.
        case changed(resealed: Bool, reindexed: Bool)
        case current, conflict
        case failed(field: String, kind: String)
    }

    /// The blind index of the owner sealed in `token` under the new index key.
    func blindOwner(_ token: String, documentID: String) throws -> String? {
        guard let reindex else { return nil }
        let opened = try sealer.open(token, documentID: documentID, field: PhotoDocument.SealedField.owner)
        return try reindex.hex(String(decoding: opened.bytes, as: UTF8.self))
    }

    static func kind(of error: any Error) -> String {
        guard let error = error as? CryptoError else { return "does-not-open" }
        switch error.code {
        case .envelopeMismatch: return "misplaced-token"
        case .malformedEnvelope: return "malformed-envelope"
        case .futureTimestamp: return "future-timestamp"
        default: return "does-not-open"
        }
    }

    /// Re-seals one store document with one compare-and-set.
    func rotate(_ document: StoreDocument, in store: any DocumentStore) async throws -> Outcome {
        guard let id = document.id else { return .failed(field: "_id", kind: "missing-id") }
        let oldKid = document.value(at: "seal.kid") ?? .null
        let sealCurrent = oldKid.stringValue == primaryKid
        var expect: [(String, StoreValue)] = [("seal.kid", oldKid)]
        var set: [(String, StoreValue)] = []
        var reindexed = false
        if reindex != nil, case .string(let owner)? = document.value(at: "sealed.owner") {
            let old = document.value(at: "blind.owner") ?? .null
            do {
                if let new = try blindOwner(owner, documentID: id), old.stringValue != new {
                    expect.append(("blind.owner", old))
                    set.append(("blind.owner", .string(new)))
                    reindexed = true
                }
            } catch {
                return .failed(field: "sealed.owner", kind: Self.kind(of: error))
            }
        }
        if sealCurrent {
            guard reindexed else { return .current }
            return try await store.compareAndSet(id: id, expect: expect, set: set)
                ? .changed(resealed: false, reindexed: true) : .conflict
        }
        for field in document["sealed"]?.documentValue?.fields ?? [] {
            guard case .string(let token) = field.value else { continue }
            do {
                let resealed = try sealer.reseal(token, documentID: id, field: field.key)
                expect.append(("sealed." + field.key, .string(token)))
                set.append(("sealed." + field.key, .string(resealed.token)))
            } catch {
                return .failed(field: "sealed." + field.key, kind: Self.kind(of: error))
            }
        }
        set.append(("seal.kid", .string(primaryKid)))
        return try await store.compareAndSet(id: id, expect: expect, set: set)
            ? .changed(resealed: true, reindexed: reindexed) : .conflict
    }

    /// Runs the rotation.
    ///
    /// - Parameter progress: Called after each batch with the summary so far.
    /// - Throws: `StoreError` when the store fails for good, `IngestError` for the ledger and
    ///   the image files.
    public func run(progress: @Sendable (Summary) -> Void = { _ in }) async throws -> Summary {
        var summary = Summary()
        for store in stores { try await rotateStore(store, &summary, progress) }
        if let ledger { try await rotateLedger(ledger, &summary, progress) }
        if let images {
            let before = summary
            let rotated = try await images.rotate { part in
                var now = before
                now.imagesResealed = part.resealed
                now.imagesCurrent = part.current
                progress(now)
            }
            summary.imagesResealed = rotated.resealed
            summary.imagesCurrent = rotated.current
            summary.failed += rotated.failed.map {
                Failure(place: "images", id: $0.file, field: "image", kind: $0.kind)
            }
        }
        return summary
    }

    private func apply(_ outcomes: [(String, Outcome)], _ summary: inout Summary, retry: inout [String]) {
        for (id, outcome) in outcomes {
            switch outcome {
            case .changed(let resealed, let reindexed):
                if resealed { summary.storeResealed += 1 } else { summary.storeCurrent += 1 }
                if reindexed { summary.blindRecomputed += 1 }
            case .current: summary.storeCurrent += 1
            case .conflict:
                summary.conflicts += 1
                retry.append(id)
            case .failed(let field, let kind):
                summary.failed.append(Failure(place: "store", id: id, field: field, kind: kind))
            }
        }
    }

    private func rotateBatch(_ batch: [StoreDocument], in store: any DocumentStore) async throws -> [(String, Outcome)]
    {
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount * 2, batch.count))
        return try await withThrowingTaskGroup(of: [(String, Outcome)].self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var out: [(String, Outcome)] = []
                    for index in stride(from: lane, to: batch.count, by: lanes) {
                        out.append((batch[index].id ?? "?", try await self.rotate(batch[index], in: store)))
                    }
                    return out
                }
            }
            var all: [(String, Outcome)] = []
            for try await part in group { all += part }
            return all
        }
    }

    private func rotateStore(
        _ store: any DocumentStore, _ summary: inout Summary, _ progress: @Sendable (Summary) -> Void
    ) async throws {
        var retry: [String] = []
        for try await batch in store.allDocuments(batchSize: batchSize) {
            apply(try await rotateBatch(batch, in: store), &summary, retry: &retry)
            progress(summary)
        }
        var round = 1
        while !retry.isEmpty && round < maxRounds {
            round += 1
            var documents: [StoreDocument] = []
            for id in retry {
                if let document = try await store.find(id: id) { documents.append(document) }
            }
            retry = []
            apply(try await rotateBatch(documents, in: store), &summary, retry: &retry)
            progress(summary)
        }
        for id in retry {
            summary.failed.append(Failure(place: "store", id: id, field: "document", kind: "kept-changing"))
        }
    }

    /// The ledger document re-sealed and re-indexed as needed; `nil` when it is current.
    private func reseal(_ document: PhotoDocument) throws -> (PhotoDocument, reindexed: Bool)? {
        var updated = document
        var reindexed = false
        if let owner = document.sealed.owner {
            do {
                if let new = try blindOwner(owner, documentID: document.id), new != document.blind.owner {
                    updated.blind.owner = new
                    reindexed = true
                }
            } catch {
                throw Failure(place: "ledger", id: document.id, field: "sealed.owner", kind: Self.kind(of: error))
            }
        }
        if document.seal.kid == primaryKid { return reindexed ? (updated, true) : nil }
        func reseal(_ token: String?, _ field: String) throws -> String? {
            guard let token else { return nil }
            do {
                return try sealer.reseal(token, documentID: document.id, field: field).token
            } catch {
                throw Failure(place: "ledger", id: document.id, field: "sealed." + field, kind: Self.kind(of: error))
            }
        }
        updated.sealed.owner = try reseal(document.sealed.owner, PhotoDocument.SealedField.owner)
        updated.sealed.ownerName = try reseal(document.sealed.ownerName, PhotoDocument.SealedField.ownerName)
        updated.sealed.pathAlias = try reseal(document.sealed.pathAlias, PhotoDocument.SealedField.pathAlias)
        updated.sealed.exif = try reseal(document.sealed.exif, "exif")
        updated.seal.kid = primaryKid
        return (updated, reindexed)
    }

    private func rotateLedger(
        _ ledger: Ledger, _ summary: inout Summary, _ progress: @Sendable (Summary) -> Void
    ) async throws {
        var round = 0
        var failedIDs = Set<String>()
        while round < maxRounds {
            round += 1
            var after: String?
            var conflicts = 0
            while true {
                // Re-indexing reads every row: the ledger cannot compute a blind index in SQL.
                let rows = try await ledger.documents(
                    notSealedBy: reindex == nil ? primaryKid : nil, after: after, limit: batchSize)
                guard let last = rows.last else { break }
                after = last.id
                for row in rows where !failedIDs.contains(row.id) {
                    do {
                        guard let (updated, reindexed) = try reseal(row.document) else { continue }
                        if try await ledger.replaceDocument(id: row.id, expected: row.json, with: updated) {
                            if updated.seal.kid != row.document.seal.kid { summary.ledgerResealed += 1 }
                            if reindexed { summary.blindRecomputed += 1 }
                        } else {
                            conflicts += 1
                        }
                    } catch let failure as Failure {
                        failedIDs.insert(row.id)
                        summary.failed.append(failure)
                    }
                }
                progress(summary)
            }
            summary.conflicts += conflicts
            if conflicts == 0 { return }
        }
    }
}

extension KeyRotation.Failure: Error {}
