import Crypto
import Foundation
import HTTP

/// An `HTTPBodySink` that takes a 200 answer's body while hashing it with SHA-256 and checking
/// its first bytes for an image signature.
///
/// Bodies up to `memoryLimit` stay in memory (no temporary file is written and read back, the
/// common case for photos); a larger body spills to an unnamed file in `directory` (the work
/// directory), so memory stays bounded by `concurrency × memoryLimit` however large the
/// originals. The spill file has no name (`ScratchFile`): nothing is left behind by a killed
/// run and no shared temporary folder is touched.
///
/// `@unchecked Sendable`: the HTTP engine calls `begin`/`receive` from its one thread, in
/// order, and the download task reads the results only after `send` has returned, so no two
/// threads touch the state at once.
final class BodyFile: HTTPBodySink, @unchecked Sendable {
    /// Where a spilled body's unnamed file is made (only when the body outgrows `memoryLimit`).
    let directory: String
    let maxBytes: Int
    let memoryLimit: Int
    private(set) var status = 0
    private(set) var bytes = 0
    private(set) var notImage = false
    private(set) var tooLarge = false
    private(set) var writeFailed = false
    private(set) var format: ImageFormat?
    /// Whether the answer said where its body ends (a `Content-Length`, or chunked encoding,
    /// whose missing last chunk libcurl reports): otherwise only the connection's close ends
    /// it, and an early close looks the same as the end.
    private(set) var framed = false
    /// Whether the body came `Content-Encoding`-encoded (libcurl decodes it: `bytes` and the
    /// hash are of the decoded body, `Content-Length` of the encoded one).
    private(set) var encoded = false
    /// The last bytes received (at most `tailSize`), for the end-marker check.
    private var tail: [UInt8] = []
    private static let tailSize = 64
    private var head: [UInt8] = []
    private var buffer: [UInt8] = []
    private var descriptor: Int32 = -1
    private var spilled = false
    private let hasher: SHA256

    init(maxBytes: Int, memoryLimit: Int = 8 << 20, directory: String) throws {
        self.directory = directory
        self.maxBytes = maxBytes
        self.memoryLimit = memoryLimit
        hasher = try SHA256()
    }

    deinit { closeFile() }

    func begin(status: Int, headers: [(name: String, value: String)]) -> Bool {
        self.status = status
        guard status == 200 else { return true }
        // Names compared in ASCII, not through a lowercased copy of every header, and values
        // trimmed without Foundation's CharacterSet: this runs for every download.
        func value(_ name: String) -> Substring? {
            headers.last(where: { HTTPResponse.sameName($0.name, name) }).map { HTTPResponse.trimmed($0.value) }
        }
        let chunked = value("transfer-encoding")?.lowercased().contains("chunked") == true
        let length = value("content-length").flatMap { Int($0) }
        framed = chunked || length != nil
        encoded = value("content-encoding").map { !$0.isEmpty && $0.lowercased() != "identity" } ?? false
        if let length, length > 0, length <= memoryLimit {
            buffer.reserveCapacity(length)
        }
        return true
    }

    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        // Bodies of other answers (errors, redirects) are read and dropped, up to a limit.
        guard status == 200 else {
            bytes += chunk.count
            return bytes < 1 << 20
        }
        if head.count < 16 {
            head += chunk.prefix(16 - head.count)
            if head.count >= 16 || bytes + chunk.count >= 16 {
                format = ImageFormat.sniff(head)
                if format == nil {
                    notImage = true
                    return false
                }
            }
        }
        bytes += chunk.count
        guard bytes <= maxBytes else {
            tooLarge = true
            return false
        }
        hasher.update(chunk)
        if chunk.count >= Self.tailSize {
            tail = Array(chunk.suffix(Self.tailSize))
        } else {
            tail += chunk
            if tail.count > Self.tailSize { tail.removeFirst(tail.count - Self.tailSize) }
        }
        if !spilled, bytes <= memoryLimit {
            buffer.append(contentsOf: chunk)
            return true
        }
        if !spilled {
            spilled = true
            descriptor = ScratchFile.open(in: directory)
            guard descriptor >= 0 else {
                writeFailed = true
                return false
            }
            let kept = buffer
            buffer = []
            guard kept.withUnsafeBytes({ writeAll($0) }) else { return false }
        }
        return writeAll(chunk)
    }

    private func writeAll(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard let base = chunk.baseAddress else { return true }
        var offset = 0
        while offset < chunk.count {
            let written = write(descriptor, base + offset, chunk.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                writeFailed = true
                return false
            }
            offset += written
        }
        return true
    }

    /// Ends the body and returns the hex digest.
    func finish() -> String {
        if format == nil, !head.isEmpty {
            format = ImageFormat.sniff(head)
            if format == nil { notImage = true }
        }
        return hasher.finalizeHex()
    }

    /// Whether the body ends as its format ends: JPEG with EOI (`FF D9`, trailing padding of
    /// zeros or line ends allowed), PNG with its `IEND` chunk; other formats have no end
    /// marker this checks, and pass.
    var endsWithEndMarker: Bool {
        switch format?.name {
        case "jpeg":
            let trimmed = tail.reversed().drop { $0 == 0x00 || $0 == 0x0A || $0 == 0x0D || $0 == 0x20 }
            return trimmed.starts(with: [0xD9, 0xFF])
        case "png":
            // IEND: length 0, the type, then its CRC (AE 42 60 82), last in the file.
            let iend: [UInt8] = [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82]
            return tail.count >= iend.count && tail.suffix(iend.count).elementsEqual(iend)
        default:
            return true
        }
    }

    /// The descriptor of the spilled file (open for reading with `pread`), or `nil` when the
    /// body stayed in memory: a large body is then streamed from it, never read whole.
    var spilledDescriptor: Int32? { spilled && descriptor >= 0 ? descriptor : nil }

    /// The whole body: from memory, or read back from the spilled file (nil when that fails).
    func contents() -> [UInt8]? {
        guard spilled else { return buffer }
        guard descriptor >= 0, bytes > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: bytes)
        let complete = out.withUnsafeMutableBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let got = pread(descriptor, raw.baseAddress! + offset, raw.count - offset, off_t(offset))
                if got < 0, errno == EINTR { continue }
                guard got > 0 else { return false }
                offset += got
            }
            return true
        }
        return complete ? out : nil
    }

    private func closeFile() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
    }

    /// Drops the body: frees the memory and closes a spilled file (which has no name, so
    /// closing it frees it).
    func discard() {
        closeFile()
        buffer = []
    }
}
