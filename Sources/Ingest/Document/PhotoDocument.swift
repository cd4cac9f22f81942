public import Enrich

/// One photo's document, as the ledger keeps it and the store will hold it (DESIGN.md).
///
/// JSON keys are snake_case as in DESIGN.md. Personal fields never appear in plaintext: owner,
/// owner name and path alias live only as Fernet tokens in `sealed`, bound to this document's
/// id and the field name (`FieldSealer`); `blind.owner` is the owner's blind index.
public struct PhotoDocument: Codable, Sendable, Equatable {
    /// `source:source_id`, e.g. `flickr:53012345678`.
    public var id: String
    /// Where the photo came from: `flickr`, `local`, `url`, `s3`.
    public var source: String
    /// The photo's id at its source.
    public var sourceID: String
    /// Every search term that found the photo, in the order first seen.
    public var terms: [String]
    /// The title (may be empty).
    public var title: String
    /// The description text (Flickr's `description._content`).
    public var description: String
    /// Tags as Flickr normalises them.
    public var tags: [String]
    /// Machine tags (`namespace:predicate=value`).
    public var machineTags: [String]
    /// View count, when known.
    public var views: Int?
    /// The license id as the source gives it.
    public var license: String?
    /// When the photo was taken, `YYYY-MM-DDTHH:MM:SS` (local time of the camera, no zone).
    public var takenAt: String?
    /// When the photo was uploaded, ISO 8601 UTC.
    public var uploadedAt: String?
    /// A page showing the photo that names no person (`https://www.flickr.com/photo.gne?id=…`).
    public var pageURL: String?
    /// The preferred image to download (the largest offered size).
    public var imageURL: String?
    /// Every image size offered, largest first, for falling back when one is refused.
    public var imageSources: [ImageSource]
    /// The downloaded image, once the download stage has it.
    public var image: Image?
    /// The photo's position, or `nil` when it has none.
    public var geo: Geo?
    /// The nearest place, once the extract stage has geocoded it.
    public var place: Place?
    /// Label scores, once the score stage has run.
    public var scores: [String: Double]?
    /// The vision model that scored the photo.
    public var scoreModel: String?
    /// When the photo was scored, ISO 8601 UTC.
    public var scoredAt: String?
    /// The raw labels the vision model returned for the image (kept for re-scoring with other
    /// labels without paying again); `nil` until scored.
    public var labels: [Vision.Label]? = nil
    /// The sealed personal fields (Fernet tokens).
    public var sealed: Sealed
    /// Which key sealed them and when.
    public var seal: SealInfo
    /// Blind indexes for equality lookups on sealed values.
    public var blind: Blind
    /// When the photo first entered the pipeline, ISO 8601 UTC.
    public var ingestedAt: String
    /// The photoseal version that made the document.
    public var pipelineVersion: String

    /// One offered image size.
    public struct ImageSource: Codable, Sendable, Equatable {
        /// Flickr's size suffix (`o`, `k`, `h`, `l`, `c`).
        public var size: String
        /// The image URL.
        public var url: String
        /// Width in pixels, when given.
        public var width: Int?
        /// Height in pixels, when given.
        public var height: Int?
        /// Makes an entry.
        public init(size: String, url: String, width: Int?, height: Int?) {
            self.size = size
            self.url = url
            self.width = width
            self.height = height
        }
    }

    /// The downloaded image file.
    public struct Image: Codable, Sendable, Equatable {
        /// Lowercase hex SHA-256 of the original file (the content address; a stripped or
        /// sealed stored file keeps the original's hash, see `ImageStore`).
        public var sha256: String
        /// Size of the original in bytes.
        public var bytes: Int
        /// Width in pixels.
        public var width: Int?
        /// Height in pixels.
        public var height: Int?
        /// `jpeg`, `png`, ….
        public var format: String?
        /// Path in the image store.
        public var path: String?
        /// Set when the image is not kept in the mode asked for: stripped mode seals an image it
        /// cannot strip (`nil`: kept as asked).
        public var fallback: Fallback?
        /// Makes the record.
        public init(
            sha256: String, bytes: Int, width: Int?, height: Int?, format: String?, path: String?,
            fallback: Fallback? = nil
        ) {
            self.sha256 = sha256
            self.bytes = bytes
            self.width = width
            self.height = height
            self.format = format
            self.path = path
            self.fallback = fallback
        }

        /// How an image is kept instead of the mode asked for, and why (no personal data).
        public struct Fallback: Codable, Sendable, Equatable {
            /// How the file at `path` holds the image: `sealed`.
            public var storedAs: String
            /// Why: `unsupported-format` (no stripper for the format: GIF, TIFF, HEIC, AVIF) or
            /// `malformed` (the stripper could not parse the file, e.g. a truncated JPEG).
            public var reason: String
            /// Makes the record.
            public init(storedAs: String, reason: String) {
                self.storedAs = storedAs
                self.reason = reason
            }

            /// Sealed because stripped mode cannot strip an image of this format (the reason
            /// told from the format: one the stripper knows was malformed).
            public static func sealed(cannotStrip format: ImageFormat) -> Fallback {
                Fallback(
                    storedAs: "sealed", reason: MetadataStripper.strips(format) ? "malformed" : "unsupported-format")
            }

            enum CodingKeys: String, CodingKey {
                case reason
                case storedAs = "stored_as"
            }
        }
    }

    /// A position in WGS84 degrees.
    public struct Geo: Codable, Sendable, Equatable {
        /// Latitude.
        public var lat: Double
        /// Longitude.
        public var lon: Double
        /// Flickr's accuracy level (1 world … 16 street), when given.
        public var accuracy: Int?
        /// `flickr` or `exif`.
        public var source: String
        /// Makes a position.
        public init(lat: Double, lon: Double, accuracy: Int?, source: String) {
            self.lat = lat
            self.lon = lon
            self.accuracy = accuracy
            self.source = source
        }
    }

    /// The nearest place from the offline geocoder.
    public struct Place: Codable, Sendable, Equatable {
        /// ISO country code.
        public var cc: String?
        /// Country name.
        public var country: String?
        /// First-level division.
        public var admin1: String?
        /// Second-level division.
        public var admin2: String?
        /// Place name.
        public var city: String?
        /// Distance to the place in kilometres.
        public var distanceKm: Double?
        /// Makes a place; every field starts empty.
        public init(
            cc: String? = nil, country: String? = nil, admin1: String? = nil, admin2: String? = nil,
            city: String? = nil, distanceKm: Double? = nil
        ) {
            self.cc = cc
            self.country = country
            self.admin1 = admin1
            self.admin2 = admin2
            self.city = city
            self.distanceKm = distanceKm
        }

        enum CodingKeys: String, CodingKey {
            case cc, country, admin1, admin2, city
            case distanceKm = "distance_km"
        }
    }

    /// Fernet tokens of the personal fields; a field the source did not give is `nil`.
    public struct Sealed: Codable, Sendable, Equatable {
        /// The owner's account id.
        public var owner: String?
        /// The owner's display name.
        public var ownerName: String?
        /// The owner's URL alias.
        public var pathAlias: String?
        /// The EXIF JSON, once extracted.
        public var exif: String?

        /// Makes the sealed fields.
        public init(owner: String? = nil, ownerName: String? = nil, pathAlias: String? = nil, exif: String? = nil) {
            self.owner = owner
            self.ownerName = ownerName
            self.pathAlias = pathAlias
            self.exif = exif
        }

        enum CodingKeys: String, CodingKey {
            case owner, exif
            case ownerName = "owner_name"
            case pathAlias = "path_alias"
        }
    }

    /// The sealing key's id and the time of sealing.
    public struct SealInfo: Codable, Sendable, Equatable {
        /// Fingerprint of the key that sealed the fields.
        public var kid: String
        /// When, ISO 8601 UTC.
        public var at: String
        /// Makes the record.
        public init(kid: String, at: String) {
            self.kid = kid
            self.at = at
        }
    }

    /// Blind indexes.
    public struct Blind: Codable, Sendable, Equatable {
        /// HMAC-SHA256 hex of the owner under INDEX_KEY.
        public var owner: String?
        /// Makes the record.
        public init(owner: String?) { self.owner = owner }
    }

    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case source
        case sourceID = "source_id"
        case terms, title, description, tags
        case machineTags = "machine_tags"
        case views, license
        case takenAt = "taken_at"
        case uploadedAt = "uploaded_at"
        case pageURL = "page_url"
        case imageURL = "image_url"
        case imageSources = "image_sources"
        case image, geo, place, scores
        case scoreModel = "score_model"
        case scoredAt = "scored_at"
        case labels
        case sealed, seal, blind
        case ingestedAt = "ingested_at"
        case pipelineVersion = "pipeline_version"
    }

    /// The names of the sealed fields as bound into their tokens.
    public enum SealedField {
        /// `owner`.
        public static let owner = "owner"
        /// `owner_name`.
        public static let ownerName = "owner_name"
        /// `path_alias`.
        public static let pathAlias = "path_alias"
        /// `exif`: the JSON object `photoseal exif --json` prints for the image.
        public static let exif = "exif"
    }
}
