import Foundation
import TestSupport
import Testing

/// Every file under `root` (relative paths), directories included when asked.
private func entries(under root: String, directories: Bool) -> [String] {
    (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &isDirectory)
        return isDirectory.boolValue == directories
    }
}

private func mode(_ path: String) -> Int {
    var info = stat()
    guard stat(path, &info) == 0 else { return -1 }
    return Int(info.st_mode & 0o777)
}

@Test("no planted secret (URL credentials, query secrets, an echoed key) in a workdir file or message; modes 0700/0600")
func plantedSecretsStayOut() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    let workdir = scratch.path("work")
    let plantedKey = "planted-flickr-key-Q7x9Z2"
    let plantedVisionKey = "planted-vision-key-W4k8"
    try CLI.generateKeys(
        at: URL(fileURLWithPath: keys),
        extra: ["FLICKR_API_KEY=\(plantedKey)", "GOOGLE_VISION_API_KEY=\(plantedVisionKey)"])
    // A list whose URLs carry a password and a token; the photo itself is not fetched here.
    let list = scratch.path("urls.csv")
    try Data(
        """
        url
        http://alice:S3cr3tPassW0rd@127.0.0.1:9/x.jpg?w=800&access_token=T0kenS3cretValue
        https://example.org/y.jpg?X-Amz-Signature=SigS3cretValue9&size=l

        """.utf8
    ).write(to: URL(fileURLWithPath: list))
    let planted = ["S3cr3tPassW0rd", "T0kenS3cretValue", "SigS3cretValue9", plantedKey, plantedVisionKey, "alice:"]
    var stderr = ""
    let imported = try CLI.run(["import", list, "--keys", keys, "--workdir", workdir])
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stderr.contains("2 URLs had credentials"))
    stderr += imported.stderr + imported.stdout
    // A Flickr server that answers a bad key by repeating it.
    let server = try FlickrServer(["--photos", "100", "--per-second", "100", "--echo-key"])
    defer { server.stop() }
    let search = try CLI.run([
        "search", "--keys", keys, "--workdir", workdir, "--flickr-endpoint", server.endpoint, "--term", "monkey",
    ])
    #expect(search.status != 0)
    stderr += search.stderr + search.stdout
    // A Vision server that does the same; its message is printed.
    let vision = try PythonFixtureServer(script: "vision_server", ["--echo-key"])
    defer { vision.stop() }
    let score = try CLI.run([
        "score", "--label", "monkey", "--keys", keys, "--workdir", workdir, "--vision-endpoint",
        vision.base + "/v1/images:annotate",
    ])
    #expect(score.status != 0)
    #expect(score.stderr.contains("The key you sent (***) is invalid"), "\(score.stderr)")
    stderr += score.stderr + score.stdout
    let status = try CLI.run(["status", "--keys", keys, "--workdir", workdir, "--json"])
    stderr += status.stderr + status.stdout
    for secret in planted {
        #expect(!stderr.contains(secret), "a message holds \(secret)")
    }
    let files = entries(under: workdir, directories: false)
    #expect(files.contains("ledger.sqlite"))
    for file in files {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: workdir + "/" + file))
        for secret in planted {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds \(secret)")
        }
        #expect(mode(workdir + "/" + file) == 0o600, "\(file) is \(String(mode(workdir + "/" + file), radix: 8))")
    }
    #expect(mode(workdir) == 0o700)
    for directory in entries(under: workdir, directories: true) {
        #expect(mode(workdir + "/" + directory) & 0o077 == 0, "\(directory)")
    }
    // The stored URLs keep what is not secret.
    let ledger = try Data(contentsOf: URL(fileURLWithPath: workdir + "/ledger.sqlite"))
    #expect(ledger.range(of: Data("http://127.0.0.1:9/x.jpg?w=800".utf8)) != nil)
}

@Test("keys add through a symlinked secrets file updates its target and leaves the link a link")
func keysAddThroughSymlink() throws {
    let scratch = try Scratch()
    let target = scratch.path("real-keys.env")
    try CLI.generateKeys(at: URL(fileURLWithPath: target))
    let link = scratch.path("keys.env")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    let added = try CLI.run(["keys", "add", "--keys", link])
    #expect(added.status == 0, "\(added.stderr)")
    let attributes = try FileManager.default.attributesOfItem(atPath: link)
    #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink)
    let text = try String(contentsOfFile: target, encoding: .utf8)
    let sealKeys = text.split(separator: "\n").first { $0.hasPrefix("SEAL_KEYS=") } ?? ""
    #expect(sealKeys.split(separator: ",").count == 2)
    #expect(mode(target) == 0o600)
}

@Test("a secrets file owned by another user is refused, naming the file")
func foreignOwnedSecretsFile() throws {
    let scratch = try Scratch()
    let keys = scratch.path("keys.env")
    try CLI.generateKeys(at: URL(fileURLWithPath: keys))
    // Only root can give a file away; elsewhere the refusal is covered by the mode check.
    guard geteuid() == 0 else { return }
    #expect(chown(keys, 4242, 4242) == 0)
    let listed = try CLI.run(["keys", "list", "--keys", keys])
    #expect(listed.status != 0)
    #expect(listed.stderr.contains(keys))
    #expect(listed.stderr.contains("another user"))
}
