import Crypto
import Foundation
import Ingest
import Store
import Synchronization

extension Gallery {
    /// The Content-Security-Policy of every response: everything from this server only.
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// The cookie that carries the access token after `/?token=…`.
    static let tokenCookie = "photoseal_token"

    /// Answers one request: the access check, then the route.
    ///
    /// Routes (all `GET` but `POST /request`): `/request` (the request form, with
    /// ``RequestForm``), `/request/<id>` and `/api/job?id=` (a request's state and log), `/` (the page), `/app.js`, `/app.css`, `/vendor/…` (Leaflet),
    /// `/api/photos`, `/api/facets`, `/api/map`, `/api/photo?id=`, `/api/export.csv`,
    /// `/api/export.jsonl`, `/thumb?id=`, `/large?id=`, `/api/basemap` and
    /// `/tiles/{z}/{x}/{y}.{ext}` (with ``TileSet``). Every answer carries the
    /// Content-Security-Policy and no-sniff headers.
    public func respond(to request: GalleryRequest) async -> GalleryResponse {
        var response: GalleryResponse
        var setCookie: String?
        switch authorize(request) {
        case .denied:
            response = Self.error(
                401, "this gallery needs its access token: open /?token=<SERVE_TOKEN from the secrets file>")
        case .allowed(let cookie):
            setCookie = cookie
            if request.method == "POST" && request.path == "/request" {
                response = await form?.submit(request) ?? Self.error(404, "no request form here: see serve --form")
            } else if request.method != "GET" && request.method != "HEAD" {
                response = Self.error(405, "only GET is served (and POST /request)")
            } else {
                response = await route(request)
            }
        }
        if request.method == "HEAD" { response.body = [] }
        if let setCookie { response.headers.append(("Set-Cookie", setCookie)) }
        response.headers += [
            ("Content-Security-Policy", Self.contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
        ]
        return response
    }

    private func route(_ request: GalleryRequest) async -> GalleryResponse {
        let path = request.path
        if path == "/" || path == "/index.html" { return assets.page("index.html") }
        if path == "/app.js" || path == "/app.css" { return assets.page(String(path.dropFirst())) }
        if path == "/favicon.ico" { return GalleryResponse(status: 204) }
        if path == "/countries.geojson" { return assets.page("countries.geojson") }
        if path.hasPrefix("/vendor/") { return assets.vendor(String(path.dropFirst("/vendor/".count))) }
        if path == "/request" || path.hasPrefix("/request/") || path == "/api/job" {
            guard let form else {
                return RequestForm.text(
                    404, "the request form is off: start `photoseal serve --form s3://BUCKET/PREFIX` to take requests")
            }
            if path == "/request" { return form.page() }
            if path == "/api/job" { return await form.jobJSON(Self.value("id", request.query) ?? "") }
            return await form.jobPage(String(path.dropFirst("/request/".count)))
        }
        if path.hasPrefix("/tiles/") { return await tile(String(path.dropFirst("/tiles/".count))) }
        if path == "/api/basemap" { return basemap() }
        refreshIfDue()
        let rows = snapshot.withLock { $0 }
        do {
            switch path {
            case "/api/photos": return try photosPage(request.query, rows)
            case "/api/facets": return try facets(request.query, rows)
            case "/api/map": return try mapPoints(request.query, rows)
            case "/api/photo":
                guard let row = Self.row(request.query, rows) else { return Self.error(404, "no photo with this id") }
                return Self.json(try Self.encoder.encode(row.photo))
            case "/api/export.csv": return try exportCSV(request.query, rows)
            case "/api/export.jsonl": return try exportJSONLines(request.query, rows)
            case "/thumb", "/large":
                guard let row = Self.row(request.query, rows) else { return Self.error(404, "no photo with this id") }
                return await image(row, side: path == "/thumb" ? configuration.thumbnailSide : configuration.largeSide)
            default: return Self.error(404, "no such page: \(path)")
            }
        } catch let error as IngestError {
            return Self.error(400, error.message)
        } catch {
            return Self.error(500, "the answer could not be made")
        }
    }

    // MARK: Access

    enum Access {
        case allowed(setCookie: String?)
        case denied
    }

    /// With a token configured, the request must carry it: `Authorization: Bearer`, the
    /// cookie set by `/?token=`, or `?token=` itself (which then sets the cookie).
    func authorize(_ request: GalleryRequest) -> Access {
        guard let token = configuration.token else { return .allowed(setCookie: nil) }
        if let header = request.headers["authorization"], header.hasPrefix("Bearer "),
            Self.sameToken(String(header.dropFirst("Bearer ".count)), token)
        {
            return .allowed(setCookie: nil)
        }
        for part in (request.headers["cookie"] ?? "").split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix("\(Self.tokenCookie)="),
                Self.sameToken(String(pair.dropFirst(Self.tokenCookie.count + 1)), token)
            {
                return .allowed(setCookie: nil)
            }
        }
        if let given = request.query.first(where: { $0.name == "token" })?.value, Self.sameToken(given, token) {
            return .allowed(setCookie: "\(Self.tokenCookie)=\(token); HttpOnly; SameSite=Strict; Path=/")
        }
        return .denied
    }

    /// Compares two tokens in constant time: their SHA-256 digests, every byte, so neither
    /// the position of the first difference nor the length shows in the time taken.
    static func sameToken(_ given: String, _ expected: String) -> Bool {
        guard let a = try? SHA256Digest.hex(Array(given.utf8)), let b = try? SHA256Digest.hex(Array(expected.utf8))
        else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a.utf8, b.utf8) { difference |= x ^ y }
        return difference == 0 && a.utf8.count == b.utf8.count
    }

    // MARK: API

    /// `GET /api/photos?<filter>&sort=&order=&offset=&limit=`.
    func photosPage(_ query: [URLQueryItem], _ snapshot: Snapshot) throws -> GalleryResponse {
        let filter = try PhotoFilter(queryItems: query)
        let sort = try Sort(query)
        let offset = max(0, Int(Self.value("offset", query) ?? "") ?? 0)
        let limit = min(configuration.maxPageSize, max(1, Int(Self.value("limit", query) ?? "") ?? 60))
        let matched = sort.apply(Self.matching(filter, snapshot), snapshot)
        let page = matched.dropFirst(offset).prefix(limit).map { snapshot.rows[$0].photo }
        let body = PhotosPage(
            total: matched.count, offset: offset, limit: limit, sort: sort.key, order: sort.descending ? "desc" : "asc",
            filter: filter.queryString, photos: Array(page))
        return Self.json(try Self.encoder.encode(body))
    }

    struct PhotosPage: Encodable {
        var total: Int
        var offset: Int
        var limit: Int
        var sort: String
        var order: String
        var filter: String
        var photos: [GalleryPhoto]
    }

    /// `GET /api/facets?<filter>`: counts of each country, licence, status, search term and
    /// score label (photos with a score for it) among the matching photos (`facet=NAME`,
    /// repeatable, counts only those). Each facet is counted with its own condition
    /// left out, so the other values of a facet that is already chosen still show their counts.
    func facets(_ query: [URLQueryItem], _ snapshot: Snapshot) throws -> GalleryResponse {
        let filter = try PhotoFilter(queryItems: query)
        let index = snapshot.facets
        var facets: [(name: String, facet: FacetIndex.Facet, condition: PhotoFilter.Conditions)] = [
            ("country", index.country, .countries), ("license", index.license, .licenses),
            ("status", index.status, .statuses), ("term", index.term, .terms), ("label", index.label, .scores),
        ]
        // `facet=NAME` (repeatable) counts only those facets; none given: all of them.
        let asked = Set(query.filter { $0.name == "facet" }.compactMap(\.value))
        if !asked.isEmpty { facets.removeAll { !asked.contains($0.name) } }
        var counts = facets.map { [Int](repeating: 0, count: $0.facet.values.count) }
        let conditions = facets.map(\.condition)
        let numbers = facets.map(\.facet.rows)
        let rows = snapshot.rows
        var total = 0
        for row in rows.indices {
            let failed = filter.failing(rows[row].subject)
            if failed.isEmpty { total += 1 }
            // Each facet counts the photos that fail nothing but its own condition.
            for which in conditions.indices where failed.subtracting(conditions[which]).isEmpty {
                for number in numbers[which][row] { counts[which][Int(number)] += 1 }
            }
        }
        var lists: [String: [FacetValue]] = [:]
        for (which, facet) in facets.enumerated() {
            lists[facet.name] = counts[which].enumerated().compactMap { number, count in
                count == 0
                    ? nil
                    : FacetValue(value: facet.facet.values[number], label: facet.facet.labels[number], count: count)
            }.sorted(by: FacetValue.order)
        }
        return Self.json(try Self.encoder.encode(Facets(total: total, facets: lists)))
    }

    struct Facets: Encodable {
        var total: Int
        var facets: [String: [FacetValue]]
    }

    struct FacetValue: Encodable {
        var value: String
        var label: String?
        var count: Int

        /// Most frequent first, then by value.
        static func order(_ a: FacetValue, _ b: FacetValue) -> Bool {
            a.count != b.count ? a.count > b.count : a.value < b.value
        }
    }

    /// `GET /api/map?<filter>`: `{"total": n, "points": [["id", lat, lon], …]}` for the
    /// matching photos that have a position.
    func mapPoints(_ query: [URLQueryItem], _ snapshot: Snapshot) throws -> GalleryResponse {
        let filter = try PhotoFilter(queryItems: query)
        var text = "{\"points\":["
        var count = 0
        for index in Self.matching(filter, snapshot) {
            guard let position = snapshot.rows[index].subject.position else { continue }
            text += (count == 0 ? "" : ",") + "[" + StoreValue.string(snapshot.rows[index].photo.id).jsonText
            text += ",\(position.lat),\(position.lon)]"
            count += 1
        }
        text += "],\"total\":\(count)}"
        return Self.json(Array(text.utf8))
    }

    /// `GET /api/export.csv?<filter>&sort=&order=`: every matching photo, RFC 4180.
    func exportCSV(_ query: [URLQueryItem], _ snapshot: Snapshot) throws -> GalleryResponse {
        let filter = try PhotoFilter(queryItems: query)
        let matched = try Sort(query).apply(Self.matching(filter, snapshot), snapshot)
        var labels = Set<String>()
        for index in matched { labels.formUnion(snapshot.rows[index].subject.scores.keys) }
        let sortedLabels = labels.sorted()
        var text =
            (GalleryPhoto.csvColumns + sortedLabels.map { "score.\($0)" }).map(Self.csvField)
            .joined(separator: ",") + "\r\n"
        for index in matched {
            text +=
                snapshot.rows[index].photo.csvValues(labels: sortedLabels).map(Self.csvField)
                .joined(separator: ",") + "\r\n"
        }
        return GalleryResponse(
            status: 200,
            headers: [
                ("Content-Type", "text/csv; charset=utf-8"),
                ("Content-Disposition", "attachment; filename=\"photos.csv\""), ("Cache-Control", "no-store"),
            ], body: Array(text.utf8))
    }

    /// `GET /api/export.jsonl?<filter>&sort=&order=`: every matching photo, one JSON object
    /// (the shape of `/api/photo`) a line.
    func exportJSONLines(_ query: [URLQueryItem], _ snapshot: Snapshot) throws -> GalleryResponse {
        let filter = try PhotoFilter(queryItems: query)
        let encoder = Self.encoder
        var body: [UInt8] = []
        for index in try Sort(query).apply(Self.matching(filter, snapshot), snapshot) {
            body += try encoder.encode(snapshot.rows[index].photo)
            body.append(0x0A)
        }
        return GalleryResponse(
            status: 200,
            headers: [
                ("Content-Type", "application/x-ndjson"),
                ("Content-Disposition", "attachment; filename=\"photos.jsonl\""), ("Cache-Control", "no-store"),
            ], body: body)
    }

    /// `GET /thumb?id=` and `/large?id=`: a JPEG copy made for the view, never the stored file.
    func image(_ row: GalleryRow, side: Int) async -> GalleryResponse {
        guard let image = row.image else { return Self.error(404, "this photo has no JPEG image to show") }
        do {
            let bytes = try await thumbnails.jpeg(for: image, side: side)
            return GalleryResponse(
                status: 200,
                headers: [("Content-Type", "image/jpeg"), ("Cache-Control", "private, max-age=3600")], body: bytes)
        } catch {
            return Self.error(404, "this photo's image cannot be shown")
        }
    }

    // MARK: Helpers

    /// The indexes of the rows the filter keeps, in store (`_id`) order.
    static func matching(_ filter: PhotoFilter, _ snapshot: Snapshot) -> [Int] {
        if filter.isEmpty { return Array(snapshot.rows.indices) }
        var indexes: [Int] = []
        for (index, row) in snapshot.rows.enumerated() where filter.matches(row.subject) { indexes.append(index) }
        return indexes
    }

    static func value(_ name: String, _ query: [URLQueryItem]) -> String? {
        query.first { $0.name == name }?.value
    }

    static func row(_ query: [URLQueryItem], _ snapshot: Snapshot) -> GalleryRow? {
        guard let id = value("id", query), let index = snapshot.byID[id] else { return nil }
        return snapshot.rows[index]
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func json(_ body: some Sequence<UInt8>) -> GalleryResponse {
        GalleryResponse(
            status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
            body: Array(body))
    }

    static func error(_ status: Int, _ message: String) -> GalleryResponse {
        let body = "{\"error\":\(StoreValue.string(message).jsonText)}"
        return GalleryResponse(
            status: status, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
            body: Array(body.utf8))
    }

    /// An RFC 4180 field: quoted (quotes doubled) when it holds a comma, quote, CR or LF.
    static func csvField(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// `sort=KEY&order=asc|desc`: photos without a value for the key come last either way.
struct Sort {
    /// The keys the table can sort by (plus `score.<label>`).
    static let keys = [
        "id", "title", "taken_at", "uploaded_at", "views", "license", "status", "country", "city", "width",
    ]

    var key: String
    var descending: Bool

    init(_ query: [URLQueryItem]) throws {
        key = Gallery.value("sort", query).flatMap { $0.isEmpty ? nil : $0 } ?? "id"
        guard Self.keys.contains(key) || key.hasPrefix("score.") else {
            throw IngestError(
                .configuration,
                "sort=\(key) is not a sort key; use one of \(Self.keys.joined(separator: ", ")) or score.<label>")
        }
        descending = Gallery.value("order", query) == "desc"
    }

    /// The indexes in this order (ties by `_id`, which is the store order).
    func apply(_ indexes: [Int], _ snapshot: Gallery.Snapshot) -> [Int] {
        if key == "id" { return descending ? indexes.reversed() : indexes }
        let rows = snapshot.rows
        func ordered<T: Comparable>(_ value: (GalleryRow) -> T?) -> [Int] {
            let keyed = indexes.map { ($0, value(rows[$0])) }
            return keyed.sorted { a, b in
                switch (a.1, b.1) {
                case (let x?, let y?): x == y ? a.0 < b.0 : (descending ? x > y : x < y)
                case (nil, nil): a.0 < b.0
                case (nil, _): false
                case (_, nil): true
                }
            }.map(\.0)
        }
        switch key {
        case "title": return ordered { $0.photo.title.isEmpty ? nil : $0.photo.title.lowercased() }
        case "taken_at": return ordered { $0.subject.takenAt }
        case "uploaded_at": return ordered { $0.photo.uploadedAt }
        case "views": return ordered { $0.subject.views }
        case "license": return ordered { $0.subject.license }
        case "status": return ordered { $0.subject.status }
        case "country": return ordered { $0.subject.cc }
        case "city": return ordered { $0.photo.place?.city }
        case "width": return ordered { $0.subject.width }
        default:
            let label = PhotoFilter.normalizedLabel(key.dropFirst("score.".count))
            return ordered { $0.subject.scores[label] }
        }
    }
}
