import Foundation
import TestSupport
import Testing

/// The subcommand names listed in a help text's `... SUBCOMMANDS:` sections.
private func subcommands(inHelp help: String) -> [String] {
    var names: [String] = []
    var inSection = false
    for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasSuffix("SUBCOMMANDS:") {
            inSection = true
            continue
        }
        guard inSection else { continue }
        if line.isEmpty {
            inSection = false
            continue
        }
        // An entry starts two spaces in; its wrapped abstract continues much further in.
        let entry = line.dropFirst(2)
        guard let first = entry.first, first != " " else { continue }
        let name = entry.prefix { !$0.isWhitespace }
        if name.allSatisfy({ $0.isLowercase || $0 == "-" }) { names.append(String(name)) }
    }
    return names
}

/// Every command path under `photoseal`, found through `photoseal help`, depth first.
private func commandPaths(_ prefix: [String] = []) throws -> [[String]] {
    let help = try CLI.run(prefix.isEmpty ? ["--help"] : ["help"] + prefix)
    var paths: [[String]] = []
    for name in subcommands(inHelp: help.stdout) where name != "help" {
        let path = prefix + [name]
        paths.append(path)
        paths += try commandPaths(path)
    }
    return paths
}

@Suite("help texts and shell completions", .tags(.integration))
struct CompletionHelpCLITests {
    @Test("every command's help has an Example(s) section with a `photoseal <command>` line")
    func everyHelpHasAnExample() throws {
        let paths = try commandPaths()
        // The command groups the README lists, and their subcommands, are all found.
        for expected in [["run"], ["search"], ["import"], ["audit"], ["keys", "retire"], ["token", "decrypt"]] {
            #expect(paths.contains(expected), "\(expected) not found in \(paths)")
        }
        for path in [[]] + paths {
            let help = try CLI.run(path.isEmpty ? ["--help"] : ["help"] + path).stdout
            let lines = help.split(separator: "\n").map(String.init)
            guard let start = lines.firstIndex(where: { $0 == "Example:" || $0 == "Examples:" }) else {
                Issue.record("`photoseal help \(path.joined(separator: " "))` has no Example(s) section")
                continue
            }
            let examples = lines[(start + 1)...].prefix { $0.hasPrefix("  ") }
            let command = (["photoseal"] + path).joined(separator: " ")
            #expect(
                examples.contains { $0.contains(command + " ") || $0.hasSuffix(command) },
                "`photoseal help \(path.joined(separator: " "))` has no example line running \(command)")
        }
    }

    @Test(
        "the shipped completion scripts are what the built binary generates now",
        arguments: [("bash", "photoseal.bash"), ("zsh", "_photoseal"), ("fish", "photoseal.fish")])
    func completionsAreCurrent(shell: String, file: String) throws {
        let generated = try CLI.run(["--generate-completion-script", shell])
        #expect(generated.status == 0)
        #expect(generated.stdout.contains("run") && generated.stdout.contains("encrypt-load"))
        let shipped = try String(
            contentsOf: repositoryRoot.appendingPathComponent("completions/\(file)"), encoding: .utf8)
        #expect(
            shipped == generated.stdout,
            "completions/\(file) is stale: run scripts/gen-completions.sh and commit the result")
    }

    @Test("--flickr-endpoint and --vision-endpoint appear only in the help of the commands that call those services")
    func endpointsOnlyWhereUsed() throws {
        for path in try commandPaths() {
            let help = try CLI.run(["help"] + path).stdout
            let name = path.joined(separator: " ")
            // deliver and serve (--worker) run the request form's jobs, which search and score.
            #expect(
                help.contains("--flickr-endpoint") == ["search", "run", "plan", "deliver", "serve"].contains(name),
                "\(name)")
            #expect(
                help.contains("--vision-endpoint") == ["score", "run", "deliver", "serve"].contains(name), "\(name)")
        }
    }

    @Test(
        "bash completion offers files and folders where a path goes, folders for --workdir, and the values of set-valued options",
        arguments: [
            ("photoseal exif a", ["adir/", "afile.txt"]),
            ("photoseal import a", ["adir/", "afile.txt"]),
            ("photoseal run a", ["adir/", "afile.txt"]),
            ("photoseal audit --keys a", ["adir/", "afile.txt"]),
            ("photoseal search --terms-file a", ["adir/", "afile.txt"]),
            ("photoseal score --labels-file a", ["adir/", "afile.txt"]),
            ("photoseal keys generate --out a", ["adir/", "afile.txt"]),
            ("photoseal status --workdir a", ["adir/"]),
            ("photoseal run --workdir a", ["adir/"]),
            ("photoseal export --format ", ["csv", "geojson", "jsonl", "parquet"]),
            ("photoseal download --store-images s", ["sealed", "stripped"]),
            ("photoseal run --store-images ", ["plain", "sealed", "stripped"]),
        ])
    func bashCompletes(line: String, expected: [String]) throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path("adir"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: scratch.path("afile.txt"), contents: Data())
        _ = FileManager.default.createFile(atPath: scratch.path("other.txt"), contents: Data())
        // What bash does on Tab: the words so far, the cursor at the end, then the function
        // `complete -F` names, called with the command, the current and the previous word; a
        // folder gets the "/" that `-o filenames` adds.
        let script = """
            cd "$1"
            source "$2"
            COMP_LINE="$3"; COMP_POINT=${#COMP_LINE}
            read -ra COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
            _photoseal photoseal "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
            for word in "${COMPREPLY[@]}"; do [[ -d "$word" ]] && echo "$word/" || echo "$word"; done | sort
            """
        let completions = repositoryRoot.appendingPathComponent("completions/photoseal.bash").path
        let (status, output) = try runProgram(["bash", "-c", script, "bash", scratch.url.path, completions, line])
        #expect(status == 0)
        let offered = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(offered == expected, "`\(line)<Tab>` offers \(offered)")
    }
}
