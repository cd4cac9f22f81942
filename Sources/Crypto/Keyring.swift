public import Foundation

/// An ordered set of Fernet keys, newest first (what Python calls a `MultiFernet`).
///
/// Seals with the newest key, opens with any, and re-seals a token under the newest key keeping
/// its original timestamp. Every result names the key id (`kid`) that was used.
public struct Keyring: Sendable {
    /// The keys, newest (primary) first.
    public let keys: [FernetKey]

    /// Makes a keyring.
    /// - Throws: `CryptoError.missingKey` when `keys` is empty.
    public init(_ keys: [FernetKey]) throws {
        guard !keys.isEmpty else {
            throw CryptoError(
                .missingKey,
                "no seal keys are configured: set SEAL_KEYS in the secrets file (`photoseal keys generate`)")
        }
        self.keys = keys
    }

    /// Parses a comma-separated list of urlsafe base64 keys, as in `SEAL_KEYS`.
    public init(commaSeparated text: String, name: String = "SEAL_KEYS") throws {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        try self.init(
            parts.enumerated().map { try FernetKey(base64: $0.element, name: "\(name) entry \($0.offset + 1)") })
    }

    /// The newest key, which seals.
    public var primary: FernetKey { keys[0] }

    /// The key with this id, if the keyring holds it.
    public func key(kid: String) -> FernetKey? { keys.first { $0.kid == kid } }

    /// The keys as the comma-separated list written to `SEAL_KEYS`.
    public var commaSeparated: String { keys.map(\.base64).joined(separator: ",") }

    /// Seals `plaintext` under the primary key.
    public func encrypt(_ plaintext: some ContiguousBytes, timestamp: Int64? = nil) throws -> String {
        try Fernet.encrypt(plaintext, key: primary, timestamp: timestamp)
    }

    /// What opening a token produced.
    public struct Opened: Sendable {
        /// The plaintext.
        public var plaintext: [UInt8]
        /// The token's timestamp, unix seconds.
        public var timestamp: Int64
        /// The id of the key that opened it.
        public var kid: String
    }

    /// Opens a token with whichever key verifies it.
    ///
    /// Shape errors are reported as such; a token no key verifies gives `authenticationFailed`;
    /// time rules are checked on the token only once a key has verified it.
    public func decrypt(_ token: some StringProtocol, ttl: Int64? = nil, now: Int64? = nil) throws -> Opened {
        let parsed = try Fernet.parse(token)
        for key in keys {
            do {
                try Fernet.verify(parsed, key: key)
            } catch let error as CryptoError where error.code == .authenticationFailed {
                continue
            }
            try Fernet.checkTime(parsed.timestamp, ttl: ttl, now: now ?? Int64(Date().timeIntervalSince1970))
            return Opened(
                plaintext: try Fernet.decryptVerified(parsed, key: key), timestamp: parsed.timestamp, kid: key.kid)
        }
        throw CryptoError(
            .authenticationFailed,
            "the token does not verify under any of the \(keys.count) seal key(s): wrong keys, or the token was altered"
        )
    }

    /// Re-seals a token under the primary key, keeping its original timestamp.
    /// - Returns: the new token and the id of the key that had sealed the old one.
    public func rotate(_ token: some StringProtocol) throws -> (token: String, previousKid: String) {
        let opened = try decrypt(token)
        return (try Fernet.encrypt(opened.plaintext, key: primary, timestamp: opened.timestamp), opened.kid)
    }
}
