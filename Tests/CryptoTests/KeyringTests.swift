import Foundation
import Testing

@testable import Crypto

@Test("a keyring seals with the newest key and opens tokens of any key, naming the kid")
func keyringOpensAnyKey() throws {
    let old = try FernetKey.generate()
    let new = try FernetKey.generate()
    let oldToken = try Keyring([old]).encrypt(Array("old".utf8))
    let ring = try Keyring([new, old])
    let newToken = try ring.encrypt(Array("new".utf8))
    #expect(try ring.decrypt(oldToken).kid == old.kid)
    #expect(try ring.decrypt(newToken).kid == new.kid)
    #expect(try Keyring([new]).decrypt(newToken).plaintext == Array("new".utf8))
    #expect(throws: CryptoError.self) { try Keyring([old]).decrypt(newToken) }
}

@Test("rotation re-seals under the newest key and keeps the original timestamp")
func rotationKeepsTimestamp() throws {
    let old = try FernetKey.generate()
    let new = try FernetKey.generate()
    let token = try Fernet.encrypt(Array("payload".utf8), key: old, timestamp: 1_600_000_000)
    let rotated = try Keyring([new, old]).rotate(token)
    #expect(rotated.previousKid == old.kid)
    let opened = try Keyring([new]).decrypt(rotated.token)
    #expect(opened.timestamp == 1_600_000_000)
    #expect(opened.plaintext == Array("payload".utf8))
    #expect(opened.kid == new.kid)
}

@Test("a kid is 8 hex digits, stable for a key, different between keys, and not part of the key")
func kidIsFingerprint() throws {
    let key = try FernetKey.generate()
    let again = try FernetKey(base64: key.base64)
    #expect(key.kid == again.kid)
    #expect(key.kid.count == 8 && key.kid.allSatisfy(\.isHexDigit))
    #expect(try FernetKey.generate().kid != key.kid)
    #expect(!key.base64.lowercased().contains(key.kid))
    #expect(!String(describing: key).contains(key.base64))
}

@Test("the kid is HMAC-SHA256(key, \"photoseal-kid\") truncated, as computed by Python's hmac module")
func kidMatchesPython() throws {
    let key = try FernetKey.generate()
    let script = """
        import base64, hmac, hashlib, sys
        k = base64.urlsafe_b64decode(sys.argv[1])
        print(hmac.new(k, b"photoseal-kid", hashlib.sha256).hexdigest()[:8])
        """
    let out = try Python.run(script, arguments: [key.base64])
    #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == key.kid)
}

@Test(
    "malformed keys are refused with a message that does not echo the text",
    arguments: [
        "", "short", "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4", "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=AAAA",
        "cw+0x689RpI/jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
    ])
func malformedKey(_ text: String) {
    do {
        _ = try FernetKey(base64: text, name: "SEAL_KEYS entry 1")
        Issue.record("accepted a malformed key")
    } catch let error as CryptoError {
        #expect(error.code == .malformedKey)
        #expect(error.description.contains("SEAL_KEYS entry 1"))
        if text.count > 4 { #expect(!error.description.contains(text)) }
    } catch {
        Issue.record("unexpected error \(error)")
    }
}

@Test("tampered tokens: a flipped byte, truncation and a wrong key each fail with a clear code")
func tamperedTokens() throws {
    let key = try FernetKey.generate()
    let token = try Fernet.encrypt(Array("secret owner".utf8), key: key)
    var bytes = Base64.decode(token, alphabet: .urlSafe)!
    for position in [0, 5, 20, 40, bytes.count - 1] {
        var flipped = bytes
        flipped[position] ^= 0x01
        let t = Base64.encode(flipped, alphabet: .urlSafe)
        #expect(throws: CryptoError.self) { try Fernet.decrypt(t, key: key) }
    }
    bytes.removeLast(10)
    let truncated = Base64.encode(bytes, alphabet: .urlSafe)
    expectCryptoError(.malformedToken) { try Fernet.decrypt(truncated, key: key) }
    do {
        _ = try Fernet.decrypt(token, key: try FernetKey.generate())
        Issue.record("opened with a wrong key")
    } catch let error as CryptoError {
        #expect(error.code == .authenticationFailed)
        #expect(!error.description.contains("secret owner"))
    }
}

@Test("TTL and clock skew: both apply only when a TTL is given; with one, the future is refused past 60 s")
func timeRules() throws {
    let key = try FernetKey.generate()
    let token = try Fernet.encrypt([1, 2, 3], key: key, timestamp: 1_000_000)
    #expect(try Fernet.decrypt(token, key: key, now: 9_000_000).plaintext == [1, 2, 3])
    #expect(try Fernet.decrypt(token, key: key, ttl: 100, now: 1_000_100).plaintext == [1, 2, 3])
    expectCryptoError(.expired) { try Fernet.decrypt(token, key: key, ttl: 100, now: 1_000_101) }
    #expect(try Fernet.decrypt(token, key: key, ttl: 100, now: 1_000_000 - 60).plaintext == [1, 2, 3])
    expectCryptoError(.futureTimestamp) { try Fernet.decrypt(token, key: key, ttl: 100, now: 1_000_000 - 61) }
    // Without a TTL a token from the far future opens, as in Python `cryptography`, Go and Ruby.
    #expect(try Fernet.decrypt(token, key: key, now: 0).plaintext == [1, 2, 3])
    #expect(try Keyring([key]).decrypt(token, now: 1_000_000 - 61).timestamp == 1_000_000)
    expectCryptoError(.futureTimestamp) { try Keyring([key]).decrypt(token, ttl: 3600, now: 1_000_000 - 61) }
}

/// Expects `body` to throw a `CryptoError` with `code` (messages are for people, not tests).
func expectCryptoError<T>(
    _ code: CryptoError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) {
    do {
        _ = try body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as CryptoError {
        #expect(error.code == code, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
