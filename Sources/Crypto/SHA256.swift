private import COpenSSL

/// A streaming SHA-256 hasher on OpenSSL's EVP digest API: feed bytes with `update`, read the
/// digest once with `finalize`.
///
/// The download stage hashes each image while its body arrives, so no image is held whole in
/// memory just to be hashed. One instance is used by one thread at a time (it is not
/// `Sendable`); it owns its `EVP_MD_CTX` and frees it in `deinit`.
public final class SHA256 {
    nonisolated(unsafe) private static let algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)
    private let context: OpaquePointer
    private var finished = false

    /// Starts a new digest.
    /// - Throws: `CryptoError` with code `.openssl` when OpenSSL cannot set up SHA-256.
    public init() throws {
        guard let context = EVP_MD_CTX_new() else { throw OpenSSL.failure("create a digest context") }
        self.context = context
        guard EVP_DigestInit_ex2(context, Self.algorithm, nil) == 1 else { throw OpenSSL.failure("start SHA-256") }
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds bytes to the digest. Bytes given after `finalize` are ignored.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard !finished, let base = bytes.baseAddress, !bytes.isEmpty else { return }
        // EVP_DigestUpdate cannot fail for SHA-256 on a context that initialised.
        _ = EVP_DigestUpdate(context, base, bytes.count)
    }

    /// Adds the bytes of an array to the digest.
    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Ends the digest and returns its 32 bytes; calling it again returns an empty array.
    public func finalize() -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        return Array(out.prefix(Int(length)))
    }

    /// Ends the digest and returns it as 64 lowercase hex digits.
    public func finalizeHex() -> String {
        Self.hex(finalize())
    }

    /// The SHA-256 of `bytes` as lowercase hex.
    /// - Throws: `CryptoError` when OpenSSL cannot set up SHA-256.
    public static func hex(of bytes: [UInt8]) throws -> String {
        let hasher = try SHA256()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(digest.count * 2)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

// An EVP_MD_CTX may be used by one thread at a time only.
@available(*, unavailable)
extension SHA256: Sendable {}
