private import COpenSSL

/// Immutable key material that is wiped from memory when the last reference goes away.
///
/// Shared across threads freely: the bytes never change after initialisation.
final class SecretBytes: Sendable {
    // Written once in init, only read afterwards, wiped in deinit: safe to share.
    nonisolated(unsafe) let pointer: UnsafeMutableRawBufferPointer

    init(_ bytes: some Collection<UInt8>) {
        pointer = .allocate(byteCount: Swift.max(bytes.count, 1), alignment: 16)
        pointer.copyBytes(from: bytes)
    }

    var count: Int { pointer.count }

    /// Runs `body` with a view of the secret bytes (the view must not escape).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(pointer))
    }

    deinit {
        OPENSSL_cleanse(pointer.baseAddress, pointer.count)
        pointer.deallocate()
    }
}
