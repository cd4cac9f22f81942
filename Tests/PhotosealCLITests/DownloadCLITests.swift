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
        for stage, doc in db.execute("SELECT stage, document FROM photo"):
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
    let keys = scratch.path("keys.env")
    let workdir = scratch.path("work")
    #expect(try await runCLI(["keys", "generate", "--out", keys]).status == 0)
    // 0.2 s an image, 4 at once: the whole list takes 6 s, so the kill (after 30) lands mid-run
    // even when a loaded machine delays the watcher by a second or more.
    let server = try ImageServer(delay: 0.2)
    defer { server.stop() }
    let names = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_DSCN0021.jpg", "es_DSCN0025.jpg"]
    let urls = (0..<120).map { "\(server.base)/img/\(names[$0 % names.count])?v=\($0)" }
    try Data(("url\n" + urls.joined(separator: "\n") + "\n").utf8).write(
        to: URL(fileURLWithPath: scratch.path("urls.csv")))
    let imported = try await runCLI(["import", scratch.path("urls.csv"), "--workdir", workdir, "--keys", keys])
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
    // Whatever is under images/ is a whole JPEG; partial bodies only ever lived in tmp/.
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
    #expect(files(under: workdir + "/tmp").isEmpty)
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
