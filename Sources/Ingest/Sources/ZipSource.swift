import Foundation
import ZIPFoundation

/// Every file entry of a zip archive, in the archive's order (directories and hidden entries
/// skipped).
///
/// Against zip bombs: an entry larger than `maxEntryBytes` uncompressed (declared or while
/// inflating) is skipped, and the archive stops once `maxTotalBytes` have been inflated in all.
/// An entry that cannot be read (damaged data, a bad checksum) is skipped too: one bad entry
/// never sinks the others. Skipped entries reach the importer as
/// ``SourceItem/Content/unreadable(reason:)``, named by position only.
public struct ZipSource: PhotoSource {
    /// The archive.
    public let path: String
    /// The largest entry accepted, uncompressed (default 200 MiB).
    public let maxEntryBytes: Int
    /// The most bytes inflated from the archive in all (default 20 GiB).
    public let maxTotalBytes: Int

    /// A source for the archive at `path`.
    public init(path: String, maxEntryBytes: Int = 200 << 20, maxTotalBytes: Int = 20 << 30) {
        self.path = path
        self.maxEntryBytes = maxEntryBytes
        self.maxTotalBytes = maxTotalBytes
    }
    /// `zip <path>`.
    public var description: String { "zip \(path)" }

    /// Why reading one entry stopped.
    private enum EntryProblem: Error {
        case tooLarge, totalCap
    }

    /// Calls `body` with each file entry's bytes, or with why it was skipped.
    /// - Throws: `IngestError.source` when the archive cannot be opened, or once the entries
    ///   inflated so far reach `maxTotalBytes` (the entries handed over before are kept).
    public func forEachItem(_ body: (SourceItem) async throws -> Void) async throws {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw IngestError(.source, "\(path) is not a readable zip archive; check the file")
        }
        var position = 0
        var total = 0
        for entry in archive where entry.type == .file {
            position += 1
            // Messages say which entry by position: its name may name a person.
            let name = "entry \(position) (in archive order)"
            if entry.path.split(separator: "/").contains(where: { $0.hasPrefix(".") || $0 == "__MACOSX" }) { continue }
            guard entry.uncompressedSize <= UInt64(maxEntryBytes) else {
                try await body(
                    SourceItem(content: .unreadable(reason: "is larger than \(maxEntryBytes) bytes"), label: name))
                continue
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(entry.uncompressedSize))
            do {
                _ = try archive.extract(entry, skipCRC32: false) { chunk in
                    guard bytes.count + chunk.count <= maxEntryBytes else { throw EntryProblem.tooLarge }
                    guard total + chunk.count <= maxTotalBytes else { throw EntryProblem.totalCap }
                    total += chunk.count
                    bytes.append(contentsOf: chunk)
                }
            } catch EntryProblem.totalCap {
                throw IngestError(
                    .source,
                    "\(path) inflates past \(maxTotalBytes) bytes in all at \(name) (a zip bomb?); the entries before "
                        + "it were imported. Raise the cap if the archive is genuine")
            } catch EntryProblem.tooLarge {
                try await body(
                    SourceItem(content: .unreadable(reason: "inflates past \(maxEntryBytes) bytes"), label: name))
                continue
            } catch {
                try await body(
                    SourceItem(content: .unreadable(reason: "cannot be read (damaged entry?)"), label: name))
                continue
            }
            try await body(SourceItem(content: .bytes(bytes), label: name))
        }
    }
}
