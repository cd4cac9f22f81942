import Foundation
import TestSupport
import Testing

@Test("import of a web page queues its images, relative links resolved; download stores them and marks the broken one")
func importWebPage() async throws {
    let scratch = try Scratch()
    let site = URL(fileURLWithPath: scratch.path("site"))
    try FileManager.default.createDirectory(at: site.appendingPathComponent("img"), withIntermediateDirectories: true)
    for name in ["es_DSCN0010.jpg", "es_DSCN0012.jpg"] {
        try FileManager.default.copyItem(
            at: ingestFixtures.appendingPathComponent("images/\(name)"), to: site.appendingPathComponent("img/\(name)"))
    }
    let page = """
        <html><head><meta property="og:image" content="img/es_DSCN0010.jpg"></head><body>
        <img src="img/es_DSCN0010.jpg" srcset="img/missing-small.jpg 300w, img/es_DSCN0012.jpg 1200w">
        <a href="/img/gone.jpg">a broken image</a></body></html>
        """
    try Data(page.utf8).write(to: site.appendingPathComponent("index.html"))
    let server = try PythonFixtureServer(script: "static_server", ["--dir", site.path])
    defer { server.stop() }
    let keys = scratch.path("keys.env")
    try CLI.generateKeys(at: URL(fileURLWithPath: keys))
    let common = ["--workdir", scratch.path("work"), "--keys", keys]

    let imported = try CLI.run(["import", server.base + "/index.html"] + common)
    #expect(imported.status == 0, "\(imported.stderr)")
    #expect(imported.stderr.contains("3 URLs queued for download"), "\(imported.stderr)")
    let downloaded = try CLI.run(["download", "--no-extract"] + common)
    #expect(downloaded.stderr.contains("2 stored"), "\(downloaded.stderr)")
    #expect(downloaded.stderr.contains("1 unavailable"), "\(downloaded.stderr)")
}
