import Crypto
import Foundation
import Testing

@testable import Ingest

@Suite("Flickr answers", .tags(.unit))
struct FlickrDecodingTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.resourceURL?.appendingPathComponent("Fixtures/flickr/\(name)"))
        return Array(try Data(contentsOf: url))
    }

    static func sealer() throws -> (FieldSealer, BlindIndex) {
        (FieldSealer(keyring: try Keyring([FernetKey.generate()])), try BlindIndex.generate())
    }

    @Test("numbers as strings, total as a string and description as _content decode")
    func quirks() throws {
        let page = try FlickrClient.decode(Self.fixture("search-quirks.json"))
        #expect(page.total == 4113)
        #expect(page.page == 2)
        #expect(page.pages == 17)
        #expect(page.photos.count == 2)  // the photo without an id is dropped
        let (sealer, blind) = try Self.sealer()
        let doc = try PhotoDocument.fromFlickr(page.photos[0], term: "scimmia", sealer: sealer, blind: blind, now: "t")
        #expect(doc.id == "flickr:53012345678")
        #expect(doc.description == "Una scimmia <b>curiosa</b>")
        #expect(doc.views == 1234)
        #expect(doc.geo == PhotoDocument.Geo(lat: 41.902782, lon: 12.496366, accuracy: 16, source: "flickr"))
        #expect(doc.takenAt == "2015-05-31T18:20:05")
        #expect(doc.uploadedAt == "2015-06-01T00:00:00Z")  // 1433116800 per `date -u -d @1433116800`
        #expect(doc.tags == ["scimmia", "parco", "roma"])
        #expect(doc.imageURL == "https://live.staticflickr.com/65535/53012345678_def_o.jpg")
        #expect(doc.imageSources.map(\.size) == ["o", "l"])
        #expect(doc.imageSources[0].width == 4000 && doc.imageSources[0].height == 3000)
        #expect(doc.terms == ["scimmia"])
        #expect(try blind.hex("12345678@N00") == doc.blind.owner)
    }

    @Test("latitude and longitude 0 mean no geotag, and empty personal fields are not sealed")
    func noGeo() throws {
        let page = try FlickrClient.decode(Self.fixture("search-quirks.json"))
        let (sealer, blind) = try Self.sealer()
        let doc = try PhotoDocument.fromFlickr(page.photos[1], term: nil, sealer: sealer, blind: blind, now: "t")
        #expect(doc.geo == nil)
        #expect(doc.sealed.ownerName == nil)
        #expect(doc.sealed.pathAlias == nil)
        #expect(doc.sealed.owner != nil)
        #expect(doc.terms.isEmpty)
    }

    @Test("sealed fields open only for their own document and field, and hold no plaintext")
    func sealing() throws {
        let page = try FlickrClient.decode(Self.fixture("search-quirks.json"))
        let (sealer, blind) = try Self.sealer()
        let doc = try PhotoDocument.fromFlickr(page.photos[0], term: "x", sealer: sealer, blind: blind, now: "t")
        let json = String(decoding: try JSONEncoder().encode(doc), as: UTF8.self)
        for value in ["12345678@N00", "Maria Rossi", "mariarossi"] { #expect(!json.contains(value)) }
        let opened = try DocumentOpener.open(doc, sealer: sealer)
        #expect(opened.owner == "12345678@N00")
        #expect(opened.ownerName == "Maria Rossi")
        #expect(opened.pathAlias == "mariarossi")
        let token = try #require(doc.sealed.ownerName)
        #expect(throws: CryptoError.self) { try sealer.open(token, documentID: doc.id, field: "owner") }
        #expect(throws: CryptoError.self) { try sealer.open(token, documentID: "flickr:1", field: "owner_name") }
    }

    @Test(
        "Flickr failure codes map to errors that are retried only when transient",
        arguments: [
            (105, true), (10, true), (100, false), (3, false), (18, false), (112, false), (1, false),
        ])
    func failureCodes(code: Int, retriable: Bool) throws {
        let body = Array(#"{"stat": "fail", "code": \#(code), "message": "api_key=SECRETKEY went wrong"}"#.utf8)
        let error = try #require(throws: IngestError.self) { try FlickrClient.decode(body) }
        #expect(error.flickrCode == code)
        #expect(error.isRetriable == retriable)
        #expect(!error.description.contains("SECRETKEY"))
    }

    @Test("an answer that is not JSON is a malformed response")
    func notJSON() throws {
        let error = try #require(throws: IngestError.self) { try FlickrClient.decode(Array("<html>".utf8)) }
        #expect(error.code == .malformedResponse)
    }

    @Test("api_key values are redacted wherever they appear")
    func redaction() {
        #expect(
            Redaction.redact("GET http://x/?a=1&api_key=abc123&b=2 failed; api_key=zz")
                == "GET http://x/?a=1&api_key=REDACTED&b=2 failed; api_key=REDACTED")
    }
}
