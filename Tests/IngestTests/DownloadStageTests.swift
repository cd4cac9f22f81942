import Crypto
import Enrich
import Foundation
import HTTP
import Logging
import Retry
import TestSupport
import Testing

@testable import Ingest

/// The download, import and extract stages against the local image server.
@Suite("download and extract against the local image server", .serialized, .tags(.integration))
struct DownloadStageTests {
    static let nikon = ["es_DSCN0010.jpg", "es_DSCN0012.jpg", "es_DSCN0021.jpg", "es_DSCN0025.jpg"]

    struct Setup {
        let workdir: URL
        let ledger: Ledger
        let sealer: FieldSealer
        let http: HTTPClient
        let logger: Logger

        init() throws {
            workdir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-dl-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            self.logger = logger
            ledger = try Ledger(directory: workdir.path, logger: logger)
            sealer = FieldSealer(keyring: try Keyring([FernetKey.generate()]))
            http = try HTTPClient(configuration: HTTPClient.Configuration(lowSpeedTime: 1), logger: logger)
        }

        var store: ImageStore { ImageStore(workdir: workdir.path) }

        func ingestor(_ mode: ImageStore.Mode) -> ImageIngestor {
            ImageIngestor(store: store, mode: mode, sealer: sealer)
        }

        /// Queues the URLs through a CSV URL list, as `photoseal import urls.csv` does.
        func queue(_ urls: [String]) async throws {
            let csv = workdir.appendingPathComponent("urls.csv")
            try Data(
                ("id,url\n" + urls.enumerated().map { "\($0.offset),\"\($0.element)\"" }.joined(separator: "\n"))
                    .utf8
            ).write(to: csv)
            let summary = try await ImportStage(ledger: ledger, ingestor: ingestor(.stripped), logger: logger)
                .run(URLListSource(path: csv.path))
            #expect(summary.queued == urls.count)
        }

        func download(
            _ mode: ImageStore.Mode = .stripped, attempts: Int = 4, extractor: ExtractStage? = nil,
            logger stageLogger: Logger? = nil, retryFailed: Bool = false
        ) async throws -> DownloadStage.Progress {
            var options = DownloadStage.Options(concurrency: 8, mode: mode, maxAttempts: attempts, retryBaseDelay: 0.05)
            options.retryFailed = retryFailed
            return try await DownloadStage(
                http: http, ledger: ledger, ingestor: ingestor(mode), extractor: extractor,
                logger: stageLogger ?? logger
            ).run(options)
        }

        func rows() throws -> [String: (stage: String, document: PhotoDocument)] {
            var out: [String: (stage: String, document: PhotoDocument)] = [:]
            try ledger.forEachDocument { out[$0.document.imageURL ?? $0.id] = ($0.stage.name, $0.document) }
            return out
        }

        func failure(_ id: String) async throws -> PhotoFailure? {
            try await ledger.failure(id: id)
        }

        func files(under folder: String) -> [String] {
            let root = workdir.appendingPathComponent(folder).path
            return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter {
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(
                    atPath: (root as NSString).appendingPathComponent($0), isDirectory: &isDirectory)
                return !isDirectory.boolValue
            }
        }

        func cleanup() {
            http.shutdown()
            try? FileManager.default.removeItem(at: workdir)
        }
    }

    @Test(
        "with 20 of 22 URLs misbehaving (each fault kind on two), available images are stored once with the right SHA-256, the rest unavailable"
    )
    func faults() async throws {
        let server = try ImageTestServer(stallSeconds: 3)
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let truth = try ImageTestServer.truth()
        let transient = ["img", "f/503", "f/429", "f/reset", "f/trunc", "f/stall", "f/redirect", "f/503x2"]
        let permanent = ["f/placeholder": "placeholder", "f/html": "not-an-image", "f/404": "http-404"]
        var urls: [String] = []
        var expectedImage: [String: String] = [:]
        var expectedCause: [String: String] = [:]
        for (k, kind) in (transient + permanent.keys.sorted()).enumerated() {
            for copy in 0..<2 {
                let name = Self.nikon[(k + copy) % Self.nikon.count]
                let url = "\(server.base)/\(kind)/\(name)?v=\(k)-\(copy)"
                urls.append(url)
                if let cause = permanent[kind] { expectedCause[url] = cause } else { expectedImage[url] = name }
            }
        }
        try await setup.queue(urls)
        let progress = try await setup.download()
        #expect(progress.stored == expectedImage.count)
        #expect(progress.unavailable == expectedCause.count)
        #expect(progress.failed == 0)
        let rows = try setup.rows()
        for (url, name) in expectedImage {
            let row = try #require(rows[url])
            #expect(row.stage == "downloaded", "\(url)")
            let image = try #require(row.document.image)
            let known = try #require(truth[name])
            #expect(image.sha256 == known.sha256 && image.bytes == known.bytes, "\(url)")
            #expect(image.width == known.ImageWidth && image.height == known.ImageHeight && image.format == "jpeg")
            #expect(image.path == "images/\(known.sha256.prefix(2))/\(known.sha256).jpg")
            #expect(row.document.sealed.exif != nil)
        }
        for (url, cause) in expectedCause {
            let row = try #require(rows[url])
            #expect(row.stage == "unavailable" && row.document.image == nil, "\(url)")
            #expect(
                try await setup.failure(row.document.id)
                    == PhotoFailure(stage: .download, cause: cause, permanent: true), "\(url)")
        }
        // Same bytes under many ids: one file each, and nothing left half-written.
        let stored = setup.files(under: "images")
        #expect(stored.count == Set(expectedImage.values).count)
        #expect(!stored.contains { $0.hasSuffix(".part") })
        // The placeholder and the HTML page were never stored.
        #expect(!stored.contains { $0.hasSuffix(".png") })
        let failures = try await setup.ledger.status().failures
        #expect(failures == ["unavailable:placeholder": 2, "unavailable:not-an-image": 2, "unavailable:http-404": 2])

        // A re-run downloads nothing again.
        let before = try server.log().count
        let again = try await setup.download()
        #expect(again.done == 0)
        #expect(try server.log().count == before)
    }

    @Test(
        "stripped images carry no EXIF block and stay valid JPEGs; extract seals EXIF, takes GPS from it and geocodes",
        arguments: [false, true])
    func strippedAndExtracted(whileDownloading: Bool) async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let truth = try ImageTestServer.truth()
        let names = Self.nikon + ["et_Canon.jpg"]
        try await setup.queue(names.map { "\(server.base)/img/\($0)" })
        let stage = ExtractStage(
            ledger: setup.ledger, store: setup.store, sealer: setup.sealer, geocoder: try Geocoder.bundled(),
            logger: setup.logger)
        // Either the download extracts each image as it is stored (rows go straight to
        // `extracted`), or the extract stage does it afterwards from the sealed EXIF.
        let downloaded = try await setup.download(extractor: whileDownloading ? stage : nil)
        #expect(downloaded.stored == names.count)
        #expect(downloaded.extracted == (whileDownloading ? names.count : 0))
        let extract = try await stage.run()
        #expect(extract.done == (whileDownloading ? 0 : names.count) && extract.failed == 0)
        if !whileDownloading { #expect(extract.geoFromExif == Self.nikon.count) }
        let rows = try setup.rows()
        for name in names {
            let known = try #require(truth[name])
            let row = try #require(rows["\(server.base)/img/\(name)"])
            #expect(row.stage == "extracted")
            let document = row.document
            let image = try #require(document.image)
            let stored = try setup.store.bytes(for: image, keyring: nil)
            // No APP1 "Exif\0\0" header, no XMP, and no camera strings left in the file.
            #expect(Self.find(Array("Exif\0\0".utf8), in: stored) == nil)
            #expect(Self.find(Array("http://ns.adobe.com/xap".utf8), in: stored) == nil)
            if let model = known.Model { #expect(Self.find(Array(model.utf8), in: stored) == nil) }
            #expect(stored.starts(with: [0xFF, 0xD8]) && stored.suffix(2) == [0xFF, 0xD9])
            // exiftool still reads the stripped file as a JPEG of the same size, with no EXIF.
            let info = try Self.exiftool(setup.store.absolute(image.path ?? ""))
            #expect(info["ImageWidth"] as? Int == known.ImageWidth && info["ImageHeight"] as? Int == known.ImageHeight)
            #expect(info["Model"] == nil && info["GPSLatitude"] == nil)
            // The sealed EXIF opens to exiftool's values.
            let token = try #require(document.sealed.exif)
            let opened = try setup.sealer.open(token, documentID: document.id, field: "exif").bytes
            let object = try #require(try JSONSerialization.jsonObject(with: Data(opened)) as? [String: Any])
            let tags = try #require(object["tags"] as? [String: Any])
            #expect(tags["IFD0:Model"] as? String == known.Model)
            if let lat = known.GPSLatitude, let lon = known.GPSLongitude {
                let geo = try #require(document.geo)
                #expect(geo.source == "exif" && abs(geo.lat - lat) < 1e-6 && abs(geo.lon - lon) < 1e-6)
                // 43.47 N 11.88 E is in Tuscany, Italy.
                #expect(document.place?.cc == "IT")
            } else {
                #expect(document.geo == nil && document.place == nil)
            }
        }
        // No camera value in plaintext anywhere in the work directory (ledger, WAL, images).
        let needles = names.compactMap { truth[$0]?.Model } + ["0560018150"]
        #expect(try filesContaining(needles, under: setup.workdir) == [])
    }

    @Test("sealed mode stores one Fernet token per image that opens to the original bytes")
    func sealedMode() async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let truth = try ImageTestServer.truth()
        try await setup.queue(["\(server.base)/img/es_DSCN0010.jpg"])
        #expect(try await setup.download(.sealed).stored == 1)
        let image = try #require(try setup.rows().values.first?.document.image)
        #expect(image.path?.hasSuffix(".jpg.fernet") == true)
        let original = try setup.store.bytes(for: image, keyring: setup.sealer.keyring)
        #expect(try SHA256.hex(of: original) == truth["es_DSCN0010.jpg"]?.sha256)
        #expect(throws: IngestError.self) { try setup.store.bytes(for: image, keyring: nil) }
        let raw = try Data(contentsOf: URL(fileURLWithPath: setup.store.absolute(image.path ?? "")))
        #expect(Self.find(Array("COOLPIX".utf8), in: Array(raw)) == nil)
    }

    @Test("a photo that keeps failing is marked failed with its cause, and the next run retries it")
    func failedThenRetried() async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let url = "\(server.base)/f/503x4/es_DSCN0012.jpg"
        try await setup.queue([url])
        let recorder = LogRecorder()
        let first = try await setup.download(attempts: 2, logger: recorder.logger())
        #expect(first.failed == 1 && first.causes == ["download:http-503": 1])
        // The retry line names the host, and only the host (the path may carry a photo's secret).
        let retries = recorder.records.filter { $0.message == "retrying a download" }
        #expect(
            retries.count == 1
                && retries.allSatisfy { $0.metadata["download.host"] == "127.0.0.1:\(server.server.port)" })
        #expect(try await setup.ledger.status().failures == ["download:http-503": 1])
        let id = try #require(try setup.rows()[url]?.document.id)
        #expect(try await setup.failure(id) == PhotoFailure(stage: .download, cause: "http-503", permanent: false))
        let second = try await setup.download(attempts: 3)
        #expect(second.stored == 1)
        #expect(try setup.rows()[url]?.stage == "downloaded")
        #expect(try server.log().filter { $0.outcome == "503" }.count == 4)
        #expect(try await setup.ledger.status().failures == [:])
        #expect(try await setup.failure(id) == nil)
    }

    @Test(
        "a 404 is recorded permanent and not fetched again by the next run; a 503 until the attempts are spent is transient and fetched again; retryFailed fetches the 404 again"
    )
    func permanentAndTransientDownloads() async throws {
        let server = try ImageTestServer()
        defer { server.stop() }
        let setup = try Setup()
        defer { setup.cleanup() }
        let gone = "\(server.base)/f/404/es_DSCN0010.jpg"
        let flaky = "\(server.base)/f/503x9/es_DSCN0012.jpg"
        let good = "\(server.base)/img/es_DSCN0021.jpg"
        try await setup.queue([gone, flaky, good])
        // Requests of each URL, as the image server logged them.
        func requests() throws -> [String: Int] {
            var counts: [String: Int] = [:]
            for entry in try server.log() { counts[server.base + entry.path, default: 0] += 1 }
            return counts
        }
        let first = try await setup.download(attempts: 2)
        #expect(first.stored == 1 && first.unavailable == 1 && first.failed == 1)
        #expect(try requests() == [gone: 1, flaky: 2, good: 1])
        let rows = try setup.rows()
        let goneID = try #require(rows[gone]?.document.id)
        let flakyID = try #require(rows[flaky]?.document.id)
        #expect(try await setup.failure(goneID) == PhotoFailure(stage: .download, cause: "http-404", permanent: true))
        #expect(try await setup.failure(flakyID) == PhotoFailure(stage: .download, cause: "http-503", permanent: false))

        // The next run fetches the 503 again (two more attempts) and leaves the 404 alone.
        let second = try await setup.download(attempts: 2)
        #expect(second.done == 1 && second.failed == 1)
        #expect(try requests() == [gone: 1, flaky: 4, good: 1])
        #expect(try setup.rows()[gone]?.stage == "unavailable")

        // Asked to retry failed photos, it fetches the 404 once more.
        let third = try await setup.download(attempts: 2, retryFailed: true)
        #expect(third.done == 2 && third.unavailable == 1)
        #expect(try requests() == [gone: 2, flaky: 6, good: 1])
        #expect(try await setup.failure(goneID)?.permanent == true)
    }

    @Test(
        "a FIFO, a dangling link and a directory named .jpg among good files: reported by position and skipped, the good files imported"
    )
    func importSkipsUnreadable() async throws {
        let setup = try Setup()
        defer { setup.cleanup() }
        // Tests run as root, for whom chmod 000 does not stop reading: the unreadable entries
        // here are a FIFO (opening it would wait for a writer) and a link to nothing.
        let folder = setup.workdir.appendingPathComponent("src")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("album.jpg"), withIntermediateDirectories: true)
        let images = ImageTestServer.imagesDirectory
        for (name, target) in [
            ("es_DSCN0010.jpg", "a.jpg"), ("es_DSCN0021.jpg", "d.jpg"), ("et_Canon.jpg", "album.jpg/c.jpg"),
        ] {
            try FileManager.default.copyItem(
                at: images.appendingPathComponent(name), to: folder.appendingPathComponent(target))
        }
        try #require(mkfifo(folder.appendingPathComponent("b_Alice_Smith.jpg").path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent("c_Alice_Smith.jpg").path, withDestinationPath: "/nonexistent/x.jpg")
        let recorder = LogRecorder()
        let stage = ImportStage(ledger: setup.ledger, ingestor: setup.ingestor(.stripped), logger: recorder.logger())
        let summary = try await stage.run(try PhotoSources.source(for: folder.path))
        #expect(summary.items == 5 && summary.stored == 3 && summary.unreadable == 2, "\(summary)")
        #expect(try await setup.ledger.photoCount() == 3)
        let warnings = recorder.records.filter { $0.level == .warning }.map(\.message)
        // In path order: a.jpg, album.jpg/c.jpg, b_… (item 3), c_… (item 4), d.jpg.
        #expect(warnings.count == 2 && warnings[0].contains("item 3") && warnings[1].contains("item 4"), "\(warnings)")
        #expect(!warnings.contains { $0.contains("Alice") || $0.contains("Smith") }, "\(warnings)")
    }

    @Test("a URL list with a bad row among good ones: the bad row is reported by number, the good rows queued")
    func importSkipsBadRow() async throws {
        let setup = try Setup()
        defer { setup.cleanup() }
        let csv = setup.workdir.appendingPathComponent("urls.csv")
        try Data(
            """
            id,url
            1,http://127.0.0.1:9/a.jpg
            2,file:///etc/passwd
            3,not a url at all
            4,https://127.0.0.1:9/b.jpg

            """.utf8
        ).write(to: csv)
        let recorder = LogRecorder()
        let stage = ImportStage(ledger: setup.ledger, ingestor: setup.ingestor(.stripped), logger: recorder.logger())
        let summary = try await stage.run(URLListSource(path: csv.path))
        #expect(summary.queued == 2 && summary.unreadable == 2, "\(summary)")
        #expect(try await setup.ledger.photoCount() == 2)
        let warnings = recorder.records.filter { $0.level == .warning }.map(\.message)
        #expect(warnings.count == 2 && warnings[0].contains("row 3") && warnings[1].contains("row 4"), "\(warnings)")
        #expect(!warnings.contains { $0.contains("passwd") || $0.contains(csv.path) }, "\(warnings)")
    }

    @Test("a folder and a zip of the same pictures import once, with content ids, skipping non-images")
    func importLocal() async throws {
        let setup = try Setup()
        defer { setup.cleanup() }
        let truth = try ImageTestServer.truth()
        let folder = setup.workdir.appendingPathComponent("src")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("nested/deeper"), withIntermediateDirectories: true)
        let images = ImageTestServer.imagesDirectory
        for (name, target) in [
            ("es_DSCN0010.jpg", "a.jpg"), ("es_DSCN0021.jpg", "nested/b.jpg"), ("et_Canon.jpg", "nested/deeper/c.jpg"),
        ] {
            try FileManager.default.copyItem(
                at: images.appendingPathComponent(name), to: folder.appendingPathComponent(target))
        }
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        let stage = ImportStage(ledger: setup.ledger, ingestor: setup.ingestor(.stripped), logger: setup.logger)
        let first = try await stage.run(try PhotoSources.source(for: folder.path))
        #expect(first.items == 4 && first.stored == 3 && first.skipped == 1)
        let rows = try setup.rows()
        for name in ["es_DSCN0010.jpg", "es_DSCN0021.jpg", "et_Canon.jpg"] {
            let sha = try #require(truth[name]?.sha256)
            let row = try #require(rows["local:\(sha)"])
            #expect(row.stage == "downloaded" && row.document.image?.sha256 == sha && row.document.source == "local")
        }
        // The same pictures in a zip (made by Info-ZIP's zip) are already known.
        let zip = setup.workdir.appendingPathComponent("photos.zip")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["zip", "-q", "-r", zip.path, "."]
        process.currentDirectoryURL = folder
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let second = try await stage.run(try PhotoSources.source(for: zip.path))
        #expect(second.items == 4 && second.known == 3 && second.stored == 0 && second.skipped == 1)
        #expect(try await setup.ledger.photoCount() == 3)
        #expect(throws: IngestError.self) {
            try PhotoSources.source(for: setup.workdir.appendingPathComponent("nope").path)
        }
    }

    @Test("URL lists follow RFC 4180 quoting, find the url column by name, and read TSV")
    func urlLists() async throws {
        let csv = Array(
            "name,\"url\"\r\n\"a, \"\"quoted\"\"\nline\",http://x.test/1.jpg\r\nb,\"http://x.test/2.jpg\"\n\n".utf8)
        let rows = try URLListSource.parse(csv, separator: UInt8(ascii: ","))
        #expect(
            rows == [["name", "url"], ["a, \"quoted\"\nline", "http://x.test/1.jpg"], ["b", "http://x.test/2.jpg"]])
        let setup = try Setup()
        defer { setup.cleanup() }
        let tsv = setup.workdir.appendingPathComponent("list.tsv")
        try Data("title\turl\none\thttp://x.test/a.jpg\ntwo\thttps://x.test/b.jpg\n".utf8).write(to: tsv)
        var urls: [String] = []
        try await URLListSource(path: tsv.path).forEachItem { item in
            if case .url(let url) = item.content { urls.append(url) }
        }
        #expect(urls == ["http://x.test/a.jpg", "https://x.test/b.jpg"])
        let bad = setup.workdir.appendingPathComponent("bad.csv")
        try Data("link\nhttp://x.test/a.jpg\n".utf8).write(to: bad)
        await #expect(throws: IngestError.self) { try await URLListSource(path: bad.path).forEachItem { _ in } }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }

    static func exiftool(_ path: String) throws -> [String: Any] {
        let list = try JSONSerialization.jsonObject(with: runProgram(["exiftool", "-j", "-n", path]).output)
        return (list as? [[String: Any]])?.first ?? [:]
    }
}
