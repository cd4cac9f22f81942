import Foundation
import Testing

@testable import Enrich

@Suite("EXIF report rendering", .tags(.unit))
struct ExifReportTests {
    @Test("text with quotes, backslashes, control characters and U+2028 round-trips through the JSON object")
    func jsonEscaping() throws {
        let awkward = "say \"hi\"\\ \u{1}tab\there\nline\u{2028}end é 東京"
        var tiff = TIFFBytes()
        let bytes = Array(awkward.utf8) + [0]
        let values = 8 + 2 + 12 + 4
        tiff.ifd([TIFFBytes.entry(tag: 0x10E, type: 2, count: bytes.count, value: values)])
        tiff.bytes += bytes
        let report = ExifReader.read(bytes: tiff.bytes, name: "text \"quoted\".tif")
        let json = report.jsonObject()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let tags = try #require(object["tags"] as? [String: Any])
        #expect(tags["IFD0:ImageDescription"] as? String == awkward)
        #expect(object["file"] as? String == "text \"quoted\".tif")
    }

    @Test("reading from memory and from the file give the same report")
    func bytesAndPathAgree() throws {
        let url = ExifTruth.images.appendingPathComponent("et_Apple.jpg")
        let fromPath = ExifReader.read(path: url.path)
        let fromBytes = ExifReader.read(bytes: try Data(contentsOf: url), name: url.path)
        #expect(fromPath.entries == fromBytes.entries)
        #expect(fromPath.gps == fromBytes.gps)
        #expect(fromPath.jsonObject() == fromBytes.jsonObject())
    }

    @Test("files opened by name in their kept-open folder read as when opened by path, errors included")
    func keptFolderAgrees() throws {
        let images = ExifTruth.images.path
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("exif-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: other) }
        // The same name in two folders with different photos: a stale folder would read the other.
        try Data(contentsOf: ExifTruth.images.appendingPathComponent("et_Apple.jpg"))
            .write(to: other.appendingPathComponent("es_Canon_40D.jpg"))
        // Folders alternate, a missing file sits in a folder that exists, and a folder is read
        // as a file: each must give the report a plain open gives.
        let paths = [
            images + "/es_Canon_40D.jpg", other.path + "/es_Canon_40D.jpg", images + "/es_Canon_40D.jpg",
            images + "/no-such-file.jpg", other.path + "/es_Canon_40D.jpg", images + "/../images/et_Canon.jpg",
            images, images + "/", "/no-such-folder/x.jpg", images + "/es_Canon_40D.jpg",
        ]
        let directory = ExifDirectory()
        for path in paths {
            let kept = ExifReader.read(path: path, directory: directory)
            let plain = ExifReader.read(path: path)
            // Compared as a Bool: a failure must not print the photos' EXIF.
            let same = kept.jsonObject() == plain.jsonObject()
            #expect(same, "\(path)")
        }
        #expect(ExifReader.read(path: images + "/no-such-file.jpg", directory: directory).error != nil)
        let first = ExifReader.read(path: images + "/es_Canon_40D.jpg", directory: directory)
        let second = ExifReader.read(path: other.path + "/es_Canon_40D.jpg", directory: directory)
        let differ = first.entries != second.entries
        #expect(differ)
    }

    @Test("the JSON array holds one object per report, in order")
    func jsonArray() throws {
        let reports = ["es_Canon_40D.jpg", "px_notjpeg.jpg"].map {
            ExifReader.read(path: ExifTruth.images.appendingPathComponent($0).path)
        }
        let array = try #require(
            try JSONSerialization.jsonObject(with: Data(ExifReport.jsonArray(reports).utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect((array[0]["file"] as? String)?.hasSuffix("es_Canon_40D.jpg") == true)
        #expect(array[1]["error"] is String)
    }

    @Test("short opaque UNDEFINED values are their bytes, long ones their size")
    func undefinedBytes() {
        var tiff = TIFFBytes()
        let values = 8 + 2 + 24 + 4
        // Two unknown UNDEFINED tags that are not UTF-8: 5 bytes and 100 bytes.
        tiff.ifd([
            TIFFBytes.entry(tag: 0xFDFF, type: 7, count: 5, value: values),
            TIFFBytes.entry(tag: 0xFE01, type: 7, count: 100, value: values + 5),
        ])
        tiff.bytes += [0xFF, 0xFE, 0x00, 0x01, 0x80] + Array(repeating: 0xFF, count: 100)
        let report = ExifReader.read(bytes: tiff.bytes, name: "undef.tif")
        #expect(report["IFD0:Exif_0xfdff"] == .list([255, 254, 0, 1, 128].map { .integer($0) }))
        #expect(report["IFD0:Exif_0xfe01"] == .binary(100))
    }
}
