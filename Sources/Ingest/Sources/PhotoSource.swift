import Foundation

/// One photo offered by an import source: bytes at hand (a file, a zip entry) or a URL to
/// download later.
public struct SourceItem: Sendable {
    /// What the item holds.
    public enum Content: Sendable {
        /// A local file's path.
        case file(String)
        /// Bytes already read (a zip entry).
        case bytes([UInt8])
        /// An image URL for the download stage.
        case url(String)
        /// An item that cannot be read (a FIFO, a device, a dangling link, a bad row): the
        /// import reports it by position and goes on. The reason names no file.
        case unreadable(reason: String)
    }

    /// What the item holds.
    public var content: Content
    /// Where it came from, for messages only, by position (`file 3 of 10`, `entry 2`, `row 5`):
    /// never a file or entry name, which may name a person; never stored.
    public var label: String

    /// Makes an item.
    public init(content: Content, label: String) {
        self.content = content
        self.label = label
    }
}

/// A place photos are imported from. One implementation per kind (folder, zip, URL list; S3
/// can be added) and the stages never look behind this protocol.
public protocol PhotoSource: Sendable {
    /// A short description for messages (`folder photos/`).
    var description: String { get }
    /// Calls `body` with every item, in a stable order, one at a time (memory stays flat).
    /// - Throws: `IngestError.source` when the source cannot be read.
    func forEachItem(_ body: (SourceItem) async throws -> Void) async throws
}

/// Size caps for what an import reads, so that memory and disk stay bounded whatever the input.
public struct ImportLimits: Sendable, Equatable {
    /// The largest file or zip entry imported (default 200 MiB); larger ones are skipped.
    public var maxFileBytes: Int
    /// The most bytes inflated from one zip archive in all (default 20 GiB).
    public var maxArchiveBytes: Int

    /// Makes the caps.
    public init(maxFileBytes: Int = 200 << 20, maxArchiveBytes: Int = 20 << 30) {
        self.maxFileBytes = maxFileBytes
        self.maxArchiveBytes = maxArchiveBytes
    }
}

/// Chooses the source for an `import` argument.
public enum PhotoSources {
    /// The source an argument names: a directory → `FolderSource`, `*.zip` → `ZipSource`,
    /// `*.csv`/`*.tsv`/`*.txt` → `URLListSource`.
    /// - Parameter limits: The size caps for files and archives.
    /// - Throws: `IngestError.source` naming the argument when it is none of these.
    public static func source(for argument: String, limits: ImportLimits = ImportLimits()) throws -> any PhotoSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            throw IngestError(.source, "\(argument) does not exist; give a folder, a .zip, or a .csv/.tsv URL list")
        }
        if isDirectory.boolValue { return FolderSource(root: argument, maxFileBytes: limits.maxFileBytes) }
        let lower = argument.lowercased()
        if lower.hasSuffix(".zip") {
            return ZipSource(path: argument, maxEntryBytes: limits.maxFileBytes, maxTotalBytes: limits.maxArchiveBytes)
        }
        if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") || lower.hasSuffix(".txt") {
            return URLListSource(path: argument)
        }
        throw IngestError(
            .source, "\(argument) is not a folder, a .zip or a .csv/.tsv URL list; check the argument")
    }
}

/// Every regular file under a folder, recursively, in path order (hidden files skipped).
public struct FolderSource: PhotoSource {
    /// The folder.
    public let root: String
    /// The largest file imported; larger ones are skipped unread (default 200 MiB).
    public let maxFileBytes: Int
    /// A source for the folder `root`.
    public init(root: String, maxFileBytes: Int = 200 << 20) {
        self.root = root
        self.maxFileBytes = maxFileBytes
    }
    /// `folder <root>`.
    public var description: String { "folder \(root)" }

    /// Calls `body` with every file (the importer skips those that are not images). Entries
    /// that are not regular files (FIFOs, devices, sockets), cannot be looked at (a dangling
    /// link) or are larger than `maxFileBytes` come as ``SourceItem/Content/unreadable(reason:)``:
    /// never opened, as opening a FIFO waits for a writer.
    public func forEachItem(_ body: (SourceItem) async throws -> Void) async throws {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw IngestError(.source, "cannot list the folder \(root); check permissions")
        }
        var paths: [(relative: String, problem: String?)] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let full = (root as NSString).appendingPathComponent(relative)
            // The type of what the entry names, links followed (a link to nothing is unreadable).
            let target = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
            let attributes = try? FileManager.default.attributesOfItem(atPath: target)
            guard let type = attributes?[.type] as? FileAttributeType, type != .typeSymbolicLink else {
                paths.append((relative, "cannot be read (a dangling link, or no permission)"))
                continue
            }
            switch type {
            case .typeDirectory: continue
            case .typeRegular:
                // Never read whole: a 3 GB file would take 3 GB of memory before being refused.
                let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
                paths.append((relative, size > maxFileBytes ? "is larger than \(maxFileBytes) bytes" : nil))
            default: paths.append((relative, "is not a regular file (a FIFO, a device or a socket)"))
            }
        }
        // Labelled by position: a file name may name a person, and labels reach messages.
        for (index, (relative, problem)) in paths.sorted(by: { $0.relative < $1.relative }).enumerated() {
            let content: SourceItem.Content =
                problem.map { .unreadable(reason: $0) } ?? .file((root as NSString).appendingPathComponent(relative))
            try await body(
                SourceItem(content: content, label: "file \(index + 1) of \(paths.count) (in path order)"))
        }
    }
}
