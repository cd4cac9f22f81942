#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole file mapped read-only into memory; unmapped when the last reference goes.
///
/// `@unchecked Sendable`: the mapping is `PROT_READ` and never changes after `init`, so any
/// number of threads may read it at once.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer
    let size: Int
    let name: String

    init(path: String, name: String) throws(EnrichError) {
        self.name = name
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw EnrichError(.resourceMissing, input: name, detail: "cannot open the index file (errno \(errno))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size > 0 else {
            throw EnrichError(.resourceMissing, input: name, detail: "the index file is empty or not a regular file")
        }
        let size = Int(info.st_size)
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw EnrichError(.resourceMissing, input: name, detail: "cannot map the index file (errno \(errno))")
        }
        self.base = UnsafeRawPointer(mapped)
        self.size = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), size)
    }
}

/// One index file in the section format written by `scripts/build-geonames-index.py`:
/// magic `PSGEOIDX` | version u32 | section count u32 | per section (name 16 | offset u64 |
/// length u64) | sections, each on a 16-byte boundary. All numbers are little-endian.
struct SectionFile {
    static let magic: [UInt8] = Array("PSGEOIDX".utf8)
    static let version: UInt32 = 1

    let file: MappedFile
    private var sections: [String: (offset: Int, length: Int)] = [:]

    init(path: String, name: String) throws(EnrichError) {
        #if _endian(big)
            throw EnrichError(.resourceCorrupt, input: name, detail: "the index is little-endian, this machine is not")
        #endif
        file = try MappedFile(path: path, name: name)
        let size = file.size
        let base = file.base
        guard size >= 16,
            Self.magic.indices.allSatisfy({ base.load(fromByteOffset: $0, as: UInt8.self) == Self.magic[$0] })
        else { throw Self.corrupt(name, "not a photoseal GeoNames index (bad magic)") }
        let version = base.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        guard version == Self.version else {
            throw Self.corrupt(name, "format version \(version), this photoseal reads version \(Self.version)")
        }
        let count = Int(base.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard count <= 64, 16 + 32 * count <= size else { throw Self.corrupt(name, "bad section table") }
        for index in 0..<count {
            let entry = 16 + 32 * index
            var nameBytes: [UInt8] = []
            for byteIndex in 0..<16 {
                let byte = base.load(fromByteOffset: entry + byteIndex, as: UInt8.self)
                if byte == 0 { break }
                nameBytes.append(byte)
            }
            let offset = base.loadUnaligned(fromByteOffset: entry + 16, as: UInt64.self)
            let length = base.loadUnaligned(fromByteOffset: entry + 24, as: UInt64.self)
            guard offset % 16 == 0, offset <= UInt64(size), length <= UInt64(size) - offset else {
                throw Self.corrupt(name, "a section lies outside the file")
            }
            sections[String(decoding: nameBytes, as: UTF8.self)] = (Int(offset), Int(length))
        }
    }

    static func corrupt(_ name: String, _ detail: String) -> EnrichError {
        EnrichError(.resourceCorrupt, input: name, detail: detail)
    }

    /// The section `name` as `count` values of `T`; throws unless its length is exactly that.
    func array<T>(_ section: String, of type: T.Type, count: Int) throws(EnrichError) -> UnsafePointer<T> {
        guard let entry = sections[section] else { throw Self.corrupt(file.name, "section \(section) is missing") }
        guard count >= 0, entry.length == count * MemoryLayout<T>.stride,
            entry.offset % MemoryLayout<T>.alignment == 0
        else {
            throw Self.corrupt(file.name, "section \(section) has \(entry.length) bytes, expected \(count) values")
        }
        return (file.base + entry.offset).bindMemory(to: T.self, capacity: count)
    }

    /// The byte length of section `name`.
    func length(_ section: String) throws(EnrichError) -> Int {
        guard let entry = sections[section] else { throw Self.corrupt(file.name, "section \(section) is missing") }
        return entry.length
    }
}
