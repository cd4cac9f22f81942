import Foundation

/// Equality lookups over sealed values: a keyed hash of a normalised value.
///
/// `hex(v)` is the lowercase hex of HMAC-SHA256(INDEX_KEY, normalise(v)), where normalise trims
/// surrounding white space, applies Unicode NFC and lowercases. Without INDEX_KEY the hash
/// cannot be computed, so it reveals nothing by itself; with it, equal values find each other.
public struct BlindIndex: Sendable {
    let secret: SecretBytes
    let hasher: HMACSHA256

    /// Makes an index from the INDEX_KEY bytes (at least 16; photoseal generates 32).
    public init(bytes: some Collection<UInt8>) throws {
        guard bytes.count >= 16 else {
            throw CryptoError(.malformedKey, "INDEX_KEY must be at least 16 bytes, this one has \(bytes.count)")
        }
        secret = SecretBytes(bytes)
        hasher = try secret.withBytes { try HMACSHA256(key: $0) }
    }

    /// Parses INDEX_KEY in its urlsafe base64 form.
    public init(base64 text: String) throws {
        guard let bytes = Base64.decode(text.trimmingCharacters(in: .whitespaces), alphabet: .urlSafe),
            bytes.count == 32
        else {
            throw CryptoError(
                .malformedKey,
                "INDEX_KEY is not urlsafe base64 of 32 bytes; make a new one with `photoseal keys generate`")
        }
        try self.init(bytes: bytes)
    }

    /// A new random index key.
    public static func generate() throws -> BlindIndex { try BlindIndex(bytes: OpenSSL.randomBytes(32)) }

    /// The key in urlsafe base64, for writing a secrets file. Handle with care.
    public var base64: String { secret.withBytes { Base64.encode($0, alphabet: .urlSafe) } }

    /// The normal form a value is hashed in.
    public static func normalise(_ value: String) -> String {
        // ASCII fast path (owner ids are ASCII): NFC changes nothing, and trimming ASCII white
        // space by hand avoids Foundation's NSString round trip, the main cost of an audit's check.
        let bytes = value.utf8
        if bytes.allSatisfy({ $0 < 0x80 }) {
            func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
            guard let first = bytes.firstIndex(where: { !isSpace($0) }),
                let last = bytes.lastIndex(where: { !isSpace($0) })
            else { return "" }
            return String(Substring(value.utf8[first...last])).lowercased()
        }
        return value.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping.lowercased()
    }

    /// A short stable fingerprint of the index key that reveals nothing about it (as a seal
    /// key's `kid`): the first 8 hex digits of HMAC-SHA256(key, "photoseal-index-kid"). A
    /// workdir records it to recognise a secrets file that is not its own.
    public func fingerprint() throws -> String {
        Self.hexString(Array(try hasher.authenticate(Array("photoseal-index-kid".utf8)).prefix(4)))
    }

    /// The blind index of a value: 64 lowercase hex digits.
    public func hex(_ value: String) throws -> String {
        let mac = try hasher.authenticate(Array(Self.normalise(value).utf8))
        return Self.hexString(mac)
    }

    private static let digits = Array("0123456789abcdef".utf8)

    static func hexString(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digits[Int(b >> 4)]
                out[2 * i + 1] = digits[Int(b & 15)]
            }
            return bytes.count * 2
        }
    }
}
