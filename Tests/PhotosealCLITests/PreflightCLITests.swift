import Foundation
import TestSupport
import Testing

/// The Flickr server's log of `flickr.photos.search` calls (the paged, counted ones).
private func searchCalls(_ flickr: FlickrServer) throws -> [[String: Any]] {
    (try flickr.json("/__log") as? [[String: Any]] ?? []).filter {
        ($0["params"] as? [String: Any])?["method"] as? String == "flickr.photos.search"
    }
}

@Suite("run checks before it spends: store, keys, dry run, cost cap", .serialized, .tags(.integration))
struct PreflightCLITests {
    static let query = [
        "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken", "1277942399",
    ]

    @Test("a wrong MongoDB password is reported before the first Flickr page, without the password")
    func wrongPassword() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let flickr = try FlickrServer(["--per-second", "15"])
        defer { flickr.stop() }
        let mongo = try await MongoTestServer.start(arguments: ["--user", "loader", "--password", "right-pass"])
        defer { Task { try? await mongo.stop() } }
        let store = MongoTestServer.uri(
            mongo.uri.replacingOccurrences(of: "mongodb://", with: "mongodb://loader:Wr0ngPa55@"),
            database: "photoseal", options: "authSource=admin")
        let started = Date()
        let run = try await offPool {
            try CLI.run(
                ["run"] + Self.query + [
                    "--workdir", scratch.work, "--keys", scratch.keys, "--store", store, "--flickr-endpoint",
                    flickr.endpoint,
                ])
        }
        #expect(run.status == 1, "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(run.stderr.contains("credentials") && !run.stderr.contains("Wr0ngPa55"), "\(run.stderr)")
        #expect(try searchCalls(flickr).isEmpty, "a Flickr page was fetched before the store was checked")
        #expect(!FileManager.default.fileExists(atPath: scratch.work + "/ledger.sqlite"))
    }

    @Test(
        "an unreachable Flickr, Vision or MongoDB endpoint fails within 15 s naming it",
        arguments: ["flickr", "vision", "mongodb"])
    func deadEndpoint(_ which: String) async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let flickr = try FlickrServer(["--per-second", "15"])
        defer { flickr.stop() }
        let vision = try RunVisionServer()
        defer { vision.stop() }
        let port = try await closedLoopbackPort()
        let dead = "127.0.0.1:\(port)"
        var arguments =
            ["run"] + Self.query + [
                "--label", "animal", "--workdir", scratch.work, "--keys", scratch.keys, "--flickr-endpoint",
                which == "flickr" ? "http://\(dead)/services/rest/" : flickr.endpoint, "--vision-endpoint",
                which == "vision" ? "http://\(dead)/v1/images:annotate" : vision.endpoint,
            ]
        if which == "mongodb" { arguments += ["--store", "mongodb://\(dead)/photoseal"] }
        let started = Date()
        let command = arguments
        let run = try await offPool { try CLI.run(command) }
        let seconds = Date().timeIntervalSince(started)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(seconds < 15, "\(which): \(seconds) s")
        #expect(run.stderr.contains(dead), "\(run.stderr)")
        #expect(!run.stderr.contains(FlickrServer.apiKey) && !run.stderr.contains(RunVisionServer.apiKey))
        #expect(try searchCalls(flickr).isEmpty, "a Flickr page was fetched before every check passed")
        #expect(try vision.billed().isEmpty)
    }

    @Test("run --dry-run prints each query's photos from the server, the images to label and the price; spends nothing")
    func dryRun() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let flickr = try FlickrServer(["--per-second", "15"])
        defer { flickr.stop() }
        let vision = try RunVisionServer()
        defer { vision.stop() }
        let truth =
            try flickr.json(
                "/__truth?term=monkey&term=scimmia&bbox=5,35,20,48&min_taken_date=1262304000&max_taken_date=1277942399")
            as? [String: Any] ?? [:]
        let totals = try #require(truth["totals"] as? [String: Int])
        let run = try await offPool {
            try CLI.run(
                ["run", "--dry-run", "--term", "scimmia"] + Self.query + [
                    "--label", "animal", "--workdir", scratch.work, "--keys", scratch.keys, "--flickr-endpoint",
                    flickr.endpoint, "--vision-endpoint", vision.endpoint,
                ])
        }
        #expect(run.status == 0, "\(run.stderr)")
        for term in ["monkey", "scimmia"] {
            let line = run.stdout.split(separator: "\n").first { $0.hasPrefix("query term \"\(term)\"") } ?? ""
            #expect(line.hasSuffix(": \(totals[term] ?? -1) photos"), "\(run.stdout)")
        }
        let images = (totals["monkey"] ?? 0) + (totals["scimmia"] ?? 0)
        #expect(run.stdout.contains("images to label: up to \(images)"), "\(run.stdout)")
        #expect(run.stdout.contains(String(format: "estimated price: up to $%.2f", Double(images) * 1.5 / 1000)))
        #expect(try vision.billed().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.work), "a dry run created the workdir")
        // One probe call per query, each asking for one photo.
        let calls = try searchCalls(flickr)
        #expect(
            calls.count == 2 && calls.allSatisfy { ($0["params"] as? [String: Any])?["per_page"] as? String == "1" })
    }

    @Test(
        "--max-cost stops labelling before the estimate passes it; a refused Vision key stops the run before any page")
    func costCap() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let (flickr, vision) = (servers.flickr, servers.vision)
        let common =
            Self.query + [
                "--label", "animal", "--flickr-endpoint", flickr.endpoint, "--vision-endpoint", vision.endpoint,
                "--rate-per-hour", "36000",
            ]
        let badKeys = scratch.dir.appendingPathComponent("bad.env").path
        try CLI.generateKeys(
            at: URL(fileURLWithPath: badKeys),
            extra: ["FLICKR_API_KEY=\(FlickrServer.apiKey)", "GOOGLE_VISION_API_KEY=not-the-key"])
        let refused = try await offPool {
            try CLI.run(["run"] + common + ["--keys", badKeys, "--workdir", scratch.work + "-bad"])
        }
        #expect(refused.status == 1 && refused.stderr.contains("Vision"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("not-the-key"))
        #expect(try searchCalls(flickr).isEmpty)

        // $0.006 at $1.50 per 1,000 images buys 4 images.
        let capped = try await offPool {
            try CLI.run(["run"] + common + ["--keys", scratch.keys, "--max-cost", "0.006", "--workdir", scratch.work])
        }
        #expect(capped.status == 0, "\(capped.stderr)")
        #expect(try vision.billed().count == 4, "\(capped.stderr)")
    }
}
