import Foundation

/// Removes EXIF, XMP, IPTC and comments from JPEG, PNG and WebP files by container surgery:
/// the image data is copied byte for byte, never re-encoded.
///
/// - JPEG: drops APP1 (EXIF, XMP), APP2 except ICC profiles (MPF/FlashPix), APP3–APP13
///   (APP13 is IPTC/Photoshop), APP15, and COM segments; keeps JFIF (APP0), ICC (APP2) and
///   Adobe (APP14, needed for colour); stops at the first EOI, so trailing data (MPF preview
///   images, which carry their own EXIF) is dropped.
/// - PNG: drops `eXIf`, `tEXt`, `zTXt` and `iTXt` chunks.
/// - WebP: drops the `EXIF` and `XMP ` chunks and clears their `VP8X` flags.
///
/// Other formats return `nil`: the image store seals those instead (see `ImageStore`).
public enum MetadataStripper {
    /// Whether images of `format` can be stripped (when they are well formed).
    public static func strips(_ format: ImageFormat) -> Bool { ["jpeg", "png", "webp"].contains(format.name) }

    /// The stripped copy of `bytes`, or `nil` when the format is not strippable or the file is
    /// malformed (the caller then keeps no plaintext copy).
    public static func strip(_ bytes: [UInt8], format: ImageFormat) -> [UInt8]? {
        switch format.name {
        case "jpeg": return stripJPEG(bytes)
        case "png": return stripPNG(bytes)
        case "webp": return stripWebP(bytes)
        default: return nil
        }
    }

    static func stripJPEG(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var out: [UInt8] = [0xFF, 0xD8]
        out.reserveCapacity(bytes.count)
        var i = 2
        while i + 2 <= bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let marker = bytes[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }
            if marker == 0xD9 {
                out += [0xFF, 0xD9]
                return out
            }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {
                out += [0xFF, marker]
                i += 2
                continue
            }
            guard i + 4 <= bytes.count else { return nil }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= bytes.count else { return nil }
            let end = i + 2 + length
            if marker == 0xDA {
                // Entropy-coded data follows the scan header: copy through to the next marker
                // that is not a stuffed byte (FF00) or a restart marker (FFD0–FFD7).
                let j = scanEnd(bytes, from: end)
                out += bytes[i..<j]
                i = j
                if j + 1 >= bytes.count {
                    // No EOI: close the image so decoders accept it.
                    out += [0xFF, 0xD9]
                    return out
                }
                continue
            }
            if keepsJPEGSegment(marker: marker, payload: bytes[(i + 4)..<end]) {
                out += bytes[i..<end]
            }
            i = end
        }
        return nil
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

    private static func keepsJPEGSegment(marker: UInt8, payload: ArraySlice<UInt8>) -> Bool {
        switch marker {
        case 0xE0, 0xEE: return true
        case 0xE2: return payload.starts(with: Array("ICC_PROFILE\0".utf8))
        case 0xE1, 0xE3...0xED, 0xEF, 0xFE: return false
        default: return true
        }
    }

    static func stripPNG(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 8 else { return nil }
        var out = Array(bytes[0..<8])
        var i = 8
        let dropped: Set<String> = ["eXIf", "tEXt", "zTXt", "iTXt"]
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let end = i + 12 + length
            guard length >= 0, end <= bytes.count else { return nil }
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            if !dropped.contains(type) { out += bytes[i..<end] }
            i = end
            if type == "IEND" { return out }
        }
        return nil
    }

    static func stripWebP(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 12 else { return nil }
        var body: [UInt8] = Array("WEBP".utf8)
        var i = 12
        var vp8xAt: Int?
        while i + 8 <= bytes.count {
            let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
            let padded = size + (size & 1)
            let end = min(i + 8 + padded, bytes.count)
            guard i + 8 + size <= bytes.count else { return nil }
            let type = String(decoding: bytes[i..<(i + 4)], as: UTF8.self)
            if type != "EXIF" && type != "XMP " {
                if type == "VP8X" { vp8xAt = body.count + 8 }
                body += bytes[i..<end]
            }
            i = end
        }
        if let flags = vp8xAt, flags < body.count {
            // VP8X flags: bit 3 EXIF, bit 2 XMP.
            body[flags] &= ~UInt8(0x0C)
        }
        let size = body.count
        return Array("RIFF".utf8) + [
            UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 24 & 0xFF),
        ]
            + body
    }
}
