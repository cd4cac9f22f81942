import Foundation
import TestSupport
import Testing

/// Runs blocking work on a thread of its own, off Swift's cooperative pool (other suites'
/// timers run there while this waits on subprocesses).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// One SQL value read with Python's sqlite3 (not through photoseal).
private func sql(_ database: String, _ statement: String) throws -> String {
    try runPython(
        "import sqlite3, sys\nr = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall()\n"
            + "print('\\n'.join('\\t'.join(str(v) for v in row) for row in r))",
        [database, statement]
    ).1
}

/// The image server serving a folder the test fills.
final class RunImageServer: PythonFixtureServer, @unchecked Sendable {
    init(dir: String, delay: Double, dribbleSeconds: Double = 30) throws {
        try super.init(
            script: "image_server", ["--dir", dir, "--delay", "\(delay)", "--dribble-seconds", "\(dribbleSeconds)"])
    }

    /// Paths served whole.
    func completePaths() throws -> [String] {
        (try json("/__log") as? [[String: Any]] ?? []).compactMap {
            ($0["complete"] as? Bool) == true ? $0["path"] as? String : nil
        }
    }

    /// Every request's path.
    func requestedPaths() throws -> [String] {
        (try json("/__log") as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
    }
}

/// The local Vision server.
final class RunVisionServer: PythonFixtureServer, @unchecked Sendable {
    static let apiKey = "test-vision-key"
    var endpoint: String { base + "/v1/images:annotate" }
    init(_ arguments: [String] = []) throws { try super.init(script: "vision_server", arguments) }

    /// Units billed per image SHA-256.
    func billed() throws -> [String: Int] {
        (try json("/__billed") as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    /// Calls answered with labels.
    func answeredCalls() throws -> Int {
        (try json("/__log") as? [[String: Any]] ?? []).filter { ($0["status"] as? Int) == 200 }.count
    }
}

/// A scratch folder with a secrets file that has the test servers' API keys.
struct RunScratch {
    let dir: URL
    var keys: String { dir.appendingPathComponent("keys.env").path }
    var work: String { dir.appendingPathComponent("work").path }
    var images: String { dir.appendingPathComponent("served").path }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            atPath: dir.appendingPathComponent("served").path, withIntermediateDirectories: true)
        try CLI.generateKeys(
            at: URL(fileURLWithPath: keys),
            extra: ["FLICKR_API_KEY=\(FlickrServer.apiKey)", "GOOGLE_VISION_API_KEY=\(RunVisionServer.apiKey)"])
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    /// Writes one distinct JPEG per id into the served folder: a fixture photo (with EXIF and
    /// GPS) with, right after its start-of-image marker, a quantization table in slot 3 (which
    /// no frame uses) whose values spell the id. Stripping keeps quantization tables, so the
    /// images stay distinct in every `--store-images` mode and still decode.
    func serveImages(for ids: [String]) throws {
        let names = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_DSCN0021.jpg", "es_DSCN0025.jpg"]
        let originals = try names.map { try Data(contentsOf: ingestFixtures.appendingPathComponent("images/\($0)")) }
        for (index, id) in ids.enumerated() {
            let original = originals[index % originals.count]
            var table = Array("photo \(id)".utf8.prefix(64))
            table += [UInt8](repeating: 1, count: 64 - table.count)
            var data = Data([0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x03])
            data.append(contentsOf: table.map { max($0, 1) })
            data.append(original.dropFirst(2))
            try data.write(to: URL(fileURLWithPath: images + "/\(id).jpg"))
        }
    }
}

/// The local Flickr, image and Vision servers of a `run`, with the images of every photo the
/// Flickr server has for `monkey` in the box 5,35,20,48 from January 2010 to `maxTaken`
/// (unix seconds, inclusive; default the end of June 2010) served.
struct RunServers {
    let images: RunImageServer
    let flickr: FlickrServer
    let vision: RunVisionServer
    /// Every matching photo, and those with an image (the others are unavailable).
    let truth: (all: [String], available: [String])

    init(_ scratch: RunScratch, imageDelay: Double = 0, maxTaken: String = "1277942399") throws {
        images = try RunImageServer(dir: scratch.images, delay: imageDelay)
        flickr = try FlickrServer(["--per-second", "15", "--image-server", images.base])
        vision = try RunVisionServer()
        truth = try flickrTruth(flickr, term: "monkey", bbox: "5,35,20,48", min: "1262304000", max: maxTaken)
        try scratch.serveImages(for: truth.all)
    }

    func stop() {
        images.stop()
        flickr.stop()
        vision.stop()
    }
}

/// The photos the Flickr server's own data says match a query: all, and those with an image.
func flickrTruth(_ server: FlickrServer, term: String, bbox: String, min: String, max: String) throws
    -> (all: [String], available: [String])
{
    let answer =
        try server.json("/__truth?term=\(term)&bbox=\(bbox)&min_taken_date=\(min)&max_taken_date=\(max)")
        as? [String: Any] ?? [:]
    let all = (answer["photos"] as? [String: Any] ?? [:]).keys.sorted()
    let available = answer["available"] as? [String] ?? []
    return (all, available)
}

/// The Python of the mongoeco venv, which has pymongo.
var mongoPython: String {
    let venv =
        ProcessInfo.processInfo.environment["PHOTOSEAL_MONGO_VENV"]
        ?? repositoryRoot.appendingPathComponent(".venv-mongo").path
    return venv + "/bin/python"
}

/// Checks stored documents with Python `cryptography` (not photoseal): every sealed token
/// opens under the keys file's SEAL_KEYS with an envelope naming its document and field, and
/// `scores.<label>` is exactly what the Vision server's own labelling rule gives the bytes it
/// was sent, the stored image file (`derived_labels` of vision_server.py on their SHA-256;
/// whole-word, case-insensitive match). Prints `documents tokens scored` or the first problem.
private let verifyScript = """
    import hashlib, json, os, sys, re
    from cryptography.fernet import Fernet, MultiFernet
    docs = json.load(open(sys.argv[1]))
    keys = [l.split("=", 1)[1].strip() for l in open(sys.argv[2]) if l.startswith("SEAL_KEYS=")][0]
    f = MultiFernet([Fernet(k) for k in keys.split(",")])
    sys.path.insert(0, sys.argv[3])
    from vision_server import derived_labels
    labels = sys.argv[4].split(",")
    tokens = scored = 0
    for d in docs:
        for field, token in (d.get("sealed") or {}).items():
            if token is None:
                continue
            version, doc_id, name, value = f.decrypt(token.encode()).split(b"\\n", 3)
            if version != b"ps1" or doc_id.decode() != d["_id"] or name.decode() != field:
                print("bad envelope", d["_id"], field); sys.exit(1)
            tokens += 1
        sent = open(os.path.join(sys.argv[5], d["image"]["path"]), "rb").read()
        returned = derived_labels(hashlib.sha256(sent).hexdigest())
        for label in labels:
            want = [l["score"] for l in returned if re.search(r"\\b%s\\b" % re.escape(label), l["description"], re.I)]
            got = (d.get("scores") or {}).get(label)
            if (max(want) if want else None) != got:
                print("score mismatch", d["_id"], label, want, got); sys.exit(1)
            if got is not None:
                scored += 1
    print(len(docs), tokens, scored)
    """

@Suite("photoseal run: the whole pipeline end to end", .serialized, .tags(.integration))
struct RunCLITests {
    @Test(
        "run searches, downloads, extracts, scores and loads into MongoDB; audit passes; the store holds every available photo with tokens that open in Python and the server's scores"
    )
    func endToEndMongo() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let (flickr, vision, truth) = (servers.flickr, servers.vision, servers.truth)
        let store = MongoTestServer.uri(
            try await MongoTestServer.shared(), database: MongoTestServer.randomDatabase(prefix: "photoseal_run_"))
        #expect(truth.all.count > 100 && truth.available.count < truth.all.count)

        let arguments = [
            "run", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken",
            "1277942399", "--label", "animal", "--label", "sky", "--workdir", scratch.work, "--keys", scratch.keys,
            "--store", store, "--flickr-endpoint", flickr.endpoint, "--vision-endpoint", vision.endpoint,
            "--rate-per-hour", "36000", "--concurrency", "8",
        ]
        let run = try await offPool { try CLI.run(arguments) }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("\(truth.all.count - truth.available.count) unavailable"), "\(run.stderr)")
        #expect(run.stderr.contains("encrypt-load: \(truth.available.count) loaded"), "\(run.stderr)")
        #expect(!run.stderr.contains("score: skipped"))

        let audit = try await offPool {
            try CLI.run(["audit", "--json", "--store", store, "--workdir", scratch.work, "--keys", scratch.keys])
        }
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])
        #expect(report["ok"] as? Bool == true)
        #expect(report["documents"] as? Int == truth.available.count)
        #expect(report["ledger_checked"] as? Bool == true)
        #expect((report["findings"] as? [Any])?.isEmpty == true)

        // The store, read with pymongo: one document per available photo, ids as Flickr's.
        let dump = scratch.dir.appendingPathComponent("docs.json").path
        let (dumped, dumpOutput) = try runPython(
            """
            import json, sys, pymongo
            db = pymongo.MongoClient(sys.argv[1]).get_default_database()
            docs = list(db.photos.find())
            json.dump(docs, open(sys.argv[2], "w"), default=str)
            print(len(docs))
            """, [store, dump], python: mongoPython)
        #expect(dumped == 0, "\(dumpOutput)")
        #expect(Int(dumpOutput) == truth.available.count, "\(dumpOutput)")
        let ids = try runPython(
            "import json, sys\nprint(' '.join(sorted(d['_id'] for d in json.load(open(sys.argv[1])))))", [dump]
        ).1
        #expect(ids == truth.available.map { "flickr:\($0)" }.sorted().joined(separator: " "))
        // The extract summary counts the places given while downloading (most rows), as stored.
        let placed = try runPython(
            "import json, sys\nprint(sum(1 for d in json.load(open(sys.argv[1])) if d.get('place')))", [dump]
        ).1
        #expect(placed != "0" && run.stderr.contains(" \(placed) with a place; "), "\(placed): \(run.stderr)")
        let (verified, counts) = try runPython(
            verifyScript,
            [
                dump, scratch.keys, ingestFixtures.appendingPathComponent("servers").path, "animal,sky",
                scratch.work,
            ])
        #expect(verified == 0, "\(counts)")
        let numbers = counts.split(separator: " ").compactMap { Int($0) }
        // owner, owner name and EXIF at least on every document; some photos score on each label.
        #expect(numbers.count == 3 && numbers[1] >= 3 * truth.available.count && numbers[2] > 0, "\(counts)")
        // Every available image billed exactly once.
        let billed = try vision.billed()
        #expect(billed.count == truth.available.count && billed.values.allSatisfy { $0 == 1 })
    }

    @Test(
        "run killed with SIGKILL mid-run and run again: no committed image fetched again, no Flickr page or Vision image paid twice, the store complete"
    )
    func killAndResume() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        // The whole of 2010.
        let servers = try RunServers(scratch, imageDelay: 0.03, maxTaken: "1293839999")
        defer { servers.stop() }
        let (images, flickr, vision, truth) = (servers.images, servers.flickr, servers.vision, servers.truth)
        // Two Vision calls are answered, the next ones hang (and are never billed).
        _ = try vision.json("/__config?hang_after=2")
        let arguments = [
            "run", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken",
            "1293839999", "--label", "animal", "--workdir", scratch.work, "--keys", scratch.keys,
            "--flickr-endpoint", flickr.endpoint, "--vision-endpoint", vision.endpoint, "--rate-per-hour", "36000",
            "--concurrency", "4",
        ]
        let killed = try await offPool { () -> Bool in
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning, Date() < deadline {
                if try vision.answeredCalls() >= 2, try images.completePaths().count >= 40 { break }
                usleep(20_000)
            }
            usleep(300_000)
            let running = process.isRunning
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return running
        }
        #expect(killed)
        let ledger = scratch.work + "/ledger.sqlite"
        let committed = Set(
            try sql(ledger, "SELECT id FROM photo WHERE stage NOT IN ('found', 'failed')").split(separator: "\n").map {
                "/img/\($0.dropFirst("flickr:".count)).jpg"
            })
        #expect(!committed.isEmpty)
        let requestsBefore = try images.requestedPaths().count
        let billedBefore = try vision.billed()
        #expect(!billedBefore.isEmpty)
        _ = try vision.json("/__config?hang_after=-1")

        let resumed = try await offPool { try CLI.run(arguments) }
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let refetched = Set(try images.requestedPaths().dropFirst(requestsBefore))
        #expect(refetched.isDisjoint(with: committed))
        // Each available image billed once in all, including the images billed before the kill.
        let billed = try vision.billed()
        #expect(billed.count == truth.available.count && billed.values.allSatisfy { $0 == 1 }, "\(billed.count)")
        // No Flickr page asked for twice.
        let pages = (try flickr.json("/__log") as? [[String: Any]] ?? []).compactMap { entry -> String? in
            guard entry["outcome"] as? String == "ok", let params = entry["params"] as? [String: String],
                params["method"] == "flickr.photos.search"
            else { return nil }
            return ["text", "bbox", "min_taken_date", "max_taken_date", "page"].map { params[$0] ?? "" }.joined(
                separator: "|")
        }
        #expect(Set(pages).count == pages.count && !pages.isEmpty)
        // The store is complete.
        let stored = try sql(scratch.work + "/store.sqlite", "SELECT COUNT(*) FROM documents")
        #expect(Int(stored) == truth.available.count)
        #expect(
            try sql(ledger, "SELECT stage, COUNT(*) FROM photo GROUP BY stage ORDER BY stage")
                == "loaded\t\(truth.available.count)\nunavailable\t\(truth.all.count - truth.available.count)")
    }

    @Test(
        "run from a URL list stopped with SIGINT (SIGTERM) exits 130 (143) with every fetched image committed; run again, it finishes without fetching one again, and audit passes",
        arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func interruptAndResumeImport(signal: Int32, exitStatus: Int32) async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let images = try RunImageServer(dir: scratch.images, delay: 0.1)
        defer { images.stop() }
        let ids = (0..<150).map { String(1000 + $0) }
        try scratch.serveImages(for: ids)
        let list = scratch.dir.appendingPathComponent("urls.csv").path
        try Data(("url\n" + ids.map { "\(images.base)/img/\($0).jpg" }.joined(separator: "\n") + "\n").utf8).write(
            to: URL(fileURLWithPath: list))
        let arguments = ["run", list, "--workdir", scratch.work, "--keys", scratch.keys, "--concurrency", "4"]
        let (status, errors) = try await offPool { () -> (Int32, String) in
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = arguments
            let errURL = scratch.dir.appendingPathComponent("stderr")
            _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
            let handle = try FileHandle(forWritingTo: errURL)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = handle
            try process.run()
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning, Date() < deadline, try images.completePaths().count < 30 { usleep(20_000) }
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            try handle.close()
            return (process.terminationStatus, String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
        }
        #expect(status == exitStatus, "\(errors)")
        #expect(errors.contains("interrupted"), "\(errors)")
        let ledger = scratch.work + "/ledger.sqlite"
        let downloaded = Int(try sql(ledger, "SELECT COUNT(*) FROM photo WHERE stage NOT IN ('found', 'failed')")) ?? 0
        let served = Set(try images.completePaths())
        // Every image served whole before the exit was committed (none left in flight).
        #expect(downloaded == served.count && downloaded < ids.count, "\(downloaded) \(served.count)")
        #expect(
            !(FileManager.default.enumerator(atPath: scratch.work)?.allObjects as? [String] ?? []).contains {
                $0.hasSuffix(".part")
            })
        let requestsBefore = try images.requestedPaths().count

        let resumed = try await offPool { try CLI.run(arguments) }
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("score: skipped"))
        let refetched = Set(try images.requestedPaths().dropFirst(requestsBefore))
        #expect(refetched.isDisjoint(with: served) && refetched.count == ids.count - served.count)
        #expect(Int(try sql(scratch.work + "/store.sqlite", "SELECT COUNT(*) FROM documents")) == ids.count)
        let audit = try await offPool { try CLI.run(["audit", "--workdir", scratch.work, "--keys", scratch.keys]) }
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
    }

    @Test(
        "run with images Vision refuses as bad image data: exit 1 with the refusals listed and in status --failures --json; a second run sends none of them again; --retry-failed sends them and loads them"
    )
    func refusedImagesAreListedAndNotSentAgain() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let images = try RunImageServer(dir: scratch.images, delay: 0)
        defer { images.stop() }
        let ids = (0..<20).map { String(2000 + $0) }
        try scratch.serveImages(for: ids)
        let urls = ids.map { "\(images.base)/img/\($0).jpg" }
        // With --store-images plain the bytes sent are the served files: refuse three of them
        // once. Their SHA-256 and the ids photoseal gives the URLs (url:<SHA-256 of the URL>)
        // are computed with Python's hashlib.
        let (hashed, hashes) = try runPython(
            """
            import hashlib, sys
            files, urls = sys.argv[1:4], sys.argv[4:]
            print(" ".join(hashlib.sha256(open(f, "rb").read()).hexdigest() for f in files))
            print(" ".join("url:" + hashlib.sha256(u.encode()).hexdigest() for u in urls))
            """, ids.prefix(3).map { scratch.images + "/\($0).jpg" } + urls.prefix(3))
        try #require(hashed == 0, "\(hashes)")
        let hashLines = hashes.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let (refused, refusedIDs) = (hashLines[0], Set(hashLines[1]))
        let labels = scratch.dir.appendingPathComponent("vision.json")
        try JSONSerialization.data(withJSONObject: ["errors": Dictionary(uniqueKeysWithValues: refused.map { ($0, 1) })]
        )
        .write(to: labels)
        let vision = try RunVisionServer(["--labels", labels.path])
        defer { vision.stop() }
        /// How many times the Vision server was sent each refused image.
        func sent() throws -> [Int] {
            let log = try vision.json("/__log") as? [[String: Any]] ?? []
            let shas = log.flatMap { ($0["images"] as? [[String: Any]] ?? []).compactMap { $0["sha256"] as? String } }
            return refused.map { sha in shas.filter { $0 == sha }.count }
        }
        let list = scratch.dir.appendingPathComponent("urls.csv").path
        try Data(("url\n" + urls.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: list))
        let arguments = [
            "run", list, "--workdir", scratch.work, "--keys", scratch.keys, "--store-images", "plain", "--label",
            "animal", "--vision-endpoint", vision.endpoint,
        ]
        let first = try await offPool { try CLI.run(arguments) }
        #expect(first.status == 1, "\(first.stderr)")
        #expect(first.stderr.contains("3 photos with errors"), "\(first.stderr)")
        #expect(first.stderr.contains("run: 3 photos failed or were refused"), "\(first.stderr)")
        #expect(
            first.stderr.contains("failures recorded in this run: 3 (3 permanent, 0 transient):"), "\(first.stderr)")
        for id in refusedIDs { #expect(first.stderr.contains("  \(id) (score, permanent): "), "\(first.stderr)") }
        #expect(first.stderr.contains("photoseal status --failures --workdir \(scratch.work)"), "\(first.stderr)")
        let store = scratch.work + "/store.sqlite"
        #expect(Int(try sql(store, "SELECT COUNT(*) FROM documents")) == ids.count - 3)
        #expect(try sent() == [1, 1, 1])

        // status --failures --json, read with Python's json: exactly the refused photos.
        let status = try CLI.run(["status", "--failures", "--json", "--workdir", scratch.work])
        #expect(status.status == 0, "\(status.stderr)")
        let statusFile = scratch.dir.appendingPathComponent("failures.json").path
        try Data(status.stdout.utf8).write(to: URL(fileURLWithPath: statusFile))
        let (read, listed) = try runPython(
            """
            import json, sys
            for f in json.load(open(sys.argv[1])):
                print(f["id"], f["status"], f["failure"]["stage"], f["failure"]["permanent"], f["failure"]["cause"])
            """, [statusFile])
        #expect(read == 0, "\(listed)")
        let entries = listed.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 4).map(String.init) }
        #expect(Set(entries.map { $0[0] }) == refusedIDs && entries.count == 3, "\(listed)")
        for entry in entries {
            #expect(entry[1...3] == ["failed", "score", "True"], "\(entry)")
            #expect(entry[4].contains("Bad image data"), "\(entry)")
        }

        // A second run sends none of them again, and says why.
        let second = try await offPool { try CLI.run(arguments) }
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("3 photos failed for good in earlier runs"), "\(second.stderr)")
        #expect(try sent() == [1, 1, 1])
        #expect(Int(try sql(store, "SELECT COUNT(*) FROM documents")) == ids.count - 3)

        // --retry-failed sends them once more (now labelled) and loads them.
        let third = try await offPool { try CLI.run(arguments + ["--retry-failed"]) }
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try sent() == [2, 2, 2])
        #expect(Int(try sql(store, "SELECT COUNT(*) FROM documents")) == ids.count)
        let billed = try vision.billed()
        #expect(billed.count == ids.count && billed.values.allSatisfy { $0 == 1 })
        #expect(try CLI.run(["status", "--failures", "--json", "--workdir", scratch.work]).stdout == "[]\n")
    }

    @Test("run imports a folder into the embedded store: every image loaded, a second run changes nothing")
    func folderImport() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let folder = ingestFixtures.appendingPathComponent("images").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        let imageCount = files.filter { name in [".jpg", ".png", ".webp"].contains { name.hasSuffix($0) } }.count
        let first = try await offPool {
            try CLI.run(["run", folder, "--workdir", scratch.work, "--keys", scratch.keys])
        }
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("score skipped: no --label or --labels-file given"))
        #expect(first.stderr.contains("import: \(files.count) items: \(imageCount) images stored"), "\(first.stderr)")
        #expect(Int(try sql(scratch.work + "/store.sqlite", "SELECT COUNT(*) FROM documents")) == imageCount)
        let second = try await offPool {
            try CLI.run(["run", folder, "--workdir", scratch.work, "--keys", scratch.keys])
        }
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("encrypt-load: 0 loaded, 0 unchanged, 0 refused; 0 store writes"))
    }

    @Test(
        "run refuses both a source and search options, neither, or a bad flag, with usage errors",
        arguments: [
            ["run", "photos", "--term", "monkey"],
            ["run"],
            ["run", "--term", "monkey", "--concurrency", "0"],
            ["run", "--term", "monkey", "--batch-size", "0"],
            ["run", "--term", "monkey", "--search-concurrency", "99"],
        ])
    func usage(arguments: [String]) throws {
        // A workdir of its own: a ./photoseal-work left in the test's folder would hold a job.
        let result = try CLI.run(arguments + ["--keys", "/nonexistent/keys.env", "--workdir", "/nonexistent/work"])
        #expect(result.status == 64, "\(result.stderr)")
    }
}
