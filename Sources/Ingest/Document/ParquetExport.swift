public import Crypto
import Foundation
public import Parquet

/// `photoseal export --format parquet`: the ledger's documents as one Parquet file, nested
/// fields as Parquet groups, lists and a map (docs/export.md).
///
/// The columns are the JSON lines' members under the same names (`_id` becomes `id`), in the
/// same shapes: `failure`, `image` (with `fallback`), `geo`, `place`, `sealed`, `seal` and
/// `blind` are groups; `terms`, `tags`, `machine_tags` lists of strings; `image_sources` and
/// `labels` lists of groups; `scores` a map from label to score. Times stay the ISO 8601
/// strings the document holds (`taken_at` has no zone, so a timestamp type would mislabel it).
/// With a sealer a `decrypted` group holds `owner`, `owner_name`, `path_alias` and `exif`, the
/// EXIF as its JSON object's text (its members vary by camera, so they have no fixed columns).
/// Pseudonymous (`Pseudonymizer`): `id` is the pseudonym, no `source_id`, `page_url`,
/// `image_url` or `image_sources` columns, the `sealed` group gains `page_url` and `image_url`
/// tokens, `failure` has no cause, `blind.owner` is the owner's pseudonym.
public enum ParquetExport {
    /// Where the file goes.
    public enum Output: Sendable {
        /// A file, written atomically (a temporary file renamed into place when complete).
        case path(String)
        /// An open descriptor such as stdout (a pipe or a file), left open.
        case fileDescriptor(Int32)
    }

    /// The file's schema; `decrypted` adds the `decrypted` group; `pseudonymous` drops the
    /// columns that lead back to the source and adds the sealed URLs.
    public static func schema(decrypted: Bool, pseudonymous: Bool = false) -> ParquetSchema {
        var fields: [ParquetField] = [
            .string("id", optional: false), .string("source", optional: false),
            .string("source_id", optional: false), .string("status", optional: false),
            .group("failure", [.string("stage", optional: false), .string("cause"), .bool("permanent")]),
            .list("terms", optional: false, of: .string("term", optional: false)),
            .string("title", optional: false), .string("description", optional: false),
            .list("tags", optional: false, of: .string("tag", optional: false)),
            .list("machine_tags", optional: false, of: .string("machine_tag", optional: false)),
            .int64("views"), .string("license"), .string("taken_at"), .string("uploaded_at"),
            .string("page_url"), .string("image_url"),
            .list(
                "image_sources", optional: false,
                of: .group(
                    "image_source", optional: false,
                    [
                        .string("size", optional: false), .string("url", optional: false), .int64("width"),
                        .int64("height"),
                    ])),
            .group(
                "image",
                [
                    .string("sha256", optional: false), .int64("bytes", optional: false), .int64("width"),
                    .int64("height"), .string("format"), .string("path"),
                    .group("fallback", [.string("stored_as", optional: false), .string("reason", optional: false)]),
                ]),
            .group(
                "geo",
                [
                    .double("lat", optional: false), .double("lon", optional: false), .int64("accuracy"),
                    .string("source", optional: false),
                ]),
            .group(
                "place",
                [
                    .string("cc"), .string("country"), .string("admin1"), .string("admin2"), .string("city"),
                    .double("distance_km"),
                ]),
            .map("scores", value: .double("score", optional: false)),
            .string("score_model"), .string("scored_at"),
            .list(
                "labels",
                of: .group(
                    "label", optional: false,
                    [
                        .string("mid"), .string("description", optional: false), .double("score", optional: false),
                        .double("topicality"),
                    ])),
            .group(
                "sealed", optional: false,
                [.string("owner"), .string("owner_name"), .string("path_alias"), .string("exif")]
                    + (pseudonymous ? [.string("page_url"), .string("image_url")] : [])),
            .group("seal", optional: false, [.string("kid", optional: false), .string("at", optional: false)]),
            .group("blind", optional: false, [.string("owner")]),
            .string("ingested_at", optional: false), .string("pipeline_version", optional: false),
        ]
        if pseudonymous { fields.removeAll { droppedWhenPseudonymous.contains($0.name) } }
        if decrypted {
            fields.append(
                .group(
                    "decrypted", optional: false,
                    [.string("owner"), .string("owner_name"), .string("path_alias"), .string("exif")]))
        }
        return ParquetSchema(fields)
    }

    /// The top-level columns a pseudonymous file leaves out.
    static let droppedWhenPseudonymous: Set<String> = ["source_id", "page_url", "image_url", "image_sources"]

    /// Their places in the plain row, highest first (removed in that order, the earlier places stay put).
    static let droppedPlaces: [Int] = schema(decrypted: false).fields.enumerated()
        .filter { droppedWhenPseudonymous.contains($0.element.name) }.map(\.offset).reversed()

    /// One document's row in `schema(decrypted: opened != nil, pseudonymous: pseudonymous != nil)`;
    /// `pseudonymous` is the document's pseudonymous form (`Pseudonymizer.apply`).
    static func row(_ entry: Ledger.Entry, opened: DocumentOpener.Opened?, pseudonymous: Pseudonymizer.Output? = nil)
        -> [ParquetValue]
    {
        let d = pseudonymous?.document ?? entry.document
        let failure = pseudonymous == nil ? DocumentExporter.failure(of: entry) : pseudonymous?.failure
        func strings(_ list: [String]) -> ParquetValue { .list(list.map { .string($0) }) }
        var row: [ParquetValue] = [
            .string(d.id), .string(d.source), .string(d.sourceID), .string(entry.stage.name),
            failure.map {
                .group([.string($0.stage.rawValue), $0.cause.isEmpty ? .null : .string($0.cause), .bool($0.permanent)])
            } ?? .null,
            strings(d.terms), .string(d.title), .string(d.description), strings(d.tags), strings(d.machineTags),
            .optional(d.views), .optional(d.license), .optional(d.takenAt), .optional(d.uploadedAt),
            .optional(d.pageURL), .optional(d.imageURL),
            .list(
                d.imageSources.map {
                    .group([.string($0.size), .string($0.url), .optional($0.width), .optional($0.height)])
                }),
            d.image.map { image in
                .group([
                    .string(image.sha256), .int64(Int64(image.bytes)), .optional(image.width), .optional(image.height),
                    .optional(image.format), .optional(image.path),
                    image.fallback.map { .group([.string($0.storedAs), .string($0.reason)]) } ?? .null,
                ])
            } ?? .null,
            d.geo.map { .group([.double($0.lat), .double($0.lon), .optional($0.accuracy), .string($0.source)]) }
                ?? .null,
            d.place.map { place in
                .group([
                    .optional(place.cc), .optional(place.country), .optional(place.admin1), .optional(place.admin2),
                    .optional(place.city), .optional(place.distanceKm),
                ])
            } ?? .null,
            // Sorted, as the JSON lines' keys are: the same file for the same store.
            d.scores.map { scores in
                .list(scores.keys.sorted().map { .group([.string($0), .double(scores[$0] ?? 0)]) })
            } ?? .null,
            .optional(d.scoreModel), .optional(d.scoredAt),
            d.labels.map { labels in
                .list(
                    labels.map {
                        .group([
                            .optional($0.mid), .string($0.description), .double($0.score), .optional($0.topicality),
                        ])
                    })
            } ?? .null,
            .group(
                [
                    .optional(d.sealed.owner), .optional(d.sealed.ownerName), .optional(d.sealed.pathAlias),
                    .optional(d.sealed.exif),
                ]
                    + (pseudonymous.map { [.optional($0.sealedPageURL), .optional($0.sealedImageURL)] } ?? [])),
            .group([.string(d.seal.kid), .string(d.seal.at)]),
            .group([.optional(d.blind.owner)]),
            .string(d.ingestedAt), .string(d.pipelineVersion),
        ]
        if pseudonymous != nil {
            for index in droppedPlaces { row.remove(at: index) }
        }
        if let opened {
            row.append(
                .group([
                    .optional(opened.owner), .optional(opened.ownerName), .optional(opened.pathAlias),
                    .optional(opened.exif),
                ]))
        }
        return row
    }

    /// Writes every ledger document whose scores pass `minScores` and that `filter` keeps to
    /// `output`, in id order, streaming (a row group every `rowGroupRows` documents).
    /// - Throws: `IngestError.ledger` when the ledger cannot be read, `.sealing` when a field
    ///   does not open, `.configuration` when the file cannot be written (nothing is left at a
    ///   path then).
    public static func export(
        ledger: Ledger, to output: Output, sealer: FieldSealer? = nil, pseudonymizer: Pseudonymizer? = nil,
        minScores: [(label: String, min: Double)] = [], filter: PhotoFilter = PhotoFilter(),
        rowGroupRows: Int = ParquetWriter.defaultRowGroupRows
    ) throws -> DocumentExporter.Summary {
        // Pseudonymous wins over decrypting: opening the personal fields would undo it.
        let sealer = pseudonymizer == nil ? sealer : nil
        let schema = schema(decrypted: sealer != nil, pseudonymous: pseudonymizer != nil)
        let writer: ParquetWriter
        do {
            switch output {
            case .path(let path): writer = try ParquetWriter(path: path, schema: schema, rowGroupRows: rowGroupRows)
            case .fileDescriptor(let fd):
                writer = try ParquetWriter(fileDescriptor: fd, schema: schema, rowGroupRows: rowGroupRows)
            }
        } catch {
            throw IngestError(.configuration, "export: \(error)")
        }
        var written = 0
        try ledger.forEachDocument { entry in
            guard DocumentExporter.passes(entry.document.scores, minScores: minScores),
                filter.matches(entry.document, status: entry.stage.name)
            else { return }
            let opened = try sealer.map { try DocumentOpener.open(entry.document, sealer: $0) }
            let pseudonymous = try pseudonymizer.map {
                try $0.apply(entry.document, failure: DocumentExporter.failure(of: entry))
            }
            do {
                try writer.append(row(entry, opened: opened, pseudonymous: pseudonymous))
            } catch {
                throw IngestError(.configuration, "export: \(error)")
            }
            written += 1
        }
        do {
            try writer.close()
        } catch {
            throw IngestError(.configuration, "export: \(error)")
        }
        return DocumentExporter.Summary(written: written, withoutPosition: 0)
    }
}
