import Crypto
import Foundation

/// Keeps only what decoding needs in JPEG, PNG and WebP files, by container surgery: the image
/// data is copied byte for byte, never re-encoded. Everything is dropped unless it is on the
/// allow-list below, so metadata of a kind nobody thought of is dropped too.
///
/// - JPEG: SOI, DQT, SOFn, DHT, DAC, DRI, DNL, DHP, EXP, SOS and the scan data, RSTn, EOI;
///   the first JFIF APP0, rebuilt with its version and density only (no thumbnail); the first
///   Adobe APP14, cut to its 12 bytes (its colour transform says how to read 3 and 4 component
///   images); an ICC profile (APP2), see below. Dropped: EXIF and XMP (APP1), MPF and FlashPix
///   (APP2), IPTC (APP13), CIFF and JFXX (APP0; a JFXX thumbnail can carry its own EXIF),
///   every other APPn, JPGn (F0–FD), COM, and anything after EOI (MPF previews).
/// - PNG: IHDR, PLTE, IDAT, IEND, tRNS, and the colour and layout chunks cHRM, gAMA, sRGB,
///   sBIT, cICP, mDCV, cLLI, pHYs, bKGD; APNG's acTL, fcTL, fdAT. Dropped: tEXt, zTXt, iTXt,
///   eXIf, tIME, caBX (C2PA), every other chunk, and iCCP (its name is free text and its
///   profile is compressed; photoseal has no inflate to rebuild it).
/// - WebP: VP8, VP8L, ALPH, ANIM, ANMF (frames keep only their image chunks), VP8X with the
///   EXIF and XMP flags cleared, and ICCP (see below).
/// - An ICC profile is kept as it is when it is a known standard profile (sRGB
///   IEC61966-2.1, Adobe RGB (1998), told by the hash of its contents); any other is rebuilt
///   with its colour tags only (no `desc`, `cprt`, `dmnd`, `dmdd` free text such as "Camera of
///   … SN 123456", no device, creator or date in its header), or dropped when it has none.
///
/// Stripping is idempotent: a stripped file strips to itself, which is how `audit` tells that a
/// stored image holds nothing it should not (``metadata(in:format:)``).
///
/// Other formats return `nil`: the image store seals those instead (see `ImageStore`).
public enum MetadataStripper {
    /// Whether images of `format` can be stripped (when they are well formed).
    public static func strips(_ format: ImageFormat) -> Bool { ["jpeg", "png", "webp"].contains(format.name) }

    /// The stripped copy of `bytes`, or `nil` when the format is not strippable or the file is
    /// malformed (the caller then keeps no plaintext copy).
    public static func strip(_ bytes: [UInt8], format: ImageFormat) -> [UInt8]? {
        var dropped = Dropped(recording: false)
        return strip(bytes, format: format, dropped: &dropped)
    }

    /// What stripping `bytes` would remove, by kind (`exif`, `xmp`, `iptc`, `comment`, `ciff`,
    /// `jfxx`, `jfif-extra`, `icc-text`, `png-tEXt`, `webp-EXIF`, `trailing-data`, …; never a
    /// value), sorted; empty when the file is already stripped. `nil` when the format is not
    /// strippable or the file is malformed.
    public static func metadata(in bytes: [UInt8], format: ImageFormat) -> [String]? {
        var dropped = Dropped(recording: true)
        guard let stripped = strip(bytes, format: format, dropped: &dropped) else { return nil }
        if stripped == bytes { return [] }
        // Something changed that no rule named (a byte of padding, a reordered segment).
        return dropped.kinds.isEmpty ? ["other"] : dropped.kinds.sorted()
    }

    /// The kinds of what a strip dropped; recorded only when asked (the audit), so the import's
    /// hot path does no bookkeeping.
    struct Dropped {
        let recording: Bool
        var kinds: Set<String> = []

        mutating func add(_ kind: @autoclosure () -> String) {
            if recording { kinds.insert(kind()) }
        }
    }

    static func strip(_ bytes: [UInt8], format: ImageFormat, dropped: inout Dropped) -> [UInt8]? {
        switch format.name {
        case "jpeg": return stripJPEG(bytes, dropped: &dropped)
        case "png": return stripPNG(bytes, dropped: &dropped)
        case "webp": return stripWebP(bytes, dropped: &dropped)
        default: return nil
        }
    }

    // MARK: - JPEG

    static func stripJPEG(_ bytes: [UInt8]) -> [UInt8]? {
        var dropped = Dropped(recording: false)
        return stripJPEG(bytes, dropped: &dropped)
    }

    static func stripJPEG(_ bytes: [UInt8], dropped: inout Dropped) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        return stripJPEG(bytes, into: &out, dropped: &dropped) ? out : nil
    }

    /// `strip(_:format:)` for bytes about to be written with `O_DIRECT`: a JPEG's stripped bytes
    /// start at an address aligned to `alignment` (the array keeps room for them and zeros
    /// before them), so the write takes them from where they are instead of from an aligned
    /// copy (2.3 % of `photoseal run`'s CPU for 5,000 ~200 KB images). The alignment is best
    /// effort: the writer checks it. Other formats come as `strip(_:format:)` makes them.
    static func strip(_ bytes: [UInt8], format: ImageFormat, alignedTo alignment: Int) -> ArraySlice<UInt8>? {
        guard format.name == "jpeg" else { return strip(bytes, format: format)?[...] }
        var out: [UInt8] = []
        // A stripped JPEG is at most 2 bytes longer than the original (an end marker added to
        // one that lacks it); the room keeps the array from moving while it is filled.
        out.reserveCapacity(alignment + bytes.count + 64)
        let address = out.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        let lead = (alignment - Int(address % UInt(alignment))) % alignment
        out.append(contentsOf: repeatElement(0, count: lead))
        var dropped = Dropped(recording: false)
        return stripJPEG(bytes, into: &out, dropped: &dropped) ? out[lead...] : nil
    }

    /// Appends the stripped JPEG to `out`; `false` when `bytes` is not a JPEG this can read
    /// (`out` then holds a part of it).
    private static func stripJPEG(_ bytes: [UInt8], into out: inout [UInt8], dropped: inout Dropped) -> Bool {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return false }
        out += [0xFF, 0xD8]
        // The ICC profile may span several APP2 segments: gather it before writing the first.
        var icc = iccProfile(in: bytes, dropped: &dropped)
        var placedICC = false
        var keptJFIF = false
        var keptAdobe = false
        var sawFrame = false
        var sawScan = false
        var i = 2
        while i + 2 <= bytes.count {
            guard bytes[i] == 0xFF else { return false }
            let marker = bytes[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }
            if marker == 0xD9 {
                if i + 2 < bytes.count { dropped.add("trailing-data") }
                out += [0xFF, 0xD9]
                return sawFrame && sawScan
            }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {
                out += [0xFF, marker]
                i += 2
                continue
            }
            guard i + 4 <= bytes.count else { return false }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= bytes.count else { return false }
            let end = i + 2 + length
            let payload = bytes[(i + 4)..<end]
            switch marker {
            case 0xDA:
                // Entropy-coded data follows the scan header: copy through to the next marker
                // that is not a stuffed byte (FF00) or a restart marker (FFD0–FFD7).
                sawScan = true
                let j = scanEnd(bytes, from: end)
                out += bytes[i..<j]
                i = j
                if j + 1 >= bytes.count {
                    // No EOI: close the image so decoders accept it.
                    out += [0xFF, 0xD9]
                    return sawFrame
                }
                continue
            case 0xC0...0xCF where marker != 0xC8:
                // SOFn, DHT (C4) and DAC (CC); C8 is reserved (JPG).
                if marker != 0xC4 && marker != 0xCC { sawFrame = true }
                out += bytes[i..<end]
            case 0xDB, 0xDC, 0xDD, 0xDE, 0xDF:
                // DQT, DNL, DRI, DHP, EXP.
                out += bytes[i..<end]
            case 0xE0 where !keptJFIF && payload.starts(with: jfif) && payload.count >= 14:
                keptJFIF = true
                let base = payload.startIndex
                // "JFIF\0", version (2), units (1), X and Y density (2 each), no thumbnail.
                let reduced = Array(payload[base..<(base + 12)]) + [0, 0]
                if payload.count != 14 || payload[base + 12] != 0 || payload[base + 13] != 0 {
                    dropped.add("jfif-extra")
                }
                out += [0xFF, 0xE0, 0x00, 0x10] + reduced
            case 0xEE where !keptAdobe && payload.starts(with: adobe) && payload.count >= 12:
                keptAdobe = true
                if payload.count != 12 { dropped.add("adobe-extra") }
                out += [0xFF, 0xEE, 0x00, 0x0E] + payload.prefix(12)
            case 0xE2 where payload.starts(with: iccPrefix):
                // The whole profile goes where its first segment was.
                if let profile = icc {
                    out += iccSegments(for: profile)
                    icc = nil
                    placedICC = true
                } else if !placedICC {
                    dropped.add("icc-dropped")
                }
            default:
                dropped.add(jpegKind(marker: marker, payload: payload))
            }
            i = end
        }
        return false
    }

    private static let jfif = Array("JFIF\0".utf8)
    private static let adobe = Array("Adobe".utf8)
    private static let iccPrefix = Array("ICC_PROFILE\0".utf8)

    /// The kind of a dropped JPEG segment, from its marker and signature.
    static func jpegKind(marker: UInt8, payload: ArraySlice<UInt8>) -> String {
        func starts(_ text: String) -> Bool { payload.starts(with: text.utf8) }
        switch marker {
        case 0xE0:
            if starts("JFXX\0") { return "jfxx" }
            if starts("JFIF\0") { return "jfif-extra" }
            if payload.dropFirst(6).starts(with: "HEAP".utf8) { return "ciff" }
            return "jpeg-app0"
        case 0xE1:
            if starts("Exif\0") { return "exif" }
            if starts("http://ns.adobe.com/") { return "xmp" }
            return "jpeg-app1"
        case 0xE2:
            if starts("MPF\0") { return "mpf" }
            if starts("FPXR\0") { return "flashpix" }
            return "jpeg-app2"
        case 0xED: return starts("Photoshop 3.0") ? "iptc" : "jpeg-app13"
        case 0xEE: return "adobe-extra"
        case 0xE3...0xEF: return "jpeg-app\(marker - 0xE0)"
        case 0xF0...0xFD: return "jpeg-jpg\(marker - 0xF0)"
        case 0xFE: return "comment"
        default: return "jpeg-marker-" + String(marker, radix: 16)
        }
    }

    /// The cleaned ICC profile of a JPEG's header (the APP2 segments before the first scan),
    /// `nil` when there is none or it cannot be kept.
    static func iccProfile(in bytes: [UInt8], dropped: inout Dropped) -> [UInt8]? {
        var chunks: [Int: ArraySlice<UInt8>] = [:]
        var count = 0
        var i = 2
        while i + 4 <= bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }
            if marker == 0xDA || marker == 0xD9 { break }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {
                i += 2
                continue
            }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= bytes.count else { break }
            let payload = bytes[(i + 4)..<(i + 2 + length)]
            if marker == 0xE2, payload.starts(with: iccPrefix), payload.count >= 14 {
                let base = payload.startIndex
                let sequence = Int(payload[base + 12])
                count = max(count, Int(payload[base + 13]))
                chunks[sequence] = payload.dropFirst(14)
            }
            i += 2 + length
        }
        guard count > 0 else { return nil }
        var profile: [UInt8] = []
        for sequence in 1...count {
            guard let chunk = chunks[sequence] else {
                dropped.add("icc-incomplete")
                return nil
            }
            profile += chunk
        }
        guard let clean = cleanICC(profile, dropped: &dropped) else {
            dropped.add("icc-dropped")
            return nil
        }
        return clean
    }

    /// APP2 segments holding `profile` (at most 65,519 bytes of it each).
    static func iccSegments(for profile: [UInt8]) -> [UInt8] {
        let most = 65_519
        let count = (profile.count + most - 1) / most
        var out: [UInt8] = []
        for index in 0..<count {
            let part = profile[(index * most)..<min(profile.count, (index + 1) * most)]
            let length = 2 + iccPrefix.count + 2 + part.count
            out += [0xFF, 0xE2, UInt8(length >> 8), UInt8(length & 0xFF)] + iccPrefix
            out += [UInt8(index + 1), UInt8(count)] + part
        }
        return out
    }

    /// Where the entropy-coded data starting at `start` ends: the first 0xFF followed by a byte
    /// that is not a stuffed 0x00, a restart marker (D0–D7) or fill (FF); `bytes.count - 1` or
    /// more when there is none. Jumps from one 0xFF to the next with `memchr`.
    static func scanEnd(_ bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return start }
            var j = start
            while j + 1 < buffer.count {
                guard let found = memchr(base + j, 0xFF, buffer.count - 1 - j) else { return buffer.count - 1 }
                j = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                let next = buffer[j + 1]
                if next != 0x00 && !(0xD0...0xD7).contains(next) && next != 0xFF { return j }
                j += 1
            }
            return max(j, start)
        }
    }

    // MARK: - ICC

    /// The SHA-256 of known standard profiles, taken with the header fields a profile ID
    /// leaves out (flags, rendering intent, the ID) zeroed: HP's sRGB IEC61966-2.1 (3,144
    /// bytes, in most camera files) and Adobe RGB (1998) (560 bytes).
    static let standardProfiles: Set<String> = [
        "2b3aa1645779a9e634744faf9b01e9102b0c9b88fd6deced7934df86b949af7e",
        "e5f6ffb83b6d3491301dd750975684cc5cc2a1951c994a14b08cfdaa0d75a041",
    ]

    /// Tags that describe colour, kept in a rebuilt profile.
    static let colourTags: Set<String> = [
        "A2B0", "A2B1", "A2B2", "B2A0", "B2A1", "B2A2", "D2B0", "D2B1", "D2B2", "D2B3", "B2D0", "B2D1", "B2D2",
        "B2D3", "rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC", "kTRC", "wtpt", "bkpt", "chad", "chrm", "lumi",
        "meas", "tech", "view", "gamt", "pre0", "pre1", "pre2", "rig0", "rig2", "ciis", "cicp",
    ]

    /// Tag types that hold numbers only (no text type is kept, whatever tag it claims to be).
    static let numericTypes: Set<String> = [
        "XYZ ", "curv", "para", "mft1", "mft2", "mAB ", "mBA ", "mpet", "sf32", "chrm", "meas", "sig ", "view",
        "cicp", "ui08", "ui16", "ui32", "uf32",
    ]

    /// `profile` when it is a known standard profile, else rebuilt with its colour tags only
    /// and its header's device, creator, date and ID zeroed; `nil` when it is malformed or has
    /// no colour tag.
    static func cleanICC(_ profile: [UInt8], dropped: inout Dropped) -> [UInt8]? {
        func be32(_ at: Int) -> Int {
            Int(profile[at]) << 24 | Int(profile[at + 1]) << 16 | Int(profile[at + 2]) << 8 | Int(profile[at + 3])
        }
        guard profile.count >= 132 else { return nil }
        let size = be32(0)
        guard size >= 132, size <= profile.count, profile[36..<40].elementsEqual("acsp".utf8) else { return nil }
        if size != profile.count { dropped.add("icc-trailing-data") }
        var normalized = Array(profile[0..<size])
        for range in [44..<48, 64..<68, 84..<100] {
            normalized.replaceSubrange(range, with: repeatElement(0, count: range.count))
        }
        if let hash = try? SHA256.hex(of: normalized), standardProfiles.contains(hash) {
            return Array(profile[0..<size])
        }

        let tagCount = be32(128)
        guard tagCount <= 256, 132 + 12 * tagCount <= size else { return nil }
        var kept: [(signature: ArraySlice<UInt8>, offset: Int, length: Int)] = []
        for index in 0..<tagCount {
            let entry = 132 + 12 * index
            let signature = profile[entry..<(entry + 4)]
            let offset = be32(entry + 4)
            let length = be32(entry + 8)
            guard offset >= 128, length >= 8, offset + length <= size else { return nil }
            let name = String(decoding: signature, as: UTF8.self)
            let type = String(decoding: profile[offset..<(offset + 4)], as: UTF8.self)
            if colourTags.contains(name) && numericTypes.contains(type) {
                kept.append((signature, offset, length))
            } else {
                dropped.add(
                    ["desc", "cprt", "dmnd", "dmdd", "vued", "dscm", "mmod"].contains(name) ? "icc-text" : "icc-tag")
            }
        }
        guard !kept.isEmpty else { return nil }
        var header = Array(profile[0..<128])
        for range in [24..<36, 48..<56, 80..<100] where header[range].contains(where: { $0 != 0 }) {
            dropped.add("icc-header")
            header.replaceSubrange(range, with: repeatElement(0, count: range.count))
        }
        // Tags sharing data keep sharing it; data is 4-byte aligned, in the order first named.
        var table: [UInt8] = []
        var data: [UInt8] = []
        var placed: [Int: Int] = [:]
        let dataStart = 132 + 12 * kept.count
        func append32(_ value: Int, to bytes: inout [UInt8]) {
            bytes += [
                UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF),
            ]
        }
        for tag in kept {
            let key = tag.offset << 32 | tag.length
            let at: Int
            if let earlier = placed[key] {
                at = earlier
            } else {
                at = dataStart + data.count
                placed[key] = at
                data += profile[tag.offset..<(tag.offset + tag.length)]
                while data.count % 4 != 0 { data.append(0) }
            }
            table += tag.signature
            append32(at, to: &table)
            append32(tag.length, to: &table)
        }
        var out = header
        append32(kept.count, to: &out)
        out += table + data
        let total = out.count
        out.replaceSubrange(
            0..<4,
            with: [UInt8(total >> 24 & 0xFF), UInt8(total >> 16 & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total & 0xFF)])
        return out
    }

    // MARK: - PNG

    /// Chunks a PNG decoder needs, or that say how to show the pixels, in colour and layout.
    static let pngChunks: Set<String> = [
        "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "cHRM", "gAMA", "sRGB", "sBIT", "cICP", "mDCV", "cLLI", "pHYs",
        "bKGD", "acTL", "fcTL", "fdAT",
    ]

    static func stripPNG(_ bytes: [UInt8], dropped: inout Dropped) -> [UInt8]? {
        guard bytes.count >= 8 else { return nil }
        var out = Array(bytes[0..<8])
        var i = 8
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let end = i + 12 + length
            guard end <= bytes.count else { return nil }
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            if pngChunks.contains(type) {
                out += bytes[i..<end]
            } else {
                dropped.add("png-" + printable(bytes[(i + 4)..<(i + 8)]))
            }
            i = end
            if type == "IEND" {
                if i < bytes.count { dropped.add("trailing-data") }
                return out
            }
        }
        return nil
    }

    /// A chunk type as text when it is four ASCII letters, else in hex (a crafted file's type
    /// could be any bytes).
    static func printable(_ type: ArraySlice<UInt8>) -> String {
        if type.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x20 }) {
            return String(decoding: type, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
        return type.map { String(format: "%02x", $0) }.joined()
    }

    // MARK: - WebP

    static func stripWebP(_ bytes: [UInt8], dropped: inout Dropped) -> [UInt8]? {
        guard bytes.count >= 12 else { return nil }
        let riff = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
        let limit = min(bytes.count, 8 + riff)
        if limit < bytes.count { dropped.add("trailing-data") }
        var body: [UInt8] = Array("WEBP".utf8)
        var vp8xAt: Int?
        var keptICC = false
        var i = 12
        while i + 8 <= limit {
            let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
            guard i + 8 + size <= limit else { return nil }
            let end = min(i + 8 + size + (size & 1), limit)
            let type = String(decoding: bytes[i..<(i + 4)], as: UTF8.self)
            // A kept chunk is copied with its pad byte, added when the input lacks it.
            func keep() {
                body += bytes[i..<(i + 8 + size)]
                if size & 1 == 1 { body.append(0) }
            }
            switch type {
            case "VP8 ", "VP8L", "ALPH", "ANIM":
                keep()
            case "VP8X":
                // One VP8X, the first: a later one would keep its metadata flags.
                if vp8xAt == nil {
                    vp8xAt = body.count + 8
                    keep()
                } else {
                    dropped.add("webp-VP8X")
                }
            case "ANMF":
                // A frame: 16 bytes of position and timing, then its own chunks.
                guard size >= 16 else { return nil }
                var frame = Array(bytes[(i + 8)..<(i + 24)])
                var j = i + 24
                let frameEnd = i + 8 + size
                while j + 8 <= frameEnd {
                    let inner =
                        Int(bytes[j + 4]) | Int(bytes[j + 5]) << 8 | Int(bytes[j + 6]) << 16 | Int(bytes[j + 7]) << 24
                    guard j + 8 + inner <= frameEnd else { return nil }
                    let innerEnd = min(j + 8 + inner + (inner & 1), frameEnd)
                    let innerType = String(decoding: bytes[j..<(j + 4)], as: UTF8.self)
                    if ["VP8 ", "VP8L", "ALPH"].contains(innerType) {
                        frame += bytes[j..<innerEnd]
                    } else {
                        dropped.add("webp-" + printable(bytes[j..<(j + 4)]))
                    }
                    j = innerEnd
                }
                body += Array("ANMF".utf8) + le32(frame.count) + frame
                if frame.count & 1 == 1 { body.append(0) }
            case "ICCP":
                if !keptICC, let clean = cleanICC(Array(bytes[(i + 8)..<(i + 8 + size)]), dropped: &dropped) {
                    keptICC = true
                    body += Array("ICCP".utf8) + le32(clean.count) + clean
                    if clean.count & 1 == 1 { body.append(0) }
                } else {
                    dropped.add("icc-dropped")
                }
            default:
                dropped.add("webp-" + printable(bytes[i..<(i + 4)]))
            }
            i = end
        }
        if let flags = vp8xAt, flags < body.count {
            // VP8X flags: ICC 0x20, alpha 0x10, EXIF 0x08, XMP 0x04, animation 0x02; the rest
            // reserved. Only alpha, animation and (when a profile is kept) ICC stay.
            let kept = body[flags] & (keptICC ? 0x32 : 0x12)
            if kept != body[flags] { dropped.add("webp-flags") }
            body[flags] = kept
        }
        return Array("RIFF".utf8) + le32(body.count) + body
    }

    private static func le32(_ value: Int) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24 & 0xFF)]
    }
}
