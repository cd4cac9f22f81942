import Foundation
import TestSupport
import Testing

/// A seal key's id computed by Python (HMAC-SHA256(key, "photoseal-kid"), first 4 bytes), not by
/// photoseal: the first SEAL_KEYS entry of a secrets file.
private func primaryKid(_ keysFile: String) throws -> String {
    try runPython(
        """
        import base64, hashlib, hmac, sys
        line = [l for l in open(sys.argv[1]) if l.startswith("SEAL_KEYS=")][0]
        key = base64.urlsafe_b64decode(line.split("=", 1)[1].strip().split(",")[0])
        print(hmac.new(key, b"photoseal-kid", hashlib.sha256).hexdigest()[:8])
        """, [keysFile]
    ).1
}

/// Every file under `dir` with its size and modification time (what "writes nothing" compares).
private func snapshot(_ dir: String) throws -> [String: String] {
    var files: [String: String] = [:]
    let root = URL(fileURLWithPath: dir)
    guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [:] }
    for case let url as URL in walker {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        files[url.path] = "\(size) \(modified)"
    }
    return files
}

/// The bundled sample photos (the quickstart's).
private let samples = repositoryRoot.appendingPathComponent("samples").path

@Suite("the workdir is one job: its keys, its stores, its lock, its job file", .serialized, .tags(.integration))
struct WorkspaceCLITests {
    @Test(
        "a second run on a busy workdir exits within 1 s naming the holder; Flickr pages and Vision units are paid once"
    )
    func oneWriter() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let (flickr, vision, truth) = (servers.flickr, servers.vision, servers.truth)
        let arguments = [
            "run", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken",
            "1277942399", "--label", "animal", "--workdir", scratch.work, "--keys", scratch.keys,
            "--flickr-endpoint", flickr.endpoint, "--vision-endpoint", vision.endpoint, "--rate-per-hour", "36000",
            "--concurrency", "4",
        ]
        // The Vision server holds every call after the first until released: the first run is
        // then surely at work (and paid once) while the second tries.
        _ = try vision.json("/__config?hang_after=1")
        let first = Process()
        first.executableURL = CLI.executable
        first.arguments = arguments
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        // Wait until the first run is at work (it has fetched images), then start the second.
        let deadline = Date().addingTimeInterval(60)
        while first.isRunning, Date() < deadline, try vision.answeredCalls() < 1 { usleep(20_000) }
        #expect(first.isRunning, "the first run ended before the second could start")
        // Starting any process on a machine busy with the first run (and, in CI, every other
        // suite) takes a while by itself: the second run's time is measured beyond that of
        // `photoseal --version` started just before, the quickest of three tries.
        var seconds = Double.infinity
        var second = CLI.Result(status: 0, stdout: "", stderr: "")
        for _ in 0..<3 where first.isRunning {
            var started = Date()
            _ = try await offPool { try CLI.run(["--version"]) }
            let baseline = Date().timeIntervalSince(started)
            started = Date()
            second = try await offPool { try CLI.run(arguments) }
            seconds = min(seconds, Date().timeIntervalSince(started) - baseline)
        }
        #expect(first.isRunning, "the first run ended before the second gave up")
        #expect(second.status == 1, "\(second.stderr)")
        #expect(seconds < 1, "the second run took \(seconds) s more than starting photoseal to give up")
        _ = try vision.json("/__config?hang_after=-1")
        #expect(
            second.stderr.contains("in use by `photoseal run (pid \(first.processIdentifier))`"), "\(second.stderr)")
        try await offPool { first.waitUntilExit() }
        #expect(first.terminationStatus == 0)

        // Paid once: every Flickr search call is a distinct request, every image billed once.
        let calls = (try flickr.json("/__log") as? [[String: Any]] ?? []).compactMap { call -> String? in
            guard let params = call["params"] as? [String: Any], params["method"] as? String == "flickr.photos.search"
            else { return nil }
            return params.keys.sorted().map { "\($0)=\(params[$0] ?? "")" }.joined(separator: "&")
        }
        #expect(!calls.isEmpty && Set(calls).count == calls.count, "a Flickr page was fetched twice")
        let billed = try vision.billed()
        #expect(billed.count == truth.available.count && billed.values.allSatisfy { $0 == 1 }, "\(billed)")
    }

    @Test("a run with a foreign secrets file writes nothing and names the missing key id")
    func foreignKeys() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let made = try await offPool {
            try CLI.run(["run", samples, "--workdir", scratch.work, "--keys", scratch.keys])
        }
        #expect(made.status == 0, "\(made.stderr)")
        let other = scratch.dir.appendingPathComponent("other.env").path
        try CLI.generateKeys(at: URL(fileURLWithPath: other))
        let before = try snapshot(scratch.work)
        for arguments in [["run"], ["run", samples, "--store-images", "stripped"], ["import", samples], ["audit"]] {
            let foreign = try await offPool {
                try CLI.run(arguments + ["--workdir", scratch.work, "--keys", other])
            }
            #expect(foreign.status == 1, "\(arguments): \(foreign.stderr)")
            #expect(foreign.stderr.contains(try primaryKid(scratch.keys)), "\(foreign.stderr)")
            #expect(foreign.stderr.contains("Nothing was written"), "\(foreign.stderr)")
            #expect(!foreign.stderr.contains(try primaryKid(other)) || foreign.stderr.contains("INDEX_KEY"))
        }
        #expect(try snapshot(scratch.work) == before)
        // The workdir's own file still works.
        let again = try await offPool { try CLI.run(["audit", "--workdir", scratch.work, "--keys", scratch.keys]) }
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
    }

    @Test(
        "a workdir remembers its MongoDB store: audit, rotate-keys and keys retire use it without --store; another store gets every document"
    )
    func knownStores() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let mongo = MongoTestServer.uri(
            try await MongoTestServer.shared(), database: MongoTestServer.randomDatabase(prefix: "photoseal_ws_"))
        let common = ["--workdir", scratch.work, "--keys", scratch.keys]
        let run = try await offPool { try CLI.run(["run", samples, "--store", mongo] + common) }
        #expect(run.status == 0, "\(run.stderr)")
        let embedded = scratch.work + "/store.sqlite"

        let audit = try await offPool { try CLI.run(["audit", "--json"] + common) }
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])
        #expect(report["documents"] as? Int == 4)
        #expect((report["store"] as? String)?.hasPrefix("mongodb://") == true)
        #expect(!FileManager.default.fileExists(atPath: embedded), "an empty embedded store was created")

        // Rotation through the recorded store: a new key, rotate, retire the old one.
        let oldKid = try primaryKid(scratch.keys)
        #expect(try await offPool { try CLI.run(["keys", "add", "--keys", scratch.keys]) }.status == 0)
        let early = try await offPool { try CLI.run(["keys", "retire", oldKid] + common) }
        #expect(early.status == 1 && early.stderr.contains("4 in the store"), "\(early.stderr)")
        let rotate = try await offPool { try CLI.run(["rotate-keys"] + common) }
        #expect(rotate.status == 0 && rotate.stderr.contains("4 re-sealed in the store"), "\(rotate.stderr)")
        let retire = try await offPool { try CLI.run(["keys", "retire", oldKid] + common) }
        #expect(retire.status == 0, "\(retire.stderr)")
        #expect(!FileManager.default.fileExists(atPath: embedded), "an empty embedded store was created")

        // A second store receives every ready document; then both are audited.
        let second = scratch.dir.appendingPathComponent("second.sqlite").path
        let load = try await offPool { try CLI.run(["encrypt-load", "--store", "embedded:" + second] + common) }
        #expect(load.status == 0 && load.stderr.contains("4 loaded"), "\(load.stderr)")
        let ambiguous = try await offPool { try CLI.run(["encrypt-load"] + common) }
        #expect(ambiguous.status == 1 && ambiguous.stderr.contains("pass --store"), "\(ambiguous.stderr)")
        let both = try await offPool { try CLI.run(["audit", "--json"] + common) }
        #expect(both.status == 0, "\(both.stdout)\(both.stderr)")
        let reports = both.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(reports.count == 2 && reports.allSatisfy { $0["documents"] as? Int == 4 && $0["ok"] as? Bool == true })
        let status = try await offPool { try CLI.run(["status", "--json"] + common) }
        let stores =
            (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["stores"]
            as? [[String: Any]] ?? []
        #expect(stores.count == 2 && stores.allSatisfy { $0["loaded"] as? Int == 4 }, "\(status.stdout)")
        #expect(!status.stdout.contains("@") || !status.stdout.contains(":***"))

        // A misspelt store is an error, never an empty store that audits clean.
        let typo = scratch.dir.appendingPathComponent("typo.sqlite").path
        let missing = try await offPool { try CLI.run(["audit", "--store", "embedded:" + typo] + common) }
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: typo))
    }

    @Test("the first run records its job; run alone runs it again; a contradicting flag needs --update-job")
    func recordedJob() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let common = ["--workdir", scratch.work, "--keys", scratch.keys]
        let none = try await offPool { try CLI.run(["run"] + common) }
        #expect(none.status == 64 && none.stderr.contains("no job is recorded"), "\(none.stderr)")
        let first = try await offPool { try CLI.run(["run", samples] + common) }
        #expect(first.status == 0, "\(first.stderr)")
        let job = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.work + "/job.json")))
                as? [String: Any])
        #expect(job["source"] as? String == samples)
        #expect(job["store_images"] as? String == "stripped")
        let again = try await offPool { try CLI.run(["run"] + common) }
        #expect(again.status == 0 && again.stderr.contains("4 already known"), "\(again.stderr)")
        let contradicting = try await offPool { try CLI.run(["run", "--store-images", "sealed"] + common) }
        #expect(contradicting.status == 64, "\(contradicting.stderr)")
        #expect(contradicting.stderr.contains("--store-images") && contradicting.stderr.contains("--update-job"))
        let search = try await offPool { try CLI.run(["run", "--term", "monkey"] + common) }
        #expect(search.status == 64 && search.stderr.contains("search options"), "\(search.stderr)")
        let updated = try await offPool {
            try CLI.run(["run", "--store-images", "sealed", "--update-job"] + common)
        }
        #expect(updated.status == 0, "\(updated.stderr)")
        let status = try await offPool { try CLI.run(["status"] + common) }
        #expect(status.stdout.contains("import: \(samples)") && status.stdout.contains("images kept: sealed"))
    }

    @Test("run alone after import (no job recorded) finishes the ledger's photos and records no job")
    func backlogRun() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let common = ["--workdir", scratch.work, "--keys", scratch.keys]
        let imported = try await offPool { try CLI.run(["import", samples] + common) }
        #expect(imported.status == 0, "\(imported.stderr)")
        let run = try await offPool { try CLI.run(["run"] + common) }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("finishing the 4 photos already in the ledger"), "\(run.stderr)")
        #expect(run.stderr.contains("encrypt-load: 4 loaded") && !run.stderr.contains("import: "), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/job.json"))
        let status = try await offPool { try CLI.run(["status", "--json"] + common) }
        let stages = try #require(
            (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["stages"]
                as? [String: Int])
        #expect(stages["loaded"] == 4, "\(status.stdout)")
        // Nothing left: a second run loads nothing and says so.
        let again = try await offPool { try CLI.run(["run"] + common) }
        #expect(again.status == 0 && again.stderr.contains("encrypt-load: 0 loaded"), "\(again.stderr)")
    }
}
