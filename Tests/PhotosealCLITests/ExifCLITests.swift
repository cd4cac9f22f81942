import Foundation
import Testing

/// Fixture images for the CLI: the EnrichTests fixtures sit in the source tree beside us.
enum ExifCLIFixtures {
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("EnrichTests/Fixtures/exif/images")
    static func path(_ name: String) -> String { images.appendingPathComponent(name).path }
}

@Suite("photoseal exif", .tags(.integration))
struct ExifCLITests {
    @Test("--json prints one object per file with exiftool-named tags and a signed position")
    func jsonOutput() throws {
        let result = try CLI.run(["exif", "--json", ExifCLIFixtures.path("es_Kodak_CX7530.jpg")])
        #expect(result.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 1)
        let tags = try #require(array[0]["tags"] as? [String: Any])
        // exiftool 12.57: IFD0:Make "EASTMAN KODAK COMPANY", Composite:GPSLatitude -0.3713... (southern).
        #expect(tags["IFD0:Make"] as? String == "EASTMAN KODAK COMPANY")
        let gps = try #require(array[0]["gps"] as? [String: Any])
        #expect(((gps["lat"] as? NSNumber)?.doubleValue ?? 0) < 0)
        #expect(array[0]["error"] is NSNull)
    }

    @Test("a damaged file among good ones is reported per file and the exit status stays 0")
    func mixedFiles() throws {
        let result = try CLI.run([
            "exif", "--json", ExifCLIFixtures.path("es_Canon_40D.jpg"), ExifCLIFixtures.path("px_notjpeg.jpg"),
        ])
        #expect(result.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[1]["error"] as? String != nil)
        #expect(result.stderr.contains("px_notjpeg.jpg"))
    }

    @Test("600 files in one call: one object per file in argument order, --json after the files too")
    func manyFiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: ExifCLIFixtures.images.path).sorted()
        let list = (0..<600).map { ExifCLIFixtures.path(names[($0 * 7) % names.count]) }
        let result = try CLI.run(["exif"] + list + ["--json"])
        #expect(result.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["file"] as? String ?? "" } == list)
        // Each damaged file's message is on stderr once per time it was named.
        let damaged = array.filter { !($0["error"] is NSNull) }.count
        #expect(damaged > 0 && result.stderr.split(separator: "\n").count == damaged)
        // A file name after `--` goes through the full parser and reads the same.
        let one = try CLI.run(["exif", "--json", "--", list[0]])
        let single = try #require(try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [[String: Any]])
        #expect(single.first?["file"] as? String == list[0])
        #expect((single.first?["tags"] as? [String: Any])?.count == (array[0]["tags"] as? [String: Any])?.count)
    }

    @Test("exit status 1 when no file could be read at all")
    func nothingReadable() throws {
        let result = try CLI.run(["exif", "/nonexistent/a.jpg", ExifCLIFixtures.path("px_notjpeg.jpg")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("a.jpg"))
    }

    @Test("a FIFO (and a directory) is refused at once as not a regular file, with or without --json")
    func fifoRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ps-exif-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("pipe.jpg").path
        try #require(mkfifo(fifo, 0o600) == 0)
        // Opening a FIFO for reading used to wait for a writer forever: run with a deadline.
        for arguments in [
            ["exif", fifo, ExifCLIFixtures.path("px_notjpeg.jpg")], ["exif", "--json", fifo, directory.path],
        ] {
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            let started = Date()
            try process.run()
            while process.isRunning, Date().timeIntervalSince(started) < 10 { usleep(10_000) }
            let hung = process.isRunning
            if hung { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            #expect(!hung, "photoseal \(arguments.joined(separator: " ")) still running after 10 s")
            #expect(process.terminationStatus == 1)
        }
        let result = try CLI.run(["exif", fifo])
        #expect(result.status == 1 && result.stderr.contains("not a regular file"), "\(result.stderr)")
    }

    @Test("a FIFO and a device among good files: an error for each at once, the good file still read, exit 0")
    func fifoAndDeviceAmongGoodFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ps-exif-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("pipe.jpg").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let result = try CLI.run(["exif", "--json", fifo, "/dev/zero", ExifCLIFixtures.path("es_Canon_40D.jpg")])
        #expect(result.status == 0, "\(result.stderr)")
        let reports = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(reports.count == 3)
        #expect(reports.prefix(2).allSatisfy { ($0["error"] as? String)?.contains("not a regular file") == true })
        #expect((reports.last?["tags"] as? [String: Any])?["IFD0:Model"] as? String == "Canon EOS 40D")
    }

    @Test("without --json a readable table with group:tag names is printed")
    func table() throws {
        let result = try CLI.run(["exif", ExifCLIFixtures.path("es_Canon_40D.jpg")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("IFD0:Model"))
        #expect(result.stdout.contains("Canon EOS 40D"))
    }

    @Test("no FILE is a usage error, not a finding")
    func usage() throws {
        let result = try CLI.run(["exif"])
        // ArgumentParser's ValidationError exit status (64 unless the root maps it to 2).
        #expect(result.status != 0 && result.status != 1)
        #expect(result.stderr.contains("files"))
    }

    @Test("exif never loads the MongoDB or PostgreSQL client libraries (they load on first use)")
    func storeLibrariesNotLoaded() throws {
        // The dynamic loader lists every object it maps when LD_DEBUG=files.
        var environment = ProcessInfo.processInfo.environment
        environment["LD_DEBUG"] = "files"
        let result = try CLI.run(
            ["exif", "--json", ExifCLIFixtures.path("es_Canon_40D.jpg")], environment: environment)
        #expect(result.status == 0)
        #expect(result.stdout.contains("\"IFD0:Make\":\"Canon\""))
        let loaded = result.stderr.split(separator: "\n").filter { $0.contains("file=") && $0.contains("[0];") }
        #expect(loaded.contains { $0.contains("libc.so") })  // the listing is there at all
        // (libcurl may load in a debug build, as a dependency of the shared FoundationNetworking.)
        for library in ["libmongoc", "libbson", "libpq", "libmongocrypt", "libsnappy"] {
            #expect(!loaded.contains { $0.contains(library) }, "\(library) was loaded")
        }
    }
}
