import Crypto
import Testing

@Suite("scratch cipher: AES-256-CTR under a key that lives in the process", .tags(.unit))
struct ScratchCipherTests {
    @Test("a file encrypted in one piece decrypts in pieces at any offsets, and two ciphers give different bytes")
    func randomAccess() throws {
        let plain = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let cipher = try ScratchCipher()
        var sealed = plain
        try cipher.apply(&sealed, at: 0)
        #expect(sealed != plain)
        // No 16-byte block left in the clear.
        #expect(
            stride(from: 0, to: plain.count - 16, by: 16).allSatisfy { sealed[$0..<($0 + 16)] != plain[$0..<($0 + 16)] }
        )
        var opened: [UInt8] = []
        var start = 0
        for end in [1, 17, 18, 4_096, 4_099, 65_537, plain.count] {
            var piece = Array(sealed[start..<end])
            try cipher.apply(&piece, at: Int64(start))
            opened += piece
            start = end
        }
        #expect(opened == plain)
        var other = plain
        try ScratchCipher().apply(&other, at: 0)
        #expect(other != sealed)
    }
}
