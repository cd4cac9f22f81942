import Foundation
import TestSupport
import Testing

@Suite("photoseal export --format parquet", .tags(.integration))
struct ParquetExportCLITests {
    @Test(
        "Parquet export reads back in pyarrow and DuckDB equal, field by field, to the JSON lines export of the same filters"
    )
    func equalsJSONLines() throws {
        let work = try ExportWorkdir()
        let load = try CLI.run(["encrypt-load", "--workdir", work.work, "--keys", work.keys])
        try #require(load.status == 0, "\(load.stderr)")
        let filters: [[String]] = [[], ["--decrypt"], ["--min-score", "monkey=0.6"], ["--term", "no-such-term"]]
        for extra in filters {
            let parquet = work.scratch.path("export-\(UUID().uuidString).parquet")
            let written = try CLI.run(
                ["export", "--workdir", work.work, "--keys", work.keys, "--format", "parquet", "--out", parquet] + extra
            )
            try #require(written.status == 0, "\(extra): \(written.stderr)")
            let (jsonl, jsonlFile) = try work.export(["--format", "jsonl"] + extra)
            try #require(jsonl.status == 0, "\(extra): \(jsonl.stderr)")
            let (status, output) = try ParquetReaders.compare(parquet: parquet, jsonl: jsonlFile)
            #expect(status == 0, "\(extra): \(output)")
            let count = jsonl.stdout.split(separator: "\n").count
            #expect(written.stderr.contains("export: \(count) documents"), "\(extra): \(written.stderr)")
            switch extra.first {
            case nil, "--decrypt": #expect(count == work.photos.count)
            case "--min-score": #expect(count > 0 && count < work.photos.count)
            default: #expect(count == 0)
            }
        }

        // The nested fields are there as groups, lists and a map, not text.
        let parquet = work.scratch.path("nested.parquet")
        let written = try CLI.run(
            [
                "export", "--workdir", work.work, "--keys", work.keys, "--format", "parquet", "--out", parquet,
                "--decrypt",
            ])
        try #require(written.status == 0, "\(written.stderr)")
        let dump = try ParquetReaders.dump(parquet)
        let schema = try #require(dump["schema"] as? String)
        for column in [
            "place: struct<cc: string", "labels: list<element: struct<mid: string",
            "scores: map<string, double", "image: struct<sha256: string not null", "tags: list<element: string",
            "decrypted: struct<owner: string",
        ] {
            #expect(schema.contains(column), "\(column) in \(schema)")
        }
        let rows = try #require(dump["duckdb"] as? [[String: Any]])
        #expect(rows.contains { ($0["labels"] as? [[String: Any]])?.first?["description"] as? String == "Monkey" })
        #expect(rows.contains { ($0["place"] as? [String: Any])?["cc"] as? String != nil })
        // No personal value appears anywhere in the file without --decrypt.
        let sealed = work.scratch.path("sealed.parquet")
        #expect(
            try CLI.run(["export", "--workdir", work.work, "--keys", work.keys, "--format", "parquet", "--out", sealed])
                .status == 0)
        // (The pages are compressed: searched in what the readers read, not in the bytes.)
        let sealedRows = try JSONSerialization.data(withJSONObject: ParquetReaders.dump(sealed)["pyarrow"] ?? [])
        let sealedText = String(decoding: sealedRows, as: UTF8.self)
        for value in work.personal where value.count > 3 {
            #expect(!sealedText.contains(value), "a personal value is in the Parquet file")
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: sealed))

        // To stdout when it is a file: the same file as --out.
        let piped = work.scratch.path("piped.parquet")
        let viaStdout = try CLI.run(
            ["export", "--workdir", work.work, "--keys", work.keys, "--format", "parquet"],
            wrapper: ["/bin/sh", "-c", "exec \"$0\" \"$@\" > '\(piped)'"])
        try #require(viaStdout.status == 0, "\(viaStdout.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: piped)) == bytes)
    }

    @Test("Parquet to a terminal and --out with a text format are usage errors")
    func refusesTerminal() throws {
        let scratch = try Scratch()
        // A pseudo-terminal as stdout (Python's pty module).
        let spawn = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))"
        let terminal = try runPython(
            spawn, [CLI.executable.path, "export", "--workdir", scratch.path("work"), "--format", "parquet"])
        #expect(terminal.status == 64, "\(terminal.output)")
        #expect(terminal.output.contains("--out FILE"), "\(terminal.output)")
        let csv = try CLI.run(["export", "--workdir", scratch.path("work"), "--format", "csv", "--out", "x.csv"])
        #expect(csv.status == 64)
        #expect(csv.stderr.contains("--out is for --format parquet"), "\(csv.stderr)")
    }
}
