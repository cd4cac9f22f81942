import Foundation
import TestSupport
import Testing

/// A tmux server of its own (its own socket), for a command run in a real pseudo-terminal.
private struct Tmux {
    let socket = "photoseal-test-\(UUID().uuidString.prefix(8))"

    /// Runs tmux with `arguments` on this server; its standard output.
    ///
    /// Through posix_spawn and waitpid, with the output in a file: Foundation's `Process` never
    /// sees the exit of a tmux client whose server (its child, daemonized) lives on.
    @discardableResult
    func callAsFunction(_ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let line =
            (["tmux", "-L", socket, "-f", "/dev/null"] + arguments).map(shellQuoted).joined(separator: " ")
            + " > " + shellQuoted(output.path) + " 2>/dev/null < /dev/null"
        let words: [String] = ["/bin/sh", "-c", line]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { throw TmuxError("cannot run tmux") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }

    func kill() { _ = try? self(["kill-server"]) }
}

/// Single-quoted for sh.
private func shellQuoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// Runs `photoseal arguments` in a tmux pane of `columns` × 24 and waits for it to end.
/// - Returns: the exit status, the pane as joined lines (`capture-pane -J`: a line the
///   terminal wrapped comes back as one long line), and the raw bytes written to the pane.
private func runInTmux(_ arguments: [String], columns: Int, scratch: RunScratch) throws
    -> (status: Int32, joined: [String], plain: [String], raw: String)
{
    let tmux = Tmux()
    defer { tmux.kill() }
    let statusFile = scratch.dir.appendingPathComponent("status-\(columns)").path
    let rawFile = scratch.dir.appendingPathComponent("raw-\(columns)").path
    let command =
        ([CLI.executable.path] + arguments).map(shellQuoted).joined(separator: " ")
        + "; echo $? > \(shellQuoted(statusFile)); sleep 600"
    try tmux([
        "new-session", "-d", "-x", "\(columns)", "-y", "24", "-s", "t", "sh -c " + shellQuoted("sleep 0.3; " + command),
    ])
    try tmux(["set-option", "-g", "history-limit", "5000"])
    try tmux(["pipe-pane", "-t", "t", "-o", "cat > " + shellQuoted(rawFile)])
    let deadline = Date().addingTimeInterval(300)
    while !FileManager.default.fileExists(atPath: statusFile)
        || (try? String(contentsOfFile: statusFile, encoding: .utf8)) == ""
    {
        guard Date() < deadline else { throw TmuxError("the run in tmux did not end in 300 s") }
        Thread.sleep(forTimeInterval: 0.2)
    }
    Thread.sleep(forTimeInterval: 0.3)
    let status =
        Int32((try String(contentsOfFile: statusFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines))
        ?? -1
    let joined = try tmux(["capture-pane", "-p", "-J", "-S", "-", "-t", "t"])
    let plain = try tmux(["capture-pane", "-p", "-t", "t"])
    let raw = (try? String(contentsOfFile: rawFile, encoding: .utf8)) ?? ""
    func lines(_ text: String) -> [String] {
        var lines = text.components(separatedBy: "\n")
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        return lines
    }
    return (status, lines(joined), lines(plain), raw)
}

struct TmuxError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The lines the display drew: what comes after each carriage return, up to the clear to the
/// end of the line (the raw bytes written to the pane).
private func drawnLines(_ raw: String) -> [String] {
    raw.components(separatedBy: "\r").compactMap { piece in
        guard let end = piece.range(of: "\u{1B}[K") else { return nil }
        let line = String(piece[..<end.lowerBound])
        return line.isEmpty ? nil : line
    }
}

@Suite("The progress display of a run", .serialized, .tags(.integration))
struct ProgressCLITests {
    @Test(
        "In tmux at 80 and 200 columns the display redraws one line that fits, never wraps, and a summary ends the run",
        arguments: [80, 200])
    func tmuxPane(columns: Int) async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let arguments = [
            "run", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken",
            "1277942399", "--label", "animal", "--workdir", scratch.work, "--keys", scratch.keys,
            "--flickr-endpoint", servers.flickr.endpoint, "--vision-endpoint", servers.vision.endpoint,
            "--rate-per-hour", "36000", "--concurrency", "4",
        ]
        let pane = try await offPool { try runInTmux(arguments, columns: columns, scratch: scratch) }
        let screen = pane.joined.joined(separator: "\n")
        #expect(pane.status == 0, "\(screen)")
        // Joined, a line the terminal wrapped is longer than the pane: none is.
        for line in pane.joined { #expect(line.count <= columns, "wrapped: \(line)") }
        for line in pane.plain { #expect(line.count <= columns) }
        // The display was drawn, fitted to the pane (one column spare), and is gone at the end.
        let drawn = drawnLines(pane.raw)
        #expect(drawn.contains { $0.contains("run ") && $0.contains("%") }, "\(pane.raw.prefix(2000))")
        for line in drawn { #expect(line.unicodeScalars.count < columns, "\(line)") }
        #expect(!pane.joined.contains { $0.contains("ETA") })
        // The summary: one readable line (wrapped by photoseal, not the terminal) per stage.
        let unavailable = servers.truth.all.count - servers.truth.available.count
        for part in [
            "photoseal: search:", "photoseal: download:", "photoseal: extract:", "photoseal: score:",
            "photoseal: encrypt-load: \(servers.truth.available.count) loaded",
        ] {
            #expect(screen.contains(part), "\(part) in \(screen)")
        }
        #expect(screen.replacingOccurrences(of: "\n  ", with: " ").contains("\(unavailable) unavailable"))
    }

    @Test("--progress plain writes a line every interval to a stderr that is not a terminal; by default none")
    func plainAndDefault() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch, imageDelay: 0.01)
        defer { servers.stop() }
        @Sendable func arguments(_ work: String) -> [String] {
            [
                "run", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken",
                "1277942399", "--workdir", work, "--keys", scratch.keys, "--flickr-endpoint",
                servers.flickr.endpoint, "--rate-per-hour", "36000", "--concurrency", "2",
            ]
        }
        let plain = try await offPool {
            try CLI.run(arguments(scratch.work + "-plain") + ["--progress", "plain", "--progress-interval", "0.2"])
        }
        let lines = plain.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("photoseal: run ") }
        #expect(lines.count >= 3, "\(plain.stderr)")
        #expect(lines.allSatisfy { $0.contains("download ") && $0.contains("load ") }, "\(lines)")
        #expect(!plain.stderr.contains("\r") && !plain.stderr.contains("\u{1B}"))
        // The last line has every photo the search found through download.
        #expect(
            lines.last?.contains("download \(servers.truth.all.count)/\(servers.truth.all.count)") == true,
            "\(lines)")

        let quiet = try await offPool { try CLI.run(arguments(scratch.work)) }
        #expect(quiet.status == plain.status, "\(quiet.stderr)")
        #expect(!quiet.stderr.contains("photoseal: run ") && !quiet.stderr.contains("\r"), "\(quiet.stderr)")
        #expect(quiet.stderr.contains("photoseal: encrypt-load: \(servers.truth.available.count) loaded"))
    }

    @Test("score alone shows its progress: images and photos done of those planned")
    func scoreAlone() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let common = ["--workdir", scratch.work, "--keys", scratch.keys]
        let search = try await offPool {
            try CLI.run(
                [
                    "search", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken",
                    "1277942399", "--flickr-endpoint", servers.flickr.endpoint, "--rate-per-hour", "36000",
                ] + common)
        }
        #expect(search.status == 0, "\(search.stderr)")
        _ = try await offPool { try CLI.run(["download"] + common) }
        let score = try await offPool {
            try CLI.run(
                [
                    "score", "--label", "animal", "--vision-endpoint", servers.vision.endpoint, "--progress", "plain",
                    "--progress-interval", "0.1", "--concurrency", "1",
                ] + common)
        }
        #expect(score.status == 0, "\(score.stderr)")
        let lines = score.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("photoseal: score ") }
        let available = servers.truth.available.count
        #expect(!lines.isEmpty, "\(score.stderr)")
        #expect(
            lines.last?.contains("images \(available)/\(available) 100%") == true
                && lines.last?.contains("photos \(available)/\(available) 100%") == true, "\(lines)")
    }
}
