import Foundation
import TestSupport
import Testing

@testable import Ingest

/// The pack's zip layout, written byte range by byte range and read back by Python's zipfile
/// and Info-ZIP's unzip (not by photoseal).
@Suite("zip layout of a pack", .tags(.integration))
struct ZipLayoutTests {
    /// The archive's bytes, produced as the pack produces them: headers, data, central
    /// directory, end records.
    static func archive(_ files: [(String, [UInt8])], forceZip64: Bool) -> [UInt8] {
        let layout = ZipLayout(
            files: files.map { ($0.0, Int64($0.1.count), CRC32.checksum($0.1)) },
            date: Date(timeIntervalSince1970: 1_700_000_000), forceZip64: forceZip64)
        var out: [UInt8] = []
        for (index, file) in files.enumerated() {
            #expect(Int64(out.count) == layout.entries[index].offset)
            out += layout.localHeader(index)
            out += file.1
        }
        #expect(Int64(out.count) == layout.centralOffset)
        for index in files.indices { out += layout.centralHeader(index) }
        out += layout.end()
        #expect(Int64(out.count) == layout.totalSize)
        return out
    }

    @Test("CRC-32 gives the check value of the standard (123456789) and 0 for nothing", .tags(.unit))
    func crc() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        var crc = CRC32()
        crc.update([])
        #expect(crc.value == 0)
    }

    @Test(
        "stored entries, with and without Zip64 records, open in zipfile and pass unzip -t", arguments: [false, true])
    func opens(forceZip64: Bool) throws {
        let files: [(String, [UInt8])] = [
            ("images/a.jpg", (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
            ("métadonnées.txt", Array("ü\n".utf8)), ("empty", []),
        ]
        let bytes = Self.archive(files, forceZip64: forceZip64)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString).zip").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let script = """
            import sys, zipfile, zlib
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            for info in z.infolist():
                data = z.read(info)
                print(info.filename, len(data), zlib.crc32(data), info.compress_type)
            """
        let (status, output) = try runPython(script, [path])
        #expect(status == 0, "\(output)")
        let expected = files.map { "\($0.0) \($0.1.count) \(CRC32.checksum($0.1)) 0" }.joined(separator: "\n")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
        #expect(try runProgram(["unzip", "-tq", path]).status == 0)
        // Zip64 end records are there exactly when asked for.
        #expect((bytes.firstRange(of: [0x50, 0x4B, 0x06, 0x06]) != nil) == forceZip64)
    }
}
