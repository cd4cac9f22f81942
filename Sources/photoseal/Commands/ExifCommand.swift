import ArgumentParser
import Foundation
import Ingest
import Synchronization

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

    @Argument(help: "Image files to read.", completion: .file())
    var files: [String]

    @Flag(help: "Print a JSON array with one object per file: {file, tags, gps, error}.")
    var json = false

    mutating func validate() throws {
        guard UsageChecks.enabled else { return }
        guard !files.isEmpty else { throw ValidationError("Give at least one FILE to read.") }
    }

    /// Runs `photoseal exif` on `arguments` (after the program name) without ArgumentParser
    /// when they are only `exif`, `--json` and file names: its cost per positional value grows
    /// with their number (5,000 files took longer to parse than to read). Anything else (help,
    /// other options, no file) returns nil and goes through ArgumentParser as usual.
    /// - Returns: the exit status, or nil when the arguments are not that simple.
    static func runDirect(_ arguments: [String]) -> Int32? {
        guard arguments.first == "exif", arguments.count > 1 else { return nil }
        var files: [String] = []
        files.reserveCapacity(arguments.count - 1)
        var json = false
        for argument in arguments.dropFirst() {
            if argument == "--json" {
                json = true
            } else if argument.hasPrefix("-") || argument.isEmpty {
                return nil
            } else {
                files.append(argument)
            }
        }
        guard !files.isEmpty else { return nil }
        var command = ExifCommand()
        command.files = files
        command.json = json
        do {
            try command.run()
            return 0
        } catch let code as ExitCode {
            return code.rawValue
        } catch {
            return 1
        }
    }

    func run() throws {
        let files = files
        let json = json
        // Files are read on every core and written in order. Each lane takes the next 16 files
        // from a shared counter (a lane that drew small files takes more, so no lane waits for
        // another at the end of a window), a window of 1,024 files at a time (memory stays
        // flat however many files there are).
        let lanes = max(1, min(ProcessInfo.processInfo.activeProcessorCount, files.count / 16))
        let chunk = 16
        let window = 1024
        var readable = 0
        var out = StandardOutput()
        if json { out.bytes += Array("[\n".utf8) }
        // The chunks' buffers serve every window: freed and allocated again, they would be
        // handed back to the kernel and faulted in anew each time.
        let parts = (0..<((min(window, files.count) + chunk - 1) / chunk)).map { _ in Rendered() }
        var start = 0
        while start < files.count {
            let first = start
            let end = min(files.count, start + window)
            let chunks = (end - first + chunk - 1) / chunk
            let taken = Mutex(0)
            DispatchQueue.concurrentPerform(iterations: lanes) { _ in
                while let claimed = taken.withLock({ taken -> Int? in
                    guard taken < chunks else { return nil }
                    taken += 1
                    return taken - 1
                }) {
                    let part = parts[claimed]
                    let from = first + claimed * chunk
                    let to = min(end, from + chunk)
                    part.bytes.reserveCapacity((to - from) * 2048)
                    for index in from..<to {
                        let report = ExifReader.read(path: files[index])
                        if json {
                            part.bytes += [0x20, 0x20]
                            report.writeJSON(into: &part.bytes)
                            if index + 1 < files.count { part.bytes.append(UInt8(ascii: ",")) }
                            part.bytes.append(0x0A)
                        } else {
                            Self.printTable(report, to: &part.bytes)
                        }
                        part.pieces.append(
                            (
                                part.bytes.count, report.error.map { "\($0)" },
                                report.error == nil || !report.entries.isEmpty
                            ))
                    }
                }
            }
            for part in parts[..<chunks] {
                var written = 0
                for piece in part.pieces {
                    if piece.readable { readable += 1 }
                    guard let error = piece.error else { continue }
                    // Each file's message follows its output, as when lines went out one by one.
                    out.write(part.bytes[written..<piece.end])
                    written = piece.end
                    out.flush()
                    FileHandleStderr.write("photoseal exif: \(error)\n")
                }
                out.write(part.bytes[written...])
                part.bytes.removeAll(keepingCapacity: true)
                part.pieces.removeAll(keepingCapacity: true)
            }
            start = end
        }
        if json { out.bytes += Array("]\n".utf8) }
        out.flush()
        if readable == 0 { throw ExitCode(1) }
    }

    /// One chunk's output: the bytes, and per file where its bytes end, its error message and
    /// whether anything was read.
    private final class Rendered: @unchecked Sendable {
        var bytes: [UInt8] = []
        var pieces: [(end: Int, error: String?, readable: Bool)] = []
    }

    private static func printTable(_ report: ExifReport, to out: inout [UInt8]) {
        func print(_ line: String) {
            var line = line
            line.withUTF8 { out.append(contentsOf: $0) }
            out.append(0x0A)
        }
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

/// Standard output gathered in 64 KiB blocks: one `write` per block, not one per line; a
/// chunk's output that fills a block on its own is written as it is, without a copy.
private struct StandardOutput {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1 << 16) }

    mutating func write(_ chunk: ArraySlice<UInt8>) {
        if bytes.count + chunk.count <= 1 << 16 {
            bytes += chunk
            return
        }
        flush()
        if chunk.count < 1 << 14 {
            bytes += chunk
        } else {
            chunk.withUnsafeBytes { Self.writeAll($0, to: STDOUT_FILENO) }
        }
    }

    mutating func flush() {
        bytes.withUnsafeBytes { Self.writeAll($0, to: STDOUT_FILENO) }
        bytes.removeAll(keepingCapacity: true)
    }

    static func writeAll(_ chunk: UnsafeRawBufferPointer, to descriptor: Int32) {
        guard let start = chunk.baseAddress else { return }
        var offset = 0
        while offset < chunk.count {
            let written = Foundation.write(descriptor, start + offset, chunk.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                break
            }
            offset += written
        }
    }
}

/// Writes messages to standard error (unbuffered, one `write` each).
enum FileHandleStderr {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { StandardOutput.writeAll(UnsafeRawBufferPointer($0), to: STDERR_FILENO) }
    }
}
