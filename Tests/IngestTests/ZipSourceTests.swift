import Foundation
import Ingest
import TestSupport
import Testing

/// Makes a zip with Python's zipfile (not photoseal) from (name, size, byte) entries, each
/// deflated; `damage` names entries whose compressed data gets one byte flipped.
private func makeZip(_ path: String, _ entries: [(String, Int, UInt8)], damage: Set<String> = []) throws {
    let spec = entries.map { "\($0.0):\($0.1):\($0.2)" }.joined(separator: ",")
    let (status, output) = try runPython(
        """
        import sys, zipfile
        path, spec, damage = sys.argv[1], sys.argv[2], set(filter(None, sys.argv[3].split(",")))
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for item in spec.split(","):
                name, size, byte = item.split(":")
                z.writestr(name, bytes([int(byte)]) * int(size) if int(byte) else bytes(range(256)) * (int(size) // 256))
        data = bytearray(open(path, "rb").read())
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename in damage:
                    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
                    data[start + info.compress_size // 2] ^= 0x55
        open(path, "wb").write(bytes(data))
        """, [path, spec, damage.joined(separator: ",")])
    #expect(status == 0, "\(output)")
}

@Suite("zip import: one bad entry never sinks the others; a zip bomb stops at the total cap")
struct ZipSourceTests {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-zip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    @Test("a damaged entry and one past the entry cap are skipped by position; the good entries arrive whole")
    func badEntriesSkipped() async throws {
        let zip = dir.appendingPathComponent("mixed.zip").path
        try makeZip(
            zip, [("a.jpg", 4096, 0), ("b.jpg", 8192, 0), ("c.jpg", 50_000, 7), ("d.jpg", 2048, 0)], damage: ["b.jpg"])
        var items: [(String, SourceItem.Content)] = []
        try await ZipSource(path: zip, maxEntryBytes: 10_000).forEachItem { items.append(($0.label, $0.content)) }
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(items.count == 4)
        var kinds: [String] = []
        for (_, content) in items {
            switch content {
            case .bytes(let bytes): kinds.append("bytes \(bytes.count)")
            case .unreadable: kinds.append("unreadable")
            default: kinds.append("other")
            }
        }
        #expect(kinds == ["bytes 4096", "unreadable", "unreadable", "bytes 2048"])
        #expect(items.map(\.0)[1] == "entry 2 (in archive order)")
    }

    @Test("an archive that inflates past the total cap stops there with one clear error; the entries before it arrived")
    func totalCap() async throws {
        defer { try? FileManager.default.removeItem(at: dir) }
        let zip = dir.appendingPathComponent("bomb.zip").path
        // 8 entries of 1 MiB of one byte each: a few KB on disk.
        try makeZip(zip, (1...8).map { ("part\($0).jpg", 1 << 20, 9) })
        let size = try FileManager.default.attributesOfItem(atPath: zip)[.size] as? Int ?? 0
        #expect(size < 64 << 10)
        var arrived = 0
        await #expect {
            try await ZipSource(path: zip, maxEntryBytes: 2 << 20, maxTotalBytes: 3 << 20).forEachItem { item in
                if case .bytes = item.content { arrived += 1 }
            }
        } throws: { error in
            let message = "\(error)"
            return message.contains("entry 4") && message.contains("in all") && message.contains("zip bomb")
        }
        #expect(arrived == 3)
    }
}
