/// Base64 in the two alphabets photoseal meets: urlsafe (keys, Fernet tokens) and standard
/// (`photoseal token` input and output).
///
/// Written out by hand because 1 MiB tokens pass through it and it has to keep pace with AES:
/// encoding looks up 12 bits (two output characters) at a time.
public enum Base64 {
    /// Which alphabet to use.
    public enum Alphabet: Sendable {
        /// `A-Z a-z 0-9 + /`, RFC 4648 section 4.
        case standard
        /// `A-Z a-z 0-9 - _`, RFC 4648 section 5 (Fernet).
        case urlSafe
    }

    private struct Tables {
        let chars: [UInt8]
        let pairs: [UInt16]
        let decode: [UInt8]

        init(_ alphabet: String) {
            chars = Array(alphabet.utf8)
            var pairs = [UInt16](repeating: 0, count: 4096)
            for i in 0..<4096 {
                // Little-endian: the first character of the pair sits in the low byte.
                pairs[i] = UInt16(chars[i >> 6]) | UInt16(chars[i & 63]) << 8
            }
            self.pairs = pairs
            var decode = [UInt8](repeating: 0xFF, count: 256)
            for (i, c) in chars.enumerated() { decode[Int(c)] = UInt8(i) }
            self.decode = decode
        }
    }

    private static let standard = Tables("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    private static let urlSafe = Tables("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    /// Encodes bytes with `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>, alphabet: Alphabet = .standard) -> String {
        if let done = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0), alphabet: alphabet) })
        {
            return done
        }
        return Array(bytes).withUnsafeBytes { encode($0, alphabet: alphabet) }
    }

    /// Encodes the bytes in a raw buffer with `=` padding.
    public static func encode(_ src: UnsafeRawBufferPointer, alphabet: Alphabet = .standard) -> String {
        let tables = alphabet == .standard ? standard : urlSafe
        let outCount = (src.count + 2) / 3 * 4
        guard outCount > 0 else { return "" }
        return String(unsafeUninitializedCapacity: outCount) { out in
            let dst = UnsafeMutableRawPointer(out.baseAddress!)
            tables.pairs.withUnsafeBufferPointer { pairs in
                var i = 0
                var o = 0
                let full = src.count - src.count % 3
                // Six input bytes at a time: one unaligned 8-byte load, four 12-bit lookups, one
                // 8-byte store (the two extra bytes loaded are only read, never encoded here).
                while i + 8 <= full {
                    let w = UInt64(bigEndian: src.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    let a = UInt64(pairs[Int(truncatingIfNeeded: w >> 52) & 0xFFF])
                    let b = UInt64(pairs[Int(truncatingIfNeeded: w >> 40) & 0xFFF])
                    let c = UInt64(pairs[Int(truncatingIfNeeded: w >> 28) & 0xFFF])
                    let d = UInt64(pairs[Int(truncatingIfNeeded: w >> 16) & 0xFFF])
                    dst.storeBytes(of: (a | b << 16 | c << 32 | d << 48).littleEndian, toByteOffset: o, as: UInt64.self)
                    i += 6
                    o += 8
                }
                while i < full {
                    let v = Int(src[i]) << 16 | Int(src[i + 1]) << 8 | Int(src[i + 2])
                    let word = UInt32(pairs[v >> 12]) | UInt32(pairs[v & 0xFFF]) << 16
                    dst.storeBytes(of: word.littleEndian, toByteOffset: o, as: UInt32.self)
                    i += 3
                    o += 4
                }
                let rest = src.count - full
                if rest > 0 {
                    let b1 = rest == 2 ? Int(src[i + 1]) : 0
                    let v = Int(src[i]) << 16 | b1 << 8
                    let chars = tables.chars
                    out[o] = chars[v >> 18]
                    out[o + 1] = chars[v >> 12 & 63]
                    out[o + 2] = rest == 2 ? chars[v >> 6 & 63] : UInt8(ascii: "=")
                    out[o + 3] = UInt8(ascii: "=")
                }
            }
            return outCount
        }
    }

    /// Decodes text in the given alphabet; padding may be present or left off, and surrounding
    /// ASCII white space is ignored.
    ///
    /// - Returns: the bytes, or `nil` when the text has a character outside the alphabet, a
    ///   misplaced `=`, non-zero trailing bits, or a length no encoder produces.
    public static func decode(_ text: some StringProtocol, alphabet: Alphabet = .standard) -> [UInt8]? {
        if let done = text.utf8.withContiguousStorageIfAvailable({
            decode(UnsafeRawBufferPointer($0), alphabet: alphabet)
        }) {
            return done
        }
        return Array(text.utf8).withUnsafeBytes { decode($0, alphabet: alphabet) }
    }

    /// Decodes base64 text given as raw UTF-8 bytes (see `decode(_:alphabet:)`).
    public static func decode(_ text: UnsafeRawBufferPointer, alphabet: Alphabet = .standard) -> [UInt8]? {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        var lower = 0
        var upper = text.count
        while lower < upper && isSpace(text[lower]) { lower += 1 }
        while upper > lower && isSpace(text[upper - 1]) { upper -= 1 }
        var end = upper
        while end > lower && text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        let count = end - lower
        let padding = upper - end
        if padding > 2 || (padding > 0 && (count + padding) % 4 != 0) || count % 4 == 1 { return nil }
        let table = alphabet == .standard ? standard.decode : urlSafe.decode
        let outCount = count / 4 * 3 + Swift.max(0, count % 4 - 1)
        let src = UnsafeRawBufferPointer(rebasing: text[lower..<end])
        var ok = true
        let output = [UInt8](unsafeUninitializedCapacity: outCount) { out, initialized in
            table.withUnsafeBufferPointer { t in
                var i = 0
                var o = 0
                let full = count - count % 4
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
                let rest = count - full
                if rest >= 2 {
                    let a = t[Int(src[i])]
                    let b = t[Int(src[i + 1])]
                    let c = rest == 3 ? t[Int(src[i + 2])] : 0
                    bad |= a | b | c
                    let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
                    out[o] = UInt8(truncatingIfNeeded: v >> 16)
                    if rest == 3 { out[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
                    // Non-zero trailing bits mean the text was not produced by an encoder.
                    if (rest == 2 && v & 0xFFFF != 0) || (rest == 3 && v & 0xFF != 0) { bad |= 0x80 }
                }
                ok = bad & 0x80 == 0
            }
            initialized = outCount
        }
        return ok ? output : nil
    }
}
