private import COpenSSL

/// AES-256-CTR under a random key that lives only in this object, for scratch files that must
/// not hold plaintext on disk (a pack's spool of opened images): any byte range encrypts or
/// decrypts on its own, so a file written in order can be read back at any offset. The key is
/// never written anywhere; once the object is gone the file is noise.
public final class ScratchCipher {
    nonisolated(unsafe) private static let algorithm: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-CTR", nil)

    private let key: [UInt8]
    /// The first 8 bytes of every counter block; the last 8 count 16-byte blocks.
    private let nonce: [UInt8]
    private let context: OpaquePointer

    /// Makes a cipher with a fresh random key and nonce.
    /// - Throws: `CryptoError` when OpenSSL fails.
    public init() throws {
        key = try OpenSSL.randomBytes(32)
        nonce = try OpenSSL.randomBytes(8)
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("create a cipher context") }
        self.context = context
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts or decrypts (the same operation in CTR mode) `bytes` in place, as the bytes at
    /// `offset` of the scratch file.
    /// - Throws: `CryptoError` when OpenSSL fails.
    public func apply(_ bytes: inout [UInt8], at offset: Int64) throws {
        guard !bytes.isEmpty else { return }
        precondition(offset >= 0, "a file offset is not negative")
        var iv = nonce
        let block = UInt64(offset / 16)
        for shift in stride(from: 56, through: 0, by: -8) {
            iv.append(UInt8(truncatingIfNeeded: block >> UInt64(shift)))
        }
        guard EVP_CipherInit_ex2(context, Self.algorithm, key, iv, 1, nil) == 1 else {
            throw OpenSSL.failure("start AES-256-CTR")
        }
        // The key stream of the bytes before `offset` in its block, thrown away.
        var skip = [UInt8](repeating: 0, count: Int(offset % 16))
        var written: Int32 = 0
        if !skip.isEmpty {
            guard EVP_CipherUpdate(context, &skip, &written, skip, Int32(skip.count)) == 1 else {
                throw OpenSSL.failure("run AES-256-CTR")
            }
        }
        try bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < buffer.count {
                let chunk = min(buffer.count - done, 1 << 30)
                guard EVP_CipherUpdate(context, base + done, &written, base + done, Int32(chunk)) == 1,
                    Int(written) == chunk
                else { throw OpenSSL.failure("run AES-256-CTR") }
                done += chunk
            }
        }
    }
}
