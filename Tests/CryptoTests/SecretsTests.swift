import Foundation
import Testing

@testable import Crypto

private func temporaryFile(_ text: String, mode: mode_t = 0o600) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ps-secrets-\(UUID().uuidString)").path
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    chmod(path, mode)
    return path
}

@Test("the secrets file parser takes comments, blank lines, export, quotes and inline comments")
func parsesSecretsFile() throws {
    let text = """
        # a comment

        export FLICKR_API_KEY = "abc def"
        GOOGLE_VISION_API_KEY='xyz'
        MONGODB_URI=mongodb://u:p@h:27017/db # trailing comment
        SEAL_KEYS=
        """
    let values = try Secrets.parse(text, path: "x")
    #expect(values["FLICKR_API_KEY"] == "abc def")
    #expect(values["GOOGLE_VISION_API_KEY"] == "xyz")
    #expect(values["MONGODB_URI"] == "mongodb://u:p@h:27017/db")
    #expect(values["SEAL_KEYS"] == "")
    #expect(Secrets(values: values)["SEAL_KEYS"] == nil)
}

@Test(
    "a bad line is refused naming the line number, never its content",
    arguments: ["NOEQUALS secretvalue", "1BAD=secretvalue", "A='secretvalue"])
func badLines(_ line: String) {
    do {
        _ = try Secrets.parse("OK=1\n\(line)\n", path: "keys.env")
        Issue.record("accepted \(line)")
    } catch let error as CryptoError {
        #expect(error.code == .secretsFile)
        #expect(error.description.contains("line 2"))
        #expect(!error.description.contains("secretvalue"))
    } catch { Issue.record("unexpected \(error)") }
}

@Test(
    "a secrets file readable by group or others is refused with the chmod to run",
    arguments: [0o644, 0o640, 0o604, 0o620] as [mode_t])
func refusesOpenFile(_ mode: mode_t) throws {
    let key = try FernetKey.generate()
    let path = try temporaryFile("SEAL_KEYS=\(key.base64)\n", mode: mode)
    defer { unlink(path) }
    do {
        _ = try Secrets.load(explicit: path, environment: [:])
        Issue.record("accepted mode \(String(mode, radix: 8))")
    } catch let error as CryptoError {
        #expect(error.code == .secretsFile)
        #expect(error.description.contains("chmod 600 \(path)"))
        #expect(!error.description.contains(key.base64))
    }
}

@Test("environment variables override single entries; PHOTOSEAL_KEYS locates the file")
func environmentOverrides() throws {
    let a = try FernetKey.generate()
    let b = try FernetKey.generate()
    let path = try temporaryFile("SEAL_KEYS=\(a.base64)\nFLICKR_API_KEY=fromfile\n")
    defer { unlink(path) }
    let s = try Secrets.load(environment: ["PHOTOSEAL_KEYS": path, "FLICKR_API_KEY": "fromenv"])
    #expect(s.flickrAPIKey == "fromenv")
    #expect(try s.keyring().primary.kid == a.kid)
    let t = try Secrets.load(explicit: path, environment: ["SEAL_KEYS": "\(b.base64),\(a.base64)"])
    #expect(try t.keyring().keys.map(\.kid) == [b.kid, a.kid])
    #expect(!String(describing: t).contains(a.base64))
}

@Test("missing keys name what to run; a malformed SEAL_KEYS entry is named by position")
func missingAndMalformedKeys() throws {
    expectCryptoError(.missingKey) { try Secrets(values: [:]).keyring() }
    expectCryptoError(.missingKey) { try Secrets(values: [:]).blindIndex() }
    let good = try FernetKey.generate().base64
    do {
        _ = try Secrets(values: ["SEAL_KEYS": "\(good),notakey"]).keyring()
        Issue.record("accepted a malformed entry")
    } catch let error as CryptoError {
        #expect(error.code == .malformedKey)
        #expect(error.description.contains("SEAL_KEYS entry 2"))
        #expect(!error.description.contains(good))
    }
}

@Test("a new secrets file is written 0600 and an existing file is never overwritten")
func writesNewFile() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ps-new-\(UUID().uuidString)").path
    defer { unlink(path) }
    let text = Secrets.newFileText(keyring: try Keyring([FernetKey.generate()]), index: try BlindIndex.generate())
    try Secrets.writeNewFile(text, to: path)
    var info = stat()
    stat(path, &info)
    #expect(info.st_mode & 0o777 == 0o600)
    let loaded = try Secrets.load(explicit: path, environment: [:])
    #expect(try loaded.keyring().keys.count == 1)
    _ = try loaded.blindIndex()
    expectCryptoError(.secretsFile) { try Secrets.writeNewFile("X=1\n", to: path) }
    #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
}
