import Foundation

/// How exiftool's tag table says to read a tag when it overrides the type in the file.
enum ExifFormat: Sendable {
    case int8u, int16u, int32u, rational64s, string, undef, binary

    /// The TIFF type code this format reads as.
    var tiffType: Int {
        switch self {
        case .int8u: 1
        case .string: 2
        case .int16u: 3
        case .int32u: 4
        case .rational64s: 10
        case .undef, .binary: 7
        }
    }
}

/// One row of a tag table: exiftool's name, an optional type override, and whether the
/// value is opaque data reported by size only.
struct ExifTagInfo: Sendable {
    let name: String
    let format: ExifFormat?
    let binary: Bool

    init(_ name: String, format: ExifFormat? = nil, binary: Bool = false) {
        self.name = name
        self.format = format
        self.binary = binary
    }
}

/// A tag table indexed by the two bytes of the tag id: two array reads per lookup, no
/// hashing and no search (this runs for every tag of every file).
struct ExifTagIndex: Sendable {
    /// For each high byte of an id, its block of 256 entries in `slots`, or -1 when no id has it.
    private let blocks: [Int16]
    /// Per low byte of an id, its row in `rows` plus one, or 0 when the table lacks the id.
    private let slots: [UInt16]
    private let rows: [ExifTagInfo]

    /// The rows of a generated table (a list, not a dictionary: building a 500-entry
    /// dictionary took a quarter of a millisecond at start-up, more than reading a file).
    init(_ entries: [(UInt16, ExifTagInfo)]) {
        var blocks = [Int16](repeating: -1, count: 256)
        var slots: [UInt16] = []
        var rows: [ExifTagInfo] = []
        rows.reserveCapacity(entries.count)
        for (id, row) in entries {
            let high = Int(id >> 8)
            if blocks[high] < 0 {
                blocks[high] = Int16(slots.count / 256)
                slots += repeatElement(0, count: 256)
            }
            let slot = Int(blocks[high]) * 256 + Int(id & 0xFF)
            guard slots[slot] == 0 else { continue }  // the generator lists each id once
            rows.append(row)
            slots[slot] = UInt16(rows.count)
        }
        self.blocks = blocks
        self.slots = slots
        self.rows = rows
    }

    subscript(tag: Int) -> ExifTagInfo? {
        guard tag >= 0, tag <= 0xFFFF else { return nil }
        let block = Int(blocks[tag >> 8])
        guard block >= 0 else { return nil }
        let row = Int(slots[block << 8 | tag & 0xFF])
        return row > 0 ? rows[row - 1] : nil
    }
}

/// Tag names and the value conversions exiftool applies with `-n`.
enum ExifTags {
    static let formatNames = [
        "", "int8u", "string", "int16u", "int32u", "rational64u", "int8s", "undef", "int16s", "int32s",
        "rational64s", "float", "double", "ifd",
    ]

    /// The row of `tag` in `table`, or nil when exiftool's table lacks it.
    static func info(_ tag: Int, in table: Table) -> ExifTagInfo? {
        switch table {
        case .main: main[tag]
        case .gps: gps[tag]
        case .panasonicRaw: panasonicRaw[tag]
        }
    }

    /// exiftool's name for a tag missing from its tables (shown with `-u`).
    static func unknownName(_ tag: Int, prefix: String = "Exif") -> String {
        let hex = String(tag, radix: 16)
        return prefix + "_0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The name of a main-table tag, resolving the few whose name depends on where they are.
    static func resolveName(_ tag: Int, info: ExifTagInfo?, context: TIFFWalker.IFDContext) -> String {
        let group = context.group
        switch tag {
        case 0x111, 0x117:
            let start = tag == 0x111
            if context.kind == .dng, context.compression == 34892 {
                return start ? "OtherImageStart" : "OtherImageLength"
            }
            let cr2IFD0 = context.kind == .cr2 && group == "IFD0"
            let lossyPreview =
                (context.kind == .dng || context.kind == .tiff) && context.compression == 7
                && context.subfileType != 0
            let leicaPreview = context.kind == .app1 && group == "IFD2"
            if !(cr2IFD0 || lossyPreview || leicaPreview) {
                return start ? "StripOffsets" : "StripByteCounts"
            }
            if context.kind == .cr2 || group != "SubIFD2" {
                return start ? "PreviewImageStart" : "PreviewImageLength"
            }
            return start ? "JpgFromRawStart" : "JpgFromRawLength"
        case 0x201, 0x202:
            let start = tag == 0x201
            if group == "IFD1" || (group == "IFD0" && context.kind == .mrw) {
                return start ? "ThumbnailOffset" : "ThumbnailLength"
            }
            if group == "SubIFD" || group == "IFD2" {
                return start ? "JpgFromRawStart" : "JpgFromRawLength"
            }
            return start ? "OtherImageStart" : "OtherImageLength"
        default:
            return info?.name ?? unknownName(tag)
        }
    }

    /// Tags whose values are offsets: exiftool reports them from the start of the file.
    static func isOffset(_ name: String) -> Bool {
        switch name {
        case "StripOffsets", "ThumbnailOffset", "PreviewImageStart", "JpgFromRawStart", "OtherImageStart",
            "TileOffsets", "FreeOffsets":
            true
        default: false
        }
    }

    /// The data tag (`ThumbnailImage`, ...) whose start offset `name` gives.
    static func dataTag(forStart name: String) -> String? {
        switch name {
        case "ThumbnailOffset": "ThumbnailImage"
        case "PreviewImageStart": "PreviewImage"
        case "JpgFromRawStart": "JpgFromRaw"
        default: nil
        }
    }

    /// The data tag whose length `name` gives.
    static func dataTag(forLength name: String) -> String? {
        switch name {
        case "ThumbnailLength": "ThumbnailImage"
        case "PreviewImageLength": "PreviewImage"
        case "JpgFromRawLength": "JpgFromRaw"
        default: nil
        }
    }

    // MARK: Values

    /// Which of exiftool's tables names an IFD's tags.
    enum Table {
        case main, gps, panasonicRaw
    }

    /// Decodes raw value bytes the way `exiftool -n` prints them. Conversions are chosen by
    /// tag id (this runs for every tag); `name` only matters for the context-named offset tags.
    static func convert(
        tag: Int, name: String, table: Table, format fileFormat: Int, overrideFormat: ExifFormat?, buffer: [UInt8],
        start: Int, size: Int, little: Bool
    ) -> ExifValue {
        let format = overrideFormat?.tiffType ?? fileFormat
        // The value is buffer[start..<start + size]; most tags decode in place, without a copy.
        var raw: [UInt8] { Array(buffer[start..<(start + size)]) }
        switch (table, tag) {
        case (.main, 0x9286), (.gps, 0x1B), (.gps, 0x1C):  // UserComment, GPSProcessingMethod, GPSAreaInformation
            return .text(exifText(raw, little: little))
        case (.main, 0x9C9B...0x9C9F):  // XPTitle, XPComment, XPAuthor, XPKeywords, XPSubject
            return .text(utf16(raw, little: true))
        case (.main, 0x9000), (.main, 0xA000), (.main, 0x0002):  // ExifVersion, FlashpixVersion, InteropVersion
            if format == 7 {
                var end = start + size
                while end > start, buffer[end - 1] == 0 { end -= 1 }
                return .text(latin1OrUTF8(buffer[start..<end]))
            }
        case (.main, 0xA302):  // CFAPattern
            return cfaPattern(raw, little: little)
        case (.main, 0x8298):  // Copyright
            return .text(copyright(raw))
        case (.main, 0xC65D):  // RawDataUniqueID
            return .text(hex(raw).uppercased())
        case (.main, 0xC719), (.main, 0xC71C), (.main, 0xC71D), (.main, 0xC7A7):  // DNG digests
            return .text(hex(raw))
        default: break
        }
        // exiftool reads a single UNDEFINED byte as a number, judged by the type in the file.
        if fileFormat == 7, size == 1 { return .integer(Int64(buffer[start])) }
        let value = decode(format: format, buffer: buffer, start: start, size: size, little: little)
        switch (table, tag) {
        case (.gps, 0x02), (.gps, 0x04), (.gps, 0x14), (.gps, 0x16):  // latitudes and longitudes
            return degrees(value)
        case (.gps, 0x07):  // GPSTimeStamp
            return timeStamp(value)
        case (.main, 0x9201):  // ShutterSpeedValue
            guard let apex = value.doubleValue else { return .integer(0) }
            return abs(apex) < 100 ? .number(pow2(-apex)) : .integer(0)
        case (.main, 0x9202), (.main, 0x9205):  // ApertureValue, MaxApertureValue
            guard let apex = value.doubleValue else { return value }
            return .number(pow2(apex / 2))
        case (.main, 0x111), (.main, 0x117), (.panasonicRaw, 0x111), (.panasonicRaw, 0x117), (.main, 0x120),
            (.main, 0x121), (.main, 0x144), (.main, 0x145):
            // Strip/tile/free offsets and counts longer than 32 characters become binary data.
            guard name.hasPrefix("Strip") || name.hasPrefix("Tile") || name.hasPrefix("Free") else { return value }
            let text = value.exiftoolText
            return text.utf8.count > 32 ? .binary(text.utf8.count) : value
        default:
            return value
        }
    }

    /// Plain decoding by TIFF type: one value alone, several as a list.
    static func decode(format: Int, raw: [UInt8], little: Bool) -> ExifValue {
        decode(format: format, buffer: raw, start: 0, size: raw.count, little: little)
    }

    /// Plain decoding of `buffer[start..<start + size]`.
    static func decode(format: Int, buffer: [UInt8], start: Int, size: Int, little: Bool) -> ExifValue {
        switch format {
        case 2:
            let end = buffer[start..<(start + size)].firstIndex(of: 0) ?? (start + size)
            return .text(latin1OrUTF8(buffer[start..<end]))
        case 7:
            var end = start + size
            while end > start, buffer[end - 1] == 0 { end -= 1 }
            // ASCII is valid UTF-8 and decodes without the generic validation (the usual case).
            if buffer[start..<end].allSatisfy({ $0 < 0x80 }) {
                return .text(String(decoding: buffer[start..<end], as: UTF8.self))
            }
            if let text = String(validating: buffer[start..<end], as: UTF8.self) { return .text(text) }
            // Short opaque values as their bytes; longer ones by size only.
            return size <= 64 ? .list(buffer[start..<(start + size)].map { .integer(Int64($0)) }) : .binary(size)
        default: break
        }
        guard let width = TIFFWalker.formatWidth(format) else { return .binary(size) }
        if size == width { return number(format: format, raw: buffer, at: start, little: little) }
        var values: [ExifValue] = []
        values.reserveCapacity(size / width)
        var at = start
        while at + width <= start + size {
            values.append(number(format: format, raw: buffer, at: at, little: little))
            at += width
        }
        if values.count == 1 { return values[0] }
        return .list(values)
    }

    private static func unsigned(_ raw: [UInt8], _ at: Int, _ width: Int, _ little: Bool) -> UInt64 {
        var result: UInt64 = 0
        for index in 0..<width {
            let byte = UInt64(raw[little ? at + width - 1 - index : at + index])
            result = result << 8 | byte
        }
        return result
    }

    private static func number(format: Int, raw: [UInt8], at: Int, little: Bool) -> ExifValue {
        switch format {
        case 1: return .integer(Int64(raw[at]))
        case 6: return .integer(Int64(Int8(bitPattern: raw[at])))
        case 3: return .integer(Int64(unsigned(raw, at, 2, little)))
        case 8: return .integer(Int64(Int16(truncatingIfNeeded: unsigned(raw, at, 2, little))))
        case 4, 13: return .integer(Int64(unsigned(raw, at, 4, little)))
        case 9: return .integer(Int64(Int32(truncatingIfNeeded: unsigned(raw, at, 4, little))))
        case 5, 10:
            let signed = format == 10
            let rawNumerator = unsigned(raw, at, 4, little)
            let rawDenominator = unsigned(raw, at + 4, 4, little)
            let numerator = signed ? Double(Int32(truncatingIfNeeded: rawNumerator)) : Double(rawNumerator)
            let denominator = signed ? Double(Int32(truncatingIfNeeded: rawDenominator)) : Double(rawDenominator)
            if denominator == 0 {
                return .text(numerator == 0 ? "undef" : (numerator > 0 ? "inf" : "-inf"))
            }
            return .number(numerator / denominator)
        case 11: return .number(Double(Float(bitPattern: UInt32(unsigned(raw, at, 4, little)))))
        case 12: return .number(Double(bitPattern: unsigned(raw, at, 8, little)))
        default: return .integer(0)
        }
    }

    private static func pow2(_ exponent: Double) -> Double { pow(2.0, exponent) }

    static func stripTrailingNULs(_ raw: [UInt8]) -> [UInt8] {
        var end = raw.count
        while end > 0, raw[end - 1] == 0 { end -= 1 }
        return Array(raw[..<end])
    }

    /// UTF-8 when valid, else Latin-1 (old cameras write Latin-1 text).
    static func latin1OrUTF8(_ bytes: some Collection<UInt8>) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// UTF-16 text (Windows XP tags are little-endian UCS-2), cut at the first NUL.
    static func utf16(_ raw: [UInt8], little: Bool) -> String {
        var units: [UInt16] = []
        var at = 0
        while at + 1 < raw.count {
            let unit =
                little ? UInt16(raw[at]) | UInt16(raw[at + 1]) << 8 : UInt16(raw[at]) << 8 | UInt16(raw[at + 1])
            if unit == 0 { break }
            units.append(unit)
            at += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    /// Lowercase hexadecimal digits of the bytes.
    static func hex(_ raw: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".unicodeScalars)
        var text = String.UnicodeScalarView()
        for byte in raw {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(text)
    }

    /// Copyright holds "photographer NUL editor NUL"; exiftool joins the two with a newline.
    static func copyright(_ raw: [UInt8]) -> String {
        func trimmedEnd(_ part: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var part = part
            while part.last == 0x20 { part.removeLast() }
            return part
        }
        let parts = raw.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        var text = latin1OrUTF8(Array(trimmedEnd(parts.first ?? [])))
        if parts.count > 1 {
            let editor = latin1OrUTF8(Array(trimmedEnd(parts[1])))
            text += "\n" + editor
            if text.hasSuffix("\n") { text.removeLast() }
        }
        return text
    }

    /// EXIF text with its 8-byte character-code prefix (UserComment, GPSProcessingMethod).
    static func exifText(_ raw: [UInt8], little: Bool) -> String {
        guard raw.count >= 8 else { return latin1OrUTF8(stripTrailingNULs(raw)) }
        // Slices of `raw`, not copies: UserComment is in most camera files.
        let prefix = raw[0..<8]
        let body = raw[8...]
        func spacesOrNULs(_ bytes: ArraySlice<UInt8>) -> Bool { bytes.allSatisfy { $0 == 0 || $0 == 0x20 } }
        if (prefix.starts(with: "ASCII".utf8) && (prefix[5] == 0 || spacesOrNULs(prefix[5...])))
            || prefix[0] == 0 || spacesOrNULs(prefix[...])
        {
            return latin1OrUTF8(body[..<(body.firstIndex(of: 0) ?? body.endIndex)])
        }
        let rest = Array(body)
        if prefix.starts(with: "UNICODE".utf8) && (prefix[7] == 0 || prefix[7] == 0x20) {
            // MicrosoftPhoto writes little-endian even in big-endian EXIF: guess from the zeros.
            var evenZeros = 0
            var oddZeros = 0
            for (offset, byte) in rest.enumerated() where byte == 0 {
                if offset % 2 == 0 { evenZeros += 1 } else { oddZeros += 1 }
            }
            let bodyLittle = evenZeros == oddZeros ? little : oddZeros > evenZeros
            return utf16(rest, little: bodyLittle)
        }
        if prefix.starts(with: "JIS".utf8) && spacesOrNULs(prefix[3...]) {
            return latin1OrUTF8(stripTrailingNULs(rest))
        }
        return latin1OrUTF8(stripTrailingNULs(raw))
    }

    /// exiftool's CFAPattern: horizontal and vertical repeat, then the colour of each cell.
    static func cfaPattern(_ raw: [UInt8], little: Bool) -> ExifValue {
        guard raw.count >= 4 else { return decode(format: 7, raw: raw, little: little) }
        func u16(_ at: Int, _ littleOrder: Bool) -> Int {
            littleOrder ? Int(raw[at]) | Int(raw[at + 1]) << 8 : Int(raw[at]) << 8 | Int(raw[at + 1])
        }
        var columns = u16(0, little)
        var rows = u16(2, little)
        let cells = raw.count - 4
        if columns * rows > cells {
            let swappedColumns = u16(0, !little)
            let swappedRows = u16(2, !little)
            if swappedColumns * swappedRows <= cells {
                columns = swappedColumns
                rows = swappedRows
            }
        }
        return .list([.integer(Int64(columns)), .integer(Int64(rows))] + raw[4...].map { .integer(Int64($0)) })
    }

    /// Degrees from the three degree/minute/second rationals, or from text as some writers
    /// store it (`52.0138889`, `52 0 50`, `4deg 21' 45.5" W`): exiftool's ToDegrees, which
    /// takes the first three numbers found and drops the sign (the Ref tag carries it).
    static func degrees(_ value: ExifValue) -> ExifValue {
        var numbers: [Double] = []
        switch value {
        case .text(let text):
            guard let found = numbersInText(text) else { return .text("") }
            numbers = found
        case .list(let list):
            for part in list.prefix(3) {
                guard let number = part.doubleValue else { return .text("") }
                numbers.append(number)
            }
        default:
            guard let number = value.doubleValue else { return .text("") }
            numbers = [number]
        }
        guard let first = numbers.first else { return .text("") }
        let minutes = numbers.count > 1 ? numbers[1] : 0
        let seconds = numbers.count > 2 ? numbers[2] : 0
        let degrees = first + (minutes + seconds / 60) / 60
        return .number(degrees < 0 ? -degrees : degrees)
    }

    /// The first three numbers in `text` as exiftool's ToDegrees finds them (Perl's
    /// `[+-]?(?=\d|\.\d)\d*(?:\.\d*)?(?:[Ee][+-]\d+)?`, so an exponent needs its sign), or nil
    /// when there is none or the text holds the word `inf` or `undef`.
    static func numbersInText(_ text: String) -> [Double]? {
        let bytes = Array(text.utf8)
        func isDigit(_ index: Int) -> Bool { index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 }
        func isWord(_ index: Int) -> Bool {
            guard index >= 0, index < bytes.count else { return false }
            let byte = bytes[index] | 0x20
            return isDigit(index) || (byte >= 0x61 && byte <= 0x7A) || bytes[index] == 0x5F
        }
        for word in ["inf", "undef"] {
            let needle = Array(word.utf8)
            var index = 0
            while index + needle.count <= bytes.count {
                if !isWord(index - 1), !isWord(index + needle.count),
                    zip(bytes[index..<(index + needle.count)], needle).allSatisfy({ $0 == $1 })
                {
                    return nil
                }
                index += 1
            }
        }
        var numbers: [Double] = []
        var index = 0
        while index < bytes.count, numbers.count < 3 {
            var start = index
            var cursor = index
            if bytes[cursor] == 0x2B || bytes[cursor] == 0x2D { cursor += 1 }
            guard isDigit(cursor) || (cursor < bytes.count && bytes[cursor] == 0x2E && isDigit(cursor + 1)) else {
                index += 1
                continue
            }
            while isDigit(cursor) { cursor += 1 }
            if cursor < bytes.count, bytes[cursor] == 0x2E {
                cursor += 1
                while isDigit(cursor) { cursor += 1 }
            }
            if cursor + 2 < bytes.count, bytes[cursor] | 0x20 == 0x65,
                bytes[cursor + 1] == 0x2B || bytes[cursor + 1] == 0x2D,
                isDigit(cursor + 2)
            {
                cursor += 2
                while isDigit(cursor) { cursor += 1 }
            }
            if bytes[start] == 0x2B { start += 1 }  // Swift's Double parser takes no leading '+'
            var literal = String(decoding: bytes[start..<cursor], as: UTF8.self)
            if literal.hasSuffix(".") { literal.removeLast() }
            if literal.hasPrefix(".") {
                literal = "0" + literal
            } else if literal.hasPrefix("-.") {
                literal = "-0" + literal.dropFirst()
            }
            guard let number = Double(literal) else { return nil }
            numbers.append(number)
            index = cursor
        }
        return numbers.isEmpty ? nil : numbers
    }

    /// `HH:MM:SS[.fff]` from the three GPSTimeStamp rationals (exiftool's ConvertTimeStamp).
    static func timeStamp(_ value: ExifValue) -> ExifValue {
        let parts: [ExifValue]
        if case .list(let list) = value { parts = list } else { parts = [value] }
        let numbers = parts.prefix(3).map { $0.doubleValue ?? 0 }
        let h = numbers.count > 0 ? numbers[0] : 0
        let m = numbers.count > 1 ? numbers[1] : 0
        let s = numbers.count > 2 ? numbers[2] : 0
        var total = (h * 60 + m) * 60 + s
        // A time of day is never negative (a fuzzed SRATIONAL could be) nor astronomically large.
        guard total.isFinite, total >= 0, total < 1e12 else { return .text("") }
        var hours = Int((total / 3600).rounded(.towardZero))
        total -= Double(hours) * 3600
        var minutes = Int((total / 60).rounded(.towardZero))
        total -= Double(minutes) * 60
        // Nine decimals as exiftool, then trailing zeros dropped.
        let nanos = (total * 1e9).rounded()
        var secondsText: String
        if nanos >= 60e9 {
            secondsText = "00"
            minutes += 1
            if minutes >= 60 {
                minutes -= 60
                hours += 1
            }
        } else {
            let whole = Int64(nanos / 1e9)
            var fraction = String(max(0, min(999_999_999, Int64(nanos) - whole * 1_000_000_000)))
            fraction = String(repeating: "0", count: max(0, 9 - fraction.count)) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            secondsText = (whole < 10 ? "0" : "") + String(whole)
            if !fraction.isEmpty { secondsText += "." + fraction }
        }
        func two(_ n: Int) -> String { n < 10 && n >= 0 ? "0\(n)" : "\(n)" }
        return .text("\(two(hours)):\(two(minutes)):\(secondsText)")
    }
}
