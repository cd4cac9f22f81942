import Foundation
import Testing

@testable import Ingest

/// Stripping checked by exiftool: the metadata groups are gone, the image is unchanged.
@Suite("metadata stripping, checked with exiftool")
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
}
