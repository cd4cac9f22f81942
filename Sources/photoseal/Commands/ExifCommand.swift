import ArgumentParser
import Foundation
import Ingest

/// `photoseal exif FILE... [--json]`: EXIF tags as exiftool names them, with `-n` values.
struct ExifCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exif",
        abstract: "Print the EXIF metadata of image files (JPEG, TIFF/raw, PNG, WebP, HEIC).",
        discussion: """
            Tags are keyed as exiftool's family-1 group and tag name (IFD0:Make, ExifIFD:FNumber, \
            GPS:GPSLatitude) with numeric values like `exiftool -n`. A damaged file is reported on \
            its own line (or in its "error" field) with the tags read before the damage; the exit \
            status is 0 unless no file could be read at all.

            Examples:
              photoseal exif IMG_0001.jpg
              photoseal exif --json photos/*.jpg > exif.json
            """
    )

    @Argument(help: "Image files to read.")
    var files: [String]

    @Flag(help: "Print a JSON array with one object per file: {file, tags, gps, error}.")
    var json = false

    mutating func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Give at least one FILE to read.") }
    }

    func run() throws {
        var readable = 0
        // Stream the array one object per line, so memory stays flat however many files there are.
        if json { print("[") }
        for (index, file) in files.enumerated() {
            let report = ExifReader.read(path: file)
            if report.error == nil || !report.entries.isEmpty { readable += 1 }
            if json {
                print("  " + report.jsonObject() + (index + 1 < files.count ? "," : ""))
            } else {
                printTable(report)
            }
            if let error = report.error {
                FileHandleStderr.write("photoseal exif: \(error)\n")
            }
        }
        if json { print("]") }
        if readable == 0 { throw ExitCode(1) }
    }

    private func printTable(_ report: ExifReport) {
        print("== \(report.file)")
        let width = min(40, report.tags.map(\.key.count).max() ?? 0)
        for (key, value) in report.tags {
            let padding = String(repeating: " ", count: max(1, width - key.count + 1))
            print(key + padding + value.exiftoolText)
        }
        if let gps = report.gps {
            var line = "position".padding(width) + "\(gps.latitude), \(gps.longitude)"
            if let altitude = gps.altitude { line += ", \(altitude) m" }
            if let time = gps.time { line += " at \(time)" }
            print(line)
        }
        if let taken = report.dateTimeOriginal { print("taken".padding(width) + taken) }
        if let error = report.error { print("error".padding(width) + error.description) }
        if report.tags.isEmpty, report.error == nil { print("(no EXIF)") }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self + String(repeating: " ", count: max(1, width - count + 1))
    }
}

/// Writes messages to standard error.
enum FileHandleStderr {
    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
