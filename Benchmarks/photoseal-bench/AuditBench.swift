import Crypto
import Foundation
import Ingest
import Logging
import Store

/// `photoseal-bench audit [--count N] [--path FILE] [--keys FILE]`: builds an embedded store of
/// N realistically sealed documents (owner, owner name, path alias, EXIF JSON, blind index),
/// writes the keys it used to FILE for the Python peer, then runs the audit (every check but
/// the ledger comparison) and prints documents per second.
enum AuditBench {
    static func main(_ arguments: [String]) async throws {
        var count = 100_000
        let temporary = FileManager.default.temporaryDirectory
        var path = temporary.appendingPathComponent("photoseal-bench-audit.sqlite").path
        var keysPath = temporary.appendingPathComponent("photoseal-bench-audit.keys").path
        var index = 0
        while index + 1 < arguments.count {
            switch arguments[index] {
            case "--count": count = Int(arguments[index + 1]) ?? count
            case "--path": path = arguments[index + 1]
            case "--keys": keysPath = arguments[index + 1]
            default: break
            }
            index += 2
        }
        let keyring = try Keyring([FernetKey.generate(), FernetKey.generate()])
        let blind = try BlindIndex.generate()
        try? FileManager.default.removeItem(atPath: keysPath)
        try Secrets.writeNewFile(Secrets.newFileText(keyring: keyring, index: blind), to: keysPath)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let store = try EmbeddedStore(path: path, logger: Logger(label: "bench"))
        // Most documents under the primary key, one in ten under the older one (mid-rotation).
        let sealers = [FieldSealer(keyring: keyring), FieldSealer(keyring: try Keyring([keyring.keys[1]]))]
        let build = try await StoreBench.timed {
            var start = 0
            while start < count {
                let end = min(count, start + 5000)
                let documents = try (start..<end).map {
                    try document($0, sealer: sealers[$0 % 10 == 0 ? 1 : 0], blind: blind)
                }
                _ = try await store.upsert(documents)
                start = end
            }
            return count
        }
        print(StoreBench.row("swift build + load (setup, not timed)", count, build.seconds))
        // Where the time goes: reading the stored bytes alone (what the audit walks), reading
        // and decoding them into trees (what it no longer does), and the checks alone on one thread.
        let streamed = try await StoreBench.timed {
            var seen = 0
            for try await batch in store.allRawDocuments(batchSize: 1000) { seen += batch.count }
            return seen
        }
        print(StoreBench.row("swift stream only (stored bytes)", streamed.value, streamed.seconds))
        let decoded = try await StoreBench.timed {
            var seen = 0
            for try await batch in store.allDocuments(batchSize: 1000) { seen += batch.count }
            return seen
        }
        print(StoreBench.row("swift stream + decode to trees", decoded.value, decoded.seconds))
        var sample: [RawDocument] = []
        for try await batch in store.allRawDocuments(batchSize: 1000) {
            sample += batch
            if sample.count >= 10_000 { break }
        }
        let checker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: true)
        let now = Int64(Date().timeIntervalSince1970)
        let checked = try await StoreBench.timed {
            sample.reduce(0) { $0 + checker.check($1, now: now).openedKids.count }
        }
        print(StoreBench.row("swift checks only (1 thread)", sample.count, checked.seconds))
        // encrypt-load checks each document as a tree, now with the plaintext checks too.
        let trees = try sample.map { try $0.document() }
        for (label, scan) in [("sealed fields only", false), ("with plaintext checks", true)] {
            let loadChecker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: scan)
            let timed = try await StoreBench.timed {
                trees.reduce(0) { $0 + loadChecker.check($1, now: now).openedKids.count }
            }
            print(StoreBench.row("swift load checks, \(label)", trees.count, timed.seconds))
        }
        let audit = Audit(store: store, ledger: nil, keyring: keyring, blind: blind)
        let run = try await StoreBench.timed { try await audit.run() }
        precondition(run.value.documents == count && run.value.ok, "audit: \(run.value.findings.prefix(3))")
        print(StoreBench.row("swift photoseal audit (all cores)", count, run.seconds))
        exit(0)
    }

    static let exif = """
        {"EXIF:DateTimeOriginal":"2021:05:01 07:12:33","EXIF:ExposureTime":0.004,"EXIF:FNumber":5.6,\
        "EXIF:FocalLength":400,"EXIF:ISOSpeedRatings":800,"EXIF:LensModel":"EF100-400mm f/4.5-5.6L IS II USM",\
        "GPS:GPSLatitude":41.902782,"GPS:GPSLongitude":12.496366,"IFD0:Make":"Canon","IFD0:Model":"Canon EOS 5D Mark IV",\
        "IFD0:Orientation":1,"IFD0:Software":"Adobe Lightroom Classic 10.2","IFD0:XResolution":300,"IFD0:YResolution":300}
        """

    static func document(_ number: Int, sealer: FieldSealer, blind: BlindIndex) throws -> StoreDocument {
        let sourceID = String(52_000_000_000 + number * 7)
        let id = "flickr:" + sourceID
        let owner = "\(40_000_000 + number % 1500 * 13)@N0\(number % 7)"
        let at = Int64(1_700_000_000 + number % 86_400)
        func seal(_ value: String, _ field: String) throws -> StoreValue {
            .string(try sealer.seal(value, documentID: id, field: field, timestamp: at))
        }
        return [
            "_id": .string(id), "source": "flickr", "source_id": .string(sourceID),
            "terms": ["monkey wild", "scimmia"], "title": .string("Macaque on the wall \(number)"),
            "description": "A long-tailed macaque on a wall near the river, early morning light.",
            "tags": ["monkey", "macaque", "wildlife", "nature"], "machine_tags": [],
            "views": .int(Int64(number % 5000)), "license": "4",
            "taken_at": .date(Date(timeIntervalSince1970: 1_600_000_000 + Double(number))),
            "uploaded_at": .date(Date(timeIntervalSince1970: 1_600_100_000 + Double(number))),
            "page_url": .string("https://www.flickr.com/photo.gne?id=\(sourceID)"),
            "image_url": .string("https://live.staticflickr.com/65535/\(sourceID)_abcdef0123_b.jpg"),
            "image": [
                "sha256": .string(String(repeating: "ab", count: 32)), "bytes": 345_678, "width": 1024,
                "height": 768, "format": "jpeg", "path": "images/ab/abababab.jpg",
            ],
            "geo": ["lat": 41.9, "lon": 12.5, "accuracy": 16, "source": "exif"],
            "place": [
                "cc": "IT", "country": "Italy", "admin1": "Lazio", "admin2": "Roma", "city": "Rome",
                "distance_km": 1.25,
            ],
            "scores": ["macaque": 0.91, "monkey": 0.97], "score_model": "vision-v1",
            "scored_at": .date(Date(timeIntervalSince1970: 1_700_000_100)),
            "sealed": [
                "owner": try seal(owner, "owner"),
                "owner_name": try seal("Fotografa \(number % 1500) Ñandú", "owner_name"),
                "path_alias": try seal("walker\(number % 1500)trail", "path_alias"),
                "exif": try seal(exif, "exif"),
            ],
            "seal": ["kid": .string(sealer.keyring.primary.kid), "at": .date(Date(timeIntervalSince1970: Double(at)))],
            "blind": ["owner": .string(try blind.hex(owner))],
            "ingested_at": .date(Date(timeIntervalSince1970: Double(at))), "pipeline_version": "0.1.0",
        ]
    }
}
