public import Crypto

/// Makes a document pseudonymous for a dataset that must not link back to its source or to a
/// store (`export --pseudonymous`, `pack --pseudonymous`; docs/privacy.md).
///
/// What changes: `_id` becomes its pseudonym (`PseudonymKey`); `source_id` and the offered
/// image sizes (`image_sources`) are dropped; `page_url` and `image_url` are sealed under the
/// primary seal key as `sealed.page_url` and `sealed.image_url` (the usual envelope, bound to
/// the real id: only key holders open them); the sealed personal fields are re-sealed (fresh
/// tokens, so no token string equals the store's); `blind.owner` becomes a pseudonym of the
/// blind index (it still groups a photographer's photos within datasets made under one
/// INDEX_KEY, but no longer joins with a store); a failure keeps its stage and permanence, not
/// its cause (free text that may name the photo's URL or id). Everything else (title,
/// description, tags, time, position, place, scores, image hash) stays as it is.
public struct Pseudonymizer: Sendable {
    /// The pseudonym key (derived from INDEX_KEY).
    public let key: PseudonymKey
    /// Seals the URLs and re-seals the personal fields under the primary key.
    public let sealer: FieldSealer

    /// The field names the URL tokens are bound to (as `FieldSealer` envelopes name them).
    public enum SealedField {
        /// `page_url`.
        public static let pageURL = "page_url"
        /// `image_url`.
        public static let imageURL = "image_url"
    }

    /// Makes a pseudonymizer from the workdir's INDEX_KEY and seal keys.
    public init(index: BlindIndex, sealer: FieldSealer) throws {
        key = try PseudonymKey(index: index)
        self.sealer = sealer
    }

    /// A document as a pseudonymous dataset shows it.
    public struct Output: Sendable {
        /// The document with its id replaced by the pseudonym, `source_id` empty, no page or
        /// image URL and no image sources, its sealed fields re-sealed (and `seal.kid` the
        /// primary key's), `blind.owner` replaced. Writers leave out `source_id`.
        public var document: PhotoDocument
        /// The page URL as a token (field `page_url` of the real id), if the document has one.
        public var sealedPageURL: String?
        /// The image URL as a token (field `image_url` of the real id), if the document has one.
        public var sealedImageURL: String?
        /// The failure without its cause (empty).
        public var failure: PhotoFailure?
    }

    /// The pseudonymous form of `document` (and of its failure, if any).
    /// - Throws: `IngestError.sealing` naming the (pseudonymous) document when a sealed field
    ///   does not open or a value cannot be sealed.
    public func apply(_ document: PhotoDocument, failure: PhotoFailure? = nil) throws -> Output {
        let realID = document.id
        var out = document
        do {
            out.id = try key.pseudonym(of: realID)
        } catch {
            throw IngestError.wrapping(error, context: "making a pseudonym")
        }
        func fail(_ error: any Error, _ field: String) -> IngestError {
            IngestError.wrapping(error, context: "sealing the \(field) of \(out.id)")
        }
        func reseal(_ token: String?, _ field: String) throws -> String? {
            guard let token else { return nil }
            do {
                return try sealer.reseal(token, documentID: realID, field: field).token
            } catch {
                throw fail(error, field)
            }
        }
        func seal(_ value: String?, _ field: String) throws -> String? {
            guard let value else { return nil }
            do {
                return try sealer.seal(value, documentID: realID, field: field)
            } catch {
                throw fail(error, field)
            }
        }
        out.sourceID = ""
        out.pageURL = nil
        out.imageURL = nil
        out.imageSources = []
        out.sealed = PhotoDocument.Sealed(
            owner: try reseal(document.sealed.owner, PhotoDocument.SealedField.owner),
            ownerName: try reseal(document.sealed.ownerName, PhotoDocument.SealedField.ownerName),
            pathAlias: try reseal(document.sealed.pathAlias, PhotoDocument.SealedField.pathAlias),
            exif: try reseal(document.sealed.exif, PhotoDocument.SealedField.exif))
        out.seal.kid = sealer.keyring.primary.kid
        do {
            out.blind.owner = try document.blind.owner.map { try key.pseudonym(ofBlind: $0, field: "blind.owner") }
        } catch {
            throw IngestError.wrapping(error, context: "making the owner pseudonym of \(out.id)")
        }
        return Output(
            document: out, sealedPageURL: try seal(document.pageURL, SealedField.pageURL),
            sealedImageURL: try seal(document.imageURL, SealedField.imageURL),
            failure: failure.map { PhotoFailure(stage: $0.stage, cleanCause: "", permanent: $0.permanent) })
    }
}

/// A JSON line of a pseudonymous export: the members named here and no others (an allow-list:
/// a field added to `PhotoDocument` later stays out of pseudonymous datasets until it is
/// added here), in the shapes the plain export writes them.
struct PseudonymousLine: Encodable {
    var output: Pseudonymizer.Output
    var status: String

    enum CodingKeys: String, CodingKey {
        case id = "_id"
        case source, terms, title, description, tags
        case machineTags = "machine_tags"
        case views, license
        case takenAt = "taken_at"
        case uploadedAt = "uploaded_at"
        case image, geo, place, scores
        case scoreModel = "score_model"
        case scoredAt = "scored_at"
        case labels, sealed, seal, blind
        case ingestedAt = "ingested_at"
        case pipelineVersion = "pipeline_version"
        case status, failure
    }

    enum SealedKeys: String, CodingKey {
        case owner, exif
        case ownerName = "owner_name"
        case pathAlias = "path_alias"
        case pageURL = "page_url"
        case imageURL = "image_url"
    }

    enum FailureKeys: String, CodingKey { case stage, permanent }

    func encode(to encoder: any Encoder) throws {
        let d = output.document
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(d.id, forKey: .id)
        try c.encode(d.source, forKey: .source)
        try c.encode(d.terms, forKey: .terms)
        try c.encode(d.title, forKey: .title)
        try c.encode(d.description, forKey: .description)
        try c.encode(d.tags, forKey: .tags)
        try c.encode(d.machineTags, forKey: .machineTags)
        try c.encodeIfPresent(d.views, forKey: .views)
        try c.encodeIfPresent(d.license, forKey: .license)
        try c.encodeIfPresent(d.takenAt, forKey: .takenAt)
        try c.encodeIfPresent(d.uploadedAt, forKey: .uploadedAt)
        try c.encodeIfPresent(d.image, forKey: .image)
        try c.encodeIfPresent(d.geo, forKey: .geo)
        try c.encodeIfPresent(d.place, forKey: .place)
        try c.encodeIfPresent(d.scores, forKey: .scores)
        try c.encodeIfPresent(d.scoreModel, forKey: .scoreModel)
        try c.encodeIfPresent(d.scoredAt, forKey: .scoredAt)
        try c.encodeIfPresent(d.labels, forKey: .labels)
        var sealed = c.nestedContainer(keyedBy: SealedKeys.self, forKey: .sealed)
        try sealed.encodeIfPresent(d.sealed.owner, forKey: .owner)
        try sealed.encodeIfPresent(d.sealed.ownerName, forKey: .ownerName)
        try sealed.encodeIfPresent(d.sealed.pathAlias, forKey: .pathAlias)
        try sealed.encodeIfPresent(d.sealed.exif, forKey: .exif)
        try sealed.encodeIfPresent(output.sealedPageURL, forKey: .pageURL)
        try sealed.encodeIfPresent(output.sealedImageURL, forKey: .imageURL)
        try c.encode(d.seal, forKey: .seal)
        try c.encode(d.blind, forKey: .blind)
        try c.encode(d.ingestedAt, forKey: .ingestedAt)
        try c.encode(d.pipelineVersion, forKey: .pipelineVersion)
        try c.encode(status, forKey: .status)
        if let failure = output.failure {
            var f = c.nestedContainer(keyedBy: FailureKeys.self, forKey: .failure)
            try f.encode(failure.stage, forKey: .stage)
            try f.encode(failure.permanent, forKey: .permanent)
        }
    }
}
