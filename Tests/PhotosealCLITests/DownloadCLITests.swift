import Foundation
import TestSupport
import Testing

/// The image server of the Ingest tests, run as a subprocess.
private final class ImageServer: PythonFixtureServer, @unchecked Sendable {
    init(delay: Double) throws {
        try super.init(
            script: "image_server",
            ["--dir", ingestFixtures.appendingPathComponent("images").path, "--delay", "\(delay)"])
    }

    /// The request log: (path, outcome, complete).
    func log() throws -> [(path: String, outcome: String, complete: Bool)] {
        let data = try Data(contentsOf: URL(string: base + "/__log")!)
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.map {
            (($0["path"] as? String) ?? "", ($0["outcome"] as? String) ?? "", ($0["complete"] as? Bool) ?? false)
        }
    }
}

/// Rows of a ledger by stage, read with Python's sqlite3 (not through photoseal).
private func ledgerRows(_ workdir: String) throws -> [(stage: String, url: String, place: String)] {
    let script = """
        import json, sqlite3, sys
        db = sqlite3.connect(sys.argv[1])
        for stage, doc in db.execute("SELECT stage, document FROM photo JOIN photo_document USING (id)"):
            d = json.loads(doc)
            where = json.dumps([d.get("geo"), d.get("place")], sort_keys=True)
            print(stage + "\\t" + (d.get("image_url") or "") + "\\t" + where)
        """
    let output = try runProgram(["python3", "-c", script, workdir + "/ledger.sqlite"]).output
    return String(decoding: output, as: UTF8.self).split(separator: "\n").map {
        let parts = $0.split(separator: "\t", maxSplits: 2).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "", parts.count > 2 ? parts[2] : "")
    }
}

/// Runs the CLI on a thread of its own, so the wait does not hold one of the few threads of
/// Swift's cooperative pool (other suites' timers run there).
private func runCLI(_ arguments: [String]) async throws -> CLI.Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try CLI.run(arguments) }) }
    }
}

/// A new secrets file and workdir in `scratch`, and `photoseal import` of a URL list of `urls`
/// into it: the paths, the common options naming them, and the import's result.
private func importURLs(_ urls: [String], in scratch: borrowing Scratch) async throws -> (
    workdir: String, keys: String, common: [String], imported: CLI.Result
) {
    let keys = scratch.path("keys.env")
    let workdir = scratch.path("work")
    #expect(try await runCLI(["keys", "generate", "--out", keys]).status == 0)
    try Data(("url\n" + urls.joined(separator: "\n") + "\n").utf8).write(
        to: URL(fileURLWithPath: scratch.path("urls.csv")))
    let common = ["--workdir", workdir, "--keys", keys]
    return (workdir, keys, common, try await runCLI(["import", scratch.path("urls.csv")] + common))
}

private func files(under root: String) -> [String] {
    (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &isDirectory)
        return !isDirectory.boolValue
    }
}

@Test("download killed with SIGKILL mid-run and re-run: nothing stored is fetched again, nothing lost, no partial file")
func downloadKillAndResume() async throws {
    let scratch = try Scratch()
    // 0.2 s an image, 4 at once: the whole list takes 6 s, so the kill (after 30) lands mid-run
    // even when a loaded machine delays the watcher by a second or more.
    let server = try ImageServer(delay: 0.2)
    defer { server.stop() }
    let names = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_DSCN0021.jpg", "es_DSCN0025.jpg"]
    let urls = (0..<120).map { "\(server.base)/img/\(names[$0 % names.count])?v=\($0)" }
    let (workdir, keys, _, imported) = try await importURLs(urls, in: scratch)
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stderr.contains("120 URLs queued"))

    // Kill once some, but not all, images are stored; watched from a thread of its own, so a
    // busy cooperative pool (other suites running) cannot delay the kill.
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        Thread.detachNewThread {
            continuation.resume(
                with: Result {
                    let process = Process()
                    process.executableURL = CLI.executable
                    process.arguments = ["download", "--workdir", workdir, "--keys", keys, "--concurrency", "4"]
                    process.standardOutput = FileHandle.nullDevice
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    let deadline = Date().addingTimeInterval(20)
                    while Date() < deadline, try server.log().filter({ $0.complete }).count < 30 { usleep(20_000) }
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                })
        }
    }
    let requestsBefore = try server.log().count
    // The download extracts as it goes (its default): committed rows are at `extracted`.
    let committed = Set(try ledgerRows(workdir).filter { $0.stage == "extracted" }.map(\.url))
    #expect(committed.count >= 1 && committed.count < urls.count)
    // Whatever is under images/ is a whole JPEG; partial bodies only ever lived in unnamed files.
    for file in files(under: workdir + "/images") {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: workdir + "/images/" + file)))
        #expect(bytes.starts(with: [0xFF, 0xD8]) && bytes.suffix(2) == [0xFF, 0xD9], "\(file)")
    }

    // The re-run leaves the rest at `downloaded` (--no-extract) for the extract stage.
    let resumed = try await runCLI([
        "download", "--workdir", workdir, "--keys", keys, "--concurrency", "4", "--no-extract",
    ])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let rows = try ledgerRows(workdir)
    #expect(rows.count == urls.count)
    #expect(rows.allSatisfy { committed.contains($0.url) ? $0.stage == "extracted" : $0.stage == "downloaded" })
    let refetched = try server.log().dropFirst(requestsBefore).map { server.base + $0.path }
    #expect(Set(refetched).isDisjoint(with: committed))
    #expect(!files(under: workdir).contains { $0.hasSuffix(".part") })
    #expect(files(under: workdir + "/images").count == names.count)

    // Extract, then status shows every stage; a third download does nothing.
    let extracted = try await runCLI(["extract", "--workdir", workdir, "--keys", keys])
    #expect(extracted.status == 0, "\(extracted.stderr)")
    let rest = urls.count - committed.count
    #expect(
        extracted.stderr.contains(
            "\(rest) photos extracted (\(rest) with EXIF, \(rest) positioned from EXIF, \(rest) with a place)"))
    let status = try await runCLI(["status", "--workdir", workdir, "--json"])
    #expect(status.stdout.contains("\"extracted\":120"))
    // Extracted while downloading or by the extract stage from the sealed EXIF: the same image
    // gets the same position and place either way, and every one has a place.
    var placesByImage: [String: Set<String>] = [:]
    for row in try ledgerRows(workdir) {
        let name = String(row.url.split(separator: "/").last?.split(separator: "?").first ?? "")
        placesByImage[name, default: []].insert(row.place)
    }
    #expect(placesByImage.count == names.count)
    #expect(placesByImage.values.allSatisfy { $0.count == 1 }, "\(placesByImage)")
    #expect(placesByImage.values.allSatisfy { ($0.first ?? "").contains("\"cc\": \"IT\"") }, "\(placesByImage)")
    let before = try server.log().count
    #expect(try await runCLI(["download", "--workdir", workdir, "--keys", keys]).status == 0)
    #expect(try server.log().count == before)
}

@Test("download and import reject bad arguments with usage errors")
func downloadUsage() throws {
    #expect(try CLI.run(["download", "--concurrency", "0"]).status == 64)
    #expect(try CLI.run(["download", "--store-images", "shredded"]).status == 64)
    let missing = try CLI.run(["import", "/nonexistent/photos", "--keys", "/nonexistent/keys.env"])
    #expect(missing.status == 1)
}

/// Reads `status --failures --json` output and an export (JSON lines and CSV) with Python's
/// json and csv modules; prints {"failures": {id: [status, stage, cause, permanent]},
/// "jsonl": {id: [status, failure or null]}, "csv": {id: [status, stage, cause, permanent]}}.
private let failureReader = #"""
    import csv, json, sys
    failures = json.load(open(sys.argv[1], encoding="utf-8"))
    out = {"failures": {f["id"]: [f["status"], f["failure"]["stage"], f["failure"]["cause"], f["failure"]["permanent"]]
                        for f in failures}}
    out["jsonl"] = {d["_id"]: [d["status"], d.get("failure")]
                    for d in (json.loads(l) for l in open(sys.argv[2], encoding="utf-8"))}
    with open(sys.argv[3], newline="", encoding="utf-8") as f:
        out["csv"] = {r["id"]: [r["status"], r["failure.stage"], r["failure.cause"], r["failure.permanent"]]
                      for r in csv.DictReader(f, strict=True)}
    print(json.dumps(out))
    """#

@Test(
    "a 404 and a page that is not an image are unavailable for good, a 503 is failed and retried: the summary lists them, status --failures --json and export (jsonl, csv) say so, and only --retry-failed fetches the 404 again"
)
func downloadFailuresVisible() async throws {
    let scratch = try Scratch()
    let server = try ImageServer(delay: 0)
    defer { server.stop() }
    // What the server is told: serve, answer 404, answer an HTML page, answer 503 (99 times).
    let good = "\(server.base)/img/es_DSCN0010.jpg"
    let gone = "\(server.base)/f/404/es_DSCN0012.jpg"
    let html = "\(server.base)/f/html/es_DSCN0021.jpg"
    let flaky = "\(server.base)/f/503x99/es_DSCN0025.jpg"
    let pending = "\(server.base)/img/es_DSCN0021.jpg"
    // A URL list's ids are url:<SHA-256 of the URL>, computed here with Python's hashlib.
    let (hashed, hashes) = try runPython(
        "import hashlib, sys\nprint(' '.join(hashlib.sha256(u.encode()).hexdigest() for u in sys.argv[1:]))",
        [good, gone, html, flaky, pending])
    try #require(hashed == 0)
    let ids = hashes.split(separator: " ").map { "url:\($0)" }
    let (goodID, goneID, htmlID, flakyID, pendingID) = (ids[0], ids[1], ids[2], ids[3], ids[4])
    let (workdir, _, common, imported) = try await importURLs([good, gone, html, flaky], in: scratch)
    #expect(imported.status == 0)
    func requests(_ url: String) throws -> Int {
        try server.log().filter { server.base + $0.path == url }.count
    }

    let first = try await runCLI(["download", "--max-attempts", "2", "--retry-base-delay", "0"] + common)
    #expect(first.status == 1, "\(first.stderr)")
    #expect(first.stderr.contains("failures recorded in this run: 3 (2 permanent, 1 transient):"), "\(first.stderr)")
    for (id, said) in [
        (goneID, "download, permanent"), (htmlID, "download, permanent"), (flakyID, "download, transient"),
    ] {
        #expect(first.stderr.contains("  \(id) (\(said)): "), "\(first.stderr)")
    }
    #expect(first.stderr.contains("`photoseal status --failures --workdir \(workdir)`"), "\(first.stderr)")
    // A later import adds a photo no download has tried yet.
    try Data("url\n\(pending)\n".utf8).write(to: URL(fileURLWithPath: scratch.path("more.csv")))
    #expect(try await runCLI(["import", scratch.path("more.csv")] + common).status == 0)

    let listed = try await runCLI(["status", "--failures", "--json"] + common)
    #expect(listed.status == 0, "\(listed.stderr)")
    let text = try await runCLI(["status", "--failures"] + common)
    #expect(text.stdout.split(separator: "\n").count == 3 && text.stdout.contains("\(goneID) (download, permanent): "))
    let jsonl = try await runCLI(["export", "--format", "jsonl"] + common)
    let csv = try await runCLI(["export", "--format", "csv"] + common)
    #expect(jsonl.status == 0 && csv.status == 0, "\(jsonl.stderr)\(csv.stderr)")
    for (name, result) in [("failures.json", listed), ("export.jsonl", jsonl), ("export.csv", csv)] {
        try Data(result.stdout.utf8).write(to: URL(fileURLWithPath: scratch.path(name)))
    }
    let (read, output) = try runPython(
        failureReader, [scratch.path("failures.json"), scratch.path("export.jsonl"), scratch.path("export.csv")])
    try #require(read == 0, "\(output)")
    let parsed = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [String: [Any]]])
    // Every refused URL, and only those, with the stage and cause the server's answer implies.
    let failures = try #require(parsed["failures"])
    #expect(Set(failures.keys) == [goneID, htmlID, flakyID])
    func row(_ values: [Any]?) -> [String] { (values ?? []).map { "\($0)" } }
    #expect(row(failures[goneID]) == ["unavailable", "download", "http-404", "1"])
    #expect(row(failures[htmlID]) == ["unavailable", "download", "not-an-image", "1"])
    #expect(row(failures[flakyID]) == ["failed", "download", "http-503", "0"])
    // The export: failed and unavailable photos carry their failure; stored and pending ones none.
    let lines = try #require(parsed["jsonl"])
    let records = try #require(parsed["csv"])
    #expect(Set(lines.keys) == Set(ids) && Set(records.keys) == Set(ids))
    for (id, status, failure) in [
        (goneID, "unavailable", ["download", "http-404", "true"]),
        (htmlID, "unavailable", ["download", "not-an-image", "true"]),
        (flakyID, "failed", ["download", "http-503", "false"]), (goodID, "extracted", ["", "", ""]),
        (pendingID, "found", ["", "", ""]),
    ] {
        #expect(row(records[id]) == [status] + failure, "\(id)")
        #expect(lines[id]?.first as? String == status, "\(id)")
        let object = lines[id]?.last as? [String: Any]
        if failure[0].isEmpty {
            #expect(lines[id]?.last is NSNull, "\(id)")
        } else {
            #expect(object?["stage"] as? String == failure[0] && object?["cause"] as? String == failure[1], "\(id)")
            #expect(object?["permanent"] as? Bool == (failure[2] == "true"), "\(id)")
        }
    }

    // The next download fetches the 503 again (and the new photo), never the 404 or the page.
    let before = (try requests(gone), try requests(html), try requests(flaky))
    #expect(before == (1, 1, 2))
    let second = try await runCLI(["download", "--max-attempts", "2", "--retry-base-delay", "0"] + common)
    #expect(second.status == 1, "\(second.stderr)")
    #expect(try requests(gone) == 1 && requests(html) == 1 && requests(flaky) == 4)
    #expect(second.stderr.contains("2 photos failed for good in earlier runs"), "\(second.stderr)")
    let retried = try await runCLI(
        ["download", "--max-attempts", "2", "--retry-base-delay", "0", "--retry-failed"] + common)
    #expect(retried.status == 1, "\(retried.stderr)")
    #expect(try requests(gone) == 2 && requests(html) == 2 && requests(flaky) == 6)
}

@Test("download's summary counts what extracting as it went found, and extract then says nothing was waiting")
func extractSummaryCountsWhatHappened() async throws {
    let scratch = try Scratch()
    let server = try ImageServer(delay: 0)
    defer { server.stop() }
    let names = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_DSCN0021.jpg", "es_DSCN0025.jpg"]
    let (workdir, _, common, imported) = try await importURLs(names.map { "\(server.base)/img/\($0)" }, in: scratch)
    #expect(imported.status == 0)
    let downloaded = try await runCLI(["download"] + common)
    #expect(downloaded.status == 0, "\(downloaded.stderr)")
    // The counts the summary gives are those of the ledger, read without photoseal.
    let rows = try ledgerRows(workdir)
    let placed = rows.filter { !$0.place.hasSuffix("null]") }.count
    let fromExif = rows.filter { $0.place.contains("\"source\": \"exif\"") }.count
    #expect(placed > 0 && fromExif > 0, "\(rows)")
    #expect(
        downloaded.stderr.contains("\(fromExif) positioned from EXIF, \(placed) with a place"), "\(downloaded.stderr)")
    let extracted = try await runCLI(["extract"] + common)
    #expect(extracted.status == 0, "\(extracted.stderr)")
    #expect(extracted.stderr.contains("no photo was waiting to be extracted (\(names.count) already extracted"))
    #expect(!extracted.stderr.contains("0 with a place"), "\(extracted.stderr)")
}

@Test(
    "import of a folder with a FIFO and a URL list with a bad row: exit 0, the rest imported, the bad items named by position only"
)
func importSkipsBadItems() async throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    #expect(try await runCLI(["keys", "generate", "--out", keys]).status == 0)
    let folder = scratch.path("photos")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(
        atPath: ExifCLIFixtures.path("es_DSCN0010.jpg"), toPath: folder + "/a.jpg")
    // As root, chmod 000 does not stop reading: a FIFO is the unreadable file here (item 1:
    // upper case sorts first).
    try #require(mkfifo(folder + "/Alice_Smith.jpg", 0o600) == 0)
    let common = ["--workdir", scratch.path("work"), "--keys", keys]
    let imported = try await runCLI(["import", folder] + common)
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stderr.contains("1 images stored"), "\(imported.stderr)")
    #expect(imported.stderr.contains("item 1 skipped"), "\(imported.stderr)")
    #expect(imported.stderr.contains("1 unreadable (skipped)"), "\(imported.stderr)")
    #expect(!imported.stderr.contains("Alice"), "\(imported.stderr)")
    try Data("url\nhttp://127.0.0.1:9/a.jpg\nftp://Alice_Smith/x.jpg\nhttp://127.0.0.1:9/b.jpg\n".utf8).write(
        to: URL(fileURLWithPath: scratch.path("urls.csv")))
    let listed = try await runCLI(["import", scratch.path("urls.csv")] + common)
    #expect(listed.status == 0, "\(listed.stderr)")
    #expect(listed.stderr.contains("2 URLs queued"), "\(listed.stderr)")
    #expect(listed.stderr.contains("row 3 has no http(s) URL"), "\(listed.stderr)")
    #expect(!listed.stderr.contains("Alice"), "\(listed.stderr)")
}
