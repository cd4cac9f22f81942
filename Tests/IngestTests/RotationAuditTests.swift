import Crypto
import Foundation
import Logging
import Store
import Testing

@testable import Ingest

@Suite("key rotation and the audit", .serialized, .tags(.integration))
struct RotationAuditTests {
    /// A loaded store: search → extracted → encrypt-load.
    static func loaded(photos: Int, kind: String = "embedded") async throws -> (
        LoadFixture.Built, any DocumentStore
    ) {
        let built = try await LoadFixture.build(photos: photos)
        let store = try await LoadFixture.openStore(kind, workdir: built.workdir)
        let summary = try await EncryptLoad(
            ledger: built.ledger, store: store, keyring: built.keyring, blind: built.blind, logger: LoadFixture.logger
        ).run()
        #expect(summary.loaded == built.ids.count && summary.refused.isEmpty)
        return (built, store)
    }

    @Test(
        "rotation with a concurrent writer: a stale compare-and-set loses, the writer's change is kept, every document ends under the new key alone",
        arguments: ["embedded", "mongo"])
    func concurrentWriter(kind: String) async throws {
        let (built, store) = try await Self.loaded(photos: 250, kind: kind)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        defer { Task { try? await store.drop() } }
        let newKey = try FernetKey.generate()
        let rotated = try Keyring([newKey] + built.keyring.keys)
        let rotation = KeyRotation(
            store: store, ledger: built.ledger, keyring: rotated, batchSize: 40, logger: LoadFixture.logger)
        let oldSealer = FieldSealer(keyring: built.keyring)

        // Deterministic conflict: rotate a stale copy after a writer changed the document.
        let victim = built.ids[0]
        let stale = try #require(try await store.find(id: victim))
        let changedOwner = "changed-owner-0"
        var changed = stale
        changed.setValue(
            .string(try oldSealer.seal(changedOwner, documentID: victim, field: "owner")), at: "sealed.owner")
        changed.setValue(.string(try built.blind.hex(changedOwner)), at: "blind.owner")
        _ = try await store.upsert([changed])
        let outcome = try await rotation.rotate(stale, in: store)
        guard case .conflict = outcome else {
            Issue.record("a stale compare-and-set was applied: \(outcome)")
            return
        }
        #expect(try await store.find(id: victim) == changed)

        // A writer re-sealing owners under the old key while the rotation runs.
        let writerIDs = Array(built.ids[1..<60])
        let writer = Task {
            for (n, id) in writerIDs.enumerated() {
                guard var document = try await store.find(id: id) else { continue }
                let owner = "writer-owner-\(n)"
                document.setValue(
                    .string(try oldSealer.seal(owner, documentID: id, field: "owner")), at: "sealed.owner")
                document.setValue(.string(try built.blind.hex(owner)), at: "blind.owner")
                document.setValue(.string(built.keyring.primary.kid), at: "seal.kid")
                _ = try await store.upsert([document])
            }
        }
        let first = try await rotation.run()
        try await writer.value
        // Documents the writer touched after the rotation passed them are old again: a second
        // run (what an operator does after a live rotation) finishes them.
        let second = try await rotation.run()
        #expect(first.failed.isEmpty && second.failed.isEmpty)
        #expect(first.storeResealed + second.storeResealed >= built.ids.count)
        #expect(try await store.count(where: "seal.kid", equals: .string(newKey.kid)) == built.ids.count)
        #expect(try await built.ledger.count(sealKid: newKey.kid) == built.ids.count)

        // Nothing the writer did was lost, and every token opens under the new key alone.
        let newOnly = FieldSealer(keyring: try Keyring([newKey]))
        let victimNow = try #require(try await store.find(id: victim))
        let victimToken = try #require(victimNow.value(at: "sealed.owner")?.stringValue)
        #expect(try newOnly.open(victimToken, documentID: victim, field: "owner").string == changedOwner)
        for (n, id) in writerIDs.enumerated() {
            let document = try #require(try await store.find(id: id))
            let token = try #require(document.value(at: "sealed.owner")?.stringValue)
            #expect(try newOnly.open(token, documentID: id, field: "owner").string == "writer-owner-\(n)")
        }
        let python = try await LoadFixture.pythonCheck(store, keys: newKey.base64, truth: [:])
        #expect(python.hasPrefix("ok "), "\(python)")
        let report = try await Audit(
            store: store, ledger: kind == "embedded" ? built.ledger : nil, keyring: try Keyring([newKey]),
            blind: built.blind
        ).run()
        #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
    }

    @Test("keys retire refuses while documents use the key, naming how many, then allows it after rotation")
    func retire() async throws {
        let (built, store) = try await Self.loaded(photos: 30)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        let old = built.keyring.primary
        let newKey = try FernetKey.generate()
        let rotated = try Keyring([newKey, old])
        let images = ImageStore(workdir: built.workdir.path)
        let before = try await KeyRetirement.usage(
            of: old.kid, store: store, ledger: built.ledger, images: images, keyring: rotated)
        #expect(before == KeyRetirement.Usage(store: built.ids.count, ledger: built.ids.count, images: 0))
        let refusal = #expect(throws: IngestError.self) {
            try KeyRetirement.keyring(rotated, retiring: old.kid, usage: before)
        }
        #expect(
            refusal?.message.contains(
                "\(2 * built.ids.count) documents (\(built.ids.count) in the store, \(built.ids.count) in the ledger) and 0 sealed images still use key \(old.kid)"
            ) == true, "\(refusal?.message ?? "")")
        #expect(throws: IngestError.self) {
            try KeyRetirement.keyring(rotated, retiring: newKey.kid, usage: .init(store: 0, ledger: 0))
        }
        _ = try await KeyRotation(store: store, ledger: built.ledger, keyring: rotated, logger: LoadFixture.logger)
            .run()
        let after = try await KeyRetirement.usage(
            of: old.kid, store: store, ledger: built.ledger, images: images, keyring: rotated)
        #expect(after.total == 0)
        let remaining = try KeyRetirement.keyring(rotated, retiring: old.kid, usage: after)
        #expect(remaining.keys.map(\.kid) == [newKey.kid])
    }

    @Test("a clean store audits with no finding; each planted fault is reported with its document and kind")
    func plantedFaults() async throws {
        let (built, store) = try await Self.loaded(photos: 60)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        let audit = Audit(store: store, ledger: built.ledger, keyring: built.keyring, blind: built.blind, batchSize: 16)
        let clean = try await audit.run()
        #expect(clean.ok, "\(clean.findings.prefix(5))")
        #expect(clean.documents == built.ids.count)
        #expect(clean.ledgerLoaded == built.ids.count)
        #expect(clean.kids[built.keyring.primary.kid]?.documents == built.ids.count)

        let ids = built.ids
        func document(_ id: String) async throws -> StoreDocument { try #require(try await store.find(id: id)) }
        func set(_ id: String, _ path: String, _ value: StoreValue) async throws {
            var doc = try await document(id)
            doc.setValue(value, at: path)
            _ = try await store.upsert([doc])
        }
        // 1. a flipped byte in a token
        var token = Array(try #require(try await document(ids[1]).value(at: "sealed.owner")?.stringValue).utf8)
        token[50] = token[50] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
        try await set(ids[1], "sealed.owner", .string(String(decoding: token, as: UTF8.self)))
        // 2. a token moved from one document to another
        let moved = try #require(try await document(ids[3]).value(at: "sealed.owner")?.stringValue)
        try await set(ids[2], "sealed.owner", .string(moved))
        // 3. a token sealed under a key not in the keyring (right document and field)
        let foreign = FieldSealer(keyring: try Keyring([FernetKey.generate()]))
        try await set(
            ids[4], "sealed.owner_name", .string(try foreign.seal("someone", documentID: ids[4], field: "owner_name")))
        // 4. the plaintext owner name copied into the description (the server's value)
        let sourceID = try #require(try await document(ids[5])["source_id"]?.stringValue)
        let ownerName = try #require(built.truth[sourceID]?["owner_name"])
        try await set(ids[5], "description", .string("Shot by \(ownerName.uppercased()) at dawn"))
        // 5. a wrong blind index
        try await set(ids[6], "blind.owner", .string(try built.blind.hex("someone else")))
        // 6. a document deleted from the store
        #expect(try await store.delete(id: ids[7]))
        // 7. a document added behind the pipeline's back
        _ = try await store.upsert([["_id": "flickr:1", "source": "flickr", "title": "added by hand"]])

        let report = try await audit.run()
        let found = Set(report.findings.map { "\($0.id) \($0.field) \($0.kind)" })
        #expect(
            found == [
                "\(ids[1]) sealed.owner does-not-open",
                "\(ids[2]) sealed.owner misplaced-token",
                "\(ids[4]) sealed.owner_name does-not-open",
                "\(ids[5]) description personal-value-in-plaintext",
                "\(ids[6]) blind.owner blind-index-mismatch",
                "\(ids[7]) _id missing-from-store",
                "flickr:1 _id unknown-to-ledger",
            ])
        #expect(report.checks["ledger-store"]?.findings == 2)
        #expect(report.checks["opens"]?.findings == 2)
        // The report never holds a plaintext value.
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(!json.contains(ownerName) && !json.lowercased().contains(ownerName.lowercased()))
    }

    @Test("personal keys outside sealed and tokens from the future are findings")
    func keysAndTimestamps() throws {
        let keyring = try Keyring([FernetKey.generate()])
        let blind = try BlindIndex.generate()
        let sealer = FieldSealer(keyring: keyring)
        let checker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: true)
        let now: Int64 = 1_800_000_000
        let document: StoreDocument = [
            "_id": "flickr:9",
            "title": "ok",
            "place": ["owner_name": "x"],
            "sealed": [
                "owner": .string(
                    try sealer.seal("me@N01", documentID: "flickr:9", field: "owner", timestamp: now + 3600))
            ],
            "seal": ["kid": .string(keyring.primary.kid)],
            "blind": ["owner": .string(try blind.hex("me@N01"))],
        ]
        let kinds = Set(checker.check(document, now: now).findings.map { "\($0.field) \($0.kind)" })
        #expect(kinds == ["place.owner_name personal-key-outside-sealed", "sealed.owner future-timestamp"])
    }
}
