import Foundation
import ZIPFoundation

/// Every file entry of a zip archive, in the archive's order (directories and hidden entries
/// skipped; entries larger than `maxEntryBytes` uncompressed are refused, against zip bombs).
public struct ZipSource: PhotoSource {
    /// The archive.
    public let path: String
    /// The largest entry accepted, uncompressed (default 200 MiB).
    public let maxEntryBytes: Int
    /// A source for the archive at `path`.
    public init(path: String, maxEntryBytes: Int = 200 << 20) {
        self.path = path
        self.maxEntryBytes = maxEntryBytes
    }
    /// `zip <path>`.
    public var description: String { "zip \(path)" }

    /// Calls `body` with each file entry's bytes.
    public func forEachItem(_ body: (SourceItem) async throws -> Void) async throws {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw IngestError(.source, "\(path) is not a readable zip archive; check the file")
        }
        var position = 0
        for entry in archive where entry.type == .file {
            position += 1
            // Messages say which entry by position: its name may name a person.
            let name = "entry \(position) (in archive order)"
            let entryPath = entry.path
            if entryPath.split(separator: "/").contains(where: { $0.hasPrefix(".") || $0 == "__MACOSX" }) { continue }
            guard entry.uncompressedSize <= UInt64(maxEntryBytes) else {
                throw IngestError(.source, "\(name) of \(path) is larger than \(maxEntryBytes) bytes")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(entry.uncompressedSize))
            do {
                _ = try archive.extract(entry, skipCRC32: false) { chunk in
                    guard bytes.count + chunk.count <= maxEntryBytes else {
                        throw IngestError(.source, "\(name) of \(path) inflates past its declared size")
                    }
                    bytes.append(contentsOf: chunk)
                }
            } catch let error as IngestError {
                throw error
            } catch {
                throw IngestError(.source, "\(name) of \(path) cannot be read (damaged archive?)")
            }
            try await body(SourceItem(content: .bytes(bytes), label: name))
        }
    }
}
