public import Foundation
public import Store
import Synchronization

/// A dataset asked for through the request form of `photoseal serve`: a Flickr search (terms,
/// box, number of images, labels to score), the address to mail the link to (sealed), when,
/// and how far it has got. `photoseal deliver --due` (or `serve --worker`) takes it through
/// `run`, `pack`, the upload and the mail, one recorded step at a time.
public struct DeliveryJob: Sendable, Equatable {
    /// What the form asked for.
    public struct Spec: Sendable, Equatable {
        /// The search terms (each one query, as `--term`).
        public var terms: [String]
        /// The box, `west,south,east,north` (as `--bbox`), if any.
        public var bbox: String?
        /// The number of images (`--limit` of the search and of the pack).
        public var limit: Int
        /// Labels to score (`--label`); none skips scoring.
        public var labels: [String]
        /// Where the zip goes, `s3://BUCKET/KEY`.
        public var upload: String
        /// How long the mailed link works, seconds.
        public var linkExpires: Int
        /// Pack pseudonymously (`pack --pseudonymous`; the form's checkbox).
        public var pseudonymous: Bool

        /// Makes a specification.
        public init(
            terms: [String], bbox: String?, limit: Int, labels: [String], upload: String, linkExpires: Int,
            pseudonymous: Bool = false
        ) {
            self.pseudonymous = pseudonymous
            self.terms = terms
            self.bbox = bbox
            self.limit = limit
            self.labels = labels
            self.upload = upload
            self.linkExpires = linkExpires
        }

        /// What `pack --upload` is given for the job: openly licensed photos that need no
        /// attribution (no author's name is opened for a form's request), 8 MiB parts.
        public var delivery: DeliveryRequest.Spec {
            DeliveryRequest.Spec(
                minScores: [:], limit: limit, includeAllRightsReserved: false, attribution: false, upload: upload,
                linkExpires: linkExpires, partSize: 8 << 20, pseudonymous: pseudonymous)
        }
    }

    /// How far a job has got. `queued` → `ran` → `uploaded` → `mailed`; `failed` when it was
    /// given up (too many failed attempts, or a mail tried twice without being confirmed).
    public enum State: String, Sendable, CaseIterable {
        /// Recorded, nothing done.
        case queued
        /// The photos are searched, downloaded, extracted, scored and loaded.
        case ran
        /// The pack is uploaded.
        case uploaded
        /// The link was mailed: done.
        case mailed
        /// Given up.
        case failed
    }

    /// The job's id (a UUID; the sealed address is bound to it).
    public var id: String
    /// What was asked.
    public var spec: Spec
    /// How far it has got.
    public var state: State
    /// The address as a Fernet token (field `address`, document `job:<id>`).
    public var sealedAddress: String
    /// When the link is to be mailed.
    public var dueAt: Date
    /// When the job was recorded.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
    /// What the uploaded pack holds, once uploaded.
    public var packed: DeliveryRequest.Packed?
    /// Mails tried (counted before sending).
    public var mailAttempts: Int
    /// Steps that failed so far.
    public var failures: Int

    /// The sealed field name of the address.
    public static let addressField = "address"
    /// Failed steps after which a job is given up.
    public static let maxFailures = 5

    /// The id the address's token is bound to.
    public var sealID: String { "job:\(id)" }

    /// Whether `deliver --due` still has something to do for it.
    public var isOpen: Bool { state != .mailed && state != .failed }
}

/// One step of a job's log (`job_log`): what happened and when, with no personal data.
public struct JobLogEntry: Sendable, Equatable {
    /// The step: `queued`, `run`, `pack`, `upload`, `mailed` or `failed`.
    public var step: String
    /// When.
    public var at: Date
    /// Counts or the cause of a failure (never an address or a key).
    public var detail: String?
}

/// The request form's jobs and their logs, kept in the workdir's document store beside the
/// photos: the collections (tables, files) `jobs` and `job_log` (see
/// `DocumentStore.collection(named:)`). The address is stored only as a token sealed with the
/// workdir's keys.
public final class JobStore: Sendable {
    let jobs: any DocumentStore
    let logs: any DocumentStore

    /// The jobs of the store holding the photos.
    /// - Throws: `StoreError` when the sibling collections cannot be opened.
    public init(store: any DocumentStore) throws {
        jobs = try store.collection(named: "jobs")
        logs = try store.collection(named: "job_log")
    }

    /// Records a new job (state `queued`) and its first log line.
    public func record(id: String, spec: DeliveryJob.Spec, sealedAddress: String, dueAt: Date, now: Date = Date())
        async throws -> DeliveryJob
    {
        let job = DeliveryJob(
            id: id, spec: spec, state: .queued, sealedAddress: sealedAddress, dueAt: dueAt, createdAt: now,
            updatedAt: now, packed: nil, mailAttempts: 0, failures: 0)
        _ = try await jobs.upsert([Self.document(job)])
        try await log(id, step: "queued", detail: "\(spec.terms.count) terms, \(spec.limit) images")
        return job
    }

    /// The job with this id, or `nil`.
    /// - Throws: `StoreError`, or `IngestError.job` when the record is not a job's.
    public func job(id: String) async throws -> DeliveryJob? {
        try await jobs.find(id: id).map(Self.job(from:))
    }

    /// The jobs not finished (not mailed, not given up), due first.
    public func openJobs() async throws -> [DeliveryJob] {
        try await jobs.find(where: "open", equals: true).map(Self.job(from:))
            .sorted { ($0.dueAt, $0.id) < ($1.dueAt, $1.id) }
    }

    /// Every job, newest first (at most `limit`).
    public func allJobs(limit: Int = 100) async throws -> [DeliveryJob] {
        var all: [DeliveryJob] = []
        for try await batch in jobs.allDocuments(batchSize: 500) { all += try batch.map(Self.job(from:)) }
        return Array(all.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(limit))
    }

    /// Writes the job's new state if it is still in the state `from` (two runners never both
    /// take one step).
    /// - Returns: Whether it was written.
    @discardableResult
    public func update(_ job: DeliveryJob, from: DeliveryJob.State, now: Date = Date()) async throws -> Bool {
        var changed = job
        changed.updatedAt = now
        let document = Self.document(changed)
        var set = document.fields.filter { $0.key != "_id" && $0.key != "created_at" }.map { ($0.key, $0.value) }
        if document["packed"] == nil { set.append(("packed", .null)) }
        return try await jobs.compareAndSet(id: job.id, expect: [("state", .string(from.rawValue))], set: set)
    }

    /// Appends a line to a job's log.
    public func log(_ id: String, step: String, detail: String? = nil, at: Date = Date()) async throws {
        // Sorted by time within the job, in microseconds that only go up within this process:
        // two steps logged in one millisecond (pack, then upload) keep their order. The UUID
        // tail keeps lines of two processes apart.
        let micros = String(format: "%017lld", Self.logMicros(at))
        var document: StoreDocument = [
            "_id": .string("\(id):\(micros):\(UUID().uuidString.prefix(8).lowercased())"), "job": .string(id),
            "step": .string(step), "at": .date(StoreValue.millisecondDate(at)),
        ]
        if let detail { document["detail"] = .string(detail) }
        _ = try await logs.upsert([document])
    }

    /// A job's log, oldest first.
    public func log(of id: String) async throws -> [JobLogEntry] {
        try await logs.find(where: "job", equals: .string(id)).compactMap { document in
            guard let step = document["step"]?.stringValue, let at = document["at"]?.dateValue else { return nil }
            return JobLogEntry(step: step, at: at, detail: document["detail"]?.stringValue)
        }
    }

    static func document(_ job: DeliveryJob) -> StoreDocument {
        let spec = job.spec
        var specDocument: StoreDocument = [
            "terms": .array(spec.terms.map { .string($0) }), "limit": .int(Int64(spec.limit)),
            "labels": .array(spec.labels.map { .string($0) }), "upload": .string(spec.upload),
            "link_expires": .int(Int64(spec.linkExpires)),
        ]
        if let bbox = spec.bbox { specDocument["bbox"] = .string(bbox) }
        // Written only when asked, so a job that is not pseudonymous is stored as before.
        if spec.pseudonymous { specDocument["pseudonymous"] = .bool(true) }
        var document: StoreDocument = [
            "_id": .string(job.id), "spec": .document(specDocument), "state": .string(job.state.rawValue),
            "open": .bool(job.isOpen), "sealed": ["address": .string(job.sealedAddress)],
            "due_at": .date(StoreValue.millisecondDate(job.dueAt)),
            "created_at": .date(StoreValue.millisecondDate(job.createdAt)),
            "updated_at": .date(StoreValue.millisecondDate(job.updatedAt)),
            "mail_attempts": .int(Int64(job.mailAttempts)), "failures": .int(Int64(job.failures)),
        ]
        if let packed = job.packed {
            document["packed"] = [
                "photos": .int(Int64(packed.photos)), "bytes": .int(packed.bytes),
                "licenses": .document(
                    StoreDocument(
                        packed.licenses.sorted { $0.key < $1.key }.map {
                            StoreField(key: $0.key, value: .int(Int64($0.value)))
                        })),
            ]
        }
        return document
    }

    static func job(from document: StoreDocument) throws -> DeliveryJob {
        func int(_ path: String) -> Int? { document.value(at: path)?.intValue.map(Int.init) }
        guard let id = document.id, let state = document["state"]?.stringValue.flatMap(DeliveryJob.State.init),
            let sealed = document.value(at: "sealed.address")?.stringValue,
            let due = document["due_at"]?.dateValue, let created = document["created_at"]?.dateValue,
            let updated = document["updated_at"]?.dateValue, let limit = int("spec.limit"),
            let upload = document.value(at: "spec.upload")?.stringValue, let expires = int("spec.link_expires")
        else {
            throw IngestError(
                .job, "the job \(document.id ?? "?") in the store is not readable; it may be damaged or newer")
        }
        let strings: (String) -> [String] = { path in
            document.value(at: path)?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        var packed: DeliveryRequest.Packed?
        if let photos = int("packed.photos"), let bytes = document.value(at: "packed.bytes")?.intValue {
            var licenses: [String: Int] = [:]
            for field in document.value(at: "packed.licenses")?.documentValue?.fields ?? [] {
                licenses[field.key] = field.value.intValue.map(Int.init)
            }
            packed = DeliveryRequest.Packed(photos: photos, bytes: bytes, licenses: licenses)
        }
        return DeliveryJob(
            id: id,
            spec: DeliveryJob.Spec(
                terms: strings("spec.terms"), bbox: document.value(at: "spec.bbox")?.stringValue, limit: limit,
                labels: strings("spec.labels"), upload: upload, linkExpires: expires,
                pseudonymous: document.value(at: "spec.pseudonymous")?.boolValue ?? false),
            state: state, sealedAddress: sealed, dueAt: due, createdAt: created, updatedAt: updated, packed: packed,
            mailAttempts: int("mail_attempts") ?? 0, failures: int("failures") ?? 0)
    }
}

extension JobStore {
    /// The last log time handed out, in microseconds: each is later than the one before in
    /// this process.
    static let lastLogMicros = Mutex<Int64>(0)

    /// The log time of `date`, in microseconds, after every one handed out before.
    static func logMicros(_ date: Date) -> Int64 {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        return lastLogMicros.withLock { last in
            last = max(last + 1, micros)
            return last
        }
    }
}
