import Foundation
import TestSupport
import Testing

/// Parses an export with Python's csv or json module, checks GeoJSON's RFC 7946 shape, and
/// opens every sealed field with Python's `cryptography` (independently of photoseal).
private let exportReader = #"""
    import base64, csv, hashlib, hmac, json, sys, unicodedata
    from cryptography.fernet import Fernet, MultiFernet

    mode, path, keys_path = sys.argv[1:4]
    keys = {}
    for line in open(keys_path, encoding="utf-8"):
        if "=" in line and not line.startswith("#"):
            k, v = line.strip().split("=", 1)
            keys[k] = v
    seal_keys = keys["SEAL_KEYS"].split(",")
    multi = MultiFernet([Fernet(k) for k in seal_keys])
    index_key = base64.urlsafe_b64decode(keys["INDEX_KEY"] + "=" * (-len(keys["INDEX_KEY"]) % 4))
    kid = hmac.new(base64.urlsafe_b64decode(seal_keys[0]), b"photoseal-kid", hashlib.sha256).hexdigest()[:8]
    out = {"kid": kid, "errors": []}
    if mode == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, strict=True))
        header, rows = rows[0], rows[1:]
        out["header"] = header
        out["widths"] = sorted({len(r) for r in rows})
        records = [dict(zip(header, r)) for r in rows]
    else:
        def constant(name):
            raise ValueError("not JSON: " + name)
        doc = json.loads(open(path, encoding="utf-8").read(), parse_constant=constant)
        errors = out["errors"]
        def number(x):
            return isinstance(x, (int, float)) and not isinstance(x, bool)
        if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
            errors.append("not a FeatureCollection with a features array")
        records = []
        for f in doc.get("features", []):
            g = f.get("geometry") or {}
            c = g.get("coordinates")
            if f.get("type") != "Feature" or g.get("type") != "Point" or not isinstance(f.get("properties"), dict):
                errors.append("bad feature %r" % f.get("id"))
                continue
            if not (isinstance(c, list) and len(c) == 2 and all(number(x) for x in c)
                    and -180 <= c[0] <= 180 and -90 <= c[1] <= 90):
                errors.append("bad coordinates %r" % (c,))
                continue
            if not isinstance(f.get("id"), (str, int)):
                errors.append("bad id %r" % f.get("id"))
            records.append(dict(f["properties"], __lon=c[0], __lat=c[1], __id=f.get("id")))
        out["members"] = sorted(doc)
    for r in records:
        opened = {}
        for field in ("owner", "owner_name", "path_alias", "exif"):
            token = r.get("sealed." + field)
            opened[field] = multi.decrypt(token.encode()).decode().split("\n", 3) if token else None
        r["__opened"] = opened
        owner = opened["owner"][3] if opened["owner"] else None
        r["__blind"] = hmac.new(index_key, unicodedata.normalize("NFC", owner.strip()).lower().encode(),
                                hashlib.sha256).hexdigest() if owner else None
    out["records"] = records
    print(json.dumps(out))
    """#

/// Runs Python on a script with arguments; stdout parsed as JSON.
private func python(_ script: String, _ arguments: [String]) throws -> [String: Any] {
    let (status, data) = try runProgram(["python3", "-c", script] + arguments)
    guard status == 0, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "python failed"]) }
    return object
}

/// One photo as the servers and fixtures say it should be exported.
struct ExpectedPhoto {
    var id: String
    var takenAt: String
    var lat: Double?
    var lon: Double?
    var geoSource: String?
    var image: [String: Any]
    var inTuscany: Bool
    var owner: String
    var ownerName: String
    var pathAlias: String?
    var scores: [String: Double]
}

/// A workdir taken through search, download, extract and score against the local Flickr,
/// image and Vision servers, with what the servers and `images/truth.json` say about each photo.
final class ExportWorkdir {
    let scratch: Scratch
    let work: String
    let keys: String
    var photos: [String: ExpectedPhoto] = [:]
    var personal: [String] = []

    init() throws {
        scratch = try Scratch()
        work = scratch.path("work")
        keys = scratch.path("keys.env")
        #expect(try CLI.run(["keys", "generate", "--out", keys]).status == 0)
        let truthURL = ingestFixtures.appendingPathComponent("images/truth.json")
        let truth = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: truthURL)) as? [String: Any])
        func fixture(_ name: String) throws -> [String: Any] { try #require(truth[name] as? [String: Any]) }

        // The image server serves a folder the test fills once the photo ids are known.
        let images = scratch.path("served")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        let imageServer = try PythonFixtureServer(script: "image_server", ["--dir", images])
        defer { imageServer.stop() }
        // flickr_server.py with the photos' url_l on the image server.
        let flickr = try PythonFixtureServer(
            script: "flickr_server",
            ["--photos", "60", "--per-second", "1000", "--image-server", imageServer.base, "--all-available"])
        let endpoint = flickr.base + "/services/rest/"
        defer { flickr.stop() }
        let found = try #require((flickr.json("/__truth?term=monkey") as? [String: Any])?["photos"] as? [String: Any])
        personal = try #require(flickr.json("/__personal") as? [String])

        // Photos Flickr has no position for alternate between a Nikon image with GPS and a
        // Canon image without; the others cycle through the Nikon images.
        let nikon = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_DSCN0021.jpg", "es_DSCN0025.jpg"]
        let stamp = DateFormatter()
        stamp.locale = Locale(identifier: "en_US_POSIX")
        stamp.timeZone = TimeZone(identifier: "UTC")
        stamp.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        var unpositioned = 0
        for (index, pid) in found.keys.sorted().enumerated() {
            let record = try #require(flickr.json("/__photo?id=\(pid)") as? [String: Any])
            let lat = try #require(record["lat"] as? Double)
            let lon = try #require(record["lon"] as? Double)
            let flickrGeo = !(lat == 0 && lon == 0)
            let name: String
            if flickrGeo {
                name = nikon[index % nikon.count]
            } else {
                name = unpositioned % 2 == 0 ? "et_Canon.jpg" : "es_DSCN0010.jpg"
                unpositioned += 1
            }
            try FileManager.default.copyItem(
                atPath: ingestFixtures.appendingPathComponent("images/\(name)").path, toPath: images + "/\(pid).jpg")
            let image = try fixture(name)
            let exifLat = image["GPSLatitude"] as? Double
            let exifLon = image["GPSLongitude"] as? Double
            let taken = try #require(record["taken"] as? Int)
            let alias = record["pathalias"] as? String ?? ""
            var scores: [String: Double] = [:]
            if name == "es_DSCN0010.jpg" { scores = ["monkey": 0.9, "cage": 0.7] }
            if name == "es_DSCN0012.jpg" { scores = ["monkey": 0.65] }
            photos["flickr:\(pid)"] = ExpectedPhoto(
                id: "flickr:\(pid)", takenAt: stamp.string(from: Date(timeIntervalSince1970: Double(taken))),
                lat: flickrGeo ? lat : exifLat, lon: flickrGeo ? lon : exifLon,
                geoSource: flickrGeo ? "flickr" : (exifLat == nil ? nil : "exif"), image: image,
                inTuscany: !flickrGeo && exifLat != nil, owner: try #require(record["owner"] as? String),
                ownerName: try #require(record["ownername"] as? String), pathAlias: alias.isEmpty ? nil : alias,
                scores: scores)
        }
        try #require(photos.values.contains { $0.lat == nil } && photos.values.contains { $0.inTuscany })

        // The Vision server answers Monkey/Cage for two of the Nikon images (by the SHA-256
        // of the original, which `--store-images plain` keeps) and other words for the rest.
        let labels: [String: Any] = [
            "labels": [
                try fixture("es_DSCN0010.jpg")["sha256"] as? String ?? "": [
                    ["description": "Monkey", "score": 0.9, "mid": "/m/1"],
                    ["description": "Cage", "score": 0.7, "mid": "/m/2"],
                ],
                try fixture("es_DSCN0012.jpg")["sha256"] as? String ?? "": [
                    ["description": "Monkey", "score": 0.65, "mid": "/m/1"]
                ],
            ],
            "errors": [String: Int](),
        ]
        try JSONSerialization.data(withJSONObject: labels).write(to: URL(fileURLWithPath: scratch.path("labels.json")))
        let vision = try PythonFixtureServer(script: "vision_server", ["--labels", scratch.path("labels.json")])
        defer { vision.stop() }

        let common = ["--workdir", work, "--keys", keys]
        let steps: [[String]] = [
            ["search", "--term", "monkey", "--api-key", FlickrServer.apiKey, "--flickr-endpoint", endpoint],
            ["download", "--store-images", "plain", "--concurrency", "4"],
            ["extract"],
            [
                "score", "--label", "monkey", "--label", "cage", "--vision-endpoint",
                vision.base + "/v1/images:annotate", "--api-key", "test-vision-key",
            ],
        ]
        for step in steps {
            let result = try CLI.run(step + common)
            try #require(result.status == 0, "\(step[0]): \(result.stderr)")
        }
    }

    /// Runs `export` and writes stdout to a file for Python.
    func export(_ arguments: [String]) throws -> (result: CLI.Result, file: String) {
        let result = try CLI.run(["export", "--workdir", work, "--keys", keys] + arguments)
        let file = scratch.path("export-\(UUID().uuidString)")
        try Data(result.stdout.utf8).write(to: URL(fileURLWithPath: file))
        return (result, file)
    }
}

/// A cell as text: CSV gives strings (empty for none), GeoJSON typed values (null for none).
private func text(_ value: Any?) -> String? {
    switch value {
    case let string as String: string.isEmpty ? nil : string
    case let number as NSNumber: number.stringValue
    default: nil
    }
}

private func number(_ value: Any?) -> Double? {
    switch value {
    case let string as String: Double(string)
    case let number as NSNumber: number.doubleValue
    default: nil
    }
}

/// Checks one exported record (CSV row or GeoJSON properties) against the expected photo.
private func check(_ record: [String: Any], _ photo: ExpectedPhoto, kid: String, decrypted: Bool) {
    let id = photo.id
    #expect(text(record["source"]) == "flickr", "\(id)")
    #expect(text(record["source_id"]) == String(id.dropFirst("flickr:".count)), "\(id)")
    #expect(text(record["status"]) == "scored", "\(id)")
    for column in ["failure.stage", "failure.cause", "failure.permanent"] {
        #expect(text(record[column]) == nil, "\(id) \(column)")
    }
    #expect(text(record["taken_at"]) == photo.takenAt, "\(id)")
    if let lat = photo.lat, let lon = photo.lon {
        let tolerance = photo.geoSource == "flickr" ? 0 : 1e-9
        #expect(
            abs((number(record["lat"]) ?? .nan) - lat) <= tolerance, "\(id) lat \(String(describing: record["lat"]))")
        #expect(
            abs((number(record["lon"]) ?? .nan) - lon) <= tolerance, "\(id) lon \(String(describing: record["lon"]))")
        #expect(text(record["geo.source"]) == photo.geoSource, "\(id)")
        let cc = text(record["place.cc"]) ?? ""
        #expect(cc.count == 2 && cc == cc.uppercased(), "\(id) cc \(cc)")
        #expect(text(record["place.city"]) != nil, "\(id)")
        if photo.inTuscany { #expect(cc == "IT", "\(id)") }
    } else {
        for column in ["lat", "lon", "geo.source", "place.city", "place.cc"] {
            #expect(text(record[column]) == nil, "\(id) \(column)")
        }
    }
    #expect(text(record["image.sha256"]) == photo.image["sha256"] as? String, "\(id)")
    #expect(number(record["image.width"]) == photo.image["ImageWidth"] as? Double, "\(id)")
    #expect(number(record["image.height"]) == photo.image["ImageHeight"] as? Double, "\(id)")
    #expect(number(record["image.bytes"]) == photo.image["bytes"] as? Double, "\(id)")
    #expect(text(record["image.format"]) == "jpeg", "\(id)")
    #expect(text(record["seal.kid"]) == kid, "\(id)")
    for label in ["monkey", "cage"] {
        #expect(number(record["score.\(label)"]) == photo.scores[label], "\(id) \(label)")
    }
    // Every sealed column is a token Python opens to this document's envelope and value.
    let opened = record["__opened"] as? [String: Any] ?? [:]
    func envelope(_ field: String) -> [String]? { opened[field] as? [String] }
    #expect(envelope("owner") == ["ps1", id, "owner", photo.owner], "\(id)")
    #expect(envelope("owner_name") == ["ps1", id, "owner_name", photo.ownerName], "\(id)")
    #expect(envelope("path_alias") == photo.pathAlias.map { ["ps1", id, "path_alias", $0] }, "\(id)")
    #expect(envelope("exif")?.prefix(3) == ["ps1", id, "exif"], "\(id)")
    #expect(text(record["blind.owner"]) == record["__blind"] as? String, "\(id)")
    if decrypted {
        #expect(text(record["owner"]) == photo.owner, "\(id)")
        #expect(text(record["owner_name"]) == photo.ownerName, "\(id)")
        #expect(text(record["path_alias"]) == photo.pathAlias, "\(id)")
        // CSV has the EXIF's JSON text in a cell; GeoJSON the object itself.
        var exif = text(record["exif"])
        if let object = record["exif"] as? [String: Any], let data = try? JSONSerialization.data(withJSONObject: object)
        {
            exif = String(decoding: data, as: UTF8.self)
        }
        #expect(exif?.contains(photo.image["Make"] as? String ?? "?") == true, "\(id)")
    } else {
        for column in ["owner", "owner_name", "path_alias", "exif"] { #expect(record[column] == nil, "\(id)") }
    }
}

/// The columns `check` reads (the export has more: ExportColumnsCLITests checks every column
/// against the store).
private let checkedColumns = [
    "id", "source", "source_id", "status", "failure.stage", "failure.cause", "failure.permanent", "terms",
    "taken_at", "lat", "lon", "geo.source", "place.city", "place.cc",
    "image.sha256", "image.width", "image.height", "image.format", "image.bytes",
    "seal.kid", "blind.owner", "sealed.owner", "sealed.owner_name", "sealed.path_alias", "sealed.exif",
]

@Suite("photoseal export --format csv and geojson", .tags(.integration))
struct ExportFormatsCLITests {
    @Test("CSV export is RFC 4180 that Python's csv reads, with the servers' values and personal fields only as tokens")
    func csv() throws {
        let work = try ExportWorkdir()
        var baseHeader: [String] = []
        for decrypt in [false, true] {
            let (result, file) = try work.export(["--format", "csv"] + (decrypt ? ["--decrypt"] : []))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("export: \(work.photos.count) documents"), "\(result.stderr)")
            // Records end in CRLF; a bare LF appears only inside a quoted field (none here).
            #expect(result.stdout.hasSuffix("\r\n"))
            #expect(!result.stdout.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
            let parsed = try python(exportReader, ["csv", file, work.keys])
            let header = try #require(parsed["header"] as? [String])
            let extra = decrypt ? ["owner", "owner_name", "path_alias", "exif"] : []
            #expect(Set(checkedColumns).isSubset(of: header), "\(header)")
            #expect(header.filter { $0.hasPrefix("score.") } == ["score.cage", "score.monkey"])
            #expect(Array(header.suffix(2 + extra.count)) == ["score.cage", "score.monkey"] + extra)
            if !decrypt { baseHeader = header }
            #expect(parsed["widths"] as? [Int] == [header.count])
            let records = try #require(parsed["records"] as? [[String: Any]])
            #expect(records.compactMap { $0["id"] as? String } == work.photos.keys.sorted())
            let kid = try #require(parsed["kid"] as? String)
            for record in records {
                let photo = try #require(work.photos[record["id"] as? String ?? ""])
                #expect(record["terms"] as? String == "monkey")
                check(record, photo, kid: kid, decrypted: decrypt)
            }
            let leaked = work.personal.filter { $0.count >= 3 && result.stdout.contains($0) }
            if decrypt {
                #expect(!leaked.isEmpty && result.stdout.contains("COOLPIX"))
            } else {
                #expect(leaked.isEmpty, "personal values in plaintext: \(leaked.prefix(3))")
                #expect(!result.stdout.contains("NIKON") && !result.stdout.contains("COOLPIX"))
            }
        }
        // --min-score keeps the photos whose scores clear every filter; the score columns are
        // the labels those photos have.
        let expectedCaged = work.photos.values.filter { ($0.scores["cage"] ?? 0) >= 0.5 }.map(\.id).sorted()
        try #require(!expectedCaged.isEmpty)
        let (caged, cagedFile) = try work.export(["--format", "csv", "--min-score", "cage=0.5"])
        #expect(caged.status == 0, "\(caged.stderr)")
        let cagedRows = try python(exportReader, ["csv", cagedFile, work.keys])
        #expect((cagedRows["records"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == expectedCaged)
        #expect(cagedRows["header"] as? [String] == baseHeader)
        let (nothing, nothingFile) = try work.export(["--format", "csv", "--min-score", "monkey=0.95"])
        #expect(nothing.status == 0 && nothing.stderr.contains("export: 0 documents"), "\(nothing.stderr)")
        let nothingRows = try python(exportReader, ["csv", nothingFile, work.keys])
        #expect(nothingRows["header"] as? [String] == baseHeader.filter { !$0.hasPrefix("score.") })

        let bad = try work.export(["--format", "xml"]).result
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--format") && bad.stderr.contains("geojson"))
    }

    @Test("GeoJSON export is an RFC 7946 FeatureCollection of [lon, lat] Points; photos without a position are counted")
    func geojson() throws {
        let work = try ExportWorkdir()
        let positioned = work.photos.values.filter { $0.lat != nil }
        // Properties are named as the CSV columns.
        let (csv, csvFile) = try work.export(["--format", "csv"])
        try #require(csv.status == 0)
        let csvHeader = try #require(try python(exportReader, ["csv", csvFile, work.keys])["header"] as? [String])
        for decrypt in [false, true] {
            let (result, file) = try work.export(["--format", "geojson"] + (decrypt ? ["--decrypt"] : []))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stderr.contains(
                    "export: \(positioned.count) features; \(work.photos.count - positioned.count) photos without a position skipped"
                ), "\(result.stderr)")
            let parsed = try python(exportReader, ["geojson", file, work.keys])
            #expect((parsed["errors"] as? [String])?.isEmpty == true, "\(String(describing: parsed["errors"]))")
            #expect(parsed["members"] as? [String] == ["features", "type"])
            let records = try #require(parsed["records"] as? [[String: Any]])
            #expect(records.compactMap { $0["__id"] as? String } == positioned.map(\.id).sorted())
            let kid = try #require(parsed["kid"] as? String)
            let extra = decrypt ? ["owner", "owner_name", "path_alias", "exif"] : []
            for record in records {
                let photo = try #require(work.photos[record["id"] as? String ?? ""])
                #expect(
                    Set(record.keys.filter { !$0.hasPrefix("__") })
                        == Set(csvHeader + extra))
                // Coordinates are [lon, lat], and the properties are typed JSON values.
                #expect(
                    number(record["__lon"]) == number(record["lon"]) && number(record["__lat"]) == number(record["lat"])
                )
                #expect(record["lat"] is NSNumber && record["image.width"] is NSNumber)
                #expect(record["terms"] as? [String] == ["monkey"])
                #expect(record["score.cage"] is NSNull || record["score.cage"] is NSNumber)
                if decrypt { #expect(record["exif"] is [String: Any], "the opened EXIF is a JSON object") }
                check(record, photo, kid: kid, decrypted: decrypt)
            }
            let leaked = work.personal.filter { $0.count >= 3 && result.stdout.contains($0) }
            #expect(decrypt ? !leaked.isEmpty : leaked.isEmpty)
        }
    }
}

/// Compares a CSV export with the documents in the embedded store, read with Python's sqlite3
/// and the BSON reader of `Py` (no photoseal code): every public field of a stored document
/// that fits a cell (a value, or a list of values) must be a column holding that value.
private let storeComparison = #"""
    import csv, datetime
    store, path = sys.argv[1:3]
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, {r["id"]: r for r in reader}
    # The CSV names three things its own way: the id, the position, the scores.
    def column(p):
        if p == "_id": return "id"
        if p in ("geo.lat", "geo.lon"): return p[4:]
        if p.startswith("scores."): return "score." + p[len("scores."):]
        return p
    def leaves(value, prefix=""):
        if isinstance(value, dict):
            for k, v in value.items():
                yield from leaves(v, prefix + "." + k if prefix else k)
        elif isinstance(value, list) and any(isinstance(x, (dict, list)) for x in value):
            return
        else:
            yield prefix, value
    def same(cell, value):
        if value is None: return cell == ""
        if isinstance(value, bool): return cell == ("true" if value else "false")
        if isinstance(value, list): return cell == "|".join(value)
        if isinstance(value, float): return cell != "" and float(cell) == value
        if isinstance(value, int) and not cell.lstrip("-").isdigit():
            # A BSON date (milliseconds): the CSV has the ledger's ISO text.
            text = cell.rstrip("Z").split(".")[0].replace(" ", "T")
            t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
            return int(t.timestamp()) * 1000 == value
        return cell == str(value)
    docs = list(store_docs(store))
    fields, mismatches, compared = {}, [], 0
    for d in docs:
        for p, v in leaves(d):
            if v is not None: fields[column(p)] = p
    for d in docs:
        row = rows.get(d["_id"])
        if row is None:
            mismatches.append("no row for " + d["_id"]); continue
        values = dict((column(p), v) for p, v in leaves(d))
        for c, p in fields.items():
            if c not in row: continue
            compared += 1
            if not same(row[c], values.get(c)):
                mismatches.append("%s %s: csv %r, store %r" % (d["_id"], p, row[c][:80], str(values.get(c))[:80]))
    print(json.dumps({
        "docs": len(docs), "rows": len(rows), "compared": compared, "mismatches": mismatches[:20],
        "missing": sorted(p for c, p in fields.items() if c not in header),
        "derived": [c for c in header if c not in fields],
    }))
    """#

@Suite("photoseal export --format csv against the store")
struct ExportColumnsCLITests {
    @Test(
        "CSV has a column for every public stored field that fits a cell, each cell the stored value; licences are named"
    )
    func csvMatchesStore() throws {
        let work = try ExportWorkdir()
        let load = try CLI.run(["encrypt-load", "--workdir", work.work, "--keys", work.keys])
        try #require(load.status == 0, "\(load.stderr)")
        let (result, file) = try work.export(["--format", "csv"])
        try #require(result.status == 0, "\(result.stderr)")
        let (status, output) = try Py.run(storeComparison, [work.work + "/store.sqlite", file])
        try #require(status == 0, "\(output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(report["docs"] as? Int == work.photos.count && report["rows"] as? Int == work.photos.count)
        #expect((report["compared"] as? Int ?? 0) > work.photos.count * 30, "\(report)")
        #expect(report["missing"] as? [String] == [], "stored fields with no CSV column")
        #expect(report["mismatches"] as? [String] == [], "cells that differ from the store")
        // The columns the store has no field for: the ledger's status and failure, and the
        // licence's name and URL.
        let derived = Set(report["derived"] as? [String] ?? [])
        #expect(
            derived == [
                "status", "failure.stage", "failure.cause", "failure.permanent", "license.name", "license.url",
            ],
            "\(derived)")

        let rows = try #require(try python(exportReader, ["csv", file, work.keys])["records"] as? [[String: Any]])
        var names: [String: String] = [:]
        for row in rows {
            #expect(text(row["status"]) == "loaded")
            // Every photo the Flickr server gave a licence has its name, one name per id and
            // one id per name; every licence but "All Rights Reserved" has an http(s) page.
            let id = try #require(text(row["license"]))
            let name = try #require(text(row["license.name"]), "licence \(id) has no name")
            #expect(names.updateValue(name, forKey: id) ?? name == name)
            let url = text(row["license.url"])
            #expect(url == nil ? id == "0" : url!.hasPrefix("http"), "licence \(id): \(url ?? "no URL")")
        }
        #expect(Set(names.values).count == names.count && names.count > 3, "\(names)")

        // jsonl --decrypt: the opened EXIF is a JSON object (not a string holding JSON).
        let (opened, _) = try work.export(["--format", "jsonl", "--decrypt"])
        try #require(opened.status == 0, "\(opened.stderr)")
        let lines = opened.stdout.split(separator: "\n")
        #expect(lines.count == work.photos.count)
        for line in lines {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = document["_id"] as? String ?? "?"
            let photo = try #require(work.photos[id])
            let decrypted = try #require(document["decrypted"] as? [String: Any])
            let exif = try #require(decrypted["exif"] as? [String: Any], "\(id): exif is not an object")
            let text = String(decoding: try JSONSerialization.data(withJSONObject: exif), as: UTF8.self)
            #expect(text.contains(photo.image["Make"] as? String ?? "?"), "\(id)")
            #expect(decrypted["owner"] as? String == photo.owner, "\(id)")
        }
    }
}
