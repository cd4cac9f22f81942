import Foundation
import TestSupport
import Testing

/// The `bbox` (and taken dates) of every flickr.photos.search call the server answered.
private func searchParams(_ server: FlickrServer) throws -> [[String: String]] {
    let log = try #require(server.json("/__log") as? [[String: Any]])
    return log.compactMap { entry in
        guard let params = entry["params"] as? [String: String], params["method"] == "flickr.photos.search" else {
            return nil
        }
        return params
    }
}

@Suite("command-line arguments as a user types them", .serialized, .tags(.integration))
struct ArgumentsCLITests {
    let scratch: RunScratch

    init() throws { scratch = try RunScratch() }

    func search(_ extra: [String], endpoint: String = "http://127.0.0.1:9/services/rest/") throws -> CLI.Result {
        try CLI.run(
            ["search", "--keys", scratch.keys, "--workdir", scratch.work, "--flickr-endpoint", endpoint] + extra)
    }

    @Test("--bbox with negative values and --min-taken in negative unix seconds work as written in search and run")
    func negativeValues() throws {
        defer { scratch.remove() }
        let server = try FlickrServer(["--photos", "2000", "--per-second", "100"])
        defer { server.stop() }
        let searched = try search(
            ["--term", "monkey", "--bbox", "-75,40,-73,41", "--min-taken", "-86400", "--max-taken", "2015-01-01"],
            endpoint: server.endpoint)
        #expect(searched.status == 0, "\(searched.stderr)")
        // The box as read, corners named, so a box in the wrong order is seen.
        #expect(searched.stderr.contains("latitudes 40°N to 41°N, longitudes 75°W to 73°W"), "\(searched.stderr)")
        let sent = try searchParams(server)
        #expect(!sent.isEmpty)
        #expect(sent.allSatisfy { $0["bbox"] == "-75,40,-73,41" }, "\(sent)")
        #expect(sent.allSatisfy { $0["min_taken_date"] == "1969-12-31 00:00:00" }, "\(sent)")

        let planned = try CLI.run([
            "run", "--term", "monkey", "--bbox", "-75,-41,-73,-40", "--dry-run", "--keys", scratch.keys, "--workdir",
            scratch.dir.appendingPathComponent("run").path, "--flickr-endpoint", server.endpoint,
        ])
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(planned.stderr.contains("latitudes 41°S to 40°S"), "\(planned.stderr)")
        #expect(try searchParams(server).dropFirst(sent.count).contains { $0["bbox"] == "-75,-41,-73,-40" })
    }

    @Test("a box across the antimeridian must be asked for; asked for, both halves are searched")
    func antimeridian() throws {
        defer { scratch.remove() }
        for command in ["search", "run"] {
            let refused = try CLI.run([
                command, "--term", "monkey", "--bbox", "20,35,5,48", "--keys", scratch.keys, "--workdir", scratch.work,
            ])
            #expect(refused.status == 64, "\(refused.stderr)")
            #expect(refused.stderr.contains("reads as longitudes 20 to 5"), "\(refused.stderr)")
            #expect(refused.stderr.contains("did you mean 5,35,20,48?"), "\(refused.stderr)")
            #expect(refused.stderr.contains("Add --antimeridian"), "\(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.work), "a refused box wrote the workdir")
        let server = try FlickrServer(["--photos", "2000", "--per-second", "100"])
        defer { server.stop() }
        let asked = try search(
            ["--term", "monkey", "--bbox", "170,-20,-170,10", "--antimeridian"], endpoint: server.endpoint)
        #expect(asked.status == 0, "\(asked.stderr)")
        #expect(asked.stderr.contains("across the antimeridian"), "\(asked.stderr)")
        #expect(Set(try searchParams(server).compactMap { $0["bbox"] }) == ["170,-20,180,10", "-180,-20,-170,10"])
    }

    @Test("a box that is one only with latitude and longitude swapped is refused with the box meant")
    func latLonSwapped() throws {
        defer { scratch.remove() }
        // Australia written latitude first: a latitude of 140 cannot be.
        let refused = try search(["--term", "kangaroo", "--bbox", "-30,140,-10,155"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("latitude and longitude swapped"), "\(refused.stderr)")
        #expect(refused.stderr.contains("did you mean 140,-30,155,-10?"), "\(refused.stderr)")
        // Both readings of 35,5,48,20 are boxes: help says so and the search shows the one taken.
        let help = try CLI.run(["search", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("when both readings make a box the values cannot tell"), "\(help)")
        let server = try FlickrServer(["--photos", "2000", "--per-second", "100"])
        defer { server.stop() }
        let taken = try search(["--term", "monkey", "--bbox", "35,5,48,20"], endpoint: server.endpoint)
        #expect(taken.status == 0, "\(taken.stderr)")
        #expect(
            taken.stderr.contains("latitudes 5°N to 20°N, longitudes 35°E to 48°E (south-west corner 5°N 35°E"),
            "\(taken.stderr)")
    }

    @Test(
        "a misspelt flag gets ArgumentParser's message and suggestion in every command",
        arguments: [
            ["run", "--term", "monkey", "--lable", "monkey"],
            ["run", "--workdri", "w", "photos"],
            ["search", "--workdri", "w"],
            ["import", "--workdri", "w", "photos"],
            ["download", "--workdri", "w"],
            ["extract", "--workdri", "w"],
            ["score", "--workdri", "w"],
            ["status", "--workdri", "w"],
            ["export", "--workdri", "w"],
            ["encrypt-load", "--workdri", "w"],
            ["rotate-keys", "--workdri", "w"],
            ["audit", "--workdri", "w"],
            ["keys", "retire", "--workdri", "w", "3f9a1c2b"],
        ])
    func misspeltFlag(arguments: [String]) throws {
        defer { scratch.remove() }
        let result = try CLI.run(arguments + ["--keys", scratch.keys])
        let wrong = arguments.first { $0.hasPrefix("--") && !["--term", "--keys"].contains($0) } ?? ""
        let meant = wrong == "--lable" ? "--label" : "--workdir"
        #expect(result.status == 64, "\(result.stderr)")
        #expect(
            result.stderr.contains("Unknown option '\(wrong)'. Did you mean '\(meant)'?"), "\(result.stderr)")
    }

    @Test(
        "each command's help lists the store and the endpoints only where it uses them",
        arguments: [
            (["run"], true, true, true),
            (["search"], false, true, false),
            (["score"], false, false, true),
            (["import"], false, false, false),
            (["download"], false, false, false),
            (["extract"], false, false, false),
            (["status"], false, false, false),
            (["export"], false, false, false),
            (["encrypt-load"], true, false, false),
            (["rotate-keys"], true, false, false),
            (["audit"], true, false, false),
            (["keys", "retire"], true, false, false),
        ])
    func helpListsUsedOptions(command: [String], store: Bool, flickr: Bool, vision: Bool) throws {
        defer { scratch.remove() }
        let help = try CLI.run(["help"] + command).stdout
        #expect(help.contains("--workdir <dir>"))
        #expect(help.contains("--store <uri>") == store, "\(command): \(help)")
        #expect(help.contains("--flickr-endpoint <url>") == flickr, "\(command): \(help)")
        #expect(help.contains("--vision-endpoint <url>") == vision, "\(command): \(help)")
    }

    @Test("the keys retire example names a kid as long as the kids keys list shows")
    func retireExampleKid() throws {
        defer { scratch.remove() }
        let listed = try CLI.run(["keys", "list", "--keys", scratch.keys]).stdout
        let kid = try #require(listed.split(separator: "\n").first?.split(separator: " ").dropFirst().first)
        let help = try CLI.run(["help", "keys", "retire"]).stdout
        let example = try #require(
            help.split(separator: "\n").first { $0.contains("photoseal keys retire ") }?
                .split(separator: " ").drop { $0 != "retire" }.dropFirst().first)
        #expect(example.count == kid.count, "example \(example), real kid \(kid)")
        #expect(example.allSatisfy { $0.isHexDigit })
    }
}
