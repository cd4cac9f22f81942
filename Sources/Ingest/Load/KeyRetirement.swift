public import Crypto
public import Store

/// `keys retire KID`: the checks before a seal key may leave the secrets file.
public enum KeyRetirement {
    /// How many documents still use a key.
    public struct Usage: Sendable, Equatable {
        /// Store documents whose `seal.kid` is the key.
        public var store: Int
        /// Ledger rows whose document's `seal.kid` is the key.
        public var ledger: Int
        /// Both together.
        public var total: Int { store + ledger }

        /// Makes a count.
        public init(store: Int, ledger: Int) {
            self.store = store
            self.ledger = ledger
        }
    }

    /// Counts the documents whose `seal.kid` is `kid`.
    ///
    /// - Parameters:
    ///   - kid: The key id.
    ///   - store: The document store.
    ///   - ledger: The ledger, if the workdir has one.
    public static func usage(of kid: String, store: any DocumentStore, ledger: Ledger?) async throws -> Usage {
        Usage(
            store: try await store.count(where: "seal.kid", equals: .string(kid)),
            ledger: try await ledger?.count(sealKid: kid) ?? 0)
    }

    /// The keyring without `kid`, after checking it may go.
    ///
    /// - Throws: `IngestError.configuration` when no key has that id, when it is the primary
    ///   key (add a new key and rotate first) or the only one, or when documents still use it
    ///   (naming how many, and `rotate-keys`).
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
                "\(usage.total) documents still use key \(kid) (\(usage.store) in the store, \(usage.ledger) in the "
                    + "ledger); run `photoseal rotate-keys` first")
        }
        return try Keyring(keyring.keys.filter { $0.kid != kid })
    }
}
