public import Crypto
import Foundation
import Store

/// The formats `photoseal export` writes.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// One JSON document a line, as it would be stored.
    case jsonl
    /// RFC 4180 CSV with a fixed column set (`DocumentExporter.fixedColumns`, then `score.<label>`).
    case csv
    /// An RFC 7946 FeatureCollection of Point features, properties as the CSV columns.
    case geojson
}

/// Streams the ledger's documents as JSON lines, CSV or GeoJSON, in constant memory.
///
/// Personal fields appear only as their Fernet tokens (`sealed.*` columns) unless a sealer is
/// given, which adds the opened values (`owner`, `owner_name`, `path_alias`, `exif`).
/// Every document carries its `status` (the ledger stage) and, when it failed or is
/// unavailable, its `failure` {stage, cause, permanent} (the document schema).
/// CSV and GeoJSON share one column set: `fixedColumns` (every public field of the stored
/// document that fits a cell, plus the ledger's status and failure and the licence's name and
/// URL from `License.flickr`), then one `score.<label>` column per label any exported document
/// has (sorted), then the opened columns when decrypting. Lists (terms, tags, machine tags) are
/// joined by `termSeparator` in CSV and arrays in GeoJSON; the opened EXIF is a JSON object in
/// JSON lines and GeoJSON, its JSON text in CSV.
/// With a `Pseudonymizer` every document is written in its pseudonymous form: JSON lines name
/// their members one by one (`PseudonymousLine`), CSV and GeoJSON use
/// `baseColumns(format:pseudonymous:)` (no `source_id`, `page_url`, `image_url`; CSV adds the
/// sealed URL columns).
public struct DocumentExporter {
    /// What an export wrote.
    public struct Summary: Sendable, Equatable {
        /// Documents written.
        public var written: Int
        /// GeoJSON only: documents left out because they have no (valid) position.
        public var withoutPosition: Int
    }

    /// The columns every CSV row and GeoJSON feature has, in order.
    public static let fixedColumns = [
        "id", "source", "source_id", "status", "failure.stage", "failure.cause", "failure.permanent",
        "title", "terms", "tags", "machine_tags", "description", "views",
        "license", "license.name", "license.url", "page_url", "image_url", "taken_at", "uploaded_at",
        "lat", "lon", "geo.accuracy", "geo.source",
        "place.city", "place.admin1", "place.admin2", "place.cc", "place.country", "place.distance_km",
        "image.path", "image.sha256", "image.width", "image.height", "image.format", "image.bytes",
        "score_model", "scored_at", "ingested_at", "pipeline_version",
        "seal.kid", "seal.at", "blind.owner", "sealed.owner", "sealed.owner_name", "sealed.path_alias", "sealed.exif",
    ]

    /// The opened personal fields' columns (only with a sealer).
    public static let decryptedColumns = ["owner", "owner_name", "path_alias", "exif"]

    /// The columns a pseudonymous export leaves out of `fixedColumns` (`Pseudonymizer`).
    public static let droppedWhenPseudonymous: Set<String> = ["source_id", "page_url", "image_url"]

    /// The columns a pseudonymous CSV adds after `sealed.exif`: the page and image URLs as
    /// tokens (GeoJSON leaves them out: a map layer has no use for tokens).
    public static let sealedURLColumns = ["sealed.page_url", "sealed.image_url"]

    /// The columns before the `score.<label>` ones: `fixedColumns`, or their pseudonymous form.
    public static func baseColumns(format: ExportFormat, pseudonymous: Bool) -> [String] {
        guard pseudonymous else { return fixedColumns }
        var columns = fixedColumns.filter { !droppedWhenPseudonymous.contains($0) }
        if format == .csv, let exif = columns.firstIndex(of: "sealed.exif") {
            columns.insert(contentsOf: sealedURLColumns, at: exif + 1)
        }
        return columns
    }

    /// The separator between search terms in the CSV `terms` column (GeoJSON has an array).
    public static let termSeparator = "|"

    /// The output format.
    public let format: ExportFormat
    /// The score labels that get a `score.<label>` column, in column order.
    public let scoreLabels: [String]
    /// Every column name, in order (CSV and GeoJSON).
    public let columns: [String]
    /// The columns before the `score.<label>` ones (`baseColumns(format:pseudonymous:)`).
    public let baseColumns: [String]
    private let sealer: FieldSealer?
    private let pseudonymizer: Pseudonymizer?
    /// Pseudonymous only: where each base column's value comes from, an index into the plain
    /// row (`fixedColumns`) or `nil` for a sealed URL column.
    private let baseSources: [Int?]
    private let encoder: JSONEncoder
    private var written = 0
    private var withoutPosition = 0

    /// Makes an exporter.
    /// - Parameters:
    ///   - format: the output format.
    ///   - scoreLabels: the labels to give a `score.<label>` column (CSV, GeoJSON); sorted here.
    ///   - sealer: opens the sealed fields when given (`--decrypt`); `nil` keeps them sealed.
    ///   - pseudonymizer: writes every document in its pseudonymous form (`--pseudonymous`);
    ///     the sealer is then not used (opening the personal fields would undo it).
    public init(
        format: ExportFormat, scoreLabels: [String] = [], sealer: FieldSealer? = nil,
        pseudonymizer: Pseudonymizer? = nil
    ) {
        self.format = format
        self.scoreLabels = Array(Set(scoreLabels)).sorted()
        self.sealer = pseudonymizer == nil ? sealer : nil
        self.pseudonymizer = pseudonymizer
        baseColumns = Self.baseColumns(format: format, pseudonymous: pseudonymizer != nil)
        baseSources = pseudonymizer == nil ? [] : baseColumns.map { Self.fixedColumns.firstIndex(of: $0) }
        self.columns =
            baseColumns + self.scoreLabels.map { "score.\($0)" } + (self.sealer == nil ? [] : Self.decryptedColumns)
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    /// What goes before the first document: the CSV header row, or the GeoJSON collection's
    /// opening; nothing for JSON lines.
    public func header() -> String {
        switch format {
        case .jsonl: ""
        case .csv: columns.map(Self.csvField).joined(separator: ",") + "\r\n"
        case .geojson: "{\"type\":\"FeatureCollection\",\"features\":["
        }
    }

    /// One document's text (a JSON line, a CSV record, a GeoJSON feature), or `""` when the
    /// format leaves it out (GeoJSON: no valid position; counted in the summary).
    /// - Throws: `IngestError.sealing` when decrypting and a sealed field does not open;
    ///   an encoding error for JSON lines.
    public mutating func render(_ entry: Ledger.Entry) throws -> String {
        let document = entry.document
        switch format {
        case .jsonl:
            if let pseudonymizer {
                let output = try pseudonymizer.apply(document, failure: Self.failure(of: entry))
                written += 1
                return String(
                    decoding: try encoder.encode(PseudonymousLine(output: output, status: entry.stage.name)),
                    as: UTF8.self) + "\n"
            }
            let exported = Exported(document: document, status: entry.stage.name, failure: Self.failure(of: entry))
            var line = String(decoding: try encoder.encode(exported), as: UTF8.self)
            if let sealer {
                var opened = try DocumentOpener.open(document, sealer: sealer)
                // The EXIF is itself a JSON object: spliced in as one, not as a string of JSON
                // (sorted keys put "exif" first).
                let exif = opened.exif.map(Self.jsonObjectText)
                opened.exif = nil
                var extra = String(decoding: try encoder.encode(opened), as: UTF8.self)
                if let exif {
                    extra.removeFirst()
                    extra = "{\"exif\":\(exif)" + (extra == "}" ? "}" : "," + extra)
                }
                line.removeLast()
                line += ",\"decrypted\":\(extra)}"
            }
            written += 1
            return line + "\n"
        case .csv:
            let values = try row(entry)
            written += 1
            // One string grown in place, not a string per cell joined (a row has ~50 cells).
            var line = ""
            line.reserveCapacity(1024)
            for (index, value) in values.enumerated() {
                if index > 0 { line += "," }
                Self.appendCSVField(value.csv, to: &line)
            }
            return line + "\r\n"
        case .geojson:
            guard let geo = document.geo, geo.lat.isFinite, geo.lon.isFinite, (-90...90).contains(geo.lat),
                (-180...180).contains(geo.lon)
            else {
                withoutPosition += 1
                return ""
            }
            let values = try row(entry)
            // The id column (first in both column sets): the pseudonym when pseudonymous.
            let id = values.first?.json ?? Self.jsonString(document.id)
            var properties: [String] = []
            properties.reserveCapacity(columns.count)
            for (name, value) in zip(columns, values) {
                properties.append(Self.jsonString(name) + ":" + value.json)
            }
            let feature =
                "{\"type\":\"Feature\",\"id\":\(id),"
                + "\"geometry\":{\"type\":\"Point\",\"coordinates\":[\(Self.number(geo.lon)),\(Self.number(geo.lat))]},"
                + "\"properties\":{\(properties.joined(separator: ","))}}"
            written += 1
            return (written == 1 ? "\n" : ",\n") + feature
        }
    }

    /// What goes after the last document: the GeoJSON collection's closing.
    public func footer() -> String {
        format == .geojson ? "\n]}\n" : ""
    }

    /// The counts so far.
    public var summary: Summary { Summary(written: written, withoutPosition: withoutPosition) }

    /// The failure an exported document carries: the one recorded on a photo that failed or
    /// is unavailable (a photo still waiting to be tried again carries none).
    public static func failure(of entry: Ledger.Entry) -> PhotoFailure? {
        entry.stage == .failed || entry.stage == .unavailable ? entry.failure : nil
    }

    /// A JSON line: the document's members, then `status` and (when there is one) `failure`,
    /// all in one object with sorted keys.
    private struct Exported: Encodable {
        var document: PhotoDocument
        var status: String
        var failure: PhotoFailure?

        enum CodingKeys: String, CodingKey { case status, failure }

        func encode(to encoder: any Encoder) throws {
            // Both write into the same keyed container of the one object.
            try document.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
            try container.encodeIfPresent(failure, forKey: .failure)
        }
    }

    /// Whether a photo's scores pass every `--min-score` filter: `scores[label] >= min` for each;
    /// a label the photo has no score for fails.
    public static func passes(_ scores: [String: Double]?, minScores: [(label: String, min: Double)]) -> Bool {
        minScores.allSatisfy { filter in (scores?[filter.label]).map { $0 >= filter.min } ?? false }
    }

    /// Streams every ledger document whose scores pass `minScores` and that `filter` keeps to
    /// `write`, in id order; in pseudonymous form with a pseudonymizer.
    ///
    /// For CSV and GeoJSON a first pass over the ledger collects the score labels of those
    /// documents (the columns must be known before the header), reading only each document's
    /// `scores`; documents are never all held in memory.
    /// - Throws: `IngestError.ledger` when the ledger cannot be read, `.sealing` when a field
    ///   does not open, and whatever `write` throws.
    public static func export(
        ledger: Ledger, format: ExportFormat, sealer: FieldSealer? = nil, pseudonymizer: Pseudonymizer? = nil,
        minScores: [(label: String, min: Double)] = [], filter: PhotoFilter = PhotoFilter(),
        write: (String) throws -> Void
    ) throws -> Summary {
        var labels = Set<String>()
        if format != .jsonl {
            try ledger.forEachScores { scores in
                guard let scores, passes(scores, minScores: minScores) else { return }
                labels.formUnion(scores.keys)
            }
        }
        var exporter = DocumentExporter(
            format: format, scoreLabels: Array(labels), sealer: sealer, pseudonymizer: pseudonymizer)
        try write(exporter.header())
        try ledger.forEachDocument { entry in
            guard passes(entry.document.scores, minScores: minScores),
                filter.matches(entry.document, status: entry.stage.name)
            else { return }
            let text = try exporter.render(entry)
            if !text.isEmpty { try write(text) }
        }
        try write(exporter.footer())
        return exporter.summary
    }

    // MARK: Values

    /// One cell: how CSV and GeoJSON each spell it.
    enum Value {
        case null
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)
        case strings([String])
        /// A JSON value's text, written as it is (GeoJSON's opened EXIF object).
        case rawJSON(String)

        var csv: String {
            switch self {
            case .null: ""
            case .string(let text): text
            case .int(let number): String(number)
            case .bool(let value): value ? "true" : "false"
            case .double(let number): number.isFinite ? DocumentExporter.number(number) : ""
            case .strings(let list): list.joined(separator: DocumentExporter.termSeparator)
            case .rawJSON(let text): text
            }
        }

        var json: String {
            switch self {
            case .null: "null"
            case .string(let text): DocumentExporter.jsonString(text)
            case .int(let number): String(number)
            case .bool(let value): value ? "true" : "false"
            case .double(let number): number.isFinite ? DocumentExporter.number(number) : "null"
            case .strings(let list): "[" + list.map(DocumentExporter.jsonString).joined(separator: ",") + "]"
            case .rawJSON(let text): text
            }
        }
    }

    /// The document's values in `columns` order.
    func row(_ entry: Ledger.Entry) throws -> [Value] {
        var d = entry.document
        func text(_ value: String?) -> Value { value.map(Value.string) ?? .null }
        func int(_ value: Int?) -> Value { value.map(Value.int) ?? .null }
        func double(_ value: Double?) -> Value { value.map(Value.double) ?? .null }
        var failure = Self.failure(of: entry)
        var pseudonymous: Pseudonymizer.Output?
        if let pseudonymizer {
            let output = try pseudonymizer.apply(d, failure: failure)
            d = output.document
            failure = output.failure
            pseudonymous = output
        }
        let license = License.flickr(id: d.license)
        var values: [Value] = [
            .string(d.id), .string(d.source), .string(d.sourceID), .string(entry.stage.name),
            text(failure?.stage.rawValue), text(failure.flatMap { $0.cause.isEmpty ? nil : $0.cause }),
            failure.map { .bool($0.permanent) } ?? .null,
            .string(d.title), .strings(d.terms), .strings(d.tags), .strings(d.machineTags), .string(d.description),
            int(d.views),
            text(d.license), text(license?.name), text(license?.url), text(d.pageURL), text(d.imageURL),
            text(d.takenAt), text(d.uploadedAt),
            double(d.geo?.lat), double(d.geo?.lon), int(d.geo?.accuracy), text(d.geo?.source),
            text(d.place?.city), text(d.place?.admin1), text(d.place?.admin2), text(d.place?.cc),
            text(d.place?.country), double(d.place?.distanceKm),
            text(d.image?.path), text(d.image?.sha256), int(d.image?.width), int(d.image?.height),
            text(d.image?.format), int(d.image?.bytes),
            text(d.scoreModel), text(d.scoredAt), .string(d.ingestedAt), .string(d.pipelineVersion),
            .string(d.seal.kid), .string(d.seal.at), text(d.blind.owner), text(d.sealed.owner),
            text(d.sealed.ownerName), text(d.sealed.pathAlias), text(d.sealed.exif),
        ]
        if let pseudonymous {
            let plain = values
            values = baseSources.enumerated().map { index, source in
                if let source { return plain[source] }
                return text(
                    baseColumns[index] == Self.sealedURLColumns[0]
                        ? pseudonymous.sealedPageURL : pseudonymous.sealedImageURL)
            }
        }
        values.reserveCapacity(columns.count)
        for label in scoreLabels { values.append(double(d.scores?[label])) }
        if let sealer {
            let opened = try DocumentOpener.open(d, sealer: sealer)
            values += [
                text(opened.owner), text(opened.ownerName), text(opened.pathAlias),
                // CSV keeps the JSON text in its cell; GeoJSON has the object itself.
                opened.exif.map { format == .geojson ? Value.rawJSON(Self.jsonObjectText($0)) : .string($0) } ?? .null,
            ]
        }
        return values
    }

    /// A sealed EXIF value as JSON: the object itself, or (for a value that is not a JSON
    /// object) a JSON string holding it, so a line is always valid JSON.
    static func jsonObjectText(_ text: String) -> String {
        let data = Data(text.utf8)
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else { return jsonString(text) }
        return text
    }

    /// A finite double as the shortest text that reads back to it (valid in JSON and CSV).
    static func number(_ value: Double) -> String {
        // Swift's description is the shortest round-trip form: "43.467", "1e-05", "2.0".
        value.description
    }

    /// An RFC 4180 field: quoted (quotes doubled) when it holds a comma, quote, CR or LF.
    static func csvField(_ text: String) -> String {
        var field = ""
        appendCSVField(text, to: &field)
        return field
    }

    /// Appends `text` as an RFC 4180 field (see `csvField`), quotes doubled in one pass.
    static func appendCSVField(_ text: String, to out: inout String) {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else {
            out += text
            return
        }
        out += "\""
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == 0x22 {
                // A quote is ASCII, so the split falls on a character boundary.
                out += text[start...index]
                out += "\""
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        out += text[start...]
        out += "\""
    }

    /// A JSON string literal (RFC 8259): quote, backslash and control characters escaped,
    /// everything else as UTF-8.
    static func jsonString(_ text: String) -> String { StoreValue.string(text).jsonText }
}
