import Foundation
import Testing

@testable import Enrich

/// Builds little-endian TIFF structures byte by byte, so each test states its damage exactly.
struct TIFFBytes {
    var bytes: [UInt8] = [0x49, 0x49, 42, 0, 8, 0, 0, 0]

    static func u16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    static func u32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }

    /// One 12-byte IFD entry.
    static func entry(tag: Int, type: Int, count: Int, value: Int) -> [UInt8] {
        u16(tag) + u16(type) + u32(count) + u32(value)
    }

    /// Appends an IFD at the current end and returns its offset.
    @discardableResult
    mutating func ifd(_ entries: [[UInt8]], next: Int = 0, declaredCount: Int? = nil) -> Int {
        let offset = bytes.count
        bytes += Self.u16(declaredCount ?? entries.count) + entries.flatMap { $0 } + Self.u32(next)
        return offset
    }

    /// The TIFF wrapped as a JPEG APP1 "Exif" segment, followed by start-of-scan.
    var jpeg: [UInt8] {
        let payload = Array("Exif".utf8) + [0, 0] + bytes
        return [0xFF, 0xD8, 0xFF, 0xE1] + [UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)]
            + payload + [0xFF, 0xDA, 0, 2, 0xFF, 0xD9]
    }
}

/// Orientation = 6 stored inline: a tag that survives most damage elsewhere.
let orientationEntry = TIFFBytes.entry(tag: 0x112, type: 3, count: 1, value: 6)

@Suite("EXIF on malformed input", .tags(.unit))
struct ExifMalformedTests {
    @Test("a zero-byte file is an unsupported-format error with no tags")
    func emptyFile() {
        let report = ExifReader.read(bytes: [], name: "empty.jpg")
        #expect(report.tags.isEmpty)
        #expect(report.error?.code == .unsupportedFormat)
        #expect(report.error?.description.contains("empty.jpg") == true)
    }

    @Test("a missing file is an unreadable-file error naming the path")
    func missingFile() {
        let report = ExifReader.read(path: "/nonexistent/photoseal/none.jpg")
        #expect(report.error?.code == .fileUnreadable)
        #expect(report.error?.description.contains("none.jpg") == true)
    }

    @Test("a JPEG cut inside its APP1 keeps the entries read before the cut")
    func truncatedAPP1() {
        var tiff = TIFFBytes()
        // Make is an 8-byte string stored after the IFD; the cut falls before it.
        tiff.ifd([TIFFBytes.entry(tag: 0x10F, type: 2, count: 8, value: 38), orientationEntry])
        tiff.bytes += Array("Maker\0\0\0".utf8)
        let jpeg = tiff.jpeg
        // SOI + APP1 header + "Exif\0\0" is 12 bytes; keep the IFD and 2 bytes of the string.
        let cut = Array(jpeg.prefix(12 + 38 + 2))
        let report = ExifReader.read(bytes: cut, name: "cut.jpg")
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report["IFD0:Make"] == nil)
        #expect(report.error?.code == .truncated)
    }

    @Test("an IFD claiming 65535 entries is rejected without reading them")
    func hugeEntryCount() {
        var tiff = TIFFBytes()
        tiff.ifd([orientationEntry], declaredCount: 65535)
        let report = ExifReader.read(bytes: tiff.jpeg, name: "count.jpg")
        #expect(report.tags.isEmpty)
        #expect(report.error?.code == .malformed)
        #expect(report.error?.detail.contains("65535") == true)
    }

    @Test("an IFD chain that loops back is reported and walked once")
    func ifdLoop() {
        var tiff = TIFFBytes()
        // IFD0 -> IFD1 -> IFD0 again; IFD1 also points its ExifIFD at IFD0.
        let ifd1 = 8 + 2 + 12 + 4
        tiff.ifd([orientationEntry], next: ifd1)
        tiff.ifd(
            [
                TIFFBytes.entry(tag: 0x8769, type: 4, count: 1, value: 8),
                TIFFBytes.entry(tag: 0x103, type: 3, count: 1, value: 6),
            ], next: 8)
        let report = ExifReader.read(bytes: tiff.bytes, name: "loop.tif")
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report["IFD1:Compression"] == .integer(6))
        #expect(report.tags.count == 2)
        #expect(report.error?.code == .malformed)
        #expect(report.error?.detail.contains("loop") == true)
    }

    @Test("a value offset past the end drops that tag only")
    func offsetPastEnd() {
        var tiff = TIFFBytes()
        tiff.ifd([TIFFBytes.entry(tag: 0x10F, type: 2, count: 16, value: 0x7FFF_FFF0), orientationEntry])
        let report = ExifReader.read(bytes: tiff.jpeg, name: "offset.jpg")
        #expect(report["IFD0:Make"] == nil)
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report.error?.code == .truncated)
        #expect(report.error?.detail.contains("IFD0:Make") == true)
    }

    @Test("a sub-IFD offset past the end is reported and skipped")
    func subIFDPastEnd() {
        var tiff = TIFFBytes()
        tiff.ifd([orientationEntry, TIFFBytes.entry(tag: 0x8769, type: 4, count: 1, value: 0x00FF_FFFF)])
        let report = ExifReader.read(bytes: tiff.bytes, name: "sub.tif")
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report.error?.code == .truncated)
    }

    @Test("a huge count is refused without allocating it")
    func hugeCount() {
        var tiff = TIFFBytes()
        tiff.ifd([TIFFBytes.entry(tag: 0x111, type: 4, count: 0x3FFF_FFFF, value: 8), orientationEntry])
        let report = ExifReader.read(bytes: tiff.bytes, name: "count.tif")
        #expect(report["IFD0:StripOffsets"] == nil)
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report.error != nil)
    }

    @Test("zero denominators read as exiftool's undef and inf, not as numbers")
    func zeroDenominators() {
        var tiff = TIFFBytes()
        let values = 8 + 2 + 3 * 12 + 4
        tiff.ifd(
            [
                TIFFBytes.entry(tag: 0x11A, type: 5, count: 1, value: values),
                TIFFBytes.entry(tag: 0x11B, type: 5, count: 1, value: values + 8),
                orientationEntry,
            ])
        tiff.bytes += TIFFBytes.u32(0) + TIFFBytes.u32(0) + TIFFBytes.u32(5) + TIFFBytes.u32(0)
        let report = ExifReader.read(bytes: tiff.bytes, name: "zero.tif")
        #expect(report["IFD0:XResolution"] == .text("undef"))
        #expect(report["IFD0:YResolution"] == .text("inf"))
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report.error == nil)
    }

    @Test("sub-IFDs nested past the depth limit stop with a limit error")
    func deepNesting() {
        var tiff = TIFFBytes()
        // Each IFD holds an ExifIFD-style pointer to the next one: 20 levels.
        let size = 2 + 12 + 4
        for level in 0..<20 {
            tiff.ifd([TIFFBytes.entry(tag: 0x14A, type: 4, count: 1, value: 8 + (level + 1) * size)])
        }
        tiff.ifd([orientationEntry])
        let report = ExifReader.read(bytes: tiff.bytes, name: "deep.tif")
        #expect(report.error?.code == .limitExceeded)
    }

    @Test("an entry of invalid type is reported and the others are kept")
    func badType() {
        var tiff = TIFFBytes()
        tiff.ifd([orientationEntry, TIFFBytes.entry(tag: 0x10F, type: 99, count: 1, value: 0)])
        let report = ExifReader.read(bytes: tiff.bytes, name: "type.tif")
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report.error?.code == .malformed)
    }

    @Test("a file that is no image container is an unsupported-format error")
    func notAnImage() {
        let report = ExifReader.read(bytes: Array("hello, world".utf8), name: "notes.txt")
        #expect(report.error?.code == .unsupportedFormat)
    }

    @Test("a JPEG with a bad byte-order mark is malformed")
    func badByteOrder() {
        var tiff = TIFFBytes()
        tiff.ifd([orientationEntry])
        tiff.bytes[0] = 0x58
        tiff.bytes[1] = 0x58
        let report = ExifReader.read(bytes: tiff.jpeg, name: "order.jpg")
        #expect(report.tags.isEmpty)
        #expect(report.error?.code == .malformed)
    }

    @Test("many IFDs with many entries stop at the per-file budget")
    func entryBudget() {
        var tiff = TIFFBytes()
        // 12 IFDs of 1000 entries each, chained: more than the 8192-entry budget.
        let entries = Array(repeating: orientationEntry, count: 1000)
        let size = 2 + 12 * 1000 + 4
        for index in 0..<12 {
            tiff.ifd(entries, next: index == 11 ? 0 : 8 + (index + 1) * size)
        }
        let report = ExifReader.read(bytes: tiff.bytes, name: "budget.tif")
        #expect(report.error?.code == .limitExceeded)
        #expect(report["IFD0:Orientation"] == .integer(6))
    }

    @Test("a tag repeated in one IFD keeps its first value, as exiftool's JSON does")
    func repeatedTag() {
        var tiff = TIFFBytes()
        tiff.ifd([orientationEntry, TIFFBytes.entry(tag: 0x112, type: 3, count: 1, value: 3)])
        let report = ExifReader.read(bytes: tiff.bytes, name: "twice.tif")
        #expect(report["IFD0:Orientation"] == .integer(6))
        #expect(report.entries.count == 1)
    }

    @Test("an ExifIFD reached twice (from IFD0 and IFD1) keeps the first reading of each tag")
    func repeatedGroup() {
        var tiff = TIFFBytes()
        let size = 2 + 12 + 4
        let ifd1 = 8 + size
        let exifA = ifd1 + size
        let exifB = exifA + size
        tiff.ifd([TIFFBytes.entry(tag: 0x8769, type: 4, count: 1, value: exifA)], next: ifd1)
        tiff.ifd([TIFFBytes.entry(tag: 0x8769, type: 4, count: 1, value: exifB)])
        tiff.ifd([TIFFBytes.entry(tag: 0x8827, type: 3, count: 1, value: 100)])
        tiff.ifd([TIFFBytes.entry(tag: 0x8827, type: 3, count: 1, value: 400)])
        let report = ExifReader.read(bytes: tiff.bytes, name: "two-exif.tif")
        #expect(report["ExifIFD:ISO"] == .integer(100))
        #expect(report.entries.filter { $0.key == "ExifIFD:ISO" }.count == 1)
    }

    @Test("a negative GPS time stamp (signed rationals) reads as empty text, not a trap")
    func negativeGPSTime() {
        var tiff = TIFFBytes()
        let gpsIFD = 8 + 2 + 12 + 4
        let values = gpsIFD + 2 + 12 + 4
        tiff.ifd([TIFFBytes.entry(tag: 0x8825, type: 4, count: 1, value: gpsIFD)])
        tiff.ifd([TIFFBytes.entry(tag: 0x0007, type: 10, count: 3, value: values)])
        // 0/1 h, 0/1 min, -11/2 s as SRATIONALs.
        tiff.bytes += TIFFBytes.u32(0) + TIFFBytes.u32(1) + TIFFBytes.u32(0) + TIFFBytes.u32(1)
        tiff.bytes += TIFFBytes.u32(-11 & 0xFFFF_FFFF) + TIFFBytes.u32(2)
        let report = ExifReader.read(bytes: tiff.bytes, name: "time.tif")
        #expect(report["GPS:GPSTimeStamp"] == .text(""))
    }

    @Test("the fuzzer's crash input (negative GPS time in a JPEG) now reads without trapping")
    func fuzzRegression() throws {
        let url = try #require(
            Bundle.module.url(forResource: "Fixtures/exif-fuzz/gps-negative-timestamp", withExtension: "jpg"))
        let report = ExifReader.read(path: url.path)
        #expect(!report.tags.isEmpty)
    }
}

/// ISO-BMFF boxes for HEIF tests: size, type, payload.
func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
    let size = payload.count + 8
    return [UInt8(size >> 24 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)]
        + Array(type.utf8) + payload
}

@Suite("EXIF in malformed HEIF", .tags(.unit))
struct ExifHEIFMalformedTests {
    /// A HEIF whose iinf names item 1 as "Exif" and whose iloc is `iloc`.
    static func heif(iloc: [UInt8]) -> [UInt8] {
        let infe = box("infe", [2, 0, 0, 0, 0, 1, 0, 0] + Array("Exif".utf8))
        let iinf = box("iinf", [0, 0, 0, 0, 0, 1] + infe)
        let meta = box("meta", [0, 0, 0, 0] + iinf + box("iloc", iloc))
        return box("ftyp", Array("heic".utf8) + [0, 0, 0, 0]) + meta
    }

    @Test("an iloc whose extents take no bytes and claims 65535 items ends at once")
    func zeroWidthExtents() {
        // version 0, flags, offset/length sizes 0, base/index sizes 0, 65535 items of 65535 extents.
        var iloc: [UInt8] = [0, 0, 0, 0, 0x00, 0x00, 0xFF, 0xFF]
        for _ in 0..<65535 { iloc += [0, 2, 0, 0, 0xFF, 0xFF] }
        let report = ExifReader.read(bytes: Self.heif(iloc: iloc), name: "loop.heic")
        #expect(report.tags.isEmpty)
        #expect(report.error?.code == .malformed)
    }

    @Test("an Exif item placed past the end of the file is a truncation error")
    func itemPastEnd() {
        // version 0, offset size 4, length size 4, 1 item: id 1, data ref 0, 1 extent at 1 MiB.
        let iloc: [UInt8] = [0, 0, 0, 0, 0x44, 0x00, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0x10, 0, 0, 0, 0, 1, 0]
        let report = ExifReader.read(bytes: Self.heif(iloc: iloc), name: "short.heic")
        #expect(report.error?.code == .truncated)
    }
}
