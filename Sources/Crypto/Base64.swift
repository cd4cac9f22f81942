private import CBase64

/// Base64 in the two alphabets photoseal meets: urlsafe (keys, Fernet tokens) and standard
/// (`photoseal token` input and output).
///
/// Written out by hand because 1 MiB tokens pass through it and it has to keep pace with AES:
/// encoding looks up 12 bits (two output characters) at a time; decoding runs in C (`CBase64`),
/// 32 characters a step with AVX2, since on a 100-byte Fernet token it otherwise cost more than
/// the AES and a quarter as much as the HMAC.
public enum Base64 {
    /// Which alphabet to use.
    public enum Alphabet: Sendable {
        /// `A-Z a-z 0-9 + /`, RFC 4648 section 4.
        case standard
        /// `A-Z a-z 0-9 - _`, RFC 4648 section 5 (Fernet).
        case urlSafe
    }

    private final class Tables: Sendable {
        let chars: [UInt8]
        let pairs: [UInt16]

        init(_ alphabet: String) {
            chars = Array(alphabet.utf8)
            var pairs = [UInt16](repeating: 0, count: 4096)
            for i in 0..<4096 {
                // Little-endian: the first character of the pair sits in the low byte.
                pairs[i] = UInt16(chars[i >> 6]) | UInt16(chars[i & 63]) << 8
            }
            self.pairs = pairs
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
        let outCount = encodedCount(src.count)
        guard outCount > 0 else { return "" }
        return String(unsafeUninitializedCapacity: outCount) { out in
            encode(src, alphabet: alphabet, into: UnsafeMutableRawPointer(out.baseAddress!))
        }
    }

    /// Appends the base64 of `bytes` (with `=` padding) to `output` as ASCII bytes: the form
    /// for writing many tokens to one buffer without a `String` each.
    public static func encode(
        _ bytes: some Collection<UInt8>, alphabet: Alphabet = .standard, appendingTo output: inout [UInt8]
    ) {
        func run(_ src: UnsafeRawBufferPointer, _ output: inout [UInt8]) {
            let old = output.count
            output.append(contentsOf: repeatElement(0, count: encodedCount(src.count)))
            output.withUnsafeMutableBytes { _ = encode(src, alphabet: alphabet, into: $0.baseAddress! + old) }
        }
        if bytes.withContiguousStorageIfAvailable({ run(UnsafeRawBufferPointer($0), &output) }) == nil {
            Array(bytes).withUnsafeBytes { run($0, &output) }
        }
    }

    /// The length of the padded base64 of `count` bytes.
    static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Encodes `src` into `dst`, which must hold `encodedCount(src.count)` bytes; returns that count.
    @discardableResult
    static func encode(_ src: UnsafeRawBufferPointer, alphabet: Alphabet, into dst: UnsafeMutableRawPointer) -> Int {
        let outCount = encodedCount(src.count)
        guard outCount > 0 else { return 0 }
        let tables = alphabet == .standard ? standard : urlSafe
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
                tables.chars.withUnsafeBufferPointer { chars in
                    dst.storeBytes(of: chars[v >> 18], toByteOffset: o, as: UInt8.self)
                    dst.storeBytes(of: chars[v >> 12 & 63], toByteOffset: o + 1, as: UInt8.self)
                    dst.storeBytes(
                        of: rest == 2 ? chars[v >> 6 & 63] : UInt8(ascii: "="), toByteOffset: o + 2, as: UInt8.self)
                    dst.storeBytes(of: UInt8(ascii: "="), toByteOffset: o + 3, as: UInt8.self)
                }
            }
        }
        return outCount
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
        var ok = true
        let output = [UInt8](unsafeUninitializedCapacity: maxDecodedCount(text.count)) { out, initialized in
            if let n = decode(text, alphabet: alphabet, into: UnsafeMutableRawBufferPointer(out)) {
                initialized = n
            } else {
                ok = false
                initialized = 0
            }
        }
        return ok ? output : nil
    }

    /// Decodes base64 text given as UTF-8 bytes (see `decode(_:alphabet:)`) and appends the
    /// bytes to `output`: the form for reading many lines into one reused buffer.
    /// - Returns: `false`, leaving `output` as it was, when the text is not valid base64.
    public static func decode(
        _ text: some Collection<UInt8>, alphabet: Alphabet = .standard, appendingTo output: inout [UInt8]
    ) -> Bool {
        func run(_ src: UnsafeRawBufferPointer, _ output: inout [UInt8]) -> Bool {
            let old = output.count
            output.append(contentsOf: repeatElement(0, count: maxDecodedCount(src.count)))
            let n = output.withUnsafeMutableBytes {
                decode(src, alphabet: alphabet, into: UnsafeMutableRawBufferPointer(rebasing: $0[old...]))
            }
            output.removeSubrange((old + (n ?? 0))...)
            return n != nil
        }
        if let done = text.withContiguousStorageIfAvailable({ run(UnsafeRawBufferPointer($0), &output) }) {
            return done
        }
        return Array(text).withUnsafeBytes { run($0, &output) }
    }

    /// The most bytes the base64 text of `count` characters can decode to.
    static func maxDecodedCount(_ count: Int) -> Int { count / 4 * 3 + 3 }

    /// Decodes `text` into `out`, which must hold `maxDecodedCount(text.count)` bytes.
    /// - Returns: the number of bytes written, or `nil` when the text is not valid base64.
    static func decode(_ text: UnsafeRawBufferPointer, alphabet: Alphabet, into out: UnsafeMutableRawBufferPointer)
        -> Int?
    {
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
        let outCount = count / 4 * 3 + Swift.max(0, count % 4 - 1)
        precondition(out.count >= outCount, "the output buffer is too small for the decoded bytes")
        let src = UnsafeRawBufferPointer(rebasing: text[lower..<end])
        let full = count - count % 4
        // Whole groups in C (32 characters a step with SIMD), the partial last group here; the
        // tables are not touched, which spares a retain and a release per token.
        let (c62, c63): (UInt8, UInt8) = alphabet == .standard ? (0x2B, 0x2F) : (0x2D, 0x5F)
        if full > 0 {
            let base = src.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let outBase = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard ps_base64_decode_groups(base, full, outBase, c62, c63) == 1 else { return nil }
        }
        /// A character's six bits, or 0xFF outside the alphabet.
        func sixBits(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
            case c62: 62
            case c63: 63
            default: 0xFF
            }
        }
        var bad: UInt8 = 0
        let rest = count - full
        if rest >= 2 {
            let (i, o) = (full, full / 4 * 3)
            let a = sixBits(src[i])
            let b = sixBits(src[i + 1])
            let c = rest == 3 ? sixBits(src[i + 2]) : 0
            bad |= a | b | c
            let v = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6
            out[o] = UInt8(truncatingIfNeeded: v >> 16)
            if rest == 3 { out[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
            // Non-zero trailing bits mean the text was not produced by an encoder.
            if (rest == 2 && v & 0xFFFF != 0) || (rest == 3 && v & 0xFF != 0) { bad |= 0x80 }
        }
        return bad & 0x80 == 0 ? outCount : nil
    }
}
