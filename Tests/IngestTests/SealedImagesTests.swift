import Crypto
import Foundation
import Logging
import Store
import Testing

@testable import Ingest

/// Sealed image files (`--store-images sealed`, and what stripped mode cannot strip) under key
/// rotation, retirement and the audit, on real files with real OpenSSL.
@Suite(
    "sealed image files: rotation, retirement, audit, and the stripped-mode fallback", .serialized, .tags(.integration))
struct SealedImagesTests {
    /// A workdir holding the fixture images imported in `sealed` mode, their documents moved to
    /// `extracted` and loaded into the embedded store.
    struct Sealed {
        let workdir: URL
        let ledger: Ledger
        let keyring: Keyring
        let blind: BlindIndex
        let images: ImageStore
        let store: any DocumentStore
        let ids: [String]

        init() async throws {
            workdir = try LoadFixture.tempDirectory()
            keyring = try Keyring([FernetKey.generate()])
            blind = try BlindIndex.generate()
            ledger = try Ledger(directory: workdir.path, logger: LoadFixture.logger)
            images = ImageStore(workdir: workdir.path)
            let ingestor = ImageIngestor(store: images, mode: .sealed, sealer: FieldSealer(keyring: keyring))
            let imported = try await ImportStage(ledger: ledger, ingestor: ingestor, logger: LoadFixture.logger)
                .run(FolderSource(root: ImageTestServer.imagesDirectory.path))
            #expect(imported.stored == 7)
            var ids: [String] = []
            for entry in try await ledger.claim(stage: .downloaded, limit: 100, owner: "test") {
                try await ledger.advance(id: entry.id, to: .extracted, document: entry.document)
                ids.append(entry.id)
            }
            self.ids = ids.sorted()
            store = try await LoadFixture.openStore("embedded", workdir: workdir)
            let loaded = try await EncryptLoad(
                ledger: ledger, store: store, keyring: keyring, blind: blind, logger: LoadFixture.logger
            ).run()
            #expect(loaded.loaded == ids.count && loaded.refused.isEmpty)
        }

        /// Every sealed file under `images/`, relative to the workdir, sorted.
        func sealedFiles() -> [String] {
            let root = workdir.appendingPathComponent("images").path
            let all = FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []
            return all.filter { $0.hasSuffix(".fernet") }.map { "images/" + $0 }.sorted()
        }

        func path(_ relative: String) -> String { workdir.appendingPathComponent(relative).path }

        func token(_ relative: String) throws -> String {
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: path(relative))), as: UTF8.self)
        }

        func modified(_ relative: String) throws -> Date? {
            try FileManager.default.attributesOfItem(atPath: path(relative))[.modificationDate] as? Date
        }
    }

    @Test(
        "rotation re-seals every sealed image file under the new key, keeping token timestamps and file times; retire counts the files until then"
    )
    func rotateAndRetire() async throws {
        let w = try await Sealed()
        defer { try? FileManager.default.removeItem(at: w.workdir) }
        let old = w.keyring.primary
        let new = try FernetKey.generate()
        let rotated = try Keyring([new, old])
        let files = w.sealedFiles()
        #expect(files.count == 7)
        var timestamps: [String: Int64] = [:]
        var modified: [String: Date] = [:]
        for file in files {
            timestamps[file] = try Fernet.timestamp(of: try w.token(file), key: old)
            modified[file] = try w.modified(file)
        }
        // Far enough apart that a rewritten file would show a new modification time.
        try await Task.sleep(for: .milliseconds(20))

        let before = try await KeyRetirement.usage(
            of: old.kid, store: w.store, ledger: w.ledger, images: w.images, keyring: rotated)
        #expect(before == KeyRetirement.Usage(store: 7, ledger: 7, images: 7))
        let refusal = #expect(throws: IngestError.self) {
            try KeyRetirement.keyring(rotated, retiring: old.kid, usage: before)
        }
        #expect(
            refusal?.message.contains(
                "14 documents (7 in the store, 7 in the ledger) and 7 sealed images still use key \(old.kid); run `photoseal rotate-keys`"
            ) == true, "\(refusal?.message ?? "")")

        // A sealed file under a key the keyring lacks is reported by name, and left alone.
        let foreignFile = "images/ff/" + String(repeating: "f", count: 64) + ".jpg.fernet"
        try FileManager.default.createDirectory(
            atPath: w.path("images/ff"), withIntermediateDirectories: true)
        let foreign = try Keyring([FernetKey.generate()]).encrypt([0xFF, 0xD8, 0xFF, 0xE0])
        try Data(foreign.utf8).write(to: URL(fileURLWithPath: w.path(foreignFile)))

        let rotation = KeyRotation(
            store: w.store, ledger: w.ledger, images: w.images, keyring: rotated, logger: LoadFixture.logger)
        let first = try await rotation.run()
        #expect(first.storeResealed == 7 && first.ledgerResealed == 7)
        #expect(first.imagesResealed == 7 && first.imagesCurrent == 0)
        #expect(first.failed == [.init(place: "images", id: foreignFile, field: "image", kind: "does-not-open")])
        #expect(try w.token(foreignFile) == foreign)
        try FileManager.default.removeItem(atPath: w.path(foreignFile))

        for file in files {
            let token = try w.token(file)
            // Under the new key alone, the same timestamp, the image its name says, the old time.
            let opened = try Fernet.decrypt(token, key: new)
            #expect(opened.timestamp == timestamps[file])
            #expect(try SHA256.hex(of: opened.plaintext) == SealedImages.sha256(inName: file))
            #expect(throws: CryptoError.self) { try Fernet.decrypt(token, key: old) }
            #expect(try w.modified(file) == modified[file], "\(file)")
        }
        #expect(w.images.partialFiles().isEmpty)

        let second = try await rotation.run()
        #expect(second.imagesResealed == 0 && second.imagesCurrent == 7 && second.failed.isEmpty)
        let after = try await KeyRetirement.usage(
            of: old.kid, store: w.store, ledger: w.ledger, images: w.images, keyring: rotated)
        #expect(after.total == 0)
        #expect(try KeyRetirement.keyring(rotated, retiring: old.kid, usage: after).keys.map(\.kid) == [new.kid])
    }

    @Test(
        "audit opens every sealed image: a swapped file, a corrupted one, a missing one and one dated ahead are findings; the clean files are counted per key"
    )
    func auditFindsBadFiles() async throws {
        let w = try await Sealed()
        defer { try? FileManager.default.removeItem(at: w.workdir) }
        let audit = Audit(store: w.store, ledger: w.ledger, keyring: w.keyring, blind: w.blind, images: w.images)
        let clean = try await audit.run()
        #expect(clean.ok, "\(clean.findings)")
        #expect(clean.sealedImages == 7)
        #expect(clean.kids[w.keyring.primary.kid]?.images == 7)
        #expect(clean.checks["sealed-images"]?.checked == 14 && clean.checks["sealed-images"]?.findings == 0)

        let files = w.sealedFiles()
        // 1. one image's sealed file copied over another's: it opens, to the wrong image
        try FileManager.default.removeItem(atPath: w.path(files[0]))
        try FileManager.default.copyItem(atPath: w.path(files[1]), toPath: w.path(files[0]))
        // 2. one character of a token changed
        var token = Array(try w.token(files[2]).utf8)
        token[token.count / 2] = token[token.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        try Data(token).write(to: URL(fileURLWithPath: w.path(files[2])))
        // 3. a sealed file removed
        try FileManager.default.removeItem(atPath: w.path(files[3]))
        let missingSHA = try #require(SealedImages.sha256(inName: files[3]))
        // 4. a file re-sealed with a timestamp an hour ahead: it opens (no TTL), yet it is a finding
        let image = try w.keyring.decrypt(try w.token(files[4])).plaintext
        let ahead = Int64(Date().timeIntervalSince1970) + 3600
        try Data(try Fernet.encrypt(image, key: w.keyring.primary, timestamp: ahead).utf8)
            .write(to: URL(fileURLWithPath: w.path(files[4])))

        let report = try await audit.run()
        let found = Set(report.findings.map { "\($0.id) \($0.field) \($0.kind) \($0.check.rawValue)" })
        #expect(
            found == [
                "\(files[0]) image wrong-image sealed-images",
                "\(files[2]) image does-not-open sealed-images",
                "local:\(missingSHA) image.path missing-sealed-image sealed-images",
                "\(files[4]) image future-timestamp sealed-images",
            ])
        #expect(report.sealedImages == 6)
        #expect(report.kids[w.keyring.primary.kid]?.images == 5)
        #expect(report.checks["sealed-images"]?.checked == 13 && report.checks["sealed-images"]?.findings == 4)

        // The report round-trips through its JSON form.
        let decoded = try JSONDecoder().decode(Audit.Report.self, from: try JSONEncoder().encode(report))
        #expect(decoded.sealedImages == 6 && decoded.kids == report.kids && decoded.findings == report.findings)
    }

    @Test(
        "stripped mode seals what it cannot strip and records why: a truncated JPEG (malformed), a GIF (unsupported format); status counts them"
    )
    func strippedFallback() async throws {
        let workdir = try LoadFixture.tempDirectory()
        defer { try? FileManager.default.removeItem(at: workdir) }
        let keyring = try Keyring([FernetKey.generate()])
        let images = ImageStore(workdir: workdir.path)
        let jpeg = [UInt8](
            try Data(contentsOf: ImageTestServer.imagesDirectory.appendingPathComponent("es_DSCN0010.jpg")))
        // Cut inside the 11 kB EXIF segment: the stripper cannot walk past it.
        let truncated = Array(jpeg.prefix(6000))
        let jpegFormat = try #require(ImageFormat.sniff(truncated))
        #expect(MetadataStripper.strip(truncated, format: jpegFormat) == nil)
        // The smallest GIF (1×1 pixel), as commonly published.
        let gif: [UInt8] =
            Array("GIF89a".utf8) + [
                0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x21, 0xF9, 0x04, 0x01,
                0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44,
                0x01, 0x00, 0x3B,
            ]

        let folder = workdir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(truncated).write(to: folder.appendingPathComponent("a.jpg"))
        try Data(gif).write(to: folder.appendingPathComponent("b.gif"))
        try Data(jpeg).write(to: folder.appendingPathComponent("c.jpg"))
        let ledger = try Ledger(directory: workdir.path, logger: LoadFixture.logger)
        let ingestor = ImageIngestor(store: images, mode: .stripped, sealer: FieldSealer(keyring: keyring))
        let imported = try await ImportStage(ledger: ledger, ingestor: ingestor, logger: LoadFixture.logger)
            .run(FolderSource(root: folder.path))
        #expect(imported.stored == 3)

        var byID: [String: PhotoDocument.Image] = [:]
        try ledger.forEachDocument { byID[$0.id] = $0.document.image }
        let truncatedImage = try #require(byID["local:" + (try SHA256.hex(of: truncated))])
        #expect(truncatedImage.fallback == .init(storedAs: "sealed", reason: "malformed"))
        #expect(truncatedImage.path?.hasSuffix(".jpg.fernet") == true)
        #expect(try images.bytes(for: truncatedImage, keyring: keyring) == truncated)
        let gifImage = try #require(byID["local:" + (try SHA256.hex(of: gif))])
        #expect(gifImage.fallback == .init(storedAs: "sealed", reason: "unsupported-format"))
        let intact = try #require(byID["local:" + (try SHA256.hex(of: jpeg))])
        #expect(intact.fallback == nil && intact.path?.hasSuffix(".jpg") == true)

        let status = try await ledger.status()
        #expect(status.sealedFallbacks == ["malformed": 1, "unsupported-format": 1])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any]
        #expect(json?["sealed_fallbacks"] as? [String: Int] == ["malformed": 1, "unsupported-format": 1])

        // The same bytes found again (under another id) are a fallback again; a sealed-mode
        // copy of strippable bytes is not.
        let again = try images.store(
            original: truncated, sha256: try SHA256.hex(of: truncated), format: jpegFormat, mode: .stripped,
            keyring: keyring)
        #expect(again.existed && again.fallback == .init(storedAs: "sealed", reason: "malformed"))
        let canon = [UInt8](
            try Data(contentsOf: ImageTestServer.imagesDirectory.appendingPathComponent("et_Canon.jpg")))
        let canonSHA = try SHA256.hex(of: canon)
        let sealed = try images.store(
            original: canon, sha256: canonSHA, format: jpegFormat, mode: .sealed, keyring: keyring)
        #expect(!sealed.existed && sealed.fallback == nil && sealed.path.hasSuffix(".fernet"))
        let found = try images.store(
            original: canon, sha256: canonSHA, format: jpegFormat, mode: .stripped, keyring: keyring)
        #expect(found.existed && found.fallback == nil)
    }
}
