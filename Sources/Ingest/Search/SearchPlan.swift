import Foundation

/// A WGS84 box, `minLon,minLat,maxLon,maxLat` as Flickr's `bbox` wants it.
public struct BoundingBox: Sendable, Equatable, Hashable, Codable {
    /// West edge, degrees.
    public var minLon: Double
    /// South edge, degrees.
    public var minLat: Double
    /// East edge, degrees.
    public var maxLon: Double
    /// North edge, degrees.
    public var maxLat: Double

    /// Makes a box (no checks; use `parse` for user input).
    public init(minLon: Double, minLat: Double, maxLon: Double, maxLat: Double) {
        self.minLon = minLon
        self.minLat = minLat
        self.maxLon = maxLon
        self.maxLat = maxLat
    }

    /// The `bbox` parameter text.
    public var parameter: String {
        [minLon, minLat, maxLon, maxLat].map { Self.format($0) }.joined(separator: ",")
    }

    static func format(_ value: Double) -> String {
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    /// Parses `--bbox` text into one box, or two when it crosses the antimeridian (`minLon >
    /// maxLon`, only with `antimeridian`): the part east of `minLon` up to 180 and the part from
    /// -180 to `maxLon`.
    ///
    /// The values are read as `minlon,minlat,maxlon,maxlat`. Two mistakes are recognised:
    /// - Longitudes given west-east swapped (`20,35,5,48`) read as a box across the
    ///   antimeridian, which is refused unless `antimeridian` is set, naming the box swapped back.
    /// - Latitude and longitude swapped (`minlat,minlon,maxlat,maxlon`): refused when the values
    ///   as given are not a valid box but read as `minlat,minlon,maxlat,maxlon` are one (e.g.
    ///   `-30,140,-10,155`: a latitude of 140 cannot be, longitudes 140 to 155 can). When both
    ///   readings are valid boxes (`35,5,48,20`) the values cannot tell which was meant; the box
    ///   is taken as given and ``reading`` shows the reading so a user can see it.
    /// - Throws: `IngestError.configuration` naming `--bbox`, the reading taken and the fix.
    public static func parse(_ text: String, antimeridian: Bool = false) throws -> [BoundingBox] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 4 else {
            throw IngestError(
                .configuration,
                "--bbox needs 4 comma-separated numbers minlon,minlat,maxlon,maxlat, got \(parts.count) value(s)")
        }
        var numbers: [Double] = []
        for part in parts {
            guard let value = Double(part), value.isFinite else {
                throw IngestError(.configuration, "--bbox value '\(part.prefix(40))' is not a number")
            }
            numbers.append(value)
        }
        let (minLon, minLat, maxLon, maxLat) = (numbers[0], numbers[1], numbers[2], numbers[3])
        let given = numbers.map(format).joined(separator: ",")
        if let problem = problem(minLon, minLat, maxLon, maxLat, crossing: true) {
            // Not a box whichever way the longitudes run: maybe latitude and longitude swapped.
            if Self.problem(minLat, minLon, maxLat, maxLon, crossing: antimeridian) == nil {
                let swapped = [minLat, minLon, maxLat, maxLon].map(format).joined(separator: ",")
                throw IngestError(
                    .configuration,
                    "--bbox \(given) reads as longitudes \(format(minLon)) to \(format(maxLon)), latitudes "
                        + "\(format(minLat)) to \(format(maxLat)): \(problem). The values look like latitude and "
                        + "longitude swapped: the order is minlon,minlat,maxlon,maxlat; did you mean \(swapped)?")
            }
            throw IngestError(.configuration, "--bbox \(given): \(problem)")
        }
        if minLon > maxLon {
            guard antimeridian else {
                let back = [maxLon, minLat, minLon, maxLat].map(format).joined(separator: ",")
                throw IngestError(
                    .configuration,
                    "--bbox \(given) reads as longitudes \(format(minLon)) to \(format(maxLon)), which crosses the "
                        + "antimeridian; did you mean \(back)? Add --antimeridian if you meant the box across it")
            }
            return [
                BoundingBox(minLon: minLon, minLat: minLat, maxLon: 180, maxLat: maxLat),
                BoundingBox(minLon: -180, minLat: minLat, maxLon: maxLon, maxLat: maxLat),
            ]
        }
        return [BoundingBox(minLon: minLon, minLat: minLat, maxLon: maxLon, maxLat: maxLat)]
    }

    /// What makes these values no box (`nil`: they are one); `crossing` lets `minLon > maxLon`.
    static func problem(_ minLon: Double, _ minLat: Double, _ maxLon: Double, _ maxLat: Double, crossing: Bool)
        -> String?
    {
        for lon in [minLon, maxLon] where !(-180...180).contains(lon) {
            return "longitude \(format(lon)) is outside -180...180"
        }
        for lat in [minLat, maxLat] where !(-90...90).contains(lat) {
            return "latitude \(format(lat)) is outside -90...90"
        }
        guard minLat < maxLat else {
            return "minlat (\(format(minLat))) must be less than maxlat (\(format(maxLat)))"
        }
        if minLon == maxLon { return "minlon and maxlon are equal (\(format(minLon))): the box is empty" }
        if minLon > maxLon, !crossing { return "minlon (\(format(minLon))) is greater than maxlon (\(format(maxLon)))" }
        return nil
    }

    /// The box in words with its corners, e.g. `latitudes 35°N to 48°N, longitudes 5°E to 20°E
    /// (south-west corner 35°N 5°E, north-east corner 48°N 20°E)`: what a summary shows so a
    /// box given in the wrong order is seen.
    public var reading: String {
        let (south, north, west, east) = (
            Self.degrees(minLat, "N", "S"), Self.degrees(maxLat, "N", "S"), Self.degrees(minLon, "E", "W"),
            Self.degrees(maxLon, "E", "W")
        )
        return "latitudes \(south) to \(north), longitudes \(west) to \(east) (south-west corner \(south) \(west), "
            + "north-east corner \(north) \(east))"
    }

    /// The boxes of one `--bbox` in words: one box, or the two halves of a box across the
    /// antimeridian as one span.
    public static func reading(of boxes: [BoundingBox]) -> String {
        guard boxes.count == 2 else { return boxes.map(\.reading).joined(separator: "; ") }
        let whole = BoundingBox(
            minLon: boxes[0].minLon, minLat: boxes[0].minLat, maxLon: boxes[1].maxLon, maxLat: boxes[0].maxLat)
        return whole.reading + ", across the antimeridian"
    }

    static func degrees(_ value: Double, _ positive: String, _ negative: String) -> String {
        value == 0 ? "0°" : "\(format(abs(value)))°\(value > 0 ? positive : negative)"
    }
}

/// Taken dates: parsing user input and formatting for Flickr.
public enum TakenDate {
    /// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (also with `T`) or unix seconds, as UTC.
    /// - Throws: `IngestError.configuration` quoting `flag`.
    public static func parse(_ text: String, flag: String) throws -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces)
        // Unix seconds, negative before 1970 (no earlier than the dates' year 1800).
        let unsigned = t.hasPrefix("-") ? t.dropFirst() : Substring(t)
        if !unsigned.isEmpty, unsigned.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard unsigned.count <= 11, let seconds = Int64(t), seconds >= days(year: 1800, month: 1, day: 1) * 86400
            else {
                throw IngestError(.configuration, "\(flag) '\(t.prefix(40))' is out of range for unix seconds")
            }
            return seconds
        }
        let bytes = Array(t.utf8)
        func digits(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for b in bytes[range] {
                guard b >= 0x30, b <= 0x39 else { return nil }
                value = value * 10 + Int(b - 0x30)
            }
            return value
        }
        // Made only when thrown: an error's message is scrubbed of secrets, which costs more
        // than the parse (the load stage parses every document's dates).
        func bad() -> IngestError {
            IngestError(
                .configuration,
                "\(flag) '\(t.prefix(40))' is not a date: use YYYY-MM-DD, 'YYYY-MM-DD HH:MM:SS' or unix seconds")
        }
        guard bytes.count == 10 || bytes.count == 19, let year = digits(0..<4), bytes[4] == 0x2D,
            let month = digits(5..<7), bytes[7] == 0x2D, let day = digits(8..<10)
        else { throw bad() }
        var hour = 0
        var minute = 0
        var second = 0
        if bytes.count == 19 {
            guard bytes[10] == 0x20 || bytes[10] == 0x54, let h = digits(11..<13), bytes[13] == 0x3A,
                let m = digits(14..<16), bytes[16] == 0x3A, let s = digits(17..<19)
            else { throw bad() }
            (hour, minute, second) = (h, m, s)
        }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour < 24, minute < 60,
            second < 60, year >= 1800
        else { throw bad() }
        return days(year: year, month: month, day: day) * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Formats unix seconds as `YYYY-MM-DD<sep>HH:MM:SS` in UTC.
    public static func format(_ seconds: Int64, separator: String = "T") -> String {
        let z0 = (seconds >= 0 ? seconds : seconds - 86399) / 86400
        let secs = seconds - z0 * 86400
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        // Digits by hand, as `%04lld-%02lld-%02lld…` would print them: `String(format:)` goes
        // through NSString, and the ledger stamps every row it writes with this.
        var out = ""
        out.reserveCapacity(19 + separator.utf8.count)
        func append(_ value: Int64, width: Int) {
            if value < 0 { out += "-" }
            let digits = String(value.magnitude)
            let pad = width - (value < 0 ? 1 : 0) - digits.utf8.count
            if pad > 0 { out += String(repeating: "0", count: pad) }
            out += digits
        }
        append(y, width: 4)
        out += "-"
        append(m, width: 2)
        out += "-"
        append(d, width: 2)
        out += separator
        append(secs / 3600, width: 2)
        out += ":"
        append(secs % 3600 / 60, width: 2)
        out += ":"
        append(secs % 60, width: 2)
        return out
    }

    /// Parses Flickr's `datetaken` (`YYYY-MM-DD HH:MM:SS`) to seconds, or `nil`.
    public static func flickr(_ text: String?) -> Int64? {
        guard let text else { return nil }
        return try? parse(text, flag: "datetaken")
    }
}

/// One search the stage runs: a term (or none) in a box (or none) over a taken-date range.
public struct SearchQuery: Sendable, Equatable {
    /// The text, or `nil` for a box-and-date search.
    public var term: String?
    /// The box, or `nil`.
    public var bbox: BoundingBox?
    /// Earliest taken date, unix seconds.
    public var minTaken: Int64
    /// Latest taken date, unix seconds.
    public var maxTaken: Int64
    /// Whether `maxTaken` was given (else it is "now", which must not change the query's key).
    public var maxTakenGiven: Bool = true

    /// Photos per page: 250 with a box, else 500 (Flickr's maxima).
    public var perPage: Int { bbox == nil ? 500 : 250 }

    /// The query as a person reads it, e.g. `term "monkey" in box 5,35,20,48, taken
    /// 2010-01-01 00:00:00 to now` (no key; the term and box are the user's own input).
    public var summary: String {
        var parts: [String] = [term.map { "term \"\($0)\"" } ?? "any text"]
        if let bbox { parts.append("in box \(bbox.parameter)") }
        let to = maxTakenGiven ? TakenDate.format(maxTaken, separator: " ") : "now"
        parts.append("taken \(TakenDate.format(minTaken, separator: " ")) to \(to)")
        return parts.joined(separator: " ")
    }

    /// A stable key naming this query in the ledger; a query without `--max-taken` keeps the
    /// range it was first registered with when it resumes.
    public var key: String {
        "text=\(term ?? "")|bbox=\(bbox?.parameter ?? "")|taken=\(minTaken)..\(maxTakenGiven ? String(maxTaken) : "now")"
    }
}

/// Everything `photoseal search` was asked to find, checked.
public struct SearchPlan: Sendable, Equatable {
    /// The terms (deduplicated, order kept).
    public var terms: [String]
    /// The boxes (two when the input crosses the antimeridian).
    public var boxes: [BoundingBox]
    /// Earliest taken date, unix seconds.
    public var minTaken: Int64
    /// Latest taken date, unix seconds.
    public var maxTaken: Int64
    /// Whether `--max-taken` was given.
    public var maxTakenGiven: Bool = true

    /// The default earliest taken date when none is given: 1900-01-01.
    public static let defaultMinTaken: Int64 = -2_208_988_800

    /// Checks and combines the inputs.
    /// - Parameters:
    ///   - terms: `--term` values.
    ///   - termsFileText: the `--terms-file` contents, if given.
    ///   - bbox: the `--bbox` text.
    ///   - antimeridian: Whether a box across the antimeridian was asked for (`--antimeridian`).
    ///   - minTaken: `--min-taken` text.
    ///   - maxTaken: `--max-taken` text.
    ///   - now: unix seconds of now (the default latest date is a day later).
    /// - Throws: `IngestError.configuration` quoting the flag at fault.
    public static func make(
        terms: [String], termsFileText: String?, bbox: String?, antimeridian: Bool = false, minTaken: String?,
        maxTaken: String?, now: Int64
    ) throws -> SearchPlan {
        var all: [String] = []
        for term in terms {
            let t = term.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !t.isEmpty else { throw IngestError(.configuration, "--term is empty; give a word or phrase") }
            all.append(t)
        }
        if let termsFileText { all += parseTermsFile(termsFileText) }
        var seen = Set<String>()
        all = all.filter { seen.insert($0).inserted }
        for term in all where term.count > 500 {
            throw IngestError(.configuration, "--term '\(term.prefix(40))…' is longer than 500 characters")
        }
        let boxes = try bbox.map { try BoundingBox.parse($0, antimeridian: antimeridian) } ?? []
        let min = try minTaken.map { try TakenDate.parse($0, flag: "--min-taken") }
        let max = try maxTaken.map { try TakenDate.parse($0, flag: "--max-taken") }
        if let min, let max, min > max {
            throw IngestError(.configuration, "--min-taken is later than --max-taken; swap them")
        }
        if all.isEmpty {
            guard !boxes.isEmpty, min != nil || max != nil else {
                throw IngestError(
                    .configuration,
                    "nothing to search for: give at least one --term (or --terms-file), or a --bbox with --min-taken or --max-taken"
                )
            }
        }
        return SearchPlan(
            terms: all, boxes: boxes, minTaken: min ?? defaultMinTaken, maxTaken: max ?? (now + 86400),
            maxTakenGiven: max != nil)
    }

    /// Terms from a terms file: one a line, `#` starts a comment line, blank lines skipped.
    public static func parseTermsFile(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).compactMap { line in
            let t = line.trimmingCharacters(in: .whitespacesAndNewlines)
            return t.isEmpty || t.hasPrefix("#") ? nil : t
        }
    }

    /// The queries: every term in every box (or everywhere), or each box alone.
    public var queries: [SearchQuery] {
        let texts: [String?] = terms.isEmpty ? [nil] : terms
        let areas: [BoundingBox?] = boxes.isEmpty ? [nil] : boxes
        return texts.flatMap { text in
            areas.map {
                SearchQuery(term: text, bbox: $0, minTaken: minTaken, maxTaken: maxTaken, maxTakenGiven: maxTakenGiven)
            }
        }
    }
}
