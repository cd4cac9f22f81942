import Foundation
import TestSupport
import Testing

/// Sealed image files on the command line: the README's rotation recipe, kill -9 in the middle
/// of rotate-keys, the audit's file checks and the stripped-mode fallback in `status`. Files
/// are checked with Python `cryptography`, not with photoseal.
@Suite("sealed images under rotate-keys, keys retire, audit and status", .serialized, .tags(.integration))
struct SealedImagesCLITests {
    let dir: URL
    let keys: URL
    var work: String { dir.appendingPathComponent("work").path }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-cli-sealed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        keys = dir.appendingPathComponent("keys.env")
        try CLI.generateKeys(at: keys)
    }

    func photoseal(_ arguments: [String]) throws -> CLI.Result {
        try CLI.run(arguments + ["--keys", keys.path, "--workdir", work])
    }

    /// The seal keys in the secrets file, newest first.
    func sealKeys() throws -> [String] {
        let line = try #require(
            try String(contentsOf: keys, encoding: .utf8).split(separator: "\n").last { $0.hasPrefix("SEAL_KEYS=") })
        return line.dropFirst("SEAL_KEYS=".count).split(separator: ",").map(String.init)
    }

    /// A folder holding the fixture images (every one a distinct image); returns it and how many.
    func fixtureFolder() throws -> (URL, Int) {
        let folder = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = ingestFixtures.appendingPathComponent("images")
        var count = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where !name.hasSuffix(".json") {
            try FileManager.default.copyItem(
                at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            count += 1
        }
        return (folder, count)
    }

    /// Python opens every sealed file under `images/` with `open` (comma-separated keys, a
    /// MultiFernet), checks the SHA-256 of the image against the file name and, when `refuse`
    /// is given, that this key does not open it. Prints `ok <files>`.
    func pythonCheck(open: String, refuse: String? = nil) throws -> String {
        let script = """
            import sys, os, hashlib
            from cryptography.fernet import Fernet, MultiFernet, InvalidToken
            f = MultiFernet([Fernet(k.encode()) for k in sys.argv[2].split(",")])
            old = Fernet(sys.argv[3].encode()) if len(sys.argv) > 3 else None
            n = 0
            for root, _, names in os.walk(os.path.join(sys.argv[1], "images")):
                for name in names:
                    if not name.endswith(".fernet"):
                        continue
                    token = open(os.path.join(root, name), "rb").read()
                    image = f.decrypt(token)
                    assert hashlib.sha256(image).hexdigest() == name.split(".")[0], "wrong image: " + name
                    if old is not None:
                        try:
                            old.decrypt(token)
                            raise SystemExit("opens under the old key: " + name)
                        except InvalidToken:
                            pass
                    n += 1
            print("ok", n)
            """
        return try runPython(script, [work, open] + (refuse.map { [$0] } ?? [])).output
    }

    /// Modification times of the sealed files, in nanoseconds, by name (JSON).
    func modificationTimes() throws -> String {
        try runPython(
            """
            import sys, os, json
            out = {}
            for root, _, names in os.walk(os.path.join(sys.argv[1], "images")):
                for name in names:
                    out[name] = os.stat(os.path.join(root, name)).st_mtime_ns
            print(json.dumps(out, sort_keys=True))
            """, [work]
        ).output
    }

    /// Inode number of every sealed file: a re-sealed file is a new file renamed into place.
    func inodes() -> [String: Int] {
        let root = work + "/images"
        var out: [String: Int] = [:]
        for case let name as String in FileManager.default.enumerator(atPath: root)?.allObjects ?? []
        where name.hasSuffix(".fernet") {
            let attributes = try? FileManager.default.attributesOfItem(atPath: root + "/" + name)
            out[name] = (attributes?[.systemFileNumber] as? NSNumber)?.intValue
        }
        return out
    }

    @Test(
        "the README recipe after run --store-images sealed: retire refused with the counts, rotate-keys re-seals every image (new key alone in Python, same image, same file time), retire, audit 0",
        arguments: ["embedded", "mongodb"])
    func readmeRecipe(store: String) async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let (photos, count) = try fixtureFolder()
        // Only the first run names the store: the recipe's commands find it in the workdir.
        var mongo: String?
        if store == "mongodb" {
            mongo = MongoTestServer.uri(
                try await MongoTestServer.shared(),
                database: MongoTestServer.randomDatabase(prefix: "photoseal_recipe_"))
        }
        let run = try photoseal(
            ["run", photos.path, "--store-images", "sealed"] + (mongo.map { ["--store", $0] } ?? []))
        #expect(run.status == 0, "\(run.stderr)")
        let oldKey = try #require(try sealKeys().first)
        let oldKid = try #require(
            try CLI.run(["keys", "list", "--keys", keys.path]).stdout.split(separator: " ").dropFirst().first)
        #expect(try pythonCheck(open: oldKey) == "ok \(count)")
        let times = try modificationTimes()

        let added = try CLI.run(["keys", "add", "--keys", keys.path])
        #expect(added.status == 0)
        let newKid = try #require(added.stdout.split(separator: " ").first.map(String.init))
        let newKey = try #require(try sealKeys().first)
        let refused = try photoseal(["keys", "retire", String(oldKid)])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains(
                "\(2 * count) documents (\(count) in the store, \(count) in the ledger) and \(count) sealed images still use key \(oldKid); run `photoseal rotate-keys` first"
            ), "\(refused.stderr)")

        let rotate = try photoseal(["rotate-keys"])
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stderr.contains("\(count) sealed images re-sealed (0 already current)"), "\(rotate.stderr)")
        #expect(try pythonCheck(open: newKey, refuse: oldKey) == "ok \(count)")
        #expect(try modificationTimes() == times)

        let retired = try photoseal(["keys", "retire", String(oldKid)])
        #expect(retired.status == 0, "\(retired.stderr)")
        #expect(try sealKeys() == [newKey])
        let audit = try photoseal(["audit"])
        #expect(audit.status == 0, "\(audit.stdout)")
        #expect(audit.stdout.contains("\(count) sealed images, store"), "\(audit.stdout)")
        #expect(audit.stdout.contains("kid \(newKid): \(count) documents, "), "\(audit.stdout)")
        #expect(audit.stdout.contains(" tokens, \(count) sealed images\n"), "\(audit.stdout)")
        #expect(audit.stdout.contains("check sealed-images: \(2 * count) checked, 0 findings"), "\(audit.stdout)")
        guard let mongo else { return }
        // Every document in MongoDB opens under the new key alone (read with pymongo, opened with
        // Python cryptography).
        let dump = dir.appendingPathComponent("tokens.json").path
        let (dumped, dumpOutput) = try runPython(
            """
            import json, sys, pymongo
            docs = pymongo.MongoClient(sys.argv[1]).get_default_database().photos.find()
            json.dump([[d["_id"], t] for d in docs for t in (d.get("sealed") or {}).values() if t], open(sys.argv[2], "w"))
            """, [mongo, dump], python: mongoPython)
        #expect(dumped == 0, "\(dumpOutput)")
        let (status, output) = try runPython(
            """
            import json, sys
            from cryptography.fernet import Fernet, InvalidToken
            new, old = Fernet(sys.argv[2].encode()), Fernet(sys.argv[3].encode())
            tokens = json.load(open(sys.argv[1]))
            for doc_id, token in tokens:
                new.decrypt(token.encode())
                try:
                    old.decrypt(token.encode())
                    raise SystemExit("opens under the old key: " + doc_id)
                except InvalidToken:
                    pass
            print("ok", len(tokens))
            """, [dump, newKey, oldKey])
        #expect(status == 0 && output.hasPrefix("ok ") && output != "ok 0", "\(output)")
    }

    @Test(
        "kill -9 in the middle of rotate-keys over 200 imported sealed images: every file still opens, some re-sealed; a re-run re-seals exactly the rest, nothing lost"
    )
    func killAndResume() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("many")
        let made = try runProgram(
            [
                "python3", repositoryRoot.appendingPathComponent("scripts/bench_images.py").path, photos.path,
                "--count", "200",
            ])
        #expect(made.status == 0)
        let imported = try photoseal(["import", photos.path, "--store-images", "sealed"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let oldKey = try #require(try sealKeys().first)
        let before = inodes()
        #expect(before.count == 200)
        let added = try CLI.run(["keys", "add", "--keys", keys.path])
        let newKid = try #require(added.stdout.split(separator: " ").first.map(String.init))
        let newKey = try #require(try sealKeys().first)

        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = ["rotate-keys", "--keys", keys.path, "--workdir", work]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var killed = false
        while process.isRunning {
            if inodes().contains(where: { before[$0.key] != $0.value }) {
                kill(process.processIdentifier, SIGKILL)
                killed = true
                break
            }
            usleep(10_000)
        }
        process.waitUntilExit()
        #expect(killed && process.terminationReason == .uncaughtSignal)
        let after = inodes()
        let resealed = after.filter { before[$0.key] != $0.value }.count
        #expect(after.keys.sorted() == before.keys.sorted())
        #expect(resealed > 0 && resealed < 200, "\(resealed) of 200 re-sealed when killed")
        // Killed at any instant, every file opens under the keyring (old or new key).
        #expect(try pythonCheck(open: "\(newKey),\(oldKey)") == "ok 200")

        let again = try photoseal(["rotate-keys"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(
            again.stderr.contains("\(200 - resealed) sealed images re-sealed (\(resealed) already current)"),
            "\(again.stderr)")
        #expect(try pythonCheck(open: newKey, refuse: oldKey) == "ok 200")
        let ledgerKids = try runPython(
            """
            import sys, sqlite3
            print(sqlite3.connect(sys.argv[1]).execute(
                "SELECT group_concat(kid) FROM (SELECT DISTINCT json_extract(document, '$.seal.kid') AS kid FROM photo_document)"
            ).fetchone()[0])
            """, [work + "/ledger.sqlite"])
        #expect(ledgerKids.output == newKid)
        // No partial file of the killed rotation is left next to the images.
        let leftovers = (FileManager.default.enumerator(atPath: work + "/images")?.allObjects as? [String] ?? [])
            .filter { $0.hasSuffix(".part") }
        #expect(leftovers.isEmpty)
        let audit = try photoseal(["audit", "--json"])
        #expect(audit.status == 0, "\(audit.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any]
        #expect(report?["sealed_images"] as? Int == 200)
        let kid = (report?["kids"] as? [String: Any])?[newKid] as? [String: Any]
        #expect(kid?["images"] as? Int == 200)
        #expect((report?["kids"] as? [String: Any])?.count == 1)
    }

    @Test(
        "audit exits 1 naming a sealed file swapped for another image's, a corrupted one, and a document whose sealed file is gone"
    )
    func auditFindings() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let (photos, count) = try fixtureFolder()
        #expect(try photoseal(["run", photos.path, "--store-images", "sealed"]).status == 0)
        let files = inodes().keys.sorted()
        #expect(files.count == count)
        let root = work + "/images/"
        try FileManager.default.removeItem(atPath: root + files[0])
        try FileManager.default.copyItem(atPath: root + files[1], toPath: root + files[0])
        var token = try Data(contentsOf: URL(fileURLWithPath: root + files[2]))
        token[token.count / 2] = token[token.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try token.write(to: URL(fileURLWithPath: root + files[2]))
        try FileManager.default.removeItem(atPath: root + files[3])
        let missingID = "local:" + files[3].split(separator: "/")[1].split(separator: ".")[0]

        let audit = try photoseal(["audit"])
        #expect(audit.status == 1)
        for line in [
            "finding images/\(files[0]) image wrong-image sealed-images",
            "finding images/\(files[2]) image does-not-open sealed-images",
            "finding \(missingID) image.path missing-sealed-image sealed-images",
            "check sealed-images: \(2 * count - 1) checked, 3 findings",
        ] {
            #expect(audit.stdout.contains(line + "\n"), "\(line)\n\(audit.stdout)")
        }
        let json = try photoseal(["audit", "--json"])
        #expect(json.status == 1)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let kinds = (report?["findings"] as? [[String: Any]])?.compactMap { $0["kind"] as? String }.sorted()
        #expect(kinds == ["does-not-open", "missing-sealed-image", "wrong-image"])
    }

    @Test(
        "a truncated JPEG imported in the default stripped mode is stored sealed, and status (text and JSON) shows the fallback"
    )
    func strippedFallbackInStatus() throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let images = ingestFixtures.appendingPathComponent("images")
        let whole = try Data(contentsOf: images.appendingPathComponent("es_DSCN0010.jpg"))
        // Cut inside the 11 kB EXIF segment.
        let truncated = whole.prefix(6000)
        try truncated.write(to: folder.appendingPathComponent("cut.jpg"))
        try FileManager.default.copyItem(
            at: images.appendingPathComponent("et_Canon.jpg"), to: folder.appendingPathComponent("whole.jpg"))
        let imported = try photoseal(["import", folder.path])
        #expect(imported.status == 0, "\(imported.stderr)")

        let sealed = inodes().keys.sorted()
        #expect(sealed.count == 1)
        let sha = try runPython(
            "import sys, hashlib; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
            [folder.appendingPathComponent("cut.jpg").path]
        ).output
        #expect(sealed.first?.hasSuffix("\(sha).jpg.fernet") == true, "\(sealed)")
        #expect(try pythonCheck(open: try sealKeys().joined(separator: ",")) == "ok 1")

        let status = try photoseal(["status"])
        #expect(status.status == 0)
        #expect(
            status.stdout.contains("images stored sealed because they could not be stripped: 1 (malformed 1)\n"),
            "\(status.stdout)")
        let json = try photoseal(["status", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["sealed_fallbacks"] as? [String: Int] == ["malformed": 1], "\(json.stdout)")
    }
}
