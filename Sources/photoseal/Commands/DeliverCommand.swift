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

            Then it takes the jobs of the request form (`photoseal serve --form`), kept in the \
            workdir's store: each is run (`photoseal run` with its terms, box, number of images \
            and labels, in <workdir>/jobs/<id>, on --flickr-endpoint and --vision-endpoint), \
            packed and uploaded as soon as it is seen, and its link mailed once its time has \
            come; every step is recorded in the job and in job_log, with the same rules: a \
            second call repeats nothing. `serve --worker` runs this same pass.

            Examples:
              photoseal deliver --due --workdir /var/lib/photoseal --keys /etc/photoseal/keys.env
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var flickrOptions: FlickrEndpointOptions

    @OptionGroup var visionOptions: VisionEndpointOptions

    @Flag(help: "Send every request whose time has come (the only mode).")
    var due = false

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard due else { throw ValidationError("give --due: deliver sends the requests whose time has come") }
    }

    func run() async throws {
        try await reportingErrors {
            let failed = try await Self.deliverDue(
                global: global, store: storeOptions, flickrEndpoint: flickrOptions.flickrEndpoint,
                visionEndpoint: visionOptions.visionEndpoint, report: { printError("deliver: \($0)") })
            if failed { throw ExitCode.failure }
        }
    }

    /// One pass of `deliver --due` (also each tick of `serve --worker`): the ledger's delivery
    /// requests that are due, then the request form's open jobs in the workdir's store.
    /// - Returns: Whether a request or job failed a step (recorded; tried again next time).
    static func deliverDue(
        global: GlobalOptions, store: StoreOptions, flickrEndpoint: String, visionEndpoint: String,
        report: @escaping (String) -> Void
    ) async throws -> Bool {
        let workspace = try await global.workspace("deliver", access: .write, needsKeys: true, store: store)
        let logger = global.logger()
        let http = try HTTPClient(logger: logger)
        defer { http.shutdown() }
        let s3 = { try S3Client(http: http, settings: try S3Settings(secrets: workspace.secrets), logger: logger) }
        var failed = false
        if workspace.hasLedger {
            // The workdir's image store: one that keeps its images in a bucket packs from it.
            let images = try await workspace.recordedImageStore(logger: logger)
            defer { images.http.shutdown() }
            let runner = DeliveryRunner(
                ledger: try workspace.ledger(), images: images.store, keyring: try workspace.keyring(),
                sealer: try workspace.sealer(), s3: try s3(), mail: try MailSettings(secrets: workspace.secrets),
                index: try workspace.blindIndex())
            let summary = try await runner.runDue(report: report)
            report(
                "\(summary.due) due: \(summary.uploaded) uploaded, \(summary.mailed) mailed, \(summary.failed) failed")
            failed = summary.failed > 0
        } else {
            report("0 due: 0 uploaded, 0 mailed, 0 failed")
        }
        // Jobs live in the workdir's store: none before the workdir has one (no store is made
        // just to look).
        guard store.store != nil || !workspace.recordedStores.isEmpty else { return failed }
        let uri = try workspace.loadStoreURI(preferring: nil)
        let jobs = try JobStore(store: try await workspace.loadStore(batchSize: 100))
        guard try await !jobs.openJobs().isEmpty else {
            report("jobs: 0 open")
            return failed
        }
        let runner = JobRunner(
            global: global, jobs: jobs, storeURI: uri, flickrEndpoint: flickrEndpoint, visionEndpoint: visionEndpoint,
            s3: try s3(), mail: try MailSettings(secrets: workspace.secrets), sealer: try workspace.sealer(),
            keyring: try workspace.keyring(), index: try workspace.blindIndex(), report: report)
        let summary = try await runner.runOpen()
        report(
            "jobs: \(summary.open) open: \(summary.ran) ran, \(summary.uploaded) uploaded, \(summary.mailed) mailed, "
                + "\(summary.failed) failed")
        return failed || summary.failed > 0
    }
}
