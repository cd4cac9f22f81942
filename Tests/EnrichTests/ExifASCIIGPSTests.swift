import Foundation
import TestSupport
import Testing

@testable import Enrich

/// Some writers store GPSLatitude and GPSLongitude as ASCII text instead of three rationals;
/// exiftool still reads a position from them, and so must photoseal.
@Suite("EXIF GPS stored as text", .tags(.unit))
struct ExifASCIIGPSTests {
    /// A little-endian TIFF whose GPS IFD holds the four coordinate tags as ASCII strings.
    static func tiff(latitude: String, latitudeRef: String, longitude: String, longitudeRef: String) -> [UInt8] {
        let values = [(0x01, latitudeRef), (0x02, latitude), (0x03, longitudeRef), (0x04, longitude)]
        var tiff = TIFFBytes()
        let gpsIFD = 8 + 2 + 12 + 4
        var data = gpsIFD + 2 + 12 * values.count + 4
        tiff.ifd([TIFFBytes.entry(tag: 0x8825, type: 4, count: 1, value: gpsIFD)])
        var entries: [[UInt8]] = []
        var payload: [UInt8] = []
        for (tag, text) in values {
            let ascii = Array(text.utf8) + [0]
            if ascii.count <= 4 {
                let inline = (ascii + [0, 0, 0, 0]).prefix(4)
                entries.append(TIFFBytes.u16(tag) + TIFFBytes.u16(2) + TIFFBytes.u32(ascii.count) + inline)
            } else {
                entries.append(TIFFBytes.entry(tag: tag, type: 2, count: ascii.count, value: data))
                payload += ascii
                data += ascii.count
            }
        }
        tiff.ifd(entries)
        tiff.bytes += payload
        return tiff.bytes
    }

    static let cases: [(latitude: String, latitudeRef: String, longitude: String, longitudeRef: String)] = [
        ("52.0138889", "N", "4.3625", "E"),  // decimal degrees
        ("52 0 50", "S", "4 21 45.5", "W"),  // degrees, minutes and seconds separated by spaces
        ("-33deg 51' 54.36\"", "S", "151,12,40.2", "E"),  // a sign and units; commas as separators
        ("+7.5e+1", "N", ".5", "W"),  // exponent with its sign, a fraction with no integer part
    ]

    @Test("ASCII GPSLatitude/GPSLongitude read to the tag values and position exiftool gives")
    func matchesExiftool() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ascii-gps-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var paths: [String] = []
        for (index, item) in Self.cases.enumerated() {
            var bytes = Self.tiff(
                latitude: item.latitude, latitudeRef: item.latitudeRef, longitude: item.longitude,
                longitudeRef: item.longitudeRef)
            // Every other case as a JPEG, so both containers are covered.
            let name = index % 2 == 0 ? "gps\(index).tif" : "gps\(index).jpg"
            if index % 2 == 1 {
                var tiff = TIFFBytes()
                tiff.bytes = bytes
                bytes = tiff.jpeg
            }
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            paths.append(url.path)
        }
        let truth = try Exiftool.json(paths)
        try #require(truth.count == paths.count)
        for (path, expected) in zip(paths, truth) {
            let report = ExifReader.read(path: path)
            #expect(report.error == nil)
            for tag in ["GPS:GPSLatitude", "GPS:GPSLongitude"] {
                let want = try #require((expected[tag] as? NSNumber)?.doubleValue, "exiftool gives \(tag) for \(path)")
                let got = try #require(report[tag]?.doubleValue, "\(tag) of \(path)")
                #expect(abs(got - want) < 1e-9, "\(tag) of \(path)")
            }
            let gps = try #require(report.gps, "a position for \(path)")
            let latitude = try #require((expected["Composite:GPSLatitude"] as? NSNumber)?.doubleValue)
            let longitude = try #require((expected["Composite:GPSLongitude"] as? NSNumber)?.doubleValue)
            #expect(abs(gps.latitude - latitude) < 1e-9 && abs(gps.longitude - longitude) < 1e-9, "\(path)")
        }
    }

    @Test("text with no number, or holding inf or undef, gives no position (exiftool gives none either)")
    func noNumber() throws {
        for latitude in ["north", "inf", "12 undef 3"] {
            let bytes = Self.tiff(latitude: latitude, latitudeRef: "N", longitude: "4.5", longitudeRef: "E")
            let report = ExifReader.read(bytes: bytes, name: "gps.tif")
            #expect(report.gps == nil, "\(latitude)")
            #expect(report["GPS:GPSLatitude"] == .text(""), "\(latitude)")
        }
    }
}
