#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Random access to the bytes of one file or buffer, with every read bounds-checked.
///
/// Reads return fewer bytes than asked only at the end of the data; offsets are absolute.
protocol ExifByteSource: AnyObject {
    /// Total size in bytes.
    var size: Int { get }
    /// Up to `count` bytes starting at `offset` (empty when `offset` is at or past the end).
    func read(at offset: Int, count: Int) throws(EnrichError) -> [UInt8]
    /// Up to `count` bytes at `offset` as `buffer[start..<start + count]`, where `buffer` is
    /// the bytes already held (the whole buffer, the cached block) when they are there, so
    /// that headers and IFDs are read in place instead of copied into a new array each.
    func view(at offset: Int, count: Int) throws(EnrichError) -> ExifBytes
}

/// Bytes `buffer[start..<start + count]` lent by an ``ExifByteSource`` (no copy).
struct ExifBytes {
    var buffer: [UInt8]
    var start: Int
    var count: Int

    static let empty = ExifBytes(buffer: [], start: 0, count: 0)

    /// The byte at `index` from `start` (callers check `index < count`).
    @inline(__always)
    subscript(index: Int) -> UInt8 { buffer[start + index] }

    /// The bytes as their own array (one copy).
    var array: [UInt8] { Array(buffer[start..<(start + count)]) }

    /// Whether the bytes from `index` on begin with `prefix`.
    func matches(_ prefix: StaticString, at index: Int = 0) -> Bool {
        let length = prefix.utf8CodeUnitCount
        guard index >= 0, length <= count - index else { return false }
        let pointer = prefix.utf8Start
        for offset in 0..<length where buffer[start + index + offset] != pointer[offset] { return false }
        return true
    }
}

extension ExifByteSource {
    /// Exactly `count` bytes at `offset`, or nil when the data ends first.
    func readExactly(at offset: Int, count: Int) throws(EnrichError) -> [UInt8]? {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else { return nil }
        let bytes = try read(at: offset, count: count)
        return bytes.count == count ? bytes : nil
    }

    /// Exactly `count` bytes at `offset` in place (see ``view(at:count:)``), or nil when the
    /// data ends first.
    func viewExactly(at offset: Int, count: Int) throws(EnrichError) -> ExifBytes? {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else { return nil }
        let bytes = try view(at: offset, count: count)
        return bytes.count == count ? bytes : nil
    }
}

/// Bytes already in memory.
final class MemoryByteSource: ExifByteSource {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var size: Int { bytes.count }

    func read(at offset: Int, count: Int) -> [UInt8] {
        guard offset >= 0, offset < bytes.count, count > 0 else { return [] }
        let end = offset + min(count, bytes.count - offset)
        return Array(bytes[offset..<end])
    }

    func view(at offset: Int, count: Int) -> ExifBytes {
        guard offset >= 0, offset < bytes.count, count > 0 else { return .empty }
        return ExifBytes(buffer: bytes, start: offset, count: min(count, bytes.count - offset))
    }
}

/// A window of another source (an embedded JPEG inside a raw file), offsets from its start.
final class SliceByteSource: ExifByteSource {
    private let parent: any ExifByteSource
    private let start: Int
    let size: Int

    init(_ parent: any ExifByteSource, start: Int, length: Int) {
        self.parent = parent
        self.start = max(0, min(start, parent.size))
        size = max(0, min(length, parent.size - self.start))
    }

    func read(at offset: Int, count: Int) throws(EnrichError) -> [UInt8] {
        guard offset >= 0, offset < size, count > 0 else { return [] }
        return try parent.read(at: start + offset, count: min(count, size - offset))
    }

    func view(at offset: Int, count: Int) throws(EnrichError) -> ExifBytes {
        guard offset >= 0, offset < size, count > 0 else { return .empty }
        return try parent.view(at: start + offset, count: min(count, size - offset))
    }
}

/// A file read with `pread` at the offsets the parser asks for, never as a whole.
///
/// One aligned 16 KiB block is cached, since IFD entries and their values cluster.
final class FileByteSource: ExifByteSource {
    private let descriptor: Int32
    private let name: String
    let size: Int
    private var cacheOffset = -1
    private var cache: [UInt8] = []
    private static let blockSize = 16 * 1024

    init(path: String, name: String, directory: ExifDirectory? = nil) throws(EnrichError) {
        self.name = name
        // Non-blocking: opening a FIFO for reading otherwise waits for a writer (forever); it
        // is then refused below as not a regular file. (No effect on regular files.)
        let flags = O_RDONLY | O_NONBLOCK | O_NOCTTY
        let fd = directory?.open(path, flags: flags) ?? open(path, flags)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "no such file" : "cannot open the file (errno \(errno))"
            throw EnrichError(.fileUnreadable, input: name, detail: reason)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw EnrichError(.fileUnreadable, input: name, detail: "cannot stat the file")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw EnrichError(.fileUnreadable, input: name, detail: "not a regular file")
        }
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    func read(at offset: Int, count: Int) throws(EnrichError) -> [UInt8] {
        let bytes = try view(at: offset, count: count)
        if bytes.start == 0, bytes.count == bytes.buffer.count { return bytes.buffer }
        return bytes.array
    }

    func view(at offset: Int, count: Int) throws(EnrichError) -> ExifBytes {
        guard offset >= 0, offset < size, count > 0 else { return .empty }
        let wanted = min(count, size - offset)
        let blockStart = offset - offset % Self.blockSize
        if wanted <= Self.blockSize, offset + wanted <= blockStart + Self.blockSize {
            if cacheOffset != blockStart {
                cache = try rawRead(at: blockStart, count: min(Self.blockSize, size - blockStart))
                cacheOffset = blockStart
            }
            let start = offset - blockStart
            let end = min(start + wanted, cache.count)
            return start < end ? ExifBytes(buffer: cache, start: start, count: end - start) : .empty
        }
        let bytes = try rawRead(at: offset, count: wanted)
        return ExifBytes(buffer: bytes, start: 0, count: bytes.count)
    }

    private func rawRead(at offset: Int, count: Int) throws(EnrichError) -> [UInt8] {
        var failure: Int32 = 0
        let buffer = [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
            var done = 0
            while done < count {
                let got = pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset + done))
                if got < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if got == 0 { break }
                done += got
            }
            initialized = done
        }
        if failure != 0 {
            throw EnrichError(.fileUnreadable, input: name, detail: "read failed (errno \(failure))")
        }
        return buffer
    }
}

/// The folder of the last file read, kept open so that the next file in the same folder is
/// opened by its name alone (`openat`): the kernel then looks up one path component instead
/// of every one, a noticeable part of reading thousands of files. Used by one thread at a time.
package final class ExifDirectory {
    private var path: Substring?
    private var descriptor: Int32 = -1

    package init() {}

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Opens `path` with `flags` as `open(2)` would. Whenever the shortcut fails, the whole
    /// path is opened as usual, so results and errors are those of a plain `open`.
    func open(_ path: String, flags: Int32) -> Int32 {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return plainOpen(path, flags) }
        let folder = path[..<slash]
        let file = path[path.utf8.index(after: slash)...]
        guard !file.isEmpty else { return plainOpen(path, flags) }
        if folder != self.path {
            if descriptor >= 0 { close(descriptor) }
            descriptor = plainOpen(folder.isEmpty ? "/" : String(folder), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            self.path = folder
        }
        guard descriptor >= 0 else { return plainOpen(path, flags) }
        let fd = file.withCString { openat(descriptor, $0, flags) }
        return fd >= 0 ? fd : plainOpen(path, flags)
    }

    private func plainOpen(_ path: String, _ flags: Int32) -> Int32 {
        #if canImport(Glibc)
            Glibc.open(path, flags)
        #elseif canImport(Darwin)
            Darwin.open(path, flags)
        #endif
    }
}
