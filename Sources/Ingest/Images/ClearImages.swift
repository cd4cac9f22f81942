import Crypto
import Foundation

/// The image files of an image store kept in the clear (`images/<xx>/<sha256>.<ext>`, stripped
/// or plain; not `.fernet`): what `audit` reads to find metadata that should not be there.
///
/// A file is sound when stripping it changes nothing (``MetadataStripper`` is idempotent). A
/// file that is the original itself (its SHA-256 is the hash in its name: stored in plain mode)
/// is sound only when plain images are allowed (the workdir's mode is plain). Like
/// ``SealedImages``, the files are found by walking `images/`, one folder per lane, one file at
/// a time in each.
public struct ClearImages: Sendable {
    /// The image store whose clear files these are.
    public let store: ImageStore
    /// Whether originals kept with their metadata (plain mode) are expected.
    public let plainAllowed: Bool
    let lanes: Int

    /// The clear files of `store`.
    ///
    /// - Parameters:
    ///   - plainAllowed: Whether plain-mode originals are expected (default: no; every clear
    ///     file must be stripped).
    ///   - lanes: Folders worked on at once (default: the number of cores).
    public init(store: ImageStore, plainAllowed: Bool = false, lanes: Int? = nil) {
        self.store = store
        self.plainAllowed = plainAllowed
        self.lanes = max(1, lanes ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    /// A file holding what it should not, and what (never a value).
    public struct Problem: Sendable, Hashable {
        /// The file, relative to the work directory (`images/ab/ab12….jpg`).
        public var file: String
        /// The kind of metadata the stripper would drop (`exif`, `xmp`, `ciff`, `jfxx`,
        /// `icc-text`, `png-tXMP`, `webp-EXIF`, …; see ``MetadataStripper/metadata(in:format:)``),
        /// or `unstrippable` (a format the stripper does not read, or a damaged file, kept in
        /// the clear), `not-an-image`, `unreadable`.
        public var kind: String
    }

    /// What reading the files found.
    public struct Check: Sendable, Equatable {
        /// Clear files looked at.
        public var files = 0
        /// One problem per file and kind, in file order.
        public var problems: [Problem] = []
    }

    /// Reads every clear file and reports what stripping it would remove.
    /// - Throws: `IngestError.imageStore` when a folder cannot be listed.
    public func audit() async throws -> Check {
        if let bucket = store.bucket {
            var check = Check()
            try await bucket.eachObject(lanes: lanes, where: { !$0.hasSuffix(".fernet") }) { file in
                var part = Check()
                guard let data = try await bucket.get(file), let kinds = problems(data, file) else { return part }
                part.files = 1
                part.problems = kinds.map { Problem(file: file, kind: $0) }
                return part
            } merge: { part in
                check.files += part.files
                check.problems += part.problems
            }
            check.problems.sort { ($0.file, $0.kind) < ($1.file, $1.kind) }
            return check
        }
        let root = store.absolute("images")
        guard FileManager.default.fileExists(atPath: root) else { return Check() }
        let folders: [String]
        do {
            folders = try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.utf8.count == 2 }.sorted()
                .map { "images/" + $0 }
        } catch {
            throw IngestError(.imageStore, "cannot list \(root); check its permissions")
        }
        var check = Check()
        try await withThrowingTaskGroup(of: Check.self) { group in
            var next = 0
            func add() {
                let folder = folders[next]
                next += 1
                group.addTask { try self.audit(folder: folder) }
            }
            while next < min(lanes, folders.count) { add() }
            while let part = try await group.next() {
                check.files += part.files
                check.problems += part.problems
                if next < folders.count { add() }
            }
        }
        check.problems.sort { ($0.file, $0.kind) < ($1.file, $1.kind) }
        return check
    }

    func audit(folder: String) throws -> Check {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: store.absolute(folder), isDirectory: &isDirectory),
            isDirectory.boolValue
        else { return Check() }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: store.absolute(folder))
        } catch {
            throw IngestError(.imageStore, "cannot list \(store.absolute(folder)); check its permissions")
        }
        var check = Check()
        for name in names.sorted() where !name.hasSuffix(".fernet") {
            let file = folder + "/" + name
            guard let kinds = problems(file) else { continue }
            check.files += 1
            check.problems += kinds.map { Problem(file: file, kind: $0) }
        }
        return check
    }

    /// What is wrong with one clear file (empty: nothing; `nil`: it vanished).
    package func problems(_ relative: String) -> [String]? {
        let path = store.absolute(relative)
        guard let data = FileManager.default.contents(atPath: path) else {
            return FileManager.default.fileExists(atPath: path) ? ["unreadable"] : nil
        }
        return problems([UInt8](data), relative)
    }

    /// What is wrong with one clear file's bytes (empty: nothing).
    func problems(_ bytes: [UInt8], _ relative: String) -> [String]? {
        guard let format = ImageFormat.sniff(bytes.prefix(16)) else { return ["not-an-image"] }
        let found = MetadataStripper.metadata(in: bytes, format: format) ?? ["unstrippable"]
        if found.isEmpty { return [] }
        if plainAllowed, let expected = SealedImages.sha256(inName: relative), (try? SHA256.hex(of: bytes)) == expected
        {
            return []
        }
        return found
    }
}

extension ClearImages.Check {
    /// Adds this check's counts and findings to an audit report (check `image-metadata`; a
    /// finding's id is the file, its field `image`).
    func record(into report: inout Audit.Report) {
        let name = SealCheck.Check.imageMetadata.rawValue
        report.checks[name, default: .init()].checked += files
        report.checks[name, default: .init()].findings += problems.count
        report.findings += problems.map {
            SealCheck.Finding(id: $0.file, field: "image", kind: $0.kind, check: .imageMetadata)
        }
    }
}
