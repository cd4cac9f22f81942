public import Crypto
import Foundation

#if canImport(Glibc)
    // `struct stat`'s fields are imported through CoreFoundation's module map on Linux (and,
    // depending on how the module's files are batched, CDispatch's: both named).
    import CDispatch
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
/// Files are written in their destination folder and put in place only when complete
/// (`AtomicFile`: an unnamed `O_TMPFILE` linked into place, or a hidden `.<uuid>.part` file
/// renamed over the target where the file system refuses `O_TMPFILE`), so a process killed at
/// any instant leaves no partial file under a stored name; `cleanTemporaryFiles()` removes the
/// hidden files a killed run may have left. There is no shared temporary folder: concurrent
/// writes do not serialise on one directory.
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

    /// The work directory (the folder `images/` is in; with a bucket, where temporary files go).
    public let workdir: String
    /// The S3 bucket holding the images instead of `workdir` (`--image-store s3://…`), if any.
    public let bucket: ImageBucket?

    /// A store rooted in `workdir` (nothing is created until an image is stored), or in
    /// `bucket` when one is given.
    public init(workdir: String, bucket: ImageBucket? = nil) {
        self.workdir = workdir
        self.bucket = bucket
    }

    /// Where an older version kept its temporary files: `<workdir>/tmp` (cleaned, no longer
    /// written).
    var legacyTemporaryDirectory: String { (workdir as NSString).appendingPathComponent("tmp") }

    /// The partial files a killed run left (hidden `.part` files in the image folders, and
    /// anything in an older version's `tmp/`), as absolute paths.
    package func partialFiles() -> [String] {
        var found: [String] = []
        let images = (workdir as NSString).appendingPathComponent("images")
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: images)) ?? []).map {
            (images as NSString).appendingPathComponent($0)
        }
        for folder in folders + [legacyTemporaryDirectory] {
            guard let directory = opendir(folder) else { continue }
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                let legacy = folder == legacyTemporaryDirectory
                if name.hasSuffix(AtomicFile.partSuffix), legacy || name.hasPrefix(".") {
                    found.append((folder as NSString).appendingPathComponent(name))
                }
            }
        }
        return found
    }

    /// Removes every partial file a previous (killed) run left behind (`partialFiles()`);
    /// returns how many. Call it only while holding the workdir's lock: a running writer's
    /// fallback files look the same.
    @discardableResult
    public func cleanTemporaryFiles() -> Int {
        partialFiles().reduce(0) { removed, path in unlink(path) == 0 ? removed + 1 : removed }
    }

    /// The path, relative to the work directory, of an image with this hash and format.
    public static func relativePath(sha256: String, fileExtension: String, sealed: Bool) -> String {
        "images/\(sha256.prefix(2))/\(sha256).\(fileExtension)" + (sealed ? ".fernet" : "")
    }

    /// The stored file already holding these original bytes, relative to the work directory.
    public func existing(sha256: String, fileExtension: String) -> String? {
        for sealed in [false, true] {
            let relative = Self.relativePath(sha256: sha256, fileExtension: fileExtension, sealed: sealed)
            if Self.exists(absolute(relative)) { return relative }
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
        let hasClear = Self.exists(absolute(clear))
        let hasSealed = Self.exists(absolute(sealedPath))
        switch mode {
        case .plain:
            if hasClear || hasSealed {
                return Stored(path: hasClear ? clear : sealedPath, existed: true, fallback: nil)
            }
            try write(original[...], to: clear)
            return Stored(path: clear, existed: false, fallback: nil)
        case .stripped:
            // Stripped where an `O_DIRECT` write can take the bytes from (no aligned copy).
            guard let stripped = MetadataStripper.strip(original, format: format, alignedTo: AtomicFile.directAlignment)
            else {
                let fallback = PhotoDocument.Image.Fallback.sealed(cannotStrip: format)
                if hasSealed { return Stored(path: sealedPath, existed: true, fallback: fallback) }
                try write(try seal(original, sha256: sha256, keyring: keyring)[...], to: sealedPath)
                return Stored(path: sealedPath, existed: hasClear, fallback: fallback)
            }
            if hasClear {
                // Same bytes as the stripper makes now: a stripped copy. Anything else (the
                // original, or an older stripper's output) is replaced by the stripped copy.
                if let stored = FileManager.default.contents(atPath: absolute(clear)), stored.elementsEqual(stripped) {
                    return Stored(path: clear, existed: true, fallback: nil)
                }
                if try replace(clear, with: stripped) {
                    return Stored(path: clear, existed: true, fallback: nil)
                }
            }
            // A sealed copy made in sealed mode of bytes that would strip is no fallback.
            if hasSealed { return Stored(path: sealedPath, existed: true, fallback: nil) }
            try write(stripped, to: clear)
            return Stored(path: clear, existed: false, fallback: nil)
        case .sealed:
            if hasSealed { return Stored(path: sealedPath, existed: true, fallback: nil) }
            try write(try seal(original, sha256: sha256, keyring: keyring)[...], to: sealedPath)
            return Stored(path: sealedPath, existed: hasClear, fallback: nil)
        }
    }

    /// The Fernet token of `original`, as the bytes of a sealed file.
    func seal(_ original: [UInt8], sha256: String, keyring: Keyring?) throws -> [UInt8] {
        guard let keyring else {
            throw IngestError(.sealing, "sealing an image needs SEAL_KEYS; check the secrets file (--keys)")
        }
        do {
            return Array(try keyring.encrypt(original).utf8)
        } catch {
            throw IngestError.wrapping(error, context: "sealing the image \(sha256.prefix(12))")
        }
    }

    /// Replaces the stored file `relative` with `bytes` atomically (a new file next to it,
    /// written, given the old file's access and modification times, flushed to disk, then
    /// renamed over the old one): at any instant the path holds the old file or the new one,
    /// whole, even across a power cut.
    ///
    /// - Returns: `false` when there is no file at `relative` (nothing is written).
    /// - Throws: `IngestError.imageStore` when the new file cannot be written or moved.
    func replace(_ relative: String, with bytes: ArraySlice<UInt8>) throws -> Bool {
        let target = absolute(relative)
        var info = stat()
        guard stat(target, &info) == 0 else {
            if errno == ENOENT { return false }
            throw IngestError(.imageStore, "cannot read \(target) (errno \(errno)); check its permissions")
        }
        #if canImport(Darwin)
            let times = (info.st_atimespec, info.st_mtimespec)
        #else
            let times = (info.st_atim, info.st_mtim)
        #endif
        do {
            try AtomicFile.replace(at: target, with: bytes, times: times)
        } catch {
            throw IngestError(
                .imageStore, "cannot replace \(target) (errno \(error.errno)); check disk space and permissions")
        }
        return true
    }

    /// Writes bytes to `relative` as a new file put in place only when complete
    /// (`AtomicFile.create`); an existing file there (a concurrent writer of the same image)
    /// is kept. The folder is created only when missing (the first image of each of the 256
    /// folders).
    func write(_ bytes: ArraySlice<UInt8>, to relative: String) throws {
        let target = absolute(relative)
        do {
            do {
                _ = try AtomicFile.create(bytes, at: target)
            } catch  where error.errno == ENOENT {
                makeFolder(of: target)
                _ = try AtomicFile.create(bytes, at: target)
            }
        } catch {
            throw IngestError(
                .imageStore,
                "cannot write an image to \(target) (errno \(error.errno)); check disk space and permissions")
        }
    }

    /// Whether a file is at `path`: one `access` call (every stored image asks twice; in a
    /// profile of `run`, `FileManager.fileExists` took 1.9% of the CPU and this 1.6%).
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates the folder of the image file `target` (`images/ab`), and `images/` with it.
    ///
    /// The 256 folders are named for hashes and unrelated, and `images/` says so to ext4's
    /// Orlov allocator (`chattr +T`, set each time a folder is made, in case `images/` predates
    /// it): the folders spread over the file system's block groups instead of sharing their
    /// parent's. Without that, a new file's inode is sought from the start of the parent's
    /// group past every inode freed there in the last minutes (ext4 without a journal will not
    /// reuse those), and a run after `rm -rf` of an earlier one took 2.6 times the system time
    /// (4.5 s instead of 1.7 s for 5,000 images). Other file systems ignore the mark.
    func makeFolder(of target: String) {
        let folder = (target as NSString).deletingLastPathComponent
        let images = (folder as NSString).deletingLastPathComponent
        try? PrivateFiles.makeDirectory(images)
        Self.markTopOfUnrelatedFolders(images)
        try? PrivateFiles.makeDirectory(folder)
    }

    /// Sets the ext4 "top directory" flag (`FS_TOPDIR_FL`, `chattr +T`) on `directory`; does
    /// nothing where the file system has no such flag.
    static func markTopOfUnrelatedFolders(_ directory: String) {
        #if os(Linux)
            // <linux/fs.h>: FS_IOC_GETFLAGS = _IOR('f', 1, long), FS_IOC_SETFLAGS =
            // _IOW('f', 2, long) (the kernel reads and writes an int), FS_TOPDIR_FL = 0x20000.
            let getFlags: UInt = 0x8008_6601
            let setFlags: UInt = 0x4008_6602
            let topDirectory: Int32 = 0x0002_0000
            let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else { return }
            defer { close(descriptor) }
            var flags: Int32 = 0
            guard ioctl(descriptor, getFlags, &flags) == 0, flags & topDirectory == 0 else { return }
            flags |= topDirectory
            _ = ioctl(descriptor, setFlags, &flags)
        #endif
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
        let relative = try Self.storedPath(of: image)
        guard let data = FileManager.default.contents(atPath: absolute(relative)) else {
            throw IngestError(
                .imageStore, "the stored image \(relative) is missing or unreadable; re-run `photoseal download`")
        }
        return try Self.opened(data, relative: relative, keyring: keyring)
    }

    /// The document's stored path, checked (set, and not leaving the store).
    static func storedPath(of image: PhotoDocument.Image) throws -> String {
        guard let relative = image.path, !relative.isEmpty, !relative.contains("..") else {
            throw IngestError(
                .imageStore, "the image \(image.sha256.prefix(12)) has no stored path; run `photoseal download`")
        }
        return relative
    }

    /// The plaintext of a stored file's bytes: as they are for a clear file, opened for a
    /// sealed one (`.fernet`).
    static func opened(_ data: some Collection<UInt8>, relative: String, keyring: Keyring?) throws -> [UInt8] {
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
