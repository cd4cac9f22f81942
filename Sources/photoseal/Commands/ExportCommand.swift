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
            "path_alias"} opened with the secrets file's keys (and a warning on stderr).
            Only --format jsonl exists so far.

            Examples:
              photoseal export --format jsonl > photos.jsonl
              photoseal export --format jsonl --decrypt --keys keys.env | head
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The output format (jsonl).", valueName: "format"))
    var format: String = "jsonl"

    @Flag(help: "Open the sealed fields (prints personal data).")
    var decrypt = false

    func validate() throws {
        guard format == "jsonl" else {
            throw ValidationError("--format \(format) is not supported yet; use --format jsonl")
        }
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
            try ledger.forEachDocument { entry in
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
