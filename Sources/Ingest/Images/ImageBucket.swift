public import Crypto
import Foundation

/// The image store's S3 backend (`--image-store s3://BUCKET/PREFIX`): the same
/// content-addressed layout as the local store, below the prefix
/// (`PREFIX/images/<xx>/<sha256>.<ext>[.fernet]`), so workers on several machines share one
/// image store and a document's `image.path` names the same image in either backend.
///
/// Objects are written whole by one PUT (or a multipart upload completed at the end, for
/// large ones): S3 never shows a partial object under its key, so a process killed at any
/// instant leaves every key holding a whole image or nothing. An object already present is
/// not uploaded again.
public struct ImageBucket: Sendable, CustomStringConvertible {
    /// The S3 client (its settings hold the endpoint and credentials).
    public let client: S3Client
    /// The bucket, and the prefix every key starts with (no trailing `/`; may be empty).
    public let location: S3Location
    /// Objects larger than this go through the multipart upload.
    public let multipartThreshold: Int
    /// The largest object read into memory (the download stage's default image cap).
    public let maxObjectBytes: Int

    /// A bucket backend at `location` (`s3://BUCKET/PREFIX`).
    ///
    /// - Parameters:
    ///   - multipartThreshold: Bytes above which an image is uploaded in parts (default 16 MiB;
    ///     at least S3's 5 MiB part minimum).
    ///   - maxObjectBytes: The largest object read back (default 200 MiB).
    public init(
        client: S3Client, location: S3Location, multipartThreshold: Int = 16 << 20, maxObjectBytes: Int = 200 << 20
    ) {
        self.client = client
        var prefix = location.key
        while prefix.hasSuffix("/") { prefix.removeLast() }
        self.location = S3Location(bucket: location.bucket, key: prefix)
        self.multipartThreshold = max(multipartThreshold, 5 << 20)
        self.maxObjectBytes = maxObjectBytes
    }

    /// `s3://BUCKET/PREFIX`.
    public var description: String { "s3://\(location.bucket)/\(location.key)" }

    /// The object key of a path relative to the store's root (`images/ab/<sha256>.jpg`).
    public func key(_ relative: String) -> String {
        location.key.isEmpty ? relative : location.key + "/" + relative
    }

    /// The path relative to the store's root of an object key below the prefix, else `nil`.
    public func relative(ofKey key: String) -> String? {
        if location.key.isEmpty { return key }
        guard key.hasPrefix(location.key + "/") else { return nil }
        return String(key.dropFirst(location.key.count + 1))
    }

    /// Checks that the bucket answers and takes the credentials (one list call of at most one
    /// key), so a wrong secret or a dead endpoint is one error before any photo is worked on.
    /// - Throws: `IngestError.invalidAPIKey` for refused credentials, `.httpStatus` for a
    ///   missing bucket or denied access, `.transport` when the endpoint cannot be reached; each
    ///   message names the image store.
    public func check() async throws {
        do {
            _ = try await client.listObjects(bucket: location.bucket, prefix: key("images/"), maxKeys: 1)
        } catch let error as IngestError {
            throw error.with(message: "the image store \(self) cannot be used: \(error.message)")
        }
    }

    /// The sizes of the clear and the sealed object holding an image (`nil`: absent), found by
    /// one list call of the keys starting `<sha256>.<ext>`.
    func existing(sha256: String, fileExtension: String) async throws -> (clear: Int64?, sealed: Int64?) {
        let clear = key(ImageStore.relativePath(sha256: sha256, fileExtension: fileExtension, sealed: false))
        let sealed = clear + ".fernet"
        let page = try await client.listObjects(bucket: location.bucket, prefix: clear, maxKeys: 10)
        return (
            page.objects.first { $0.key == clear }?.size, page.objects.first { $0.key == sealed }?.size
        )
    }

    /// Uploads `bytes` to `relative` (one PUT, or a multipart upload above
    /// `multipartThreshold`); an object there is replaced whole.
    func put(_ bytes: [UInt8], at relative: String) async throws {
        let key = key(relative)
        guard bytes.count > multipartThreshold else {
            try await client.putObject(bucket: location.bucket, key: key, body: bytes)
            return
        }
        _ = try await client.uploadResumable(
            bucket: location.bucket, key: key, size: Int64(bytes.count), partSize: 8 << 20
        ) { offset, count in
            Array(bytes[Int(offset)..<(Int(offset) + count)])
        }
    }

    /// The object at `relative`, or `nil` when there is none.
    func get(_ relative: String, maxBytes: Int? = nil) async throws -> [UInt8]? {
        do {
            return try await client.getObject(
                bucket: location.bucket, key: key(relative), maxBytes: maxBytes ?? maxObjectBytes)
        } catch let error as IngestError where error.httpStatus == 404 {
            return nil
        }
    }

    /// Runs `work` on every object below `images/` whose relative path passes `filter`, up to
    /// `lanes` at once, page by page (memory holds one listing page), and hands each result to
    /// `merge` in the caller's task.
    func eachObject<Part: Sendable>(
        lanes: Int, where filter: @escaping @Sendable (String) -> Bool,
        _ work: @escaping @Sendable (String) async throws -> Part, merge: (Part) throws -> Void
    ) async throws {
        try await client.forEachPage(bucket: location.bucket, prefix: key("images/")) { objects in
            let paths = objects.compactMap { relative(ofKey: $0.key) }.filter(filter)
            try await withThrowingTaskGroup(of: Part.self) { group in
                var next = 0
                while next < min(lanes, paths.count) {
                    let path = paths[next]
                    group.addTask { try await work(path) }
                    next += 1
                }
                while let part = try await group.next() {
                    try merge(part)
                    if next < paths.count {
                        let path = paths[next]
                        group.addTask { try await work(path) }
                        next += 1
                    }
                }
            }
        }
    }
}

extension ImageStore {
    /// Whether images live in an S3 bucket (`--image-store s3://…`).
    public var isRemote: Bool { bucket != nil }

    /// Where the images are, for messages: `s3://BUCKET/PREFIX`, or the local folder.
    public var location: String { bucket?.description ?? absolute("images") }

    /// `store(original:sha256:format:mode:keyring:)` for a store in a bucket (the local store
    /// is written as that method does): the same modes and the same reuse of a copy made in
    /// another mode, with the stripped or sealed bytes made in memory and uploaded whole once
    /// made. One list call finds the copies already there; an image already stored fit for
    /// `mode` is not uploaded again.
    ///
    /// - Throws: `IngestError` from S3 (naming the key), `.sealing` when sealing fails.
    public func upload(
        original: [UInt8], sha256: String, format: ImageFormat, mode: Mode, keyring: Keyring?
    ) async throws -> Stored {
        guard let bucket else {
            return try store(original: original, sha256: sha256, format: format, mode: mode, keyring: keyring)
        }
        let clear = Self.relativePath(sha256: sha256, fileExtension: format.fileExtension, sealed: false)
        let sealedPath = Self.relativePath(sha256: sha256, fileExtension: format.fileExtension, sealed: true)
        let found = try await bucket.existing(sha256: sha256, fileExtension: format.fileExtension)
        switch mode {
        case .plain:
            if found.clear != nil || found.sealed != nil {
                return Stored(path: found.clear != nil ? clear : sealedPath, existed: true, fallback: nil)
            }
            try await bucket.put(original, at: clear)
            return Stored(path: clear, existed: false, fallback: nil)
        case .stripped:
            guard let stripped = MetadataStripper.strip(original, format: format) else {
                let fallback = PhotoDocument.Image.Fallback.sealed(cannotStrip: format)
                if found.sealed != nil { return Stored(path: sealedPath, existed: true, fallback: fallback) }
                try await bucket.put(try seal(original, sha256: sha256, keyring: keyring), at: sealedPath)
                return Stored(path: sealedPath, existed: found.clear != nil, fallback: fallback)
            }
            if let size = found.clear {
                // The same bytes as the stripper makes now: a stripped copy. Anything else (the
                // original, an older stripper's output) is replaced by it (a PUT is atomic).
                if size == Int64(stripped.count), try await bucket.get(clear, maxBytes: stripped.count) == stripped {
                    return Stored(path: clear, existed: true, fallback: nil)
                }
                try await bucket.put(stripped, at: clear)
                return Stored(path: clear, existed: true, fallback: nil)
            }
            if found.sealed != nil { return Stored(path: sealedPath, existed: true, fallback: nil) }
            try await bucket.put(stripped, at: clear)
            return Stored(path: clear, existed: false, fallback: nil)
        case .sealed:
            if found.sealed != nil { return Stored(path: sealedPath, existed: true, fallback: nil) }
            try await bucket.put(try seal(original, sha256: sha256, keyring: keyring), at: sealedPath)
            return Stored(path: sealedPath, existed: found.clear != nil, fallback: nil)
        }
    }

    /// `bytes(for:keyring:)` from either backend: the object is fetched (up to the bucket's
    /// `maxObjectBytes`) from a bucket; a local file is read as that method does.
    ///
    /// - Throws: `IngestError.imageStore` when the image has no path or the object is missing,
    ///   S3 errors, `.sealing` when a sealed object does not open with the keyring.
    public func read(_ image: PhotoDocument.Image, keyring: Keyring?) async throws -> [UInt8] {
        guard let bucket else { return try bytes(for: image, keyring: keyring) }
        let relative = try Self.storedPath(of: image)
        guard let data = try await bucket.get(relative) else {
            throw IngestError(
                .imageStore,
                "the stored image \(relative) is missing from \(bucket); re-run `photoseal download`")
        }
        return try Self.opened(data, relative: relative, keyring: keyring)
    }
}
