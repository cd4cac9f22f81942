import Foundation
import Testing

@testable import Ingest

/// Stripping checked by exiftool: the metadata groups are gone, the image is unchanged.
@Suite("metadata stripping, checked with exiftool", .tags(.integration))
struct MetadataStripperTests {
    static func exiftool(_ arguments: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["exiftool"] + arguments
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("exiftool-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let handle = try FileHandle(forWritingTo: out)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        return try Data(contentsOf: out)
    }

    static func groups(_ path: String) throws -> [String: Any] {
        let list =
            try JSONSerialization.jsonObject(with: exiftool(["-j", "-G1", "-a", "-n", path])) as? [[String: Any]]
        return list?.first ?? [:]
    }

    static let metadataGroups = [
        "IFD0:", "IFD1:", "ExifIFD:", "GPS:", "XMP-", "IPTC:", "PNG:Comment", "File:Comment", "Photoshop:",
    ]

    @Test(
        "JPEG (with EXIF, XMP and IPTC added by exiftool), PNG and WebP lose every metadata group and keep their size",
        arguments: ["jpeg", "et_PNG.png", "et_RIFF.webp"])
    func strips(_ name: String) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("strip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input: URL
        if name == "jpeg" {
            input = scratch.appendingPathComponent("in.jpg")
            _ = try Self.exiftool([
                "-o", input.path, "-IPTC:By-line=Jane Example", "-XMP-dc:Creator=Jane Example",
                "-Comment=serial 1234", ImageTestServer.imagesDirectory.appendingPathComponent("es_DSCN0010.jpg").path,
            ])
        } else {
            input = ImageTestServer.imagesDirectory.appendingPathComponent(name)
        }
        let original = [UInt8](try Data(contentsOf: input))
        let before = try Self.groups(input.path)
        #expect(before.keys.contains { key in Self.metadataGroups.contains { key.hasPrefix($0) } })
        let format = try #require(ImageFormat.sniff(original))
        let stripped = try #require(MetadataStripper.strip(original, format: format))
        let output = scratch.appendingPathComponent("out." + format.fileExtension)
        try Data(stripped).write(to: output)
        let after = try Self.groups(output.path)
        let left = after.keys.filter { key in Self.metadataGroups.contains { key.hasPrefix($0) } }
        #expect(left.isEmpty, "\(left)")
        #expect(after["File:FileType"] as? String == before["File:FileType"] as? String)
        #expect(after["Composite:ImageSize"] as? String == before["Composite:ImageSize"] as? String)
        #expect(after["ExifTool:Warning"] == nil && after["ExifTool:Error"] == nil)
        let size = ImageFormat.dimensions(original, format: format)
        #expect(size.map { "\($0.width) \($0.height)" } == before["Composite:ImageSize"] as? String)
    }

    @Test("formats that cannot be stripped, and damaged files, give no stripped copy")
    func refuses() throws {
        let tiff = ImageFormat(name: "tiff", fileExtension: "tif")
        #expect(MetadataStripper.strip([0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0], format: tiff) == nil)
        let jpeg = try #require(ImageFormat.sniff([0xFF, 0xD8, 0xFF, 0xE1]))
        #expect(MetadataStripper.strip([0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 0x00], format: jpeg) == nil)
        #expect(ImageFormat.sniff(Array("<html><body>".utf8)) == nil)
    }

    // MARK: - The allow-list, on every held image and on crafted ones

    /// The camera files of the EXIF test set (a copy of ../shared/testdata/exif/images).
    static let cameraFiles = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("EnrichTests/Fixtures/exif/images")

    /// What exiftool may find in a stripped image: per group, the tags allowed (`nil`: any tag
    /// of the group). ICC text tags are allowed only with a standard profile's values.
    static let allowedTags: [String: Set<String>?] = [
        "ExifTool": nil, "System": nil, "Composite": ["ImageSize", "Megapixels"],
        "File": [
            "FileType", "FileTypeExtension", "MIMEType", "ImageWidth", "ImageHeight", "EncodingProcess",
            "BitsPerSample", "ColorComponents", "YCbCrSubSampling",
        ],
        "JFIF": ["JFIFVersion", "ResolutionUnit", "XResolution", "YResolution"],
        "Adobe": ["DCTEncodeVersion", "APP14Flags0", "APP14Flags1", "ColorTransform"],
        "ICC-header": nil, "ICC-meas": nil, "ICC-view": nil,
        "ICC_Profile": [
            "MediaWhitePoint", "MediaBlackPoint", "RedMatrixColumn", "GreenMatrixColumn", "BlueMatrixColumn",
            "RedTRC", "GreenTRC", "BlueTRC", "GrayTRC", "ChromaticAdaptation", "Luminance", "Technology",
            "ProfileDescription", "ProfileCopyright", "DeviceMfgDesc", "DeviceModelDesc", "ViewingCondDesc",
        ],
        "PNG": [
            "ImageWidth", "ImageHeight", "BitDepth", "ColorType", "Compression", "Filter", "Interlace",
            "BackgroundColor", "Gamma", "SRGBRendering", "WhitePointX", "WhitePointY", "RedX", "RedY", "GreenX",
            "GreenY", "BlueX", "BlueY", "Palette", "Transparency", "SignificantBits",
        ],
        "PNG-pHYs": ["PixelsPerUnitX", "PixelsPerUnitY", "PixelUnits"],
        "RIFF": [
            "VP8Version", "ImageWidth", "ImageHeight", "HorizontalScale", "VerticalScale", "AlphaPreprocessing",
            "AlphaFiltering", "AlphaCompression", "WebP_Flags",
        ],
    ]

    /// The text of the standard profiles kept whole (sRGB IEC61966-2.1, Adobe RGB (1998)).
    static let standardICCText: Set<String> = [
        "sRGB IEC61966-2.1", "Copyright (c) 1998 Hewlett-Packard Company", "IEC http://www.iec.ch",
        "IEC 61966-2.1 Default RGB colour space - sRGB", "Reference Viewing Condition in IEC61966-2.1",
        "Adobe RGB (1998)", "Copyright 1999 Adobe Systems Incorporated",
    ]

    /// The tags exiftool finds in `json` (one file's `-j -G1 -a -n` object) that a stripped
    /// image must not hold, as `Group:Tag`.
    static func disallowed(_ json: [String: Any]) -> [String] {
        json.compactMap { key, value -> String? in
            guard key != "SourceFile" else { return nil }
            let parts = key.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let allowed = allowedTags[parts[0]] else { return key }
            if let allowed, !allowed.contains(parts[1]) { return key }
            let text = [
                "ProfileDescription", "ProfileCopyright", "DeviceMfgDesc", "DeviceModelDesc", "ViewingCondDesc",
            ]
            if parts[0] == "ICC_Profile", text.contains(parts[1]), !standardICCText.contains("\(value)") { return key }
            if key == "ExifTool:Warning" || key == "ExifTool:Error" { return key }
            return nil
        }.sorted()
    }

    /// exiftool's `-j -G1 -a -n` objects for `paths`, by file name (one exiftool run).
    static func exiftoolObjects(_ paths: [String]) throws -> [String: [String: Any]] {
        let list =
            try JSONSerialization.jsonObject(with: exiftool(["-j", "-G1", "-a", "-n"] + paths)) as? [[String: Any]]
        var byName: [String: [String: Any]] = [:]
        for object in list ?? [] {
            if let source = object["SourceFile"] as? String { byName[(source as NSString).lastPathComponent] = object }
        }
        return byName
    }

    /// Pillow decodes each pair (original, stripped): `same`, `differs`, `original-unreadable`
    /// (the original does not decode either; nothing to compare) or `stripped-unreadable`, by
    /// the stripped file's name. Pillow is installed by scripts/install-deps.sh.
    static func comparePixels(_ pairs: [(original: String, stripped: String)]) throws -> [String: String] {
        let script = """
            import hashlib, json, sys
            from PIL import Image
            def pixels(path):
                with Image.open(path) as image:
                    image.load()
                    return image.mode, image.size, hashlib.sha256(image.tobytes()).hexdigest()
            out = {}
            for original, stripped in json.load(sys.stdin):
                name = stripped.rsplit("/", 1)[-1]
                try:
                    before = pixels(original)
                except Exception:
                    out[name] = "original-unreadable"
                    continue
                try:
                    out[name] = "same" if pixels(stripped) == before else "differs"
                except Exception:
                    out[name] = "stripped-unreadable"
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let request = try JSONSerialization.data(withJSONObject: pairs.map { [$0.original, $0.stripped] })
        input.fileHandleForWriting.write(request)
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let decoded = try JSONSerialization.jsonObject(with: data) as? [String: String]
        return try #require(decoded, "Pillow did not answer: run scripts/install-deps.sh")
    }

    @Test(
        "every held JPEG, PNG and WebP strips to a file where exiftool finds only File, JFIF density, Adobe colour, standard ICC and structure, with the same pixels (Pillow), and strips again to itself"
    )
    func stripsEveryHeldImage() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("strip-all-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var pairs: [(original: String, stripped: String)] = []
        var formats: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.cameraFiles.path).sorted() {
            let input = Self.cameraFiles.appendingPathComponent(name)
            let original = [UInt8](try Data(contentsOf: input))
            guard let format = ImageFormat.sniff(original.prefix(16)), MetadataStripper.strips(format) else { continue }
            // Truncated files give no stripped copy (the store seals them).
            guard let stripped = MetadataStripper.strip(original, format: format) else { continue }
            #expect(MetadataStripper.metadata(in: stripped, format: format) == [], "\(name) does not strip to itself")
            let output = scratch.appendingPathComponent(name)
            try Data(stripped).write(to: output)
            pairs.append((input.path, output.path))
            formats.insert(format.name)
        }
        #expect(pairs.count >= 100 && formats == ["jpeg", "png", "webp"], "\(pairs.count) \(formats)")
        let objects = try Self.exiftoolObjects(pairs.map(\.stripped))
        for (_, stripped) in pairs {
            let name = (stripped as NSString).lastPathComponent
            let object = try #require(objects[name], "exiftool did not read \(name)")
            let left = Self.disallowed(object)
            #expect(left.isEmpty, "\(name): \(left)")
        }
        let pixels = try Self.comparePixels(pairs)
        let differing = pixels.filter { $0.value == "differs" || $0.value == "stripped-unreadable" }
        #expect(differing.isEmpty, "\(differing)")
        #expect(pixels.values.filter { $0 == "same" }.count >= 95, "\(pixels)")
    }

    // MARK: Crafted files

    /// A secret planted in every crafted file: no stripped copy may hold its bytes.
    static let secret = "Jane Example SN 123456"

    static func camera(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: cameraFiles.appendingPathComponent(name)))
    }

    /// A JPEG segment: marker, big-endian length, payload.
    static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        let length = payload.count + 2
        return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
    }

    /// `jpeg` with `segments` put right after SOI.
    static func inserting(_ segments: [UInt8], into jpeg: [UInt8]) -> [UInt8] {
        Array(jpeg[0..<2]) + segments + jpeg[2...]
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func be32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(data.count) + body + be32(Int(crc32(body)))
    }

    /// A zlib stream of `bytes` in stored (uncompressed) blocks, which every inflater reads.
    static func zlibStored(_ bytes: [UInt8]) -> [UInt8] {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        let n = bytes.count
        return [0x78, 0x01, 0x01, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8 & 0xFF)] + bytes
            + be32(Int(b << 16 | a))
    }

    /// An XMP packet naming the secret as the creator, with a GPS position.
    static var xmp: String {
        """
        <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\
        <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" \
        xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="51,30.0N" exif:GPSLongitude="0,7.5W">\
        <dc:creator><rdf:Seq><rdf:li>\(secret)</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>
        """
    }

    /// An ICC profile as a camera might embed one: a colour space (white point, primaries,
    /// gamma) described as "Camera of <secret>", copyrighted to the owner, with the maker and
    /// model in its header.
    static func cameraProfile() -> [UInt8] {
        func xyz(_ x: Double, _ y: Double, _ z: Double) -> [UInt8] {
            Array("XYZ ".utf8) + [0, 0, 0, 0] + [x, y, z].flatMap { be32(Int(($0 * 65536).rounded())) }
        }
        let description = Array("Camera of \(secret)".utf8) + [0]
        let tags: [(String, [UInt8])] = [
            (
                "desc",
                Array("desc".utf8) + [0, 0, 0, 0] + be32(description.count) + description
                    + [UInt8](repeating: 0, count: 79)
            ),
            ("cprt", Array("text".utf8) + [0, 0, 0, 0] + Array("Copyright \(secret)".utf8) + [0]),
            ("wtpt", xyz(0.9642, 1, 0.8249)),
            ("rXYZ", xyz(0.4361, 0.2225, 0.0139)),
            ("gXYZ", xyz(0.3851, 0.7169, 0.0971)),
            ("bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            ("rTRC", Array("curv".utf8) + [0, 0, 0, 0] + be32(1) + [0x02, 0x33]),
        ]
        var table: [UInt8] = []
        var data: [UInt8] = []
        let start = 132 + 12 * tags.count
        for (signature, body) in tags {
            table += Array(signature.utf8) + be32(start + data.count) + be32(body.count)
            data += body
            while data.count % 4 != 0 { data.append(0) }
        }
        var header = [UInt8](repeating: 0, count: 128)
        header.replaceSubrange(8..<12, with: [0x02, 0x10, 0, 0])
        header.replaceSubrange(12..<24, with: Array("mntrRGB XYZ ".utf8))
        header.replaceSubrange(24..<36, with: [0x07, 0xE9, 0, 5, 0, 17, 0, 9, 0, 30, 0, 0])
        header.replaceSubrange(36..<40, with: Array("acsp".utf8))
        header.replaceSubrange(48..<56, with: Array("CANOJANE".utf8))
        header.replaceSubrange(80..<84, with: Array("JANE".utf8))
        var profile = header + be32(tags.count) + table + data
        profile.replaceSubrange(0..<4, with: be32(profile.count))
        return profile
    }

    /// The crafted files, by name: each holds the secret in a place the old stripper kept, and
    /// the kind `metadata(in:format:)` names it by. Each is a camera file with segments or
    /// chunks added, so its pixels are that file's (Pillow does not read every crafted file:
    /// it stops at a JPGn segment).
    static func crafted(_ name: String, in scratch: URL) throws -> (bytes: [UInt8], kind: String, base: String) {
        let (bytes, kind) = try craftedBytes(name, in: scratch)
        let base =
            name == "ciff.jpg" ? "es_sony-powershota5.jpg" : name == "chunks.png" ? "et_PNG.png" : "es_DSCN0010.jpg"
        return (bytes, kind, cameraFiles.appendingPathComponent(base).path)
    }

    static func craftedBytes(_ name: String, in scratch: URL) throws -> (bytes: [UInt8], kind: String) {
        let jpeg = try camera("es_DSCN0010.jpg")
        switch name {
        case "ciff.jpg":
            // A real Canon PowerShot A5 file: CIFF records in APP0 (owner, model, original file
            // name), plus a JFXX APP0; its secret is the original file name.
            return (try camera("es_sony-powershota5.jpg"), "ciff")
        case "jfxx-exif.jpg":
            // A JFXX thumbnail that is a JPEG with its own EXIF (artist and GPS).
            let thumbnail = scratch.appendingPathComponent("thumb.jpg")
            try Data(
                try exiftool(["-b", "-ThumbnailImage", cameraFiles.appendingPathComponent("es_DSCN0010.jpg").path])
            )
            .write(to: thumbnail)
            _ = try exiftool([
                "-overwrite_original", "-Artist=\(secret)", "-GPSLatitude=51.5", "-GPSLatitudeRef=N", thumbnail.path,
            ])
            let thumb = [UInt8](try Data(contentsOf: thumbnail))
            return (inserting(segment(0xE0, Array("JFXX\0".utf8) + [0x10] + thumb), into: jpeg), "jfxx")
        case "jpgn.jpg":
            return (
                inserting(segment(0xF0, Array(secret.utf8)) + segment(0xFD, Array(secret.utf8)), into: jpeg),
                "jpeg-jpg0"
            )
        case "icc-text.jpg":
            let payload = Array("ICC_PROFILE\0".utf8) + [1, 1] + cameraProfile()
            return (inserting(segment(0xE2, payload), into: jpeg), "icc-text")
        case "chunks.png":
            let png = try camera("et_PNG.png")
            let iend = png.count - 12
            let chunks =
                pngChunk("tXMP", Array(xmp.utf8))
                + pngChunk("zTXt", Array("Author\0".utf8) + [0] + zlibStored(Array(secret.utf8)))
                + pngChunk("iTXt", Array("XML:com.adobe.xmp\0".utf8) + [0, 0, 0, 0] + Array(xmp.utf8))
                + pngChunk("caBX", Array("jumb".utf8) + Array(secret.utf8))
            return (Array(png[..<iend]) + chunks + png[iend...], "png-tXMP")
        default:
            Issue.record("no crafted file \(name)")
            return ([], "")
        }
    }

    @Test(
        "crafted files (CIFF APP0, JFXX with EXIF, JPGn, ICC with text, PNG tXMP/zTXt/iTXt/caBX) strip to files without the secret, exiftool finds only allowed groups, pixels unchanged",
        arguments: ["ciff.jpg", "jfxx-exif.jpg", "jpgn.jpg", "icc-text.jpg", "chunks.png"])
    func stripsCrafted(_ name: String) throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "strip-crafted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (original, kind, base) = try Self.crafted(name, in: scratch)
        let secret = name == "ciff.jpg" ? Array("AUT_7808".utf8) : Array(Self.secret.utf8)
        #expect(original.firstRange(of: secret) != nil, "the fixture holds no secret")
        let input = scratch.appendingPathComponent("in-" + name)
        try Data(original).write(to: input)
        let before = try #require(try Self.exiftoolObjects([input.path])["in-" + name])
        #expect(!Self.disallowed(before).isEmpty, "exiftool sees nothing to strip in the fixture")

        let format = try #require(ImageFormat.sniff(original.prefix(16)))
        #expect(MetadataStripper.metadata(in: original, format: format)?.contains(kind) == true)
        let stripped = try #require(MetadataStripper.strip(original, format: format))
        #expect(stripped.firstRange(of: secret) == nil, "the secret is still in the stripped file")
        #expect(MetadataStripper.metadata(in: stripped, format: format) == [])
        let output = scratch.appendingPathComponent(name)
        try Data(stripped).write(to: output)
        let after = try #require(try Self.exiftoolObjects([output.path])[name])
        #expect(Self.disallowed(after).isEmpty, "\(Self.disallowed(after))")
        if name == "icc-text.jpg" {
            // The profile is rebuilt, not dropped: its colour tags are still there.
            #expect(after["ICC_Profile:RedMatrixColumn"] != nil && after["ICC_Profile:ProfileDescription"] == nil)
            #expect("\(after["ICC-header:DeviceManufacturer"] ?? "")".isEmpty)
        }
        #expect(try Self.comparePixels([(base, output.path)]) == [name: "same"])
    }

    @Test("a JFIF APP0 keeps its density only and an Adobe APP14 its colour transform")
    func reducesJFIFAndAdobe() throws {
        let jpeg = try Self.camera("es_DSCN0010.jpg")
        let jfif = Self.segment(
            0xE0, Array("JFIF\0".utf8) + [1, 2, 1, 0, 72, 0, 72, 1, 1, 0, 0, 0] + Array(Self.secret.utf8))
        let adobe = Self.segment(0xEE, Array("Adobe".utf8) + [0, 100, 0, 0, 0, 0, 1] + Array(Self.secret.utf8))
        let format = try #require(ImageFormat.sniff(jpeg.prefix(16)))
        let stripped = try #require(MetadataStripper.strip(Self.inserting(jfif + adobe, into: jpeg), format: format))
        // The 1×1 thumbnail goes (its 3 bytes of pixels too), the density stays.
        #expect(Array(stripped[2..<20]) == [0xFF, 0xE0, 0, 16] + Array("JFIF\0".utf8) + [1, 2, 1, 0, 72, 0, 72, 0, 0])
        #expect(Array(stripped[20..<36]) == [0xFF, 0xEE, 0, 14] + Array("Adobe".utf8) + [0, 100, 0, 0, 0, 0, 1])
        #expect(stripped.firstRange(of: Array(Self.secret.utf8)) == nil)
    }

    @Test("mutated files (bytes changed, cut short) never trap, and whatever strips, strips again to itself")
    func mutationsStayIdempotent() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("strip-mutate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var seeds = try ["icc-text.jpg", "chunks.png", "ciff.jpg"].map { try Self.crafted($0, in: scratch).bytes }
        seeds.append(try Self.camera("et_RIFF.webp"))
        // A fixed xorshift generator: the same mutations on every run.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(max(bound, 1)))
        }
        var stripped = 0
        for round in 0..<2000 {
            var bytes = seeds[round % seeds.count]
            // Change bytes in the first 4 KiB, where the segments and chunks are.
            for _ in 0...next(8) { bytes[next(min(bytes.count, 4096))] = UInt8(next(256)) }
            if next(4) == 0 { bytes = Array(bytes.prefix(next(bytes.count))) }
            guard let format = ImageFormat.sniff(bytes.prefix(16)),
                let output = MetadataStripper.strip(bytes, format: format)
            else { continue }
            stripped += 1
            #expect(MetadataStripper.metadata(in: output, format: format) == [], "round \(round)")
        }
        #expect(stripped > 500)
    }
}

/// The WebP chunks of a file: (type, first payload byte).
private func webpChunks(_ bytes: [UInt8]) -> [(String, UInt8?)] {
    var chunks: [(String, UInt8?)] = []
    var i = 12
    while i + 8 <= bytes.count {
        let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
        chunks.append((String(decoding: bytes[i..<(i + 4)], as: UTF8.self), size > 0 ? bytes[i + 8] : nil))
        i += 8 + size + (size & 1)
    }
    return chunks
}

@Test(
    "a WebP with a second VP8X chunk (found by the strip fuzzer) keeps one VP8X, with no EXIF or XMP flag",
    .tags(.unit))
func webpSecondVP8X() throws {
    func chunk(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return Array(type.utf8) + [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), 0, 0] + payload + (n & 1 == 1 ? [0] : [])
    }
    // Flags 0x1C: alpha, EXIF and XMP; a 1x1 canvas.
    let vp8x = chunk("VP8X", [0x1C, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    let body =
        Array("WEBP".utf8) + vp8x + chunk("ALPH", [0, 0, 0, 0]) + chunk("EXIF", Array("Exif\0\0camera".utf8)) + vp8x
    let n = body.count
    let file = Array("RIFF".utf8) + [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), 0, 0] + body
    let format = try #require(ImageFormat.sniff(file.prefix(16)))
    let stripped = try #require(MetadataStripper.strip(file, format: format))
    let chunks = webpChunks(stripped)
    #expect(chunks.filter { $0.0 == "VP8X" }.count == 1, "\(chunks)")
    #expect(chunks.allSatisfy { $0.0 != "VP8X" || ($0.1 ?? 0) & 0x0C == 0 }, "\(chunks)")
    #expect(!chunks.contains { $0.0 == "EXIF" })
    #expect(MetadataStripper.strip(stripped, format: format) == stripped)
}
