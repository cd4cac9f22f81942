import ArgumentParser
import Foundation
import Ingest

/// The `photoseal` command: parses arguments and hands the work to the library targets.
@main
struct Photoseal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "photoseal",
        abstract: "Collect photos, read their EXIF, geocode them offline, and seal personal fields.",
        version: IngestModule.version,
        groupedSubcommands: [
            CommandGroup(
                name: "Pipeline",
                subcommands: [
                    RunCommand.self, SearchCommand.self, ImportCommand.self, DownloadCommand.self, ExtractCommand.self,
                    ScoreCommand.self, StatusCommand.self, ExportCommand.self, ServeCommand.self,
                ]),
            CommandGroup(name: "Enrichment", subcommands: [ExifCommand.self, GeocodeCommand.self]),
            CommandGroup(name: "Keys and tokens", subcommands: [KeysCommand.self, TokenCommand.self]),
            CommandGroup(
                name: "Store", subcommands: [EncryptLoadCommand.self, RotateKeysCommand.self, AuditCommand.self]),
        ]
    )

    /// Runs the command line; `exif` over plain file names skips ArgumentParser (see
    /// ``ExifCommand/runDirect(_:)``).
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let status = ExifCommand.runDirect(arguments) { Foundation.exit(status) }
        if let error = UsageChecks.parseErrorHiddenByValidation(arguments) { exit(withError: error) }
        await main(nil)
    }
}
