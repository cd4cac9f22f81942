import Foundation
import Testing

@testable import Crypto

/// The Fernet specification's acceptance vectors (../shared/testdata/fernet, copied as fixtures).
struct FernetVector: Decodable, CustomTestStringConvertible, Sendable {
    var token: String
    var now: String
    var secret: String
    var src: String?
    var iv: [UInt8]?
    var ttl_sec: Int64?
    var desc: String?

    var testDescription: String { desc ?? String(token.prefix(24)) }

    var nowSeconds: Int64 {
        let formatter = ISO8601DateFormatter()
        return Int64(formatter.date(from: now)!.timeIntervalSince1970)
    }

    static func load(_ name: String) -> [FernetVector] {
        let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode([FernetVector].self, from: Data(contentsOf: url))
    }
}

@Test(
    "spec generate vectors: the same key, time and IV give the same token", .tags(.unit),
    arguments: FernetVector.load("generate"))
func generateVector(_ v: FernetVector) throws {
    let key = try FernetKey(base64: v.secret)
    let token = try Fernet.encrypt(Array(v.src!.utf8), key: key, timestamp: v.nowSeconds, iv: v.iv)
    #expect(token == v.token)
}

@Test("spec verify vectors open to the source text", .tags(.unit), arguments: FernetVector.load("verify"))
func verifyVector(_ v: FernetVector) throws {
    let key = try FernetKey(base64: v.secret)
    let opened = try Fernet.decrypt(v.token, key: key, ttl: v.ttl_sec, now: v.nowSeconds)
    #expect(String(decoding: opened.plaintext, as: UTF8.self) == v.src)
    #expect(try Fernet.timestamp(of: v.token, key: key) == 499_162_800)
}

@Test("spec invalid vectors are refused with a CryptoError", .tags(.unit), arguments: FernetVector.load("invalid"))
func invalidVector(_ v: FernetVector) throws {
    let key = try FernetKey(base64: v.secret)
    #expect(throws: CryptoError.self) {
        _ = try Fernet.decrypt(v.token, key: key, ttl: v.ttl_sec, now: v.nowSeconds)
    }
    let keyring = try Keyring([key])
    #expect(throws: CryptoError.self) {
        _ = try keyring.decrypt(v.token, ttl: v.ttl_sec, now: v.nowSeconds)
    }
}

@Test("each invalid vector fails for its own reason", .tags(.unit))
func invalidReasons() throws {
    let expected: [String: CryptoError.Code] = [
        "incorrect mac": .authenticationFailed,
        "too short": .malformedToken,
        "invalid base64": .malformedToken,
        "payload size not multiple of block size": .malformedToken,
        "payload padding error": .badPadding,
        "far-future TS (unacceptable clock skew)": .futureTimestamp,
        "expired TTL": .expired,
        "incorrect IV (causes padding error)": .badPadding,
    ]
    let vectors = FernetVector.load("invalid")
    #expect(Set(vectors.compactMap(\.desc)) == Set(expected.keys))
    for v in vectors {
        let key = try FernetKey(base64: v.secret)
        do {
            _ = try Fernet.decrypt(v.token, key: key, ttl: v.ttl_sec, now: v.nowSeconds)
            Issue.record("\(v.desc ?? "") opened")
        } catch let error as CryptoError {
            #expect(error.code == expected[v.desc ?? ""], "\(v.desc ?? "")")
        }
    }
}
