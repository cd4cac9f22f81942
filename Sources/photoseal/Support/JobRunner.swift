import ArgumentParser
import Crypto
import Foundation
import HTTP
import Ingest
import Store

/// Takes the request form's jobs (see `JobStore`) through the same commands a person would
/// run: `photoseal run` (search, download, extract, score when labels were asked, load) in the
/// job's own workdir `<workdir>/jobs/<id>`, then the pack and upload and the mail of
/// `deliver --due` (`DeliveryRunner`). Each step is recorded in the job (its state) and in
/// `job_log` as it completes, so a kill between steps resumes at the step that was cut short:
/// `run` resumes without repeating committed work, an upload resumes from its stored parts, a
/// recorded upload is never repeated, and a mail is tried at most twice (counted before it is
/// sent), as for deliveries. Jobs are run and uploaded as soon as they are seen; the link is
/// mailed once the time asked has come.
struct JobRunner {
    /// What a call did.
    struct Summary: Equatable {
        var open = 0
        var ran = 0
        var uploaded = 0
        var mailed = 0
        var failed = 0
    }

    let global: GlobalOptions
    let jobs: JobStore
    /// The full URI of the store the jobs live in (the job's photos are loaded there too).
    let storeURI: String
    let flickrEndpoint: String
    let visionEndpoint: String
    let s3: S3Client
    let mail: MailSettings
    let sealer: FieldSealer
    let keyring: Keyring
    /// INDEX_KEY, for jobs asked pseudonymous.
    let index: BlindIndex
    let report: (String) -> Void

    /// Every open job, one step after another as far as each can go now.
    func runOpen(now: Date = Date()) async throws -> Summary {
        var summary = Summary()
        for job in try await jobs.openJobs() {
            summary.open += 1
            await advance(job, now: now, summary: &summary)
        }
        return summary
    }

    /// The job's own workdir.
    func workdir(of job: DeliveryJob) -> String {
        (global.workdir as NSString).appendingPathComponent("jobs/\(job.id)")
    }

    private func advance(_ start: DeliveryJob, now: Date, summary: inout Summary) async {
        var job = start
        var address: String?
        do {
            if job.state == .queued {
                try await run(job)
                let next = with(job) { $0.state = .ran }
                guard try await jobs.update(next, from: .queued) else { return }
                job = next
                summary.ran += 1
            }
            if job.state == .ran {
                let runner = try await deliveryRunner(for: job)
                let (packed, upload) = try await runner.packAndUpload(job.spec.delivery)
                try await jobs.log(
                    job.id, step: "pack",
                    detail: "\(packed.photos) photos, \(packed.bytes) bytes")
                try await jobs.log(
                    job.id, step: "upload",
                    detail: "\(job.spec.upload): \(upload.partsSent) parts sent, \(upload.partsReused) already stored")
                let next = with(job) {
                    $0.state = .uploaded
                    $0.packed = packed
                }
                guard try await jobs.update(next, from: .ran) else { return }
                job = next
                summary.uploaded += 1
                report("job \(job.id): uploaded \(job.spec.upload) (\(packed.photos) photos)")
            }
            guard job.state == .uploaded, let packed = job.packed, job.dueAt <= now else { return }
            guard job.mailAttempts < Ledger.maxMailAttempts else {
                let next = with(job) { $0.state = .failed }
                try await jobs.update(next, from: .uploaded)
                try await jobs.log(job.id, step: "failed", detail: "the mail was tried twice without a confirmation")
                summary.failed += 1
                return
            }
            let opened = try sealer.open(job.sealedAddress, documentID: job.sealID, field: DeliveryJob.addressField)
                .string
            address = opened
            // Counted before sending: a kill during the send leaves one attempt counted.
            let attempt = with(job) { $0.mailAttempts += 1 }
            guard try await jobs.update(attempt, from: .uploaded) else { return }
            job = attempt
            let runner = try await deliveryRunner(for: job)
            do {
                try await runner.mail(packed, spec: job.spec.delivery, to: opened, messageID: "job-\(job.id)")
            } catch {
                // The server did not take it: not an attempt that may have reached the reader.
                let undone = with(job) { $0.mailAttempts -= 1 }
                if try await jobs.update(undone, from: .uploaded) { job = undone }
                throw error
            }
            let sent = with(job) { $0.state = .mailed }
            try await jobs.update(sent, from: .uploaded)
            try await jobs.log(job.id, step: "mailed", detail: "link valid \(job.spec.linkExpires) s")
            summary.mailed += 1
            report("job \(job.id): mailed the link to \(MailAddress.masked(opened))")
        } catch {
            summary.failed += 1
            var cause = String(describing: error)
            // A mail server's refusal may quote the recipient: never in a log.
            if let address { cause = cause.replacingOccurrences(of: address, with: MailAddress.masked(address)) }
            report("job \(job.id): \(cause)")
            let failed = with(job) {
                $0.failures += 1
                if $0.failures >= DeliveryJob.maxFailures { $0.state = .failed }
            }
            _ = try? await jobs.update(failed, from: job.state)
            try? await jobs.log(job.id, step: "failed", detail: cause)
        }
    }

    /// `photoseal run` in the job's workdir, with the job's search; resumes a run cut short.
    private func run(_ job: DeliveryJob) async throws {
        var arguments = [
            "--workdir", workdir(of: job), "--store", storeURI, "--flickr-endpoint", flickrEndpoint,
            "--vision-endpoint", visionEndpoint, "--limit", String(job.spec.limit), "--progress", "none",
        ]
        if let keys = global.secrets.keysFile { arguments += ["--keys", keys] }
        for term in job.spec.terms { arguments += ["--term", term] }
        if let bbox = job.spec.bbox { arguments += ["--bbox", bbox] }
        for label in job.spec.labels { arguments += ["--label", label] }
        report("job \(job.id): run")
        do {
            let command = try RunCommand.parse(arguments)
            try await command.run()
        } catch let exit as ExitCode where exit == .failure {
            // Photos that failed are listed by `run`; the others are packed. Anything that
            // stopped the run itself left no loaded photo and fails the step.
            guard let ledger = try? Ledger(directory: workdir(of: job), logger: global.logger()),
                let status = try? await ledger.status(), status.stages["loaded", default: 0] > 0
            else { throw IngestError(.job, "the run of job \(job.id) failed (see the messages above)") }
            try await jobs.log(job.id, step: "run", detail: "\(status.photos) photos; some failed (see `status`)")
            return
        } catch let exit as ExitCode {
            throw IngestError(.job, "the run of job \(job.id) ended with status \(exit.rawValue)")
        }
        let photos = try? await Ledger(directory: workdir(of: job), logger: global.logger()).status().photos
        try await jobs.log(job.id, step: "run", detail: "\(photos ?? 0) photos")
    }

    /// The pack, upload and mail steps of `deliver --due`, on the job's workdir.
    private func deliveryRunner(for job: DeliveryJob) async throws -> DeliveryRunner {
        let dir = workdir(of: job)
        let ledger = try Ledger(directory: dir, logger: global.logger())
        return DeliveryRunner(
            ledger: ledger, images: ImageStore(workdir: dir), keyring: keyring, sealer: sealer, s3: s3, mail: mail,
            index: index)
    }

    private func with(_ job: DeliveryJob, _ change: (inout DeliveryJob) -> Void) -> DeliveryJob {
        var copy = job
        change(&copy)
        return copy
    }
}
