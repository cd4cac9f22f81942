public import Crypto
import Foundation

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
        /// A copy with EXIF, XMP, IPTC and comments removed (JPEG, PNG, WebP); other formats
        /// are sealed instead, since they cannot be stripped here.
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
    @discardableResult
    public func cleanTemporaryFiles() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory)) ?? []
        var removed = 0
        for name in names where name.hasSuffix(".part") {
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
    /// - Throws: `IngestError.imageStore` when the directory cannot be created.
    public func temporaryPath() throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
        } catch {
            throw IngestError(.imageStore, "cannot create \(temporaryDirectory); check --workdir and disk space")
        }
        return (temporaryDirectory as NSString).appendingPathComponent(UUID().uuidString + ".part")
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

    /// Puts an original into the store in `mode` (unless an image with the same bytes is
    /// already there) and returns its path relative to the work directory, and whether the
    /// bytes were already stored (under another id).
    ///
    /// - Parameters:
    ///   - original: the original file's bytes.
    ///   - sha256: their SHA-256, hex.
    ///   - format: their format.
    ///   - mode: how to keep them.
    ///   - keyring: the seal keys; needed for `sealed`, and for `stripped` with a format that
    ///     cannot be stripped.
    /// - Throws: `IngestError.imageStore` when writing fails, `.sealing` when sealing fails or
    ///   no keyring was given for a sealed image.
    public func store(
        original: [UInt8], sha256: String, format: ImageFormat, mode: Mode, keyring: Keyring?
    ) throws -> (path: String, existed: Bool) {
        if let existing = existing(sha256: sha256, fileExtension: format.fileExtension) { return (existing, true) }
        var payload = original
        var sealed = false
        switch mode {
        case .plain: break
        case .stripped:
            if let stripped = MetadataStripper.strip(original, format: format) {
                payload = stripped
            } else {
                sealed = true
            }
        case .sealed: sealed = true
        }
        if sealed {
            guard let keyring else {
                throw IngestError(.sealing, "sealing an image needs SEAL_KEYS; check the secrets file (--keys)")
            }
            do {
                payload = Array(try keyring.encrypt(original).utf8)
            } catch {
                throw IngestError.wrapping(error, context: "sealing the image \(sha256.prefix(12))")
            }
        }
        let relative = Self.relativePath(sha256: sha256, fileExtension: format.fileExtension, sealed: sealed)
        try write(payload, to: relative)
        return (relative, false)
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
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
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
    static func writeFile(_ bytes: [UInt8], to path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return bytes.withUnsafeBytes { raw in
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
