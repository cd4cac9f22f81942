import Foundation
import HTTP
import Logging
import Retry
import TestSupport
import Testing

@testable import Ingest

/// `import https://…`: a page and feeds served by a local HTTP server, read through the HTTP
/// engine and libxml2.
@Suite("Web page and feed source")
struct WebSourceTests {
    /// A folder of pages and feeds served on loopback.
    final class Site: @unchecked Sendable {
        let dir: URL
        let server: PythonFixtureServer
        var base: String { server.base }

        init(_ files: [String: String]) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-web-\(UUID().uuidString)")
            for (path, text) in files {
                let url = dir.appendingPathComponent(path)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
            server = try PythonFixtureServer(script: "static_server", ["--dir", dir.path])
        }

        func stop() {
            server.stop()
            try? FileManager.default.removeItem(at: dir)
        }
    }

    static func items(_ url: String) async throws -> [String] {
        let http = try HTTPClient(logger: Logger(label: "test"))
        defer { http.shutdown() }
        let source = WebSource(
            url: url, http: http, retry: RetryPolicy(maxAttempts: 2, baseDelay: 0.05), logger: Logger(label: "test"))
        var urls: [String] = []
        try await source.forEachItem { item in
            if case .url(let found) = item.content { urls.append(found) }
        }
        return urls
    }

    static let page = """
        <!doctype html><html><head>
        <meta property="og:image" content="https://cdn.example.org/og.jpg">
        <link rel="image_src" href="/img/linked.jpg">
        <title>gallery</title></head><body>
        <img src="a.jpg">
        <img src="small.jpg" srcset="small.jpg 320w, large.jpg 1600w, medium.jpg 800w" alt="x">
        <picture><source srcset="pic-1x.webp 1x, pic-2x.webp 2x"><img src="pic.jpg"></picture>
        <img src="broken-404.jpg">
        <img src="data:image/png;base64,AAAA">
        <a href="photos/full.JPG?size=o">full size</a>
        <a href="notes.html">not an image</a>
        <a href="ftp://example.org/x.jpg">ftp</a>
        <a href="javascript:alert(1)">js</a>
        <a href="//other.example.org/proto.png">protocol-relative</a>
        <img src="a.jpg">
        <p>unclosed <b>markup <div><img src=" spaced.gif ">
        </body></html>
        """

    @Test(
        "a page gives img src, the largest srcset candidate, og:image, image links; relative URLs resolved, once each")
    func pageImages() async throws {
        let site = try Site(["gallery/index.html": Self.page])
        defer { site.stop() }
        let urls = try await Self.items(site.base + "/gallery/index.html")
        let here = site.base + "/gallery/"
        #expect(
            urls == [
                "https://cdn.example.org/og.jpg", site.base + "/img/linked.jpg", here + "a.jpg", here + "large.jpg",
                here + "pic-2x.webp", here + "pic.jpg", here + "broken-404.jpg", here + "photos/full.JPG?size=o",
                "http://other.example.org/proto.png", here + "spaced.gif",
            ])
    }

    @Test("relative links resolve against the page's final address after a redirect (/gallery → /gallery/)")
    func redirectedPage() async throws {
        let site = try Site(["gallery/index.html": #"<html><body><img src="a.jpg"><img src="../b.png"></body></html>"#])
        defer { site.stop() }
        // The server answers /gallery with a 301 to /gallery/, as web servers do for folders.
        #expect(try await Self.items(site.base + "/gallery") == [site.base + "/gallery/a.jpg", site.base + "/b.png"])
    }

    @Test("a base href changes what relative image URLs resolve against")
    func baseHref() async throws {
        let site = try Site([
            "p.html":
                #"<html><head><base href="https://static.example.net/assets/"></head><body><img src="x.png"></body></html>"#
        ])
        defer { site.stop() }
        #expect(try await Self.items(site.base + "/p.html") == ["https://static.example.net/assets/x.png"])
    }

    static let rss = """
        <?xml version="1.0" encoding="UTF-8"?>
        <rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
        <channel><title>photos</title><link>http://example.org/</link>
        <item><title>one</title><enclosure url="https://example.org/e1.jpg" length="10" type="image/jpeg"/></item>
        <item><title>two</title><enclosure url="/audio/a.mp3" length="10" type="audio/mpeg"/>
          <media:content url="m2.jpg" medium="image"/><media:content url="v.mp4" medium="video"/></item>
        <item><title>three</title><media:group><media:content url="https://cdn.example.org/m3.png" type="image/png"/>
          <media:thumbnail url="https://cdn.example.org/t3.jpg"/></media:group></item>
        </channel></rss>
        """

    static let atom = """
        <?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
        <title>photos</title><id>urn:x</id>
        <entry><title>one</title><link rel="alternate" href="https://example.org/post1"/>
          <link rel="enclosure" type="image/jpeg" href="https://example.org/a1.jpg"/></entry>
        <entry><title>two</title><link rel="enclosure" type="application/pdf" href="https://example.org/doc.pdf"/>
          <media:content url="https://example.org/a2.webp" type="image/webp"/></entry>
        </feed>
        """

    @Test(
        "an RSS feed gives image enclosures, media:content images and thumbnails; audio and video are left out",
        arguments: ["feeds/photos.rss", "feeds/photos.xml"])
    func rssFeed(path: String) async throws {
        let site = try Site([path: Self.rss])
        defer { site.stop() }
        #expect(
            try await Self.items(site.base + "/" + path) == [
                "https://example.org/e1.jpg", site.base + "/feeds/m2.jpg", "https://cdn.example.org/m3.png",
                "https://cdn.example.org/t3.jpg",
            ])
    }

    @Test("an Atom feed gives image enclosure links and media:content; other links are left out")
    func atomFeed() async throws {
        let site = try Site(["photos.atom": Self.atom])
        defer { site.stop() }
        #expect(
            try await Self.items(site.base + "/photos.atom") == [
                "https://example.org/a1.jpg", "https://example.org/a2.webp",
            ])
    }

    @Test("an image address is one item; a missing page is one clear error naming the host and status")
    func imageAndMissing() async throws {
        let site = try Site(["one.jpg": "\u{FF}\u{D8}\u{FF}"])
        defer { site.stop() }
        #expect(try await Self.items(site.base + "/one.jpg") == [site.base + "/one.jpg"])
        let error = await #expect(throws: IngestError.self) { try await Self.items(site.base + "/nothing/here.html") }
        #expect(error?.code == .source)
        #expect(error?.message.contains("answered 404") == true)
        #expect(error?.message.contains("nothing/here") == false)
        await #expect(throws: IngestError.self) { try await Self.items("ftp://example.org/feed.rss") }
    }
}
