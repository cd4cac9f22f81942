private import CXML2
import Foundation
public import HTTP
public import Logging
public import Retry

/// A web page, an RSS or Atom feed, or an image, at an http(s) URL: the image URLs it links to,
/// queued for the download stage like a URL list's rows.
///
/// A page gives the images of `img` (`src`, or the largest `srcset` candidate), `picture`
/// `source` `srcset`, `og:image` / `twitter:image` meta tags, `link rel=image_src`, and links
/// (`a href`) to image files; a feed gives its items' enclosures, `media:content` and
/// `media:thumbnail` images and Atom `link rel=enclosure` images. Relative URLs are resolved
/// against the page (or its `base href`); only http(s) URLs are kept, each once, in document
/// order. Parsed with libxml2's HTML parser (recovering from broken markup) and its XML parser
/// (no network access, no entity expansion).
public struct WebSource: PhotoSource {
    /// The page or feed.
    public let url: String
    let http: HTTPClient
    let retry: RetryPolicy
    let logger: Logger

    /// A source for the page or feed at `url`.
    public init(url: String, http: HTTPClient, retry: RetryPolicy = RetryPolicy(), logger: Logger) {
        self.url = url
        self.http = http
        self.retry = retry
        self.logger = logger
    }

    /// Whether an import argument is a web address.
    public static func isWeb(_ argument: String) -> Bool {
        let lower = argument.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// `web page <host:port>` (the path may name a person; the host does not).
    public var description: String { "web page at \(HTTPEndpoint.hostPort(url))" }

    /// Fetches the page and calls `body` with each image URL found.
    /// - Throws: `IngestError.source` when the page cannot be fetched (naming its host and the
    ///   status) or the address is not http(s).
    public func forEachItem(_ body: (SourceItem) async throws -> Void) async throws {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", parsed.host != nil
        else {
            throw IngestError(.source, "\(url) is not an http(s) address; give a web page or feed URL")
        }
        let response = try await fetch()
        let type = (response.header("Content-Type") ?? "").lowercased()
        let urls: [String]
        if type.hasPrefix("image/") {
            urls = [url]
        } else {
            // Relative links resolve against the page's final address, after redirects.
            urls = WebImageLinks.find(in: response.body, contentType: type, base: response.effectiveURL ?? url)
        }
        for (index, found) in urls.enumerated() {
            try await body(SourceItem(content: .url(found), label: "image \(index + 1) of \(urls.count) on the page"))
        }
    }

    private func fetch() async throws -> HTTPResponse {
        let site = HTTPEndpoint.hostPort(url)
        let url = self.url
        do {
            return try await withRetries(
                policy: retry, classify: { ($0 as? IngestError)?.retryClass ?? .permanent }
            ) { _ in
                let response = try await http.exchange(
                    HTTPRequest(
                        url: url,
                        headers: [
                            (
                                "Accept",
                                "text/html, application/xhtml+xml, application/rss+xml, "
                                    + "application/atom+xml, application/xml;q=0.9, image/*;q=0.8, */*;q=0.5"
                            )
                        ],
                        followRedirects: true, maxBodyBytes: 32 << 20, timeout: 120))
                if response.status == 200 { return response }
                throw IngestError(
                    response.status >= 500 || response.status == 429 ? .httpStatus : .source,
                    "the web page at \(site) answered \(response.status); check the address",
                    httpStatus: response.status, retryAfter: response.retryAfter())
            }
        } catch let error as IngestError {
            if error.code == .source || error.code == .cancelled { throw error }
            throw IngestError(.source, "cannot fetch the web page at \(site): \(error.message)")
        } catch is CancellationError {
            throw IngestError(.cancelled, "fetching the web page at \(site) was cancelled")
        }
    }
}

/// Finds image URLs in HTML pages and RSS/Atom feeds with libxml2.
package enum WebImageLinks {
    /// File name endings of links taken as images.
    static let imageExtensions: Set<String> = [
        "jpg", "jpeg", "png", "gif", "webp", "tif", "tiff", "heic", "heif", "avif", "bmp",
    ]

    /// The image URLs of a page or feed, absolute, http(s) only, each once, in document order.
    package static func find(in body: [UInt8], contentType: String, base: String) -> [String] {
        guard !body.isEmpty else { return [] }
        var found = Collector(base: base)
        let looksXML =
            contentType.contains("xml") || contentType.contains("rss") || contentType.contains("atom")
            || startsLikeFeed(body)
        if looksXML, let doc = parseXML(body, base: base) {
            defer { xmlFreeDoc(doc) }
            if let root = xmlDocGetRootElement(doc), ["rss", "feed", "RDF"].contains(name(root)) {
                walkFeed(root, into: &found)
                return found.urls
            }
        }
        guard let doc = parseHTML(body, base: base) else { return [] }
        defer { xmlFreeDoc(doc) }
        if let root = xmlDocGetRootElement(doc) {
            // `<base href>` changes what relative links resolve against.
            if let baseHref = firstBase(root) { found.base = resolve(baseHref, against: base) ?? base }
            walkHTML(root, into: &found)
        }
        return found.urls
    }

    struct Collector {
        var base: String
        var urls: [String] = []
        var seen: Set<String> = []

        mutating func add(_ reference: String?) {
            guard let reference, let absolute = WebImageLinks.resolve(reference, against: base) else { return }
            if seen.insert(absolute).inserted { urls.append(absolute) }
        }
    }

    /// `reference` resolved against `base`; `nil` unless the result is an http(s) URL.
    static func resolve(_ reference: String, against base: String) -> String? {
        let trimmed = reference.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, let url = URL(string: trimmed, relativeTo: URL(string: base))?.absoluteURL,
            let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
        else { return nil }
        return url.absoluteString
    }

    /// The largest candidate of a `srcset` (by its `w` or `x` descriptor; the first when none).
    static func largest(srcset: String) -> String? {
        var best: (url: String, size: Double)?
        for candidate in srcset.split(separator: ",") {
            let parts = candidate.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
            guard let first = parts.first else { continue }
            var size = 1.0
            if parts.count > 1, let last = parts.last, let number = Double(last.dropLast()) {
                size = number
            }
            if best == nil || size > best!.size { best = (String(first), size) }
        }
        return best?.url
    }

    static func isImageLink(_ href: String) -> Bool {
        let path = href.split(separator: "#").first.map { $0.split(separator: "?").first ?? $0 } ?? ""
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return false }
        return imageExtensions.contains(path[path.index(after: dot)...].lowercased())
    }

    // MARK: HTML

    fileprivate static func walkHTML(_ node: UnsafeMutablePointer<xmlNode>, into found: inout Collector) {
        var current: UnsafeMutablePointer<xmlNode>? = node
        while let element = current {
            if element.pointee.type == XML_ELEMENT_NODE {
                switch name(element).lowercased() {
                case "img":
                    found.add(attribute(element, "srcset").flatMap(largest(srcset:)) ?? attribute(element, "src"))
                case "source":
                    found.add(attribute(element, "srcset").flatMap(largest(srcset:)))
                case "meta":
                    let key = (attribute(element, "property") ?? attribute(element, "name") ?? "").lowercased()
                    if ["og:image", "og:image:url", "og:image:secure_url", "twitter:image"].contains(key) {
                        found.add(attribute(element, "content"))
                    }
                case "link":
                    if attribute(element, "rel")?.lowercased() == "image_src" { found.add(attribute(element, "href")) }
                case "a":
                    if let href = attribute(element, "href"), isImageLink(href) { found.add(href) }
                default:
                    break
                }
                if let child = element.pointee.children { walkHTML(child, into: &found) }
            }
            current = element.pointee.next
        }
    }

    fileprivate static func firstBase(_ node: UnsafeMutablePointer<xmlNode>) -> String? {
        var current: UnsafeMutablePointer<xmlNode>? = node
        while let element = current {
            if element.pointee.type == XML_ELEMENT_NODE {
                if name(element).lowercased() == "base", let href = attribute(element, "href") { return href }
                if let child = element.pointee.children, let href = firstBase(child) { return href }
            }
            current = element.pointee.next
        }
        return nil
    }

    // MARK: Feeds

    static let mediaNamespace = "http://search.yahoo.com/mrss/"

    fileprivate static func walkFeed(_ node: UnsafeMutablePointer<xmlNode>, into found: inout Collector) {
        var current: UnsafeMutablePointer<xmlNode>? = node
        while let element = current {
            if element.pointee.type == XML_ELEMENT_NODE {
                let local = name(element)
                let namespace = element.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } } ?? ""
                let type = attribute(element, "type")?.lowercased() ?? ""
                if namespace == mediaNamespace, local == "content" {
                    let medium = attribute(element, "medium")?.lowercased()
                    if medium == "image" || type.hasPrefix("image/")
                        || (medium == nil && type.isEmpty && attribute(element, "url").map(isImageLink) == true)
                    {
                        found.add(attribute(element, "url"))
                    }
                } else if namespace == mediaNamespace, local == "thumbnail" {
                    found.add(attribute(element, "url"))
                } else if local == "enclosure",
                    type.hasPrefix("image/") || (type.isEmpty && attribute(element, "url").map(isImageLink) == true)
                {
                    found.add(attribute(element, "url"))
                } else if local == "link", attribute(element, "rel") == "enclosure", type.hasPrefix("image/") {
                    found.add(attribute(element, "href"))
                }
                if let child = element.pointee.children { walkFeed(child, into: &found) }
            }
            current = element.pointee.next
        }
    }

    // MARK: libxml2

    static func startsLikeFeed(_ body: [UInt8]) -> Bool {
        let head = String(decoding: body.prefix(512), as: UTF8.self).lowercased()
        return head.contains("<rss") || head.contains("<feed") || head.contains("<rdf:rdf")
    }

    fileprivate static func parseXML(_ body: [UInt8], base: String) -> xmlDocPtr? {
        // No network, no entity substitution, no DTD loading: a feed cannot make libxml2 read
        // files or URLs. Errors are not printed (RECOVER keeps what parses).
        let options = Int32(
            XML_PARSE_NONET.rawValue | XML_PARSE_RECOVER.rawValue | XML_PARSE_NOERROR.rawValue
                | XML_PARSE_NOWARNING.rawValue)
        return body.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), base, nil, options)
            }
        }
    }

    fileprivate static func parseHTML(_ body: [UInt8], base: String) -> htmlDocPtr? {
        let options = Int32(
            HTML_PARSE_NONET.rawValue | HTML_PARSE_RECOVER.rawValue | HTML_PARSE_NOERROR.rawValue
                | HTML_PARSE_NOWARNING.rawValue)
        return body.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                htmlReadMemory($0, Int32(buffer.count), base, nil, options)
            }
        }
    }

    fileprivate static func name(_ node: UnsafeMutablePointer<xmlNode>) -> String {
        node.pointee.name.map { String(cString: $0) } ?? ""
    }

    fileprivate static func attribute(_ node: UnsafeMutablePointer<xmlNode>, _ name: String) -> String? {
        guard let value = xmlGetProp(node, name) else { return nil }
        defer { ps_xml_free(value) }
        return String(cString: value)
    }
}
