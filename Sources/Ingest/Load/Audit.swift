public import Crypto
import Foundation
public import Store

/// `audit`: reads every stored document and checks it (``SealCheck``), compares the store's
/// documents with the ledger's loaded rows, and opens every sealed image file
/// (``SealedImages``).
///
/// The store is streamed a batch at a time (constant memory; the next batch is read while the
/// current one is checked) and each batch is checked on every core. Findings name a document,
/// a field and a kind, never a value.
public struct Audit: Sendable {
    /// The report: counts per check and per key id, and every finding.
    public struct Report: Sendable, Codable {
        /// The report format version (1).
        public var version = 1
        /// The store, password masked.
        public var store: String
        /// Documents read from the store.
        public var documents = 0
        /// Sealed tokens that opened.
        public var tokensOpened = 0
        /// Sealed image files looked at (0 when no image store was given).
        public var sealedImages = 0
        /// Whether the ledger comparison ran (there is a ledger in the workdir).
        public var ledgerChecked = false
        /// Rows the ledger says are loaded.
        public var ledgerLoaded = 0
        /// Per check: documents checked and findings.
        public var checks: [String: CheckCount] = [:]
        /// Per key id: documents whose `seal.kid` names it, tokens and sealed image files it opened.
        public var kids: [String: KidCount] = [:]
        /// Every finding, in document order.
        public var findings: [SealCheck.Finding] = []
        /// Whether there is no finding.
        public var ok: Bool { findings.isEmpty }

        /// One check's counts.
        public struct CheckCount: Sendable, Codable, Equatable {
            /// Documents (for `ledger-store`, ids; for `sealed-images`, image files plus the
            /// documents whose `image.path` names a sealed file) the check looked at.
            public var checked = 0
            /// Findings it made.
            public var findings = 0
            /// Makes zero counts.
            public init() {}
        }

        /// One key id's counts.
        public struct KidCount: Sendable, Codable, Equatable {
            /// Documents whose `seal.kid` is this key.
            public var documents = 0
            /// Tokens this key opened.
            public var tokens = 0
            /// Sealed image files this key opened.
            public var images = 0
            /// Makes zero counts.
            public init() {}

            enum CodingKeys: String, CodingKey {
                case documents, tokens, images
            }

            /// Decodes counts; `images` is absent from reports written before it existed.
            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                documents = try container.decode(Int.self, forKey: .documents)
                tokens = try container.decode(Int.self, forKey: .tokens)
                images = try container.decodeIfPresent(Int.self, forKey: .images) ?? 0
            }
        }

        enum CodingKeys: String, CodingKey {
            case version, store, documents, ok, checks, kids, findings
            case tokensOpened = "tokens_opened"
            case sealedImages = "sealed_images"
            case ledgerChecked = "ledger_checked"
            case ledgerLoaded = "ledger_loaded"
        }

        /// Makes an empty report.
        public init(store: String) { self.store = store }

        /// Encodes with `ok` included.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(version, forKey: .version)
            try container.encode(store, forKey: .store)
            try container.encode(documents, forKey: .documents)
            try container.encode(tokensOpened, forKey: .tokensOpened)
            try container.encode(sealedImages, forKey: .sealedImages)
            try container.encode(ledgerChecked, forKey: .ledgerChecked)
            try container.encode(ledgerLoaded, forKey: .ledgerLoaded)
            try container.encode(ok, forKey: .ok)
            try container.encode(checks, forKey: .checks)
            try container.encode(kids, forKey: .kids)
            try container.encode(findings, forKey: .findings)
        }

        /// Decodes a report written by `encode(to:)`.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            version = try container.decode(Int.self, forKey: .version)
            store = try container.decode(String.self, forKey: .store)
            documents = try container.decode(Int.self, forKey: .documents)
            tokensOpened = try container.decode(Int.self, forKey: .tokensOpened)
            sealedImages = try container.decodeIfPresent(Int.self, forKey: .sealedImages) ?? 0
            ledgerChecked = try container.decode(Bool.self, forKey: .ledgerChecked)
            ledgerLoaded = try container.decode(Int.self, forKey: .ledgerLoaded)
            checks = try container.decode([String: CheckCount].self, forKey: .checks)
            kids = try container.decode([String: KidCount].self, forKey: .kids)
            findings = try container.decode([SealCheck.Finding].self, forKey: .findings)
        }
    }

    let store: (any DocumentStore)?
    let ledger: Ledger?
    let images: SealedImages?
    let clearImages: ClearImages?
    let checker: SealCheck
    let batchSize: Int
    let lanes: Int

    /// Makes an audit.
    ///
    /// - Parameters:
    ///   - store: The store to read (`nil`: a workdir that has loaded into no store yet; only
    ///     its sealed images are checked).
    ///   - ledger: The ledger to compare with (`nil`: the `ledger-store` check is skipped).
    ///   - keyring: The seal keys.
    ///   - blind: The blind index under INDEX_KEY.
    ///   - images: The workdir's image store, whose sealed files to open (`nil`: the
    ///     `sealed-images` check is skipped).
    ///   - plainImages: Whether originals kept in the clear with their metadata are expected
    ///     (the workdir's mode is plain); otherwise the `image-metadata` check reports them.
    ///   - batchSize: Documents read per batch (default 1000).
    ///   - lanes: Concurrent checking tasks (default: the number of cores).
    public init(
        store: (any DocumentStore)?, ledger: Ledger?, keyring: Keyring, blind: BlindIndex, images: ImageStore? = nil,
        plainImages: Bool = false, batchSize: Int = 1000, lanes: Int? = nil
    ) {
        self.store = store
        self.ledger = ledger
        self.images = images.map { SealedImages(store: $0, keyring: keyring, lanes: lanes) }
        self.clearImages = images.map { ClearImages(store: $0, plainAllowed: plainImages, lanes: lanes) }
        self.checker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: true)
        self.batchSize = max(1, batchSize)
        self.lanes = max(1, lanes ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The iterator, handed from one prefetching task to the next (never used by two at once).
    private final class IteratorBox: @unchecked Sendable {
        var iterator: RawDocumentBatches.AsyncIterator
        init(_ iterator: RawDocumentBatches.AsyncIterator) { self.iterator = iterator }
        func next() async throws -> [RawDocument]? { try await iterator.next() }
    }

    /// Checks one batch on `lanes` concurrent tasks; results in document order.
    private func check(_ batch: [RawDocument], now: Int64) async -> [SealCheck.Result] {
        let lanes = min(self.lanes, batch.count)
        guard lanes > 1 else { return batch.map { check($0, now: now) } }
        let chunk = (batch.count + lanes - 1) / lanes
        return await withTaskGroup(of: (Int, [SealCheck.Result]).self) { group in
            for lane in 0..<lanes {
                let range = (lane * chunk)..<min(batch.count, (lane + 1) * chunk)
                guard !range.isEmpty else { continue }
                group.addTask { (lane, batch[range].map { self.check($0, now: now) }) }
            }
            var parts: [(Int, [SealCheck.Result])] = []
            for await part in group { parts.append(part) }
            return parts.sorted { $0.0 < $1.0 }.flatMap(\.1)
        }
    }

    /// Checks one document from its stored bytes: ``SealCheck``, then, when it names a sealed
    /// image file, that the file is there under the document's hash.
    private func check(_ document: RawDocument, now: Int64) -> SealCheck.Result {
        var result = checker.check(document, now: now)
        if let images, let kind = Self.sealedPathProblem(document, in: images.store) {
            result.findings.append(
                SealCheck.Finding(id: document.id ?? "?", field: "image.path", kind: kind, check: .sealedImages))
        }
        return result
    }

    /// The text at a dotted path of a stored document (ObjectIds as hex), if it is text.
    static func text(_ document: RawDocument, at path: String) -> String? {
        document.withView { view in view.field(at: path).flatMap { view.text($0) } }
    }

    /// The document's sealed image path, if `image.path` names a sealed file.
    static func sealedPath(_ document: RawDocument) -> String? {
        guard let path = text(document, at: "image.path"), path.hasSuffix(".fernet") else { return nil }
        return path
    }

    /// What is wrong with a document's sealed `image.path`: `image-path-mismatch` when it is not
    /// the store's path for the document's `image.sha256`, `missing-sealed-image` when there is
    /// no such file; `nil` when it is sound or names no sealed file.
    static func sealedPathProblem(_ document: RawDocument, in images: ImageStore) -> String? {
        guard let path = sealedPath(document) else { return nil }
        guard let sha256 = text(document, at: "image.sha256"),
            SealedImages.sha256(inName: path) == sha256, !path.contains("..")
        else { return "image-path-mismatch" }
        // A bucket is not asked once per document: its walk opens every sealed object.
        if images.isRemote { return nil }
        return FileManager.default.fileExists(atPath: images.absolute(path)) ? nil : "missing-sealed-image"
    }

    /// Runs the audit.
    ///
    /// - Parameter now: The current time, unix seconds (default: the clock).
    /// - Throws: `StoreError` when the store cannot be read, `IngestError` for the ledger and
    ///   when an image folder cannot be listed.
    public func run(now: Int64? = nil) async throws -> Report {
        let now = now ?? Int64(Date().timeIntervalSince1970)
        var report = Report(store: store?.location ?? "none")
        if images != nil { report.checks[SealCheck.Check.sealedImages.rawValue] = Report.CheckCount() }
        if let store { try await audit(store, into: &report, now: now) }
        if let images {
            let files = try await images.audit()
            report.sealedImages = files.files
            report.checks[SealCheck.Check.sealedImages.rawValue, default: .init()].checked += files.files
            report.checks[SealCheck.Check.sealedImages.rawValue, default: .init()].findings += files.problems.count
            for (kid, count) in files.kids { report.kids[kid, default: .init()].images += count }
            report.findings += files.problems.map {
                SealCheck.Finding(id: $0.file, field: "image", kind: $0.kind, check: .sealedImages)
            }
        }
        if let clearImages { try await clearImages.audit().record(into: &report) }
        return report
    }

    /// Checks every document of `store` into `report`.
    private func audit(_ store: any DocumentStore, into report: inout Report, now: Int64) async throws {
        for check in SealCheck.Check.allCases where check.isPerDocument {
            report.checks[check.rawValue] = Report.CheckCount()
        }
        if ledger != nil { report.checks[SealCheck.Check.ledgerStore.rawValue] = Report.CheckCount() }
        var merge = LedgerMerge(ledger: ledger, store: store.storeKey, batchSize: batchSize)
        let box = IteratorBox(store.allRawDocuments(batchSize: batchSize).makeAsyncIterator())
        var next = Task { try await box.next() }
        while let batch = try await next.value {
            next = Task { try await box.next() }
            let results = await check(batch, now: now)
            for (document, result) in zip(batch, results) {
                report.documents += 1
                if let kid = result.sealKid { report.kids[kid, default: .init()].documents += 1 }
                for kid in result.openedKids { report.kids[kid, default: .init()].tokens += 1 }
                report.tokensOpened += result.openedKids.count
                if images != nil, Self.sealedPath(document) != nil {
                    report.checks[SealCheck.Check.sealedImages.rawValue, default: .init()].checked += 1
                }
                for finding in result.findings {
                    report.checks[finding.check.rawValue, default: .init()].findings += 1
                    report.findings.append(finding)
                }
                if let id = document.id { try await merge.storeHas(id, into: &report) }
            }
        }
        try await merge.finish(into: &report)
        // Every document goes through every per-document check.
        for check in SealCheck.Check.allCases where check.isPerDocument {
            report.checks[check.rawValue, default: .init()].checked = report.documents
        }
    }
}

/// Compares the store's ids (streamed in `_id` order) with the ledger's loaded ids (read in the
/// same byte order) in one merge pass: constant memory.
struct LedgerMerge {
    let ledger: Ledger?
    let store: String
    let batchSize: Int
    var buffer: [String] = []
    var position = 0
    var after: String?
    var exhausted = false

    init(ledger: Ledger?, store: String, batchSize: Int) {
        self.ledger = ledger
        self.store = store
        self.batchSize = batchSize
        exhausted = ledger == nil
    }

    /// The next ledger id not yet consumed, or `nil` at the end.
    mutating func peek() async throws -> String? {
        if position < buffer.count { return buffer[position] }
        guard !exhausted, let ledger else { return nil }
        buffer = try await ledger.loadedIDs(store: store, after: after, limit: batchSize)
        position = 0
        guard let last = buffer.last else {
            exhausted = true
            return nil
        }
        after = last
        return buffer[0]
    }

    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    mutating func missing(_ id: String, into report: inout Audit.Report) {
        report.ledgerLoaded += 1
        report.checks[SealCheck.Check.ledgerStore.rawValue, default: .init()].checked += 1
        report.checks[SealCheck.Check.ledgerStore.rawValue, default: .init()].findings += 1
        report.findings.append(SealCheck.Finding(id: id, field: "_id", kind: "missing-from-store", check: .ledgerStore))
    }

    mutating func storeHas(_ id: String, into report: inout Audit.Report) async throws {
        guard ledger != nil else { return }
        report.ledgerChecked = true
        while let next = try await peek(), Self.precedes(next, id) {
            position += 1
            missing(next, into: &report)
        }
        report.checks[SealCheck.Check.ledgerStore.rawValue, default: .init()].checked += 1
        if try await peek() == id {
            position += 1
            report.ledgerLoaded += 1
        } else {
            report.checks[SealCheck.Check.ledgerStore.rawValue, default: .init()].findings += 1
            report.findings.append(
                SealCheck.Finding(id: id, field: "_id", kind: "unknown-to-ledger", check: .ledgerStore))
        }
    }

    mutating func finish(into report: inout Audit.Report) async throws {
        guard ledger != nil else { return }
        report.ledgerChecked = true
        while let next = try await peek() {
            position += 1
            missing(next, into: &report)
        }
    }
}
