import Foundation
import TestSupport
import Testing

/// The README and the pages under docs/, read from the repository.
private enum Docs {
    static var readme: URL { repositoryRoot.appendingPathComponent("README.md") }

    /// README.md and every docs/*.md.
    static func pages() throws -> [URL] {
        let docs = repositoryRoot.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }
        return [readme] + names.sorted().map { docs.appendingPathComponent($0) }
    }

    /// The ```sh blocks the line before marks `<!-- offline -->`, each with its first line number.
    static func offlineBlocks(_ text: String) -> [(line: Int, script: String)] {
        let lines = text.components(separatedBy: "\n")
        var blocks: [(Int, String)] = []
        var index = 0
        while index < lines.count {
            defer { index += 1 }
            guard lines[index].trimmingCharacters(in: .whitespaces) == "<!-- offline -->",
                index + 1 < lines.count, lines[index + 1].hasPrefix("```sh")
            else { continue }
            let body = lines[(index + 2)...].prefix { !$0.hasPrefix("```") }
            blocks.append((index + 3, body.joined(separator: "\n")))
            index += 1 + body.count
        }
        return blocks
    }

    /// The text outside fenced code blocks (links in examples are not links).
    static func prose(_ text: String) -> String {
        var inFence = false
        var kept: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inFence.toggle()
                continue
            }
            if !inFence { kept.append(line) }
        }
        return kept.joined(separator: "\n")
    }

    /// The targets of the page's inline links and images, `[text](target)`.
    static func linkTargets(_ text: String) -> [String] {
        let pattern = try! NSRegularExpression(pattern: #"\]\(([^)\s]+)\)"#)
        let prose = prose(text)
        let range = NSRange(prose.startIndex..., in: prose)
        return pattern.matches(in: prose, range: range).compactMap { match in
            Range(match.range(at: 1), in: prose).map { String(prose[$0]) }
        }
    }

    /// The anchors GitHub gives a page's headings: lowercased, punctuation dropped, spaces as
    /// hyphens, a repeated heading numbered.
    static func anchors(_ text: String) -> Set<String> {
        var seen: [String: Int] = [:]
        var anchors = Set<String>()
        for line in prose(text).split(separator: "\n") where line.hasPrefix("#") {
            let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces)
            var slug = ""
            for character in title.lowercased() {
                if character.isLetter || character.isNumber || character == "-" || character == "_" {
                    slug.append(character)
                } else if character == " " {
                    slug.append("-")
                }
            }
            let count = seen[slug, default: 0]
            seen[slug] = count + 1
            anchors.insert(count == 0 ? slug : "\(slug)-\(count)")
        }
        return anchors
    }
}

/// Runs `bash -eo pipefail` on a script in `folder` with the built photoseal first on PATH,
/// no secrets in the environment and every proxy variable pointing at a closed port (so a
/// command that reached for the network would fail).
private func runShell(_ script: String, in folder: URL) throws -> CLI.Result {
    var environment = ProcessInfo.processInfo.environment
    for name in [
        "PHOTOSEAL_KEYS", "MONGODB_URI", "FLICKR_API_KEY", "GOOGLE_VISION_API_KEY", "SEAL_KEYS", "INDEX_KEY",
        "NO_PROXY", "no_proxy",
    ] {
        environment[name] = nil
    }
    for name in ["http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"] {
        environment[name] = "http://127.0.0.1:9"
    }
    environment["PATH"] = CLI.productsDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    environment["HOME"] = folder.path
    let file = folder.appendingPathComponent(".example-\(UUID().uuidString).sh")
    try Data(script.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-eo", "pipefail", file.path]
    process.environment = environment
    process.currentDirectoryURL = folder
    let out = folder.appendingPathComponent(".example-out"), err = folder.appendingPathComponent(".example-err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
    defer {
        try? outHandle.close()
        try? errHandle.close()
    }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = outHandle
    process.standardError = errHandle
    try process.run()
    process.waitUntilExit()
    return CLI.Result(
        status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
        stderr: try String(contentsOf: err, encoding: .utf8))
}

@Suite("the README's examples and the links in README and docs")
struct ReadmeExamplesCLITests {
    @Test("every README example marked offline runs as printed, in order, in a fresh folder with samples/")
    func offlineExamplesRun() throws {
        let text = try String(contentsOf: Docs.readme, encoding: .utf8)
        let blocks = Docs.offlineBlocks(text)
        try #require(!blocks.isEmpty, "README.md marks no ```sh block with <!-- offline -->")
        let scratch = try Scratch()
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("samples"), to: scratch.url.appendingPathComponent("samples"))
        for block in blocks {
            let result = try runShell(block.script, in: scratch.url)
            #expect(
                result.status == 0,
                "README.md line \(block.line): the example exited \(result.status):\n\(block.script)\nstderr: \(result.stderr.suffix(2000))"
            )
            guard result.status == 0 else { return }
        }
        // What the walk-through says comes out: the CSV, read without photoseal, has a row per
        // sample photo whose image.path names a file in the workdir, and a place.
        let samples = try FileManager.default.contentsOfDirectory(atPath: scratch.path("samples"))
            .filter { $0.hasSuffix(".jpg") }
        let (status, output) = try runPython(
            """
            import csv, os, sys
            rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
            print(len(rows), sum(1 for r in rows if r["image.path"] and os.path.isfile(os.path.join(sys.argv[2], r["image.path"]))), sum(1 for r in rows if r["place.country"]))
            """, [scratch.path("photos.csv"), scratch.path("photoseal-work")])
        try #require(status == 0, "\(output)")
        let counts = output.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        #expect(counts == [samples.count, samples.count, samples.count], "rows, image files, places: \(output)")
    }

    @Test("the README gives the two set-up commands and .ci/run runs exactly its test command")
    func setUpCommands() throws {
        let text = try String(contentsOf: Docs.readme, encoding: .utf8)
        let lines = text.components(separatedBy: "\n")
        let heading = try #require(lines.firstIndex { $0.hasPrefix("## Two commands") })
        let fence = try #require(lines[heading...].firstIndex { $0.hasPrefix("```sh") })
        let commands = lines[(fence + 1)...].prefix { !$0.hasPrefix("```") }.map {
            String($0.split(separator: "#", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces)
        }
        try #require(commands.count == 2, "\(commands)")
        for command in commands {
            let script = command.split(separator: " ").first.map(String.init) ?? ""
            #expect(
                FileManager.default.isExecutableFile(atPath: repositoryRoot.appendingPathComponent(script).path),
                "\(script) is not an executable file")
        }
        let ci = try String(contentsOf: repositoryRoot.appendingPathComponent(".ci/run"), encoding: .utf8)
        let runs = ci.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { $0.hasPrefix("exec ") ? String($0.dropFirst(5)) : $0 }
        #expect(runs.contains(commands[1]), ".ci/run does not run `\(commands[1])`: \(runs)")
    }

    @Test("every relative link in README and docs/*.md names a file that exists, and an anchor that it has")
    func linksResolve() throws {
        var broken: [String] = []
        var checked = 0
        for page in try Docs.pages() {
            let text = try String(contentsOf: page, encoding: .utf8)
            let name = page.path.dropFirst(repositoryRoot.path.count + 1)
            if text.contains("DESIGN.md") { broken.append("\(name) cites DESIGN.md, which is not in the repository") }
            for target in Docs.linkTargets(text) {
                if target.contains("://") || target.hasPrefix("mailto:") { continue }
                checked += 1
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                let path = String(parts[0])
                let file = path.isEmpty ? page : page.deletingLastPathComponent().appendingPathComponent(path)
                guard FileManager.default.fileExists(atPath: file.path) else {
                    broken.append("\(name): \(target) (no such file)")
                    continue
                }
                if parts.count == 2, file.pathExtension == "md" {
                    let anchors = Docs.anchors(try String(contentsOf: file, encoding: .utf8))
                    if !anchors.contains(String(parts[1])) { broken.append("\(name): \(target) (no such heading)") }
                }
            }
        }
        #expect(checked > 20, "only \(checked) relative links found")
        #expect(broken.isEmpty, "\(broken.joined(separator: "\n"))")
    }
}
