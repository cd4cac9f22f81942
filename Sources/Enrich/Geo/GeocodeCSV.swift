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
            if pending.isEmpty && !discardingLongLine {
                // The common case: convert every complete line straight from the chunk.
                guard let lastNewline = rest.lastIndex(of: UInt8(ascii: "\n")) else {
                    appendPending(rest, into: &output)
                    break
                }
                convertBlock(UnsafeRawBufferPointer(rebasing: rest[rest.startIndex...lastNewline]), into: &output)
                rest = rest[(lastNewline + 1)...]
                continue
            }
            // Finish the line begun in an earlier chunk.
            guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else {
                appendPending(rest, into: &output)
                break
            }
            appendPending(rest[rest.startIndex..<newline], into: &output)
            if discardingLongLine {
                discardingLongLine = false
                nextLine += 1
            } else {
                pending.append(UInt8(ascii: "\n"))
                convertBlock(pending, into: &output)
                pending.removeAll(keepingCapacity: true)
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
            output.badLines.append(BadLine(line: nextLine, reason: Problem.reasons[Int(Problem.tooLong)]))
            let sink = ByteSink(capacity: 64)
            Row.error(
                lat: UnsafeRawBufferPointer(start: nil, count: 0), lon: UnsafeRawBufferPointer(start: nil, count: 0),
                reason: Problem.reasons[Int(Problem.tooLong)], into: sink)
            output.bytes += sink.bytes
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

    /// Converts `block`, which holds whole lines each ending in `\n`, at most `blockBytes` at a time.
    private mutating func convertBlock(_ block: UnsafeRawBufferPointer, into output: inout Output) {
        var start = 0
        if !sawFirstLine {
            sawFirstLine = true
            if let newline = block.firstIndex(of: UInt8(ascii: "\n")), Self.isHeader(block[0..<newline]) {
                start = newline + 1
                nextLine += 1
            }
        }
        while start < block.count {
            var end = block.count
            if end - start > Self.blockBytes,
                let newline = block[..<(start + Self.blockBytes)].lastIndex(of: UInt8(ascii: "\n"))
            {
                end = newline + 1
            }
            convertLines(UnsafeRawBufferPointer(rebasing: block[start..<end]), into: &output)
            start = end
        }
    }

    /// Lines are handled in blocks of at most this many bytes (record offsets are 32-bit).
    private static let blockBytes = 1 << 24

    /// Parses, geocodes and formats whole lines: parsing and formatting in parallel pieces,
    /// the queries through the geocoder's spatially ordered batch.
    private mutating func convertLines(_ block: UnsafeRawBufferPointer, into output: inout Output) {
        // Piece boundaries fall just after line breaks.
        let pieceBytes = 1 << 16
        var bounds = [0]
        while let last = bounds.last, block.count - last > pieceBytes {
            guard let newline = block[(last + pieceBytes)...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            bounds.append(newline + 1)
        }
        if bounds.last != block.count { bounds.append(block.count) }
        let pieceCount = bounds.count - 1
        guard pieceCount > 0 else { return }

        var pieces = [Piece](repeating: Piece(), count: pieceCount)
        pieces.withUnsafeMutableBufferPointer { buffer in
            let shared = SharedPieces(block: block, bounds: bounds, pieces: buffer)
            Self.forEach(pieceCount) { piece in
                shared.pieces[piece] = Self.parse(
                    shared.block, from: shared.bounds[piece], to: shared.bounds[piece + 1])
            }
        }
        var records: [LineRecord] = []
        records.reserveCapacity(pieces.reduce(0) { $0 + $1.records.count })
        var firstRecord: [Int] = []
        var firstLine: [Int] = []
        var lineTotal = 0
        for piece in pieces {
            firstRecord.append(records.count)
            firstLine.append(lineTotal)
            records += piece.records
            lineTotal += piece.lineCount
        }
        firstRecord.append(records.count)

        let matches = records.withUnsafeBytes { raw in
            [PlaceMatch?](unsafeUninitializedCapacity: records.count) { results, initialized in
                if let base = raw.baseAddress, let resultBase = results.baseAddress {
                    let table = QueryTable(
                        base: base, count: records.count, stride: MemoryLayout<LineRecord>.stride,
                        latitudeOffset: MemoryLayout<LineRecord>.offset(of: \.latitude) ?? 0,
                        longitudeOffset: MemoryLayout<LineRecord>.offset(of: \.longitude) ?? 8)
                    geocoder.solve(table, search: search, into: resultBase)
                }
                initialized = records.count
            }
        }

        var texts = [ByteSink?](repeating: nil, count: pieceCount)
        let index = geocoder.index
        records.withUnsafeBufferPointer { recordBuffer in
            matches.withUnsafeBufferPointer { matchBuffer in
                texts.withUnsafeMutableBufferPointer { textBuffer in
                    let shared = SharedRows(
                        block: block, records: recordBuffer, matches: matchBuffer, firstRecord: firstRecord,
                        texts: textBuffer)
                    Self.forEach(pieceCount) { piece in
                        let sink = ByteSink(
                            capacity: (shared.firstRecord[piece + 1] - shared.firstRecord[piece]) * 96)
                        for slot in shared.firstRecord[piece]..<shared.firstRecord[piece + 1] {
                            Row.write(
                                shared.records[slot], shared.matches[slot], block: shared.block, index: index,
                                into: sink)
                        }
                        shared.texts[piece] = sink
                    }
                }
            }
        }
        output.bytes.reserveCapacity(output.bytes.count + texts.reduce(0) { $0 + ($1?.byteCount ?? 0) })
        for piece in 0..<pieceCount {
            texts[piece]?.append(to: &output.bytes)
            for slot in firstRecord[piece]..<firstRecord[piece + 1] where records[slot].problem != 0 {
                let line = nextLine + firstLine[piece] + Int(records[slot].line)
                output.badLines.append(BadLine(line: line, reason: Problem.reasons[Int(records[slot].problem)]))
            }
        }
        nextLine += lineTotal
    }

    /// Runs `body` for 0..<count on every core (inline for a single item).
    private static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count == 1 {
            body(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: count, execute: body)
        }
    }

    private static func isHeader(_ line: Slice<UnsafeRawBufferPointer>) -> Bool {
        let text = String(decoding: line, as: UTF8.self).lowercased().filter { !$0.isWhitespace && $0 != "\"" }
        return text == "lat,lon" || text == "latitude,longitude"
    }

    /// Splits `block[from..<to]` (whole lines) into records; blank lines make none.
    private static func parse(_ block: UnsafeRawBufferPointer, from: Int, to: Int) -> Piece {
        var piece = Piece()
        piece.records.reserveCapacity((to - from) / 16)
        var lineStart = from
        var line: Int32 = 0
        while lineStart < to {
            let lineEnd = block[lineStart..<to].firstIndex(of: UInt8(ascii: "\n")) ?? to
            defer {
                lineStart = lineEnd + 1
                line += 1
            }
            var end = lineEnd
            if end > lineStart && block[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let comma = block[lineStart..<end].firstIndex(of: UInt8(ascii: ","))
            let lat = Row.trimmed(block, lineStart, comma ?? end)
            let lon = comma.map { Row.trimmed(block, $0 + 1, end) } ?? (end, end)
            if comma == nil && lat.0 == lat.1 { continue }
            var record = LineRecord(
                latitude: .nan, longitude: .nan, line: line, latStart: Int32(lat.0), latEnd: Int32(lat.1),
                lonStart: Int32(lon.0), lonEnd: Int32(lon.1), problem: 0)
            if end - lineStart > Self.maxLineBytes {
                record.problem = Problem.tooLong
            } else if comma == nil || block[lon.0..<lon.1].contains(UInt8(ascii: ",")) {
                record.problem = Problem.fields
            } else if let latitude = DecimalParser.parse(block[lat.0..<lat.1]) {
                if let longitude = DecimalParser.parse(block[lon.0..<lon.1]) {
                    if !(-90.0...90.0).contains(latitude) {
                        record.problem = Problem.latitudeRange
                    } else if !(-180.0...180.0).contains(longitude) {
                        record.problem = Problem.longitudeRange
                    } else {
                        record.latitude = latitude
                        record.longitude = longitude
                    }
                } else {
                    record.problem = Problem.longitudeNumber
                }
            } else {
                record.problem = Problem.latitudeNumber
            }
            piece.records.append(record)
        }
        piece.lineCount = Int(line)
        return piece
    }
}

/// One non-blank input line: its coordinates (NaN when bad), where its two fields sit in the
/// block, and what is wrong with it.
struct LineRecord {
    var latitude: Double
    var longitude: Double
    var line: Int32
    var latStart: Int32
    var latEnd: Int32
    var lonStart: Int32
    var lonEnd: Int32
    var problem: UInt8
}

/// Why a line is bad: an index into `reasons` (0 = nothing wrong).
enum Problem {
    static let fields: UInt8 = 1
    static let latitudeNumber: UInt8 = 2
    static let longitudeNumber: UInt8 = 3
    static let latitudeRange: UInt8 = 4
    static let longitudeRange: UInt8 = 5
    static let tooLong: UInt8 = 6
    static let reasons = [
        "", "expected two fields: lat,lon", "latitude is not a number", "longitude is not a number",
        "latitude outside -90...90", "longitude outside -180...180",
        "the line is longer than \(GeocodeCSVConverter.maxLineBytes) bytes",
    ]
}

/// The parsed lines of one piece of a block.
private struct Piece {
    var records: [LineRecord] = []
    var lineCount = 0
}

/// Pointers handed to `concurrentPerform`'s workers: each writes only its own piece's slot.
private struct SharedPieces: @unchecked Sendable {
    let block: UnsafeRawBufferPointer
    let bounds: [Int]
    let pieces: UnsafeMutableBufferPointer<Piece>
}

/// Pointers handed to `concurrentPerform`'s workers: each writes only its own piece's slot.
private struct SharedRows: @unchecked Sendable {
    let block: UnsafeRawBufferPointer
    let records: UnsafeBufferPointer<LineRecord>
    let matches: UnsafeBufferPointer<PlaceMatch?>
    let firstRecord: [Int]
    let texts: UnsafeMutableBufferPointer<ByteSink?>
}

/// A growable byte buffer written through a pointer: cheaper per byte than `Array.append`.
final class ByteSink {
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int

    /// The number of bytes written so far.
    var byteCount: Int { count }

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written so far.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Appends the bytes written so far to `array`.
    func append(to array: inout [UInt8]) {
        array.append(contentsOf: UnsafeBufferPointer(start: base, count: count))
    }

    @inline(__always) private func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        let newCapacity = max(count + extra, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always) func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}

/// Writing RFC 4180 rows into a byte buffer.
enum Row {
    static let emptyPlace: StaticString = ",,,,,,\r\n"
    static let errorPrefix: StaticString = ",,,,,,error: "

    /// `[start, end)` without surrounding spaces and tabs.
    static func trimmed(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> (Int, Int) {
        var start = start
        var end = end
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return (start, end)
    }

    /// Appends one string of the index, quoted when the index marks it so.
    @inline(__always)
    static func field(_ text: GeoIndex.FieldText, into out: ByteSink) {
        if text.quoted {
            quotedField(text.bytes, into: out)
        } else {
            out.append(text.bytes)
        }
    }

    /// Appends one field, quoted when it holds a comma, a quote or a control character.
    static func field(_ bytes: UnsafeRawBufferPointer, into out: ByteSink) {
        var plain = true
        for byte in bytes where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte < 0x20 {
            plain = false
            break
        }
        if plain {
            out.append(bytes)
        } else {
            quotedField(bytes, into: out)
        }
    }

    /// Appends `bytes` in quotes, with each quote doubled.
    static func quotedField(_ bytes: UnsafeRawBufferPointer, into out: ByteSink) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { out.append(UInt8(ascii: "\"")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The row for one record: the place, no place, or the error.
    static func write(
        _ record: LineRecord, _ match: PlaceMatch?, block: UnsafeRawBufferPointer, index: GeoIndex,
        into out: ByteSink
    ) {
        let lat = UnsafeRawBufferPointer(rebasing: block[Int(record.latStart)..<Int(record.latEnd)])
        let lon = UnsafeRawBufferPointer(rebasing: block[Int(record.lonStart)..<Int(record.lonEnd)])
        if record.problem == Problem.tooLong {
            let none = UnsafeRawBufferPointer(start: nil, count: 0)
            error(lat: none, lon: none, reason: Problem.reasons[Int(record.problem)], into: out)
            return
        }
        if record.problem != 0 {
            error(lat: lat, lon: lon, reason: Problem.reasons[Int(record.problem)], into: out)
            return
        }
        // Both parsed as numbers, so neither needs quoting.
        out.append(lat)
        out.append(UInt8(ascii: ","))
        out.append(lon)
        guard let match else {
            out.append(Row.emptyPlace)
            return
        }
        let fields = index.fields(at: Int(match.position))
        out.append(UInt8(ascii: ","))
        field(fields.city, into: out)
        out.append(UInt8(ascii: ","))
        field(fields.admin1, into: out)
        out.append(UInt8(ascii: ","))
        field(fields.admin2, into: out)
        out.append(UInt8(ascii: ","))
        field(fields.countryCode, into: out)
        out.append(UInt8(ascii: ","))
        field(fields.countryName, into: out)
        out.append(UInt8(ascii: ","))
        appendKilometres(match.distanceKm, into: out)
        out.append(UInt8(ascii: "\r"))
        out.append(UInt8(ascii: "\n"))
    }

    static func error(lat: UnsafeRawBufferPointer, lon: UnsafeRawBufferPointer, reason: String, into out: ByteSink) {
        field(lat, into: out)
        out.append(UInt8(ascii: ","))
        field(lon, into: out)
        out.append(Row.errorPrefix)
        out.append(reason)
        out.append(UInt8(ascii: "\r"))
        out.append(UInt8(ascii: "\n"))
    }

    /// `km` with exactly three decimals, rounded half away from zero (km is never negative).
    static func appendKilometres(_ km: Double, into out: ByteSink) {
        let metres = Int((km * 1000).rounded())
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var whole = metres / 1000
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(whole % 10)
                whole /= 10
                count += 1
            } while whole > 0 && count < 8
            for position in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[position]) }
        }
        let fraction = metres % 1000
        out.append(UInt8(ascii: "."))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        out.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        out.append(UInt8(ascii: "0") + UInt8(fraction % 10))
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
