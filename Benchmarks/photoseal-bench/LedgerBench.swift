import Foundation
import Ingest
import Logging

/// `photoseal-bench ledger --workdir DIR [--count N]`: fills DIR's ledger with N varied photo
/// documents (deterministic from their number) for the export benchmarks
/// (scripts/bench-parquet.sh): every stage, failures, places with and without fields, labels,
/// scores, image sources, a fallback, non-ASCII and quoted text.
enum LedgerBench {
    static func main(_ arguments: [String]) async throws {
        var options: [String: String] = [:]
        var index = 0
        while index + 1 < arguments.count {
            options[arguments[index]] = arguments[index + 1]
            index += 2
        }
        guard let workdir = options["--workdir"] else {
            print("usage: photoseal-bench ledger --workdir DIR [--count N]")
            return
        }
        let count = Int(options["--count"] ?? "") ?? 100_000
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        let ledger = try Ledger(directory: workdir, logger: Logger(label: "photoseal.bench.ledger"))
        let start = Date()
        // One batch per stage, each inserted in one transaction when full.
        var batches: [String: [PhotoDocument]] = [:]
        var failures: [(id: String, failure: PhotoFailure)] = []
        let stages: [Ledger.Stage] = [.loaded, .loaded, .loaded, .scored, .extracted, .downloaded, .found, .failed]
        for number in 1...count {
            let document = try makeDocument(number)
            let stage = stages[number % stages.count]
            batches[stage.name, default: []].append(document)
            if batches[stage.name]?.count ?? 0 >= 2000 {
                _ = try await ledger.insertImported(batches[stage.name] ?? [], stage: stage)
                batches[stage.name] = []
            }
            if stage == .failed {
                failures.append(
                    (
                        document.id,
                        PhotoFailure(
                            stage: number % 16 == 0 ? .download : .score,
                            cause: number % 16 == 0 ? "HTTP 404 «not found»" : "vision: quota",
                            permanent: number % 16 == 0)
                    ))
            }
        }
        for stage in stages {
            if let batch = batches.removeValue(forKey: stage.name), !batch.isEmpty {
                _ = try await ledger.insertImported(batch, stage: stage)
            }
        }
        try await ledger.recordFailures(failures)
        print(String(format: "ledger: %d documents in %.1f s", count, Date().timeIntervalSince(start)))
    }

    static let places: [(cc: String?, country: String?, admin1: String?, city: String?)] = [
        ("IT", "Italy", "Toscana", "Firenze"), ("JP", "Japan", "京都府", "京都市"), ("FR", "France", nil, "Paris"),
        ("DE", "Germany", "Bayern", "München"), (nil, nil, nil, nil), ("BR", "Brazil", "Amazonas", "Manaus"),
    ]

    static func makeDocument(_ number: Int) throws -> PhotoDocument {
        let place = places[number % places.count]
        let id = String(format: "flickr:%09d", number)
        var json: [String: Any] = [
            "_id": id, "source": "flickr", "source_id": String(number),
            "terms": number % 3 == 0 ? ["monkey", "scimmia 🐒"] : ["monkey"],
            "title": number % 5 == 0 ? "" : "Photo \(number) \"at\" \(place.city ?? "sea"), café",
            "description": number % 4 == 0 ? "line one\nline two, with ünïcödé" : "",
            "tags": number % 7 == 0 ? [] : ["zoo", "tag\(number % 50)"],
            "machine_tags": number % 11 == 0 ? ["geo:lat=1.5"] : [],
            "image_sources": [
                ["size": "l", "url": "https://img.invalid/\(number)_l.jpg", "width": 1024, "height": 768],
                ["size": "o", "url": "https://img.invalid/\(number)_o.jpg"],
            ],
            "sealed": ["owner": "gAAAAAowner\(number)", "owner_name": "gAAAAAname\(number)"],
            "seal": ["kid": "0a1b2c3d", "at": "2026-12-07T01:02:03Z"],
            "blind": ["owner": String(format: "%064x", number % 997)],
            "ingested_at": "2026-12-07T01:02:03Z", "pipeline_version": "0.9.0-bench",
        ]
        if number % 9 != 0 { json["views"] = (number * 7919) % 100_000 }
        if number % 6 != 0 { json["license"] = String(number % 11) }
        if number % 8 != 0 {
            json["taken_at"] = String(
                format: "20%02d-%02d-%02dT12:34:56", 10 + number % 15, 1 + number % 12, 1 + number % 28)
            json["uploaded_at"] = "2024-05-06T07:08:09Z"
            json["page_url"] = "https://www.flickr.com/photo.gne?id=\(number)"
            json["image_url"] = "https://img.invalid/\(number)_l.jpg"
        }
        if number % 8 != 6 && number % 8 != 7 {
            var image: [String: Any] = [
                "sha256": String(format: "%064x", number), "bytes": 100_000 + number, "width": 1024,
                "format": number % 13 == 0 ? "gif" : "jpeg", "path": "images/\(number % 256)/\(number).jpg",
            ]
            if number % 10 != 0 { image["height"] = 768 }
            if number % 13 == 0 { image["fallback"] = ["stored_as": "sealed", "reason": "unsupported-format"] }
            json["image"] = image
        }
        if number % 4 != 1 {
            json["geo"] = [
                "lat": Double(number % 18_000) / 100 - 90, "lon": Double(number % 36_000) / 100 - 180,
                "source": number % 2 == 0 ? "flickr" : "exif",
            ].merging(number % 3 == 0 ? ["accuracy": 16] : [:]) { a, _ in a }
            var placeJSON: [String: Any] = ["distance_km": Double(number % 1000) / 7]
            if let cc = place.cc { placeJSON["cc"] = cc }
            if let country = place.country { placeJSON["country"] = country }
            if let admin1 = place.admin1 { placeJSON["admin1"] = admin1 }
            if let city = place.city { placeJSON["city"] = city }
            json["place"] = placeJSON
        }
        if number % 8 < 5 {
            let monkey = Double((number * 31) % 101) / 100
            json["scores"] = number % 17 == 0 ? [:] : ["monkey": monkey, "cage": Double(number % 7) / 7]
            json["score_model"] = "google-vision-label-detection"
            json["scored_at"] = "2026-12-07T01:02:04Z"
            json["labels"] = [
                ["mid": "/m/0\(number % 40)", "description": "Monkey", "score": monkey, "topicality": 0.5],
                ["description": "Zoo ü", "score": 0.25],
            ]
        }
        return try JSONDecoder().decode(PhotoDocument.self, from: JSONSerialization.data(withJSONObject: json))
    }
}
