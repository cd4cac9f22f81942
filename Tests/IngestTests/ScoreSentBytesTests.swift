import Crypto
import Foundation
import TestSupport
import Testing

@testable import Ingest

/// The labels cache is keyed by the bytes sent, not by the original: originals that differ only
/// in metadata are stored stripped to the same bytes, which are billed once.
extension ScoreStageTests {
    /// A JPEG's segment structure (no decodable pixels needed: the stripper and the Vision
    /// server look at bytes): JFIF, a comment, a quantisation table that varies with `image`,
    /// a frame header (the stripper keeps only files it can decode), a scan and its end.
    static func jpeg(image: Int, comment: String) -> [UInt8] {
        func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
            [0xFF, marker, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        }
        return [0xFF, 0xD8] + segment(0xE0, Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
            + segment(0xFE, Array(comment.utf8))
            + segment(0xDB, [0] + (0..<64).map { UInt8(truncatingIfNeeded: $0 * 7 + image) })
            + segment(0xC0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0])
            + segment(0xDA, [1, 1, 0, 0, 63, 0]) + (0..<200).map { UInt8(truncatingIfNeeded: $0 ^ image) & 0x7F }
            + [0xFF, 0xD9]
    }

    /// Stores each original stripped, as `download` does, with a row at `extracted` whose
    /// `image.sha256` is the original's.
    static func addStripped(_ originals: [[UInt8]], to work: ScoreWorkdir) async throws {
        let store = ImageStore(workdir: work.dir.path)
        let ledger = try work.ledger()
        let format = try #require(ImageFormat.sniff(originals[0]))
        for (index, original) in originals.enumerated() {
            let sha = try SHA256Digest.hex(original)
            let stored = try store.store(original: original, sha256: sha, format: format, mode: .stripped, keyring: nil)
            #expect(stored.fallback == nil)
            var document = LedgerTests.document(index + 1, term: "x")
            document.image = PhotoDocument.Image(
                sha256: sha, bytes: original.count, width: 8, height: 8, format: "jpeg", path: stored.path)
            try await ledger.insertPhoto(document, stage: .extracted)
        }
    }

    /// SHA-256 by `sha256sum` of every stored image file.
    static func storedDigests(_ work: ScoreWorkdir) throws -> [String] {
        let images = work.dir.appendingPathComponent("images")
        let files = try #require(FileManager.default.enumerator(at: images, includingPropertiesForKeys: nil))
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "jpg" }
        return try ScoreWorkdir.sha256sum(files)
    }

    @Test(
        "300 photos whose originals differ only in a comment: each distinct sent image is billed once, re-scoring is free"
    )
    func strippedCopiesBilledOnce() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        let work = try ScoreWorkdir()
        defer { work.remove() }
        // 12 pictures, 25 originals of each that differ only in their comment segment.
        try await Self.addStripped((0..<300).map { Self.jpeg(image: $0 % 12, comment: "copy \($0)") }, to: work)
        let stored = try Self.storedDigests(work)
        #expect(stored.count == 300 && Set(stored).count == 12)

        let first = try await Self.run(work, server, Self.options())
        #expect(first.plan.billedImages == 12 && first.labelledImages == 12 && first.scoredPhotos == 300)
        #expect(try server.billed() == Dictionary(uniqueKeysWithValues: Set(stored).map { ($0, 1) }))
        #expect(try work.rows().values.allSatisfy { $0.stage == .scored && $0.document.labels != nil })
        #expect(try await work.ledger().labelCacheCount() == 12)

        // Re-scoring with another label set reads the cache through each photo's link.
        let again = try await Self.run(work, server, Self.options(["sky", "tree"]))
        #expect(again.plan.billedImages == 0 && again.plan.cachedImages == 12 && again.calls == 0)
        // New originals that strip to bytes already labelled are not sent either.
        try await Self.addStripped(
            (300..<310).map { Self.jpeg(image: $0 % 12, comment: "late copy \($0)") }, to: work)
        let late = try await Self.run(work, server, Self.options())
        #expect(late.plan.billedImages == 0 && late.calls == 0 && late.scoredPhotos == 10)
        #expect(try server.billed().values.reduce(0, +) == 12)
    }

    @Test("a ledger whose cache was keyed by the originals keeps what it paid for after the migration")
    func migratedCacheStaysFree() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...6).map { ($0, ScoreWorkdir.bytes($0), ["monkey"]) })
        #expect(try await Self.run(work, server, Self.options()).labelledImages == 6)
        // As an older ledger: no links, cache keyed by the originals' SHA-256, while the stored
        // files (stripped copies there) hash to something else; the documents still in `photo`.
        let ledgerPath = work.dir.appendingPathComponent(Ledger.fileName).path
        let sql = """
            DROP TABLE label_link; ALTER TABLE photo ADD COLUMN document TEXT;
            UPDATE photo SET document = (SELECT document FROM photo_document d WHERE d.id = photo.id);
            DROP TABLE photo_document;
            DELETE FROM grdb_migrations WHERE identifier IN ('v4-label-by-sent-bytes', 'v6-photo-document');
            """
        #expect(try runProgram(["sqlite3", ledgerPath, sql]).status == 0)
        for digest in Set(work.sha.values) {
            let file = work.dir.appendingPathComponent("images/\(digest.prefix(2))/\(digest).jpg")
            let handle = try FileHandle(forWritingTo: file)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([0x00]))
            try handle.close()
        }
        let rescored = try await Self.run(work, server, Self.options(["sky"]))
        #expect(rescored.plan.billedImages == 0 && rescored.plan.cachedImages == 6 && rescored.calls == 0)
        #expect(try server.billed().values.reduce(0, +) == 6)
    }
}
