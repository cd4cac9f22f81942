public import Crypto
import Foundation

#if canImport(Glibc)
    // `struct stat`'s fields are imported through CoreFoundation's module map on Linux.
    import CoreFoundation
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The content-addressed image store in the work directory.
///
/// Every image lives at `images/<first two hex digits>/<sha256>.<ext>` (sealed ones with a
/// further `.fernet`), where `sha256` is the SHA-256 of the ORIGINAL bytes as downloaded or
/// imported: the content address never changes with the storage mode, so the same photo found
/// under two ids is stored once, and `image.sha256` in a document always names the original.
/// What the file holds depends on the mode it was stored in (`Mode`).
///
/// Files are written under `tmp/` and renamed into place only when complete, so a process
/// killed at any instant leaves no partial file under `images/`; `cleanTemporaryFiles()`
/// removes what a killed run left in `tmp/`.
public struct ImageStore: Sendable {
    /// How an image is kept at rest.
    public enum Mode: String, Sendable, CaseIterable {
        /// The original bytes, EXIF and all.
        case plain
        /// A copy with EXIF, XMP, IPTC and comments removed (JPEG, PNG, WebP); other formats,
        /// and files the stripper cannot parse (a truncated JPEG), are sealed instead and the
        /// document's `image.fallback` says so.
        case stripped
        /// The original, encrypted with the primary seal key as one Fernet token.
        case sealed
    }

    /// The work directory.
    public let workdir: String

    /// A store rooted in `workdir` (nothing is created until an image is stored).
    public init(workdir: String) {
        self.workdir = workdir
    }

    /// Where temporary files go: `<workdir>/tmp`.
    public var temporaryDirectory: String { (workdir as NSString).appendingPathComponent("tmp") }

    /// Removes every temporary file a previous (killed) run left behind; returns how many.
    ///
    /// - Parameter prefix: Only files whose name starts with it (default: every temporary file).
    @discardableResult
    public func cleanTemporaryFiles(prefix: String = "") -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory)) ?? []
        var removed = 0
        for name in names where name.hasSuffix(".part") && name.hasPrefix(prefix) {
            if (try? FileManager.default.removeItem(
                atPath: (temporaryDirectory as NSString).appendingPathComponent(name)))
                != nil
            {
                removed += 1
            }
        }
        return removed
    }

    /// A fresh temporary file path under `tmp/` (the directory is created).
    /// - Parameter prefix: Starts the file name (the rest is a UUID and `.part`).
    /// - Throws: `IngestError.imageStore` when the directory cannot be created.
    public func temporaryPath(prefix: String = "") throws -> String {
        do {
            try PrivateFiles.makeDirectory(temporaryDirectory)
        } catch {
            throw IngestError(.imageStore, "cannot create \(temporaryDirectory); check --workdir and disk space")
        }
        return (temporaryDirectory as NSString).appendingPathComponent(prefix + UUID().uuidString + ".part")
    }

    /// The path, relative to the work directory, of an image with this hash and format.
    public static func relativePath(sha256: String, fileExtension: String, sealed: Bool) -> String {
        "images/\(sha256.prefix(2))/\(sha256).\(fileExtension)" + (sealed ? ".fernet" : "")
    }

    /// The stored file already holding these original bytes, relative to the work directory.
    public func existing(sha256: String, fileExtension: String) -> String? {
        for sealed in [false, true] {
            let relative = Self.relativePath(sha256: sha256, fileExtension: fileExtension, sealed: sealed)
            if FileManager.default.fileExists(atPath: absolute(relative)) { return relative }
        }
        return nil
    }

    /// The absolute path of a path relative to the work directory.
    public func absolute(_ relative: String) -> String { (workdir as NSString).appendingPathComponent(relative) }

    /// Where `store(original:…)` put an image.
    public struct Stored: Sendable, Equatable {
        /// The file, relative to the work directory.
        public var path: String
        /// Whether the same bytes were already stored (under another id). Nothing new was
        /// written, except a copy in the mode asked for next to (or over) one made in another
        /// mode (see `store(original:sha256:format:mode:keyring:)`).
        public var existed: Bool
        /// Set when the image is not kept in the mode asked for (stripped mode sealing an image
        /// it cannot strip).
        public var fallback: PhotoDocument.Image.Fallback?
    }

    /// Puts an original into the store in `mode` (unless a copy fit for `mode` is already
    /// there) and says where it is, whether the bytes were already stored (under another id),
    /// and whether it is kept in another mode than `mode`.
    ///
    /// In `stripped` mode an image that cannot be stripped (a format with no stripper, or a
    /// file the stripper cannot parse, such as a truncated JPEG) is sealed instead, and the
    /// result's `fallback` says so.
    ///
    /// A copy stored earlier in another mode is reused only when it is fit for `mode`:
    /// - `plain` reuses any copy.
    /// - `stripped` reuses a sealed copy (it holds nothing in the clear) and a stripped copy
    ///   equal to what the stripper makes now. A plain copy (or one an older stripper left
    ///   metadata in) is replaced, in place and atomically, by the stripped copy: the path stays
    ///   the same, so documents stored in plain mode keep naming a file that opens, now without
    ///   its metadata (their EXIF was sealed into them when they were stored). An image that
    ///   cannot be stripped is sealed next to a plain copy, which is left to the documents
    ///   that name it (`audit` reports it unless the workdir's mode is plain).
    /// - `sealed` reuses only a sealed copy; it seals next to a plain or stripped one.
    ///
    /// - Parameters:
    ///   - original: the original file's bytes.
    ///   - sha256: their SHA-256, hex.
    ///   - format: their format.
    ///   - mode: how to keep them.
    ///   - keyring: the seal keys; needed for `sealed`, and for `stripped` with an image that
    ///     cannot be stripped.
    /// - Throws: `IngestError.imageStore` when writing fails, `.sealing` when sealing fails or
    ///   no keyring was given for a sealed image.
    public func store(
        original: [UInt8], sha256: String, format: ImageFormat, mode: Mode, keyring: Keyring?
    ) throws -> Stored {
        let clear = Self.relativePath(sha256: sha256, fileExtension: format.fileExtension, sealed: false)
        let sealedPath = Self.relativePath(sha256: sha256, fileExtension: format.fileExtension, sealed: true)
        let hasClear = FileManager.default.fileExists(atPath: absolute(clear))
        let hasSealed = FileManager.default.fileExists(atPath: absolute(sealedPath))
        switch mode {
        case .plain:
            if hasClear || hasSealed {
                return Stored(path: hasClear ? clear : sealedPath, existed: true, fallback: nil)
            }
            try write(original, to: clear)
            return Stored(path: clear, existed: false, fallback: nil)
        case .stripped:
            guard let stripped = MetadataStripper.strip(original, format: format) else {
                let fallback = PhotoDocument.Image.Fallback.sealed(cannotStrip: format)
                if hasSealed { return Stored(path: sealedPath, existed: true, fallback: fallback) }
                try write(try seal(original, sha256: sha256, keyring: keyring), to: sealedPath)
                return Stored(path: sealedPath, existed: hasClear, fallback: fallback)
            }
            if hasClear {
                // Same bytes as the stripper makes now: a stripped copy. Anything else (the
                // original, or an older stripper's output) is replaced by the stripped copy.
                if let stored = FileManager.default.contents(atPath: absolute(clear)), stored.elementsEqual(stripped) {
                    return Stored(path: clear, existed: true, fallback: nil)
                }
                if try replace(clear, with: stripped, temporaryPrefix: "restrip-") {
                    return Stored(path: clear, existed: true, fallback: nil)
                }
            }
            // A sealed copy made in sealed mode of bytes that would strip is no fallback.
            if hasSealed { return Stored(path: sealedPath, existed: true, fallback: nil) }
            try write(stripped, to: clear)
            return Stored(path: clear, existed: false, fallback: nil)
        case .sealed:
            if hasSealed { return Stored(path: sealedPath, existed: true, fallback: nil) }
            try write(try seal(original, sha256: sha256, keyring: keyring), to: sealedPath)
            return Stored(path: sealedPath, existed: hasClear, fallback: nil)
        }
    }

    /// The Fernet token of `original`, as the bytes of a sealed file.
    private func seal(_ original: [UInt8], sha256: String, keyring: Keyring?) throws -> [UInt8] {
        guard let keyring else {
            throw IngestError(.sealing, "sealing an image needs SEAL_KEYS; check the secrets file (--keys)")
        }
        do {
            return Array(try keyring.encrypt(original).utf8)
        } catch {
            throw IngestError.wrapping(error, context: "sealing the image \(sha256.prefix(12))")
        }
    }

    /// Replaces the stored file `relative` with `bytes` atomically (a new file under `tmp/`,
    /// written, given the old file's access and modification times, flushed to disk, then
    /// renamed over the old one): at any instant the path holds the old file or the new one,
    /// whole, even across a power cut.
    ///
    /// - Returns: `false` when there is no file at `relative` (nothing is written).
    /// - Throws: `IngestError.imageStore` when the new file cannot be written or moved.
    func replace(_ relative: String, with bytes: [UInt8], temporaryPrefix: String) throws -> Bool {
        let target = absolute(relative)
        var info = stat()
        guard stat(target, &info) == 0 else {
            if errno == ENOENT { return false }
            throw IngestError(.imageStore, "cannot read \(target) (errno \(errno)); check its permissions")
        }
        let temp = try temporaryPath(prefix: temporaryPrefix)
        #if canImport(Darwin)
            let times = (info.st_atimespec, info.st_mtimespec)
        #else
            let times = (info.st_atim, info.st_mtim)
        #endif
        guard Self.writeFile(bytes, to: temp, times: times) else {
            try? FileManager.default.removeItem(atPath: temp)
            throw IngestError(.imageStore, "cannot write \(temp); check disk space and permissions")
        }
        guard rename(temp, target) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temp)
            throw IngestError(.imageStore, "cannot move a re-sealed image over \(target) (errno \(code))")
        }
        return true
    }

    /// Writes bytes to `relative` through a temporary file and a rename. Directories are
    /// created only when missing (the first image of each of the 256 folders).
    func write(_ bytes: [UInt8], to relative: String) throws {
        let temp = (temporaryDirectory as NSString).appendingPathComponent(UUID().uuidString + ".part")
        let target = absolute(relative)
        do {
            if !Self.writeFile(bytes, to: temp) {
                guard errno == ENOENT else {
                    throw IngestError(.imageStore, "cannot write an image to \(temp); check disk space and permissions")
                }
                _ = try temporaryPath()
                guard Self.writeFile(bytes, to: temp) else {
                    throw IngestError(.imageStore, "cannot write an image to \(temp); check disk space and permissions")
                }
            }
            if rename(temp, target) == 0 { return }
            if errno == ENOENT {
                try PrivateFiles.makeDirectory((target as NSString).deletingLastPathComponent)
            }
            guard rename(temp, target) == 0 else {
                throw IngestError(.imageStore, "cannot move an image into \(target) (errno \(errno))")
            }
        } catch let error as IngestError {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw IngestError(.imageStore, "cannot write an image to \(target); check disk space and permissions")
        }
    }

    /// Writes `bytes` to a new file at `path` (mode 0600) with plain `write` calls.
    ///
    /// - Parameter times: When given, the file gets these access and modification times and
    ///   is flushed to disk (`fsync`) before it is closed: it is about to replace the only copy
    ///   of an image.
    static func writeFile(_ bytes: [UInt8], to path: String, times: (timespec, timespec)? = nil) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard writeAll(bytes, to: descriptor) else { return false }
        guard let times else { return true }
        let set = withUnsafeTemporaryAllocation(of: timespec.self, capacity: 2) { pair in
            pair[0] = times.0
            pair[1] = times.1
            return futimens(descriptor, pair.baseAddress)
        }
        return set == 0 && fsync(descriptor) == 0
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, base + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// The plaintext bytes of a stored image: the file as stored for plain and stripped images,
    /// the opened original for sealed ones (`.fernet`).
    ///
    /// - Parameters:
    ///   - image: the document's `image`.
    ///   - keyring: the seal keys; required for sealed images.
    /// - Throws: `IngestError.imageStore` when the image has no path or the file is missing or
    ///   unreadable, `.sealing` when a sealed file does not open with the keyring.
    public func bytes(for image: PhotoDocument.Image, keyring: Keyring?) throws -> [UInt8] {
        guard let relative = image.path, !relative.isEmpty, !relative.contains("..") else {
            throw IngestError(
                .imageStore, "the image \(image.sha256.prefix(12)) has no stored path; run `photoseal download`")
        }
        guard let data = FileManager.default.contents(atPath: absolute(relative)) else {
            throw IngestError(
                .imageStore, "the stored image \(relative) is missing or unreadable; re-run `photoseal download`")
        }
        guard relative.hasSuffix(".fernet") else { return Array(data) }
        guard let keyring else {
            throw IngestError(.sealing, "the image \(relative) is sealed: SEAL_KEYS are needed to open it")
        }
        do {
            return try keyring.decrypt(String(decoding: data, as: UTF8.self)).plaintext
        } catch {
            throw IngestError.wrapping(error, context: "opening the sealed image \(relative)")
        }
    }
}
