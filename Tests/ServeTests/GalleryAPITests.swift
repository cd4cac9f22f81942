import Foundation
import HTTP
import Ingest
import Serve
import Store
import Testing

@Suite("Gallery API", .serialized)
struct GalleryAPITests {
    @Test(
        "a photos page holds the page asked for, with the total, in the order asked for", arguments: StoreKind.allCases)
    func pagesAndSorts(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let gallery = try await fixture.gallery()
            let first = try await json(gallery, "/api/photos?limit=3")
            #expect(first["total"] as? Int == 8)
            #expect(ids(first) == ["flickr:1", "flickr:2", "flickr:3"])
            let second = try await json(gallery, "/api/photos?limit=3&offset=6")
            #expect(ids(second) == ["flickr:7", "flickr:8"])
            let byViews = try await json(gallery, "/api/photos?sort=views&order=desc")
            // 900, 120, 77, 50, 40, 15, 3, then the photo without a view count.
            #expect(
                ids(byViews) == [
                    "flickr:3", "flickr:1", "flickr:6", "flickr:8", "flickr:2", "flickr:4", "flickr:5", "flickr:7",
                ])
            let byScore = try await json(gallery, "/api/photos?sort=score.monkey&order=asc&limit=2")
            #expect(ids(byScore) == ["flickr:7", "flickr:2"])
            let one = try await json(gallery, "/api/photo?id=flickr:3")
            #expect(one["title"] as? String == "Scimmia at the zoo")
            #expect((one["place"] as? [String: Any])?["city"] as? String == "Napoli")
            let missing = await gallery.respond(to: GalleryRequest(target: "/api/photo?id=flickr:99"))
            #expect(missing.status == 404)
            let badSort = await gallery.respond(to: GalleryRequest(target: "/api/photos?sort=owner"))
            #expect(badSort.status == 400)
        }
    }

    @Test("filters combine: each added condition narrows the photos", arguments: StoreKind.allCases)
    func filtersCombine(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let gallery = try await fixture.gallery()
            let cases: [(String, [String])] = [
                ("cc=IT", ["flickr:1", "flickr:2", "flickr:3", "flickr:8"]),
                ("cc=IT&score.monkey=0.7", ["flickr:1", "flickr:3", "flickr:8"]),
                ("cc=IT&score.monkey=0.7&views_min=100", ["flickr:1", "flickr:3"]),
                ("cc=IT&score.monkey=0.7&views_min=100&license=4", ["flickr:1"]),
                ("cc=IT&cc=FR&views_max=40", ["flickr:2", "flickr:4", "flickr:5"]),
                ("geo=0", ["flickr:7"]),
                ("q=scimmia", ["flickr:2", "flickr:3"]),
                ("term=scimmia&place=napoli", ["flickr:3"]),
                ("taken_from=2023-05-01&taken_to=2023-06-15", ["flickr:1", "flickr:2", "flickr:8"]),
                ("bbox=0,44,13,49", ["flickr:2", "flickr:4", "flickr:5"]),
                ("status=loaded&width_min=1", ["flickr:1", "flickr:2", "flickr:3", "flickr:4", "flickr:8"]),
                ("status=failed", []),
                ("score.cat=0.5&q=brera", ["flickr:2"]),
            ]
            for (query, expected) in cases {
                let page = try await json(gallery, "/api/photos?\(query)")
                #expect(ids(page) == expected, "\(query)")
                #expect(page["total"] as? Int == expected.count, "\(query)")
                // The map shows the same photos (those with a position).
                let map = try await json(gallery, "/api/map?\(query)")
                let points = (map["points"] as? [[Any]] ?? []).compactMap { $0.first as? String }
                #expect(points == expected.filter { $0 != "flickr:7" }, "\(query)")
            }
            let bad = await gallery.respond(to: GalleryRequest(target: "/api/photos?views_min=lots"))
            #expect(bad.status == 400)
            #expect(bad.text.contains("views_min"))
        }
    }

    @Test("facet counts follow the filter, each facet ignoring its own choice", arguments: StoreKind.allCases)
    func facetCounts(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let gallery = try await fixture.gallery()
            func counts(_ body: [String: Any], _ facet: String) -> [String: Int] {
                let list = (body["facets"] as? [String: Any])?[facet] as? [[String: Any]] ?? []
                return Dictionary(
                    uniqueKeysWithValues: list.compactMap { item in
                        (item["value"] as? String).map { ($0, item["count"] as? Int ?? -1) }
                    })
            }
            let all = try await json(gallery, "/api/facets")
            #expect(all["total"] as? Int == 8)
            #expect(counts(all, "country") == ["IT": 4, "FR": 2, "DE": 1, "": 1])
            #expect(counts(all, "license") == ["4": 5, "9": 2, "0": 1])
            #expect(counts(all, "status") == ["loaded": 8])
            #expect(counts(all, "label") == ["monkey": 7, "cat": 2])
            let italy = try await json(gallery, "/api/facets?cc=IT&license=4")
            #expect(italy["total"] as? Int == 3)
            // The country facet leaves out cc=IT itself (still licence 4): other countries keep counts.
            #expect(counts(italy, "country") == ["IT": 3, "FR": 1, "": 1])
            // The licence facet leaves out license=4 (still Italy).
            #expect(counts(italy, "license") == ["4": 3, "9": 1])
            #expect(counts(italy, "term") == ["monkey wild": 3, "scimmia": 1])
            let one = try await json(gallery, "/api/facets?cc=IT&license=4&facet=license")
            #expect((one["facets"] as? [String: Any])?.keys.sorted() == ["license"])
            #expect(counts(one, "license") == ["4": 3, "9": 1])
        }
    }

    @Test("CSV and JSON lines downloads hold exactly the filtered photos", arguments: StoreKind.allCases)
    func downloads(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let gallery = try await fixture.gallery()
            let csv = await gallery.respond(to: GalleryRequest(target: "/api/export.csv?cc=IT&sort=views&order=desc"))
            #expect(csv.status == 200)
            #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
            let lines = csv.text.split(separator: "\r\n").map(String.init)
            let header = lines[0].split(separator: ",").map(String.init)
            #expect(header.first == "id")
            #expect(header.contains("score.monkey") && header.contains("score.cat"))
            #expect(!header.contains { $0.contains("owner") || $0.contains("sealed") || $0.contains("blind") })
            #expect(
                lines.dropFirst().map { String($0.prefix { $0 != "," }) } == [
                    "flickr:3", "flickr:1", "flickr:8", "flickr:2",
                ])
            let jsonl = await gallery.respond(to: GalleryRequest(target: "/api/export.jsonl?cc=FR"))
            #expect(jsonl.status == 200)
            let objects = try jsonl.text.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            #expect(objects.compactMap { $0["id"] as? String } == ["flickr:4", "flickr:5"])
        }
    }

    @Test(
        "no response carries an owner, owner name, path alias, sealed token or blind index",
        arguments: StoreKind.allCases)
    func nothingPersonalIsServed(kind: StoreKind) async throws {
        try await withFixture(kind) { fixture in
            let gallery = try await fixture.gallery()
            var targets = [
                "/", "/app.js", "/api/photos?limit=500", "/api/facets", "/api/map", "/api/export.csv",
                "/api/export.jsonl", "/api/photos?q=giulia", "/api/photos?sort=title",
            ]
            for photo in fixturePhotos {
                targets += ["/api/photo?id=\(photo.id)", "/thumb?id=\(photo.id)", "/large?id=\(photo.id)"]
            }
            var scanned = 0
            for target in targets {
                let response = await gallery.respond(to: GalleryRequest(target: target))
                let headers = response.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
                let bytes = Data(response.body + Array(headers.utf8))
                for value in fixture.forbidden {
                    #expect(bytes.range(of: Data(value.utf8)) == nil, "\(target) holds a loaded personal value")
                }
                scanned += response.body.count
            }
            #expect(scanned > 100_000)
            let photo = try await json(gallery, "/api/photo?id=flickr:1")
            #expect(photo["sealed"] == nil && photo["blind"] == nil && photo["seal"] == nil)
            #expect((photo["image"] as? [String: Any])?["path"] == nil)
        }
    }

    @Test("every response carries a Content-Security-Policy that allows this server only")
    func contentSecurityPolicy() async throws {
        try await withFixture(.embedded) { fixture in
            let gallery = try await fixture.gallery()
            for target in ["/", "/app.js", "/api/photos", "/thumb?id=flickr:1", "/nope", "/vendor/leaflet.js"] {
                let response = await gallery.respond(to: GalleryRequest(target: target))
                let policy = try #require(response.header("Content-Security-Policy"), "\(target)")
                #expect(policy.contains("default-src 'self'"))
                let sources = policy.split(separator: ";").flatMap { $0.split(separator: " ").dropFirst() }
                #expect(sources.allSatisfy { $0 == "'self'" || $0 == "'none'" }, "\(policy)")
                #expect(response.header("X-Content-Type-Options") == "nosniff")
            }
            let page = await gallery.respond(to: GalleryRequest(target: "/"))
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            // No inline script or style, no other origin: the page works under that policy.
            #expect(!page.text.contains("<script>") && !page.text.contains("style="))
            #expect(!page.text.contains("http://") && !page.text.contains("https://"))
        }
    }

    @Test("a gallery with a token refuses requests without it and accepts bearer, cookie or ?token=")
    func tokenRequired() async throws {
        try await withFixture(.embedded) { fixture in
            let token = "s3rve-token-\(UUID().uuidString)"
            let gallery = try await fixture.gallery(token: token)
            for target in ["/", "/api/photos", "/thumb?id=flickr:1", "/api/photos?token=wrong"] {
                let refused = await gallery.respond(to: GalleryRequest(target: target))
                #expect(refused.status == 401, "\(target)")
                #expect(!refused.text.contains(token))
            }
            let bearer = await gallery.respond(
                to: GalleryRequest(target: "/api/photos", headers: ["Authorization": "Bearer \(token)"]))
            #expect(bearer.status == 200)
            let wrongBearer = await gallery.respond(
                to: GalleryRequest(target: "/api/photos", headers: ["Authorization": "Bearer \(token)x"]))
            #expect(wrongBearer.status == 401)
            let first = await gallery.respond(to: GalleryRequest(target: "/?token=\(token)"))
            #expect(first.status == 200)
            let cookie = try #require(first.header("Set-Cookie"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let pair = String(cookie.prefix { $0 != ";" })
            let later = await gallery.respond(to: GalleryRequest(target: "/api/facets", headers: ["Cookie": pair]))
            #expect(later.status == 200)
        }
    }

    @Test("serving off loopback needs a token; loopback does not")
    func loopbackRule() async throws {
        try await withFixture(.embedded) { fixture in
            let open = try await fixture.gallery()
            #expect(throws: ServeError.self) { try GalleryServer(gallery: open, host: "0.0.0.0", port: 0) }
            #expect(throws: ServeError.self) { try GalleryServer(gallery: open, host: "192.0.2.10", port: 0) }
            _ = try GalleryServer(gallery: open, host: "127.0.0.1", port: 0)
            _ = try GalleryServer(gallery: open, host: "::1", port: 0)
            let guarded = try await fixture.gallery(token: "t0ken-\(UUID().uuidString)")
            _ = try GalleryServer(gallery: guarded, host: "0.0.0.0", port: 0)
            #expect(throws: ServeError.self) { try GalleryServer(gallery: open, host: "not-an-ip", port: 0) }
        }
    }

    @Test("the server answers over real HTTP on loopback with the page, API and headers")
    func realHTTP() async throws {
        try await withFixture(.embedded) { fixture in
            let gallery = try await fixture.gallery()
            let server = try GalleryServer(gallery: gallery, host: "127.0.0.1", port: 0)
            let task = Task { try await server.run() }
            defer { task.cancel() }
            let port = try await server.port()
            let client = try HTTPClient(logger: testLogger)
            defer { client.shutdown() }
            let page = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/"))
            #expect(page.status == 200)
            #expect(page.header("Content-Security-Policy")?.contains("default-src 'self'") == true)
            #expect(String(decoding: page.body, as: UTF8.self).contains("<title>photoseal gallery</title>"))
            // A browser's form encoding: + is a space.
            let search = try await client.send(
                HTTPRequest(url: "http://127.0.0.1:\(port)/api/photos?q=scimmia+at&cc=IT"))
            let body = try #require(try JSONSerialization.jsonObject(with: Data(search.body)) as? [String: Any])
            #expect(ids(body) == ["flickr:3"])
            let thumb = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/thumb?id=flickr%3A1"))
            #expect(thumb.status == 200)
            #expect(thumb.header("Content-Type") == "image/jpeg")
            await server.stop()
        }
    }

    @Test("documents added to the store while serving appear after the refresh interval")
    func refreshes() async throws {
        try await withFixture(.embedded) { fixture in
            var configuration = Gallery.Configuration()
            configuration.refreshInterval = 0
            let gallery = Gallery(
                store: fixture.store,
                thumbnails: Thumbnails(images: fixture.images, keyring: nil, cacheDirectory: nil),
                configuration: configuration, logger: testLogger)
            try await gallery.load()
            _ = try await fixture.store.upsert([["_id": "url:new", "source": "url", "title": "Late arrival"]])
            var total = 0
            for _ in 0..<100 where total != 9 {
                total = try await json(gallery, "/api/photos")["total"] as? Int ?? 0
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(total == 9)
        }
    }
}
