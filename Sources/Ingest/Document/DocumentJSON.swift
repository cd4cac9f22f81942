import Enrich

/// A document's JSON exactly as `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes`
/// writes it, byte for byte (the ledger's one encoding: `store_load` keeps digests of it), written
/// straight into a byte buffer.
///
/// Why: `JSONEncoder` builds a tree of boxed values for every document, sorts every object's keys
/// and walks each string by Unicode scalars; in a profile of `photoseal run` over 5,000 photos,
/// encoding documents for the ledger took 5.9 % of the CPU. Here the keys are written in their
/// sorted order as fixed text, and a string is copied whole when it holds nothing to escape (the
/// sealed fields, several KB of base64, never do).
///
/// What `JSONEncoder` does that this repeats: keys in UTF-8 byte order (`scores` is sorted at
/// run time), `nil` optionals left out, a `Double` as its `description` without a trailing
/// `.0`, a non-finite `Double` refused, `"` `\` and the control characters escaped (`\b \f \n
/// \r \t`, the others as `\u00xx`), everything else (`/`, DEL, any non-ASCII) as it is.
/// `DocumentJSONTests` checks it against `JSONEncoder` on generated documents.
package enum DocumentJSON {
    /// The JSON of `document`.
    /// - Throws: `EncodingError.invalidValue` for a non-finite number, as `JSONEncoder` does.
    package static func encode(_ document: PhotoDocument) throws -> String {
        // Room for the sealed fields (most of a document's bytes) and 1 KB for the rest.
        let sealed = document.sealed
        var out = JSONOut(
            capacity: 1024 + (sealed.exif?.utf8.count ?? 0) + (sealed.owner?.utf8.count ?? 0)
                + (sealed.ownerName?.utf8.count ?? 0) + (sealed.pathAlias?.utf8.count ?? 0))
        try out.document(document)
        return String(decoding: out.bytes, as: UTF8.self)
    }
}

/// A JSON text being written, and where the object being written is.
private struct JSONOut {
    var bytes: [UInt8] = []
    /// Whether the object being written has no field yet (objects nest: saved by `begin`).
    var first = true

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `{`; returns the enclosing object's state, for `end`.
    mutating func begin() -> Bool {
        bytes.append(UInt8(ascii: "{"))
        defer { first = true }
        return first
    }

    mutating func end(_ outer: Bool) {
        bytes.append(UInt8(ascii: "}"))
        first = outer
    }

    /// A field's key (written as given: `"name":`).
    mutating func key(_ quotedKeyAndColon: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        raw(quotedKeyAndColon)
    }

    /// A field holding a string (left out when `nil`).
    mutating func field(_ quotedKeyAndColon: StaticString, _ value: String?) {
        guard let value else { return }
        key(quotedKeyAndColon)
        string(value)
    }

    /// A field holding an integer (left out when `nil`).
    mutating func field(_ quotedKeyAndColon: StaticString, _ value: Int?) {
        guard let value else { return }
        key(quotedKeyAndColon)
        int(value)
    }

    /// A field holding a number (left out when `nil`).
    mutating func field(_ quotedKeyAndColon: StaticString, _ value: Double?) throws {
        guard let value else { return }
        key(quotedKeyAndColon)
        try double(value)
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Most strings hold nothing to escape: copied whole.
            if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case 0x08: raw("\\b")
                case 0x0C: raw("\\f")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                case ..<0x20:
                    raw("\\u00")
                    bytes.append(Self.hex[Int(byte >> 4)])
                    bytes.append(Self.hex[Int(byte & 0x0F)])
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    mutating func int(_ value: Int) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func double(_ value: Double) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value, EncodingError.Context(codingPath: [], debugDescription: "a document holds a non-finite number"))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }

    mutating func strings(_ values: [String]) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    // MARK: The document's types, each object's keys in UTF-8 byte order

    mutating func document(_ d: PhotoDocument) throws {
        let outer = begin()
        field("\"_id\":", d.id)
        key("\"blind\":")
        let blind = begin()
        field("\"owner\":", d.blind.owner)
        end(blind)
        field("\"description\":", d.description)
        if let geo = d.geo {
            key("\"geo\":")
            try self.geo(geo)
        }
        if let image = d.image {
            key("\"image\":")
            self.image(image)
        }
        key("\"image_sources\":")
        bytes.append(UInt8(ascii: "["))
        for (index, source) in d.imageSources.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            imageSource(source)
        }
        bytes.append(UInt8(ascii: "]"))
        field("\"image_url\":", d.imageURL)
        field("\"ingested_at\":", d.ingestedAt)
        if let labels = d.labels {
            key("\"labels\":")
            bytes.append(UInt8(ascii: "["))
            for (index, label) in labels.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                try self.label(label)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        field("\"license\":", d.license)
        key("\"machine_tags\":")
        strings(d.machineTags)
        field("\"page_url\":", d.pageURL)
        field("\"pipeline_version\":", d.pipelineVersion)
        if let place = d.place {
            key("\"place\":")
            try self.place(place)
        }
        field("\"score_model\":", d.scoreModel)
        field("\"scored_at\":", d.scoredAt)
        if let scores = d.scores {
            key("\"scores\":")
            bytes.append(UInt8(ascii: "{"))
            for (index, entry) in scores.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
                .enumerated()
            {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(entry.key)
                bytes.append(UInt8(ascii: ":"))
                try double(entry.value)
            }
            bytes.append(UInt8(ascii: "}"))
        }
        key("\"seal\":")
        let seal = begin()
        field("\"at\":", d.seal.at)
        field("\"kid\":", d.seal.kid)
        end(seal)
        key("\"sealed\":")
        sealed(d.sealed)
        field("\"source\":", d.source)
        field("\"source_id\":", d.sourceID)
        key("\"tags\":")
        strings(d.tags)
        field("\"taken_at\":", d.takenAt)
        key("\"terms\":")
        strings(d.terms)
        field("\"title\":", d.title)
        field("\"uploaded_at\":", d.uploadedAt)
        field("\"views\":", d.views)
        end(outer)
    }

    mutating func geo(_ geo: PhotoDocument.Geo) throws {
        let outer = begin()
        field("\"accuracy\":", geo.accuracy)
        try field("\"lat\":", geo.lat)
        try field("\"lon\":", geo.lon)
        field("\"source\":", geo.source)
        end(outer)
    }

    mutating func image(_ image: PhotoDocument.Image) {
        let outer = begin()
        field("\"bytes\":", image.bytes)
        if let fallback = image.fallback {
            key("\"fallback\":")
            let inner = begin()
            field("\"reason\":", fallback.reason)
            field("\"stored_as\":", fallback.storedAs)
            end(inner)
        }
        field("\"format\":", image.format)
        field("\"height\":", image.height)
        field("\"path\":", image.path)
        field("\"sha256\":", image.sha256)
        field("\"width\":", image.width)
        end(outer)
    }

    mutating func imageSource(_ source: PhotoDocument.ImageSource) {
        let outer = begin()
        field("\"height\":", source.height)
        field("\"size\":", source.size)
        field("\"url\":", source.url)
        field("\"width\":", source.width)
        end(outer)
    }

    mutating func label(_ label: Vision.Label) throws {
        let outer = begin()
        field("\"description\":", label.description)
        field("\"mid\":", label.mid)
        try field("\"score\":", label.score)
        try field("\"topicality\":", label.topicality)
        end(outer)
    }

    mutating func place(_ place: PhotoDocument.Place) throws {
        let outer = begin()
        field("\"admin1\":", place.admin1)
        field("\"admin2\":", place.admin2)
        field("\"cc\":", place.cc)
        field("\"city\":", place.city)
        field("\"country\":", place.country)
        try field("\"distance_km\":", place.distanceKm)
        end(outer)
    }

    mutating func sealed(_ sealed: PhotoDocument.Sealed) {
        let outer = begin()
        field("\"exif\":", sealed.exif)
        field("\"owner\":", sealed.owner)
        field("\"owner_name\":", sealed.ownerName)
        field("\"path_alias\":", sealed.pathAlias)
        end(outer)
    }
}
