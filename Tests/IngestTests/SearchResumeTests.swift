import Foundation
import Logging
import Testing

@testable import Ingest

/// The `photoseal` binary killed mid-search and run again.
@Suite("search resume after a kill", .serialized, .tags(.slow))
struct SearchResumeTests {
    /// The built `photoseal` executable (beside the test bundle).
    static var binary: URL {
        var candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        candidates.append(Bundle.module.bundleURL.deletingLastPathComponent())
        for dir in candidates
        where FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("photoseal").path) {
            return dir.appendingPathComponent("photoseal")
        }
        return Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("photoseal")
    }

    static func start(_ arguments: [String], logTo file: URL) throws -> Process {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let handle = try FileHandle(forWritingTo: file)
        handle.seekToEndOfFile()
        process.standardError = handle
        process.standardOutput = handle
        try process.run()
        return process
    }

    @Test("killed at random moments and re-run: the same complete ledger, and no finished page fetched again")
    func killAndResume() async throws {
        let server = try FlickrTestServer(["--photos", "12000", "--per-second", "1000", "--fail-fraction", "0.05"])
        defer { server.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = dir.appendingPathComponent("keys.env")
        let output = dir.appendingPathComponent("output.txt")
        let generate = try Self.start(["keys", "generate", "--out", keys.path], logTo: output)
        generate.waitUntilExit()
        #expect(generate.terminationStatus == 0)
        let workdir = dir.appendingPathComponent("work")
        var arguments = [
            "search", "--keys", keys.path, "--workdir", workdir.path, "--flickr-endpoint", server.endpoint,
            "--api-key", FlickrTestServer.apiKey, "--bbox", FlickrTestServer.bbox, "--rate-per-hour", "36000",
            "--retry-base-delay", "0.05",
        ]
        for term in FlickrTestServer.terms { arguments += ["--term", term] }

        var finishedBeforeKill: Set<String> = []
        var kills = 0
        for _ in 0..<2 {
            let before = try server.log().count
            let process = try Self.start(arguments, logTo: output)
            // Kill after a random number of calls reached the server, not after a random time:
            // on a loaded machine a timed kill can land before the first call or after the last.
            // The watching runs on a thread of its own: with the whole suite running, a task
            // waiting on the cooperative pool can wake too late to kill anything.
            let target = before + Int.random(in: 2...12)
            let killed = await Self.kill(process, once: server, hasSeen: target)
            guard killed else { break }
            kills += 1
            // No page that was finished before this run is asked for again in it.
            let asked = Set(try server.log()[before...].filter { $0.outcome == "ok" }.map(\.pageKey))
            #expect(asked.isDisjoint(with: finishedBeforeKill))
            finishedBeforeKill = try await Self.finishedPages(workdir)
        }
        #expect(
            kills >= 1,
            "the search ended before the first kill; the test proved nothing. Output: \(String(decoding: (try? Data(contentsOf: output)) ?? Data(), as: UTF8.self).suffix(1500))"
        )

        let before = try server.log().count
        let last = try Self.start(arguments, logTo: output)
        last.waitUntilExit()
        let text = String(decoding: try Data(contentsOf: output), as: UTF8.self)
        #expect(last.terminationStatus == 0, "\(text.suffix(2000))")
        #expect(!text.contains(FlickrTestServer.apiKey))
        let asked = try server.log()[before...].filter { $0.outcome == "ok" }.map(\.pageKey)
        #expect(Set(asked).isDisjoint(with: finishedBeforeKill))

        let ledger = try Ledger(directory: workdir.path, logger: Logger(label: "test"))
        #expect(try SearchStageTests.recorded(ledger) == server.truth().photos)
        #expect(try await !ledger.status().searchUnfinished)
    }

    /// Kills `process` (SIGKILL) once the server has logged `count` calls, polling from a
    /// dedicated thread; returns whether it was killed (false: it ended first).
    static func kill(_ process: Process, once server: FlickrTestServer, hasSeen count: Int) async -> Bool {
        await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            Thread {
                var killed = false
                while process.isRunning {
                    if let seen = try? server.log().count, seen >= count {
                        Foundation.kill(process.processIdentifier, SIGKILL)
                        killed = true
                        break
                    }
                    usleep(10_000)
                }
                process.waitUntilExit()
                done.resume(returning: killed)
            }.start()
        }
    }

    /// Pages the ledger records as finished, in the server log's key form.
    static func finishedPages(_ workdir: URL) async throws -> Set<String> {
        let ledger = try Ledger(directory: workdir.path, logger: Logger(label: "test"))
        return Set(
            try await ledger.donePages().map {
                [
                    $0.text ?? "", $0.bbox ?? "", FlickrClient.mysqlDate($0.minTaken),
                    FlickrClient.mysqlDate($0.maxTaken),
                    String($0.page),
                ].joined(separator: "|")
            })
    }
}
