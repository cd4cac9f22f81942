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

    /// Seals `plaintext` under the primary key and appends the token's ASCII bytes to `output`.
    public func encrypt(
        _ plaintext: some ContiguousBytes, timestamp: Int64? = nil, appendingTo output: inout [UInt8]
    ) throws {
        try Fernet.encrypt(plaintext, key: primary, timestamp: timestamp, appendingTo: &output)
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
    /// time rules are checked on the token only once a key has verified it, and only when a
    /// TTL is given (see `Fernet.decrypt(_:key:ttl:now:)`).
    public func decrypt(_ token: some StringProtocol, ttl: Int64? = nil, now: Int64? = nil) throws -> Opened {
        let opened = try keys.withUnsafeBufferPointer { try Fernet.open(token, keys: $0, ttl: ttl, now: now) }
        return Opened(plaintext: opened.plaintext, timestamp: opened.timestamp, kid: keys[opened.keyIndex].kid)
    }

    /// Opens a token held in a `String` (the common case, without generic dispatch); see
    /// `decrypt(_:ttl:now:)` for the rules.
    public func decrypt(_ token: String, ttl: Int64? = nil, now: Int64? = nil) throws -> Opened {
        var token = token
        let opened = try token.withUTF8 { text in
            try keys.withUnsafeBufferPointer {
                try Fernet.open(UnsafeRawBufferPointer(text), keys: $0, ttl: ttl, now: now, decrypting: true)
            }
        }
        return Opened(plaintext: opened.plaintext, timestamp: opened.timestamp, kid: keys[opened.keyIndex].kid)
    }

    /// Re-seals a token under the primary key, keeping its original timestamp.
    /// - Returns: the new token and the id of the key that had sealed the old one.
    public func rotate(_ token: some StringProtocol) throws -> (token: String, previousKid: String) {
        let opened = try decrypt(token)
        return (try Fernet.encrypt(opened.plaintext, key: primary, timestamp: opened.timestamp), opened.kid)
    }
}
