public import Crypto
public import Foundation
public import HTTP
public import Logging
public import Retry
public import Store
import Synchronization

/// One workdir, opened: the composition root every command goes through.
///
/// A workdir is one job. Opening it finds the secrets, checks that they belong to the workdir
/// (the fingerprint of the index key it was made with, the kid of every seal key that sealed
/// something in it), takes the one-writer lock for commands that change it, and hands out what
/// the stages need: the keyring, sealer and blind index, the ledger, the image store, the
/// document stores it has loaded into (recorded without passwords in `workspace.json`), and
/// the job `photoseal run` recorded (`job.json`).
///
/// Nothing is written before every check has passed: a foreign secrets file, a busy workdir or
/// a bad store is refused with one message, and the workdir is left as it was.
public final class Workspace: Sendable {
    /// What a command does to the workdir.
    public enum Access: Sendable {
        /// Reads only (status, export, audit): no lock, nothing recorded, runs beside a writer.
        case read
        /// Changes the ledger or the stores (encrypt-load, keys retire): takes the lock.
        case write
        /// Also seals new data with the primary seal key (search, import, download, extract,
        /// run, rotate-keys): takes the lock and records the key's kid.
        case seal
    }

    /// How to open a workdir.
    public struct Options: Sendable {
        /// The work directory.
        public var workdir: String
        /// `--keys FILE`, if given (else `PHOTOSEAL_KEYS`, else `./keys.env`).
        public var keysFile: String?
        /// `--store URI`, if given.
        public var store: String?
        /// The command's name, shown to a second writer that is refused.
        public var command: String
        /// What the command does to the workdir.
        public var access: Access
        /// Whether the command needs the seal and index keys (they are then checked against the
        /// workdir's record before anything else happens).
        public var needsKeys: Bool
        /// The process environment (secrets entries override the file's).
        public var environment: [String: String]

        /// Options with the process environment.
        public init(
            workdir: String, keysFile: String? = nil, store: String? = nil, command: String, access: Access,
            needsKeys: Bool, environment: [String: String] = ProcessInfo.processInfo.environment
        ) {
            self.workdir = workdir
            self.keysFile = keysFile
            self.store = store
            self.command = command
            self.access = access
            self.needsKeys = needsKeys
            self.environment = environment
        }
    }

    /// The work directory.
    public let workdir: String
    /// The secrets (API keys, store URI, seal and index keys).
    public let secrets: Secrets
    /// The image store in the workdir.
    public let images: ImageStore
    let options: Options
    let logger: Logger
    let note: @Sendable (String) -> Void
    /// Whether the recorded store chosen has been named to the user: once a command is enough.
    private let storeNamed = Mutex(false)
    private let lock: WorkspaceLock?
    private let manifest: Locked<WorkspaceManifest?>
    private let loadedKeys: (keyring: Keyring, blind: BlindIndex)?

    /// Opens a workdir.
    ///
    /// - Parameters:
    ///   - options: What to open and how.
    ///   - logger: Handed to the ledger and stores.
    ///   - note: Receives one-line notes for the user (which store is used, what was recorded).
    /// - Throws: `CryptoError` for a missing or malformed secrets file or key,
    ///   `IngestError.foreignKeys` when the keys are not the workdir's (naming the missing kid,
    ///   never a key), `.busy` when another command holds the workdir, `.ledger` for files that
    ///   cannot be read or written.
    public static func open(
        _ options: Options, logger: Logger, note: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> Workspace {
        let secrets = try Secrets.load(explicit: options.keysFile, environment: options.environment)
        var keys: (Keyring, BlindIndex)?
        if options.needsKeys { keys = (try secrets.keyring(), try secrets.blindIndex()) }
        var manifest = try WorkspaceManifest.read(workdir: options.workdir)
        manifest?.workdirName = options.workdir
        if let manifest, let keys {
            try check(keys.0, keys.1, against: manifest, secrets: secrets, command: options.command)
        }
        var lock: WorkspaceLock?
        if options.access != .read {
            do {
                // 0700: the workdir holds titles, places, sealed owners and images.
                try PrivateFiles.makeDirectory(options.workdir)
            } catch {
                throw IngestError(
                    .ledger, "cannot create the work directory \(options.workdir); check --workdir and permissions")
            }
            lock = try WorkspaceLock(workdir: options.workdir, command: options.command)
            // Read again under the lock: a writer that held it may have changed the record.
            manifest = try WorkspaceManifest.read(workdir: options.workdir)
            manifest?.workdirName = options.workdir
            if let manifest, let keys {
                try check(keys.0, keys.1, against: manifest, secrets: secrets, command: options.command)
            }
        }
        let workspace = Workspace(
            options: options, secrets: secrets, keys: keys, manifest: manifest, lock: lock, logger: logger, note: note)
        if options.access != .read { try await workspace.recordKeys() }
        return workspace
    }

    private init(
        options: Options, secrets: Secrets, keys: (Keyring, BlindIndex)?, manifest: WorkspaceManifest?,
        lock: WorkspaceLock?, logger: Logger, note: @escaping @Sendable (String) -> Void
    ) {
        self.options = options
        self.workdir = options.workdir
        self.secrets = secrets
        self.loadedKeys = keys
        self.manifest = Locked(manifest)
        self.lock = lock
        self.logger = logger
        self.note = note
        self.images = ImageStore(workdir: options.workdir)
    }

    // MARK: Keys

    /// Refuses keys that are not the workdir's: another index key, or seal keys missing.
    ///
    /// An INDEX_KEY replaced by `keys add --index-key` (the workdir's key now in
    /// INDEX_KEY_PREVIOUS) is accepted by `rotate-keys` alone, which recomputes every blind index;
    /// every other command is refused until it has, so no blind index is written under either
    /// key while the two are mixed.
    static func check(
        _ keyring: Keyring, _ blind: BlindIndex, against manifest: WorkspaceManifest, secrets: Secrets,
        command: String
    ) throws {
        let missing = manifest.sealKids.filter { keyring.key(kid: $0) == nil }
        let index = try blind.fingerprint()
        var foreignIndex = manifest.indexKey.map { $0 != index } ?? false
        if foreignIndex, let recorded = manifest.indexKey, try secrets.previousBlindIndex()?.fingerprint() == recorded {
            guard command == Self.indexRotationCommand else {
                throw IngestError(
                    .foreignKeys,
                    "the INDEX_KEY of \(secrets.sourceDescription) (id \(index)) replaced this workdir's "
                        + "(id \(recorded), now INDEX_KEY_PREVIOUS): run `photoseal \(Self.indexRotationCommand)` first to "
                        + "recompute every blind index under the new key. Nothing was written")
            }
            foreignIndex = false
        }
        guard !missing.isEmpty || foreignIndex else { return }
        var problems: [String] = []
        if !missing.isEmpty {
            let plural = missing.count > 1
            problems.append(
                "it has no seal key with id\(plural ? "s" : "") \(missing.joined(separator: ", ")) (\(plural ? "they" : "that key") "
                    + "sealed data here)")
        }
        if foreignIndex, let recorded = manifest.indexKey {
            problems.append("its INDEX_KEY (id \(index)) is not this workdir's (id \(recorded))")
        }
        throw IngestError(
            .foreignKeys,
            "\(secrets.sourceDescription) does not belong to the workdir \(manifest.workdirName): "
                + "\(problems.joined(separator: ", and ")). Nothing was written. Use the secrets file this workdir was "
                + "made with (--keys FILE or PHOTOSEAL_KEYS), or another --workdir")
    }

    /// The command that moves a workdir from INDEX_KEY_PREVIOUS to a new INDEX_KEY.
    static let indexRotationCommand = "rotate-keys"

    /// The INDEX_KEY when it replaces the one this workdir's blind indexes were computed under
    /// (a rotation begun with `keys add --index-key`), else `nil`.
    public func replacedIndexKey() throws -> BlindIndex? {
        guard let recorded = manifest.withLock({ $0?.indexKey }) else { return nil }
        let current = try blindIndex()
        return try current.fingerprint() == recorded ? nil : current
    }

    /// Records INDEX_KEY as the key of every blind index here, once `rotate-keys` has recomputed
    /// them all (the workdir then no longer needs INDEX_KEY_PREVIOUS).
    public func recordIndexKeyRotated() throws {
        var record = manifest.withLock { $0 } ?? WorkspaceManifest()
        record.workdirName = workdir
        record.indexKey = try blindIndex().fingerprint()
        try record.write(workdir: workdir)
        manifest.withLock { $0 = record }
    }

    /// Records the index key and, for commands that seal, the primary seal key, before anything
    /// is written; a workdir made by an older version gets its record here.
    private func recordKeys() async throws {
        var record = manifest.withLock { $0 } ?? WorkspaceManifest()
        record.workdirName = workdir
        let before = manifest.withLock { $0 }
        if before == nil, Ledger.exists(in: workdir) {
            // Made before workdirs kept a record: the ledger says which keys sealed its rows.
            let ledger = try Ledger(directory: workdir, logger: logger)
            for kid in try await ledger.sealKids() where !record.sealKids.contains(kid) { record.sealKids.append(kid) }
            if let keys = loadedKeys {
                try Self.check(keys.keyring, keys.blind, against: record, secrets: secrets, command: options.command)
            }
            try await adoptLoadState(ledger, into: &record)
        }
        if let keys = loadedKeys {
            if record.indexKey == nil { record.indexKey = try keys.blind.fingerprint() }
            if options.access == .seal, !record.sealKids.contains(keys.keyring.primary.kid) {
                record.sealKids.append(keys.keyring.primary.kid)
            }
        }
        guard record != before else { return }
        try record.write(workdir: workdir)
        manifest.withLock { $0 = record }
    }

    /// A ledger from before per-store load state: its loads belong to the store that version
    /// would have used (`--store`, else `MONGODB_URI`, else the embedded store in the workdir).
    private func adoptLoadState(_ ledger: Ledger, into record: inout WorkspaceManifest) async throws {
        guard try await ledger.hasUnassignedLoadState() else { return }
        let uri = StoreLocation.uri(explicit: options.store, secrets: secrets, workdir: workdir)
        let store = StoreRecord(uri: uri)
        try await ledger.assignLoadState(to: store.key)
        if !record.stores.contains(where: { $0.key == store.key }) { record.stores.append(store) }
        note("recorded \(store.display) as this workdir's store (its loads were kept by an older version)")
    }

    /// The seal keys, newest first.
    /// - Throws: `IngestError.configuration` when the command was opened without keys.
    public func keyring() throws -> Keyring {
        guard let loadedKeys else { return try secrets.keyring() }
        return loadedKeys.keyring
    }

    /// The blind index under INDEX_KEY.
    public func blindIndex() throws -> BlindIndex {
        guard let loadedKeys else { return try secrets.blindIndex() }
        return loadedKeys.blind
    }

    /// A sealer under the keyring.
    public func sealer() throws -> FieldSealer { FieldSealer(keyring: try keyring()) }

    /// The kids of the seal keys that sealed something in this workdir and are not retired.
    public var sealKids: [String] { manifest.withLock { $0?.sealKids ?? [] } }

    /// Records that `kid` no longer seals anything here (after `keys retire`).
    public func retire(kid: String) throws {
        guard options.access != .read, var record = manifest.withLock({ $0 }) else { return }
        record.sealKids.removeAll { $0 == kid }
        try record.write(workdir: workdir)
        manifest.withLock { $0 = record }
    }

    // MARK: Ledger

    /// Whether the workdir has a ledger yet.
    public var hasLedger: Bool { Ledger.exists(in: workdir) }

    /// The workdir's ledger; an error saying what to run first when there is none.
    /// - Parameter create: Make it when missing (only for commands that change the workdir).
    public func ledger(create: Bool = false) throws -> Ledger {
        if create, options.access != .read { return try Ledger(directory: workdir, logger: logger) }
        guard hasLedger else {
            throw IngestError(
                .ledger,
                "no ledger in \(workdir); run `photoseal run`, `photoseal search` or `photoseal import` first, or check --workdir"
            )
        }
        return try Ledger(directory: workdir, logger: logger)
    }

    /// The ledger, or `nil` when the workdir has none.
    public func ledgerIfPresent() throws -> Ledger? { hasLedger ? try ledger() : nil }

    // MARK: Job

    /// The job file's path.
    public var jobPath: String { (workdir as NSString).appendingPathComponent("job.json") }

    /// The recorded job, or `nil` before the first `run`.
    public func job() throws -> Job? { try Self.job(in: workdir) }

    /// The job recorded in `workdir`, or `nil` (read without opening the workdir, for usage
    /// checks that come before anything else).
    public static func job(in workdir: String) throws -> Job? {
        try readJSON(Job.self, at: (workdir as NSString).appendingPathComponent("job.json"), what: "job file")
    }

    /// Records the job (`photoseal run` does, once its checks have passed).
    public func record(job: Job) throws {
        guard options.access != .read else { return }
        try writeJSON(job, to: jobPath, what: "job file")
    }

    /// How images are kept: `given`, else the job's mode, else stripped.
    public func imageMode(given: ImageStore.Mode?) throws -> ImageStore.Mode {
        if let given { return given }
        return try job()?.storeImages.flatMap(ImageStore.Mode.init(rawValue:)) ?? .stripped
    }

    // MARK: Stores

    /// The stores the workdir has loaded into (no password in them).
    public var recordedStores: [StoreRecord] { manifest.withLock { $0?.stores ?? [] } }

    /// The full URI of a recorded store: from the record, else from `--store` or `MONGODB_URI`
    /// when the record needs its password or options again.
    func uri(of record: StoreRecord) throws -> String {
        if let uri = record.reconnectURI { return uri }
        let candidates = [options.store, secrets.mongoURI].compactMap { $0 }
        if let match = candidates.first(where: { StoreRecord.key(of: $0) == record.key }) { return match }
        throw IngestError(
            .configuration,
            "the workdir's store \(record.display) needs its full URI (password or options): pass --store with it "
                + "or set MONGODB_URI in the secrets file")
    }

    /// Opens a store and checks it answers (and accepts the credentials) before any work.
    func open(uri: String, batchSize: Int) async throws -> any DocumentStore {
        let store = try DocumentStores.open(uri: uri, batchSize: batchSize, logger: logger)
        try await store.ping()
        return store
    }

    /// The store this command loads into: `--store`, else the workdir's store when it has
    /// exactly one (the note says so), else `MONGODB_URI`, else the embedded store in the
    /// workdir. A store new to the workdir is recorded before anything is written to it; every
    /// ready document is then loaded there.
    ///
    /// - Parameters:
    ///   - batchSize: Documents per store read or write.
    ///   - preferring: The key of the recorded store to use when `--store` is not given (the
    ///     job's store), if any.
    /// - Throws: `IngestError.configuration` when the workdir has several stores and no
    ///   `--store` chooses one; `StoreError` when the store cannot be reached or refuses the
    ///   credentials.
    public func loadStore(batchSize: Int, preferring: String? = nil) async throws -> any DocumentStore {
        let uri = try loadStoreURI(preferring: preferring)
        let store = try await open(uri: uri, batchSize: batchSize)
        try recordStore(uri: uri)
        return store
    }

    /// Checks the store a loading command would use without creating anything (`run --dry-run`):
    /// a server store is reached and its credentials tried; an embedded store that does not
    /// exist yet is only named.
    /// - Returns: The store as messages show it (no password), and whether it exists yet.
    public func checkLoadStore(preferring: String? = nil) async throws -> (display: String, exists: Bool) {
        let uri = try loadStoreURI(preferring: preferring)
        let record = StoreRecord(uri: uri)
        if record.isEmbedded, !FileManager.default.fileExists(atPath: String(record.key.dropFirst("embedded:".count))) {
            return (record.display, false)
        }
        _ = try await open(uri: uri, batchSize: 1)
        return (record.display, true)
    }

    /// The URI of the store a loading command uses (see ``loadStore(batchSize:preferring:)``),
    /// password included: for handing to a command run in this process, never for a message.
    public func loadStoreURI(preferring: String?) throws -> String {
        let recorded = recordedStores
        let uri: String
        if let explicit = options.store, !explicit.trimmingCharacters(in: .whitespaces).isEmpty {
            uri = explicit
        } else if let chosen = recorded.first(where: { $0.key == preferring })
            ?? (recorded.count == 1 ? recorded[0] : nil)
        {
            uri = try self.uri(of: chosen)
            if storeNamed.withLock({ named in
                defer { named = true }; return !named
            }) {
                note("using the workdir's store \(chosen.display)")
            }
        } else if recorded.isEmpty {
            uri = StoreLocation.uri(explicit: nil, secrets: secrets, workdir: workdir)
        } else {
            throw IngestError(
                .configuration,
                "this workdir has loaded into \(recorded.count) stores (\(recorded.map(\.display).joined(separator: ", "))); "
                    + "pass --store to choose one")
        }
        return uri
    }

    /// Records a store the workdir is about to load into.
    private func recordStore(uri: String) throws {
        guard options.access != .read else { return }
        let store = StoreRecord(uri: uri)
        var record = manifest.withLock { $0 } ?? WorkspaceManifest()
        guard !record.stores.contains(where: { $0.key == store.key }) else { return }
        if !record.stores.isEmpty {
            note("\(store.display) is new to this workdir: every ready document will be loaded there too")
        }
        record.stores.append(store)
        try record.write(workdir: workdir)
        manifest.withLock { $0 = record }
    }

    /// The stores `rotate-keys`, `keys retire` and `audit` cover: the one `--store` names, else
    /// every store the workdir has loaded into (none: the note says so). Each is opened and
    /// checked; an embedded store's file must exist (none is created here).
    ///
    /// - Throws: `StoreError` or `IngestError` naming the first store that cannot be reached.
    public func coveredStores(batchSize: Int) async throws -> [any DocumentStore] {
        if let explicit = options.store, !explicit.trimmingCharacters(in: .whitespaces).isEmpty {
            try Self.checkEmbeddedExists(StoreRecord(uri: explicit), hint: "check --store")
            return [try await open(uri: explicit, batchSize: batchSize)]
        }
        let recorded = recordedStores
        if recorded.isEmpty { note("this workdir has not loaded into any store yet") }
        var stores: [any DocumentStore] = []
        for record in recorded {
            try Self.checkEmbeddedExists(record, hint: "restore the file, or pass --store")
            stores.append(try await open(uri: try uri(of: record), batchSize: batchSize))
        }
        return stores
    }

    /// An embedded store that is checked or rotated must exist: opening it would make an empty
    /// one, and an audit of nothing would pass.
    static func checkEmbeddedExists(_ record: StoreRecord, hint: String) throws {
        guard record.isEmbedded else { return }
        let path = String(record.key.dropFirst("embedded:".count))
        guard !FileManager.default.fileExists(atPath: path) else { return }
        throw IngestError(.configuration, "the store \(record.display) does not exist; \(hint)")
    }
}

// MARK: Clients

extension Workspace {
    /// A Flickr client for this workdir's key (`apiKey`, else FLICKR_API_KEY), with its call
    /// counter; with `check`, the key is checked with one cheap call first.
    ///
    /// - Throws: `IngestError.configuration` when there is no key, `.invalidAPIKey` when Flickr
    ///   refuses it, `.transport` (naming the endpoint) when it cannot be reached.
    public func flickrClient(
        http: HTTPClient, endpoint: String, apiKey: String?, ratePerHour: Double, retry: RetryPolicy = RetryPolicy(),
        check: Bool = true
    ) async throws -> (client: FlickrClient, counter: APICallCounter) {
        guard let key = apiKey ?? secrets.flickrAPIKey, !key.isEmpty else {
            throw IngestError(
                .configuration, "no Flickr API key: set FLICKR_API_KEY in the secrets file or the environment")
        }
        // A key given on the command line is as secret as the file's: no message may echo it.
        SecretScrubber.register([key])
        let counter = APICallCounter()
        let client = try FlickrClient(
            http: http, endpoint: endpoint, apiKey: key, budget: RateBudget.shared(apiKey: key, perHour: ratePerHour),
            retry: retry, logger: logger, onAttempt: counter.record)
        if check { try await client.checkKey() }
        return (client, counter)
    }

    /// A Vision client for this workdir's key (`apiKey`, else GOOGLE_VISION_API_KEY), with its
    /// call counter, or `nil` when no key is configured; with `check`, the key is checked with a
    /// request that cannot be billed.
    ///
    /// - Throws: `.invalidAPIKey` when Google refuses the key, `.transport` (naming the
    ///   endpoint) when it cannot be reached.
    public func visionClient(
        http: HTTPClient, endpoint: String, apiKey: String?, retry: RetryPolicy = RetryPolicy(), check: Bool = true
    ) async throws -> (client: VisionClient, counter: APICallCounter)? {
        guard let key = apiKey ?? secrets.visionAPIKey, !key.isEmpty else { return nil }
        SecretScrubber.register([key])
        let counter = APICallCounter()
        let client = try VisionClient(
            http: http, endpoint: endpoint, apiKey: key, retry: retry, logger: logger, onAttempt: counter.record)
        if check { try await client.checkKey() }
        return (client, counter)
    }
}
