public import Crypto
public import Enrich
import Foundation

/// Turns an original image (downloaded or imported) into a stored image and a document update,
/// while the original is at hand: reads its format, size and EXIF, seals the EXIF into the
/// document, and stores the image in the store's mode (which may strip or seal it).
///
/// EXIF is read here, before the original is stripped or sealed, so that no mode ever needs
/// the original again; the extract stage then derives the position and place from it.
public struct ImageIngestor: Sendable {
    /// The image store.
    public let store: ImageStore
    /// How images are kept at rest.
    public let mode: ImageStore.Mode
    /// Seals the EXIF (and sealed-mode images, with its keyring).
    public let sealer: FieldSealer

    /// Makes an ingestor.
    public init(store: ImageStore, mode: ImageStore.Mode, sealer: FieldSealer) {
        self.store = store
        self.mode = mode
        self.sealer = sealer
    }

    /// What ingesting an image found.
    public struct Ingested: Sendable {
        /// The EXIF GPS position, when the image has one (already sealed into the document;
        /// this copy lets the extract stage skip opening the seal again).
        public var gps: ExifGPS?
        /// Whether the same bytes were already in the store (found under another id).
        public var duplicate: Bool
    }

    /// Stores `original` and records it in `document` (`image`, `sealed.exif`).
    ///
    /// - Returns: `nil` when the bytes are not an image photoseal knows (nothing is stored).
    /// - Throws: `IngestError.imageStore` or `.sealing`.
    public func ingest(original: [UInt8], sha256: String, into document: inout PhotoDocument) throws -> Ingested? {
        guard let format = ImageFormat.sniff(original.prefix(16)) else { return nil }
        let size = ImageFormat.dimensions(original, format: format)
        let report = try Self.sealExif(of: original, kind: format.fileExtension, sealer: sealer, into: &document)
        let stored = try store.store(
            original: original, sha256: sha256, format: format, mode: mode, keyring: sealer.keyring)
        document.image = PhotoDocument.Image(
            sha256: sha256, bytes: original.count, width: size?.width, height: size?.height, format: format.name,
            path: stored.path, fallback: stored.fallback)
        return Ingested(gps: report.gps, duplicate: stored.existed)
    }

    /// `ingest(original:sha256:into:)` for an image store in a bucket (``ImageStore/isRemote``):
    /// the same document update, the image uploaded once its stored bytes are made. Callers
    /// use it only when the store is remote, so the local path stays free of suspension points.
    ///
    /// - Returns: `nil` when the bytes are not an image photoseal knows (nothing is stored).
    /// - Throws: `IngestError` from S3, `.sealing`.
    public func upload(original: [UInt8], sha256: String, into document: inout PhotoDocument) async throws
        -> Ingested?
    {
        guard let format = ImageFormat.sniff(original.prefix(16)) else { return nil }
        let size = ImageFormat.dimensions(original, format: format)
        let report = try Self.sealExif(of: original, kind: format.fileExtension, sealer: sealer, into: &document)
        let stored = try await store.upload(
            original: original, sha256: sha256, format: format, mode: mode, keyring: sealer.keyring)
        document.image = PhotoDocument.Image(
            sha256: sha256, bytes: original.count, width: size?.width, height: size?.height, format: format.name,
            path: stored.path, fallback: stored.fallback)
        return Ingested(gps: report.gps, duplicate: stored.existed)
    }

    /// Reads the EXIF of an image's bytes and, when there is any, seals it into
    /// `document.sealed.exif` (the object `photoseal exif --json` prints, its file named
    /// `image.<kind>`); returns what was read.
    /// - Throws: `IngestError.sealing` when sealing fails.
    static func sealExif(
        of bytes: [UInt8], kind: String, sealer: FieldSealer, into document: inout PhotoDocument
    ) throws -> ExifReport {
        try seal(ExifReader.read(bytes: bytes, name: "image.\(kind)"), sealer: sealer, into: &document)
    }

    /// Seals what `report` read into `document.sealed.exif` (when it read anything).
    static func seal(_ report: ExifReport, sealer: FieldSealer, into document: inout PhotoDocument) throws
        -> ExifReport
    {
        if !report.entries.isEmpty || report.gps != nil {
            do {
                document.sealed.exif = try sealer.seal(
                    report.jsonObject(), documentID: document.id, field: PhotoDocument.SealedField.exif)
            } catch {
                throw IngestError.wrapping(error, context: "sealing the EXIF of \(document.id)")
            }
        }
        return report
    }

    /// `ingest(original:…)` for a body too large to hold, read from the open file
    /// `descriptor` (`size` bytes) without ever reading it whole: EXIF and size from the
    /// metadata blocks, the image copied (plain) or stripped (JPEG) into place through a
    /// window. `nil` when this image needs the whole-bytes path (sealed mode, other formats,
    /// a JPEG the streaming stripper cannot read, no `/proc`): the caller reads it and calls
    /// `ingest(original:…)`.
    func ingest(descriptor: Int32, size: Int, sha256: String, into document: inout PhotoDocument) throws
        -> Ingested?
    {
        guard store.bucket == nil else { return nil }
        let proc = "/proc/self/fd/\(descriptor)"
        guard FileManager.default.fileExists(atPath: proc) else { return nil }
        let window = FileWindow(descriptor: descriptor, size: size)
        guard let head = window.bytes(0..<min(size, 1 << 20)), let format = ImageFormat.sniff(head.prefix(16)),
            let stored = try store.storeStreaming(
                window: window, head: head, sha256: sha256, format: format, mode: mode)
        else { return nil }
        let sizeInPixels = ImageFormat.dimensions(head, format: format)
        let report = try Self.seal(
            ExifReader.read(path: proc, name: "image.\(format.fileExtension)"), sealer: sealer, into: &document)
        document.image = PhotoDocument.Image(
            sha256: sha256, bytes: size, width: sizeInPixels?.width, height: sizeInPixels?.height, format: format.name,
            path: stored.path, fallback: stored.fallback)
        return Ingested(gps: report.gps, duplicate: stored.existed)
    }
}
