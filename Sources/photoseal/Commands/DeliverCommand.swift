import ArgumentParser
import Foundation
import HTTP
import Ingest

/// `photoseal deliver --due`: sends the delivery requests whose time has come.
struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Send the delivery requests that are due: pack, upload, mail the link.",
        discussion: """
            Requests are recorded by `photoseal pack … --upload s3://BUCKET/KEY --notify ADDRESS \
            --at TIME`. For each request due, deliver packs and uploads the zip (unless its \
            upload is recorded), then mails the pre-signed link, recording each step in the \
            ledger: a second call sends nothing again, and a call killed between upload and mail \
            sends the mail at most once more, never the upload. A failed step is recorded and \
            tried again by the next call. Run it from a timer: deploy/ has a systemd timer and \
            service, a cron line and a Kubernetes CronJob.

            Examples:
              photoseal deliver --due --workdir /var/lib/photoseal --keys /etc/photoseal/keys.env
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Send every request whose time has come (the only mode).")
    var due = false

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard due else { throw ValidationError("give --due: deliver sends the requests whose time has come") }
    }

    func run() async throws {
        try await reportingErrors {
            let workspace = try await global.workspace("deliver", access: .write, needsKeys: true)
            let logger = global.logger()
            let http = try HTTPClient(logger: logger)
            defer { http.shutdown() }
            // The job's image store: a workdir that keeps its images in a bucket packs from it.
            let images = try await workspace.recordedImageStore(logger: logger)
            defer { images.http.shutdown() }
            let runner = DeliveryRunner(
                ledger: try workspace.ledger(), images: images.store, keyring: try workspace.keyring(),
                sealer: try workspace.sealer(),
                s3: try S3Client(http: http, settings: try S3Settings(secrets: workspace.secrets), logger: logger),
                mail: try MailSettings(secrets: workspace.secrets))
            let summary = try await runner.runDue { printError("deliver: \($0)") }
            printError(
                "deliver: \(summary.due) due: \(summary.uploaded) uploaded, \(summary.mailed) mailed, "
                    + "\(summary.failed) failed")
            if summary.failed > 0 { throw ExitCode.failure }
        }
    }
}
