package import Foundation

/// CRC-32 as zip uses it (IEEE 802.3, reflected), sliced by eight bytes a step.
package struct CRC32: Sendable {
    /// Eight 256-entry tables, one after another (slicing-by-8).
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[n] = c
        }
        for n in 0..<256 {
            for k in 1..<8 {
                let previous = table[(k - 1) * 256 + n]
                table[k * 256 + n] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    /// Starts a checksum.
    package init() {}

    /// The checksum of the bytes given so far.
    package var value: UInt32 { ~state }

    /// Adds bytes.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var c = state
        Self.table.withUnsafeBufferPointer { t in
            var index = 0
            let count = bytes.count
            while index + 8 <= count {
                let low =
                    c
                    ^ (UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16
                        | UInt32(bytes[index + 3]) << 24)
                let high =
                    UInt32(bytes[index + 4]) | UInt32(bytes[index + 5]) << 8 | UInt32(bytes[index + 6]) << 16
                    | UInt32(bytes[index + 7]) << 24
                c =
                    t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                index += 8
            }
            while index < count {
                c = t[Int((c ^ UInt32(bytes[index])) & 0xFF)] ^ (c >> 8)
                index += 1
            }
        }
        state = c
    }

    /// Adds the bytes of an array.
    package mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The checksum of `bytes`.
    package static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }
}

/// The byte layout of a zip archive of stored (uncompressed) entries whose sizes and CRC-32s
/// are known before the first byte is written, so any byte range of the archive can be
/// produced on its own (a multipart upload resumes at any part) and its total size is known
/// up front (S3 needs it to plan the parts).
///
/// Entries are stored: photos are JPEG/PNG/WebP, which do not compress. Each entry's local
/// header carries its CRC and sizes (no data descriptors); Zip64 extra fields are written for
/// an entry only when its size or offset needs them, and the Zip64 end records only when the
/// archive's entry count, central directory size or offset needs them (or when `forceZip64`).
/// Names are UTF-8 (general-purpose flag bit 11).
package struct ZipLayout: Sendable {
    /// One entry.
    package struct Entry: Sendable {
        package var name: [UInt8]
        package var size: Int64
        package var crc: UInt32
        /// Where its local header starts.
        package var offset: Int64
        package var zip64: Bool
    }

    package private(set) var entries: [Entry] = []
    /// Each entry's local header offset, in order (searched for the entry holding a byte).
    package private(set) var localOffsets: [Int64] = []
    /// Where the central directory starts, and each central header's offset.
    package private(set) var centralOffset: Int64 = 0
    package private(set) var centralOffsets: [Int64] = []
    package private(set) var centralSize: Int64 = 0
    package let endZip64: Bool
    /// The archive's size in bytes.
    package let totalSize: Int64
    private let dosTime: UInt16
    private let dosDate: UInt16

    private static let limit32: Int64 = 0xFFFF_FFFF

    /// Lays out entries in the order given.
    /// - Parameters:
    ///   - files: name (a relative path with `/`), size and CRC-32 of each entry.
    ///   - date: every entry's modification time (UTC).
    ///   - forceZip64: Zip64 fields and end records whatever the sizes (tests).
    package init(files: [(name: String, size: Int64, crc: UInt32)], date: Date, forceZip64: Bool = false) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        dosTime = UInt16((parts.hour ?? 0) << 11 | (parts.minute ?? 0) << 5 | (parts.second ?? 0) / 2)
        dosDate = UInt16(max(0, (parts.year ?? 1980) - 1980) << 9 | (parts.month ?? 1) << 5 | (parts.day ?? 1))
        var offset: Int64 = 0
        entries.reserveCapacity(files.count)
        for file in files {
            let name = Array(file.name.utf8)
            let zip64 = forceZip64 || file.size >= Self.limit32 || offset >= Self.limit32
            let entry = Entry(name: name, size: file.size, crc: file.crc, offset: offset, zip64: zip64)
            entries.append(entry)
            localOffsets.append(offset)
            offset += Int64(Self.localHeaderLength(entry)) + file.size
        }
        centralOffset = offset
        centralOffsets.reserveCapacity(entries.count)
        for entry in entries {
            centralOffsets.append(offset)
            offset += Int64(46 + entry.name.count + (entry.zip64 ? 28 : 0))
        }
        centralSize = offset - centralOffset
        endZip64 =
            forceZip64 || entries.count >= 0xFFFF || centralOffset >= Self.limit32 || centralSize >= Self.limit32
        totalSize = offset + (endZip64 ? 56 + 20 : 0) + 22
    }

    private static func localHeaderLength(_ entry: Entry) -> Int { 30 + entry.name.count + (entry.zip64 ? 20 : 0) }

    /// Where entry `index`'s data starts.
    package func dataOffset(_ index: Int) -> Int64 {
        entries[index].offset + Int64(Self.localHeaderLength(entries[index]))
    }

    /// Where the end records start.
    package var endOffset: Int64 { centralOffset + centralSize }

    /// Entry `index`'s local file header (APPNOTE 4.3.7).
    package func localHeader(_ index: Int) -> [UInt8] {
        let entry = entries[index]
        var out = ByteWriter()
        out.u32(0x0403_4B50)
        out.u16(entry.zip64 ? 45 : 20)
        out.u16(0x0800)
        out.u16(0)
        out.u16(dosTime)
        out.u16(dosDate)
        out.u32(entry.crc)
        let size32 = entry.zip64 ? UInt32.max : UInt32(entry.size)
        out.u32(size32)
        out.u32(size32)
        out.u16(UInt16(entry.name.count))
        out.u16(entry.zip64 ? 20 : 0)
        out.bytes += entry.name
        if entry.zip64 {
            out.u16(0x0001)
            out.u16(16)
            out.u64(UInt64(entry.size))
            out.u64(UInt64(entry.size))
        }
        return out.bytes
    }

    /// Entry `index`'s central directory header (APPNOTE 4.3.12); a Zip64 entry has all three
    /// of its sizes and offset in the extra field.
    package func centralHeader(_ index: Int) -> [UInt8] {
        let entry = entries[index]
        var out = ByteWriter()
        out.u32(0x0201_4B50)
        out.u16(3 << 8 | 45)
        out.u16(entry.zip64 ? 45 : 20)
        out.u16(0x0800)
        out.u16(0)
        out.u16(dosTime)
        out.u16(dosDate)
        out.u32(entry.crc)
        let size32 = entry.zip64 ? UInt32.max : UInt32(entry.size)
        out.u32(size32)
        out.u32(size32)
        out.u16(UInt16(entry.name.count))
        out.u16(entry.zip64 ? 28 : 0)
        out.u16(0)
        out.u16(0)
        out.u16(0)
        out.u32(0o100644 << 16)
        out.u32(entry.zip64 ? UInt32.max : UInt32(entry.offset))
        out.bytes += entry.name
        if entry.zip64 {
            out.u16(0x0001)
            out.u16(24)
            out.u64(UInt64(entry.size))
            out.u64(UInt64(entry.size))
            out.u64(UInt64(entry.offset))
        }
        return out.bytes
    }

    /// The end records: Zip64 end of central directory and its locator when needed, then the
    /// end of central directory record.
    package func end() -> [UInt8] {
        var out = ByteWriter()
        let count = UInt64(entries.count)
        if endZip64 {
            out.u32(0x0606_4B50)
            out.u64(44)
            out.u16(3 << 8 | 45)
            out.u16(45)
            out.u32(0)
            out.u32(0)
            out.u64(count)
            out.u64(count)
            out.u64(UInt64(centralSize))
            out.u64(UInt64(centralOffset))
            out.u32(0x0706_4B50)
            out.u32(0)
            out.u64(UInt64(endOffset))
            out.u32(1)
        }
        out.u32(0x0605_4B50)
        out.u16(0)
        out.u16(0)
        let count16 = endZip64 ? UInt16.max : UInt16(count)
        out.u16(count16)
        out.u16(count16)
        out.u32(endZip64 ? UInt32.max : UInt32(centralSize))
        out.u32(endZip64 ? UInt32.max : UInt32(centralOffset))
        out.u16(0)
        return out.bytes
    }
}

/// Little-endian fields appended to a byte array.
private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(value & 0xFF))
        bytes.append(UInt8(value >> 8))
    }

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }
}
