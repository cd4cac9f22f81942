public import Foundation

/// One Fernet key: 32 bytes, the first 16 sign (HMAC-SHA256), the last 16 encrypt (AES-128-CBC).
///
/// The bytes are wiped from memory when the last copy of the key is released. A key's
/// `description` is its `kid`, never its bytes, so printing a key by mistake leaks nothing.
public struct FernetKey: Sendable, CustomStringConvertible {
    let secret: SecretBytes
    let signer: HMACSHA256
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
/// Tokens made here open in Python `cryptography`'s `Fernet` and the reverse.
public enum Fernet {
    /// How far in the future a token's timestamp may lie before the token is refused.
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
        let ts = timestamp ?? Int64(Date().timeIntervalSince1970)
        let ivBytes = try iv ?? OpenSSL.randomBytes(16)
        precondition(ivBytes.count == 16, "a Fernet IV is 16 bytes")
        return try plaintext.withUnsafeBytes { input in
            let cipherCapacity = input.count + 16
            var body = [UInt8](repeating: 0, count: 25 + cipherCapacity + 32)
            let length = try body.withUnsafeMutableBytes { out -> Int in
                out[0] = version
                var bigEndian = UInt64(bitPattern: ts).bigEndian
                withUnsafeBytes(of: &bigEndian) {
                    out.baseAddress!.advanced(by: 1).copyMemory(from: $0.baseAddress!, byteCount: 8)
                }
                ivBytes.withUnsafeBytes {
                    out.baseAddress!.advanced(by: 9).copyMemory(from: $0.baseAddress!, byteCount: 16)
                }
                let written = try key.secret.withBytes { secret -> Int in
                    let encKey = UnsafeRawBufferPointer(rebasing: secret[16..<32])
                    let cipherOut = UnsafeMutableRawBufferPointer(rebasing: out[25..<(25 + cipherCapacity)])
                    guard
                        let n = try OpenSSL.aes128CBC(
                            encrypt: true, key: encKey, iv: UnsafeRawBufferPointer(rebasing: out[9..<25]),
                            input: input, into: cipherOut)
                    else { throw OpenSSL.failure("encrypt") }
                    let signed = UnsafeRawBufferPointer(rebasing: out[0..<(25 + n)])
                    let macOut = UnsafeMutableRawBufferPointer(rebasing: out[(25 + n)..<(25 + n + 32)])
                    try key.signer.authenticate([signed], into: macOut)
                    return n
                }
                return 25 + written + 32
            }
            return body.withUnsafeBytes {
                Base64.encode(UnsafeRawBufferPointer(rebasing: $0[0..<length]), alphabet: .urlSafe)
            }
        }
    }

    /// A decoded token whose HMAC has not been checked yet.
    struct Parsed {
        var bytes: [UInt8]
        var timestamp: Int64 {
            bytes[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }.asSigned
        }
    }

    /// Decodes a token's base64 and checks its shape (version, length, whole blocks).
    static func parse(_ token: some StringProtocol) throws -> Parsed {
        guard let bytes = Base64.decode(token, alphabet: .urlSafe) else {
            throw CryptoError(.malformedToken, "the token is not valid urlsafe base64")
        }
        guard bytes.count >= overhead + 16, bytes[0] == version, (bytes.count - overhead) % 16 == 0 else {
            throw CryptoError(.malformedToken, "the token is truncated or not a Fernet token (wrong version or length)")
        }
        return Parsed(bytes: bytes)
    }

    /// Verifies the HMAC in constant time; throws `authenticationFailed` when it does not match.
    static func verify(_ parsed: Parsed, key: FernetKey) throws {
        var mac = [UInt8](repeating: 0, count: 32)
        let ok = try parsed.bytes.withUnsafeBytes { all -> Bool in
            let signed = UnsafeRawBufferPointer(rebasing: all[0..<(all.count - 32)])
            try mac.withUnsafeMutableBytes { try key.signer.authenticate([signed], into: $0) }
            return mac.withUnsafeBytes {
                OpenSSL.constantTimeEqual($0, UnsafeRawBufferPointer(rebasing: all[(all.count - 32)...]))
            }
        }
        guard ok else {
            throw CryptoError(
                .authenticationFailed, "the token does not verify: it was sealed under another key, or it was altered")
        }
    }

    /// Checks the timestamp rules on a verified token.
    static func checkTime(_ timestamp: Int64, ttl: Int64?, now: Int64) throws {
        if let ttl, timestamp &+ ttl < now {
            throw CryptoError(.expired, "the token is \(now - timestamp) s old, older than the allowed \(ttl) s")
        }
        if timestamp > now &+ maxClockSkew {
            throw CryptoError(
                .futureTimestamp,
                "the token's timestamp is \(timestamp - now) s in the future (more than \(maxClockSkew) s); check the clock"
            )
        }
    }

    /// Decrypts a verified token's ciphertext.
    static func decryptVerified(_ parsed: Parsed, key: FernetKey) throws -> [UInt8] {
        try parsed.bytes.withUnsafeBytes { all in
            let cipher = UnsafeRawBufferPointer(rebasing: all[25..<(all.count - 32)])
            var out = [UInt8](repeating: 0, count: cipher.count + 16)
            let n = try out.withUnsafeMutableBytes { outBuf in
                try key.secret.withBytes { secret in
                    try OpenSSL.aes128CBC(
                        encrypt: false, key: UnsafeRawBufferPointer(rebasing: secret[16..<32]),
                        iv: UnsafeRawBufferPointer(rebasing: all[9..<25]), input: cipher, into: outBuf)
                }
            }
            guard let n else { throw CryptoError(.badPadding, "the token verifies but its padding is invalid") }
            out.removeSubrange(n...)
            return out
        }
    }

    /// Opens a Fernet token: checks shape, HMAC (constant time), then time, then decrypts.
    /// - Parameters:
    ///   - ttl: the largest age in seconds to accept; `nil` accepts any age.
    ///   - now: the current unix time; defaults to the clock (tests pass one).
    /// - Returns: the plaintext and the token's timestamp.
    public static func decrypt(
        _ token: some StringProtocol, key: FernetKey, ttl: Int64? = nil, now: Int64? = nil
    ) throws -> (plaintext: [UInt8], timestamp: Int64) {
        let parsed = try parse(token)
        try verify(parsed, key: key)
        try checkTime(parsed.timestamp, ttl: ttl, now: now ?? Int64(Date().timeIntervalSince1970))
        return (try decryptVerified(parsed, key: key), parsed.timestamp)
    }

    /// The timestamp of a token, read only after its HMAC verifies under `key`.
    public static func timestamp(of token: some StringProtocol, key: FernetKey) throws -> Int64 {
        let parsed = try parse(token)
        try verify(parsed, key: key)
        return parsed.timestamp
    }
}

extension UInt64 {
    fileprivate var asSigned: Int64 { Int64(bitPattern: self) }
}
