/// One decoded EXIF value, shaped like `exiftool -n` prints it.
///
/// Rationals become numbers (`0/0` is the text `undef`, `n/0` is `inf`), ASCII is cut at its
/// first NUL, multi-valued tags are lists, and data photoseal deliberately does not decode
/// (thumbnails, maker notes, padding) is reported by size only, as ``binary(_:)``.
public enum ExifValue: Sendable, Hashable {
    /// A whole number (BYTE, SHORT, LONG and their signed forms, or an integral conversion).
    case integer(Int64)
    /// A real number (RATIONAL, FLOAT, DOUBLE and derived values such as APEX conversions).
    case number(Double)
    /// Text (ASCII, decoded UNDEFINED text, `undef`/`inf` for degenerate rationals).
    case text(String)
    /// Several values of one tag, in file order.
    case list([ExifValue])
    /// Bytes not decoded; the payload is their count.
    case binary(Int)

    /// The value as a `Double` when it is numeric (or numeric text), else nil.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        case .text(let text): Double(text.trimmingSpaces())
        case .list, .binary: nil
        }
    }

    /// The value as text when it is a string, else nil.
    public var textValue: String? {
        if case .text(let text) = self { return text }
        return nil
    }

    /// Integers moved by `delta` (file offsets from TIFF-relative ones); other values unchanged.
    func shifted(by delta: Int) -> ExifValue {
        switch self {
        case .integer(let value): .integer(value + Int64(delta))
        case .list(let values): .list(values.map { $0.shifted(by: delta) })
        default: self
        }
    }

    /// The exiftool-style placeholder for undecoded data of `count` bytes.
    static func binaryPlaceholder(_ count: Int) -> String {
        "(Binary data \(count) bytes, use -b option to extract)"
    }

    /// The value as exiftool's text form: lists joined by spaces.
    public var exiftoolText: String {
        switch self {
        case .integer(let value): String(value)
        case .number(let value): JSONWriter.number(value)
        case .text(let text): text
        case .list(let values): values.map(\.exiftoolText).joined(separator: " ")
        case .binary(let count): Self.binaryPlaceholder(count)
        }
    }

    func writeJSON(into out: inout [UInt8]) {
        switch self {
        case .integer(let value): JSONWriter.integer(value, into: &out)
        case .number(let value): JSONWriter.number(value, into: &out)
        case .text(let text): JSONWriter.string(text, into: &out)
        case .list(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.writeJSON(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .binary(let count): JSONWriter.string(Self.binaryPlaceholder(count), into: &out)
        }
    }
}

/// A tiny JSON writer with a stable output: no Foundation encoder, no key reordering.
enum JSONWriter {
    /// Appends the UTF-8 bytes of `text` in one copy (appending `text.utf8` goes byte by byte).
    @inline(__always)
    static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// A finite number as JSON: integral values without a fraction, others in shortest form.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return "\(value)"
    }

    /// Appends ``number(_:)``'s text without making a `String` for it.
    static func number(_ value: Double, into out: inout [UInt8]) {
        guard value.isFinite else {
            append("null", to: &out)
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            integer(Int64(value), into: &out)
            return
        }
        // The same shortest digits as `"\(value)"`, written straight into `out`.
        var sink = ByteSink()
        swap(&sink.bytes, &out)
        value.write(to: &sink)
        swap(&sink.bytes, &out)
    }

    /// Appends the decimal digits of `value` (as `String(value)` spells them).
    static func integer(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // Most values are small (1, 72, 3264): their digits go in one by one.
        if magnitude < 10_000 {
            let zero = UInt8(ascii: "0")
            if magnitude >= 1000 { out.append(zero + UInt8(magnitude / 1000)) }
            if magnitude >= 100 { out.append(zero + UInt8(magnitude / 100 % 10)) }
            if magnitude >= 10 { out.append(zero + UInt8(magnitude / 10 % 10)) }
            out.append(zero + UInt8(magnitude % 10))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 20 digits at most, kept off the heap
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            out.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// A text stream appending to bytes: `Double.write(to:)` hands it the ASCII digits directly.
    private struct ByteSink: TextOutputStream {
        var bytes: [UInt8] = []

        mutating func write(_ string: String) { JSONWriter.append(string, to: &bytes) }

        // The standard library's hook for ASCII text such as number digits; without it the
        // digits of each number would first become a String (a heap allocation when long).
        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }
    }

    /// Appends `text` as a JSON string literal (UTF-8 bytes).
    static func string(_ text: String, into out: inout [UInt8]) {
        var text = text
        let clean = text.withUTF8 { bytes in
            guard !needsEscaping(bytes) else { return false }
            appendJoined(0x22, bytes, 0x22, to: &out)
            return true
        }
        if !clean {
            out.append(UInt8(ascii: "\""))
            let hex = Array("0123456789abcdef".utf8)
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += [0x5C, 0x22]
                case "\\": out += [0x5C, 0x5C]
                case "\n": out += [0x5C, 0x6E]
                case "\r": out += [0x5C, 0x72]
                case "\t": out += [0x5C, 0x74]
                default:
                    let value = scalar.value
                    if value < 0x20 || value == 0x7F || value == 0x2028 || value == 0x2029 {
                        out += [0x5C, 0x75]
                        for shift in [12, 8, 4, 0] { out.append(hex[Int(value >> UInt32(shift)) & 15]) }
                    } else {
                        JSONWriter.append(String(scalar), to: &out)
                    }
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    /// Whether UTF-8 `bytes` hold a control character, quote, backslash, DEL, or U+2028/U+2029
    /// (E2 80 A8/A9), which a JSON string literal must escape.
    private static func needsEscaping(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
                || (byte == 0xE2 && index + 2 < bytes.count && bytes[index + 1] == 0x80
                    && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9))
            {
                return true
            }
            index += 1
        }
        return false
    }

    /// Appends `,"group:name":` (no comma for the first tag) in one copy: appending to an
    /// array costs a call and a uniqueness check each time, about 20 ns for a short string,
    /// and `exif --json` writes a key for every tag of every file.
    static func key(_ group: String, _ name: String, first: Bool, into out: inout [UInt8]) {
        var group = group
        var name = name
        group.withUTF8 { group in
            name.withUTF8 { name in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: group.count + name.count + 5) { scratch in
                    guard let start = scratch.baseAddress else { return }
                    var at = start
                    if !first {
                        at.initialize(to: UInt8(ascii: ","))
                        at += 1
                    }
                    at.initialize(to: UInt8(ascii: "\""))
                    at += 1
                    if let bytes = group.baseAddress { at.initialize(from: bytes, count: group.count) }
                    at += group.count
                    at.initialize(to: UInt8(ascii: ":"))
                    at += 1
                    if let bytes = name.baseAddress { at.initialize(from: bytes, count: name.count) }
                    at += name.count
                    at.initialize(to: UInt8(ascii: "\""))
                    (at + 1).initialize(to: UInt8(ascii: ":"))
                    out.append(contentsOf: UnsafeBufferPointer(start: start, count: at + 2 - start))
                }
            }
        }
    }

    /// Appends `before`, `bytes` and `after` in one copy (short strings) or three.
    private static func appendJoined(
        _ before: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, _ after: UInt8, to out: inout [UInt8]
    ) {
        guard bytes.count <= 256 else {
            out.append(before)
            out.append(contentsOf: bytes)
            out.append(after)
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes.count + 2) { scratch in
            guard let start = scratch.baseAddress else { return }
            start.initialize(to: before)
            if let source = bytes.baseAddress { (start + 1).initialize(from: source, count: bytes.count) }
            (start + 1 + bytes.count).initialize(to: after)
            out.append(contentsOf: UnsafeBufferPointer(start: start, count: bytes.count + 2))
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, NULs and line breaks.
    func trimmingSpaces() -> String {
        let scalars = unicodeScalars
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\0"
        }
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
            let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(scalars[first...last])
    }
}
