import Foundation
import TestSupport
import Testing

/// Checks a pack with Python's zipfile, not photoseal: the archive tests clean, every member's
/// SHA-256 is the one MANIFEST.sha256 gives, and each metadata.jsonl row equals the public
/// fields of the same photo in `photoseal export --format jsonl` (the ledger's documents).
/// Prints JSON: {"rows": [{id, license, attribution}], "names": [...], "licenses": LICENSES.md}.
private let packCheck = """
    import hashlib, json, sys, zipfile
    z = zipfile.ZipFile(sys.argv[1])
    bad = z.testzip()
    assert bad is None, "bad member " + str(bad)
    names = z.namelist()
    manifest = {}
    for line in z.read("MANIFEST.sha256").decode().splitlines():
        digest, name = line.split("  ", 1)
        manifest[name] = digest
    assert set(manifest) == set(names) - {"MANIFEST.sha256"}, "manifest does not list every member"
    for name, digest in manifest.items():
        assert hashlib.sha256(z.read(name)).hexdigest() == digest, "digest of " + name
    docs = {}
    for line in open(sys.argv[2]):
        d = json.loads(line)
        docs[d["_id"]] = d
    rows = [json.loads(l) for l in z.read("metadata.jsonl").decode().splitlines()]
    import csv, io
    csv_rows = list(csv.DictReader(io.StringIO(z.read("metadata.csv").decode(), newline="")))
    assert len(csv_rows) == len(rows), "csv and jsonl differ in length"
    for row, crow in zip(rows, csv_rows):
        d = docs[row["id"]]
        assert crow["id"] == row["id"] and crow["title"] == d["title"], "csv row " + row["id"]
        want = {
            "title": d["title"], "views": d.get("views"), "license": d.get("license"),
            "page_url": d.get("page_url"), "taken_at": d.get("taken_at"),
            "tags": d.get("tags"), "terms": d.get("terms"),
            "lat": (d.get("geo") or {}).get("lat"), "lon": (d.get("geo") or {}).get("lon"),
            "place.country": (d.get("place") or {}).get("country"),
            "place.city": (d.get("place") or {}).get("city"),
            "image.sha256": d["image"]["sha256"],
        }
        got = {k: row.get(k) for k in want}
        assert got == want, "row %s: %r != %r" % (row["id"], got, want)
        assert not any(k.startswith("sealed") or k == "blind.owner" for k in row), "sealed column"
        assert row["file"] in names and len(z.read(row["file"])) == row["file.bytes"], "file of " + row["id"]
    print(json.dumps({
        "rows": [{"id": r["id"], "license": r["license"], "attribution": r["attribution"]} for r in rows],
        "names": names, "licenses": z.read("LICENSES.md").decode()}))
    """

@Suite("photoseal pack: a dataset zip", .serialized, .tags(.integration))
struct PackCLITests {
    /// A workdir of the Flickr fixture photos found for monkey (half a year), downloaded with
    /// their images sealed; and the ledger's documents as `export` gives them, opened.
    static func sealedWorkdir(_ scratch: RunScratch, _ servers: RunServers) async throws -> [[String: Any]] {
        let common = ["--workdir", scratch.work, "--keys", scratch.keys]
        let search = try await offPool {
            try CLI.run(
                [
                    "search", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000",
                    "--max-taken", "1277942399", "--flickr-endpoint", servers.flickr.endpoint, "--rate-per-hour",
                    "36000",
                ] + common)
        }
        #expect(search.status == 0, "\(search.stderr)")
        let download = try await offPool {
            try CLI.run(["download", "--store-images", "sealed", "--concurrency", "8"] + common)
        }
        #expect(download.status == 0, "\(download.stderr)")
        let export = try CLI.run(["export", "--format", "jsonl", "--decrypt"] + common)
        #expect(export.status == 0, "\(export.stderr)")
        try Data(export.stdout.utf8).write(to: URL(fileURLWithPath: scratch.dir.path + "/export.jsonl"))
        return export.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Runs the pack check on a zip; its JSON answer.
    static func check(_ zip: String, _ scratch: RunScratch) throws -> [String: Any] {
        let (status, output) = try runPython(packCheck, [zip, scratch.dir.path + "/export.jsonl"])
        #expect(status == 0, "\(output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }

    @Test(
        "a pack of sealed images opens in zipfile and unzip -t, its metadata rows equal the store's public fields, its images hold no EXIF/XMP/IPTC, licences are kept as asked and no owner name appears without --attribution"
    )
    func packsSealedImages() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let documents = try await Self.sealedWorkdir(scratch, servers)
        let withImage = documents.filter { ($0["image"] as? [String: Any])?["path"] is String }
        #expect(withImage.count > 20)
        let license = { (d: [String: Any]) in d["license"] as? String ?? "" }
        let common = ["--workdir", scratch.work, "--keys", scratch.keys]

        let zip = scratch.dir.path + "/plain.zip"
        let pack = try await offPool { try CLI.run(["pack", "--out", zip] + common) }
        #expect(pack.status == 0, "\(pack.stderr)")
        let packed = try Self.check(zip, scratch)
        let rows = packed["rows"] as? [[String: Any]] ?? []
        // Flickr ids 7-10 need no attribution; 0 is all rights reserved; 1-6 need attribution.
        let open = withImage.filter { ["7", "8", "9", "10"].contains(license($0)) }
        #expect(Set(rows.compactMap { $0["id"] as? String }) == Set(open.compactMap { $0["_id"] as? String }))
        #expect(rows.allSatisfy { $0["attribution"] is NSNull })
        #expect(pack.stderr.contains("pack: \(open.count) photos"), "\(pack.stderr)")
        #expect(try runProgram(["unzip", "-tq", zip]).status == 0)

        let ownerNames = Set(
            documents.compactMap { ($0["decrypted"] as? [String: Any])?["owner_name"] as? String }.filter {
                $0.count > 3
            })
        #expect(!ownerNames.isEmpty)
        let zipBytes = try Data(contentsOf: URL(fileURLWithPath: zip))
        for name in ownerNames { #expect(zipBytes.range(of: Data(name.utf8)) == nil, "an owner name in the pack") }
        #expect(zipBytes.range(of: Data("gAAAAA".utf8)) == nil, "a Fernet token in the pack")

        // exiftool on every packed image: no EXIF, XMP or IPTC group.
        let unpacked = scratch.dir.path + "/unpacked"
        #expect(try runProgram(["unzip", "-q", zip, "-d", unpacked]).status == 0)
        let (status, output) = try runProgram(["exiftool", "-q", "-j", "-G0", "-r", unpacked + "/images"])
        #expect(status == 0)
        let tags = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] ?? []
        #expect(tags.count == open.count)
        for file in tags {
            let groups = Set(file.keys.compactMap { $0.split(separator: ":").first.map(String.init) })
            #expect(groups.isDisjoint(with: ["EXIF", "XMP", "IPTC", "MakerNotes"]), "\(file["SourceFile"] ?? "")")
        }

        let credited = scratch.dir.path + "/credited.zip"
        let attributed = try await offPool {
            try CLI.run(["pack", "--attribution", "--include-all-rights-reserved", "--out", credited] + common)
        }
        #expect(attributed.status == 0, "\(attributed.stderr)")
        let all = try Self.check(credited, scratch)
        let allRows = all["rows"] as? [[String: Any]] ?? []
        #expect(allRows.count == withImage.count)
        let byID = Dictionary(uniqueKeysWithValues: documents.compactMap { d in (d["_id"] as? String).map { ($0, d) } })
        for row in allRows {
            let document = byID[row["id"] as? String ?? ""] ?? [:]
            let needs = ["1", "2", "3", "4", "5", "6"].contains(license(document))
            let name = (document["decrypted"] as? [String: Any])?["owner_name"] as? String
            if needs {
                #expect(row["attribution"] as? String == name)
            } else {
                #expect(row["attribution"] is NSNull)
            }
        }
        let licenses = all["licenses"] as? String ?? ""
        #expect(licenses.contains("Authors are named"))
        #expect(licenses.contains("all rights reserved"))
        #expect(!attributed.stderr.contains("Fotografa") && !attributed.stdout.contains("Fotografa"))
    }
}
