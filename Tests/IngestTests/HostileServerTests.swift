import Foundation
import HTTP
import Testing

@testable import Ingest

/// Downloads from servers that misbehave on purpose: bodies that dribble, stop short with no
/// length to tell, or arrive gzip-encoded (and gzip bombs), against the local image server.
@Suite("downloads from hostile servers", .serialized, .tags(.integration))
struct HostileServerTests {
    typealias Setup = DownloadStageTests.Setup

    /// Downloads every queued URL with `attempts` attempts and the given deadline and size cap.
    func download(
        _ setup: Setup, mode: ImageStore.Mode = .stripped, attempts: Int = 2, transferTimeout: Double? = nil,
        maxImageBytes: Int = 200 << 20, memoryLimit: Int = 8 << 20
    ) async throws -> DownloadStage.Progress {
        var options = DownloadStage.Options(
            concurrency: 4, mode: mode, maxAttempts: attempts, retryBaseDelay: 0.05,
            maxImageBytes: maxImageBytes, transferTimeout: transferTimeout)
        options.recover = false
        options.memoryLimit = memoryLimit
        return try await DownloadStage(
            http: setup.http, ledger: setup.ledger, ingestor: setup.ingestor(mode), logger: setup.logger
        ).run(options)
    }

    /// The failure cause of the row queued with `url`.
    func cause(_ setup: Setup, _ url: String) async throws -> String? {
        let row = try #require(try setup.rows()[url])
        return try await setup.failure(row.document.id)?.cause
    }

    @Test(
        "a body dribbling 2 bytes every half second (above the low-speed limit) ends at the transfer deadline as timeout"
    )
    func dribbleHitsDeadline() async throws {
        let server = try ImageTestServer(dribbleSeconds: 25)
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let slow = "\(server.base)/f/dribble/es_DSCN0010.jpg"
        let good = "\(server.base)/img/es_DSCN0012.jpg"
        try await setup.queue([slow, good])
        let started = Date()
        let progress = try await download(setup, attempts: 1, transferTimeout: 2)
        let elapsed = Date().timeIntervalSince(started)
        // Without a deadline the dribble ends after 25 s and the image is stored.
        #expect(elapsed < 15, "took \(elapsed) s")
        #expect(progress.stored == 1 && progress.failed == 1)
        #expect(try setup.rows()[slow]?.stage == "failed")
        #expect(try await cause(setup, slow) == "timeout")
        #expect(try setup.rows()[good]?.stage == "downloaded")
    }

    @Test("the default deadline scales with the size cap and is never under 10 minutes")
    func defaultDeadline() {
        #expect(DownloadStage.Options().transferDeadline == 800)
        #expect(DownloadStage.Options(maxImageBytes: 1 << 20).transferDeadline == 600)
        #expect(DownloadStage.Options(transferTimeout: 5).transferDeadline == 5)
    }

    @Test(
        "a body cut short with no length (connection closed early, or chunked with no last chunk) is not stored; a whole one is"
    )
    func truncatedWithoutLength() async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let truth = try ImageTestServer.truth()
        let cut = [
            "\(server.base)/f/eofcut/es_DSCN0010.jpg", "\(server.base)/f/eofcut/et_PNG.png",
            "\(server.base)/f/chunkcut/es_DSCN0021.jpg",
        ]
        let whole = "\(server.base)/f/eof/es_DSCN0025.jpg"
        try await setup.queue(cut + [whole])
        let progress = try await download(setup)
        #expect(progress.stored == 1 && progress.failed == 3)
        for url in cut {
            #expect(try setup.rows()[url]?.stage == "failed", "\(url)")
            #expect(try await cause(setup, url) == "truncated", "\(url)")
        }
        let image = try #require(try setup.rows()[whole]?.document.image)
        #expect(image.sha256 == truth["es_DSCN0025.jpg"]?.sha256)
        // Only the whole image was stored.
        #expect(setup.files(under: "images").count == 1)
    }

    @Test("a gzip-encoded JPEG is stored decoded, hashed after decoding")
    func gzipEncoded() async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let truth = try #require(try ImageTestServer.truth()["es_DSCN0010.jpg"])
        let url = "\(server.base)/f/gzip/es_DSCN0010.jpg"
        try await setup.queue([url])
        let progress = try await download(setup)
        #expect(progress.stored == 1 && progress.failed == 0, "\(progress.causes)")
        let image = try #require(try setup.rows()[url]?.document.image)
        #expect(image.sha256 == truth.sha256 && image.bytes == truth.bytes)
        let stored = try Data(contentsOf: setup.workdir.appendingPathComponent(try #require(image.path)))
        #expect(stored.starts(with: [0xFF, 0xD8]))
    }

    @Test("a gzip bomb (64 MiB of zeros in a 64 KiB body) stops at the size cap, counted in decoded bytes")
    func gzipBomb() async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let url = "\(server.base)/gzbomb/64"
        try await setup.queue([url])
        let progress = try await download(setup, maxImageBytes: 8 << 20)
        #expect(progress.stored == 0 && progress.failed == 1)
        let found = try await cause(setup, url)
        #expect(found == "too-large")
        #expect(setup.files(under: "images").isEmpty)
    }

    @Test(
        "bodies spilled to disk are streamed into the store: plain keeps the original, stripped matches the in-memory stripper byte for byte and replaces a plain copy"
    )
    func spilledBodiesStream() async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let truth = try ImageTestServer.truth()
        let names = DownloadStageTests.nikon + ["et_Canon.jpg"]
        for mode in [ImageStore.Mode.plain, .stripped] {
            let setup = try Setup()
            defer { setup.cleanup() }
            // Every fixture is larger than 16 KiB: all of them spill.
            let urls = names.map { "\(server.base)/img/\($0)?mode=\(mode.rawValue)" }
            try await setup.queue(urls)
            let progress = try await download(setup, mode: mode, memoryLimit: 16 << 10)
            #expect(progress.stored == names.count, "\(progress.causes)")
            for (name, url) in zip(names, urls) {
                let original = [UInt8](
                    try Data(contentsOf: ImageTestServer.imagesDirectory.appendingPathComponent(name)))
                let row = try #require(try setup.rows()[url])
                let image = try #require(row.document.image)
                #expect(image.sha256 == truth[name]?.sha256 && image.bytes == original.count, "\(name)")
                #expect(image.width == truth[name]?.ImageWidth && image.height == truth[name]?.ImageHeight, "\(name)")
                #expect(row.document.sealed.exif != nil, "\(name)")
                let stored = [UInt8](
                    try Data(contentsOf: setup.workdir.appendingPathComponent(try #require(image.path))))
                let expected =
                    mode == .plain ? original : MetadataStripper.strip(original, format: ImageFormat.sniff(original)!)
                #expect(stored == expected, "\(name) in \(mode)")
            }
            if mode == .plain {
                // The same images again in stripped mode: the plain copies are replaced by stripped ones.
                let again = names.map { "\(server.base)/img/\($0)?again" }
                try await setup.queue(again)
                _ = try await download(setup, mode: .stripped, memoryLimit: 16 << 10)
                for name in names {
                    let original = [UInt8](
                        try Data(contentsOf: ImageTestServer.imagesDirectory.appendingPathComponent(name)))
                    let sha = try #require(truth[name]?.sha256)
                    let stored = [UInt8](
                        try Data(contentsOf: setup.workdir.appendingPathComponent("images/\(sha.prefix(2))/\(sha).jpg"))
                    )
                    #expect(stored == MetadataStripper.strip(original, format: ImageFormat.sniff(original)!), "\(name)")
                }
            }
        }
    }

    @Test("a body dribbling in over plain HTTP does not hold up the other downloads from the same host")
    func slowBodyDoesNotBlockHost() async throws {
        let server = try ImageTestServer(dribbleSeconds: 20)
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let slow = ["es_DSCN0010.jpg", "es_DSCN0012.jpg"].map { "\(server.base)/f/dribble/\($0)" }
        let fast = ["es_DSCN0021.jpg", "es_DSCN0025.jpg"].map { "\(server.base)/img/\($0)" }
        try await setup.queue(slow + fast)
        let progress = try await download(setup, attempts: 1, transferTimeout: 5)
        #expect(progress.stored == 2 && progress.failed == 2)
        let log = try server.log()
        let first = try #require(log.map(\.t).min())
        // Every request reached the server at once: none waited for a dribbling connection
        // (libcurl's wait for a multiplexable connection queued them behind it, 5 s here).
        for entry in log where entry.outcome == "ok" {
            #expect(entry.t - first < 2.5, "\(entry.path) requested \(entry.t - first) s after the first")
        }
        #expect(log.filter { $0.outcome == "ok" }.count == 2)
    }
}
