import Foundation
import Testing

@testable import Crypto

/// Tokens made by Python `cryptography` (`encrypt_at_time`), not by photoseal: 200 cases over
/// three keys, dated from 1970 to 2^32 + 5, a third of them in the future of `now`.
struct ForeignTokens {
    struct Case {
        var keyIndex: Int
        var timestamp: Int64
        var plaintext: [UInt8]
        var token: String
    }

    static let now: Int64 = 1_800_000_000
    var keys: [FernetKey]
    var cases: [Case]

    static func make() throws -> ForeignTokens {
        let script = """
            import base64, os, random, sys
            from cryptography.fernet import Fernet
            now = int(sys.argv[1])
            rng = random.Random(20)
            keys = [Fernet.generate_key() for _ in range(3)]
            print(" ".join(k.decode() for k in keys))
            stamps = [0, 1, now - 10**6, now - 1, now, now + 1, now + 59, now + 60, now + 61, now + 3600,
                      2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 5]
            while len(stamps) < 200:
                stamps.append(rng.choice([rng.randrange(0, now), rng.randrange(now + 61, 2**32 + 6)]))
            for i, ts in enumerate(stamps):
                k = i % 3
                payload = os.urandom(rng.choice([0, 1, 15, 16, 17, 100, 1000]))
                token = Fernet(keys[k]).encrypt_at_time(payload, ts).decode()
                print(k, ts, base64.b64encode(payload).decode() or "-", token)
            """
        let lines = try Python.run(script, arguments: [String(now)]).split(separator: "\n")
        let keys = try lines[0].split(separator: " ").map { try FernetKey(base64: String($0)) }
        let cases = lines.dropFirst().map { line in
            let parts = line.split(separator: " ").map(String.init)
            return Case(
                keyIndex: Int(parts[0])!, timestamp: Int64(parts[1])!,
                plaintext: parts[2] == "-" ? [] : Base64.decode(parts[2])!, token: parts[3])
        }
        return ForeignTokens(keys: keys, cases: cases)
    }
}

@Test("every token Python made opens without a TTL, those dated up to 2^32 + 5 in the future included")
func foreignTokensOpenWithoutTTL() throws {
    let foreign = try ForeignTokens.make()
    try #require(foreign.cases.count == 200)
    #expect(foreign.cases.filter { $0.timestamp > ForeignTokens.now + Fernet.maxClockSkew }.count > 50)
    #expect(foreign.cases.contains { $0.timestamp == 1 << 32 + 5 })
    let keyring = try Keyring(foreign.keys.reversed())
    for item in foreign.cases {
        let opened = try keyring.decrypt(item.token, now: ForeignTokens.now)
        #expect(opened.plaintext == item.plaintext && opened.timestamp == item.timestamp)
        #expect(opened.kid == foreign.keys[item.keyIndex].kid)
        let alone = try Fernet.decrypt(item.token, key: foreign.keys[item.keyIndex], now: ForeignTokens.now)
        #expect(alone.plaintext == item.plaintext)
        #expect(try Fernet.timestamp(of: item.token, key: foreign.keys[item.keyIndex]) == item.timestamp)
    }
}

@Test("with a TTL, Python's tokens dated more than 60 s ahead are refused and the rest follow the TTL")
func foreignTokensWithTTL() throws {
    let foreign = try ForeignTokens.make()
    let keyring = try Keyring(foreign.keys)
    let ttl: Int64 = 1_000_000
    for item in foreign.cases {
        let now = ForeignTokens.now
        if item.timestamp > now + Fernet.maxClockSkew {
            expectCryptoError(.futureTimestamp) { try keyring.decrypt(item.token, ttl: ttl, now: now) }
        } else if item.timestamp + ttl < now {
            expectCryptoError(.expired) { try keyring.decrypt(item.token, ttl: ttl, now: now) }
        } else {
            #expect(try keyring.decrypt(item.token, ttl: ttl, now: now).plaintext == item.plaintext)
        }
    }
}

@Test("a key that has sealed other tokens still gives the spec's token for the spec's time and IV")
func sealingAfterOtherTokensKeepsTheSpecToken() throws {
    let v = FernetVector.load("generate")[0]
    let key = try FernetKey(base64: v.secret)
    for size in [0, 5, 16, 100, 4097] {
        let other = try Fernet.encrypt([UInt8](repeating: 7, count: size), key: key)
        #expect(try Fernet.decrypt(other, key: key).plaintext.count == size)
    }
    #expect(try Fernet.encrypt(Array(v.src!.utf8), key: key, timestamp: v.nowSeconds, iv: v.iv) == v.token)
    #expect(try Fernet.decrypt(v.token, key: key).plaintext == Array(v.src!.utf8))
}

@Test("one key sealing and opening on many threads at once: every token opens and no IV repeats")
func concurrentSealing() async throws {
    let key = try FernetKey.generate()
    let perTask = 3000
    let results = try await withThrowingTaskGroup(of: [String].self) { group in
        for task in 0..<4 {
            group.addTask {
                try (0..<perTask).map { i in
                    let payload = [UInt8](repeating: UInt8(task), count: i % 40)
                    let token = try Fernet.encrypt(payload, key: key)
                    guard try Fernet.decrypt(token, key: key).plaintext == payload else { return "mismatch" }
                    return token
                }
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
    #expect(!results.contains("mismatch"))
    let ivs = Set(results.map { Array(Base64.decode($0, alphabet: .urlSafe)![9..<25]) })
    #expect(ivs.count == 4 * perTask)
}
