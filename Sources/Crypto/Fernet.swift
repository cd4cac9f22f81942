public import Foundation

/// One Fernet key: 32 bytes, the first 16 sign (HMAC-SHA256), the last 16 encrypt (AES-128-CBC).
///
/// The bytes are wiped from memory when the last copy of the key is released. A key's
/// `description` is its `kid`, never its bytes, so printing a key by mistake leaks nothing.
public struct FernetKey: Sendable, CustomStringConvertible {
    let secret: SecretBytes
    let signer: HMACSHA256
    let cipher: AES128CBC
    /// A short stable fingerprint of the key that reveals nothing about it: the first 8 hex
    /// digits of HMAC-SHA256(key, "photoseal-kid").
    public let kid: String

    /// Makes a key from its 32 raw bytes.
    /// - Throws: `CryptoError.malformedKey` when there are not exactly 32 bytes.
    public init(bytes: some Collection<UInt8>) throws {
        guard bytes.count == 32 else {
            throw CryptoError(.malformedKey, "a Fernet key must be 32 bytes, this one has \(bytes.count)")
        }
        secret = SecretBytes(bytes)
        signer = try secret.withBytes { try HMACSHA256(key: UnsafeRawBufferPointer(rebasing: $0[0..<16])) }
        cipher = try secret.withBytes { try AES128CBC(key: UnsafeRawBufferPointer(rebasing: $0[16..<32])) }
        let mac = try secret.withBytes { try HMACSHA256(key: $0).authenticate(Array("photoseal-kid".utf8)) }
        kid = BlindIndex.hexString(Array(mac.prefix(4)))
    }

    /// Parses a key in its usual form, urlsafe base64 of 32 bytes (44 characters).
    /// - Parameter name: what to call the key in an error message, e.g. "SEAL_KEYS entry 2".
    /// - Throws: `CryptoError.malformedKey` naming `name`, never echoing the text.
    public init(base64 text: String, name: String = "the key") throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count == 44, let bytes = Base64.decode(trimmed, alphabet: .urlSafe), bytes.count == 32 else {
            throw CryptoError(
                .malformedKey,
                "\(name) is not a Fernet key (urlsafe base64 of 32 bytes, 44 characters); "
                    + "make a new one with `photoseal keys generate`")
        }
        try self.init(bytes: bytes)
    }

    /// A new random key from OpenSSL's CSPRNG.
    public static func generate() throws -> FernetKey {
        var bytes = try OpenSSL.randomBytes(32)
        defer { bytes.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        return try FernetKey(bytes: bytes)
    }

    /// The key in urlsafe base64, for writing a secrets file. Handle with care.
    public var base64: String { secret.withBytes { Base64.encode($0, alphabet: .urlSafe) } }

    /// The key's id, never its bytes.
    public var description: String { "FernetKey(kid: \(kid))" }
}

/// Fernet tokens (the spec at github.com/fernet/spec), built on OpenSSL libcrypto.
///
/// Tokens made here open in Python `cryptography`'s `Fernet` and the reverse. Each key keeps its
/// AES key schedule and HMAC states ready, and a token is built in one buffer (on the stack when
/// it is small), so sealing or opening a short field costs about a microsecond.
public enum Fernet {
    /// How far in the future a token's timestamp may lie before a token opened with a TTL is
    /// refused. Without a TTL the timestamp is not checked, as in Python `cryptography`, Go and
    /// Ruby Fernet (`audit` reports future-dated tokens in a store separately).
    public static let maxClockSkew: Int64 = 60
    static let version: UInt8 = 0x80
    static let overhead = 1 + 8 + 16 + 32

    /// Encrypts `plaintext` into a Fernet token.
    /// - Parameters:
    ///   - timestamp: the token's time in unix seconds; defaults to now.
    ///   - iv: the 16-byte IV; defaults to fresh random bytes (only tests pass one).
    public static func encrypt(
        _ plaintext: some ContiguousBytes, key: FernetKey, timestamp: Int64? = nil, iv: [UInt8]? = nil
    ) throws -> String {
        try plaintext.withUnsafeBytes { input in
            try withSealedBody(input, key: key, timestamp: timestamp, iv: iv) { body in
                Base64.encode(body, alphabet: .urlSafe)
            }
        }
    }

    /// Encrypts `plaintext` into a Fernet token and appends the token's ASCII bytes to `output`:
    /// the form for writing many tokens to one buffer without a `String` each.
    /// - Parameter timestamp: the token's time in unix seconds; defaults to now.
    public static func encrypt(
        _ plaintext: some ContiguousBytes, key: FernetKey, timestamp: Int64? = nil, appendingTo output: inout [UInt8]
    ) throws {
        try plaintext.withUnsafeBytes { input in
            try withSealedBody(input, key: key, timestamp: timestamp, iv: nil) { body in
                let old = output.count
                output.append(contentsOf: repeatElement(0, count: Base64.encodedCount(body.count)))
                output.withUnsafeMutableBytes {
                    _ = Base64.encode(body, alphabet: .urlSafe, into: $0.baseAddress! + old)
                }
            }
        }
    }

    /// Builds the binary token (version, timestamp, IV, ciphertext, HMAC) in a scratch buffer
    /// and hands it to `body`.
    static func withSealedBody<R>(
        _ input: UnsafeRawBufferPointer, key: FernetKey, timestamp: Int64?, iv: [UInt8]?,
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        precondition(iv == nil || iv?.count == 16, "a Fernet IV is 16 bytes")
        let ts = timestamp ?? OpenSSL.now()
        let padded = input.count / 16 * 16 + 16
        return try withUnsafeTemporaryAllocation(byteCount: 25 + padded + 32, alignment: 16) { out in
            out.storeBytes(of: version, toByteOffset: 0, as: UInt8.self)
            out.storeBytes(of: UInt64(bitPattern: ts).bigEndian, toByteOffset: 1, as: UInt64.self)
            if let base = input.baseAddress { (out.baseAddress! + 25).copyMemory(from: base, byteCount: input.count) }
            try key.cipher.seal(
                UnsafeMutableRawBufferPointer(rebasing: out[9..<(25 + padded)]), plaintextCount: input.count,
                givenIV: iv)
            key.signer.authenticate(
                UnsafeRawBufferPointer(rebasing: out[0..<(25 + padded)]),
                into: UnsafeMutableRawBufferPointer(rebasing: out[(25 + padded)...]))
            return try body(UnsafeRawBufferPointer(out))
        }
    }

    /// What opening a token produced: the plaintext, the timestamp, and which key opened it.
    struct Opened {
        var plaintext: [UInt8]
        var timestamp: Int64
        var keyIndex: Int
    }

    /// Opens a token with whichever of `keys` verifies it: checks shape, HMAC (constant time)
    /// under each key in turn, then time, then decrypts (or, with `decrypting` false, stops
    /// after the time check and returns an empty plaintext).
    ///
    /// Shape errors are reported as such; a token no key verifies gives `authenticationFailed`.
    static func open(
        _ token: some StringProtocol, keys: UnsafeBufferPointer<FernetKey>, ttl: Int64?, now: Int64?,
        decrypting: Bool = true
    ) throws -> Opened {
        if let done = try token.utf8.withContiguousStorageIfAvailable({
            try open(UnsafeRawBufferPointer($0), keys: keys, ttl: ttl, now: now, decrypting: decrypting)
        }) {
            return done
        }
        return try Array(token.utf8).withUnsafeBytes {
            try open($0, keys: keys, ttl: ttl, now: now, decrypting: decrypting)
        }
    }

    static func open(
        _ text: UnsafeRawBufferPointer, keys: UnsafeBufferPointer<FernetKey>, ttl: Int64?, now: Int64?,
        decrypting: Bool
    ) throws -> Opened {
        try withUnsafeTemporaryAllocation(byteCount: Base64.maxDecodedCount(text.count), alignment: 16) { scratch in
            guard let count = Base64.decode(text, alphabet: .urlSafe, into: scratch) else {
                throw CryptoError(.malformedToken, "the token is not valid urlsafe base64")
            }
            guard count >= overhead + 16, scratch[0] == version, (count - overhead) % 16 == 0 else {
                throw CryptoError(
                    .malformedToken, "the token is truncated or not a Fernet token (wrong version or length)")
            }
            let signed = UnsafeRawBufferPointer(rebasing: scratch[0..<(count - 32)])
            let tag = UnsafeRawBufferPointer(rebasing: scratch[(count - 32)..<count])
            for index in keys.indices {
                guard keys[index].signer.verify(signed, tag: tag) else { continue }
                let timestamp = Int64(
                    bitPattern: UInt64(bigEndian: scratch.loadUnaligned(fromByteOffset: 1, as: UInt64.self)))
                if ttl != nil { try checkTime(timestamp, ttl: ttl, now: now ?? OpenSSL.now()) }
                guard decrypting else { return Opened(plaintext: [], timestamp: timestamp, keyIndex: index) }
                // Decrypted in place: the plaintext lands where the ciphertext was.
                guard
                    let n = try keys[index].cipher.open(
                        UnsafeMutableRawBufferPointer(rebasing: scratch[9..<(count - 32)]))
                else { throw CryptoError(.badPadding, "the token verifies but its padding is invalid") }
                let plaintext = [UInt8](unsafeUninitializedCapacity: n) { out, initialized in
                    if n > 0 {
                        out.baseAddress!.initialize(
                            from: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + 25, count: n)
                    }
                    initialized = n
                }
                return Opened(plaintext: plaintext, timestamp: timestamp, keyIndex: index)
            }
            throw keys.count == 1
                ? CryptoError(
                    .authenticationFailed,
                    "the token does not verify: it was sealed under another key, or it was altered")
                : CryptoError(
                    .authenticationFailed,
                    "the token does not verify under any of the \(keys.count) seal key(s): wrong keys, or the token was altered"
                )
        }
    }

    /// Checks the timestamp rules on a verified token. Both apply only when a TTL is given:
    /// the token must be no older than `ttl` and no more than `maxClockSkew` in the future.
    static func checkTime(_ timestamp: Int64, ttl: Int64?, now: Int64) throws {
        guard let ttl else { return }
        if timestamp &+ ttl < now {
            throw CryptoError(.expired, "the token is \(now &- timestamp) s old, older than the allowed \(ttl) s")
        }
        if timestamp > now &+ maxClockSkew {
            throw CryptoError(
                .futureTimestamp,
                "the token's timestamp is \(timestamp &- now) s in the future (more than \(maxClockSkew) s); check the clock"
            )
        }
    }

    /// Opens a Fernet token: checks shape, HMAC (constant time), then time, then decrypts.
    /// - Parameters:
    ///   - ttl: the largest age in seconds to accept; `nil` accepts any age and any timestamp.
    ///     With a TTL, a timestamp more than `maxClockSkew` seconds in the future is refused.
    ///   - now: the current unix time; defaults to the clock (tests pass one).
    /// - Returns: the plaintext and the token's timestamp.
    public static func decrypt(
        _ token: some StringProtocol, key: FernetKey, ttl: Int64? = nil, now: Int64? = nil
    ) throws -> (plaintext: [UInt8], timestamp: Int64) {
        let opened = try withUnsafePointer(to: key) {
            try open(token, keys: UnsafeBufferPointer(start: $0, count: 1), ttl: ttl, now: now)
        }
        return (opened.plaintext, opened.timestamp)
    }

    /// Opens a Fernet token held in a `String` (the common case, without generic dispatch);
    /// see `decrypt(_:key:ttl:now:)` for the rules.
    public static func decrypt(
        _ token: String, key: FernetKey, ttl: Int64? = nil, now: Int64? = nil
    ) throws -> (plaintext: [UInt8], timestamp: Int64) {
        // A native string is read in place (no copy, no retain); others go through the generic form.
        let opened = try withUnsafePointer(to: key) { key in
            try token.utf8.withContiguousStorageIfAvailable {
                try open(
                    UnsafeRawBufferPointer($0), keys: UnsafeBufferPointer(start: key, count: 1), ttl: ttl, now: now,
                    decrypting: true)
            } ?? open(token, keys: UnsafeBufferPointer(start: key, count: 1), ttl: ttl, now: now)
        }
        return (opened.plaintext, opened.timestamp)
    }

    /// The timestamp of a token, read only after its HMAC verifies under `key`.
    public static func timestamp(of token: some StringProtocol, key: FernetKey) throws -> Int64 {
        try withUnsafePointer(to: key) {
            try open(token, keys: UnsafeBufferPointer(start: $0, count: 1), ttl: nil, now: nil, decrypting: false)
        }.timestamp
    }
}
