public import Crypto
import Foundation
public import Ingest
import Synchronization

/// Downscaled JPEG copies of stored images, cached by content hash and size.
///
/// Copies are made with ``ImageScaler`` (libjpeg-turbo), so they carry no metadata. Images kept
/// in plain or stripped form get their copies cached on disk under `thumbs/` in the workdir
/// (files 0600, written whole then renamed); a sealed image (`.fernet`), or every image when
/// no cache folder is given (`sealed` image mode), is opened and scaled in memory only, and its
/// copies are kept in a bounded in-memory cache: nothing plaintext reaches the disk.
public final class Thumbnails: Sendable {
    /// The image store the originals are read from.
    public let images: ImageStore
    /// Where copies of clear images are cached (`nil`: memory only).
    public let cacheDirectory: String?
    private let keyring: Keyring?
    private let memory = Mutex(MemoryCache(limit: 64 << 20))

    /// Makes a thumbnailer.
    ///
    /// - Parameters:
    ///   - images: The workdir's image store.
    ///   - keyring: Opens sealed images; `nil` when the secrets file has no seal keys (sealed
    ///     images then have no thumbnail).
    ///   - cacheDirectory: The folder for cached copies of clear images; `nil` in `sealed` image
    ///     mode, where nothing plaintext may be written.
    public init(images: ImageStore, keyring: Keyring?, cacheDirectory: String?) {
        self.images = images
        self.keyring = keyring
        self.cacheDirectory = cacheDirectory
    }

    /// A JPEG copy of the image whose long side is at most `side` pixels.
    ///
    /// The original is read from the image store's backend: the workdir, or its bucket (the
    /// copy is then cached here as for a local image, so the object is fetched once per size).
    ///
    /// - Throws: `IngestError` when the stored file is missing or a sealed one does not open,
    ///   ``ImageScaler/Failure`` when it is not a JPEG that can be decoded.
    public func jpeg(for image: PhotoDocument.Image, side: Int) async throws -> [UInt8] {
        let key = "\(image.sha256)-\(side)"
        if let cached = memory.withLock({ $0.value(for: key) }) { return cached }
        let sealed = image.path?.hasSuffix(".fernet") ?? false
        let file = sealed ? nil : cacheDirectory.map { Self.cachePath(in: $0, sha256: image.sha256, side: side) }
        if let file, let data = FileManager.default.contents(atPath: file) { return Array(data) }
        let original = try await images.read(image, keyring: keyring)
        let copy = try ImageScaler.scaledJPEG(original, maxSide: side).bytes
        if let file {
            Self.write(copy, to: file)
        } else {
            memory.withLock { $0.insert(copy, for: key) }
        }
        return copy
    }

    /// `<cache>/<first two hex digits>/<sha256>-<side>.jpg`.
    static func cachePath(in directory: String, sha256: String, side: Int) -> String {
        let folder = (directory as NSString).appendingPathComponent(String(sha256.prefix(2)))
        return (folder as NSString).appendingPathComponent("\(sha256)-\(side).jpg")
    }

    /// Writes a cache file whole (temporary name, then rename) with mode 0600; a failure only
    /// costs the cache, never the answer.
    private static func write(_ bytes: [UInt8], to path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        try? PrivateFiles.makeDirectory((folder as NSString).deletingLastPathComponent)
        try? PrivateFiles.makeDirectory(folder)
        let temporary = path + ".\(UInt32.random(in: 0...UInt32.max)).tmp"
        // Created 0600 empty first, then filled: the copy is never readable by others.
        PrivateFiles.prepareFile(temporary)
        guard let handle = FileHandle(forWritingAtPath: temporary) else { return }
        let written = (try? handle.write(contentsOf: Data(bytes))) != nil
        try? handle.close()
        if !written || rename(temporary, path) != 0 { try? FileManager.default.removeItem(atPath: temporary) }
    }

    /// Copies held in memory, the least recently used dropped past `limit` bytes.
    struct MemoryCache: ~Copyable {
        let limit: Int
        private var entries: [String: (bytes: [UInt8], used: UInt64)] = [:]
        private var total = 0
        private var clock: UInt64 = 0

        init(limit: Int) { self.limit = limit }

        mutating func value(for key: String) -> [UInt8]? {
            guard let entry = entries[key] else { return nil }
            clock += 1
            entries[key] = (entry.bytes, clock)
            return entry.bytes
        }

        mutating func insert(_ bytes: [UInt8], for key: String) {
            clock += 1
            if let old = entries.updateValue((bytes, clock), forKey: key) { total -= old.bytes.count }
            total += bytes.count
            while total > limit, let oldest = entries.min(by: { $0.value.used < $1.value.used }) {
                entries[oldest.key] = nil
                total -= oldest.value.bytes.count
            }
        }
    }
}
