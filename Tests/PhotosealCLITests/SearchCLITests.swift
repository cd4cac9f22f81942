import Foundation
import TestSupport
import Testing

/// The Flickr test server of the Ingest tests (same script), for command-line runs.
final class FlickrServer: PythonFixtureServer, @unchecked Sendable {
    static let apiKey = "test-api-key-0123456789"
    var endpoint: String { base + "/services/rest/" }

    init(_ arguments: [String]) throws { try super.init(script: "flickr_server", arguments) }
}

@Suite("photoseal search, status and export", .serialized, .tags(.integration))
struct SearchCLITests {
    let dir: URL
    let keys: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-cli-search-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        keys = dir.appendingPathComponent("keys.env")
        try CLI.generateKeys(at: keys, extra: ["FLICKR_API_KEY=\(FlickrServer.apiKey)"])
    }

    func search(_ extra: [String], endpoint: String = "http://127.0.0.1:9/services/rest/") throws -> CLI.Result {
        try CLI.run(
            [
                "search", "--keys", keys.path, "--workdir", dir.appendingPathComponent("work").path,
                "--flickr-endpoint",
                endpoint,
            ] + extra)
    }

    @Test(
        "bad search input is a usage error that names the flag",
        arguments: [
            ([String](), "--term"),
            (["--bbox", "1,2,3"], "--bbox"),
            (["--term", "a", "--bbox", "1,2,3,4,5"], "--bbox"),
            (["--term", "a", "--bbox", "a,b,c,d"], "--bbox"),
            (["--term", "a", "--bbox", "-200,0,10,10"], "--bbox"),
            (["--term", "a", "--bbox", "0,95,10,10"], "--bbox"),
            (["--term", "a", "--bbox", "0,10,10,5"], "--bbox"),
            (["--term", "a", "--bbox", "3,0,3,10"], "--bbox"),
            (["--bbox", "0,0,10,10"], "--bbox"),
            (["--term", "a", "--min-taken", "yesterday"], "--min-taken"),
            (["--term", "a", "--max-taken", "2015-02-30"], "--max-taken"),
            (["--term", "a", "--min-taken", "2020-01-01", "--max-taken", "2019-01-01"], "--min-taken"),
            (["--term", "  "], "--term"),
            (["--terms-file", "/nonexistent/terms.txt"], "--terms-file"),
            (["--term", "a", "--limit", "0"], "--limit"),
            (["--term", "a", "--rate-per-hour", "0"], "--rate-per-hour"),
            (["--term", "a", "--concurrency", "100"], "--concurrency"),
        ])
    func badInput(arguments: [String], flag: String) throws {
        let result = try search(arguments)
        #expect(result.status == 64 || result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains(flag), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test("a terms file that is not UTF-8, or holds only comments, is refused")
    func badTermsFile() throws {
        let binary = dir.appendingPathComponent("latin1.txt")
        try Data([0x73, 0x63, 0x69, 0x6D, 0xE0, 0x0A]).write(to: binary)
        let notUTF8 = try search(["--terms-file", binary.path])
        #expect(notUTF8.status == 64 || notUTF8.status == 2)
        #expect(notUTF8.stderr.contains("UTF-8"))
        let comments = dir.appendingPathComponent("comments.txt")
        try Data("# nothing here\n\n".utf8).write(to: comments)
        let empty = try search(["--terms-file", comments.path])
        #expect(empty.status == 64 || empty.status == 2)
        #expect(empty.stderr.contains("nothing to search for"))
    }

    @Test("export refuses a format other than jsonl, csv, geojson and parquet")
    func exportFormat() throws {
        let result = try CLI.run(["export", "--format", "xml", "--workdir", dir.path])
        #expect(result.status == 64 || result.status == 2)
        #expect(result.stderr.contains("--format"))
    }

    @Test("status and export without a ledger say where to start")
    func noLedger() throws {
        for command in [["status"], ["export", "--format", "jsonl"]] {
            let result = try CLI.run(command + ["--workdir", dir.appendingPathComponent("none").path])
            #expect(result.status == 1)
            #expect(result.stderr.contains("photoseal search"))
        }
    }

    @Test("an unusable endpoint or missing API key fails with one line and exit 1, never showing the key")
    func runtimeFailures() throws {
        let ftp = try search(["--term", "a", "--api-key", "SECRET-KEY-1"], endpoint: "ftp://example.org/")
        #expect(ftp.status == 1)
        #expect(ftp.stderr.contains("--flickr-endpoint"))
        let down = try search([
            "--term", "a", "--api-key", "SECRET-KEY-2", "--max-attempts", "2", "--retry-base-delay", "0.01",
        ])
        #expect(down.status == 1)
        #expect(!down.stderr.contains("SECRET-KEY-2"))
        #expect(down.stderr.contains("127.0.0.1"))
        let bare = dir.appendingPathComponent("bare.env")
        _ = try CLI.run(["keys", "generate", "--out", bare.path])
        let noKey = try CLI.run(
            ["search", "--keys", bare.path, "--term", "a", "--workdir", dir.appendingPathComponent("w2").path],
            environment: ["PATH": "/usr/bin:/bin"])
        #expect(noKey.status == 1)
        #expect(noKey.stderr.contains("FLICKR_API_KEY"))
    }

    @Test("an invalid API key stops the search with Flickr's reason and the fix, never the key")
    func invalidKey() throws {
        let server = try FlickrServer(["--photos", "2000", "--per-second", "100"])
        defer { server.stop() }
        let result = try search(["--term", "monkey", "--api-key", "NOT-THE-KEY-42"], endpoint: server.endpoint)
        #expect(result.status == 1)
        #expect(result.stderr.contains("code 100"))
        #expect(result.stderr.contains("FLICKR_API_KEY"))
        #expect(!result.stderr.contains("NOT-THE-KEY-42"))
    }

    @Test("at the default rate budget a search provokes no 429; status and export show what it found, sealed")
    func searchStatusExport() throws {
        // Flickr's budget as the server enforces it: 3,600 an hour, and no second with more
        // than a burst of 3 plus 1.
        let server = try FlickrServer(["--photos", "24000", "--per-second", "4", "--per-hour", "3600"])
        defer { server.stop() }
        let range = ["--min-taken", "2010-01-01", "--max-taken", "2010-12-31 23:59:59"]
        let result = try search(
            ["--term", "monkey", "--term", "scimmia", "--term", "猴子", "--bbox", "5,35,20,48"] + range,
            endpoint: server.endpoint)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("photos in the ledger"))
        let log = try #require(server.json("/__log") as? [[String: Any]])
        #expect(!log.isEmpty)
        #expect(log.allSatisfy { ($0["outcome"] as? String) == "ok" })

        let truthPath =
            "/__truth?term=monkey&term=scimmia&term=%E7%8C%B4%E5%AD%90&bbox=5,35,20,48"
            + "&min_taken_date=2010-01-01%2000:00:00&max_taken_date=2010-12-31%2023:59:59"
        let truth = try #require((server.json(truthPath) as? [String: Any])?["photos"] as? [String: [String]])
        #expect(truth.count > 500)

        let work = dir.appendingPathComponent("work").path
        let status = try CLI.run(["status", "--json", "--workdir", work])
        #expect(status.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        #expect(object["photos"] as? Int == truth.count)
        #expect((object["stages"] as? [String: Int])?["found"] == truth.count)
        #expect((object["api_calls"] as? [String: [String: Int]])?["flickr"]?["ok"] == log.count)
        let text = try CLI.run(["status", "--workdir", work])
        #expect(text.stdout.contains("photos: \(truth.count)"))

        let export = try CLI.run(["export", "--format", "jsonl", "--workdir", work])
        #expect(export.status == 0)
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.count == truth.count)
        var seen: [String: [String]] = [:]
        for line in lines {
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = try #require(doc["source_id"] as? String)
            seen[id] = doc["terms"] as? [String]
            #expect(doc["_id"] as? String == "flickr:\(id)")
            #expect((doc["sealed"] as? [String: Any])?["owner"] is String)
            #expect(doc["owner"] == nil && doc["decrypted"] == nil)
        }
        #expect(seen.mapValues(Set.init) == truth.mapValues(Set.init))
        let sample = try #require(truth.keys.sorted().first)
        let photo = try #require(server.json("/__photo?id=\(sample)") as? [String: Any])
        let owner = try #require(photo["owner"] as? String)
        let ownerName = try #require(photo["ownername"] as? String)
        #expect(!export.stdout.contains(owner) && !export.stdout.contains(ownerName))

        let opened = try CLI.run(["export", "--format", "jsonl", "--decrypt", "--keys", keys.path, "--workdir", work])
        #expect(opened.status == 0)
        #expect(opened.stderr.contains("plaintext"))
        let line = try #require(opened.stdout.split(separator: "\n").first { $0.contains("\"flickr:\(sample)\"") })
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let decrypted = try #require(doc["decrypted"] as? [String: Any])
        #expect(decrypted["owner"] as? String == owner)
        #expect(decrypted["owner_name"] as? String == ownerName)
    }
}
