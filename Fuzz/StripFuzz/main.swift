// libFuzzer entry for the metadata stripper; built by scripts/fuzz-strip.sh together with the
// image sources of Sources/Ingest/Images (outside SwiftPM, so `swift build` never sees it).
//
// The oracle, for every input the stripper accepts: stripping its output changes nothing, and
// a walk of the output written here, apart from the stripper's own code, finds only what
// decoding needs. With STRIP_FUZZ_OUT=DIR each input and its stripped copy are written there,
// so that the script can check them with exiftool (no metadata group but the allowed ones) and
// Pillow (the same pixels).
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStrip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let format = ImageFormat.sniff(bytes.prefix(16)), MetadataStripper.strips(format),
        let stripped = MetadataStripper.strip(bytes, format: format)
    else { return 0 }
    if MetadataStripper.strip(stripped, format: format) != stripped {
        fatalError("stripping a stripped \(format.name) changed it")
    }
    if let problem = StructureCheck.problem(in: stripped, format: format.name) {
        fatalError("stripped \(format.name): \(problem)")
    }
    if let dir = ProcessInfo.processInfo.environment["STRIP_FUZZ_OUT"] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let name = String(hash, radix: 16)
        FileManager.default.createFile(
            atPath: "\(dir)/\(name).orig.\(format.fileExtension)", contents: Data(bytes))
        FileManager.default.createFile(
            atPath: "\(dir)/\(name).stripped.\(format.fileExtension)", contents: Data(stripped))
    }
    return 0
}

/// What a stripped file may hold, by container, read without the stripper's code.
enum StructureCheck {
    static func problem(in b: [UInt8], format: String) -> String? {
        switch format {
        case "jpeg": return jpeg(b)
        case "png": return png(b)
        case "webp": return webp(b)
        default: return "unexpected format"
        }
    }

    static func be16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    static func be32(_ b: [UInt8], _ i: Int) -> Int { be16(b, i) << 16 | be16(b, i + 2) }
    static func le32(_ b: [UInt8], _ i: Int) -> Int {
        Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24
    }
    static func starts(_ b: ArraySlice<UInt8>, _ text: String) -> Bool { b.starts(with: Array(text.utf8)) }

    static func jpeg(_ b: [UInt8]) -> String? {
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return "no SOI" }
        // SOFn, DHT, DAC, DQT, DNL, DRI, DHP, EXP: what decoding needs besides SOS.
        let tables: Set<UInt8> = Set(0xC0...0xCF).subtracting([0xC8]).union([0xDB, 0xDC, 0xDD, 0xDE, 0xDF])
        var i = 2
        while i + 2 <= b.count {
            guard b[i] == 0xFF else { return "no marker at \(i)" }
            let marker = b[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }
            if marker == 0xD9 { return i + 2 == b.count ? nil : "bytes after EOI" }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 {
                i += 2
                continue
            }
            guard i + 4 <= b.count else { return "cut segment" }
            let end = i + 2 + be16(b, i + 2)
            guard end <= b.count else { return "segment past the end" }
            let payload = b[(i + 4)..<end]
            switch marker {
            case 0xDA:
                // Skip the entropy-coded data: to the next FF followed by a byte that is not a
                // stuffed 00, a fill FF or a restart marker.
                var j = end
                while j + 1 < b.count,
                    !(b[j] == 0xFF && b[j + 1] != 0 && b[j + 1] != 0xFF && !(0xD0...0xD7).contains(b[j + 1]))
                {
                    j += 1
                }
                i = j
                continue
            case 0xE0:
                // JFIF with version and density only: 14 bytes, no thumbnail.
                guard starts(payload, "JFIF\0"), payload.count == 14, payload.suffix(2) == [0, 0] else {
                    return "APP0 that is not a bare JFIF header"
                }
            case 0xEE:
                guard starts(payload, "Adobe"), payload.count == 12 else { return "APP14 that is not Adobe's 12 bytes" }
            case 0xE2:
                guard starts(payload, "ICC_PROFILE\0") else { return "APP2 that is not an ICC profile" }
            default:
                guard tables.contains(marker) else { return "marker \(String(marker, radix: 16)) kept" }
            }
            i = end
        }
        return "no EOI"
    }

    static func png(_ b: [UInt8]) -> String? {
        let allowed: Set<String> = [
            "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "cHRM", "gAMA", "sRGB", "sBIT", "cICP", "mDCV", "cLLI", "pHYs",
            "bKGD", "acTL", "fcTL", "fdAT",
        ]
        var i = 8
        while i + 12 <= b.count {
            let length = be32(b, i)
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            guard allowed.contains(type) else { return "chunk \(type) kept" }
            i += 12 + length
            if type == "IEND" { return i == b.count ? nil : "bytes after IEND" }
        }
        return "no IEND"
    }

    static func webp(_ b: [UInt8]) -> String? {
        let allowed: Set<String> = ["VP8 ", "VP8L", "ALPH", "ANIM", "ANMF", "VP8X", "ICCP"]
        var i = 12
        while i + 8 <= b.count {
            let type = String(decoding: b[i..<(i + 4)], as: UTF8.self)
            let length = le32(b, i + 4)
            guard allowed.contains(type) else { return "chunk \(type) kept" }
            if type == "VP8X", i + 8 < b.count, b[i + 8] & 0x0C != 0 { return "VP8X still flags EXIF or XMP" }
            i += 8 + length + (length & 1)
        }
        return i == b.count ? nil : "bytes after the last chunk"
    }
}
