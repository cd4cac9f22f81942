import Foundation
import TestSupport
import Testing

@Test(
    "folder import with a 3 GB file and a 10 GB sparse JPEG: both skipped unread by position, the photo imported, peak RSS under 300 MB"
)
func hugeFilesSkipped() throws {
    let scratch = try Scratch()
    let folder = scratch.path("photos")
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let sample = repositoryRoot.appendingPathComponent("samples")
    let first = try #require(
        try FileManager.default.contentsOfDirectory(atPath: sample.path).sorted().first { $0.hasSuffix(".jpg") })
    try FileManager.default.copyItem(atPath: sample.path + "/" + first, toPath: folder + "/b-photo.jpg")
    // Sparse files: no disk used, but reading them whole would take their full size in memory.
    for (name, size, head) in [
        ("a-zeros.bin", 3 << 30, [UInt8]()), ("c-padded.jpg", 10 << 30, [0xFF, 0xD8, 0xFF, 0xE0]),
    ] {
        _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data(head))
        let handle = try #require(FileHandle(forWritingAtPath: folder + "/" + name))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
    }
    let keys = scratch.path("keys.env")
    try CLI.generateKeys(at: URL(fileURLWithPath: keys))
    // GNU time (Debian `time`) reports the child's peak RSS in KiB on the last line of stderr.
    let result = try CLI.run(
        ["import", folder, "--workdir", scratch.path("work"), "--keys", keys],
        wrapper: ["/usr/bin/time", "-f", "peak-rss-kib %M"])
    #expect(result.status == 0, "\(result.stderr)")
    let peak = result.stderr.split(separator: "\n").last { $0.hasPrefix("peak-rss-kib ") }
        .flatMap { Int($0.dropFirst("peak-rss-kib ".count)) }
    let kib = try #require(peak, "\(result.stderr)")
    #expect(kib < 300 << 10, "peak RSS \(kib) KiB")
    #expect(result.stderr.contains("item 1 skipped"), "\(result.stderr)")
    #expect(result.stderr.contains("item 3 skipped"), "\(result.stderr)")
    #expect(result.stderr.contains("larger than"), "\(result.stderr)")
    #expect(!result.stderr.contains("a-zeros") && !result.stderr.contains("c-padded"))

    let export = try CLI.run(["export", "--format", "jsonl", "--workdir", scratch.path("work"), "--keys", keys])
    #expect(export.stdout.split(separator: "\n").count == 1, "\(export.stdout)")
}
