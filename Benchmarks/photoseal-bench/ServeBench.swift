import Foundation
import Ingest
import Logging
import Serve
import Store

/// `photoseal-bench serve make --store PATH --csv FILE [--count N]`: writes N photo documents
/// shaped as encrypt-load stores them into an embedded store, and the same rows flattened into a
/// CSV (for the datasette side of scripts/bench-serve.sh).
/// `photoseal-bench serve run --store PATH [--port N]`: serves that store's gallery on
/// 127.0.0.1 until killed (thumbnails off: the documents have no images).
enum ServeBench {
    static let countries: [(cc: String, name: String, city: String, lat: Double, lon: Double)] = [
        ("IT", "Italy", "Roma", 41.9, 12.5), ("FR", "France", "Paris", 48.85, 2.35),
        ("DE", "Germany", "Berlin", 52.52, 13.4), ("ES", "Spain", "Madrid", 40.42, -3.7),
        ("GB", "United Kingdom", "London", 51.5, -0.12), ("US", "United States", "Chicago", 41.88, -87.63),
        ("BR", "Brazil", "Manaus", -3.1, -60.02), ("KE", "Kenya", "Nairobi", -1.29, 36.82),
        ("IN", "India", "Jaipur", 26.91, 75.79), ("ID", "Indonesia", "Ubud", -8.51, 115.26),
        ("JP", "Japan", "Kyoto", 35.01, 135.77), ("AU", "Australia", "Cairns", -16.92, 145.77),
    ]
    static let licenses = ["0", "4", "5", "9", "10"]

    static func main(_ arguments: [String]) async throws {
        var options: [String: String] = [:]
        var index = 1
        while index + 1 < arguments.count {
            options[arguments[index]] = arguments[index + 1]
            index += 2
        }
        let logger = Logger(label: "photoseal.bench.serve")
        guard let path = options["--store"] else {
            print("usage: photoseal-bench serve make --store PATH --csv FILE [--count N] | run --store PATH [--port N]")
            return
        }
        let store = try EmbeddedStore(path: path, batchSize: 2000, logger: logger)
        switch arguments.first {
        case "make":
            try await make(
                store, count: Int(options["--count"] ?? "") ?? 100_000, csv: options["--csv"] ?? "photos.csv")
        case "run":
            let thumbnails = Thumbnails(images: ImageStore(workdir: "/nonexistent"), keyring: nil, cacheDirectory: nil)
            let gallery = Gallery(store: store, thumbnails: thumbnails, logger: logger)
            let count = try await gallery.load()
            let server = try GalleryServer(
                gallery: gallery, host: "127.0.0.1", port: UInt16(options["--port"] ?? "") ?? 0)
            let task = Task { try await server.run() }
            let port = try await server.port()
            // stderr is unbuffered: the script reads the address while the server runs.
            FileHandle.standardError.write(Data("serving \(count) photos at http://127.0.0.1:\(port)/\n".utf8))
            try await task.value
        default:
            print("usage: photoseal-bench serve make|run --store PATH ...")
        }
    }

    /// The documents, deterministic from their number.
    static func make(_ store: any DocumentStore, count: Int, csv: String) async throws {
        var rows =
            "id,source,title,terms,views,license,taken_at,cc,country,city,lat,lon,status,width,score_monkey,score_cat\n"
        var batch: [StoreDocument] = []
        let decoder = JSONDecoder()
        for number in 1...count {
            let place = countries[(number * 7) % countries.count]
            let lat = place.lat + Double((number * 37) % 200) / 100 - 1
            let lon = place.lon + Double((number * 53) % 200) / 100 - 1
            let views = (number * 7919) % 100_000
            let license = licenses[number % licenses.count]
            let monkey = Double((number * 31) % 101) / 100
            let cat = Double((number * 17) % 101) / 100
            let day = 1 + number % 28
            let month = 1 + number % 12
            let taken = String(format: "20%02d-%02d-%02dT12:00:00", 15 + number % 10, month, day)
            let terms = number % 3 == 0 ? ["monkey wild", "scimmia"] : ["monkey wild"]
            let width = 640 + (number % 5) * 256
            let id = String(format: "flickr:%09d", number)
            let json: [String: Any] = [
                "_id": id, "source": "flickr", "source_id": String(number), "terms": terms,
                "title": "Photo \(number) near \(place.city)", "description": "",
                "tags": ["zoo", place.city.lowercased()],
                "machine_tags": [], "image_sources": [], "views": views, "license": license, "taken_at": taken,
                "geo": ["lat": lat, "lon": lon, "accuracy": 16, "source": "flickr"],
                "place": ["cc": place.cc, "country": place.name, "city": place.city, "distance_km": 1.0],
                "scores": ["monkey": monkey, "cat": cat],
                "image": [
                    "sha256": String(repeating: "0", count: 64), "bytes": 200_000, "width": width, "height": 768,
                    "format": "png",
                ],
                "sealed": ["owner": "gAAAAABbench\(number)"],
                "seal": ["kid": "00000000", "at": "2024-01-01T00:00:00Z"],
                "blind": ["owner": String(repeating: "a", count: 64)], "ingested_at": "2024-01-01T00:00:00Z",
                "pipeline_version": "bench",
            ]
            let document = try decoder.decode(PhotoDocument.self, from: JSONSerialization.data(withJSONObject: json))
            batch.append(document.storeDocument())
            rows +=
                "\(id),flickr,Photo \(number) near \(place.city),\(terms.joined(separator: "|")),\(views),\(license),"
                + "\(taken),\(place.cc),\(place.name),\(place.city),\(lat),\(lon),loaded,\(width),\(monkey),\(cat)\n"
            if batch.count == 2000 {
                _ = try await store.upsert(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { _ = try await store.upsert(batch) }
        try rows.write(toFile: csv, atomically: true, encoding: .utf8)
        print("wrote \(count) documents and \(csv)")
    }
}
