import Crypto
import Foundation
import Store
import Testing

@testable import Ingest

/// `audit` checks documents from their stored bytes; what it finds must be exactly what the
/// check of the decoded document finds.
extension RotationAuditTests {
    static func sameResult(_ a: SealCheck.Result, _ b: SealCheck.Result) -> Bool {
        a.findings == b.findings && a.sealKid == b.sealKid && a.openedKids == b.openedKids
    }

    @Test("the check from stored bytes finds exactly what the check of the decoded document finds")
    func rawCheckMatchesTree() throws {
        // Two keys in the keyring, so that tokens under both open (mixed keys, kid mismatch).
        let second = try FernetKey.generate()
        let keyring = try Keyring([FernetKey.generate(), second])
        let other = try Keyring([second])
        let blind = try BlindIndex.generate()
        let now: Int64 = 1_800_000_000
        let kid = keyring.primary.kid
        func seal(_ value: String, _ id: String, _ field: String, keys: Keyring? = nil, at: Int64 = now) throws
            -> StoreValue
        {
            .string(try FieldSealer(keyring: keys ?? keyring).seal(value, documentID: id, field: field, timestamp: at))
        }
        let owner = "Pat Doe"
        var documents: [StoreDocument] = []
        // Sound, but the name shows in text (ASCII and not), in an array, and under personal keys.
        documents.append([
            "_id": "flickr:1", "title": .string("by PAT DOE"), "description": .string("Fотография — pat doe, é"),
            "tags": ["a", .string("x pat doe"), ["nested": .string("PAT DOE"), "Username": "u"]],
            "OwnerName": "x",
            "place": ["Path_Alias": "p", "ÖWNER": "y", "count": 3, "when": .date(Date(timeIntervalSince1970: 5))],
            "image": ["sha256": .string("pat doe"), "path": .string("images/pat doe.jpg")],
            "sealed": [
                "owner": try seal("me@N01", "flickr:1", "owner"),
                "owner_name": try seal(owner, "flickr:1", "owner_name"),
                "path_alias": .null, "exif": try seal("{\"tags\":{}}", "flickr:1", "exif"),
            ],
            "seal": ["kid": .string(kid)], "blind": ["owner": .string(try blind.hex("me@N01"))],
        ])
        // sealed is not a document.
        documents.append(["_id": "flickr:2", "sealed": ["a", "b"], "seal": ["kid": .string(kid)]])
        // A number, a broken token, a misplaced one, a future one; no seal.kid.
        documents.append([
            "_id": "flickr:3",
            "sealed": [
                "owner": 5, "owner_name": "gAAAAAbroken", "path_alias": try seal("alias", "flickr:9", "path_alias"),
                "exif": try seal("{}", "flickr:3", "exif", at: now + 3600),
            ],
            "blind": ["owner": .string(try blind.hex("someone"))],
        ])
        // No owner but a blind index; two keys; a kid that does not match.
        documents.append([
            "_id": "flickr:4", "sealed": ["owner": .null, "exif": try seal("{}", "flickr:4", "exif", keys: other)],
            "blind": ["owner": "abc"], "seal": ["kid": .string(kid)],
        ])
        documents.append([
            "_id": "flickr:5",
            "sealed": [
                "owner": try seal("me", "flickr:5", "owner"), "exif": try seal("{}", "flickr:5", "exif", keys: other),
            ],
        ])
        documents.append([
            "_id": "flickr:6", "sealed": ["owner": try seal("someone@N02", "flickr:6", "owner")],
            "seal": ["kid": "other"], "blind": ["owner": .string(try blind.hex("someone@N02"))],
            "notes": [[["deep": "SOMEONE@N02 here"]]], "flag": true, "score": 0.5, "nothing": .null,
        ])
        // No _id, and a document with no sealed part at all.
        documents.append(["title": "x", "owner": "y"])
        documents.append(["_id": "flickr:8", "title": "plain"])
        documents.append(["_id": "flickr:9", "sealed": ["exif": try seal("{}", "flickr:9", "exif")]])

        let checker = SealCheck(keyring: keyring, blind: blind, scanPlaintext: true)
        var kinds = Set<String>()
        for document in documents {
            let tree = checker.check(document, now: now)
            let raw = checker.check(try RawDocument(bsonBytes: try document.bsonBytes()), now: now)
            #expect(Self.sameResult(tree, raw), "\(document.id ?? "?"): \(tree.findings) vs \(raw.findings)")
            kinds.formUnion(tree.findings.map(\.kind))
        }
        // The documents above exercise every kind of per-document finding.
        #expect(
            kinds == [
                "personal-value-in-plaintext", "personal-key-outside-sealed", "not-a-document", "not-a-token",
                "does-not-open", "misplaced-token", "future-timestamp", "missing-seal-kid",
                "blind-index-mismatch", "blind-index-without-owner", "mixed-keys", "kid-mismatch",
            ])
    }

    @Test("damaged stored bytes are refused as corrupt, naming the document, never read past their end")
    func rawDocumentRefusesDamage() throws {
        let document: StoreDocument = ["_id": "flickr:1", "title": "hello", "tags": ["a", "b"]]
        let bytes = try document.bsonBytes()
        for cut in [1, 4, 9, bytes.count - 1] {
            #expect(throws: StoreError.self) { try RawDocument(bsonBytes: Array(bytes.prefix(cut))) }
        }
        var lying = bytes
        lying[lying.count - 8] = 0x7F  // a string length past the end
        #expect(throws: StoreError.self) { try RawDocument(bsonBytes: lying) }
        let raw = try RawDocument(bsonBytes: bytes)
        #expect(raw.id == "flickr:1")
        #expect(try raw.document() == StoreDocument(bsonBytes: bytes))
    }
}
