private import COpenSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// OpenSSL helpers shared by the primitives below.
enum OpenSSL {

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

    /// The current unix time in seconds, read without Foundation (sealing reads it per token).
    static func now() -> Int64 { Int64(time(nil)) }
}

/// An AES-128-CBC key made ready once: OpenSSL cipher contexts with the key schedule done,
/// kept for reuse, so that a token costs one `EVP_CipherUpdate` and nothing else.
///
/// Setting a new IV on a context (`EVP_CipherInit_ex2` with only an IV) costs OpenSSL 3.0 more
/// than the AES itself on a 100-byte field, so no token sets one. Each context runs one endless
/// CBC stream instead, and the IV enters through the CBC chaining:
/// - opening feeds the token's IV block before its ciphertext: CBC decryption of `IV ‖ C`
///   yields one throw-away block, then exactly the plaintext that `C` decrypts to under `IV`,
///   whatever state the stream was in;
/// - sealing knows the stream's state (the last ciphertext block it wrote) and XORs the first
///   plaintext block with `IV ⊕ state`, so the stream computes `E(P₁ ⊕ IV)` as CBC under `IV`
///   would.
///
/// A context serves one thread at a time: a `ContextPool` lends it for one call (a context whose
/// call failed is never lent again, its stream state being unknown), so one instance serves
/// many threads at once. Sealing contexts also hold a block of CSPRNG output
/// that fresh IVs are cut from: `RAND_bytes` for 16 bytes costs more than sealing a 100-byte
/// field. The contexts, and with them the key schedule, are freed (and wiped by OpenSSL) in deinit.
final class AES128CBC: Sendable {
    private let sealers: ContextPool
    private let openers: ContextPool

    init(key: UnsafeRawBufferPointer) throws {
        precondition(key.count == 16, "an AES-128 key is 16 bytes")
        let secret = SecretBytes(key)
        sealers = try ContextPool(key: secret, encrypt: true)
        openers = try ContextPool(key: secret, encrypt: false)
    }

    /// Encrypts in place: `block` holds `IV ‖ plaintext ‖ room for the padding`, where
    /// `plaintextCount` bytes of plaintext follow the 16-byte IV and the room is the rest of the
    /// buffer (`plaintextCount / 16 * 16 + 16` bytes after the IV). Writes a fresh random IV
    /// first unless `givenIV` is passed; pads with PKCS#7 and encrypts the plaintext in place.
    func seal(_ block: UnsafeMutableRawBufferPointer, plaintextCount: Int, givenIV: [UInt8]?) throws {
        let padded = plaintextCount / 16 * 16 + 16
        precondition(block.count == 16 + padded, "the sealing buffer holds the IV and the padded plaintext")
        let pad = UInt8(padded - plaintextCount)
        UnsafeMutableRawBufferPointer(rebasing: block[(16 + plaintextCount)...]).initializeMemory(
            as: UInt8.self, repeating: pad)
        try sealers.withContext { context in
            if let givenIV {
                givenIV.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: block[0..<16]).copyMemory(from: $0) }
            } else {
                try context.nextIV(into: UnsafeMutableRawBufferPointer(rebasing: block[0..<16]))
            }
            try context.encrypt(
                UnsafeMutableRawBufferPointer(rebasing: block[16...]),
                iv: UnsafeRawBufferPointer(rebasing: block[0..<16]))
        }
    }

    /// Decrypts in place: `block` holds `IV ‖ ciphertext` (whole blocks). Afterwards the
    /// plaintext with its padding starts at offset 16. Returns the plaintext length after
    /// stripping the PKCS#7 padding, or `nil` when the padding is invalid.
    func open(_ block: UnsafeMutableRawBufferPointer) throws -> Int? {
        precondition(block.count >= 32 && block.count % 16 == 0, "IV and ciphertext are whole blocks")
        try openers.withContext { try $0.decrypt(block) }
        // Only ever reached after the HMAC verified, so this check is no padding oracle.
        let n = block.count
        let pad = Int(block[n - 1])
        guard pad >= 1, pad <= 16 else { return nil }
        for i in (n - pad)..<n where block[i] != UInt8(pad) { return nil }
        return n - 16 - pad
    }
}

/// The cipher contexts of one key and direction. One context, made with the pool, serves the
/// single-threaded case behind an atomic flag (one compare-exchange and one plain store a call:
/// a mutex, or handing a retained context in and out of an atomic slot, cost a tenth of opening
/// a field); when it is busy, the others wait in a list under a mutex, made as needed.
///
/// A context whose call failed is dropped, its stream state being unknown: the list's simply
/// is not put back, and the first keeps its flag set for good.
private final class ContextPool: Sendable {
    private let key: SecretBytes
    private let encrypt: Bool
    private let first: CipherContext
    private let firstBusy = Atomic<Bool>(false)
    private let others = Mutex<[CipherContext]>([])

    init(key: SecretBytes, encrypt: Bool) throws {
        self.key = key
        self.encrypt = encrypt
        first = try key.withBytes { try CipherContext(key: $0, encrypt: encrypt) }
    }

    /// Runs `body` with a context no other thread is using.
    func withContext<R>(_ body: (CipherContext) throws -> R) throws -> R {
        if firstBusy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            let result = try body(first)
            firstBusy.store(false, ordering: .releasing)
            return result
        }
        let context =
            try others.withLock { $0.popLast() } ?? key.withBytes { try CipherContext(key: $0, encrypt: encrypt) }
        let result = try body(context)
        others.withLock { $0.append(context) }
        return result
    }
}

/// One OpenSSL AES-128-CBC context with its key set and padding off, running one CBC stream
/// (see `AES128CBC`), used by one thread at a time: a `ContextPool` lends each context to one
/// caller at a time.
///
/// Its random block is never shared between contexts, so no IV is handed out twice. photoseal
/// never forks without exec, so no child process inherits a block.
private final class CipherContext: @unchecked Sendable {
    // Fetched algorithm objects are immutable and documented as shareable between threads.
    nonisolated(unsafe) private static let algorithm: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-128-CBC", nil)
    private static let randomBlock = 4096

    private let context: OpaquePointer
    /// The stream's CBC state: the last ciphertext block written (at first the all-zero IV).
    private var state: (UInt64, UInt64) = (0, 0)
    private var random = [UInt8](repeating: 0, count: randomBlock)
    private var used = randomBlock

    init(key: UnsafeRawBufferPointer, encrypt: Bool) throws {
        guard let context = EVP_CIPHER_CTX_new() else { throw OpenSSL.failure("create a cipher context") }
        self.context = context
        let zeroIV = [UInt8](repeating: 0, count: 16)
        guard
            EVP_CipherInit_ex2(
                context, Self.algorithm, key.baseAddress?.assumingMemoryBound(to: UInt8.self), zeroIV,
                encrypt ? 1 : 0, nil) == 1
        else { throw OpenSSL.failure("start AES-128-CBC") }
        // Whole blocks in, whole blocks out: padding is added and checked by AES128CBC.
        EVP_CIPHER_CTX_set_padding(context, 0)
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Sixteen bytes of CSPRNG output, cut from a block refilled by `RAND_bytes`.
    func nextIV(into iv: UnsafeMutableRawBufferPointer) throws {
        if used + 16 > random.count {
            let rc = random.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32($0.count)) }
            guard rc == 1 else { throw OpenSSL.failure("produce random bytes") }
            used = 0
        }
        random.withUnsafeBytes { iv.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[used..<(used + 16)])) }
        used += 16
    }

    /// CBC-encrypts whole blocks in place as if under `iv`, continuing the stream.
    func encrypt(_ blocks: UnsafeMutableRawBufferPointer, iv: UnsafeRawBufferPointer) throws {
        let first = (
            blocks.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                ^ iv.loadUnaligned(fromByteOffset: 0, as: UInt64.self) ^ state.0,
            blocks.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                ^ iv.loadUnaligned(fromByteOffset: 8, as: UInt64.self) ^ state.1
        )
        blocks.storeBytes(of: first.0, toByteOffset: 0, as: UInt64.self)
        blocks.storeBytes(of: first.1, toByteOffset: 8, as: UInt64.self)
        try update(blocks)
        state = (
            blocks.loadUnaligned(fromByteOffset: blocks.count - 16, as: UInt64.self),
            blocks.loadUnaligned(fromByteOffset: blocks.count - 8, as: UInt64.self)
        )
    }

    /// CBC-decrypts whole blocks in place, continuing the stream (the first block out depends on
    /// the stream's state; callers put the IV there).
    func decrypt(_ blocks: UnsafeMutableRawBufferPointer) throws { try update(blocks) }

    /// One pass of the cipher in place (OpenSSL allows input and output to be the same buffer).
    private func update(_ blocks: UnsafeMutableRawBufferPointer) throws {
        guard let base = blocks.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        // EVP_CipherUpdate takes an int length; feed large inputs in whole-block chunks.
        var offset = 0
        while offset < blocks.count {
            let chunk = Swift.min(blocks.count - offset, 1 << 30)
            var written: Int32 = 0
            guard EVP_CipherUpdate(context, base + offset, &written, base + offset, Int32(chunk)) == 1,
                Int(written) == chunk
            else { throw OpenSSL.failure("run AES-128-CBC") }
            offset += chunk
        }
    }
}

/// An HMAC-SHA256 key made ready once: the SHA-256 states after absorbing the padded key.
///
/// Each MAC copies the two prepared states on the stack (a plain struct copy: no allocation, no
/// key schedule), so one instance serves many threads at once. The states are as secret as the
/// key: they are wiped in deinit.
final class HMACSHA256: @unchecked Sendable {
    // Written once in init, only read afterwards, wiped in deinit.
    private let prepared: UnsafeMutablePointer<ps_hmac_sha256_key>

    init(key: UnsafeRawBufferPointer) throws {
        prepared = .allocate(capacity: 1)
        ps_hmac_sha256_prepare(prepared, key.baseAddress, key.count)
    }

    deinit {
        OPENSSL_cleanse(prepared, MemoryLayout<ps_hmac_sha256_key>.size)
        prepared.deallocate()
    }

    /// The MAC of `input`, written into `out` (32 bytes).
    func authenticate(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= 32, "an HMAC-SHA256 is 32 bytes")
        ps_hmac_sha256(prepared, input.baseAddress, input.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self))
    }

    /// Whether `tag` is the MAC of `input`, compared in constant time.
    func verify(_ input: UnsafeRawBufferPointer, tag: UnsafeRawBufferPointer) -> Bool {
        guard tag.count == 32 else { return false }
        return ps_hmac_sha256_verify(
            prepared, input.baseAddress, input.count, tag.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
    }

    /// The MAC of `bytes` as a new array.
    func authenticate(_ bytes: [UInt8]) throws -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            bytes.withUnsafeBytes { authenticate($0, into: UnsafeMutableRawBufferPointer(out)) }
            count = 32
        }
    }
}
