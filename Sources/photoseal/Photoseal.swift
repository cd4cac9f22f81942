import ArgumentParser
import Foundation
import Ingest

/// The `photoseal` command: parses arguments and hands the work to the library targets.
@main
struct Photoseal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "photoseal",
        abstract: "Collect photos, read their EXIF, geocode them offline, and seal personal fields.",
        discussion: """
            Every command works in a workdir (--workdir, default ./photoseal-work) that holds one \
            job: its ledger, images, store, job file and the ids of the keys that sealed it. Keys \
            come from a secrets file (--keys, else $PHOTOSEAL_KEYS, else ./keys.env). Each \
            command's --help has examples; the README walks through one job.

            Examples:
              photoseal keys generate --out keys.env
              photoseal run samples                       (import, extract, seal and load a folder)
              photoseal run --term monkey --bbox 5,35,20,48 --label monkey --dry-run
              photoseal export --format csv > photos.csv
            """,
        version: IngestModule.version,
        groupedSubcommands: [
            CommandGroup(
                name: "Pipeline",
                subcommands: [
                    RunCommand.self, PlanCommand.self, SearchCommand.self, ImportCommand.self, DownloadCommand.self,
                    ExtractCommand.self,
                    ScoreCommand.self, StatusCommand.self, ExportCommand.self, ServeCommand.self, PackCommand.self,
                    DeliverCommand.self,
                ]),
            CommandGroup(name: "Enrichment", subcommands: [ExifCommand.self, GeocodeCommand.self]),
            CommandGroup(name: "Keys and tokens", subcommands: [KeysCommand.self, TokenCommand.self]),
            CommandGroup(
                name: "Store", subcommands: [EncryptLoadCommand.self, RotateKeysCommand.self, AuditCommand.self]),
        ]
    )

    /// Runs the command line; `exif` over plain file names skips ArgumentParser (see
    /// ``ExifCommand/runDirect(_:)``). Core dumps are off for every command that may hold keys.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let status = ExifCommand.runDirect(arguments) { Foundation.exit(status) }
        // Every other command may load keys and open sealed fields: nothing of that may reach a
        // core file or a same-user debugger.
        ProcessProtection.disableCoreDumps()
        MongoSharedMemory.removeStaleCounters()
        if let error = UsageChecks.parseErrorHiddenByValidation(arguments) { exit(withError: error) }
        await main(nil)
    }
}
