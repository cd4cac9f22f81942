import Foundation
import TestSupport
import Testing

@testable import Crypto

/// 1,000 payload sizes from 0 bytes to 1 MiB: the edges, every size around block boundaries,
/// then sizes spread evenly on a log scale.
func interopSizes(seed: UInt64) -> [Int] {
    var sizes = [0, 1, 1 << 20, (1 << 20) - 1, 1 << 20]
    sizes += Array(2...40)
    var rng = SplitMix64(state: seed)
    while sizes.count < 1000 {
        let exponent = Double.random(in: 0...20, using: &rng)
        sizes.append(Swift.min(1 << 20, Int(pow(2, exponent))))
    }
    return sizes
}

@Test("1,000 random cases from 0 bytes to 1 MiB: photoseal tokens open in Python and Python's open in photoseal")
func interoperatesWithPython() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-interop-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let keys = try (0..<10).map { _ in try FernetKey.generate() }
    var cases = ""
    var expected: [[UInt8]] = []
    for (i, size) in interopSizes(seed: 2026).enumerated() {
        let key = keys[i % keys.count]
        let payload = try OpenSSL.randomBytes(size)
        expected.append(payload)
        let token = try Fernet.encrypt(payload, key: key)
        cases += "\(key.base64) \(Base64.encode(payload)) \(token)\n"
    }
    let casesURL = dir.appendingPathComponent("cases.txt")
    let pythonTokensURL = dir.appendingPathComponent("python-tokens.txt")
    try Data(cases.utf8).write(to: casesURL)
    let script = """
        import base64, sys
        from cryptography.fernet import Fernet
        ok = 0
        with open(sys.argv[1]) as cases, open(sys.argv[2], "w") as out:
            for n, line in enumerate(cases):
                key, payload, token = line.split(" ")
                f = Fernet(key.encode())
                plaintext = base64.b64decode(payload)
                if f.decrypt(token.strip().encode()) != plaintext:
                    print("mismatch on case", n); sys.exit(1)
                ok += 1
                out.write(f.encrypt(plaintext).decode() + "\\n")
        print(ok)
        """
    let opened = try Python.run(script, arguments: [casesURL.path, pythonTokensURL.path])
    #expect(opened.trimmingCharacters(in: .whitespacesAndNewlines) == "1000")
    let pythonTokens = try String(contentsOf: pythonTokensURL, encoding: .utf8).split(separator: "\n")
    try #require(pythonTokens.count == expected.count)
    var failures = 0
    for (i, token) in pythonTokens.enumerated() {
        let result = try Fernet.decrypt(token, key: keys[i % keys.count])
        if result.plaintext != expected[i] { failures += 1 }
    }
    #expect(failures == 0)
    #expect(expected.contains { $0.isEmpty } && expected.contains { $0.count == 1 << 20 })
}

@Test("base64 decoding accepts exactly the alphabet's characters, whatever the byte and its position")
func base64EveryByteEveryPosition() throws {
    // 96 characters: three SIMD steps of 32, so every lane of the vector path and the scalar
    // groups after it see each byte value.
    var rng = SplitMix64(state: 11)
    let bytes = (0..<72).map { _ in UInt8.random(in: 0...255, using: &rng) }
    for alphabet in [Base64.Alphabet.standard, .urlSafe] {
        let text = Array(Base64.encode(bytes, alphabet: alphabet).utf8)
        let letters = Set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789\(alphabet == .standard ? "+/" : "-_")"
                .utf8)
        for length in [96, 40, 12] {
            for position in 0..<length {
                for value in 0...255 {
                    var altered = Array(text[0..<length])
                    altered[position] = UInt8(value)
                    let decoded = altered.withUnsafeBytes { Base64.decode($0, alphabet: alphabet) }
                    // White space around the text and a final `=` are padding, not characters.
                    let edge = position == 0 || position == length - 1
                    if edge && [9, 10, 13, 32].contains(value) || position == length - 1 && value == 0x3D { continue }
                    guard letters.contains(UInt8(value)) else {
                        if decoded != nil { Issue.record("byte \(value) at \(position) of \(length) decoded") }
                        continue
                    }
                    // The reference: Foundation on the standard form of the same text.
                    let standard = String(decoding: altered, as: UTF8.self)
                        .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                    if decoded != Data(base64Encoded: standard).map(Array.init) {
                        Issue.record("byte \(value) at \(position) of \(length) decoded wrongly")
                    }
                }
            }
        }
    }
}

@Test("base64 round-trips every length and matches Foundation's standard encoding")
func base64Agrees() throws {
    var rng = SplitMix64(state: 7)
    for length in 0..<300 {
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let ours = Base64.encode(bytes)
        #expect(ours == Data(bytes).base64EncodedString())
        #expect(Base64.decode(ours) == bytes)
        let url = Base64.encode(bytes, alphabet: .urlSafe)
        #expect(url == ours.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"))
        #expect(Base64.decode(url, alphabet: .urlSafe) == bytes)
    }
    // A character outside the alphabet is caught wherever it stands in a long text.
    let long = Base64.encode((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    for position in 0..<long.utf8.count {
        var bytes = Array(long.utf8)
        bytes[position] = UInt8(ascii: "%")
        #expect(Base64.decode(String(decoding: bytes, as: UTF8.self)) == nil, "bad character at \(position)")
    }
    // The appending forms add to what the buffer holds and leave it alone on bad input.
    var buffer: [UInt8] = [1, 2]
    #expect(Base64.decode(Array("aGVsbG8=".utf8)[...], appendingTo: &buffer))
    #expect(buffer == [1, 2] + Array("hello".utf8))
    #expect(!Base64.decode(Array("aGV%bG8=".utf8), appendingTo: &buffer))
    #expect(buffer == [1, 2] + Array("hello".utf8))
    var text: [UInt8] = [0x3E]
    Base64.encode(Array("hello".utf8), alphabet: .urlSafe, appendingTo: &text)
    #expect(text == Array(">aGVsbG8=".utf8))
    #expect(Base64.decode("%%%%") == nil)
    #expect(Base64.decode("A") == nil)
    #expect(Base64.decode("AA=A") == nil)
}
