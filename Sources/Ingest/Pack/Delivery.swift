public import Crypto
public import Foundation

/// Sends the delivery requests that are due (`photoseal deliver --due`): for each, packs and
/// uploads (unless its upload is recorded), then mails the link, recording each step in the
/// ledger as it completes, so a second call sends nothing again and a kill between upload and
/// mail sends the mail at most once more and never uploads again. No scheduler: a systemd
/// timer, cron or a Kubernetes CronJob runs it (`deploy/`).
public struct DeliveryRunner {
    /// What a call did.
    public struct Summary: Sendable, Equatable {
        /// Requests due.
        public var due = 0
        /// Packs uploaded.
        public var uploaded = 0
        /// Mails sent.
        public var mailed = 0
        /// Requests that failed a step (recorded; tried again by the next call).
        public var failed = 0
    }

    let ledger: Ledger
    let images: ImageStore
    let keyring: Keyring
    let sealer: FieldSealer
    let s3: S3Client
    let mail: MailSettings
    let index: BlindIndex?

    /// Makes a runner from the workspace's parts.
    /// - Parameter index: INDEX_KEY, for requests recorded with `--pseudonymous` (one such
    ///   request fails, recorded, without it).
    public init(
        ledger: Ledger, images: ImageStore, keyring: Keyring, sealer: FieldSealer, s3: S3Client, mail: MailSettings,
        index: BlindIndex? = nil
    ) {
        self.index = index
        self.ledger = ledger
        self.images = images
        self.keyring = keyring
        self.sealer = sealer
        self.s3 = s3
        self.mail = mail
    }

    /// Sends every request due at `now`.
    /// - Parameter report: one line per step, the address masked.
    /// - Throws: `IngestError.ledger` when the requests cannot be read; a failing request is
    ///   recorded and counted, not thrown.
    public func runDue(now: Date = Date(), report: (String) -> Void = { _ in }) async throws -> Summary {
        var summary = Summary()
        for request in try await ledger.dueDeliveries(now: now.timeIntervalSince1970) {
            summary.due += 1
            do {
                try await deliver(request, summary: &summary, report: report)
            } catch {
                summary.failed += 1
                let message = String(describing: error)
                report("delivery \(request.id): \(message)")
                try await ledger.markDeliveryFailed(id: request.id, message: message)
            }
        }
        return summary
    }

    private func deliver(_ request: DeliveryRequest, summary: inout Summary, report: (String) -> Void) async throws {
        let spec = request.spec
        let location = try S3Location(parsing: spec.upload)
        let address: String
        do {
            address = try sealer.open(
                request.sealedAddress, documentID: request.sealID, field: DeliveryRequest.addressField
            ).string
        } catch {
            throw IngestError.wrapping(error, context: "opening the address of delivery \(request.id)")
        }
        var packed = request.packed
        if packed == nil {
            let (done, result) = try await packAndUpload(spec)
            try await ledger.markDeliveryUploaded(id: request.id, packed: done)
            packed = done
            summary.uploaded += 1
            report(
                "delivery \(request.id): uploaded \(location) (\(done.photos) photos, \(result.partsSent) parts sent, "
                    + "\(result.partsReused) already stored)")
        }
        guard let packed else { return }
        // Recorded before sending: a kill during the send leaves one attempt counted.
        try await ledger.markDeliveryMailing(id: request.id)
        do {
            try await mail(packed, spec: spec, to: address, messageID: "delivery-\(request.id)")
        } catch {
            // The server did not take it: not an attempt that may have reached the reader.
            try await ledger.markDeliveryMailing(id: request.id, undo: true)
            throw error
        }
        try await ledger.markDeliverySent(id: request.id)
        summary.mailed += 1
        report("delivery \(request.id): mailed the link to \(MailAddress.masked(address))")
    }

    /// Packs the runner's ledger as `spec` asks and uploads it (a multipart upload: parts an
    /// interrupted upload of the same selection stored are not sent again).
    /// - Returns: What the mail says about the pack, and the upload's part counts.
    public func packAndUpload(_ spec: DeliveryRequest.Spec) async throws -> (
        packed: DeliveryRequest.Packed, upload: S3Client.UploadResult
    ) {
        let location = try S3Location(parsing: spec.upload)
        var pseudonymizer: Pseudonymizer?
        if spec.pseudonymous {
            guard let index else {
                throw IngestError(.configuration, "a pseudonymous delivery needs INDEX_KEY; give the secrets file")
            }
            pseudonymizer = try Pseudonymizer(index: index, sealer: sealer)
        }
        let pack = try await DatasetPack(
            ledger: ledger, images: images, keyring: keyring, sealer: spec.attribution ? sealer : nil,
            options: DatasetPack.Options(
                minScores: spec.minScores.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, limit: spec.limit,
                includeAllRightsReserved: spec.includeAllRightsReserved, attribution: spec.attribution),
            pseudonymizer: pseudonymizer)
        let result = try await pack.upload(with: s3, to: location, partSize: spec.partSize)
        let packed = DeliveryRequest.Packed(
            photos: pack.summary.photos, bytes: pack.summary.bytes, licenses: pack.summary.licenses)
        return (packed, result)
    }

    /// Mails a pre-signed link to the uploaded pack, valid for `spec.linkExpires` from now.
    /// - Parameter messageID: The mail's Message-ID local part (the same for a resent mail).
    public func mail(
        _ packed: DeliveryRequest.Packed, spec: DeliveryRequest.Spec, to address: String, messageID: String
    )
        async throws
    {
        let location = try S3Location(parsing: spec.upload)
        let now = Date()
        let link = try s3.presignedGetURL(
            bucket: location.bucket, key: location.key, expires: spec.linkExpires, date: now)
        let message = DeliveryMail(
            link: link, photos: packed.photos, bytes: packed.bytes, licenses: packed.licenses,
            attributed: spec.attribution, expires: now.addingTimeInterval(Double(spec.linkExpires)))
        try await message.send(to: address, settings: mail, messageID: messageID)
    }
}
