/// Base64 in the two alphabets photoseal meets: urlsafe (keys, Fernet tokens) and standard
/// (`photoseal token` input and output).
///
/// Written out by hand because 1 MiB tokens pass through it and it has to keep pace with AES.
public enum Base64 {
    /// Which alphabet to use.
    public enum Alphabet: Sendable {
        /// `A-Z a-z 0-9 + /`, RFC 4648 section 4.
        case standard
        /// `A-Z a-z 0-9 - _`, RFC 4648 section 5 (Fernet).
        case urlSafe
    }

    private static let standardTable = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSafeTable = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let decodeTables: (standard: [UInt8], urlSafe: [UInt8]) = {
        func table(_ chars: [UInt8]) -> [UInt8] {
            var t = [UInt8](repeating: 0xFF, count: 256)
            for (i, c) in chars.enumerated() { t[Int(c)] = UInt8(i) }
            return t
        }
        return (table(standardTable), table(urlSafeTable))
    }()

    /// Encodes bytes with `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>, alphabet: Alphabet = .standard) -> String {
        let input = Array(bytes)
        let outCount = (input.count + 2) / 3 * 4
        let table = alphabet == .standard ? standardTable : urlSafeTable
        return String(unsafeUninitializedCapacity: outCount) { out in
            input.withUnsafeBufferPointer { src in
                table.withUnsafeBufferPointer { t in
                    var i = 0
                    var o = 0
                    let full = src.count - src.count % 3
                    while i < full {
                        let v = UInt32(src[i]) << 16 | UInt32(src[i + 1]) << 8 | UInt32(src[i + 2])
                        out[o] = t[Int(v >> 18)]
                        out[o + 1] = t[Int(v >> 12 & 63)]
                        out[o + 2] = t[Int(v >> 6 & 63)]
                        out[o + 3] = t[Int(v & 63)]
                        i += 3
                        o += 4
                    }
                    let rest = src.count - full
                    if rest > 0 {
                        let b1 = rest == 2 ? UInt32(src[i + 1]) : 0
                        let v = UInt32(src[i]) << 16 | b1 << 8
                        out[o] = t[Int(v >> 18)]
                        out[o + 1] = t[Int(v >> 12 & 63)]
                        out[o + 2] = rest == 2 ? t[Int(v >> 6 & 63)] : UInt8(ascii: "=")
                        out[o + 3] = UInt8(ascii: "=")
                    }
                }
            }
            return outCount
        }
    }

    /// Decodes text in the given alphabet; padding may be present or left off.
    ///
    /// - Returns: the bytes, or `nil` when the text has a character outside the alphabet, a
    ///   misplaced `=`, or a length no encoder produces.
    public static func decode(_ text: some StringProtocol, alphabet: Alphabet = .standard) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        while utf8.last == UInt8(ascii: "=") { utf8.removeLast() }
        let padding = text.utf8.count - utf8.count
        if padding > 2 || (padding > 0 && (utf8.count + padding) % 4 != 0) { return nil }
        if utf8.count % 4 == 1 { return nil }
        let table = alphabet == .standard ? decodeTables.standard : decodeTables.urlSafe
        let outCount = utf8.count / 4 * 3 + Swift.max(0, utf8.count % 4 - 1)
        var output = [UInt8](repeating: 0, count: outCount)
        let ok = utf8.withUnsafeBufferPointer { src -> Bool in
            table.withUnsafeBufferPointer { t -> Bool in
                output.withUnsafeMutableBufferPointer { out -> Bool in
                    var i = 0
                    var o = 0
                    let full = src.count - src.count % 4
                    var bad: UInt8 = 0
                    while i < full {
                        let a = t[Int(src[i])]
                        let b = t[Int(src[i + 1])]
                        let c = t[Int(src[i + 2])]
                        let d = t[Int(src[i + 3])]
                        bad |= a | b | c | d
                        let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                        out[o] = UInt8(truncatingIfNeeded: v >> 16)
                        out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
                        out[o + 2] = UInt8(truncatingIfNeeded: v)
                        i += 4
                        o += 3
                    }
                    if bad & 0x80 != 0 { return false }
                    let rest = src.count - full
                    if rest >= 2 {
                        let a = t[Int(src[i])]
                        let b = t[Int(src[i + 1])]
                        let c = rest == 3 ? t[Int(src[i + 2])] : 0
                        if (a | b | c) & 0x80 != 0 { return false }
                        let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                        out[o] = UInt8(truncatingIfNeeded: v >> 16)
                        if rest == 3 { out[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
                        // Non-canonical trailing bits mean the text was not produced by an encoder.
                        if rest == 2 && v & 0xFFFF != 0 { return false }
                        if rest == 3 && v & 0xFF != 0 { return false }
                    }
                    return true
                }
            }
        }
        return ok ? output : nil
    }
}
