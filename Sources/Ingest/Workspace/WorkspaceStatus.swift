/// `photoseal status --json`: the ledger's status plus what the workdir records (its job, its
/// stores with their load counts, the key ids that sealed its data).
public struct WorkspaceStatus: Encodable, Sendable {
    /// One store the workdir has loaded into.
    public struct Store: Encodable, Sendable {
        /// The store (no password).
        public var key: String
        /// Documents the ledger says it holds.
        public var loaded: Int

        /// Makes an entry.
        public init(key: String, loaded: Int) {
            self.key = key
            self.loaded = loaded
        }

        enum CodingKeys: String, CodingKey {
            case key = "store"
            case loaded
        }
    }

    /// The ledger's counts.
    public var ledger: LedgerStatus
    /// The recorded job.
    public var job: Job?
    /// The stores loaded into.
    public var stores: [Store]
    /// The seal keys' ids in use.
    public var sealKids: [String]

    /// Makes the report.
    public init(ledger: LedgerStatus, job: Job?, stores: [Store], sealKids: [String]) {
        self.ledger = ledger
        self.job = job
        self.stores = stores
        self.sealKids = sealKids
    }

    enum CodingKeys: String, CodingKey {
        case job, stores
        case sealKids = "seal_kids"
    }

    /// The ledger's fields at the top level (as `status --json` printed them before), then the
    /// workdir's.
    public func encode(to encoder: any Encoder) throws {
        try ledger.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(job, forKey: .job)
        try container.encode(stores, forKey: .stores)
        try container.encode(sealKids, forKey: .sealKids)
    }
}
