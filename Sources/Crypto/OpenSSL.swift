private import COpenSSL

/// The OpenSSL primitives photoseal uses, fetched once: an implicit fetch per call (what
/// `EVP_aes_128_cbc()` does in OpenSSL 3) costs more than sealing a 100-byte field.
enum OpenSSL {
    // Fetched algorithm objects are immutable and documented as shareable between threads.
    nonisolated(unsafe) private static let aes128CBC: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-128-CBC", nil)
    nonisolated(unsafe) static let hmacAlgorithm: OpaquePointer? = EVP_MAC_fetch(nil, "HMAC", nil)

    /// The most recent OpenSSL error, read right after the failing call.
    static func failure(_ what: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        return CryptoError(
            .openssl, "OpenSSL failed to \(what) (error \(code)); check the OpenSSL installation", opensslError: code)
    }

    /// Fills `count` bytes from OpenSSL's CSPRNG.
    static func randomBytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let rc = out.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32(count)) }
        guard rc == 1 else { throw failure("produce random bytes") }
        return out
    }

    /// Compares two equal-length byte ranges in constant time.
    static func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }

    /// AES-128-CBC with PKCS#7 padding. Writes into `out`, which must hold `input.count + 16`
    /// bytes; returns the number of bytes written, or `nil` when decryption finds bad padding.
    static func aes128CBC(
        encrypt: Bool, key: UnsafeRawBufferPointer, iv: UnsafeRawBufferPointer,
        input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) throws -> Int? {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw failure("create a cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let keyBytes = key.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let ivBytes = iv.baseAddress?.assumingMemoryBound(to: UInt8.self)
        guard EVP_CipherInit_ex2(ctx, aes128CBC, keyBytes, ivBytes, encrypt ? 1 : 0, nil) == 1 else {
            throw failure("start AES-128-CBC")
        }
        let outBytes = out.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var written: Int32 = 0
        // EVP_CipherUpdate takes an int length; feed large inputs in chunks.
        var offset = 0
        var total = 0
        repeat {
            let chunk = Swift.min(input.count - offset, 1 << 30)
            guard
                EVP_CipherUpdate(
                    ctx, outBytes.map { $0 + total }, &written,
                    input.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + offset }, Int32(chunk)) == 1
            else { throw failure("run AES-128-CBC") }
            total += Int(written)
            offset += chunk
        } while offset < input.count
        guard EVP_CipherFinal_ex(ctx, outBytes.map { $0 + total }, &written) == 1 else {
            if encrypt { throw failure("finish AES-128-CBC") }
            ERR_clear_error()
            return nil
        }
        return total + Int(written)
    }
}

/// An HMAC-SHA256 key made ready once (digest fetched, key schedule done) and copied per use:
/// setting the key up costs more than authenticating a 100-byte field.
///
/// Each use duplicates the prepared context (`EVP_MAC_CTX_dup` only reads it), so one instance
/// serves many threads at once; the prepared context is freed, and with it the key, in deinit.
final class HMACSHA256: @unchecked Sendable {
    private let prepared: OpaquePointer

    init(key: UnsafeRawBufferPointer) throws {
        guard let ctx = EVP_MAC_CTX_new(OpenSSL.hmacAlgorithm) else { throw OpenSSL.failure("create an HMAC context") }
        let ok: Bool = "SHA256".withCString { digest in
            var params = [
                OSSL_PARAM_construct_utf8_string("digest", UnsafeMutablePointer(mutating: digest), 0),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_MAC_init(ctx, key.baseAddress?.assumingMemoryBound(to: UInt8.self), key.count, &params) == 1
        }
        guard ok else {
            EVP_MAC_CTX_free(ctx)
            throw OpenSSL.failure("start HMAC-SHA256")
        }
        prepared = ctx
    }

    deinit { EVP_MAC_CTX_free(prepared) }

    /// The MAC of `parts` (concatenated), written into `out` (32 bytes).
    func authenticate(_ parts: [UnsafeRawBufferPointer], into out: UnsafeMutableRawBufferPointer) throws {
        guard let ctx = EVP_MAC_CTX_dup(prepared) else { throw OpenSSL.failure("copy an HMAC context") }
        defer { EVP_MAC_CTX_free(ctx) }
        for part in parts where part.count > 0 {
            guard EVP_MAC_update(ctx, part.baseAddress?.assumingMemoryBound(to: UInt8.self), part.count) == 1 else {
                throw OpenSSL.failure("compute HMAC-SHA256")
            }
        }
        var outLength = 0
        guard EVP_MAC_final(ctx, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &outLength, out.count) == 1,
            outLength == 32
        else { throw OpenSSL.failure("finish HMAC-SHA256") }
    }

    /// The MAC of `bytes` as a new array.
    func authenticate(_ bytes: [UInt8]) throws -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: 32)
        try bytes.withUnsafeBytes { input in try mac.withUnsafeMutableBytes { try authenticate([input], into: $0) } }
        return mac
    }
}
