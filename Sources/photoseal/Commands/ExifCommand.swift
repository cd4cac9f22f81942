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
        // No ExifCommand value: its property wrappers build ArgumentParser's tables (0.3 ms).
        return readAndPrint(files: files, json: json) ? 0 : 1
    }

    func run() throws {
        if !Self.readAndPrint(files: files, json: json) { throw ExitCode(1) }
    }

    /// Reads and prints `files`; false when no file could be read at all.
    private static func readAndPrint(files: [String], json: Bool) -> Bool {
        // Files are read on every core and written in order. Each lane takes the next 16 files
        // from a shared counter (a lane that drew small files takes more, so no lane waits for
        // another at the end of a window), a window of 1,024 files at a time (memory stays
        // flat however many files there are). The lane that completes the next chunk in file
        // order writes it, and any done after it: output leaves while other files are read,
        // and a few chunk buffers serve the whole run (fresh ones cost a page fault per 4 KiB).
        // Online processors, not ProcessInfo's count (which reads cgroup files through
        // Foundation, 0.2 ms of start-up): concurrentPerform runs no more threads than its
        // own width allows anyway, and a lane that finds no chunk left returns at once.
        let processors = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let lanes = max(1, min(processors, files.count / 16))
        let chunk = 16
        let window = 1024
        var head = StandardOutput()
        if json { head.write(Array("[\n".utf8)[...]) }
        let output = Mutex(OrderedOutput(out: head))
        var start = 0
        while start < files.count {
            let first = start
            let end = min(files.count, start + window)
            output.withLock { $0.startWindow(chunks: (end - first + chunk - 1) / chunk) }
            DispatchQueue.concurrentPerform(iterations: lanes) { _ in
                let directory = ExifDirectory()
                while let (claimed, part) = output.withLock({ $0.claim() }) {
                    let from = first + claimed * chunk
                    let to = min(end, from + chunk)
                    part.bytes.reserveCapacity((to - from) * 2048)
                    for index in from..<to {
                        let report = ExifReader.read(path: files[index], directory: directory)
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
                    output.withLock { $0.finish(claimed, part) }
                }
            }
            start = end
        }
        let readable = output.withLock { state in
            if json { state.out.write(Array("]\n".utf8)[...]) }
            state.out.flush()
            return state.readable
        }
        return readable > 0
    }

    /// One chunk's output: the bytes, and per file where its bytes end, its error message and
    /// whether anything was read.
    private final class Rendered: @unchecked Sendable {
        var bytes: [UInt8] = []
        var pieces: [(end: Int, error: String?, readable: Bool)] = []
    }

    /// The chunks of the current window, handed out to lanes and written in file order as
    /// they complete; written chunks' buffers are handed out again.
    private struct OrderedOutput {
        var out: StandardOutput
        /// Files with something read (tags, or no error) over the whole run.
        var readable = 0
        private var chunks = 0
        private var taken = 0
        private var written = 0
        private var done: [Rendered?] = []
        private var spare: [Rendered] = []

        init(out: StandardOutput) { self.out = out }

        mutating func startWindow(chunks: Int) {
            self.chunks = chunks
            taken = 0
            written = 0
            done = Array(repeating: nil, count: chunks)
        }

        /// The next chunk to render and an empty buffer for it, or nil when all are taken.
        mutating func claim() -> (Int, Rendered)? {
            guard taken < chunks else { return nil }
            taken += 1
            return (taken - 1, spare.popLast() ?? Rendered())
        }

        mutating func finish(_ index: Int, _ part: Rendered) {
            done[index] = part
            while written < chunks, let ready = done[written] {
                done[written] = nil
                write(ready)
                ready.bytes.removeAll(keepingCapacity: true)
                ready.pieces.removeAll(keepingCapacity: true)
                spare.append(ready)
                written += 1
            }
        }

        private mutating func write(_ part: Rendered) {
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
        }
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
