public import Foundation
public import Store

/// Which photos a view or an export keeps: every condition that is set must hold.
///
/// One filter drives `photoseal serve` (grid, table, map, counts) and `photoseal export`. It
/// reads only public fields (never a sealed one or a blind index) and round-trips through URL
/// query items, so a filtered gallery view can be bookmarked:
///
/// | item | meaning |
/// |---|---|
/// | `q=TEXT` | TEXT (case-insensitive) appears in the title, description, tags, terms or place |
/// | `term=T` (repeatable) | one of the search terms that found the photo is T (case-insensitive) |
/// | `cc=FR` (repeatable) | the place's ISO country code is one of these |
/// | `place=TEXT` | TEXT appears in the place's region (admin1, admin2) or city |
/// | `views_min=N`, `views_max=N` | the view count is in range (a photo without one fails) |
/// | `taken_from=YYYY-MM-DD`, `taken_to=YYYY-MM-DD` | taken on or between those days (UTC) |
/// | `license=L` (repeatable) | the licence id is one of these |
/// | `score.LABEL=S` (repeatable) | `scores[LABEL] >= S`; a photo without that label fails |
/// | `geo=1` or `geo=0` | has a position, or has none |
/// | `status=S` (repeatable) | the ledger status (a stored document is `loaded`) is one of these |
/// | `width_min=N` | the image is at least N pixels wide |
/// | `bbox=W,S,E,N` | the position is inside the box (degrees; W > E crosses the antimeridian) |
public struct PhotoFilter: Sendable, Equatable {
    /// Free text searched in the title, description, tags, terms and place.
    public var text: String?
    /// Search terms (lowercased); the photo must have one of them.
    public var terms: [String] = []
    /// ISO country codes (uppercased); the photo's `place.cc` must be one of them.
    public var countries: [String] = []
    /// Text searched in the place's admin1, admin2 and city.
    public var place: String?
    /// The least view count.
    public var minViews: Int?
    /// The greatest view count.
    public var maxViews: Int?
    /// The first day (UTC midnight) the photo may have been taken.
    public var takenFrom: Date?
    /// The last day (up to its end, UTC) the photo may have been taken.
    public var takenTo: Date?
    /// Licence ids; the photo's licence must be one of them.
    public var licenses: [String] = []
    /// Minimum scores per label (labels lowercased, spaces collapsed), all required.
    public var minScores: [MinScore] = []
    /// `true`: only photos with a position; `false`: only photos without one.
    public var hasPosition: Bool?
    /// Statuses (ledger stage names); the photo's must be one of them.
    public var statuses: [String] = []
    /// The least image width in pixels.
    public var minWidth: Int?
    /// The box the position must be inside.
    public var bbox: Box?

    /// A minimum score for one label.
    public struct MinScore: Sendable, Equatable {
        /// The label as the score stage stores it.
        public var label: String
        /// The least score, 0…1.
        public var min: Double
        /// Makes a condition; the label is normalised (lowercased, spaces collapsed).
        public init(label: String, min: Double) {
            self.label = PhotoFilter.normalizedLabel(label)
            self.min = min
        }
    }

    /// A box in degrees; `west > east` crosses the antimeridian.
    public struct Box: Sendable, Equatable {
        /// Western longitude.
        public var west: Double
        /// Southern latitude.
        public var south: Double
        /// Eastern longitude.
        public var east: Double
        /// Northern latitude.
        public var north: Double
        /// Makes a box.
        public init(west: Double, south: Double, east: Double, north: Double) {
            self.west = west
            self.south = south
            self.east = east
            self.north = north
        }

        /// Whether the point is inside (edges included).
        public func contains(lat: Double, lon: Double) -> Bool {
            guard lat >= south, lat <= north else { return false }
            return west <= east ? (lon >= west && lon <= east) : (lon >= west || lon <= east)
        }
    }

    /// A filter that keeps everything.
    public init() {}

    /// Whether no condition is set.
    public var isEmpty: Bool { self == PhotoFilter() }

    /// A label as the score stage stores it: lowercased, runs of white space made one space.
    public static func normalizedLabel(_ label: some StringProtocol) -> String {
        label.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    // MARK: Matching

    /// The public fields a filter reads, gathered once per photo (a server keeps one per row
    /// and filters them many times). A class: passing one to the filter costs one reference,
    /// not a copy of every field (which counted on 100,000 rows a request).
    public final class Subject: Sendable {
        /// Lowercased title, description, tags, terms and place, one per line.
        public let searchText: String
        /// Lowercased search terms.
        public let terms: [String]
        /// The country code, uppercased.
        public let cc: String?
        /// Lowercased admin1, admin2 and city, one per line.
        public let placeText: String
        /// The view count.
        public let views: Int?
        /// The licence id.
        public let license: String?
        /// When the photo was taken.
        public let takenAt: Date?
        /// The label scores.
        public let scores: [String: Double]
        /// The position, when valid.
        public let position: (lat: Double, lon: Double)?
        /// The scores as a list: a photo has few labels, and comparing short strings is cheaper
        /// than hashing one (filters run on every row of a gallery).
        private let scoreList: [(label: String, score: Double)]

        /// The score for a label, if the photo has one.
        public func score(_ label: String) -> Double? {
            for entry in scoreList where entry.label == label { return entry.score }
            return nil
        }

        /// The ledger status (`loaded` for a stored document without one).
        public let status: String
        /// The image width.
        public let width: Int?

        /// Gathers the fields of a ledger document.
        public convenience init(_ document: PhotoDocument, status: String) {
            let place = document.place
            self.init(
                title: document.title, description: document.description, tags: document.tags, terms: document.terms,
                cc: place?.cc, admin1: place?.admin1, admin2: place?.admin2, city: place?.city, views: document.views,
                license: document.license, takenAt: document.takenAt.flatMap(DocumentDates.parse),
                scores: document.scores ?? [:], lat: document.geo?.lat, lon: document.geo?.lon, status: status,
                width: document.image?.width)
        }

        /// Gathers the fields of a stored document (DocumentMapping's shape); `status` is the
        /// document's `status` field when it has one, else `loaded`.
        public convenience init(_ document: StoreDocument) {
            func string(_ path: String) -> String? { document.value(at: path)?.stringValue }
            func int(_ path: String) -> Int? {
                switch document.value(at: path) {
                case .int(let value)?: Int(value)
                case .double(let value)? where value.isFinite && abs(value) < 1e15: Int(value)
                default: nil
                }
            }
            func double(_ path: String) -> Double? {
                switch document.value(at: path) {
                case .double(let value)?: value
                case .int(let value)?: Double(value)
                default: nil
                }
            }
            func strings(_ key: String) -> [String] { document[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            var scores: [String: Double] = [:]
            for field in document["scores"]?.documentValue?.fields ?? [] {
                if let value = field.value.doubleValue ?? field.value.intValue.map(Double.init) {
                    scores[field.key] = value
                }
            }
            var takenAt = document["taken_at"]?.dateValue
            if takenAt == nil, let text = string("taken_at") { takenAt = DocumentDates.parse(text) }
            self.init(
                title: string("title") ?? "", description: string("description") ?? "", tags: strings("tags"),
                terms: strings("terms"), cc: string("place.cc"), admin1: string("place.admin1"),
                admin2: string("place.admin2"), city: string("place.city"), views: int("views"),
                license: string("license") ?? int("license").map(String.init), takenAt: takenAt, scores: scores,
                lat: double("geo.lat"), lon: double("geo.lon"), status: string("status") ?? "loaded",
                width: int("image.width"))
        }

        private init(
            title: String, description: String, tags: [String], terms: [String], cc: String?, admin1: String?,
            admin2: String?, city: String?, views: Int?, license: String?, takenAt: Date?, scores: [String: Double],
            lat: Double?, lon: Double?, status: String, width: Int?
        ) {
            let placeText = [admin1, admin2, city].compactMap { $0 }.joined(separator: "\n").lowercased()
            let country = cc?.uppercased()
            self.searchText = ([title, description] + tags + terms + [placeText]).joined(separator: "\n").lowercased()
            self.terms = terms.map { $0.lowercased() }
            self.cc = country
            self.placeText = placeText
            self.views = views
            self.license = license
            self.takenAt = takenAt
            self.scores = scores
            self.scoreList = scores.map { ($0.key, $0.value) }
            if let lat, let lon, lat.isFinite, lon.isFinite, (-90...90).contains(lat), (-180...180).contains(lon) {
                self.position = (lat, lon)
            } else {
                self.position = nil
            }
            self.status = status
            self.width = width
        }
    }

    /// Whether a stored document passes every condition.
    public func matches(_ document: StoreDocument) -> Bool { matches(Subject(document)) }

    /// Whether a ledger document with this status passes every condition.
    public func matches(_ document: PhotoDocument, status: String) -> Bool {
        matches(Subject(document, status: status))
    }

    /// Whether the gathered fields pass every condition.
    public func matches(_ subject: Subject) -> Bool { failing(subject, stopAtFirst: true).isEmpty }

    /// The conditions of a filter, one bit each (for counting facets in one pass).
    public struct Conditions: OptionSet, Sendable {
        /// The bits.
        public let rawValue: UInt16
        /// Makes a set from its bits.
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        /// `q`.
        public static let text = Conditions(rawValue: 1 << 0)
        /// `term`.
        public static let terms = Conditions(rawValue: 1 << 1)
        /// `cc`.
        public static let countries = Conditions(rawValue: 1 << 2)
        /// `place`.
        public static let place = Conditions(rawValue: 1 << 3)
        /// `views_min`, `views_max`.
        public static let views = Conditions(rawValue: 1 << 4)
        /// `taken_from`, `taken_to`.
        public static let taken = Conditions(rawValue: 1 << 5)
        /// `license`.
        public static let licenses = Conditions(rawValue: 1 << 6)
        /// `score.<label>`.
        public static let scores = Conditions(rawValue: 1 << 7)
        /// `geo`.
        public static let position = Conditions(rawValue: 1 << 8)
        /// `status`.
        public static let statuses = Conditions(rawValue: 1 << 9)
        /// `width_min`.
        public static let width = Conditions(rawValue: 1 << 10)
        /// `bbox`.
        public static let bbox = Conditions(rawValue: 1 << 11)
    }

    /// The conditions the gathered fields fail (empty: the photo matches). A facet counts the
    /// photos that fail nothing but its own condition, so one pass counts every facet.
    ///
    /// - Parameters:
    ///   - subject: The photo's fields.
    ///   - stopAtFirst: Return as soon as one condition fails (for plain matching).
    public func failing(_ subject: Subject, stopAtFirst: Bool = false) -> Conditions {
        var failed: Conditions = []
        func fail(_ condition: Conditions) -> Bool {
            failed.insert(condition)
            return stopAtFirst
        }
        if let text, !text.isEmpty, !subject.searchText.contains(text.lowercased()), fail(.text) { return failed }
        // No method references (`countries.contains`) here: each would allocate a closure, per row.
        if !terms.isEmpty, !subject.terms.contains(where: { terms.contains($0) }), fail(.terms) { return failed }
        if !countries.isEmpty {
            var known = false
            if let cc = subject.cc { known = countries.contains(cc) }
            if !known, fail(.countries) { return failed }
        }
        if let place, !place.isEmpty, !subject.placeText.contains(place.lowercased()), fail(.place) { return failed }
        if (minViews.map { (subject.views ?? Int.min) < $0 } ?? false)
            || (maxViews.map { (subject.views ?? Int.max) > $0 } ?? false), fail(.views)
        {
            return failed
        }
        if takenFrom != nil || takenTo != nil {
            var outside = true
            if let taken = subject.takenAt {
                outside =
                    (takenFrom.map { taken < $0 } ?? false)
                    || (takenTo.map { taken >= $0.addingTimeInterval(86_400) } ?? false)
            }
            if outside, fail(.taken) { return failed }
        }
        if !licenses.isEmpty {
            var known = false
            if let license = subject.license { known = licenses.contains(license) }
            if !known, fail(.licenses) { return failed }
        }
        if !minScores.isEmpty, minScores.contains(where: { (subject.score($0.label) ?? -1) < $0.min }), fail(.scores) {
            return failed
        }
        if let hasPosition, (subject.position != nil) != hasPosition, fail(.position) { return failed }
        if !statuses.isEmpty, !statuses.contains(subject.status), fail(.statuses) { return failed }
        if let minWidth, (subject.width ?? Int.min) < minWidth, fail(.width) { return failed }
        if let bbox, !(subject.position.map { bbox.contains(lat: $0.lat, lon: $0.lon) } ?? false), fail(.bbox) {
            return failed
        }
        return failed
    }

    // MARK: URL query items

    /// Reads a filter from URL query items (see the table above); unknown items are ignored
    /// (paging and sorting share the query), empty values mean "not set".
    ///
    /// - Throws: `IngestError.configuration` naming the item and a valid example when a value
    ///   does not parse.
    public init(queryItems: [URLQueryItem]) throws {
        for item in queryItems {
            guard let raw = item.value?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { continue }
            switch item.name {
            case "q": text = raw
            case "term": terms.append(raw.lowercased())
            case "cc": countries += raw.split(separator: ",").map { $0.uppercased() }
            case "place": place = raw
            case "views_min": minViews = try Self.int(raw, item: "views_min")
            case "views_max": maxViews = try Self.int(raw, item: "views_max")
            case "taken_from": takenFrom = try Self.day(raw, item: "taken_from")
            case "taken_to": takenTo = try Self.day(raw, item: "taken_to")
            case "license": licenses.append(raw)
            case "geo":
                switch raw {
                case "1", "true", "yes": hasPosition = true
                case "0", "false", "no": hasPosition = false
                default: throw Self.bad("geo", raw, example: "geo=1 (with a position) or geo=0 (without)")
                }
            case "status": statuses += raw.split(separator: ",").map(String.init)
            case "width_min": minWidth = try Self.int(raw, item: "width_min")
            case "bbox": bbox = try Self.box(raw)
            default:
                guard item.name.hasPrefix("score.") else { continue }
                let label = Self.normalizedLabel(item.name.dropFirst("score.".count))
                guard !label.isEmpty, let value = Double(raw), value.isFinite, (0...1).contains(value) else {
                    throw Self.bad(item.name, raw, example: "score.monkey=0.6 (a score between 0 and 1)")
                }
                minScores.removeAll { $0.label == label }
                minScores.append(MinScore(label: label, min: value))
            }
        }
    }

    /// The filter as URL query items, in a fixed order (equal filters give equal queries);
    /// ``init(queryItems:)`` reads them back to an equal filter.
    public var queryItems: [URLQueryItem] {
        var items: [URLQueryItem] = []
        func add(_ name: String, _ value: String?) {
            if let value { items.append(URLQueryItem(name: name, value: value)) }
        }
        add("q", text)
        for term in terms { add("term", term) }
        for cc in countries { add("cc", cc) }
        add("place", place)
        add("views_min", minViews.map(String.init))
        add("views_max", maxViews.map(String.init))
        add("taken_from", takenFrom.map(Self.dayText))
        add("taken_to", takenTo.map(Self.dayText))
        for license in licenses { add("license", license) }
        for condition in minScores { add("score.\(condition.label)", condition.min.description) }
        add("geo", hasPosition.map { $0 ? "1" : "0" })
        for status in statuses { add("status", status) }
        add("width_min", minWidth.map(String.init))
        add("bbox", bbox.map { "\($0.west),\($0.south),\($0.east),\($0.north)" })
        return items
    }

    /// The filter as a query string (no leading `?`): every character but the unreserved ones
    /// percent-encoded (`+` too, which form decoding reads as a space).
    public var queryString: String {
        func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? text
        }
        return queryItems.map { "\(encode($0.name))=\(encode($0.value ?? ""))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private static func bad(_ item: String, _ value: String, example: String) -> IngestError {
        IngestError(.configuration, "the filter \(item)=\(value) is not valid; use e.g. \(example)")
    }

    private static func int(_ raw: String, item: String) throws -> Int {
        guard let value = Int(raw), value >= 0 else { throw bad(item, raw, example: "\(item)=100") }
        return value
    }

    /// A `YYYY-MM-DD` day as its UTC midnight.
    private static func day(_ raw: String, item: String) throws -> Date {
        guard raw.count == 10, let date = DocumentDates.parse(raw) else {
            throw bad(item, raw, example: "\(item)=2024-05-31")
        }
        return date
    }

    private static func dayText(_ date: Date) -> String {
        let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        // Civil date from days since 1970 (Howard Hinnant's algorithm), avoiding a formatter.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))"
    }

    private static func box(_ raw: String) throws -> Box {
        let parts = raw.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let west = parts[0], let south = parts[1], let east = parts[2], let north = parts[3],
            (-180...180).contains(west), (-180...180).contains(east), (-90...90).contains(south),
            (-90...90).contains(north), south <= north
        else { throw bad("bbox", raw, example: "bbox=5.9,45.8,10.5,47.8 (west,south,east,north in degrees)") }
        return Box(west: west, south: south, east: east, north: north)
    }
}
