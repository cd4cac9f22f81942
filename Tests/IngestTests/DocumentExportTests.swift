import Foundation
import TestSupport
import Testing

@testable import Ingest

/// Reads a CSV file with Python's csv module and a GeoJSON file with Python's json module
/// (non-standard constants such as NaN refused), and prints both as one JSON object.
private let reader = #"""
    import csv, json, sys
    with open(sys.argv[1], newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    def constant(name):
        raise ValueError("not JSON: " + name)
    geo = json.loads(open(sys.argv[2], encoding="utf-8").read(), parse_constant=constant)
    # Doubles go back as their repr text ("float:0.30000000000000004"): Foundation's JSON parser
    # on Linux can be one unit in the last place off, and this test compares exactly.
    def tag(x):
        if isinstance(x, float):
            return "float:" + repr(x)
        if isinstance(x, list):
            return [tag(v) for v in x]
        if isinstance(x, dict):
            return {k: tag(v) for k, v in x.items()}
        return x
    geo = tag(geo)
    print(json.dumps({"header": rows[0], "rows": [dict(zip(rows[0], r)) for r in rows[1:]],
                      "widths": sorted({len(r) for r in rows}), "geojson": geo}))
    """#

/// A double Python tagged as `float:<repr>`.
private func float(_ value: Any?) -> Double? {
    guard let text = value as? String, text.hasPrefix("float:") else { return nil }
    return Double(text.dropFirst("float:".count))
}

@Suite("export rendering (CSV, GeoJSON)", .tags(.integration))
struct DocumentExportTests {
    static func document(_ id: String, terms: [String], geo: PhotoDocument.Geo?) -> PhotoDocument {
        PhotoDocument(
            id: id, source: "flickr", sourceID: "1", terms: terms, title: "", description: "", tags: [],
            machineTags: [], views: nil, license: nil, takenAt: "2015-05-31T18:20:05", uploadedAt: nil, pageURL: nil,
            imageURL: nil, imageSources: [], image: nil, geo: geo, place: nil, scores: nil, scoreModel: nil,
            scoredAt: nil, sealed: .init(owner: "gAAAAAtoken"), seal: .init(kid: "67b4d27d", at: "a"),
            blind: .init(owner: nil), ingestedAt: "a", pipelineVersion: "0")
    }

    /// Text that breaks naive CSV and JSON writers.
    static let awkward = [
        "a,b", "say \"hi\"", "line1\nline2", "cr\r\nlf", "tab\tx", "ctl\u{01}x\u{1F}", "猴子", "🐒 emoji",
        "sep\u{2028}x", "back\\slash", "|", "",
    ]

    func render(_ format: ExportFormat, _ entries: [Ledger.Entry], labels: [String]) throws -> (String, Int) {
        var exporter = DocumentExporter(format: format, scoreLabels: labels)
        var text = exporter.header()
        for entry in entries { text += try exporter.render(entry) }
        return (text + exporter.footer(), exporter.summary.withoutPosition)
    }

    @Test("CSV and GeoJSON give back awkward text and exact numbers to Python's csv and json; no position, no feature")
    func roundTrip() throws {
        var first = Self.document(
            "flickr:1", terms: Self.awkward, geo: .init(lat: 43.4674483333333, lon: -0.1, accuracy: 16, source: "exif"))
        first.place = .init(cc: "FR", country: "France", admin1: "Région \"Sud\", ouest", admin2: nil, city: "Pau")
        first.scores = ["caged, monkey": 0.30000000000000004, "tiny": 1e-05]
        first.image = .init(sha256: "ab", bytes: 123_456, width: 640, height: 480, format: "jpeg", path: nil)
        let corner = Self.document(
            "url:2", terms: ["x"], geo: .init(lat: -90, lon: 180, accuracy: nil, source: "flickr"))
        let none = Self.document("local:3", terms: [], geo: nil)
        let outOfRange = Self.document("local:4", terms: [], geo: .init(lat: 91, lon: 0, accuracy: nil, source: "exif"))
        let notANumber = Self.document(
            "local:5", terms: [], geo: .init(lat: .nan, lon: 0, accuracy: nil, source: "exif"))
        let entries = [first, corner, none, outOfRange, notANumber].map {
            Ledger.Entry(id: $0.id, stage: .extracted, document: $0)
        }
        let labels = ["tiny", "caged, monkey"]

        let (csv, _) = try render(.csv, entries, labels: labels)
        let (geojson, skipped) = try render(.geojson, entries, labels: labels)
        #expect(skipped == 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(csv.utf8).write(to: dir.appendingPathComponent("out.csv"))
        try Data(geojson.utf8).write(to: dir.appendingPathComponent("out.geojson"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", reader, dir.appendingPathComponent("out.csv").path,
            dir.appendingPathComponent("out.geojson").path,
        ]
        let output = dir.appendingPathComponent("python.json")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any])

        // CSV: every row as wide as the header; the text comes back exactly.
        let header = try #require(parsed["header"] as? [String])
        #expect(header.suffix(2) == ["score.caged, monkey", "score.tiny"])
        #expect(parsed["widths"] as? [Int] == [header.count])
        let rows = try #require(parsed["rows"] as? [[String: String]])
        #expect(rows.map { $0["id"] } == ["flickr:1", "url:2", "local:3", "local:4", "local:5"])
        #expect(rows[0]["terms"] == Self.awkward.joined(separator: "|"))
        #expect(rows[0]["place.admin1"] == "Région \"Sud\", ouest")
        #expect(rows[0]["lat"].flatMap(Double.init) == 43.4674483333333)
        #expect(rows[0]["lon"].flatMap(Double.init) == -0.1)
        #expect(rows[0]["score.caged, monkey"].flatMap(Double.init) == 0.30000000000000004)
        #expect(rows[0]["score.tiny"].flatMap(Double.init) == 1e-05)
        #expect(rows[0]["image.width"] == "640" && rows[0]["image.bytes"] == "123456")
        #expect(rows[0]["sealed.owner"] == "gAAAAAtoken" && rows[0]["status"] == "extracted")
        #expect(rows[2]["lat"] == "" && rows[2]["score.tiny"] == "" && rows[2]["terms"] == "")
        #expect(rows[4]["lat"] == "")

        // GeoJSON: only the valid positions, [lon, lat], typed properties, text exact.
        let collection = try #require(parsed["geojson"] as? [String: Any])
        #expect(collection["type"] as? String == "FeatureCollection")
        let features = try #require(collection["features"] as? [[String: Any]])
        #expect(features.map { $0["id"] as? String } == ["flickr:1", "url:2"])
        let geometry = try #require(features[0]["geometry"] as? [String: Any])
        #expect(geometry["type"] as? String == "Point")
        #expect((geometry["coordinates"] as? [Any])?.map(float) == [-0.1, 43.4674483333333])
        #expect(((features[1]["geometry"] as? [String: Any])?["coordinates"] as? [Any])?.map(float) == [180, -90])
        let properties = try #require(features[0]["properties"] as? [String: Any])
        #expect(Set(properties.keys) == Set(header))
        #expect(properties["terms"] as? [String] == Self.awkward)
        #expect(float(properties["score.caged, monkey"]) == 0.30000000000000004)
        #expect(float(properties["score.tiny"]) == 1e-05 && float(properties["lat"]) == 43.4674483333333)
        #expect(properties["image.width"] as? Int == 640)
        #expect(properties["place.admin2"] is NSNull)
        #expect(properties["place.admin1"] as? String == "Région \"Sud\", ouest")
    }

    @Test(
        "JSON lines and CSV carry each photo's status, and a failure {stage, cause, permanent} for failed and unavailable photos only"
    )
    func statusAndFailure() throws {
        let refused = PhotoFailure(
            stage: .score, cause: "Vision refused this image: Bad image data. (code 3)", permanent: true)
        let gone = PhotoFailure(stage: .download, cause: "http-404", permanent: true)
        let flaky = PhotoFailure(stage: .download, cause: "http-503", permanent: false)
        // A transient score failure on a photo still waiting at `extracted`: pending, no failure.
        let waiting = PhotoFailure(stage: .score, cause: "Google Vision answered HTTP 503", permanent: false)
        let entries: [(Ledger.Stage, PhotoFailure?)] = [
            (.failed, refused), (.unavailable, gone), (.failed, flaky), (.found, nil), (.extracted, waiting),
            (.loaded, nil),
        ]
        let ledgerEntries = entries.enumerated().map { index, item in
            let document = Self.document("flickr:\(index)", terms: ["x"], geo: nil)
            return Ledger.Entry(id: document.id, stage: item.0, document: document, failure: item.1)
        }
        let (jsonl, _) = try render(.jsonl, ledgerEntries, labels: [])
        let (csv, _) = try render(.csv, ledgerEntries, labels: [])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(jsonl.utf8).write(to: dir.appendingPathComponent("out.jsonl"))
        try Data(csv.utf8).write(to: dir.appendingPathComponent("out.csv"))
        let (status, output) = try runPython(
            """
            import csv, json, sys
            lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
            with open(sys.argv[2], newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f, strict=True))
            print(json.dumps({
                "jsonl": [[d["_id"], d["status"], d.get("failure")] for d in lines],
                "csv": [[r["id"], r["status"], r["failure.stage"], r["failure.cause"], r["failure.permanent"]]
                        for r in rows]}))
            """, [dir.appendingPathComponent("out.jsonl").path, dir.appendingPathComponent("out.csv").path])
        try #require(status == 0, "\(output)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: [[Any]]])
        let lines = try #require(parsed["jsonl"])
        let rows = try #require(parsed["csv"])
        try #require(lines.count == entries.count && rows.count == entries.count)
        for (index, (stage, failure)) in entries.enumerated() {
            let shown = stage == .failed || stage == .unavailable ? failure : nil
            #expect(lines[index][1] as? String == stage.name && rows[index][1] as? String == stage.name)
            if let shown {
                let object = lines[index][2] as? [String: Any]
                #expect(object?["stage"] as? String == shown.stage.rawValue, "\(index)")
                #expect(object?["cause"] as? String == shown.cause, "\(index)")
                #expect(object?["permanent"] as? Bool == shown.permanent, "\(index)")
                #expect(
                    rows[index].dropFirst(2).compactMap { $0 as? String }
                        == [shown.stage.rawValue, shown.cause, shown.permanent ? "true" : "false"], "\(index)")
            } else {
                #expect(lines[index][2] is NSNull, "\(index)")
                #expect(rows[index].dropFirst(2).compactMap { $0 as? String } == ["", "", ""], "\(index)")
            }
        }
    }
}
