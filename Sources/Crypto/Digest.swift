private import COpenSSL

/// SHA-256 for change detection (e.g. the ledger's digest of a loaded document); not a MAC.
public enum SHA256Digest {
    /// The lowercase hex SHA-256 of `bytes`.
    ///
    /// - Throws: `CryptoError.openssl` when OpenSSL fails.
    public static func hex(_ bytes: some Collection<UInt8>) throws -> String {
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = input.withUnsafeBytes { inBuffer in
            out.withUnsafeMutableBytes { outBuffer in
                EVP_Digest(
                    inBuffer.baseAddress, inBuffer.count,
                    outBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), &length, EVP_sha256(), nil)
            }
        }
        guard ok == 1, length == 32 else { throw OpenSSL.failure("compute SHA-256") }
        return BlindIndex.hexString(out)
    }
}
