public import Crypto
public import Foundation

/// A sharded job's plan: the job file (`<plan>/job.json`) and the shard files
/// (`<plan>/shards/part-NNNNN.jsonl`) that `photoseal plan` writes and `photoseal run --shard`
/// reads.
///
/// The search (or the import listing) runs once, with one Flickr key and its budget; each shard
/// file then holds the work items of one shard, one JSON line per photo
/// (`{"document":{…},"id":"flickr:…"}`, the document exactly as the planning ledger holds it:
/// personal fields already sealed). A photo always lands in the same shard: the first eight
/// bytes of the SHA-256 of its id, big-endian, modulo the shard count (``shard(of:count:)``;
/// in Python `int.from_bytes(hashlib.sha256(id.encode()).digest()[:8], "big") % n`).
///
/// The job file is written last: a plan whose job file exists is complete.
public struct ShardPlan: Codable, Sendable, Equatable {
    /// The keys every worker must hold: the fingerprint of INDEX_KEY and the kid of the primary
    /// seal key (never a key).
    public struct Keys: Codable, Sendable, Equatable {
        /// `BlindIndex.fingerprint()` of INDEX_KEY.
        public var indexKey: String
        /// The kid of the primary seal key, which sealed the plan's documents.
        public var sealKid: String

        /// Makes a key record.
        public init(indexKey: String, sealKid: String) {
            self.indexKey = indexKey
            self.sealKid = sealKid
        }

        enum CodingKeys: String, CodingKey {
            case indexKey = "index_key"
            case sealKid = "seal_kid"
        }
    }

    /// The job file's format version (1).
    public var version = 1
    /// A random id naming this plan (a shard workdir belongs to one plan).
    public var planID: String
    /// The number of shards.
    public var shards: Int
    /// The job's settings: search or source, labels, sizes, image mode and store key.
    public var job: Job
    /// Where images are kept: the shared image store every shard opens (`s3://BUCKET/PREFIX`
    /// or an absolute folder, as `Workspace.imageStoreLocation` writes it), or `workdir` (each
    /// shard keeps its images in its own workdir).
    public var imageStore: String
    /// The store's URI without secrets (`StoreRecord.key`); `nil`: the worker's `--store` or
    /// MONGODB_URI.
    public var store: String?
    /// Whether connecting to `store` needs the full URI again (a password or options).
    public var storeNeedsSecret: Bool
    /// The key fingerprints every worker's secrets file must match.
    public var keys: Keys
    /// Photos in the plan, and per shard.
    public var photos: Int
    /// Photos per shard, in shard order.
    public var shardPhotos: [Int]
    /// How a photo's shard is chosen (see the type's documentation).
    public var hash = ShardPlan.hashName
    /// When the plan was written (ISO 8601 UTC).
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case version, shards, job, store, keys, photos, hash
        case planID = "plan_id"
        case imageStore = "image_store"
        case storeNeedsSecret = "store_needs_secret"
        case shardPhotos = "shard_photos"
        case createdAt = "created_at"
    }

    /// The shared image store, `nil` when each shard keeps its images in its own workdir.
    public var sharedImageStore: String? { imageStore == "workdir" ? nil : imageStore }

    /// The name of the shard hash recorded in job files.
    public static let hashName = "sha256-first8-be-mod-n"
    /// The most shards a plan may have.
    public static let maxShards = 100_000

    /// Makes a plan record.
    public init(
        planID: String = UUID().uuidString.lowercased(), shards: Int, job: Job, imageStore: String = "workdir",
        store: StoreRecord?, keys: Keys, photos: Int, shardPhotos: [Int], createdAt: String? = nil
    ) {
        self.planID = planID
        self.shards = shards
        self.job = job
        self.imageStore = imageStore
        self.store = store?.key
        self.storeNeedsSecret = store?.needsSecret ?? false
        self.keys = keys
        self.photos = photos
        self.shardPhotos = shardPhotos
        self.createdAt = createdAt ?? isoNow()
    }

    /// The shard a photo id belongs to among `count` shards.
    public static func shard(of id: String, count: Int) -> Int {
        precondition(count > 0)
        let digest = (try? SHA256Digest.hexBytes(Array(id.utf8))) ?? []
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        return Int(value % UInt64(count))
    }

    /// `part-NNNNN` for shard `index`.
    public static func partName(_ index: Int) -> String {
        let digits = String(index)
        return "part-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    // MARK: Paths

    /// The job file in a plan folder.
    public static func jobPath(_ plan: String) -> String { (plan as NSString).appendingPathComponent("job.json") }

    /// The shard file of shard `index` in a plan folder.
    public static func shardPath(_ plan: String, _ index: Int) -> String {
        (plan as NSString).appendingPathComponent("shards/\(partName(index)).jsonl")
    }

    /// The default workdir of shard `index`: `<plan>/work/part-NNNNN`.
    public static func workdir(_ plan: String, _ index: Int) -> String {
        (plan as NSString).appendingPathComponent("work/\(partName(index))")
    }

    /// An output of shard `index`: `<plan>/<kind>/part-NNNNN.<ext>` (success, failure, stats).
    public static func outputPath(_ plan: String, _ kind: String, _ index: Int, ext: String) -> String {
        (plan as NSString).appendingPathComponent("\(kind)/\(partName(index)).\(ext)")
    }

    /// Reads a plan's job file.
    /// - Throws: `IngestError.configuration` when there is none (the plan is missing or was not
    ///   finished) or it is not a job file of this version.
    public static func read(_ plan: String) throws -> ShardPlan {
        let path = jobPath(plan)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IngestError(
                .configuration,
                "no plan at \(plan) (\(path) is missing or unreadable): run `photoseal plan --plan \(plan) --shards N ...` "
                    + "first, and check --plan")
        }
        let plan: ShardPlan
        do {
            plan = try JSONDecoder().decode(ShardPlan.self, from: data)
        } catch {
            throw IngestError(.configuration, "\(path) is not a photoseal plan's job file; write the plan again")
        }
        guard plan.version == 1, plan.shards >= 1, plan.shards <= maxShards, plan.hash == hashName else {
            throw IngestError(
                .configuration, "\(path) is a plan of another version or shape; write it again with this photoseal")
        }
        return plan
    }

    /// Checks that a worker's keys are the plan's (the same secrets file on every worker).
    /// - Throws: `IngestError.foreignKeys` naming which key differs (by its id, never the key).
    public func check(keyring: Keyring, blind: BlindIndex) throws {
        var problems: [String] = []
        let index = try blind.fingerprint()
        if index != keys.indexKey {
            problems.append("its INDEX_KEY (id \(index)) is not the plan's (id \(keys.indexKey))")
        }
        if keyring.primary.kid != keys.sealKid {
            problems.append(
                "its primary seal key (id \(keyring.primary.kid)) is not the plan's (id \(keys.sealKid))")
        }
        guard !problems.isEmpty else { return }
        throw IngestError(
            .foreignKeys,
            "the secrets file is not the one this plan was made with: \(problems.joined(separator: ", and ")). "
                + "Nothing was written. Give every worker the planning secrets file (--keys FILE or PHOTOSEAL_KEYS)")
    }
}

extension SHA256Digest {
    /// The SHA-256 of `bytes`.
    static func hexBytes(_ bytes: [UInt8]) throws -> [UInt8] {
        let hash = try SHA256()
        hash.update(bytes)
        return hash.finalize()
    }
}

/// Which shard this process runs: `--shard I/N`, or the array index a batch system sets.
public struct ShardSelection: Sendable, Equatable {
    /// The shard, 0-based.
    public var index: Int
    /// The shard count, when the selection names it (`--shard`, SLURM_ARRAY_TASK_COUNT).
    public var count: Int?
    /// Where the selection came from (`--shard` or the variable's name), for messages.
    public var origin: String

    /// Makes a selection.
    public init(index: Int, count: Int?, origin: String) {
        self.index = index
        self.count = count
        self.origin = origin
    }

    /// Parses `I/N` (0 ≤ I < N).
    /// - Throws: `IngestError.configuration` naming `--shard` and what is wrong.
    public static func parse(_ text: String) throws -> ShardSelection {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw IngestError(.configuration, "--shard takes I/N (shard I of N, counting from 0), e.g. --shard 0/4")
        }
        guard count >= 1, count <= ShardPlan.maxShards else {
            throw IngestError(.configuration, "--shard \(text): N must be between 1 and \(ShardPlan.maxShards)")
        }
        guard index >= 0, index < count else {
            throw IngestError(
                .configuration, "--shard \(text): I counts from 0 and must be less than N (0 to \(count - 1))")
        }
        return ShardSelection(index: index, count: count, origin: "--shard")
    }

    /// The variables a batch system sets for one task of an array, in the order they are read.
    public static let environmentVariables = [
        "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "AWS_BATCH_JOB_ARRAY_INDEX",
    ]

    /// The selection from the environment: JOB_COMPLETION_INDEX (a Kubernetes Indexed Job),
    /// SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or AWS_BATCH_JOB_ARRAY_INDEX; `nil`
    /// when none is set.
    /// - Throws: `IngestError.configuration` naming the variable when its value is not a
    ///   0-based index.
    public static func fromEnvironment(_ environment: [String: String]) throws -> ShardSelection? {
        for name in environmentVariables {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { continue }
            guard let index = Int(raw), index >= 0 else {
                throw IngestError(
                    .configuration, "\(name)=\(raw) is not a shard index (0 or more); check the job's array")
            }
            var count: Int?
            if name == "SLURM_ARRAY_TASK_ID", let text = environment["SLURM_ARRAY_TASK_COUNT"] {
                count = Int(text.trimmingCharacters(in: .whitespaces))
            }
            return ShardSelection(index: index, count: count, origin: name)
        }
        return nil
    }

    /// Checks the selection against a plan of `shards` shards.
    /// - Throws: `IngestError.configuration` naming the flag or variable.
    public func check(shards: Int) throws {
        guard index < shards else {
            throw IngestError(
                .configuration,
                "\(origin) asks for shard \(index), but the plan has \(shards) shards (0 to \(shards - 1)); "
                    + "check \(origin == "--shard" ? "--shard" : "the array's range")")
        }
        // A Slurm array resubmitted for some of its shards has a smaller count: only a count
        // given with --shard must be the plan's.
        if origin == "--shard", let count, count != shards {
            throw IngestError(
                .configuration,
                "--shard \(index)/\(count): the plan has \(shards) shards; use --shard \(index)/\(shards)")
        }
    }
}
