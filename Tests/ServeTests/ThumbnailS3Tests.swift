import Crypto
import Foundation
import HTTP
import Ingest
import Logging
import Serve
import TestSupport
import Testing

@Suite("Thumbnails of images in an S3 bucket", .tags(.integration))
struct ThumbnailS3Tests {
    /// An image store backend on a new bucket of the moto server.
    static func bucket(_ http: HTTPClient, multipartThreshold: Int = 16 << 20) async throws -> ImageBucket {
        let server = try await S3TestServer.shared()
        let client = try S3Client(
            http: http, settings: try S3Settings(secrets: Secrets(values: server.secrets, path: "test-keys.env")),
            logger: Logger(label: "test"))
        let name = S3TestServer.randomBucket()
        try await client.createBucket(name)
        return ImageBucket(
            client: client, location: try S3Location(parsing: "s3://\(name)/gallery/"),
            multipartThreshold: multipartThreshold)
    }

    @Test(
        "the gallery's thumbnails are made from the bucket's objects (stripped and sealed), cached as local ones",
        arguments: [ImageStore.Mode.stripped, .sealed])
    func thumbnailFromBucket(mode: ImageStore.Mode) async throws {
        let http = try HTTPClient(logger: Logger(label: "test"))
        defer { http.shutdown() }
        let bucket = try await Self.bucket(http)
        try await withFixture(.embedded, mode: mode, bucket: bucket) { fixture in
            // No image file in the workdir: only the bucket can give the thumbnail.
            #expect(
                !FileManager.default.fileExists(atPath: (fixture.workdir as NSString).appendingPathComponent("images")))
            let listed = try await bucket.client.listObjects(bucket: bucket.location.bucket, prefix: "gallery/images/")
            #expect(!listed.objects.isEmpty)
            #expect(listed.objects.allSatisfy { $0.key.hasSuffix(".fernet") == (mode == .sealed) })
            let gallery = try await fixture.gallery(memoryOnly: mode == .sealed)
            let response = await gallery.respond(to: GalleryRequest(target: "/thumb?id=flickr:1"))
            #expect(response.status == 200, "\(response.text)")
            #expect(!hasMetadata(response.body))
            #expect((jpegSize(response.body).map { max($0.width, $0.height) }) == 320)
            let thumbs = (fixture.workdir as NSString).appendingPathComponent("thumbs")
            let cached = (try? FileManager.default.subpathsOfDirectory(atPath: thumbs))?.filter { $0.hasSuffix(".jpg") }
            #expect((cached ?? []).count == (mode == .sealed ? 0 : 1))
        }
    }

    @Test("an image larger than the multipart threshold is uploaded in parts and read back whole; stored once")
    func multipartImage() async throws {
        let http = try HTTPClient(logger: Logger(label: "test"))
        defer { http.shutdown() }
        let bucket = try await Self.bucket(http, multipartThreshold: 5 << 20)
        let store = ImageStore(workdir: NSTemporaryDirectory(), bucket: bucket)
        // A GIF header over 6 MiB of pseudo-random bytes: a format kept as it is in plain mode.
        var bytes = Array("GIF89a".utf8) + [0x10, 0x00, 0x10, 0x00, 0, 0, 0]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<(6 << 20) {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            bytes.append(UInt8(truncatingIfNeeded: state >> 33))
        }
        let sha = try SHA256Digest.hex(bytes)
        let format = try #require(ImageFormat.sniff(bytes))
        let stored = try await store.upload(original: bytes, sha256: sha, format: format, mode: .plain, keyring: nil)
        #expect(!stored.existed)
        let again = try await store.upload(original: bytes, sha256: sha, format: format, mode: .plain, keyring: nil)
        #expect(again.existed && again.path == stored.path)
        // A multipart object's ETag ends in `-<parts>`; no upload is left open.
        let info = try await bucket.client.headObject(bucket: bucket.location.bucket, key: bucket.key(stored.path))
        #expect(info?.etag.hasSuffix("-1") == true, "\(String(describing: info))")
        #expect(info?.size == Int64(bytes.count))
        let uploads = try await bucket.client.listMultipartUploads(bucket: bucket.location.bucket, prefix: "")
        #expect(uploads.isEmpty)
        let image = PhotoDocument.Image(
            sha256: sha, bytes: bytes.count, width: nil, height: nil, format: format.name, path: stored.path,
            fallback: nil)
        #expect(try await store.read(image, keyring: nil) == bytes)
    }
}
