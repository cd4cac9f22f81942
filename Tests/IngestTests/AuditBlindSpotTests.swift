import Crypto
import Foundation
import Logging
import Store
import TestSupport
import Testing

@testable import Ingest

/// What the checks used to miss: a document read leniently (a second `sealed` key), a name in
/// another Unicode normal form, and names of two characters.
@Suite("audit and load blind spots", .tags(.integration))
struct AuditBlindSpotTests {
    let keyring: Keyring
    let blind: BlindIndex
    let now: Int64 = 1_800_000_000

    init() throws {
        keyring = try Keyring([FernetKey.generate()])
        blind = try BlindIndex.generate()
    }

    // BSON written by hand from bsonspec.org, so that the bytes are not the encoder's.
    static func int32(_ value: Int) -> [UInt8] { withUnsafeBytes(of: Int32(value).littleEndian, Array.init) }
    static func cstring(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
    static func string(_ key: String, _ value: String) -> [UInt8] {
        [0x02] + cstring(key) + int32(value.utf8.count + 1) + Array(value.utf8) + [0]
    }
    static func embedded(_ key: String, _ elements: [[UInt8]]) -> [UInt8] { [0x03] + cstring(key) + document(elements) }
    static func document(_ elements: [[UInt8]]) -> [UInt8] {
        let body = elements.flatMap { $0 }
        return int32(body.count + 5) + body + [0]
    }

    func token(_ value: String, _ id: String, _ field: String) throws -> String {
        try FieldSealer(keyring: keyring).seal(value, documentID: id, field: field, timestamp: now)
    }

    /// A sound sealed document whose owner name is `ownerName`, with `title` in the clear.
    func sealedDocument(id: String, ownerName: String, title: String, city: String = "Lyon") throws -> StoreDocument {
        [
            "_id": .string(id), "title": .string(title), "description": "", "tags": ["monkey"],
            "place": ["city": .string(city)],
            "sealed": [
                "owner": .string(try token("12345@N01", id, "owner")),
                "owner_name": .string(try token(ownerName, id, "owner_name")), "path_alias": .null,
            ],
            "seal": ["kid": .string(keyring.primary.kid)], "blind": ["owner": .string(try blind.hex("12345@N01"))],
        ]
    }

    /// The findings of both checks (tree and stored bytes), which must agree.
    func findings(_ document: StoreDocument) throws -> [SealCheck.Finding] {
        let checker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: true)
        let tree = checker.check(document, now: now)
        let raw = checker.check(try RawDocument(bsonBytes: try document.bsonBytes()), now: now)
        #expect(RotationAuditTests.sameResult(tree, raw), "\(tree.findings) vs \(raw.findings)")
        return tree.findings
    }

    @Test("a second sealed key holding plaintext is a duplicate-key finding in the audit, not a clean store")
    func duplicateSealedKey() async throws {
        let id = "flickr:1"
        let bytes = Self.document([
            Self.string("_id", id), Self.string("title", "monkey"),
            Self.embedded(
                "sealed",
                [
                    Self.string("owner", try token("12345@N01", id, "owner")),
                    Self.string("owner_name", try token("Pat Doe", id, "owner_name")),
                ]),
            Self.embedded("seal", [Self.string("kid", keyring.primary.kid)]),
            Self.embedded("blind", [Self.string("owner", try blind.hex("12345@N01"))]),
            Self.embedded("sealed", [Self.string("owner_name", "Pat Doe")]),
        ])
        let checker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: true)
        let raw = checker.check(try RawDocument(bsonBytes: bytes), now: now)
        let tree = checker.check(try StoreDocument(bsonBytes: bytes), now: now)
        #expect(RotationAuditTests.sameResult(tree, raw), "\(tree.findings) vs \(raw.findings)")
        let kinds = Set(raw.findings.map { "\($0.field) \($0.kind) \($0.check.rawValue)" })
        #expect(kinds.contains("sealed duplicate-key well-formed"), "\(kinds)")
        // The second `sealed` is read as the plaintext it is.
        #expect(kinds.contains("sealed.owner_name personal-value-in-plaintext personal-values"), "\(kinds)")
        #expect(kinds.contains("sealed.owner_name personal-key-outside-sealed personal-keys"), "\(kinds)")
        // A repeated key deeper down is found too, by its path.
        let nested = Self.document([
            Self.string("_id", "flickr:2"),
            Self.embedded("place", [Self.string("city", "a"), Self.string("city", "b")]),
        ])
        #expect(
            checker.check(try RawDocument(bsonBytes: nested), now: now).findings.map(\.field) == ["place.city"])

        // Through a store and the audit: the store keeps the bytes, the audit is not clean.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ps-dup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try EmbeddedStore(
            path: directory.appendingPathComponent("store.sqlite").path, logger: Logger(label: "test"))
        _ = try await store.upsert([try StoreDocument(bsonBytes: bytes)])
        let report = try await Audit(store: store, ledger: nil, keyring: keyring, blind: blind).run(now: now)
        #expect(!report.ok)
        #expect(report.findings.contains { $0.id == id && $0.kind == "duplicate-key" && $0.field == "sealed" })
        #expect(report.checks["well-formed"]?.checked == 1 && report.checks["well-formed"]?.findings == 1)
    }

    @Test("a stored document with a BSON type photoseal does not store is a finding; the audit goes on")
    func unsupportedType() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ps-type-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        let store = try EmbeddedStore(path: path, logger: Logger(label: "test"))
        _ = try await store.upsert([
            try sealedDocument(id: "flickr:1", ownerName: "Pat Doe", title: "a"),
            try sealedDocument(id: "flickr:2", ownerName: "Pat Doe", title: "b"),
            try sealedDocument(id: "flickr:3", ownerName: "Pat Doe", title: "c"),
        ])
        // flickr:2's body replaced behind photoseal's back by one holding a decimal128 (0x13).
        let decimal: [UInt8] = [0x13] + Self.cstring("price") + [UInt8](repeating: 1, count: 16)
        let bytes = Self.document([Self.string("_id", "flickr:2"), Self.string("title", "b"), decimal])
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let (status, output) = try runPython(
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
                + "c.execute('UPDATE documents SET body = ? WHERE id = ?', (bytes.fromhex(sys.argv[2]), 'flickr:2'))\n"
                + "c.commit()",
            [path, hex])
        try #require(status == 0, "\(output)")
        let report = try await Audit(store: store, ledger: nil, keyring: keyring, blind: blind).run(now: now)
        #expect(report.documents == 3)
        #expect(
            report.findings.map { "\($0.id) \($0.field) \($0.kind) \($0.check.rawValue)" } == [
                "flickr:2 price unsupported-type well-formed"
            ], "\(report.findings)")
    }

    @Test("an owner name in another Unicode normal form (NFD, fullwidth) than the title's is found")
    func normalForms() throws {
        let nfc = "José Núñez"
        let nfd = nfc.decomposedStringWithCanonicalMapping
        #expect(Array(nfd.utf8) != Array(nfc.utf8))
        for (owner, title) in [(nfc, "Photo by \(nfd)"), (nfd, "photo by JOSÉ NÚÑEZ"), ("Pat Doe", "by Ｐａｔ　Ｄｏｅ")] {
            let found = try findings(sealedDocument(id: "flickr:3", ownerName: owner, title: title))
            #expect(found.map(\.field) == ["title"], "\(found)")
            #expect(found.first?.kind == "personal-value-in-plaintext")
        }
    }

    @Test("a 2-character name is found in free text (title, tags) but not elsewhere; 1 character never")
    func shortNames() throws {
        var found = try findings(sealedDocument(id: "flickr:4", ownerName: "王芳", title: "王芳的猴子"))
        #expect(found.map(\.field) == ["title"], "\(found)")
        // In NFD-independent CJK, inside a tag.
        var document = try sealedDocument(id: "flickr:4", ownerName: "王芳", title: "monkey")
        document.fields[3] = StoreField(key: "tags", value: ["zoo", "摄影王芳"])
        found = try findings(document)
        #expect(found.map(\.field) == ["tags.1"], "\(found)")
        // Outside free text (a place name), 2 characters are not searched.
        found = try findings(sealedDocument(id: "flickr:4", ownerName: "王芳", title: "monkey", city: "王芳"))
        #expect(found.isEmpty, "\(found)")
        // Latin 2-character names: a whole word only.
        found = try findings(sealedDocument(id: "flickr:5", ownerName: "Li", title: "Li at the zoo"))
        #expect(found.map(\.field) == ["title"], "\(found)")
        found = try findings(sealedDocument(id: "flickr:5", ownerName: "Li", title: "Lily in a library"))
        #expect(found.isEmpty, "\(found)")
        // One character would match by chance: never searched.
        found = try findings(sealedDocument(id: "flickr:6", ownerName: "王", title: "王的猴子"))
        #expect(found.isEmpty, "\(found)")
    }

    @Test("encrypt-load refuses a title holding the owner's name (NFD, or a 2-character CJK name); the rest load")
    func loadRefusesNameInTitle() async throws {
        let built = try await LoadFixture.build(photos: 20)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        var documents: [String: PhotoDocument] = [:]
        try built.ledger.forEachDocument { documents[$0.id] = $0.document }
        // The dataset's own owner name, decomposed, in the title.
        let decomposed = try #require(
            built.ids.first { (built.truth[documents[$0]?.sourceID ?? ""]?["owner_name"]?.count ?? 0) >= 3 })
        var first = try #require(documents[decomposed])
        let name = try #require(built.truth[first.sourceID]?["owner_name"])
        first.title = "monkey by " + name.uppercased().decomposedStringWithCanonicalMapping
        try await built.ledger.advance(id: decomposed, to: .extracted, document: first)
        // A 2-character owner name, sealed as the pipeline seals it, in the title.
        let cjk = try #require(built.ids.last)
        var second = try #require(documents[cjk])
        second.sealed.ownerName = try FieldSealer(keyring: built.keyring).seal(
            "王芳", documentID: cjk, field: "owner_name", timestamp: Int64(Date().timeIntervalSince1970))
        second.title = "王芳的猴子"
        try await built.ledger.advance(id: cjk, to: .extracted, document: second)

        let store = try await LoadFixture.openStore("embedded", workdir: built.workdir)
        let summary = try await EncryptLoad(
            ledger: built.ledger, store: store, keyring: built.keyring, blind: built.blind, logger: LoadFixture.logger
        ).run()
        #expect(Set(summary.refused.map(\.id)) == [decomposed, cjk], "\(summary.refused)")
        #expect(summary.refused.allSatisfy { $0.field == "title" && $0.kind == "personal-value-in-plaintext" })
        #expect(summary.loaded == built.ids.count - 2)
        #expect(try await store.find(id: decomposed) == nil)
        #expect(try await store.find(id: cjk) == nil)
        let failure = try await built.ledger.failure(id: cjk)
        #expect(failure?.cause.contains("title personal-value-in-plaintext") == true)
        #expect(failure?.cause.contains("王芳") == false)
    }
}
