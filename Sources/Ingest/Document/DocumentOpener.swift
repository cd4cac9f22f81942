public import Crypto

/// Opens a document's sealed personal fields (for `export --decrypt` and audits).
public enum DocumentOpener {
    /// The plaintext personal fields of one document.
    public struct Opened: Codable, Sendable, Equatable {
        /// The owner's account id.
        public var owner: String?
        /// The owner's display name.
        public var ownerName: String?
        /// The owner's URL alias.
        public var pathAlias: String?
        /// The EXIF JSON object (as text) that `photoseal exif --json` prints for the image.
        public var exif: String?

        enum CodingKeys: String, CodingKey {
            case owner, exif
            case ownerName = "owner_name"
            case pathAlias = "path_alias"
        }
    }

    /// Opens each sealed field, checking it belongs to this document and field.
    /// - Throws: `IngestError.sealing` naming the document and field that does not open.
    public static func open(_ document: PhotoDocument, sealer: FieldSealer) throws -> Opened {
        func open(_ token: String?, _ field: String) throws -> String? {
            guard let token else { return nil }
            do {
                return try sealer.open(token, documentID: document.id, field: field).string
            } catch {
                throw IngestError.wrapping(error, context: "opening the \(field) of \(document.id)")
            }
        }
        return Opened(
            owner: try open(document.sealed.owner, PhotoDocument.SealedField.owner),
            ownerName: try open(document.sealed.ownerName, PhotoDocument.SealedField.ownerName),
            pathAlias: try open(document.sealed.pathAlias, PhotoDocument.SealedField.pathAlias),
            exif: try open(document.sealed.exif, PhotoDocument.SealedField.exif))
    }
}
