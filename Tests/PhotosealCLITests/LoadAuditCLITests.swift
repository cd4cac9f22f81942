import Foundation
import TestSupport
import Testing

/// Python helpers the tests use to look at files without photoseal: the ledger and the embedded
/// store through `sqlite3`, BSON through a small reader written from bsonspec.org.
enum Py {
    static let bson = """
        import struct, sqlite3, sys, json, base64
        def cstr(b, i):
            j = b.index(0, i); return b[i:j].decode(), j + 1
        def doc(b, i=0):
            n = struct.unpack_from("<i", b, i)[0]; end = i + n; i += 4; out = {}
            while i < end - 1:
                t = b[i]; i += 1; k, i = cstr(b, i)
                if t == 1: v = struct.unpack_from("<d", b, i)[0]; i += 8
                elif t == 2:
                    m = struct.unpack_from("<i", b, i)[0]; v = b[i+4:i+4+m-1].decode(); i += 4 + m
                elif t in (3, 4):
                    m = struct.unpack_from("<i", b, i)[0]; v = doc(b, i); i += m
                    if t == 4: v = [v[x] for x in sorted(v, key=int)]
                elif t == 8: v = b[i] == 1; i += 1
                elif t == 9: v = struct.unpack_from("<q", b, i)[0]; i += 8
                elif t == 10: v = None
                elif t == 16: v = struct.unpack_from("<i", b, i)[0]; i += 4
                elif t == 18: v = struct.unpack_from("<q", b, i)[0]; i += 8
                else: raise ValueError("bson type %d" % t)
                out[k] = v
            return out
        def store_docs(path):
            for (body,) in sqlite3.connect(path).execute("SELECT body FROM documents ORDER BY id"):
                yield doc(bytes(body))
        def ts(token):
            return struct.unpack(">Q", base64.urlsafe_b64decode(token.encode())[1:9])[0]

        """

    static func run(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runPython(bson + script, arguments)
    }

    static func sql(_ database: String, _ statement: String) throws -> String {
        try run(
            "c = sqlite3.connect(sys.argv[1]); r = c.execute(sys.argv[2]).fetchall(); c.commit(); print(r[0][0] if r else '')",
            [database, statement]
        ).output
    }
}

@Suite("encrypt-load, rotate-keys, keys retire and audit on the command line", .serialized, .tags(.integration))
struct LoadAuditCLITests {
    let dir: URL
    let keys: URL
    var work: String { dir.appendingPathComponent("work").path }
    var ledger: String { work + "/ledger.sqlite" }
    var storeFile: String { work + "/store.sqlite" }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-cli-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        keys = dir.appendingPathComponent("keys.env")
        try CLI.generateKeys(at: keys, extra: ["FLICKR_API_KEY=\(FlickrServer.apiKey)"])
    }

    /// Searches the local Flickr server for `limit` photos and moves them to `extracted`
    /// (the stage the extract stage leaves them at) with plain SQL.
    func prepare(limit: Int) throws -> Int {
        let server = try FlickrServer(["--per-second", "15"])
        defer { server.stop() }
        let search = try CLI.run(
            [
                "search", "--keys", keys.path, "--workdir", work, "--flickr-endpoint", server.endpoint, "--term",
                "monkey", "--limit", String(limit), "--rate-per-hour", "36000",
            ])
        precondition(search.status == 0, search.stderr)
        _ = try Py.sql(ledger, "UPDATE photo SET stage = 'extracted'")
        return Int(try Py.sql(ledger, "SELECT COUNT(*) FROM photo")) ?? 0
    }

    func photoseal(_ arguments: [String]) throws -> CLI.Result {
        try CLI.run(arguments + ["--keys", keys.path, "--workdir", work])
    }

    /// Starts `photoseal` and SIGKILLs it once `ready()` says so (or it ends by itself).
    func killMidway(_ arguments: [String], ready: () throws -> Bool) throws -> Bool {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments + ["--keys", keys.path, "--workdir", work]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var killed = false
        while process.isRunning {
            if try ready() {
                kill(process.processIdentifier, SIGKILL)
                killed = true
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        return killed && process.terminationReason == .uncaughtSignal
    }

    @Test(
        "kill -9 in the middle of encrypt-load, then re-run: the same documents, each once; a third run writes nothing")
    func killAndResumeLoad() throws {
        let count = try prepare(limit: 1500)
        #expect(count >= 1500)
        let killed = try killMidway(["encrypt-load", "--batch-size", "20"]) {
            let loaded = Int(try Py.sql(ledger, "SELECT COUNT(*) FROM photo WHERE stage = 'loaded'")) ?? 0
            return loaded > 0
        }
        #expect(killed)
        let partial = Int(try Py.sql(ledger, "SELECT COUNT(*) FROM photo WHERE stage = 'loaded'")) ?? 0
        #expect(partial < count)
        let again = try photoseal(["encrypt-load", "--batch-size", "200"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(Int(try Py.sql(storeFile, "SELECT COUNT(*) FROM documents")) == count)
        #expect(Int(try Py.sql(ledger, "SELECT COUNT(*) FROM photo WHERE stage = 'loaded'")) == count)
        let ids = try Py.run(
            "print(len(set(d['_id'] for d in store_docs(sys.argv[1]))), sum(1 for _ in store_docs(sys.argv[1])))",
            [storeFile])
        #expect(ids.output == "\(count) \(count)")
        let third = try photoseal(["encrypt-load"])
        #expect(third.status == 0)
        #expect(third.stderr.contains("0 loaded, 0 unchanged, 0 refused; 0 store writes"), "\(third.stderr)")
    }

    @Test(
        "keys add + rotate-keys: every token opens in Python under the new key alone, timestamps unchanged; retire refused, then allowed"
    )
    func rotateAndRetire() throws {
        let count = try prepare(limit: 200)
        #expect(try photoseal(["encrypt-load"]).status == 0)
        let oldKid = try #require(
            try CLI.run(["keys", "list", "--keys", keys.path]).stdout.split(separator: " ").dropFirst().first)
        let before = try Py.run(
            """
            out = {}
            for d in store_docs(sys.argv[1]):
                for f, t in d["sealed"].items():
                    if t: out[d["_id"] + "/" + f] = ts(t)
            print(json.dumps(out, sort_keys=True))
            """, [storeFile])
        #expect(before.status == 0, "\(before.output)")
        let added = try CLI.run(["keys", "add", "--keys", keys.path])
        #expect(added.status == 0)
        let newKid = try #require(added.stdout.split(separator: " ").first.map(String.init))
        let refused = try photoseal(["keys", "retire", String(oldKid)])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains(
                "\(2 * count) documents (\(count) in the store, \(count) in the ledger) and 0 sealed images still use key \(oldKid)"
            ), "\(refused.stderr)")
        let rotate = try photoseal(["rotate-keys"])
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stderr.contains("\(count) re-sealed in the store, \(count) in the ledger"), "\(rotate.stderr)")
        let sealKeys = try #require(
            try String(contentsOf: keys, encoding: .utf8).split(separator: "\n").first { $0.hasPrefix("SEAL_KEYS=") })
        let newKey = String(sealKeys.dropFirst(10).split(separator: ",")[0])
        let check = try Py.run(
            """
            from cryptography.fernet import Fernet
            f = Fernet(sys.argv[2].encode()); before = json.loads(sys.argv[3]); n = 0
            for d in store_docs(sys.argv[1]):
                assert d["seal"]["kid"] == sys.argv[4], d["_id"]
                for k, t in d["sealed"].items():
                    if not t: continue
                    v, i, fld, _ = f.decrypt(t.encode()).split(b"\\n", 3)
                    assert v == b"ps1" and i.decode() == d["_id"] and fld.decode() == k
                    assert ts(t) == before[d["_id"] + "/" + k], "timestamp changed"
                    n += 1
            assert n == len(before), (n, len(before))
            print("ok", n)
            """, [storeFile, newKey, before.output, newKid])
        #expect(check.status == 0 && check.output.hasPrefix("ok "), "\(check.output)")
        let retired = try photoseal(["keys", "retire", String(oldKid)])
        #expect(retired.status == 0, "\(retired.stderr)")
        let list = try CLI.run(["keys", "list", "--keys", keys.path])
        #expect(list.stdout.hasPrefix("1 \(newKid) primary\nindex-key"), "\(list.stdout)")
        let audit = try photoseal(["audit"])
        #expect(audit.status == 0, "\(audit.stdout)")
    }

    @Test("kill -9 in the middle of rotate-keys, then re-run: finished, no document with mixed keys")
    func killAndResumeRotation() throws {
        let count = try prepare(limit: 1500)
        #expect(try photoseal(["encrypt-load"]).status == 0)
        let added = try CLI.run(["keys", "add", "--keys", keys.path])
        let newKid = try #require(added.stdout.split(separator: " ").first.map(String.init))
        let killed = try killMidway(["rotate-keys", "--batch-size", "20"]) {
            let done =
                Int(
                    try Py.sql(
                        storeFile,
                        "SELECT COUNT(*) FROM field_index WHERE path = 'seal.kid' AND key = CAST(x'02' || CAST('\(newKid)' AS BLOB) AS BLOB)"
                    )) ?? 0
            return done > 0
        }
        #expect(killed)
        let again = try photoseal(["rotate-keys"])
        #expect(again.status == 0, "\(again.stderr)")
        let kids = try Py.run(
            "import collections\nprint(dict(collections.Counter(d['seal']['kid'] for d in store_docs(sys.argv[1]))))",
            [storeFile])
        #expect(kids.output == "{'\(newKid)': \(count)}")
        let audit = try photoseal(["audit", "--json"])
        #expect(audit.status == 0, "\(audit.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any]
        #expect(report?["ok"] as? Bool == true)
        #expect(report?["documents"] as? Int == count)
    }

    @Test(
        "audit: an image kept in the clear with its EXIF and XMP (planted under its hash) is an image-metadata finding with exit 1, naming the file and the kinds, never a value"
    )
    func auditFindsImageMetadata() throws {
        let camera = ExifCLIFixtures.images.appendingPathComponent("es_DSCN0010.jpg")
        let sha256 = "17307b1207eb6487d7908e9d154890b46e3d2e0192369cfd3f4c33d5a5af4035"
        let relative = "images/17/\(sha256).jpg"
        try FileManager.default.createDirectory(
            atPath: work + "/images/17", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: camera.path, toPath: work + "/" + relative)
        let dirty = try photoseal(["audit"])
        #expect(dirty.status == 1, "\(dirty.stdout) \(dirty.stderr)")
        #expect(dirty.stdout.contains("check image-metadata: 1 checked, 2 findings"), "\(dirty.stdout)")
        #expect(dirty.stdout.contains("finding \(relative) image exif image-metadata"), "\(dirty.stdout)")
        #expect(dirty.stdout.contains("finding \(relative) image xmp image-metadata"), "\(dirty.stdout)")
        for value in ["NIKON", "COOLPIX"] { #expect(!(dirty.stdout + dirty.stderr).contains(value)) }
        try FileManager.default.removeItem(atPath: work + "/" + relative)
        let clean = try photoseal(["audit"])
        #expect(
            clean.status == 0 && clean.stdout.contains("check image-metadata: 0 checked, 0 findings"), "\(clean.stdout)"
        )
    }

    @Test("encrypt-load refuses a document whose title holds its owner's name in NFD: exit 1, listed, not written")
    func loadRefusesNameInTitle() throws {
        let count = try prepare(limit: 20)
        // Python opens an owner name with the keys and writes it, decomposed, into the title.
        let script = """
            import sys, json, sqlite3, unicodedata
            from cryptography.fernet import Fernet, MultiFernet
            db, keys_path = sys.argv[1:3]
            keys = dict(l.strip().split("=", 1) for l in open(keys_path, encoding="utf-8") if "=" in l and l[0] != "#")
            f = MultiFernet([Fernet(k) for k in keys["SEAL_KEYS"].split(",")])
            c = sqlite3.connect(db)
            for id, body in c.execute("SELECT id, document FROM photo_document ORDER BY id").fetchall():
                d = json.loads(body)
                name = f.decrypt(d["sealed"]["owner_name"].encode()).split(b"\\n", 3)[3].decode()
                if len(name) >= 3:
                    d["title"] = "photo by " + unicodedata.normalize("NFD", name.upper())
                    c.execute("UPDATE photo_document SET document = ? WHERE id = ?", (json.dumps(d), id))
                    c.commit()
                    print(id)
                    break
            """
        let edited = try Py.run(script, [ledger, keys.path])
        try #require(edited.status == 0, "\(edited.output)")
        let victim = edited.output.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(!victim.isEmpty)
        let load = try photoseal(["encrypt-load"])
        #expect(load.status == 1, "\(load.stderr)")
        #expect(load.stderr.contains("refused \(victim): title: personal-value-in-plaintext"), "\(load.stderr)")
        #expect(load.stderr.contains("\(count - 1) loaded"), "\(load.stderr)")
        #expect(try Py.sql(storeFile, "SELECT COUNT(*) FROM documents WHERE id = '\(victim)'") == "0")
        #expect(try Py.sql(storeFile, "SELECT COUNT(*) FROM documents") == "\(count - 1)")
    }

    @Test("audit: a clean store exits 0; a document deleted behind the pipeline's back is a finding with exit 1")
    func auditCLI() throws {
        let count = try prepare(limit: 100)
        #expect(try photoseal(["encrypt-load"]).status == 0)
        let clean = try photoseal(["audit"])
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("audit: \(count) documents"))
        #expect(clean.stdout.hasSuffix("result: ok\n"))
        let victim = try Py.sql(storeFile, "SELECT id FROM documents ORDER BY id LIMIT 1 OFFSET 5")
        _ = try Py.sql(storeFile, "DELETE FROM documents WHERE id = '\(victim)'")
        let dirty = try photoseal(["audit"])
        #expect(dirty.status == 1)
        #expect(dirty.stdout.contains("finding \(victim) _id missing-from-store ledger-store"), "\(dirty.stdout)")
        let json = try photoseal(["audit", "--json"])
        #expect(json.status == 1)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let findings = report?["findings"] as? [[String: Any]]
        #expect(findings?.count == 1)
        #expect(findings?.first?["kind"] as? String == "missing-from-store")
    }

    @Test(
        "encrypt-load with a bad URI, an unreachable server or wrong credentials: exit 1 and one clear error each, no password shown"
    )
    func storeErrors() async throws {
        _ = try prepare(limit: 20)
        let bad = try photoseal(["encrypt-load", "--store", "postgres://db/photos"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("embedded:PATH"), "\(bad.stderr)")
        let unreachable = try photoseal(
            [
                "encrypt-load", "--store",
                "mongodb://127.0.0.1:9/photoseal?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
            ])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.lowercased().contains("reach"), "\(unreachable.stderr)")
        // A private server with a user (it also exits with the test process, --watch-pid).
        let server = try await MongoTestServer.start(arguments: ["--user", "loader", "--password", "right-pass"])
        let port = server.port
        let wrong = try photoseal(
            [
                "encrypt-load", "--store",
                "mongodb://loader:wrong-pass@127.0.0.1:\(port)/photoseal?authSource=admin&authMechanism=SCRAM-SHA-256",
            ])
        #expect(wrong.status == 1)
        #expect(
            wrong.stderr.lowercased().contains("authentication") || wrong.stderr.contains("authFailed"),
            "\(wrong.stderr)")
        #expect(!wrong.stderr.contains("wrong-pass"))
        let right = try photoseal(
            [
                "encrypt-load", "--store",
                "mongodb://loader:right-pass@127.0.0.1:\(port)/photoseal?authSource=admin&authMechanism=SCRAM-SHA-256",
            ])
        #expect(right.status == 0, "\(right.stderr)")
        #expect(!right.stderr.contains("right-pass"))
        try await server.stop()
    }
}
