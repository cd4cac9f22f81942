import Dispatch

/// Turns a stream of `lat,lon` lines into RFC 4180 CSV rows, one row per input line, in
/// constant memory: feed it chunks of input as they arrive and write out what it returns.
///
/// Output columns: `lat,lon,city,admin1,admin2,cc,country,distance_km`, lines end in CRLF.
/// `lat` and `lon` repeat the input text; `distance_km` has three decimals (metres). Rows:
/// - a place: every column filled (admin1/admin2 may be empty where GeoNames has none);
/// - no place within the filter: place columns and `distance_km` empty;
/// - a bad line (not two numbers, latitude outside ±90, longitude outside ±180): place columns
///   empty and `distance_km` holding `error: <reason>`; the line is also listed in
///   ``Output/badLines``.
///
/// Blank lines are skipped; a first line reading `lat,lon` or `latitude,longitude` is taken as
/// a header and skipped. Each chunk's complete lines are converted on every core.
public struct GeocodeCSVConverter: Sendable {
    /// The header row written before any data row.
    public static let header: [UInt8] = Array("lat,lon,city,admin1,admin2,cc,country,distance_km\r\n".utf8)

    /// Lines longer than this many bytes are reported as bad without being kept in memory.
    public static let maxLineBytes = 4096

    /// What converting one chunk produced.
    public struct Output: Sendable {
        /// CSV rows for the complete lines seen so far, ready to write.
        public var bytes: [UInt8] = []
        /// The bad lines among them, in input order.
        public var badLines: [BadLine] = []
    }

    /// An input line that could not be geocoded.
    public struct BadLine: Sendable, Hashable {
        /// 1-based line number in the input.
        public let line: Int
        /// Why the line was refused (never the line's content).
        public let reason: String
    }

    private let geocoder: Geocoder
    private let search: Search
    private var pending: [UInt8] = []
    private var discardingLongLine = false
    private var nextLine = 1
    private var sawFirstLine = false

    /// The number of input lines consumed so far (blank and header lines included).
    public var linesRead: Int { nextLine - 1 }

    /// Creates a converter.
    /// - Parameters:
    ///   - geocoder: the geocoder to answer with.
    ///   - filter: which places may answer; unfiltered by default.
    public init(geocoder: Geocoder, filter: GeocodeFilter = .unfiltered) {
        self.geocoder = geocoder
        self.search = Search(filter)
    }

    /// Converts the complete lines of `chunk` (with any line left over from the previous chunk);
    /// an unfinished last line is kept for the next call or ``finish()``.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> Output {
        var output = Output()
        var rest = chunk[...]
        while !rest.isEmpty {
            guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else {
                appendPending(rest, into: &output)
                break
            }
            appendPending(rest[rest.startIndex..<newline], into: &output)
            if discardingLongLine {
                discardingLongLine = false
                nextLine += 1
            } else if !pending.isEmpty {
                pending.append(UInt8(ascii: "\n"))
                convertBlock(pending, into: &output)
                pending.removeAll(keepingCapacity: true)
            } else {
                // The common case: convert every complete line straight from the chunk.
                let lastNewline = rest.lastIndex(of: UInt8(ascii: "\n"))!
                convertBlock(UnsafeRawBufferPointer(rebasing: rest[rest.startIndex...lastNewline]), into: &output)
                rest = rest[(lastNewline + 1)...]
                continue
            }
            rest = rest[(newline + 1)...]
        }
        return output
    }

    /// Converts the last line when the input did not end with a line break.
    public mutating func finish() -> Output {
        var output = Output()
        if discardingLongLine {
            discardingLongLine = false
            nextLine += 1
        } else if !pending.isEmpty {
            pending.append(UInt8(ascii: "\n"))
            convertBlock(pending, into: &output)
            pending.removeAll()
        }
        return output
    }

    private mutating func appendPending(_ bytes: Slice<UnsafeRawBufferPointer>, into output: inout Output) {
        guard !discardingLongLine else { return }
        if pending.count + bytes.count > Self.maxLineBytes {
            output.badLines.append(BadLine(line: nextLine, reason: "the line is longer than \(Self.maxLineBytes) bytes"))
            Row.error(lat: [UInt8](), lon: [UInt8](), reason: "line too long", into: &output.bytes)
            pending.removeAll()
            discardingLongLine = true
            sawFirstLine = true
            return
        }
        pending.append(contentsOf: bytes)
    }

    private mutating func convertBlock(_ block: [UInt8], into output: inout Output) {
        block.withUnsafeBytes { convertBlock($0, into: &output) }
    }

    /// Converts `block`, which holds whole lines each ending in `\n`, in parallel pieces.
    private mutating func convertBlock(_ block: UnsafeRawBufferPointer, into output: inout Output) {
        var start = 0
        if !sawFirstLine {
            sawFirstLine = true
            if let newline = block.firstIndex(of: UInt8(ascii: "\n")), Self.isHeader(block[0..<newline]) {
                start = newline + 1
                nextLine += 1
            }
        }
        // Piece boundaries fall just after line breaks.
        let pieceBytes = 1 << 16
        var bounds = [start]
        while let last = bounds.last, block.count - last > pieceBytes {
            guard let newline = block[(last + pieceBytes)...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            bounds.append(newline + 1)
        }
        if bounds.last != block.count { bounds.append(block.count) }
        let pieceCount = bounds.count - 1
        guard pieceCount > 0 else { return }
        var results = [Output](repeating: Output(), count: pieceCount)
        var lineCounts = [Int](repeating: 0, count: pieceCount)
        let search = self.search
        let geocoder = self.geocoder
        results.withUnsafeMutableBufferPointer { resultBuffer in
            lineCounts.withUnsafeMutableBufferPointer { countBuffer in
                let shared = PieceBuffers(block: block, bounds: bounds, results: resultBuffer, lineCounts: countBuffer)
                let work: @Sendable (Int) -> Void = { piece in
                    let lines = UnsafeRawBufferPointer(
                        rebasing: shared.block[shared.bounds[piece]..<shared.bounds[piece + 1]])
                    shared.lineCounts[piece] = Self.convertLines(
                        lines, geocoder: geocoder, search: search, into: &shared.results[piece])
                }
                if pieceCount == 1 {
                    work(0)
                } else {
                    DispatchQueue.concurrentPerform(iterations: pieceCount, execute: work)
                }
            }
        }
        for piece in 0..<pieceCount {
            output.bytes.append(contentsOf: results[piece].bytes)
            for bad in results[piece].badLines {
                output.badLines.append(BadLine(line: nextLine + bad.line, reason: bad.reason))
            }
            nextLine += lineCounts[piece]
        }
    }

    private static func isHeader(_ line: Slice<UnsafeRawBufferPointer>) -> Bool {
        let text = String(decoding: line, as: UTF8.self).lowercased().filter { !$0.isWhitespace && $0 != "\"" }
        return text == "lat,lon" || text == "latitude,longitude"
    }

    /// Converts whole lines; bad lines carry their 0-based line index within `lines`.
    /// - Returns: the number of lines.
    private static func convertLines(
        _ lines: UnsafeRawBufferPointer, geocoder: Geocoder, search: Search, into output: inout Output
    ) -> Int {
        output.bytes.reserveCapacity(lines.count * 3)
        let index = geocoder.index
        var lineIndex = 0
        var lineStart = 0
        while lineStart < lines.count {
            let lineEnd = lines[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? lines.count
            defer {
                lineStart = lineEnd + 1
                lineIndex += 1
            }
            var end = lineEnd
            if end > lineStart && lines[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: lines[lineStart..<end])
            guard let comma = line.firstIndex(of: UInt8(ascii: ",")) else {
                let text = Row.trimmed(line[...])
                if text.isEmpty { continue }
                output.badLines.append(BadLine(line: lineIndex, reason: "expected two fields: lat,lon"))
                Row.error(lat: text, lon: [UInt8](), reason: "expected lat,lon", into: &output.bytes)
                continue
            }
            let latText = Row.trimmed(line[..<comma])
            let lonText = Row.trimmed(line[(comma + 1)...])
            var reason: String?
            if lonText.contains(UInt8(ascii: ",")) {
                reason = "expected two fields: lat,lon"
            } else if let latitude = DecimalParser.parse(latText), let longitude = DecimalParser.parse(lonText) {
                if !(-90.0...90.0).contains(latitude) {
                    reason = "latitude outside -90...90"
                } else if !(-180.0...180.0).contains(longitude) {
                    reason = "longitude outside -180...180"
                } else {
                    let match = search.run(index.tree, latitude, longitude)
                    Row.place(lat: latText, lon: lonText, match: match, index: index, into: &output.bytes)
                    continue
                }
            } else {
                reason = DecimalParser.parse(latText) == nil ? "latitude is not a number" : "longitude is not a number"
            }
            let why = reason ?? "bad line"
            output.badLines.append(BadLine(line: lineIndex, reason: why))
            Row.error(lat: latText, lon: lonText, reason: why, into: &output.bytes)
        }
        return lineIndex
    }
}

/// Pointers handed to `concurrentPerform`'s workers: each writes only its own piece's slots.
private struct PieceBuffers: @unchecked Sendable {
    let block: UnsafeRawBufferPointer
    let bounds: [Int]
    let results: UnsafeMutableBufferPointer<GeocodeCSVConverter.Output>
    let lineCounts: UnsafeMutableBufferPointer<Int>
}

/// Writing RFC 4180 rows into a byte buffer.
enum Row {
    static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return bytes[start..<end]
    }

    /// Appends one field, quoted when it holds a comma, a quote or a line break.
    static func field<C: Collection<UInt8>>(_ bytes: C, into out: inout [UInt8]) {
        let needsQuotes = bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 < 0x20 }
        guard needsQuotes else {
            out.append(contentsOf: bytes)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\"")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    static func place<C: Collection<UInt8>>(
        lat: C, lon: C, match: PlaceMatch?, index: GeoIndex, into out: inout [UInt8]
    ) {
        field(lat, into: &out)
        out.append(UInt8(ascii: ","))
        field(lon, into: &out)
        guard let match else {
            out.append(contentsOf: ",,,,,,\r\n".utf8)
            return
        }
        index.withFields(at: Int(match.position)) { fields in
            for text in [fields.city, fields.admin1, fields.admin2, fields.countryCode, fields.countryName] {
                out.append(UInt8(ascii: ","))
                field(text, into: &out)
            }
        }
        out.append(UInt8(ascii: ","))
        appendKilometres(match.distanceKm, into: &out)
        out.append(contentsOf: "\r\n".utf8)
    }

    static func error<Lat: Collection<UInt8>, Lon: Collection<UInt8>>(
        lat: Lat, lon: Lon, reason: String, into out: inout [UInt8]
    ) {
        field(lat, into: &out)
        out.append(UInt8(ascii: ","))
        field(lon, into: &out)
        out.append(contentsOf: ",,,,,,error: ".utf8)
        out.append(contentsOf: reason.utf8)
        out.append(contentsOf: "\r\n".utf8)
    }

    /// `km` with exactly three decimals, rounded half away from zero (km is never negative).
    static func appendKilometres(_ km: Double, into out: inout [UInt8]) {
        let metres = Int((km * 1000).rounded())
        appendInteger(metres / 1000, into: &out)
        out.append(UInt8(ascii: "."))
        let fraction = metres % 1000
        out.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
    }

    private static func appendInteger(_ value: Int, into out: inout [UInt8]) {
        if value >= 10 { appendInteger(value / 10, into: &out) }
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }
}

/// Decimal degrees from ASCII bytes.
enum DecimalParser {
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// `[+-]digits[.digits]` exactly, and anything else `Double(String)` reads; `nil` for text
    /// that is not a finite number.
    static func parse<C: Collection<UInt8>>(_ bytes: C) -> Double? {
        var negative = false
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        var simple = !bytes.isEmpty
        var first = true
        for byte in bytes {
            defer { first = false }
            if first && (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")) {
                negative = byte == UInt8(ascii: "-")
                continue
            }
            if byte == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 15 else {
                simple = false
                break
            }
            mantissa = mantissa * 10 + UInt64(byte - UInt8(ascii: "0"))
            digits += 1
            if seenPoint { fractionDigits += 1 }
        }
        if simple && digits > 0 {
            // Exact: mantissa < 10^15 < 2^53 and 10^fractionDigits is exact, so one rounding.
            let value = Double(mantissa) / powersOfTen[fractionDigits]
            return negative ? -value : value
        }
        guard bytes.count <= 64, let value = Double(String(decoding: bytes, as: UTF8.self)), value.isFinite else {
            return nil
        }
        return value
    }
}
