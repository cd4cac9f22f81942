import Crypto
import Foundation
import Ingest
import Logging
import Serve
import Store
import TestSupport
import Testing

/// The stores the API tests run on.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case embedded
    case mongo

    var testDescription: String { rawValue }
}

let testLogger = Logger(label: "photoseal.serve.tests")

/// The fixture JPEGs (~150 KB camera photos with EXIF and GPS) shared with IngestTests.
let fixtureImages = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("IngestTests/Fixtures/images")

/// One photo of the fixture, as a test states it.
struct FixturePhoto {
    var number: Int
    var cc: String?
    var country: String?
    var city: String?
    var views: Int?
    var license: String?
    var taken: String?
    var scores: [String: Double]
    var position: (lat: Double, lon: Double)?
    var terms: [String]
    var image: String?
    var title: String

    var id: String { "flickr:\(number)" }
    var owner: String { "7\(number)123456@N0\(number)" }
    var ownerName: String { "Giulia Personal\(number) Rossi" }
    var pathAlias: String { "giulia_alias_\(number)" }
}

/// The photos: three in Italy, two in France, one in Germany, one with no place, one PNG.
let fixturePhotos: [FixturePhoto] = [
    .init(
        number: 1, cc: "IT", country: "Italy", city: "Roma", views: 120, license: "4", taken: "2023-05-01T10:00:00",
        scores: ["monkey": 0.9, "cat": 0.1], position: (41.9, 12.5), terms: ["monkey wild"],
        image: "es_DSCN0010.jpg", title: "Monkey on the Palatine"),
    .init(
        number: 2, cc: "IT", country: "Italy", city: "Milano", views: 40, license: "4", taken: "2023-06-15T08:30:00",
        scores: ["monkey": 0.4, "cat": 0.7], position: (45.46, 9.19), terms: ["monkey wild", "scimmia"],
        image: "es_DSCN0012.jpg", title: "Cat in Brera"),
    .init(
        number: 3, cc: "IT", country: "Italy", city: "Napoli", views: 900, license: "9", taken: "2024-01-20T12:00:00",
        scores: ["monkey": 0.75], position: (40.85, 14.27), terms: ["scimmia"], image: "es_DSCN0021.jpg",
        title: "Scimmia at the zoo"),
    .init(
        number: 4, cc: "FR", country: "France", city: "Paris", views: 15, license: "4", taken: "2022-12-31T23:00:00",
        scores: ["monkey": 0.6], position: (48.85, 2.35), terms: ["monkey wild"], image: "es_DSCN0025.jpg",
        title: "Jardin des Plantes"),
    .init(
        number: 5, cc: "FR", country: "France", city: "Lyon", views: 3, license: "0", taken: nil,
        scores: [:], position: (45.76, 4.83), terms: ["monkey wild"], image: nil, title: "Unscored"),
    .init(
        number: 6, cc: "DE", country: "Germany", city: "Berlin", views: 77, license: "9", taken: "2023-07-04T09:00:00",
        scores: ["monkey": 0.95], position: (52.52, 13.4), terms: ["monkey wild"], image: nil,
        title: "Tierpark"),
    .init(
        number: 7, cc: nil, country: nil, city: nil, views: nil, license: "4", taken: "2023-03-03T03:03:03",
        scores: ["monkey": 0.2], position: nil, terms: ["monkey wild"], image: nil, title: "No position"),
    .init(
        number: 8, cc: "IT", country: "Italy", city: "Roma", views: 50, license: "4", taken: "2023-05-02T10:00:00",
        scores: ["monkey": 0.8], position: (41.89, 12.49), terms: ["monkey wild"], image: "et_PNG.png",
        title: "A PNG"),
]

/// A workdir's pieces with the fixture photos in a store, shaped as encrypt-load writes them.
struct GalleryFixture {
    let workdir: String
    let images: ImageStore
    let keyring: Keyring
    let store: any DocumentStore
    /// Every personal value and every sealed or blind value loaded: none may be served.
    let forbidden: [String]

    /// Makes the workdir, stores the images in `mode`, seals the personal fields with a new
    /// key, and loads the documents into a fresh store of `kind`.
    /// With `bucket`, the images are uploaded there (`--image-store s3://…`) instead.
    static func make(_ kind: StoreKind, mode: ImageStore.Mode = .stripped, bucket: ImageBucket? = nil) async throws
        -> GalleryFixture
    {
        let workdir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "photoseal-serve-\(UUID().uuidString)"
        ).path
        try PrivateFiles.makeDirectory(workdir)
        let images = ImageStore(workdir: workdir, bucket: bucket)
        let keyring = try Keyring([try FernetKey.generate()])
        let sealer = FieldSealer(keyring: keyring)
        let blind = try BlindIndex(bytes: (0..<32).map { UInt8($0) })
        var documents: [StoreDocument] = []
        var forbidden: [String] = []
        for photo in fixturePhotos {
            var image: [String: Any]?
            if let name = photo.image {
                let bytes = [UInt8](try Data(contentsOf: fixtureImages.appendingPathComponent(name)))
                let sha = try SHA256Digest.hex(bytes)
                let format = try #require(ImageFormat.sniff(bytes))
                let stored =
                    images.isRemote
                    ? try await images.upload(
                        original: bytes, sha256: sha, format: format, mode: mode, keyring: keyring)
                    : try images.store(original: bytes, sha256: sha, format: format, mode: mode, keyring: keyring)
                let size = ImageFormat.dimensions(bytes, format: format)
                image = [
                    "sha256": sha, "bytes": bytes.count, "width": size?.width ?? 0, "height": size?.height ?? 0,
                    "format": format.name, "path": stored.path,
                ]
            }
            let owner = try sealer.seal(photo.owner, documentID: photo.id, field: "owner")
            let ownerName = try sealer.seal(photo.ownerName, documentID: photo.id, field: "owner_name")
            let alias = try sealer.seal(photo.pathAlias, documentID: photo.id, field: "path_alias")
            let exif = try sealer.seal("{\"EXIF:Make\":\"NIKON\"}", documentID: photo.id, field: "exif")
            let blindOwner = try blind.hex(photo.owner)
            forbidden += [photo.owner, photo.ownerName, photo.pathAlias, owner, ownerName, alias, exif, blindOwner]
            var json: [String: Any] = [
                "_id": photo.id, "source": "flickr", "source_id": String(photo.number), "terms": photo.terms,
                "title": photo.title, "description": "Seen near \(photo.city ?? "nowhere")", "tags": ["zoo", "animal"],
                "machine_tags": [], "image_sources": [],
                "sealed": ["owner": owner, "owner_name": ownerName, "path_alias": alias, "exif": exif],
                "seal": ["kid": keyring.keys[0].kid, "at": "2024-02-01T00:00:00Z"], "blind": ["owner": blindOwner],
                "ingested_at": "2024-02-01T00:00:00Z", "pipeline_version": "test",
                "page_url": "https://www.flickr.com/photo.gne?id=\(photo.number)",
            ]
            json["views"] = photo.views
            json["license"] = photo.license
            json["taken_at"] = photo.taken
            json["image"] = image
            if !photo.scores.isEmpty { json["scores"] = photo.scores }
            if let position = photo.position {
                json["geo"] = ["lat": position.lat, "lon": position.lon, "accuracy": 16, "source": "exif"]
            }
            if let cc = photo.cc {
                json["place"] = [
                    "cc": cc, "country": photo.country ?? "", "admin1": "Region of \(photo.city ?? "")",
                    "city": photo.city ?? "", "distance_km": 1.2,
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: json)
            let document = try JSONDecoder().decode(PhotoDocument.self, from: data)
            documents.append(document.storeDocument())
        }
        let store: any DocumentStore
        switch kind {
        case .embedded:
            store = try EmbeddedStore(
                path: (workdir as NSString).appendingPathComponent("store.sqlite"), logger: testLogger)
        case .mongo:
            let server = try await MongoTestServer.shared()
            store = try MongoStore(
                uri: MongoTestServer.uri(server, database: MongoTestServer.randomDatabase()), logger: testLogger)
        }
        _ = try await store.upsert(documents)
        return GalleryFixture(workdir: workdir, images: images, keyring: keyring, store: store, forbidden: forbidden)
    }

    /// A gallery over the fixture; thumbnails cached in `thumbs/` unless `memoryOnly`.
    func gallery(token: String? = nil, memoryOnly: Bool = false, tiles: TileSet? = nil) async throws -> Gallery {
        var configuration = Gallery.Configuration()
        configuration.token = token
        let thumbnails = Thumbnails(
            images: images, keyring: keyring,
            cacheDirectory: memoryOnly ? nil : (workdir as NSString).appendingPathComponent("thumbs"))
        let gallery = Gallery(
            store: store, thumbnails: thumbnails, configuration: configuration, tiles: tiles, logger: testLogger)
        try await gallery.load()
        return gallery
    }

    /// Drops the store and deletes the workdir.
    func remove() async {
        try? await store.drop()
        try? FileManager.default.removeItem(atPath: workdir)
    }
}

/// Runs `body` with a fresh fixture, removed afterwards whatever happens.
func withFixture(
    _ kind: StoreKind, mode: ImageStore.Mode = .stripped, bucket: ImageBucket? = nil,
    _ body: (GalleryFixture) async throws -> Void
) async throws {
    let fixture = try await GalleryFixture.make(kind, mode: mode, bucket: bucket)
    do {
        try await body(fixture)
        await fixture.remove()
    } catch {
        await fixture.remove()
        throw error
    }
}

/// Fetches a target and decodes its JSON body.
func json(_ gallery: Gallery, _ target: String) async throws -> [String: Any] {
    let response = await gallery.respond(to: GalleryRequest(target: target))
    #expect(response.status == 200, "\(target): \(response.text)")
    return try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
}

/// The ids of a photos page.
func ids(_ page: [String: Any]) -> [String] {
    (page["photos"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
}
