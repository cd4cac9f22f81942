import Foundation
import Testing

@testable import Enrich

/// Compares photoseal's EXIF with exiftool 12.57's readings (`exiftool -j -n -G1 -a -u`),
/// copied with the images from ../shared/testdata/exif (see Fixtures/exif/README.md).
enum ExifTruth {
    static let root = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/exif")
    static let images = root.appendingPathComponent("images")
    static let truth = root.appendingPathComponent("truth")

    /// Every fixture image, by file name.
    static let files: [String] =
        ((try? FileManager.default.contentsOfDirectory(atPath: images.path)) ?? []).sorted()

    /// The groups compared; System, File, Composite and maker-note groups are not EXIF IFDs.
    static let groups: Set<String> = ["IFD0", "IFD1", "ExifIFD", "GPS", "InteropIFD", "SubIFD"]

    /// Containers whose compared tags must all match exiftool.
    static let strictExtensions: Set<String> = [
        "jpg", "jpeg", "tif", "tiff", "dng", "cr2", "nef", "png", "webp", "heic", "heif",
    ]

    /// Tags photoseal deliberately reports differently from exiftool, with the reason (also
    /// listed in docs/exif.md). Empty: every compared tag matches. The one systematic
    /// adjustment is `offsetTags` below, which concerns the truth files, not photoseal.
    static let exceptions: [String: String] = [:]

    /// Offset tags: for `.app1.json` truth, exiftool read the bare EXIF block, so its offsets
    /// count from the TIFF header while photoseal's count from the start of the file.
    static let offsetTags: Set<String> = ["ThumbnailOffset", "StripOffsets", "PreviewImageStart", "JpgFromRawStart"]

    static func load(_ file: String) throws -> (truth: [String: Any], isApp1: Bool) {
        let stem = (file as NSString).deletingPathExtension
        let app1 = truth.appendingPathComponent(stem + ".app1.json")
        let isApp1 = FileManager.default.fileExists(atPath: app1.path)
        let url = isApp1 ? app1 : truth.appendingPathComponent(stem + ".json")
        let array = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]]
        return (array?.first ?? [:], isApp1)
    }

    /// exiftool's "2008:10:23 14:27:07.24Z" as ISO 8601 "2008-10-23T14:27:07.24Z".
    static func iso(_ stamp: String) -> String {
        let parts = stamp.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else { return stamp }
        return parts[0].replacingOccurrences(of: ":", with: "-") + "T" + parts[1]
    }

    static func number(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, let value = Double(trimmed), value.isFinite else { return nil }
        return value
    }

    /// Numbers to 6 significant digits.
    static func close(_ a: Double, _ b: Double) -> Bool {
        if a == b { return true }
        if a == 0 || b == 0 { return abs(a - b) < 1e-9 }
        return abs(a - b) <= 5e-6 * max(abs(a), abs(b))
    }

    /// Whether photoseal's value equals exiftool's JSON value (lists against space-joined text).
    static func matches(_ mine: ExifValue, _ expected: Any) -> Bool {
        if case .list(let values) = mine {
            let parts = "\(expected)".split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            return parts.count == values.count && zip(values, parts).allSatisfy { matches($0, $1) }
        }
        if let expectedNumber = expected as? NSNumber {
            guard let value = mine.doubleValue else { return false }
            return close(value, expectedNumber.doubleValue)
        }
        let text = "\(expected)"
        if let a = mine.doubleValue, let b = number(text) { return close(a, b) }
        return mine.exiftoolText.trimmingCharacters(in: .whitespaces) == text.trimmingCharacters(in: .whitespaces)
    }
}

@Suite("EXIF against exiftool", .tags(.slow))
struct ExifTruthTests {
    @Test("the fixture corpus is present")
    func corpusPresent() {
        #expect(ExifTruth.files.count >= 139)
    }

    @Test("every compared tag matches exiftool's reading", arguments: ExifTruth.files)
    func tagsMatchExiftool(file: String) throws {
        let (truth, isApp1) = try ExifTruth.load(file)
        let report = ExifReader.read(path: ExifTruth.images.appendingPathComponent(file).path)
        let mine = Dictionary(report.tags.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        var compared = 0
        var failures: [String] = []
        for (key, expected) in truth.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, ExifTruth.groups.contains(String(parts[0])) else { continue }
            if ExifTruth.exceptions[key] != nil { continue }
            compared += 1
            guard var value = mine[key] else {
                failures.append("\(key): missing (exiftool: \(expected))")
                continue
            }
            if isApp1, ExifTruth.offsetTags.contains(String(parts[1])), let base = report.exifOffset {
                value = value.shifted(by: -base)
            }
            if !ExifTruth.matches(value, expected) {
                failures.append("\(key): photoseal \(value.exiftoolText) vs exiftool \(expected)")
            }
        }
        if let order = truth["File:ExifByteOrder"] as? String {
            #expect(report.byteOrder == order, "\(file): byte order")
        }
        let ext = (file as NSString).pathExtension.lowercased()
        if ExifTruth.strictExtensions.contains(ext) {
            #expect(failures.isEmpty, "\(file): \(failures.joined(separator: "; "))")
        } else {
            let coverage = compared == 0 ? 100 : 100 * (compared - failures.count) / compared
            print("EXIF coverage \(file): \(compared - failures.count)/\(compared) tags (\(coverage)%)")
        }
    }

    @Test("the signed position matches exiftool's Composite GPS", arguments: ExifTruth.files)
    func gpsMatchesComposite(file: String) throws {
        let (truth, _) = try ExifTruth.load(file)
        // Where exiftool gave up on the file ("JPEG format error") it has no position to compare.
        if truth["ExifTool:Warning"] as? String == "JPEG format error" { return }
        let report = ExifReader.read(path: ExifTruth.images.appendingPathComponent(file).path)
        guard let lat = truth["Composite:GPSLatitude"] as? NSNumber,
            let lon = truth["Composite:GPSLongitude"] as? NSNumber
        else {
            #expect(report.gps == nil, "\(file): photoseal found a position exiftool does not")
            return
        }
        let gps = try #require(report.gps, "\(file): no position")
        #expect(abs(gps.latitude - lat.doubleValue) < 1e-6)
        #expect(abs(gps.longitude - lon.doubleValue) < 1e-6)
        if let alt = truth["Composite:GPSAltitude"] as? NSNumber {
            let mine = try #require(gps.altitude)
            #expect(ExifTruth.close(mine, alt.doubleValue))
        }
        if let stamp = truth["Composite:GPSDateTime"] as? String {
            // exiftool: "2008:10:23 14:27:07.24Z"; photoseal: ISO 8601.
            #expect(gps.time == ExifTruth.iso(stamp))
        }
    }

    @Test("the capture time matches exiftool's SubSecDateTimeOriginal", arguments: ExifTruth.files)
    func captureTimeMatchesComposite(file: String) throws {
        let (truth, _) = try ExifTruth.load(file)
        guard let stamp = truth["Composite:SubSecDateTimeOriginal"] as? String else { return }
        let report = ExifReader.read(path: ExifTruth.images.appendingPathComponent(file).path)
        #expect(report.dateTimeOriginal == ExifTruth.iso(stamp), "\(file)")
    }

    @Test("the JSON object parses and keeps the key order file, tags, gps, error", arguments: ExifTruth.files)
    func jsonIsValid(file: String) throws {
        let report = ExifReader.read(path: ExifTruth.images.appendingPathComponent(file).path)
        let json = report.jsonObject()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["file", "tags", "gps", "error"])
        #expect(json.hasPrefix("{\"file\":"))
        let tags = try #require(object["tags"] as? [String: Any])
        #expect(tags.count == Set(report.tags.map(\.key)).count)
        let tagsAt = try #require(json.range(of: ",\"tags\":"))
        let gpsAt = try #require(json.range(of: "},\"gps\":", options: .backwards))
        let errorAt = try #require(json.range(of: ",\"error\":", options: .backwards))
        #expect(tagsAt.lowerBound < gpsAt.lowerBound && gpsAt.lowerBound < errorAt.lowerBound)
    }
}
