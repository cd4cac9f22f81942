import ArgumentParser
import Foundation
import Ingest

/// `photoseal export`: the ledger's documents on stdout.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print every document in the ledger as JSON lines, CSV, GeoJSON or Parquet.",
        discussion: """
            Every document carries its "status" (the ledger stage: found, downloaded, \
            extracted, scored, loaded, unavailable, failed) and, when it failed or is \
            unavailable, its "failure": {"stage", "cause", "permanent"} (the stage that failed: \
            download, extract, score or load; a permanent failure is not tried again unless a \
            run is given --retry-failed).

            --format jsonl (default): one document a line, as it would be stored, plus "status" \
            and "failure": personal fields as Fernet tokens under "sealed". With --decrypt each line also has \
            "decrypted": {"owner", "owner_name", "path_alias", "exif"} opened with the secrets \
            file's keys (and a warning on stderr); "exif" is a JSON object.

            --format csv: RFC 4180 (CRLF, a header row), one column per public field that fits \
            a cell: id, source, source_id, status, failure.stage, failure.cause, \
            failure.permanent (the three empty without a failure), title, terms, tags, \
            machine_tags (lists joined by |), description, views, license, license.name, \
            license.url (Flickr's licence list), page_url, image_url, taken_at, uploaded_at, \
            lat, lon, geo.accuracy, geo.source, place.city, place.admin1, place.admin2, \
            place.cc, place.country, place.distance_km, image.path (relative to the workdir), \
            image.sha256, image.width, image.height, image.format, image.bytes, score_model, \
            scored_at, ingested_at, pipeline_version, seal.kid, seal.at, blind.owner, \
            sealed.owner, sealed.owner_name, sealed.path_alias, sealed.exif (tokens); then \
            score.<label> for every label any exported photo has; with --decrypt, owner, \
            owner_name, path_alias, exif in plaintext.

            --format geojson: an RFC 7946 FeatureCollection of Point features [lon, lat], one \
            per photo with a position, properties named as the CSV columns; photos without a \
            position are left out and counted on stderr.

            --format parquet: one Parquet file (zstd-compressed; read by pyarrow, DuckDB, \
            Spark) with the JSON lines' members as columns ("_id" named "id"), nested fields \
            as groups, lists and a map (scores); with --decrypt a "decrypted" group (the EXIF \
            as its JSON text). Written to --out FILE atomically (the file appears complete or \
            not at all), or to stdout when that is a pipe or a file, never a terminal. \
            docs/export.md lists the columns.

            --min-score label=S (repeatable) keeps only documents whose scores.<label> is at \
            least S for every such filter; a label the vision model did not return for a photo \
            fails the filter. --term T, --country CC, --license L and --status S (each \
            repeatable: any of the values), --min-views N and --min-width N keep only the \
            documents that match, as the gallery's filters do (photoseal serve); all given \
            filters must hold. Output streams in constant memory.

            --pseudonymous (any format; needs the secrets file) writes a dataset that does not \
            lead back to Flickr or to the store: the id becomes "ps:" + HMAC-SHA256 under a key \
            derived from INDEX_KEY (the same photo, the same pseudonym in every export until \
            INDEX_KEY is rotated), source_id and image_sources are left out, page_url and \
            image_url become tokens (sealed.page_url, sealed.image_url; left out of GeoJSON), \
            the sealed fields are sealed afresh, blind.owner becomes the owner's pseudonym and \
            a failure keeps no cause. Not with --decrypt. docs/privacy.md says what it still \
            reveals.

            Examples:
              photoseal export --format jsonl > photos.jsonl
              photoseal export --format jsonl --decrypt --keys keys.env | head
              photoseal export --format csv > photos.csv
              photoseal export --format geojson --min-score monkey=0.6 > monkeys.geojson
              photoseal export --format csv --country IT --min-views 100 --status loaded
              photoseal export --format parquet --out photos.parquet
              photoseal export --format jsonl --pseudonymous --keys keys.env > dataset.jsonl
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        help: ArgumentHelp("The output format: jsonl, csv, geojson or parquet.", valueName: "format"),
        completion: .list(ExportFormat.allCases.map(\.rawValue) + [Self.parquet]))
    var format: String = "jsonl"

    @Option(
        help: ArgumentHelp(
            "With --format parquet: the file to write (atomically; default stdout when not a terminal).",
            valueName: "file"),
        completion: .file(extensions: ["parquet"]))
    var out: String?

    static let parquet = "parquet"

    @Flag(help: "Open the sealed fields (prints personal data).")
    var decrypt = false

    @Flag(help: "Pseudonymous ids, URLs sealed, nothing linking back to the source (docs/privacy.md).")
    var pseudonymous = false

    /// The one message for `--pseudonymous` with `--decrypt`.
    static let pseudonymousDecrypt =
        "--pseudonymous cannot be used with --decrypt: decrypting puts the personal fields back; leave out one of them"

    @Option(
        name: .customLong("min-score"),
        help: ArgumentHelp(
            "Keep documents whose scores.<label> is at least S (repeatable; all must hold).",
            valueName: "label=S"))
    var minScores: [String] = []

    @Option(help: ArgumentHelp("Keep photos found by this search term (repeatable).", valueName: "term"))
    var term: [String] = []

    @Option(help: ArgumentHelp("Keep photos placed in this ISO country code (repeatable).", valueName: "cc"))
    var country: [String] = []

    @Option(help: ArgumentHelp("Keep photos with this licence id (repeatable).", valueName: "id"))
    var license: [String] = []

    @Option(
        help: ArgumentHelp("Keep photos at this status: found, …, loaded, failed (repeatable).", valueName: "status"))
    var status: [String] = []

    @Option(help: ArgumentHelp("Keep photos with at least N views.", valueName: "N"))
    var minViews: Int?

    @Option(help: ArgumentHelp("Keep photos whose image is at least N pixels wide.", valueName: "N"))
    var minWidth: Int?

    /// The --term, --country, --license, --status, --min-views and --min-width filters.
    func photoFilter() throws -> PhotoFilter {
        var filter = PhotoFilter()
        filter.terms = term.map { $0.lowercased() }
        filter.countries = country.map { $0.uppercased() }
        filter.licenses = license
        for name in status where !Ledger.Stage.all.contains(Ledger.Stage(name)) {
            throw ValidationError(
                "--status \(name) is not a status; use one of: \(Ledger.Stage.all.map(\.name).joined(separator: ", "))")
        }
        filter.statuses = status
        if let minViews, minViews < 0 { throw ValidationError("--min-views \(minViews) must be 0 or more") }
        if let minWidth, minWidth < 0 { throw ValidationError("--min-width \(minWidth) must be 0 or more") }
        filter.minViews = minViews
        filter.minWidth = minWidth
        return filter
    }

    /// The parsed --min-score filters (label normalised as the score stage stores it).
    func scoreFilters() throws -> [(label: String, min: Double)] {
        try minScores.map { text in
            guard let eq = text.lastIndex(of: "=") else {
                throw ValidationError("--min-score \(text) is not label=score, e.g. --min-score monkey=0.6")
            }
            let label = text[..<eq].lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            guard !label.isEmpty, let value = Double(text[text.index(after: eq)...]), value.isFinite,
                (0...1).contains(value)
            else {
                throw ValidationError("--min-score \(text) needs a label and a score between 0 and 1, e.g. monkey=0.6")
            }
            return (label, value)
        }
    }

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard ExportFormat(rawValue: format) != nil || format == Self.parquet else {
            throw ValidationError("--format \(format) is not a format; use --format jsonl, csv, geojson or parquet")
        }
        if out != nil && format != Self.parquet {
            throw ValidationError("--out is for --format parquet; redirect stdout for --format \(format)")
        }
        if format == Self.parquet && out == nil && isatty(STDOUT_FILENO) == 1 {
            throw ValidationError(
                "--format parquet writes binary data: give --out FILE, or redirect stdout to a file or a pipe")
        }
        if pseudonymous && decrypt { throw ValidationError(Self.pseudonymousDecrypt) }
        _ = try scoreFilters()
        _ = try photoFilter()
    }

    func run() async throws {
        try await reportingErrors {
            let workspace = try await global.workspace("export", access: .read, needsKeys: decrypt || pseudonymous)
            let ledger = try workspace.ledger()
            let sealer = try decrypt ? workspace.sealer() : nil
            let pseudonymizer =
                try pseudonymous ? Pseudonymizer(index: workspace.blindIndex(), sealer: workspace.sealer()) : nil
            if decrypt {
                printError("export --decrypt: the output holds personal fields in plaintext; keep it private")
            }
            let filters = try scoreFilters()
            if format == Self.parquet {
                let summary = try ParquetExport.export(
                    ledger: ledger, to: out.map { .path($0) } ?? .fileDescriptor(STDOUT_FILENO), sealer: sealer,
                    pseudonymizer: pseudonymizer,
                    minScores: filters, filter: try photoFilter())
                printError("export: \(summary.written) documents")
                return
            }
            let exportFormat = ExportFormat(rawValue: format) ?? .jsonl
            var out = OutputBuffer()
            let summary = try DocumentExporter.export(
                ledger: ledger, format: exportFormat, sealer: sealer, pseudonymizer: pseudonymizer,
                minScores: filters, filter: try photoFilter(), write: { out.write($0) })
            out.flush()
            if exportFormat == .geojson {
                printError(
                    "export: \(summary.written) features; \(summary.withoutPosition) photos without a position skipped")
            } else {
                printError("export: \(summary.written) documents")
            }
        }
    }
}
