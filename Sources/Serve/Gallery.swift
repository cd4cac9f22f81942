public import Foundation
import Ingest
public import Logging
public import Store
import Synchronization

/// The gallery of one store: its photos' public fields in memory, the JSON API, the page and
/// its assets, thumbnails, and the access rule. Independent of the HTTP server library:
/// ``GalleryServer`` hands it each request.
///
/// The store is only read: every document is read once (a batch at a time) into rows holding
/// the public fields, the filter's view of them and where the image is; sealed fields, blind
/// indexes and the image path never leave the server. A running pipeline may add documents
/// meanwhile: the gallery checks the store's count at most every `refreshInterval` and reads
/// it again when the count changed (and at least every `fullRefreshInterval`).
public final class Gallery: Sendable {
    /// How the gallery behaves.
    public struct Configuration: Sendable {
        /// The long side of thumbnails in pixels. Default 320.
        public var thumbnailSide = 320
        /// The long side of the photo view's image in pixels. Default 1600.
        public var largeSide = 1600
        /// The most photos one `/api/photos` page holds. Default 500.
        public var maxPageSize = 500
        /// Seconds between checks of the store's document count. Default 5.
        public var refreshInterval: Double = 5
        /// Seconds after which the store is read again even with an unchanged count (documents
        /// changed in place, e.g. re-scored). Default 600: a full read of 100,000 documents
        /// costs seconds of CPU.
        public var fullRefreshInterval: Double = 600
        /// The access token every request must carry (`nil`: none needed, loopback only).
        public var token: String?
        /// Where the Leaflet files are read from. Default `/usr/share/javascript`.
        public var javascriptDirectory = "/usr/share/javascript"
        /// Makes the defaults.
        public init() {}
    }

    let store: any DocumentStore
    let thumbnails: Thumbnails
    let configuration: Configuration
    let logger: Logger
    let snapshot = Mutex(Snapshot.empty)
    let refreshing = Mutex(false)
    let assets: Assets
    let form: RequestForm?
    let tiles: TileSet?

    /// Makes a gallery over a store; call ``load()`` before serving.
    ///
    /// - Parameters:
    ///   - store: The document store, only read.
    ///   - thumbnails: Makes the thumbnails and large views.
    ///   - configuration: Sizes, refresh and the access token.
    ///   - form: The request form (`/request`), or `nil` to serve none.
    ///   - tiles: The map's raster basemap (`/tiles/…`), or `nil` for outlines only.
    ///   - logger: Where refresh failures are logged (no document content).
    public init(
        store: any DocumentStore, thumbnails: Thumbnails, configuration: Configuration = Configuration(),
        form: RequestForm? = nil, tiles: TileSet? = nil, logger: Logger
    ) {
        self.form = form
        self.tiles = tiles
        self.store = store
        self.thumbnails = thumbnails
        self.configuration = configuration
        self.logger = logger
        self.assets = Assets(javascriptDirectory: configuration.javascriptDirectory)
    }

    /// Reads every document of the store into memory.
    ///
    /// - Returns: How many photos the gallery shows.
    /// - Throws: ``StoreError`` when the store cannot be read.
    @discardableResult
    public func load() async throws -> Int {
        let count = try await store.count()
        var rows: [GalleryRow] = []
        rows.reserveCapacity(count)
        for try await batch in store.allDocuments(batchSize: 1000) {
            for document in batch {
                if let row = GalleryRow(document) { rows.append(row) }
            }
        }
        let loaded = Snapshot(rows: rows, storeCount: count)
        snapshot.withLock { $0 = loaded }
        return rows.count
    }

    /// The Leaflet files under the JavaScript folder that are missing (empty: the map works).
    public func missingMapFiles() -> [String] { assets.missingVendorFiles() }

    /// The photos in memory now.
    public var photoCount: Int { snapshot.withLock { $0.rows.count } }

    /// Starts a re-read of the store in the background when one is due (see the type's notes).
    func refreshIfDue() {
        let current = snapshot.withLock { $0 }
        let age = Date().timeIntervalSince(current.checkedAt)
        guard age >= configuration.refreshInterval else { return }
        let start = refreshing.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard start else { return }
        Task {
            defer { refreshing.withLock { $0 = false } }
            do {
                let count = try await store.count()
                if count != current.storeCount
                    || Date().timeIntervalSince(current.loadedAt) >= configuration.fullRefreshInterval
                {
                    try await load()
                } else {
                    snapshot.withLock { $0.checkedAt = Date() }
                }
            } catch {
                logger.warning("serve: reading the store again failed", metadata: ["store": "\(store.location)"])
                snapshot.withLock { $0.checkedAt = Date() }
            }
        }
    }

    /// The rows read from the store at one time, with an index by id.
    struct Snapshot: Sendable {
        var rows: [GalleryRow]
        var byID: [String: Int]
        /// Each facet's values, numbered, and every row's numbers: counting a facet then adds
        /// into an array instead of hashing strings (100,000 rows a request).
        var facets: FacetIndex
        var storeCount: Int
        var loadedAt: Date
        var checkedAt: Date

        init(rows: [GalleryRow], storeCount: Int) {
            self.rows = rows
            var byID: [String: Int] = [:]
            byID.reserveCapacity(rows.count)
            for (index, row) in rows.enumerated() { byID[row.photo.id] = index }
            self.byID = byID
            self.facets = FacetIndex(rows)
            self.storeCount = storeCount
            loadedAt = Date()
            checkedAt = loadedAt
        }

        static var empty: Snapshot {
            var snapshot = Snapshot(rows: [], storeCount: -1)
            snapshot.checkedAt = .distantPast
            return snapshot
        }
    }
}

/// The values of the counted facets, numbered, and each row's numbers.
struct FacetIndex: Sendable {
    /// One facet: its distinct values and, for every row, the numbers of the values it has.
    struct Facet: Sendable {
        var values: [String] = []
        var labels: [String?] = []
        var rows: [[Int32]] = []
        private var numbers: [String: Int32] = [:]

        mutating func add(_ rowValues: some Sequence<String>, label: (String) -> String? = { _ in nil }) {
            var numbered: [Int32] = []
            for value in rowValues {
                let number: Int32
                if let known = numbers[value] {
                    number = known
                } else {
                    number = Int32(values.count)
                    numbers[value] = number
                    values.append(value)
                    labels.append(label(value))
                }
                if !numbered.contains(number) { numbered.append(number) }
            }
            rows.append(numbered)
        }
    }

    var country = Facet()
    var license = Facet()
    var status = Facet()
    var term = Facet()
    var label = Facet()

    init(_ rows: [GalleryRow]) {
        for row in rows {
            let subject = row.subject
            country.add([subject.cc ?? ""], label: { _ in row.photo.place?.country })
            license.add([subject.license ?? ""])
            status.add([subject.status])
            term.add(subject.terms)
            label.add(subject.scores.keys.sorted())
        }
    }
}

/// One HTTP request as the gallery reads it.
public struct GalleryRequest: Sendable {
    /// `GET`, `HEAD`, ….
    public var method: String
    /// The path, percent-decoded (`/api/photos`).
    public var path: String
    /// The query items, decoded.
    public var query: [URLQueryItem]
    /// Header fields, names lowercased.
    public var headers: [String: String]
    /// The body (read for `POST` only).
    public var body: [UInt8]

    /// Makes a request.
    public init(
        method: String, path: String, query: [URLQueryItem], headers: [String: String], body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// Decodes a query string as a browser's form encoding writes it (`+` is a space, then
    /// percent escapes), which `URLComponents` alone does not.
    public static func queryItems(_ query: String) -> [URLQueryItem] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return URLQueryItem(name: decode(parts[0]), value: parts.count > 1 ? decode(parts[1]) : nil)
        }
    }

    /// Makes a request from a target such as `/api/photos?cc=FR` (tests, adapters).
    public init(method: String = "GET", target: String, headers: [String: String] = [:], body: [UInt8] = []) {
        let parts = target.split(separator: "?", maxSplits: 1)
        let path = parts.first.map { String($0).removingPercentEncoding ?? String($0) } ?? "/"
        self.init(
            method: method, path: path, query: parts.count > 1 ? Self.queryItems(String(parts[1])) : [],
            headers: Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { $1 }), body: body)
    }
}

/// One HTTP response from the gallery.
public struct GalleryResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields in order.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]

    /// Makes a response.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of a header (name compared case-insensitively).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
