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
        for path in paths {
            let help = try CLI.run(["help"] + path).stdout
            let lines = help.split(separator: "\n").map(String.init)
            guard let start = lines.firstIndex(where: { $0 == "Example:" || $0 == "Examples:" }) else {
                Issue.record("`photoseal help \(path.joined(separator: " "))` has no Example(s) section")
                continue
            }
            let examples = lines[(start + 1)...].prefix { $0.hasPrefix("  ") }
            let command = "photoseal " + path.joined(separator: " ")
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
}
