import Foundation
import TestSupport
import Testing

/// A private scratch folder for one test, removed at the end.
struct Scratch: ~Copyable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ps-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

@Test("keys generate writes a 0600 file, refuses to overwrite it, and keys list shows one primary kid")
func keysGenerateAndList() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    let generated = try CLI.run(["keys", "generate", "--out", keys])
    #expect(generated.status == 0)
    var info = stat()
    stat(keys, &info)
    #expect(info.st_mode & 0o777 == 0o600)
    let contents = try String(contentsOfFile: keys, encoding: .utf8)
    let again = try CLI.run(["keys", "generate", "--out", keys])
    #expect(again.status != 0)
    #expect(again.stderr.contains("already exists"))
    #expect(try String(contentsOfFile: keys, encoding: .utf8) == contents)
    let list = try CLI.run(["keys", "list", "--keys", keys])
    #expect(list.status == 0)
    let lines = list.stdout.split(separator: "\n")
    #expect(lines.count == 2)
    #expect(lines.first?.hasPrefix("1 ") == true && lines.first?.hasSuffix(" primary") == true)
    let sealKeys = contents.split(separator: "\n").first { $0.hasPrefix("SEAL_KEYS=") }!.dropFirst(10)
    #expect(!list.stdout.contains(String(sealKeys)) && !list.stderr.contains(String(sealKeys)))
}

@Test("token encrypt then decrypt round-trips lines; Python opens photoseal's tokens")
func tokenRoundTrip() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
    let payloads: [[UInt8]] = [[], Array("hello".utf8), Array(repeating: 0xFF, count: 5000)]
    let input = payloads.map { Data($0).base64EncodedString() + "\n" }.joined()
    let encrypted = try CLI.run(["token", "encrypt", "--keys", keys], stdin: Data(input.utf8))
    #expect(encrypted.status == 0)
    let tokens = encrypted.stdout.split(separator: "\n").map(String.init)
    try #require(tokens.count == payloads.count)
    let decrypted = try CLI.run(["token", "decrypt", "--keys", keys], stdin: Data(encrypted.stdout.utf8))
    #expect(decrypted.status == 0)
    #expect(decrypted.stdout == input)
    let sealKeys = try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\n")
        .first { $0.hasPrefix("SEAL_KEYS=") }!.dropFirst(10)
    let python = Process()
    python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    python.arguments =
        [
            "python3", "-c",
            "import sys,base64\nfrom cryptography.fernet import Fernet\nf=Fernet(sys.argv[1].encode())\n"
                + "print(','.join(str(len(f.decrypt(t.encode()))) for t in sys.argv[2:]))",
            String(sealKeys),
        ] + tokens
    let pipe = Pipe()
    python.standardOutput = pipe
    try python.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    python.waitUntilExit()
    #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "0,5,5000")
}

@Test("token decrypt prints INVALID for a wrong key, a flipped byte, a truncated token and bad base64, and exits 1")
func tokenDecryptInvalid() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    let other = scratch.path("other.env")
    #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
    #expect(try CLI.run(["keys", "generate", "--out", other]).status == 0)
    let made = try CLI.run(["token", "encrypt", "--keys", keys], stdin: Data("c2VjcmV0IG93bmVy\n".utf8))
    let token = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    var flipped = Array(token.utf8)
    flipped[30] = flipped[30] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    let lines = [token, String(decoding: flipped, as: UTF8.self), String(token.prefix(60)), "%%%not-base64%%%"]
    let result = try CLI.run(["token", "decrypt", "--keys", keys], stdin: Data(lines.joined(separator: "\n").utf8))
    #expect(result.status == 1)
    #expect(result.stdout == "c2VjcmV0IG93bmVy\nINVALID\nINVALID\nINVALID\n")
    #expect(result.stderr.split(separator: "\n").count == 3)
    #expect(!result.stderr.contains("secret owner"))
    let wrong = try CLI.run(["token", "decrypt", "--keys", other], stdin: Data(token.utf8))
    #expect(wrong.status == 1)
    #expect(wrong.stdout == "INVALID\n")
    #expect(wrong.stderr.contains("does not verify"))
    #expect(!wrong.stderr.contains("Fatal") && !wrong.stderr.contains("Stack"))
}

@Test("token decrypt --ttl refuses a token older than the TTL")
func tokenTTL() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
    let key = try firstSealKey(keys)
    // A token made by Python ten minutes in the past: photoseal cannot back-date its own.
    let made = try runPython(
        "import sys,time\nfrom cryptography.fernet import Fernet\n"
            + "print(Fernet(sys.argv[1].encode()).encrypt_at_time(b'x', int(time.time()) - 600).decode())",
        [key])
    try #require(made.status == 0, "\(made.output)")
    let old = Data((made.output + "\n").utf8)
    let fresh = try CLI.run(["token", "decrypt", "--keys", keys, "--ttl", "3600"], stdin: old)
    #expect(fresh.status == 0 && fresh.stdout == "eA==\n")
    let expired = try CLI.run(["token", "decrypt", "--keys", keys, "--ttl", "60"], stdin: old)
    #expect(expired.status == 1 && expired.stdout == "INVALID\n")
    #expect(expired.stderr.contains("older than the allowed 60 s"))
}

@Test("a world-readable secrets file and a malformed key each give one clear line and no secret")
func badSecretsFile() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
    chmod(keys, 0o644)
    let open = try CLI.run(["keys", "list", "--keys", keys])
    #expect(open.status == 1)
    #expect(
        open.stderr
            == "photoseal: the secrets file \(keys) is readable by group or others (mode 644); run `chmod 600 \(keys)` and try again\n"
    )
    let bad = scratch.path("bad.env")
    try Data("SEAL_KEYS=AAAAsecretish\n".utf8).write(to: URL(fileURLWithPath: bad))
    chmod(bad, 0o600)
    let malformed = try CLI.run(["token", "encrypt", "--keys", bad], stdin: Data("eA==\n".utf8))
    #expect(malformed.status == 1)
    #expect(malformed.stderr.contains("SEAL_KEYS entry 1 is not a Fernet key"))
    #expect(!malformed.stderr.contains("AAAAsecretish"))
    #expect(malformed.stderr.split(separator: "\n").count == 1)
}

@Test("keys add puts a new key first, keeps the old key, the other lines and mode 0600; old tokens still open")
func keysAdd() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
    let before = try String(contentsOfFile: keys, encoding: .utf8)
    let oldToken = try CLI.run(["token", "encrypt", "--keys", keys], stdin: Data("b2xk\n".utf8)).stdout
    let oldKid = try CLI.run(["keys", "list", "--keys", keys]).stdout.split(separator: " ")[1]
    let added = try CLI.run(["keys", "add", "--keys", keys])
    #expect(added.status == 0)
    let list = try CLI.run(["keys", "list", "--keys", keys]).stdout.split(separator: "\n")
    #expect(list.count == 3)
    #expect(list[1] == "2 \(oldKid) older")
    #expect(list[0].hasSuffix(" primary") && !list[0].contains(oldKid))
    var info = stat()
    stat(keys, &info)
    #expect(info.st_mode & 0o777 == 0o600)
    let after = try String(contentsOfFile: keys, encoding: .utf8)
    let unchanged = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("SEAL_KEYS=") } }
    #expect(unchanged(before) == unchanged(after))
    let oldLine = before.split(separator: "\n").first { $0.hasPrefix("SEAL_KEYS=") }!.dropFirst(10)
    #expect(after.contains(",\(oldLine)"))
    let opened = try CLI.run(["token", "decrypt", "--keys", keys], stdin: Data(oldToken.utf8))
    #expect(opened.stdout == "b2xk\n")
    let files = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)
    #expect(files == ["keys.env"])
}

@Test("token decrypt opens Python's future-dated tokens without --ttl; with --ttl it refuses those past 60 s")
func tokenDecryptFutureDated() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
    let key = try firstSealKey(keys)
    // 200 tokens made by Python, dated from now - 1000 s to 2^32 + 5; the plaintext names its offset.
    let made = try runPython(
        """
        import sys, time
        from cryptography.fernet import Fernet
        f = Fernet(sys.argv[1].encode())
        now = int(time.time())
        offsets = [-1000, 0, 30, 3600, 2**31 - now, 2**32 + 5 - now] + [now * i // 194 for i in range(1, 195)]
        for d in offsets:
            print(d, f.encrypt_at_time(str(d).encode(), now + d).decode())
        """, [key])
    try #require(made.status == 0, "\(made.output)")
    let lines = made.output.split(separator: "\n")
    try #require(lines.count == 200)
    let offsets = lines.map { Int64($0.split(separator: " ")[0])! }
    let tokens = lines.map { $0.split(separator: " ")[1] + "\n" }.joined()
    let expected = offsets.map { Data(String($0).utf8).base64EncodedString() }
    let opened = try CLI.run(["token", "decrypt", "--keys", keys], stdin: Data(tokens.utf8))
    #expect(opened.status == 0 && opened.stderr.isEmpty)
    #expect(opened.stdout.split(separator: "\n").map(String.init) == expected)
    let checked = try CLI.run(["token", "decrypt", "--keys", keys, "--ttl", "86400"], stdin: Data(tokens.utf8))
    #expect(checked.status == 1)
    // The python process started before photoseal's clock read, so allow its few seconds.
    let outputs = checked.stdout.split(separator: "\n").map(String.init)
    for (offset, (output, plain)) in zip(offsets, zip(outputs, expected)) where offset < 50 || offset > 70 {
        #expect(output == (offset <= 50 ? plain : "INVALID"), "token dated \(offset) s ahead")
    }
    #expect(outputs.filter { $0 == "INVALID" }.count == 197)
    #expect(checked.stderr.contains("in the future"))
}

/// The first (primary) SEAL_KEYS entry of a secrets file, read as text (not through photoseal).
private func firstSealKey(_ keys: String) throws -> String {
    let line = try #require(
        try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("SEAL_KEYS=") })
    return String(line.dropFirst("SEAL_KEYS=".count).split(separator: ",")[0])
}
