import Foundation
import Parquet
import TestSupport
import Testing

/// Files written by `ParquetWriter`, read back by pyarrow and DuckDB (scripts/parquet_check.py).
@Suite("Parquet writer", .tags(.integration))
struct ParquetWriterTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// Both readers' rows, checked equal to each other first.
    func readBack(_ path: String) throws -> (rows: [[String: Any]], dump: [String: Any]) {
        let dump = try ParquetReaders.dump(path)
        let arrow = try #require(dump["pyarrow"] as? [[String: Any]])
        let duck = try #require(dump["duckdb"] as? [[String: Any]])
        #expect(NSArray(array: arrow).isEqual(to: duck), "pyarrow and DuckDB read different rows")
        return (arrow, dump)
    }

    @Test("flat columns of every type read back with their nulls and non-ASCII text")
    func flatColumns() throws {
        let path = folder + "/flat.parquet"
        let schema = ParquetSchema([
            .string("id", optional: false), .string("stage"), .int64("views"), .double("score"), .bool("permanent"),
        ])
        let writer = try ParquetWriter(path: path, schema: schema)
        try writer.append([.string("flickr:1"), .string("download"), .int64(42), .double(0.25), .bool(true)])
        try writer.append([.string("flickr:2"), .null, .null, .null, .null])
        // Precomposed and decomposed é stay two distinct strings (bytes, not canonical equality).
        try writer.append([
            .string("Zürich 東京 🐒"), .string("caf\u{E9}"), .int64(Int64.min), .double(-1e300), .bool(false),
        ])
        try writer.append([.string(""), .string("cafe\u{301}"), .int64(Int64.max), .double(0), .bool(false)])
        try writer.close()

        let (rows, dump) = try readBack(path)
        #expect(dump["num_rows"] as? Int == 4)
        #expect(rows.count == 4)
        #expect(rows[0]["id"] as? String == "flickr:1")
        #expect(rows[0]["stage"] as? String == "download")
        #expect((rows[0]["views"] as? NSNumber)?.int64Value == 42)
        #expect(rows[0]["score"] as? Double == 0.25)
        #expect(rows[0]["permanent"] as? Bool == true)
        for column in ["stage", "views", "score", "permanent"] { #expect(rows[1][column] is NSNull, "\(column)") }
        #expect(rows[2]["id"] as? String == "Zürich 東京 🐒")
        #expect(Array((rows[2]["stage"] as? String ?? "").utf8) == Array("caf\u{E9}".utf8))
        #expect(Array((rows[3]["stage"] as? String ?? "").utf8) == Array("cafe\u{301}".utf8))
        #expect((rows[2]["views"] as? NSNumber)?.int64Value == Int64.min)
        #expect((rows[3]["views"] as? NSNumber)?.int64Value == Int64.max)
        #expect(rows[2]["score"] as? Double == -1e300)
        #expect(rows[3]["id"] as? String == "")
        let columns = try #require(dump["columns"] as? [String: [String: Any]])
        #expect(columns["id"]?["compression"] as? String == "ZSTD")
    }

    @Test("groups, lists of strings and of structs, maps and timestamps read back nested")
    func nestedFields() throws {
        let path = folder + "/nested.parquet"
        let schema = ParquetSchema([
            .string("id", optional: false),
            .group("place", [.string("city"), .string("cc"), .double("distance_km")]),
            .list("tags", of: .string("tag", optional: false)),
            .list(
                "labels",
                of: .group("label", [.string("description"), .double("score"), .list("names", of: .string("name"))])),
            .map("scores", value: .double("score")),
            .timestamp("at", unit: .millis),
            .timestamp("micros", unit: .micros),
        ])
        let writer = try ParquetWriter(path: path, schema: schema, rowGroupRows: 2)
        try writer.append([
            .string("a"),
            .group([.string("Tōkyō"), .string("JP"), .double(1.5)]),
            .list([.string("x"), .string("y"), .string("x")]),
            .list([
                .group([.string("monkey"), .double(0.9), .list([.string("m"), .null])]),
                .group([.null, .null, .null]),
            ]),
            .list([.group([.string("monkey"), .double(0.75)]), .group([.string("zoo"), .null])]),
            .int64(1_700_000_000_123), .int64(-1),
        ])
        // Null group, null list, empty list, group of nulls, empty map.
        try writer.append([.string("b"), .null, .null, .list([]), .list([]), .null, .null])
        try writer.append([
            .string("c"), .group([.null, .null, .null]), .list([]), .null, .null, .int64(0), .int64(86_400_000_000),
        ])
        try writer.close()

        let (rows, dump) = try readBack(path)
        #expect(dump["row_groups"] as? Int == 2)
        #expect(rows.count == 3)
        let a = rows[0]
        let place = try #require(a["place"] as? [String: Any])
        #expect(place["city"] as? String == "Tōkyō")
        #expect(place["cc"] as? String == "JP")
        #expect(place["distance_km"] as? Double == 1.5)
        #expect(a["tags"] as? [String] == ["x", "y", "x"])
        let labels = try #require(a["labels"] as? [[String: Any]])
        #expect(labels.count == 2)
        #expect(labels[0]["description"] as? String == "monkey")
        #expect(labels[0]["score"] as? Double == 0.9)
        #expect((labels[0]["names"] as? [Any]).map { NSArray(array: $0) } == NSArray(array: ["m", NSNull()]))
        #expect(labels[1]["description"] is NSNull && labels[1]["names"] is NSNull)
        let scores = try #require(a["scores"] as? [String: Any])
        #expect(scores["monkey"] as? Double == 0.75)
        #expect(scores["zoo"] is NSNull)
        #expect((a["at"] as? NSNumber)?.int64Value == 1_700_000_000_123_000)
        #expect((a["micros"] as? NSNumber)?.int64Value == -1)
        let b = rows[1]
        #expect(b["place"] is NSNull)
        #expect(b["tags"] is NSNull)
        #expect(b["labels"] as? [Any] != nil && (b["labels"] as? [Any])?.isEmpty == true)
        #expect((b["scores"] as? [String: Any])?.isEmpty == true)
        #expect(b["at"] is NSNull)
        let c = rows[2]
        let emptyPlace = try #require(c["place"] as? [String: Any])
        #expect(emptyPlace["city"] is NSNull && emptyPlace["distance_km"] is NSNull)
        #expect((c["tags"] as? [Any])?.isEmpty == true)
        #expect(c["labels"] is NSNull && c["scores"] is NSNull)
        #expect((c["micros"] as? NSNumber)?.int64Value == 86_400_000_000)
    }

    @Test("row groups split every N rows; repetitive strings get a dictionary, unique ones PLAIN")
    func rowGroupsAndEncodings() throws {
        let path = folder + "/groups.parquet"
        let schema = ParquetSchema([.int64("n", optional: false), .string("kind"), .string("unique")])
        let writer = try ParquetWriter(path: path, schema: schema, rowGroupRows: 100, dictionaryLimit: 4096)
        let kinds = ["found", "downloaded", "scored", "ünïcödé"]
        for n in 0..<1050 {
            let unique = String(repeating: "u", count: 100) + "-\(n)"
            try writer.append([.int64(Int64(n)), n % 7 == 0 ? .null : .string(kinds[n % 4]), .string(unique)])
        }
        #expect(writer.rowGroupCount == 10)
        try writer.close()
        #expect(writer.rowCount == 1050)

        let (rows, dump) = try readBack(path)
        #expect(dump["row_groups"] as? Int == 11)
        #expect(rows.count == 1050)
        for (n, row) in rows.enumerated() {
            #expect((row["n"] as? NSNumber)?.intValue == n)
            if n % 7 == 0 {
                #expect(row["kind"] is NSNull)
            } else {
                #expect(row["kind"] as? String == kinds[n % 4])
            }
            #expect(row["unique"] as? String == String(repeating: "u", count: 100) + "-\(n)")
        }
        let columns = try #require(dump["columns"] as? [String: [String: Any]])
        #expect((columns["kind"]?["encodings"] as? [String])?.contains("RLE_DICTIONARY") == true)
        // 50 or 100 unique ~104-byte strings pass the 4 KiB dictionary limit: PLAIN values only.
        #expect((columns["unique"]?["encodings"] as? [String])?.contains("RLE_DICTIONARY") == false)
        #expect((columns["unique"]?["encodings"] as? [String])?.contains("PLAIN") == true)
    }

    @Test("a file with no rows has its schema and reads as empty")
    func emptyFile() throws {
        let path = folder + "/empty.parquet"
        let writer = try ParquetWriter(
            path: path, schema: ParquetSchema([.string("id"), .list("tags", of: .string("tag"))]))
        try writer.close()
        let (rows, dump) = try readBack(path)
        #expect(rows.isEmpty)
        #expect(dump["num_rows"] as? Int == 0)
        #expect((dump["schema"] as? String)?.contains("tags: list<element: string>") == true)
    }

    @Test("the file appears only at close; a writer dropped unclosed leaves nothing")
    func atomicWrite() throws {
        let path = folder + "/atomic.parquet"
        do {
            let writer = try ParquetWriter(path: path, schema: ParquetSchema([.string("id")]))
            try writer.append([.string("x")])
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
        let writer = try ParquetWriter(path: path, schema: ParquetSchema([.string("id")]))
        try writer.append([.string("y")])
        try writer.close()
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["atomic.parquet"])
        #expect(try readBack(path).rows.map { $0["id"] as? String } == ["y"])
    }

    @Test("a row that does not fit the schema is refused whole, naming the column")
    func schemaMismatch() throws {
        let path = folder + "/mismatch.parquet"
        let schema = ParquetSchema([
            .string("id", optional: false), .group("place", [.string("city"), .int64("n", optional: false)]),
        ])
        let writer = try ParquetWriter(path: path, schema: schema)
        try writer.append([.string("ok1"), .group([.string("a"), .int64(1)])])
        let wrongType = #expect(throws: ParquetError.self) {
            try writer.append([.string("bad"), .group([.string("b"), .string("not a number")])])
        }
        #expect(wrongType?.description.contains("place.n") == true)
        let requiredNull = #expect(throws: ParquetError.self) {
            try writer.append([.string("bad"), .group([.string("b"), .null])])
        }
        #expect(requiredNull?.code == .schemaMismatch)
        #expect(throws: ParquetError.self) { try writer.append([.string("short")]) }
        try writer.append([.string("ok2"), .null])
        try writer.close()
        let rows = try readBack(path).rows
        #expect(rows.map { $0["id"] as? String } == ["ok1", "ok2"])
        #expect((rows[0]["place"] as? [String: Any])?["city"] as? String == "a")
    }
}
