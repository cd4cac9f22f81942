import Foundation
import Ingest
import Serve
import Store
import Testing

@Suite("Photo filter")
struct PhotoFilterTests {
    @Test("a filter read from a query string and written back gives the same filter")
    func roundTrip() throws {
        let query =
            "q=c%2B%2B+monkey&term=Scimmia&cc=it,fr&place=Roma&views_min=10&views_max=900&taken_from=2023-01-01"
            + "&taken_to=2023-12-31&license=4&score.Monkey%20Wild=0.6&geo=1&status=loaded&width_min=800"
            + "&bbox=170,-10,-170,10&sort=views&offset=60"
        let filter = try PhotoFilter(queryItems: GalleryRequest.queryItems(query))
        #expect(filter.text == "c++ monkey")
        #expect(filter.terms == ["scimmia"])
        #expect(filter.countries == ["IT", "FR"])
        #expect(filter.minScores == [PhotoFilter.MinScore(label: "monkey wild", min: 0.6)])
        #expect(filter.bbox == PhotoFilter.Box(west: 170, south: -10, east: -170, north: 10))
        let again = try PhotoFilter(queryItems: GalleryRequest.queryItems(filter.queryString))
        #expect(again == filter)
        #expect(PhotoFilter().queryString.isEmpty)
    }

    @Test(
        "bad values are refused naming the item",
        arguments: [
            "views_min=-1", "taken_from=2023-13-01",
            "score.cat=2", "geo=maybe", "bbox=1,2,3",
        ])
    func refusesBadValues(item: String) {
        #expect(throws: IngestError.self) { try PhotoFilter(queryItems: GalleryRequest.queryItems(item)) }
        do {
            _ = try PhotoFilter(queryItems: GalleryRequest.queryItems(item))
        } catch let error as IngestError {
            #expect(error.message.contains(String(item.prefix { $0 != "=" })))
        } catch {}
    }

    @Test("a ledger document and its stored form match the same filters")
    func ledgerAndStoreAgree() throws {
        let json = """
            {"_id": "flickr:1", "source": "flickr", "source_id": "1", "terms": ["Monkey wild"], "title": "T",
             "description": "", "tags": ["zoo"], "machine_tags": [], "image_sources": [], "views": 120,
             "license": "4", "taken_at": "2023-05-01T10:00:00", "geo": {"lat": 41.9, "lon": 12.5, "source": "exif"},
             "place": {"cc": "IT", "city": "Roma"}, "scores": {"monkey": 0.9},
             "image": {"sha256": "ab", "bytes": 1, "width": 1024, "height": 768},
             "sealed": {}, "seal": {"kid": "k", "at": "2024-01-01T00:00:00Z"}, "blind": {},
             "ingested_at": "2024-01-01T00:00:00Z", "pipeline_version": "t"}
            """
        let document = try JSONDecoder().decode(PhotoDocument.self, from: Data(json.utf8))
        let stored = document.storeDocument()
        let queries = [
            "cc=IT", "cc=FR", "term=monkey wild", "views_min=121", "taken_from=2023-05-01&taken_to=2023-05-01",
            "taken_from=2023-05-02", "score.monkey=0.9", "score.monkey=0.91", "width_min=1024", "width_min=1025",
            "bbox=12,41,13,42", "bbox=13,41,14,42", "geo=0", "q=ZOO", "place=rom", "license=9", "status=loaded",
        ]
        var matched = 0
        for query in queries {
            let filter = try PhotoFilter(queryItems: GalleryRequest.queryItems(query))
            let fromLedger = filter.matches(document, status: "loaded")
            #expect(fromLedger == filter.matches(stored), "\(query)")
            if fromLedger { matched += 1 }
        }
        #expect(matched == 9)
    }
}
