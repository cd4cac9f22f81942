public import Crypto
public import Store

/// `keys retire KID`: the checks before a seal key may leave the secrets file.
public enum KeyRetirement {
    /// How many documents and sealed image files still use a key.
    public struct Usage: Sendable, Equatable {
        /// Store documents whose `seal.kid` is the key.
        public var store: Int
        /// Ledger rows whose document's `seal.kid` is the key.
        public var ledger: Int
        /// Sealed image files whose token verifies under the key.
        public var images: Int
        /// Documents, store and ledger together.
        public var documents: Int { store + ledger }
        /// Documents and image files together.
        public var total: Int { store + ledger + images }

        /// Makes a count.
        public init(store: Int, ledger: Int, images: Int = 0) {
            self.store = store
            self.ledger = ledger
            self.images = images
        }
    }

    /// Counts the documents whose `seal.kid` is `kid` and the sealed image files under it.
    ///
    /// - Parameters:
    ///   - kid: The key id.
    ///   - store: The document store.
    ///   - ledger: The ledger, if the workdir has one.
    ///   - images: The workdir's image store (`nil`: no image files are counted).
    ///   - keyring: A keyring holding the key `kid` (image files are told apart by verifying
    ///     their tokens under it; none counts when it does not hold the key).
    /// - Throws: `StoreError`, or `IngestError` for the ledger and for an image file that
    ///   cannot be read.
    public static func usage(
        of kid: String, store: any DocumentStore, ledger: Ledger?, images: ImageStore?, keyring: Keyring
    ) async throws -> Usage {
        try await usage(of: kid, stores: [store], ledger: ledger, images: images, keyring: keyring)
    }

    /// Counts the documents, in every store and the ledger, and the sealed image files whose key
    /// is `kid`.
    ///
    /// - Parameters:
    ///   - kid: The key id.
    ///   - stores: Every store the workdir has loaded into.
    ///   - ledger: The ledger, if the workdir has one.
    ///   - images: The workdir's image store (`nil`: no image is counted).
    ///   - keyring: The keys that open the sealed image files.
    public static func usage(
        of kid: String, stores: [any DocumentStore], ledger: Ledger?, images: ImageStore?, keyring: Keyring
    ) async throws -> Usage {
        var usage = Usage(store: 0, ledger: try await ledger?.count(sealKid: kid) ?? 0)
        for store in stores { usage.store += try await store.count(where: "seal.kid", equals: .string(kid)) }
        if let images { usage.images = try await SealedImages(store: images, keyring: keyring).count(sealedBy: kid) }
        return usage
    }

    /// The keyring without `kid`, after checking it may go.
    ///
    /// - Throws: `IngestError.configuration` when no key has that id, when it is the primary
    ///   key (add a new key and rotate first) or the only one, or when documents or sealed
    ///   image files still use it (naming how many of each, and `rotate-keys`).
    public static func keyring(_ keyring: Keyring, retiring kid: String, usage: Usage) throws -> Keyring {
        guard keyring.key(kid: kid) != nil else {
            throw IngestError(
                .configuration, "no seal key has the id \(kid); `photoseal keys list` shows the key ids")
        }
        guard keyring.keys.count > 1 else {
            throw IngestError(.configuration, "\(kid) is the only seal key; it cannot be retired")
        }
        guard keyring.primary.kid != kid else {
            throw IngestError(
                .configuration,
                "\(kid) is the primary key; run `photoseal keys add` and `photoseal rotate-keys` before retiring it")
        }
        guard usage.total == 0 else {
            throw IngestError(
                .configuration,
                "\(usage.documents) documents (\(usage.store) in the store, \(usage.ledger) in the ledger) and "
                    + "\(usage.images) sealed images still use key \(kid); run `photoseal rotate-keys` first")
        }
        return try Keyring(keyring.keys.filter { $0.kid != kid })
    }
}
