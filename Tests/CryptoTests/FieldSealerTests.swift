import Foundation
import Testing

@testable import Crypto

@Test("a sealed field opens at its own document and field")
func sealedFieldOpens() throws {
    let sealer = FieldSealer(keyring: try Keyring([FernetKey.generate()]))
    let token = try sealer.seal("Jane Photographer", documentID: "flickr:1", field: "owner_name")
    let opened = try sealer.open(token, documentID: "flickr:1", field: "owner_name")
    #expect(opened.string == "Jane Photographer")
    #expect(opened.kid == sealer.keyring.primary.kid)
}

@Test("a token moved to another document is rejected")
func movedDocumentRejected() throws {
    let sealer = FieldSealer(keyring: try Keyring([FernetKey.generate()]))
    let token = try sealer.seal("12345@N00", documentID: "flickr:1", field: "owner")
    expectCryptoError(.envelopeMismatch) { try sealer.open(token, documentID: "flickr:2", field: "owner") }
}

@Test("a token moved to another field of the same document is rejected")
func movedFieldRejected() throws {
    let sealer = FieldSealer(keyring: try Keyring([FernetKey.generate()]))
    let token = try sealer.seal("jane", documentID: "flickr:1", field: "path_alias")
    do {
        _ = try sealer.open(token, documentID: "flickr:1", field: "owner_name")
        Issue.record("a moved token opened")
    } catch let error as CryptoError {
        #expect(error.code == .envelopeMismatch)
        #expect(!error.description.contains("jane"))
    }
}

@Test("a plain Fernet token without an envelope is not accepted as a sealed field")
func plainTokenRejected() throws {
    let keyring = try Keyring([FernetKey.generate()])
    let token = try keyring.encrypt(Array("just a value".utf8))
    expectCryptoError(.malformedEnvelope) {
        try FieldSealer(keyring: keyring).open(token, documentID: "flickr:1", field: "owner")
    }
}

@Test("the envelope opens by hand in Python: version, document, field, value split on line feeds")
func envelopeOpensInPython() throws {
    let key = try FernetKey.generate()
    let sealer = FieldSealer(keyring: try Keyring([key]))
    let value = "multi\nline ✓ value"
    let token = try sealer.seal(value, documentID: "local:abc", field: "exif")
    let script = """
        import sys
        from cryptography.fernet import Fernet
        v, doc, field, value = Fernet(sys.argv[1].encode()).decrypt(sys.argv[2].encode()).split(b"\\n", 3)
        sys.stdout.buffer.write(b"|".join([v, doc, field]) + b"|" + value)
        """
    let out = try Python.run(script, arguments: [key.base64, token])
    #expect(out == "ps1|local:abc|exif|" + value)
}

@Test("reseal moves a field to the newest key, keeps its timestamp and still binds its place")
func resealKeepsBinding() throws {
    let old = try FernetKey.generate()
    let new = try FernetKey.generate()
    let token = try FieldSealer(keyring: try Keyring([old])).seal(
        "v", documentID: "d", field: "owner", timestamp: 1_500_000_000)
    let both = FieldSealer(keyring: try Keyring([new, old]))
    let resealed = try both.reseal(token, documentID: "d", field: "owner")
    #expect(resealed.previousKid == old.kid)
    let opened = try FieldSealer(keyring: try Keyring([new])).open(resealed.token, documentID: "d", field: "owner")
    #expect(opened.string == "v" && opened.timestamp == 1_500_000_000)
    #expect(throws: CryptoError.self) { try both.reseal(token, documentID: "other", field: "owner") }
}

@Test("blind index: HMAC-SHA256 of the normalised value, equal for equal owners, as Python computes it")
func blindIndexMatchesPython() throws {
    let index = try BlindIndex.generate()
    let a = try index.hex("  12345678@N00 ")
    #expect(a == (try index.hex("12345678@n00")))
    #expect(a != (try index.hex("12345678@N01")))
    #expect(try index.hex("Ame\u{301}lie") == index.hex("Amélie"))
    let script = """
        import base64, hmac, hashlib, sys, unicodedata
        k = base64.urlsafe_b64decode(sys.argv[1])
        v = unicodedata.normalize("NFC", sys.argv[2].strip()).lower()
        print(hmac.new(k, v.encode(), hashlib.sha256).hexdigest())
        """
    let out = try Python.run(script, arguments: [index.base64, "  12345678@N00 "])
    #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == a)
}
