import Foundation
import TestSupport
import Testing

/// The fixture camera photos (four placed in Arezzo by their GPS EXIF, one without a position).
private let fixturePhotos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("IngestTests/Fixtures/images")

/// A workdir with the fixture JPEGs imported and extracted; returns the common arguments.
private func extractedWorkdir(in scratch: borrowing Scratch) throws -> [String] {
    let keys = scratch.path("keys.env")
    try CLI.generateKeys(at: URL(fileURLWithPath: keys))
    let photos = scratch.path("photos")
    try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
    for name in ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_DSCN0021.jpg", "es_DSCN0025.jpg", "et_Canon.jpg"] {
        try FileManager.default.copyItem(
            atPath: fixturePhotos.appendingPathComponent(name).path,
            toPath: (photos as NSString).appendingPathComponent(name))
    }
    let common = ["--workdir", scratch.path("work"), "--keys", keys]
    for step in [["import", photos], ["extract"]] {
        let result = try CLI.run(step + common)
        #expect(result.status == 0, "\(step): \(result.stderr)")
    }
    return common
}

/// The `place.cc` of each exported JSON line.
private func countries(_ output: String) throws -> [String] {
    try output.split(separator: "\n").map { line in
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        return ((object?["place"] as? [String: Any])?["cc"] as? String) ?? "-"
    }
}

@Suite("export filters and serve on the command line")
struct ServeExportFilterCLITests {
    @Test("export keeps only the photos every filter flag allows")
    func exportFilters() throws {
        let scratch = try Scratch()
        let common = try extractedWorkdir(in: scratch)
        let cases: [([String], [String])] = [
            ([], ["-", "IT", "IT", "IT", "IT"]),
            (["--country", "it"], ["IT", "IT", "IT", "IT"]),
            (["--country", "IT", "--min-width", "641"], []),
            (["--country", "IT", "--min-width", "640"], ["IT", "IT", "IT", "IT"]),
            (["--status", "extracted", "--country", "FR", "--country", "IT"], ["IT", "IT", "IT", "IT"]),
            (["--status", "loaded"], []),
            (["--min-views", "1"], []),
            (["--license", "4"], []),
        ]
        for (flags, expected) in cases {
            let result = try CLI.run(["export", "--format", "jsonl"] + flags + common)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
            #expect(try countries(result.stdout).sorted() == expected, "\(flags)")
            #expect(result.stderr.contains("export: \(expected.count) documents"), "\(flags)")
        }
        let bad = try CLI.run(["export", "--status", "done"] + common)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--status done is not a status"))
    }

    @Test("serve refuses an address off loopback without SERVE_TOKEN, and a workdir with no store")
    func serveRefusals() throws {
        let scratch = try Scratch()
        let common = try extractedWorkdir(in: scratch)
        let noStore = try CLI.run(["serve", "--port", "0"] + common)
        #expect(noStore.status != 0)
        #expect(noStore.stderr.contains("does not exist yet"))
        let loaded = try CLI.run(["encrypt-load"] + common)
        #expect(loaded.status == 0, "\(loaded.stderr)")
        let open = try CLI.run(["serve", "--host", "0.0.0.0", "--port", "0"] + common)
        #expect(open.status != 0)
        #expect(open.stderr.contains("SERVE_TOKEN"))
    }

    @Test(
        "serve --tiles refuses a missing or non-MBTiles file in one line naming it (usage error)", .tags(.integration))
    func serveTilesRefusals() throws {
        let scratch = try Scratch()
        let common = ["--workdir", scratch.path("work"), "--keys", scratch.path("keys.env")]
        let notes = scratch.path("notes.mbtiles")
        try Data(String(repeating: "not a database, only text. ", count: 20).utf8).write(
            to: URL(fileURLWithPath: notes))
        for (file, reason) in [(scratch.path("none.mbtiles"), "does not exist"), (notes, "not an SQLite database")] {
            let result = try CLI.run(["serve", "--port", "0", "--tiles", file] + common)
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains(file) && result.stderr.contains(reason), "\(result.stderr)")
            #expect(result.stderr.contains("give serve --tiles an MBTiles file"))
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }
}
