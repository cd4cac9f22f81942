import Crypto
import Foundation

/// `write(2)`, named apart from `FileWriter.write`.
private func systemWrite(_ descriptor: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, base, count)
}

/// Reads an open file through one reusable window: what the streaming paths of the image
/// store (copying and stripping a large download) read with, so memory stays at the window's
/// size however large the file.
final class FileWindow {
    let descriptor: Int32
    let size: Int
    private var buffer: [UInt8]
    private var start = 0
    private var count = 0

    init(descriptor: Int32, size: Int, windowSize: Int = 1 << 20) {
        self.descriptor = descriptor
        self.size = size
        buffer = [UInt8](repeating: 0, count: windowSize)
    }

    /// Loads `count` bytes at `offset` (fewer at the end of the file) and returns them; `nil`
    /// when the read fails.
    func load(at offset: Int, count wanted: Int) -> ArraySlice<UInt8>? {
        let want = min(wanted, size - offset, buffer.count)
        guard want > 0 else { return [] }
        if offset >= start, offset + want <= start + count {
            return buffer[(offset - start)..<(offset - start + want)]
        }
        let got = buffer.withUnsafeMutableBytes { raw -> Int in
            var done = 0
            while done < want {
                let n = pread(descriptor, raw.baseAddress! + done, want - done, off_t(offset + done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return -1 }
                done += n
            }
            return done
        }
        guard got == want else {
            count = 0
            return nil
        }
        start = offset
        count = want
        return buffer[0..<want]
    }

    /// Bytes `range` as an array (small reads: a segment's payload).
    func bytes(_ range: Range<Int>) -> [UInt8]? {
        guard range.count <= buffer.count else { return nil }
        return load(at: range.lowerBound, count: range.count).map(Array.init)
    }

    /// Where the entropy-coded data starting at `start` ends, as `MetadataStripper.scanEnd`
    /// finds it in memory, reading a window at a time.
    func scanEnd(from begin: Int) -> Int? {
        var j = begin
        while j + 1 < size {
            guard let window = load(at: j, count: buffer.count) else { return nil }

            var k = 0
            var found: Int?
            window.withUnsafeBufferPointer { part in
                guard let pointer = part.baseAddress else { return }
                while k + 1 < part.count {
                    guard let hit = memchr(pointer + k, 0xFF, part.count - 1 - k) else {
                        k = part.count - 1
                        return
                    }
                    k = pointer.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    let next = part[k + 1]
                    if next != 0x00 && !(0xD0...0xD7).contains(next) && next != 0xFF {
                        found = k
                        return
                    }
                    k += 1
                }
            }
            if let found { return j + found }
            j += max(k, 1)
        }
        return max(j, begin)
    }

    /// Copies `range` of the file to `writer`; `false` when reading or writing fails.
    func copy(_ range: Range<Int>, to writer: FileWriter) -> Bool {
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard let part = load(at: offset, count: range.upperBound - offset), !part.isEmpty else { return false }
            guard writer.write(part) else { return false }
            offset += part.count
        }
        return true
    }
}

/// Writes to a descriptor through a buffer, hashing what it writes.
final class FileWriter {
    let descriptor: Int32
    private var buffer: [UInt8] = []
    private let limit: Int
    private let hasher: SHA256?
    private(set) var failed = false
    private(set) var written = 0

    /// - Parameter hashing: whether to hash what is written (`finalizeHex`).
    init(descriptor: Int32, hashing: Bool = false, bufferSize: Int = 1 << 20) throws {
        self.descriptor = descriptor
        limit = bufferSize
        hasher = hashing ? try SHA256() : nil
        buffer.reserveCapacity(bufferSize)
    }

    @discardableResult
    func write(_ bytes: some Collection<UInt8>) -> Bool {
        guard !failed else { return false }
        if buffer.count + bytes.count > limit { flush() }
        if bytes.count >= limit / 2, buffer.isEmpty {
            // A large piece (a window of scan data) goes out as it is, not through the buffer.
            if let done = bytes.withContiguousStorageIfAvailable({ put(UnsafeRawBufferPointer($0)) }) {
                return done
            }
        }
        buffer.append(contentsOf: bytes)
        return !failed
    }

    /// Writes out what is buffered; `false` once any write failed.
    @discardableResult
    func flush() -> Bool {
        guard !failed, !buffer.isEmpty else { return !failed }
        let ok = buffer.withUnsafeBytes { put($0) }
        buffer.removeAll(keepingCapacity: true)
        return ok
    }

    private func put(_ raw: UnsafeRawBufferPointer) -> Bool {
        guard let base = raw.baseAddress else { return true }
        hasher?.update(raw)
        var offset = 0
        while offset < raw.count {
            let n = systemWrite(descriptor, base + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                failed = true
                return false
            }
            offset += n
        }
        written += raw.count
        return true
    }

    /// The SHA-256 of everything written (call after `flush`; `nil` unless hashing).
    func finalizeHex() -> String? { hasher?.finalizeHex() }
}

extension MetadataStripper {
    /// Strips a JPEG read through `window` into `writer`, segment by segment, never holding
    /// more than a window and one segment: the same allow-list and the same output as
    /// `strip(_:format:)` (which the streaming path must match byte for byte).
    ///
    /// - Parameter head: the file's first bytes, holding at least every segment before the
    ///   first scan (where the ICC profile is gathered from).
    /// - Returns: `false` when the file is malformed (as `strip` returning `nil`) or a read or
    ///   write failed.
    static func stripJPEG(_ window: FileWindow, head: [UInt8], to out: FileWriter) -> Bool {
        let size = window.size
        guard size >= 4, head.count >= 4, head[0] == 0xFF, head[1] == 0xD8 else { return false }
        var dropped = Dropped(recording: false)
        out.write([0xFF, 0xD8])
        var icc = iccProfile(in: head, dropped: &dropped)
        var placedICC = false
        var keptJFIF = false
        var keptAdobe = false
        var sawFrame = false
        var sawScan = false
        var i = 2
        while i + 2 <= size {
            guard let pair = window.bytes(i..<(i + 2)), pair[0] == 0xFF else { return false }
            let marker = pair[1]
            if marker == 0xFF {
                i += 1
                continue
            }
            if marker == 0xD9 {
                out.write([0xFF, 0xD9])
                return sawFrame && sawScan && out.flush()
            }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {
                out.write([0xFF, marker])
                i += 2
                continue
            }
            guard i + 4 <= size, let lengthBytes = window.bytes((i + 2)..<(i + 4)) else { return false }
            let length = Int(lengthBytes[0]) << 8 | Int(lengthBytes[1])
            guard length >= 2, i + 2 + length <= size else { return false }
            let end = i + 2 + length
            if marker == 0xDA {
                sawScan = true
                guard let j = window.scanEnd(from: end), window.copy(i..<j, to: out) else { return false }
                i = j
                if j + 1 >= size {
                    out.write([0xFF, 0xD9])
                    return sawFrame && out.flush()
                }
                continue
            }
            guard let segment = window.bytes(i..<end) else { return false }
            let payload = segment[4...]
            switch marker {
            case 0xC0...0xCF where marker != 0xC8:
                if marker != 0xC4 && marker != 0xCC { sawFrame = true }
                out.write(segment)
            case 0xDB, 0xDC, 0xDD, 0xDE, 0xDF:
                out.write(segment)
            case 0xE0 where !keptJFIF && payload.starts(with: Array("JFIF\0".utf8)) && payload.count >= 14:
                keptJFIF = true
                let base = payload.startIndex
                out.write([0xFF, 0xE0, 0x00, 0x10] + Array(payload[base..<(base + 12)]) + [0, 0])
            case 0xEE where !keptAdobe && payload.starts(with: Array("Adobe".utf8)) && payload.count >= 12:
                keptAdobe = true
                out.write([0xFF, 0xEE, 0x00, 0x0E] + Array(payload.prefix(12)))
            case 0xE2 where payload.starts(with: Array("ICC_PROFILE\0".utf8)):
                if let profile = icc {
                    out.write(iccSegments(for: profile))
                    icc = nil
                    placedICC = true
                } else if !placedICC {
                    dropped.add("icc-dropped")
                }
            default:
                break
            }
            i = end
        }
        return false
    }

    /// Whether `head` holds every JPEG segment before the first scan (so the ICC profile
    /// gathered from it is the whole file's).
    static func headHoldsJPEGHeader(_ head: [UInt8]) -> Bool {
        var i = 2
        while i + 4 <= head.count, head[i] == 0xFF {
            let marker = head[i + 1]
            if marker == 0xFF {
                i += 1
                continue
            }
            if marker == 0xDA || marker == 0xD9 { return true }
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {
                i += 2
                continue
            }
            i += 2 + (Int(head[i + 2]) << 8 | Int(head[i + 3]))
        }
        return false
    }
}

extension ImageStore {
    /// `store(original:…)` for an image read through `window` (a large download), streamed:
    /// plain copies the file into place, stripped strips a JPEG segment by segment. `nil` when
    /// this needs the whole bytes (sealed mode, formats other than JPEG in stripped mode, a
    /// JPEG the streaming stripper refuses: the whole-bytes path seals those).
    func storeStreaming(window: FileWindow, head: [UInt8], sha256: String, format: ImageFormat, mode: Mode) throws
        -> Stored?
    {
        let clear = Self.relativePath(sha256: sha256, fileExtension: format.fileExtension, sealed: false)
        let sealedPath = Self.relativePath(sha256: sha256, fileExtension: format.fileExtension, sealed: true)
        let hasClear = FileManager.default.fileExists(atPath: absolute(clear))
        let hasSealed = FileManager.default.fileExists(atPath: absolute(sealedPath))
        switch mode {
        case .plain:
            if hasClear || hasSealed {
                return Stored(path: hasClear ? clear : sealedPath, existed: true, fallback: nil)
            }
            try writeStreaming(to: clear) { descriptor in
                guard let writer = try? FileWriter(descriptor: descriptor) else { return false }
                return window.copy(0..<window.size, to: writer) && writer.flush()
            }
            return Stored(path: clear, existed: false, fallback: nil)
        case .stripped:
            guard format.name == "jpeg", MetadataStripper.headHoldsJPEGHeader(head) else { return nil }
            // Stripped straight into an unnamed file in the image's folder, put in place only
            // once it stripped whole: one write of the image, no copy.
            let target = absolute(clear)
            let folder = (target as NSString).deletingLastPathComponent
            var descriptor = AtomicFile.openUnnamed(in: folder)
            if descriptor < 0, errno == ENOENT {
                makeFolder(of: target)
                descriptor = AtomicFile.openUnnamed(in: folder)
            }
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            let writer = try FileWriter(descriptor: descriptor, hashing: hasClear)
            guard MetadataStripper.stripJPEG(window, head: head, to: writer) else { return nil }
            do {
                if hasClear {
                    // The same bytes as the stripper makes now: a stripped copy. Anything else
                    // (the original, an older stripper's output) is replaced by it, in place.
                    if let made = writer.finalizeHex(), Self.sha256(ofFile: target) == made {
                        return Stored(path: clear, existed: true, fallback: nil)
                    }
                    _ = try AtomicFile.link(descriptor, to: target, replacing: true)
                    return Stored(path: clear, existed: true, fallback: nil)
                }
                if hasSealed { return Stored(path: sealedPath, existed: true, fallback: nil) }
                _ = try AtomicFile.link(descriptor, to: target, replacing: false)
            } catch {
                throw IngestError(
                    .imageStore,
                    "cannot write an image to \(target) (errno \(error.errno)); check disk space and permissions")
            }
            return Stored(path: clear, existed: false, fallback: nil)
        case .sealed:
            return nil
        }
    }

    /// The SHA-256 of a file, read a window at a time; `nil` when it cannot be read.
    static func sha256(ofFile path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        let size = lseek(descriptor, 0, SEEK_END)
        guard size >= 0, let hasher = try? SHA256() else { return nil }
        let window = FileWindow(descriptor: descriptor, size: Int(size))
        var offset = 0
        while offset < window.size {
            guard let part = window.load(at: offset, count: 1 << 20), !part.isEmpty else { return nil }
            part.withUnsafeBytes { hasher.update($0) }
            offset += part.count
        }
        return hasher.finalizeHex()
    }

    /// `write(_:to:)` with the contents written by `fill` to the new file's descriptor.
    func writeStreaming(to relative: String, fill: (Int32) -> Bool) throws {
        let target = absolute(relative)
        do {
            do {
                _ = try AtomicFile.create(at: target, fill: fill)
            } catch  where error.errno == ENOENT {
                makeFolder(of: target)
                _ = try AtomicFile.create(at: target, fill: fill)
            }
        } catch {
            throw IngestError(
                .imageStore,
                "cannot write an image to \(target) (errno \(error.errno)); check disk space and permissions")
        }
    }
}
