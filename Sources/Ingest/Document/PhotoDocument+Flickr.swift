public import Crypto

extension PhotoDocument {
    /// Builds the document of a photo found on Flickr by `term`, sealing its personal fields
    /// at once: owner, owner name and path alias exist from here on only as tokens bound to
    /// this document's id and field name, plus the owner's blind index.
    /// - Throws: `IngestError.sealing` when sealing fails.
    public static func fromFlickr(
        _ photo: FlickrPhoto, term: String?, sealer: FieldSealer, blind: BlindIndex, now: String
    ) throws -> PhotoDocument {
        let id = "flickr:\(photo.id)"
        func seal(_ value: String?, _ field: String) throws -> String? {
            guard let value, !value.isEmpty else { return nil }
            do {
                return try sealer.seal(value, documentID: id, field: field)
            } catch {
                throw IngestError.wrapping(error, context: "sealing the \(field) of \(id)")
            }
        }
        let sealed = Sealed(
            owner: try seal(photo.owner, SealedField.owner),
            ownerName: try seal(photo.ownerName, SealedField.ownerName),
            pathAlias: try seal(photo.pathAlias, SealedField.pathAlias))
        let blindOwner: String?
        do {
            blindOwner = try photo.owner.flatMap { $0.isEmpty ? nil : try blind.hex($0) }
        } catch {
            throw IngestError.wrapping(error, context: "indexing the owner of \(id)")
        }
        var geo: Geo?
        if let lat = photo.latitude?.value, let lon = photo.longitude?.value, lat != 0 || lon != 0,
            (-90...90).contains(lat), (-180...180).contains(lon)
        {
            geo = Geo(lat: lat, lon: lon, accuracy: photo.accuracy?.int, source: "flickr")
        }
        var sources = photo.sizes.map { ImageSource(size: $0.size, url: $0.url, width: $0.width, height: $0.height) }
        if sources.isEmpty, let server = photo.server, let secret = photo.secret, !server.isEmpty, !secret.isEmpty {
            sources.append(
                ImageSource(
                    size: "b", url: "https://live.staticflickr.com/\(server)/\(photo.id)_\(secret)_b.jpg", width: nil,
                    height: nil))
        }
        let taken = photo.dateTaken.flatMap { TakenDate.flickr($0) }.map { TakenDate.format($0) }
        let uploaded = photo.dateUpload?.int.map { TakenDate.format(Int64($0)) + "Z" }
        return PhotoDocument(
            id: id, source: "flickr", sourceID: photo.id, terms: term.map { [$0] } ?? [], title: photo.title,
            description: photo.description,
            tags: photo.tags.split(separator: " ").map(String.init),
            machineTags: photo.machineTags.split(separator: " ").map(String.init),
            views: photo.views?.int, license: photo.license, takenAt: taken, uploadedAt: uploaded,
            pageURL: "https://www.flickr.com/photo.gne?id=\(photo.id)", imageURL: sources.first?.url,
            imageSources: sources, image: nil, geo: geo, place: nil, scores: nil, scoreModel: nil, scoredAt: nil,
            sealed: sealed, seal: SealInfo(kid: sealer.keyring.primary.kid, at: now), blind: Blind(owner: blindOwner),
            ingestedAt: now, pipelineVersion: IngestModule.version)
    }
}
