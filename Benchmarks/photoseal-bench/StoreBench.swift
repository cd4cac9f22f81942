import Foundation
import Logging
import Store

/// `photoseal-bench store [--count N] [--path FILE | --store URI]`: loads N photo-shaped documents
/// into a fresh embedded store (or the store a URI names, e.g. `postgresql://…`, emptied first),
/// loads them again (all unchanged), then streams them all back as audit does, printing documents
/// per second for each phase. The file is kept for the peer (Python) reader.
enum StoreBench {
    /// Runs the benchmark and exits when the first argument is `store`; otherwise returns.
    static func runIfRequested(_ arguments: [String]) async throws {
        guard arguments.dropFirst().first == "store" else { return }
        try await main(Array(arguments.dropFirst(2)))
    }

    static func main(_ arguments: [String]) async throws {
        var count = 100_000
        var path = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-bench-store.sqlite").path
        var uri: String?
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--count" where index + 1 < arguments.count: count = Int(arguments[index + 1]) ?? count
            case "--path" where index + 1 < arguments.count: path = arguments[index + 1]
            case "--store" where index + 1 < arguments.count: uri = arguments[index + 1]
            default: break
            }
            index += 2
        }
        let store: any DocumentStore
        let kind: String
        if let uri {
            store = try DocumentStores.open(uri: uri, logger: Logger(label: "bench"))
            try await store.drop()
            kind = String(uri.prefix { $0 != ":" })
        } else {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            store = try EmbeddedStore(path: path, logger: Logger(label: "bench"))
            kind = "embedded"
        }
        let documents = (0..<count).map(document)

        let loaded = try await timed { try await store.upsert(documents) }
        print(row("swift \(kind) upsert (insert)", count, loaded.seconds))
        let reloaded = try await timed { try await store.upsert(documents) }
        print(row("swift \(kind) upsert (unchanged)", count, reloaded.seconds))
        let streamed = try await timed {
            var seen = 0
            var sealed = 0
            for try await batch in store.allDocuments(batchSize: 1000) {
                seen += batch.count
                for document in batch where document.value(at: "sealed.owner")?.stringValue != nil { sealed += 1 }
            }
            precondition(seen == count && sealed == count, "streamed \(seen) of \(count)")
            return seen
        }
        print(row("swift \(kind) stream (allDocuments)", streamed.value, streamed.seconds))
        exit(0)
    }

    static func row(_ name: String, _ documents: Int, _ seconds: Double) -> String {
        let rate = Double(documents) / max(seconds, 1e-9)
        return "\(name.padding(toLength: 40, withPad: " ", startingAt: 0)) \(documents) docs "
            + String(format: "%8.2f s %10.0f docs/s", seconds, rate)
    }

    static func timed<T>(_ body: () async throws -> T) async throws -> (value: T, seconds: Double) {
        let start = ContinuousClock.now
        let value = try await body()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return (value, seconds)
    }

    static func document(_ number: Int) -> StoreDocument {
        let id = String(format: "%011d", number)
        return [
            "_id": .string("flickr:\(id)"), "source": "flickr", "source_id": .string(id),
            "terms": ["monkey wild", "scimmia"], "title": .string("Photo \(number)"),
            "description": "A long-tailed macaque on a wall near the river, early morning light.",
            "tags": ["monkey", "macaque", "wildlife", "nature"], "views": .int(Int64(number % 5000)),
            "license": "4", "taken_at": .date(Date(timeIntervalSince1970: 1_600_000_000 + Double(number))),
            "image": [
                "sha256": .string(String(repeating: "ab", count: 32)), "bytes": 345_678, "width": 1024,
                "height": 768, "format": "jpeg",
            ],
            "geo": ["lat": 41.9, "lon": 12.5, "accuracy": 16, "source": "exif"],
            "place": ["cc": "IT", "country": "Italy", "admin1": "Lazio", "city": "Rome", "distance_km": 1.25],
            "scores": ["monkey": 0.97, "macaque": 0.91],
            "sealed": [
                "owner": .string("gAAAAA" + String(repeating: "x", count: 94)),
                "exif": .string("gAAAAA" + String(repeating: "y", count: 600)),
            ],
            "seal": ["kid": "k1a2b3c4d5e6", "at": .date(Date(timeIntervalSince1970: 1_700_000_000))],
            "blind": ["owner": .string(String(repeating: "0f", count: 32))],
        ]
    }
}
