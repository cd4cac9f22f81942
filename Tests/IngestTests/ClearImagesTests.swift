import Crypto
import Foundation
import Testing

@testable import Ingest

/// Images kept in the clear: a copy made in another mode is not reused as stripped, and
/// `audit` reports clear files that keep metadata (by file and kind, never a value).
@Suite("clear image files: no plain copy reused as stripped; audit finds kept metadata", .tags(.integration))
struct ClearImagesTests {
    let workdir: URL
    let images: ImageStore
    let keyring: Keyring

    init() throws {
        workdir = try LoadFixture.tempDirectory()
        images = ImageStore(workdir: workdir.path)
        keyring = try Keyring([FernetKey.generate()])
    }

    static func camera(_ name: String) throws -> (bytes: [UInt8], sha256: String, format: ImageFormat) {
        let bytes = try MetadataStripperTests.camera(name)
        return (bytes, try SHA256.hex(of: bytes), try #require(ImageFormat.sniff(bytes.prefix(16))))
    }

    func contents(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: images.absolute(relative))))
    }

    @Test(
        "a plain copy is not reused by a stripped import: it is replaced in place by the stripped copy; a sealed copy is reused"
    )
    func plainThenStripped() throws {
        defer { try? FileManager.default.removeItem(at: workdir) }
        let photo = try Self.camera("es_DSCN0010.jpg")
        let plain = try images.store(
            original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: .plain, keyring: nil)
        #expect(try contents(plain.path) == photo.bytes)

        let stripped = try images.store(
            original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: .stripped, keyring: nil)
        // Same path: the documents stored in plain mode still name a file that opens.
        #expect(stripped == ImageStore.Stored(path: plain.path, existed: true, fallback: nil))
        let now = try contents(stripped.path)
        #expect(now == MetadataStripper.strip(photo.bytes, format: photo.format))
        #expect(MetadataStripper.metadata(in: now, format: photo.format) == [])
        let groups = try MetadataStripperTests.groups(images.absolute(stripped.path))
        #expect(MetadataStripperTests.disallowed(groups).isEmpty, "\(MetadataStripperTests.disallowed(groups))")
        #expect(images.partialFiles().isEmpty)

        // Stored again in stripped mode: reused as it is.
        #expect(
            try images.store(
                original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: .stripped, keyring: nil)
                == stripped)

        // A sealed-mode copy holds nothing in the clear: stripped mode reuses it.
        let other = try Self.camera("es_DSCN0012.jpg")
        let sealed = try images.store(
            original: other.bytes, sha256: other.sha256, format: other.format, mode: .sealed, keyring: keyring)
        #expect(sealed.path.hasSuffix(".fernet"))
        #expect(
            try images.store(
                original: other.bytes, sha256: other.sha256, format: other.format, mode: .stripped, keyring: keyring)
                == ImageStore.Stored(path: sealed.path, existed: true, fallback: nil))
    }

    @Test("sealed mode seals next to a clear copy instead of reusing it; plain mode reuses any copy")
    func sealedAfterClear() throws {
        defer { try? FileManager.default.removeItem(at: workdir) }
        let photo = try Self.camera("es_DSCN0021.jpg")
        let stripped = try images.store(
            original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: .stripped, keyring: nil)
        let sealed = try images.store(
            original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: .sealed, keyring: keyring)
        #expect(sealed.path == stripped.path + ".fernet" && sealed.existed)
        #expect(
            try keyring.decrypt(String(decoding: try contents(sealed.path), as: UTF8.self)).plaintext == photo.bytes)
        let plain = try images.store(
            original: photo.bytes, sha256: photo.sha256, format: photo.format, mode: .plain, keyring: nil)
        #expect(plain.existed && plain.path == stripped.path)
    }

    @Test(
        "audit: a clear image that keeps metadata is an image-metadata finding naming the file and kinds, never a value; plain originals pass when the workdir is plain"
    )
    func auditFindsMetadata() async throws {
        defer { try? FileManager.default.removeItem(at: workdir) }
        let clean = try Self.camera("es_DSCN0025.jpg")
        _ = try images.store(
            original: clean.bytes, sha256: clean.sha256, format: clean.format, mode: .stripped, keyring: nil)
        let blind = try BlindIndex.generate()
        let audit = Audit(store: nil, ledger: nil, keyring: keyring, blind: blind, images: images)
        let ok = try await audit.run()
        #expect(ok.ok, "\(ok.findings)")
        #expect(ok.checks["image-metadata"]?.checked == 1 && ok.checks["image-metadata"]?.findings == 0)

        // 1. an original planted under its own hash (a plain-mode file) in a stripped workdir
        let plain = try Self.camera("es_DSCN0010.jpg")
        let plainPath = ImageStore.relativePath(sha256: plain.sha256, fileExtension: "jpg", sealed: false)
        try images.write(plain.bytes[...], to: plainPath)
        // 2. files that are not originals (an older stripper's output): one with an ICC profile
        //    holding text, one with CIFF records in APP0
        let scratch = workdir.appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let keptPath = ImageStore.relativePath(
            sha256: String(repeating: "ab", count: 32), fileExtension: "jpg", sealed: false)
        try images.write(try MetadataStripperTests.crafted("icc-text.jpg", in: scratch).bytes[...], to: keptPath)
        let ciffPath = ImageStore.relativePath(
            sha256: String(repeating: "cd", count: 32), fileExtension: "jpg", sealed: false)
        try images.write(try Self.camera("es_sony-powershota5.jpg").bytes[...], to: ciffPath)
        try FileManager.default.removeItem(at: scratch)

        let report = try await audit.run()
        #expect(!report.ok)
        let found = Set(report.findings.map { "\($0.id) \($0.field) \($0.kind) \($0.check.rawValue)" })
        #expect(found.contains("\(plainPath) image exif image-metadata"), "\(found)")
        #expect(found.contains("\(keptPath) image icc-text image-metadata"), "\(found)")
        #expect(found.contains("\(ciffPath) image ciff image-metadata"), "\(found)")
        #expect(found.contains("\(ciffPath) image jfxx image-metadata"), "\(found)")
        #expect(report.checks["image-metadata"]?.checked == 4)
        let encoded = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        for value in ["NIKON", MetadataStripperTests.secret, "AUT_7808"] { #expect(!encoded.contains(value)) }

        // In a plain workdir the original passes; the file that is not an original still does not.
        let plainAudit = Audit(
            store: nil, ledger: nil, keyring: keyring, blind: blind, images: images, plainImages: true)
        let plainReport = try await plainAudit.run()
        #expect(Set(plainReport.findings.map(\.id)) == [keptPath, ciffPath], "\(plainReport.findings)")
    }
}
