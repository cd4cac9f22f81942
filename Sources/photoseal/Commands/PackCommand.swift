import ArgumentParser
import Foundation
import HTTP
import Ingest

/// `photoseal pack`: a dataset archive of the ledger's photos, to a file or to S3.
struct PackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack the photos, their metadata and licences into a zip, to a file or to S3.",
        discussion: """
            The zip (stored entries, Zip64 when large, streamed in constant memory) holds \
            images/<id>.<ext> (stripped of EXIF, XMP, IPTC and comments; sealed images are opened \
            with the secrets file's keys and stripped on the way out), metadata.jsonl and \
            metadata.csv (the public columns of export: no sealed field, then attribution, file, \
            file.sha256, file.bytes and score.<label>), LICENSES.md (the licences packed, with \
            counts and terms, and what was left out) and MANIFEST.sha256 (sha256sum -c format).

            Licences are Flickr's (export's license.name and license.url). Photos that are all \
            rights reserved or have no known licence are left out unless \
            --include-all-rights-reserved. Photos whose licence requires attribution (CC BY …) \
            are left out unless --attribution, which packs them with their author's name opened \
            from the sealed owner name (those photos alone) and says so in LICENSES.md.

            --upload s3://BUCKET/KEY sends the zip as a multipart upload without writing it to \
            disk, each part produced as it is sent; run again after an interruption, only the \
            missing parts are sent (the selection must not have changed). S3 settings come from \
            the secrets file (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, S3_ENDPOINT).

            With --upload a pre-signed download link is printed on stdout; it works for \
            --link-expires (seconds, or a number with s, m, h or d; default and most 7d, S3's \
            limit). --notify ADDRESS mails it (text and HTML: link, photo count, size, licences, \
            expiry) through SMTP_URL (smtp:// with STARTTLS, required unless the server is on \
            loopback, or smtps://), SMTP_USER, SMTP_PASSWORD and MAIL_FROM of the secrets file. \
            The address is shown masked (a***@example.org) and never logged.

            --at TIME (with --upload and --notify) packs nothing now: it records a delivery \
            request in the workdir's ledger (the pack's options, the address sealed, the time); \
            `photoseal deliver --due`, run by a timer (deploy/), sends it when due.

            --pseudonymous (kept in a --at delivery) packs a dataset that does not lead back to \
            Flickr: the id column and the image names (images/ps_<hex>.<ext>) are pseudonyms \
            (HMAC-SHA256 under a key derived from INDEX_KEY: the same in every pack until \
            INDEX_KEY is rotated), source_id, page_url and image_url are left out. Not with \
            --attribution, which names authors. docs/privacy.md says what it still reveals.

            Examples:
              photoseal pack --out dataset.zip
              photoseal pack --min-score monkey=0.6 --limit 1000 --attribution --out monkeys.zip
              photoseal pack --upload s3://datasets/monkeys.zip
              photoseal pack --upload s3://datasets/monkeys.zip --link-expires 3d --notify ann@example.org
              photoseal pack --upload s3://datasets/m.zip --notify ann@example.org --at 2026-12-24T08:00:00Z
              photoseal pack --pseudonymous --out dataset.zip
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(
        name: .customLong("min-score"),
        help: ArgumentHelp(
            "Keep photos whose scores.<label> is at least S (repeatable; all must hold).", valueName: "label=S"))
    var minScores: [String] = []

    @Option(help: ArgumentHelp("Pack at most N photos (in id order).", valueName: "N"))
    var limit: Int?

    @Option(help: ArgumentHelp("Write the zip to this file.", valueName: "file.zip"), completion: .file())
    var out: String?

    @Option(help: ArgumentHelp("Upload the zip to this S3 object.", valueName: "s3://bucket/key"))
    var upload: String?

    @Option(
        name: .customLong("part-size"),
        help: ArgumentHelp(
            "Multipart upload part size in MiB (5 to 5120; memory holds about three parts).", valueName: "MiB"))
    var partSize = 8

    @Option(
        name: .customLong("link-expires"),
        help: ArgumentHelp(
            "How long the printed download link works: seconds, or N with s, m, h or d (at most 7d).",
            valueName: "duration"))
    var linkExpires = "7d"

    @Option(help: ArgumentHelp("Mail the download link to this address (needs --upload).", valueName: "address"))
    var notify: String?

    @Option(
        help: ArgumentHelp(
            "Record a delivery for this time (ISO 8601, e.g. 2026-12-24T08:00:00Z, or +N with s, m, h or d) "
                + "instead of packing now; `photoseal deliver --due` sends it.", valueName: "time"))
    var at: String?

    @Flag(help: "Pack photos that are all rights reserved or have no known licence too.")
    var includeAllRightsReserved = false

    @Flag(help: "Pack photos whose licence requires attribution, with their author's name.")
    var attribution = false

    @Flag(help: "Pseudonymous ids and image names, no source id or URL (docs/privacy.md).")
    var pseudonymous = false

    /// The one message for `--pseudonymous` with `--attribution`.
    static let pseudonymousAttribution =
        "--pseudonymous cannot be used with --attribution: attribution names authors and links their pages; "
        + "leave out one of them"

    func validate() throws {
        guard UsageChecks.enabled else { return }
        guard (out == nil) != (upload == nil) else {
            throw ValidationError("give one of --out FILE.zip or --upload s3://BUCKET/KEY")
        }
        if let limit, limit < 1 { throw ValidationError("--limit \(limit) must be at least 1") }
        if pseudonymous && attribution { throw ValidationError(Self.pseudonymousAttribution) }
        guard (5...5120).contains(partSize) else {
            throw ValidationError("--part-size \(partSize) must be from 5 to 5120 (MiB)")
        }
        if let upload {
            do {
                _ = try S3Location(parsing: upload)
            } catch {
                throw ValidationError("--upload \(upload) is not s3://BUCKET/KEY")
            }
        }
        _ = try scoreFilters()
        _ = try linkSeconds()
        if let at {
            guard notify != nil, upload != nil else {
                throw ValidationError("--at needs --upload s3://BUCKET/KEY and --notify ADDRESS (what is delivered)")
            }
            guard Self.time(at) != nil else {
                throw ValidationError("--at \(at) is not a time: use ISO 8601 (2026-12-24T08:00:00Z) or +N[s|m|h|d]")
            }
        }
        if let notify {
            guard upload != nil else {
                throw ValidationError("--notify needs --upload s3://BUCKET/KEY (the link mailed)")
            }
            guard MailAddress.isValid(notify) else {
                throw ValidationError("--notify \(MailAddress.masked(notify)) is not a mail address")
            }
        }
    }

    /// --link-expires in seconds.
    func linkSeconds() throws -> Int {
        guard let seconds = Self.seconds(linkExpires), (1...604_800).contains(seconds) else {
            throw ValidationError("--link-expires \(linkExpires) must be from 1s to 7d (e.g. 3600, 12h, 7d)")
        }
        return seconds
    }

    /// `--at`: an ISO 8601 time, or `+N[s|m|h|d]` from now.
    static func time(_ text: String, now: Date = Date()) -> Date? {
        if text.hasPrefix("+") { return seconds(String(text.dropFirst())).map { now.addingTimeInterval(Double($0)) } }
        return ISO8601DateFormatter().date(from: text)
    }

    /// `3600`, `90s`, `30m`, `12h`, `7d` as seconds; `nil` when not one of those.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let last = text.last else { return nil }
        if let unit = units[last] { return Int(text.dropLast()).map { $0 * unit } }
        return Int(text)
    }

    /// The parsed --min-score filters, as export reads them.
    func scoreFilters() throws -> [(label: String, min: Double)] {
        // One parser for the flag: export's.
        var export = try ExportCommand.parse([])
        export.minScores = minScores
        return try export.scoreFilters()
    }

    func run() async throws {
        if at != nil { return try await recordDelivery() }
        try await reportingErrors {
            let workspace = try await global.workspace("pack", access: .read, needsKeys: true)
            // Settings checked before the packing, not after an upload.
            let mailSettings = try notify.map { _ in try MailSettings(secrets: workspace.secrets) }
            let images = try await workspace.recordedImageStore(logger: global.logger())
            defer { images.http.shutdown() }
            let pack = try await DatasetPack(
                ledger: try workspace.ledger(), images: images.store, keyring: try workspace.keyring(),
                sealer: attribution ? try workspace.sealer() : nil,
                options: DatasetPack.Options(
                    minScores: try scoreFilters(), limit: limit, includeAllRightsReserved: includeAllRightsReserved,
                    attribution: attribution),
                pseudonymizer: try pseudonymous
                    ? Pseudonymizer(index: workspace.blindIndex(), sealer: workspace.sealer()) : nil)
            let s = pack.summary
            if let out {
                try pack.write(to: out)
                printError("pack: wrote \(out)")
            } else if let upload {
                let location = try S3Location(parsing: upload)
                let logger = global.logger()
                let http = try HTTPClient(logger: logger)
                defer { http.shutdown() }
                let client = try S3Client(
                    http: http, settings: try S3Settings(secrets: workspace.secrets), logger: logger)
                let result = try await pack.upload(with: client, to: location, partSize: partSize << 20)
                printError(
                    "pack: uploaded \(location): \(result.partsSent) parts sent, \(result.partsReused) already stored")
                let now = Date()
                let seconds = try linkSeconds()
                let link = try client.presignedGetURL(
                    bucket: location.bucket, key: location.key, expires: seconds, date: now)
                print(link)
                if let notify, let mailSettings {
                    let mail = DeliveryMail(
                        link: link, photos: s.photos, bytes: s.bytes, licenses: s.licenses, attributed: attribution,
                        expires: now.addingTimeInterval(Double(seconds)))
                    try await mail.send(
                        to: notify, settings: mailSettings,
                        messageID: UUID().uuidString.lowercased())
                    printError("pack: mailed the link to \(MailAddress.masked(notify))")
                }
            }
            var line =
                "pack: \(s.photos) photos, \(ProgressDisplay.bytes(Int64(s.bytes))) (\(s.bytes) bytes); left out: "
                + "\(s.allRightsReserved) all rights reserved or unlicensed (--include-all-rights-reserved), "
                + "\(s.needAttribution) needing "
                + "attribution (--attribution), \(s.withoutImage) without an image, \(s.notStrippable) not strippable"
            if attribution { line += "; \(s.attributed) packed with their author's name" }
            printError(line)
        }
    }

    /// `--at`: records the delivery request.
    func recordDelivery() async throws {
        try await reportingErrors {
            guard let at, let due = Self.time(at), let notify, let upload else { return }
            let workspace = try await global.workspace("pack", access: .seal, needsKeys: true)
            let ledger = try workspace.ledger()
            _ = try MailSettings(secrets: workspace.secrets)
            _ = try S3Settings(secrets: workspace.secrets)
            let id = UUID().uuidString.lowercased()
            let spec = DeliveryRequest.Spec(
                minScores: Dictionary(try scoreFilters().map { ($0.label, $0.min) }, uniquingKeysWith: max),
                limit: limit, includeAllRightsReserved: includeAllRightsReserved, attribution: attribution,
                upload: upload, linkExpires: try linkSeconds(), partSize: partSize << 20, pseudonymous: pseudonymous)
            let sealed = try workspace.sealer().seal(
                notify, documentID: "delivery:\(id)", field: DeliveryRequest.addressField)
            try await ledger.recordDelivery(id: id, spec: spec, sealedAddress: sealed, dueAt: due.timeIntervalSince1970)
            let formatter = ISO8601DateFormatter()
            printError(
                "pack: delivery \(id) recorded for \(formatter.string(from: due)) to \(MailAddress.masked(notify)); "
                    + "`photoseal deliver --due` sends it")
            print(id)
        }
    }
}
