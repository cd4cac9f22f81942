import Foundation
import TestSupport
import Testing

/// The core-size limit of a running process, from `/proc/PID/limits` (soft value), or nil.
private func coreLimit(pid: Int32) -> String? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8) else { return nil }
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Max core file size") }) else {
        return nil
    }
    return line.dropFirst("Max core file size".count).split(separator: " ").first.map(String.init)
}

@Test("a photoseal process that holds keys writes no core file: its core size limit is 0")
func coreDumpsOff() throws {
    // Raise this process's soft limit to its hard one, so the child inherits a non-zero limit
    // and only photoseal itself can bring it to 0.
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
    try #require(limit.rlim_max > 0, "the hard core limit here is 0: this test cannot tell anything")

    let scratch = try Scratch()
    let keys = URL(fileURLWithPath: scratch.path("keys.env"))
    try CLI.generateKeys(at: keys)
    let process = Process()
    process.executableURL = CLI.executable
    process.arguments = ["token", "encrypt", "--keys", keys.path]
    let input = Pipe()
    process.standardInput = input
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    defer {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
    // The child starts with the inherited limit and sets 0 at start-up: wait for it, bounded.
    var seen: String?
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        seen = coreLimit(pid: process.processIdentifier)
        if seen == "0" { break }
        Thread.sleep(forTimeInterval: 0.02)
    }
    #expect(seen == "0", "photoseal's core size limit stayed \(seen ?? "unreadable")")
}

@Test("a key given with --api-key works but warns it is deprecated, naming the secret and never the key")
func apiKeyFlagDeprecated() throws {
    let scratch = try Scratch()
    let keys = URL(fileURLWithPath: scratch.path("keys.env"))
    try CLI.generateKeys(at: keys)
    let planted = "planted-cli-key-K3y9Zq"
    // Nothing listens on port 1: the key check fails after the warning.
    let result = try CLI.run([
        "search", "--workdir", scratch.path("work"), "--keys", keys.path, "--term", "monkey",
        "--api-key", planted, "--flickr-endpoint", "http://127.0.0.1:1/services/rest/",
    ])
    #expect(result.status != 0)
    #expect(result.stderr.contains("--api-key is deprecated"))
    #expect(result.stderr.contains("FLICKR_API_KEY"))
    #expect(!result.stderr.contains(planted) && !result.stdout.contains(planted))
}
