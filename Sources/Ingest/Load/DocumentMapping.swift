import Foundation
public import Store

extension PhotoDocument {
    /// The document as the store holds it: DESIGN.md's schema, in its field order.
    ///
    /// Dates (`taken_at`, `uploaded_at`, `scored_at`, `seal.at`, `ingested_at`) become BSON
    /// dates (`taken_at`, which has no zone, is read as UTC); counts stay integers; a field the
    /// photo does not have yet is `null`. Score labels are sorted, so the same document always
    /// maps to the same bytes (re-loading it writes nothing). `image_sources`, the ledger's
    /// download fallbacks, is not stored.
    public func storeDocument() -> StoreDocument {
        func string(_ value: String?) -> StoreValue { value.map { .string($0) } ?? .null }
        func int(_ value: Int?) -> StoreValue { value.map { .int(Int64($0)) } ?? .null }
        func date(_ value: String?) -> StoreValue { value.flatMap(DocumentDates.parse).map { .date($0) } ?? .null }
        var image = StoreValue.null
        if let img = self.image {
            image = [
                "sha256": .string(img.sha256), "bytes": .int(Int64(img.bytes)), "width": int(img.width),
                "height": int(img.height), "format": string(img.format), "path": string(img.path),
            ]
        }
        var geo = StoreValue.null
        if let g = self.geo {
            geo = [
                "lat": .double(g.lat), "lon": .double(g.lon), "accuracy": int(g.accuracy), "source": .string(g.source),
            ]
        }
        var place = StoreValue.null
        if let p = self.place {
            place = [
                "cc": string(p.cc), "country": string(p.country), "admin1": string(p.admin1),
                "admin2": string(p.admin2), "city": string(p.city),
                "distance_km": p.distanceKm.map { .double($0) } ?? .null,
            ]
        }
        var scores = StoreValue.null
        if let s = self.scores {
            scores = .document(StoreDocument(s.keys.sorted().map { StoreField(key: $0, value: .double(s[$0] ?? 0)) }))
        }
        return [
            "_id": .string(id),
            "source": .string(source),
            "source_id": .string(sourceID),
            "terms": .array(terms.map { .string($0) }),
            "title": .string(title),
            "description": .string(description),
            "tags": .array(tags.map { .string($0) }),
            "machine_tags": .array(machineTags.map { .string($0) }),
            "views": int(views),
            "license": string(license),
            "taken_at": date(takenAt),
            "uploaded_at": date(uploadedAt),
            "page_url": string(pageURL),
            "image_url": string(imageURL),
            "image": image,
            "geo": geo,
            "place": place,
            "scores": scores,
            "score_model": string(scoreModel),
            "scored_at": date(scoredAt),
            "sealed": [
                "owner": string(sealed.owner), "owner_name": string(sealed.ownerName),
                "path_alias": string(sealed.pathAlias), "exif": string(sealed.exif),
            ],
            "seal": ["kid": .string(seal.kid), "at": date(seal.at)],
            "blind": ["owner": string(blind.owner)],
            "ingested_at": date(ingestedAt),
            "pipeline_version": .string(pipelineVersion),
        ]
    }
}

/// The ledger's date strings as dates.
enum DocumentDates {
    /// Parses `YYYY-MM-DDTHH:MM:SS` with an optional `Z`, `YYYY-MM-DD HH:MM:SS`, or `YYYY-MM-DD`
    /// (all UTC); `nil` for anything else.
    static func parse(_ text: String) -> Date? {
        var t = Substring(text)
        if t.hasSuffix("Z") { t = t.dropLast() }
        if let dot = t.firstIndex(of: "."), t.distance(from: t.startIndex, to: dot) == 19 {
            t = t[..<dot]
        }
        guard let seconds = try? TakenDate.parse(String(t), flag: "date") else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
