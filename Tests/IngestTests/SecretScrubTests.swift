import Crypto
import Foundation
import TestSupport
import Testing

@testable import Ingest

@Suite("secrets never in the clear", .tags(.integration))
struct SecretScrubTests {
    @Test("a server message echoing a held key is scrubbed in the error and in the ledger's failure cause")
    func echoedKeyIsScrubbed() {
        let key = "held-vision-key-\(UUID().uuidString.prefix(8))"
        SecretScrubber.register([key])
        let echoed = "The key you sent (\(key)) is invalid"
        let error = IngestError(.invalidAPIKey, "Vision refused the key: \(echoed)")
        #expect(!error.message.contains(key))
        #expect(error.message.contains("The key you sent (***) is invalid"))
        let failure = PhotoFailure(stage: .score, cause: echoed, permanent: false)
        #expect(!failure.cause.contains(key))
        // Percent-encoded, as a server quoting the request URL would show it.
        let encoded = "k3y+with/slash=\(UUID().uuidString.prefix(6))"
        SecretScrubber.register([encoded])
        let quoted = encoded.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        #expect(!PhotoFailure.clean("GET /v1?key=x&k=\(quoted) failed").contains(quoted))
    }

    @Test("URLs are stored without userinfo and secret query options; the rest is kept")
    func publicURL() {
        #expect(
            URLListSource.publicURL("http://alice:S3cr3t@host/x.jpg") == ("http://host/x.jpg", true))
        #expect(
            URLListSource.publicURL("https://h/x.jpg?w=1&token=T&X-Amz-Signature=S&h=2#f")
                == ("https://h/x.jpg?w=1&h=2#f", true))
        #expect(URLListSource.publicURL("https://h/x.jpg?token=T") == ("https://h/x.jpg", true))
        #expect(URLListSource.publicURL("https://h/x.jpg?w=1") == ("https://h/x.jpg?w=1", false))
        #expect(URLListSource.publicURL("https://h/a@b.jpg") == ("https://h/a@b.jpg", false))
    }

    @Test("an error about a zip entry or a folder file says which by position, never its name")
    func noLocalNames() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-names-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let zip = dir.appendingPathComponent("in.zip").path
        let script = """
            import sys, zipfile
            with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("ok.jpg", b"x" * 10)
                z.writestr("a_secret_Alice_Smith.jpg", b"\\0" * 4096)
            """
        _ = try runProgram(["python3", "-c", script, zip])
        var items: [SourceItem] = []
        try await ZipSource(path: zip, maxEntryBytes: 100).forEachItem { items.append($0) }
        #expect(items.map(\.label) == ["entry 1 (in archive order)", "entry 2 (in archive order)"])
        guard case .unreadable(let reason) = items.last?.content else {
            Issue.record("the entry past the cap was not skipped")
            return
        }
        #expect(!reason.contains("Alice") && !items.map(\.label).joined().contains("Alice"))
        let folder = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data([0xFF, 0xD8]).write(to: folder.appendingPathComponent("a_secret_Alice_Smith.jpg"))
        var labels: [String] = []
        try await FolderSource(root: folder.path).forEachItem { labels.append($0.label) }
        #expect(labels == ["file 1 of 1 (in path order)"])
    }
}
