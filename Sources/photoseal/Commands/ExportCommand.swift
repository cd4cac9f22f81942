import ArgumentParser
import Crypto
import Foundation
import Ingest

/// `photoseal export`: the ledger's documents on stdout.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print every document in the ledger, one JSON object a line.",
        discussion: """
            Documents appear as they would be stored: personal fields as Fernet tokens under
            "sealed". With --decrypt each line also has "decrypted": {"owner", "owner_name",
            "path_alias", "exif"} opened with the secrets file's keys (and a warning on stderr).
            Only --format jsonl exists so far. --min-score label=S (repeatable) keeps only
            documents whose scores.<label> is at least S for every such filter; a label the
            vision model did not return for a photo fails the filter.

            Examples:
              photoseal export --format jsonl > photos.jsonl
              photoseal export --format jsonl --decrypt --keys keys.env | head
              photoseal export --min-score monkey=0.6 --min-score cage=0.5 > caged-monkeys.jsonl
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The output format (jsonl).", valueName: "format"))
    var format: String = "jsonl"

    @Flag(help: "Open the sealed fields (prints personal data).")
    var decrypt = false

    @Option(
        name: .customLong("min-score"),
        help: ArgumentHelp(
            "Keep documents whose scores.<label> is at least S (repeatable; all must hold).",
            valueName: "label=S"))
    var minScores: [String] = []

    /// The parsed --min-score filters (label normalised as the score stage stores it).
    func scoreFilters() throws -> [(label: String, min: Double)] {
        try minScores.map { text in
            guard let eq = text.lastIndex(of: "=") else {
                throw ValidationError("--min-score \(text) is not label=score, e.g. --min-score monkey=0.6")
            }
            let label = text[..<eq].lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
            guard !label.isEmpty, let value = Double(text[text.index(after: eq)...]), value.isFinite,
                (0...1).contains(value)
            else {
                throw ValidationError("--min-score \(text) needs a label and a score between 0 and 1, e.g. monkey=0.6")
            }
            return (label, value)
        }
    }

    func validate() throws {
        guard format == "jsonl" else {
            throw ValidationError("--format \(format) is not supported yet; use --format jsonl")
        }
        _ = try scoreFilters()
    }

    func run() async throws {
        try await reportingErrors {
            guard Ledger.exists(in: global.workdir) else {
                throw IngestError(
                    .ledger, "no ledger in \(global.workdir); run `photoseal search` first or check --workdir")
            }
            let ledger = try Ledger(directory: global.workdir, logger: global.logger())
            let sealer = try decrypt ? FieldSealer(keyring: global.secrets.load().keyring()) : nil
            if decrypt {
                printError("export --decrypt: the output holds personal fields in plaintext; keep it private")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var out = OutputBuffer()
            var count = 0
            let filters = try scoreFilters()
            try ledger.forEachDocument { entry in
                let scores = entry.document.scores ?? [:]
                guard filters.allSatisfy({ (scores[$0.label] ?? -1) >= $0.min }) else { return }
                var line = String(decoding: try encoder.encode(entry.document), as: UTF8.self)
                if let sealer {
                    let opened = try DocumentOpener.open(entry.document, sealer: sealer)
                    let extra = String(decoding: try encoder.encode(opened), as: UTF8.self)
                    line.removeLast()
                    line += ",\"decrypted\":\(extra)}"
                }
                out.write(line + "\n")
                count += 1
            }
            out.flush()
            printError("export: \(count) documents")
        }
    }
}
