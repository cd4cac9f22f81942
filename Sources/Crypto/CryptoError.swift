/// The one error type of the `Crypto` module.
///
/// `description` is written for the person running photoseal: it says what failed, on which
/// input, and what to do. It never contains a key, a token's plaintext or any other secret.
public struct CryptoError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; extensible, compare with the static constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable short name of the code (for logs and `--json` output).
        public let name: String
        private init(_ name: String) { self.name = name }

        /// The token is not valid urlsafe base64, is too short, has the wrong version byte, or
        /// its ciphertext is not a whole number of AES blocks.
        public static let malformedToken = Code("malformed-token")
        /// The token's HMAC does not verify under any key tried: a wrong key or an altered token.
        public static let authenticationFailed = Code("authentication-failed")
        /// The HMAC verified but the padding inside is wrong (the token was made incorrectly).
        public static let badPadding = Code("bad-padding")
        /// The token is older than the TTL the caller allowed.
        public static let expired = Code("expired")
        /// The token's timestamp lies more than 60 seconds in the future.
        public static let futureTimestamp = Code("future-timestamp")
        /// A key is not urlsafe base64 of exactly 32 bytes.
        public static let malformedKey = Code("malformed-key")
        /// No seal keys (or no index key) are configured.
        public static let missingKey = Code("missing-key")
        /// A sealed field opened but belongs to another document or field.
        public static let envelopeMismatch = Code("envelope-mismatch")
        /// A sealed field opened but its plaintext is not a photoseal envelope.
        public static let malformedEnvelope = Code("malformed-envelope")
        /// The secrets file cannot be read, parsed or is not private.
        public static let secretsFile = Code("secrets-file")
        /// OpenSSL itself failed (out of memory, no randomness).
        public static let openssl = Code("openssl")

        /// The code's name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The full message for the user, free of secrets.
    public let message: String
    /// OpenSSL's packed error code, where the failure came from OpenSSL.
    public let opensslError: UInt?

    /// Makes an error with a code and a user-facing message (which must not contain secrets).
    public init(_ code: Code, _ message: String, opensslError: UInt? = nil) {
        self.code = code
        self.message = message
        self.opensslError = opensslError
    }

    /// Whether trying again could succeed; no crypto failure is transient except OpenSSL's own.
    public var isRetriable: Bool { code == .openssl }

    /// The message for the user.
    public var description: String { message }
}
