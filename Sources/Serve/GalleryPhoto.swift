import Foundation
import Ingest
import Store

/// One photo as the gallery's API shows it: public fields only.
///
/// Built field by field from a stored document, so nothing is sent that is not named here:
/// never `sealed.*` (owner, owner name, path alias, EXIF), `blind.*`, `seal.*` or the image's
/// path in the workdir.
struct GalleryPhoto: Encodable, Sendable {
    var id: String
    var source: String?
    var sourceID: String?
    var status: String
    var title: String
    var description: String
    var tags: [String]
    var terms: [String]
    var views: Int?
    var license: String?
    var takenAt: String?
    var uploadedAt: String?
    var pageURL: String?
    var geo: Geo?
    var place: Place?
    var scores: [String: Double]
    var scoreModel: String?
    var scoredAt: String?
    var image: Image?

    struct Geo: Encodable, Sendable {
        var lat: Double
        var lon: Double
        var accuracy: Int?
        var source: String?
    }

    struct Place: Encodable, Sendable {
        var cc: String?
        var country: String?
        var admin1: String?
        var admin2: String?
        var city: String?
        var distanceKm: Double?

        enum CodingKeys: String, CodingKey {
            case cc, country, admin1, admin2, city
            case distanceKm = "distance_km"
        }
    }

    struct Image: Encodable, Sendable {
        var width: Int?
        var height: Int?
        var format: String?
        var bytes: Int?
        /// Whether `/thumb` and `/large` can show it (a JPEG in the image store).
        var viewable: Bool
    }

    enum CodingKeys: String, CodingKey {
        case id, source, status, title, description, tags, terms, views, license, geo, place, scores, image
        case sourceID = "source_id"
        case takenAt = "taken_at"
        case uploadedAt = "uploaded_at"
        case pageURL = "page_url"
        case scoreModel = "score_model"
        case scoredAt = "scored_at"
    }

    /// The CSV columns of the table download, in order (then `score.<label>` columns).
    static let csvColumns = [
        "id", "source", "source_id", "status", "title", "terms", "tags", "views", "license", "taken_at",
        "uploaded_at", "lat", "lon", "geo.source", "place.cc", "place.country", "place.admin1", "place.admin2",
        "place.city", "image.width", "image.height", "image.format", "page_url",
    ]

    /// The values of ``csvColumns`` then of each label's score.
    func csvValues(labels: [String]) -> [String] {
        func text(_ value: Int?) -> String { value.map(String.init) ?? "" }
        func text(_ value: Double?) -> String { value.map { $0.description } ?? "" }
        return [
            id, source ?? "", sourceID ?? "", status, title, terms.joined(separator: "|"), tags.joined(separator: "|"),
            text(views), license ?? "", takenAt ?? "", uploadedAt ?? "", text(geo?.lat), text(geo?.lon),
            geo?.source ?? "", place?.cc ?? "", place?.country ?? "", place?.admin1 ?? "", place?.admin2 ?? "",
            place?.city ?? "", text(image?.width), text(image?.height), image?.format ?? "", pageURL ?? "",
        ] + labels.map { text(scores[$0]) }
    }
}

/// A photo in the gallery's memory: what the API shows, what filters read, and where its
/// image is (kept server-side only). A class, so scanning 100,000 rows copies no fields.
final class GalleryRow: Sendable {
    let photo: GalleryPhoto
    let subject: PhotoFilter.Subject
    /// The image record for the thumbnailer (path in the image store), or `nil`.
    let image: PhotoDocument.Image?

    /// Reads the public fields of a stored document (DocumentMapping's shape); `nil` without
    /// a string `_id`.
    init?(_ document: StoreDocument) {
        guard let id = document.id else { return nil }
        func string(_ path: String) -> String? { document.value(at: path)?.stringValue }
        func int(_ path: String) -> Int? {
            switch document.value(at: path) {
            case .int(let value)?: Int(value)
            case .double(let value)? where value.isFinite && abs(value) < 1e15: Int(value)
            default: nil
            }
        }
        func double(_ path: String) -> Double? {
            switch document.value(at: path) {
            case .double(let value)?: value
            case .int(let value)?: Double(value)
            default: nil
            }
        }
        func date(_ path: String, zone: Bool) -> String? {
            switch document.value(at: path) {
            case .date(let value)?: Self.isoText(value, zone: zone)
            case .string(let value)?: value
            default: nil
            }
        }
        func strings(_ key: String) -> [String] { document[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        subject = PhotoFilter.Subject(document)
        var geo: GalleryPhoto.Geo?
        if let position = subject.position {
            geo = GalleryPhoto.Geo(
                lat: position.lat, lon: position.lon, accuracy: int("geo.accuracy"), source: string("geo.source"))
        }
        var place: GalleryPhoto.Place?
        if document["place"]?.documentValue != nil {
            place = GalleryPhoto.Place(
                cc: string("place.cc"), country: string("place.country"), admin1: string("place.admin1"),
                admin2: string("place.admin2"), city: string("place.city"), distanceKm: double("place.distance_km"))
        }
        var image: GalleryPhoto.Image?
        var stored: PhotoDocument.Image?
        if document["image"]?.documentValue != nil {
            let format = string("image.format")
            let path = string("image.path")
            let viewable = format == "jpeg" && path != nil
            image = GalleryPhoto.Image(
                width: int("image.width"), height: int("image.height"), format: format, bytes: int("image.bytes"),
                viewable: viewable)
            if let sha = string("image.sha256"), viewable {
                stored = PhotoDocument.Image(
                    sha256: sha, bytes: int("image.bytes") ?? 0, width: int("image.width"),
                    height: int("image.height"), format: format, path: path)
            }
        }
        self.image = stored
        photo = GalleryPhoto(
            id: id, source: string("source"), sourceID: string("source_id"), status: subject.status,
            title: string("title") ?? "", description: string("description") ?? "", tags: strings("tags"),
            terms: strings("terms"), views: subject.views, license: subject.license,
            takenAt: date("taken_at", zone: false), uploadedAt: date("uploaded_at", zone: true),
            pageURL: string("page_url"), geo: geo, place: place, scores: subject.scores,
            scoreModel: string("score_model"), scoredAt: date("scored_at", zone: true), image: image)
    }

    /// `YYYY-MM-DDTHH:MM:SS` plus `Z` when the date is a UTC instant (not a camera's clock).
    static func isoText(_ date: Date, zone: Bool) -> String {
        let text = date.formatted(.iso8601)
        return zone ? text : String(text.dropLast(text.hasSuffix("Z") ? 1 : 0))
    }
}
