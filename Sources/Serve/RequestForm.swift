public import Crypto
import Foundation
public import Ingest

/// The request form of `photoseal serve --form s3://BUCKET/PREFIX`: a person asks for a dataset
/// (search terms, an optional box, a number of images, labels to score, an address, a time) and
/// the form records a job (`JobStore`) that `photoseal deliver --due` or `serve --worker` takes
/// through `run`, `pack`, the upload to `s3://BUCKET/PREFIX/<job id>.zip` and the mail.
///
/// Each field is checked on its own; a refused request shows every problem next to its field,
/// with the form filled in again, and records nothing. The address is sealed with the workdir's
/// keys before it is stored and never written to a log. Cross-site posts are refused: the form
/// carries a token of this server's (a hidden field), and a request whose `Origin` (or
/// `Sec-Fetch-Site`) says another site sent it is refused before anything is read.
public final class RequestForm: Sendable {
    /// What the form allows.
    public struct Configuration: Sendable {
        /// Where the zips go: `s3://BUCKET/PREFIX` (the job's id and `.zip` are appended).
        public var upload: String
        /// The most images one request may ask for. Default 1000.
        public var maxImages = 1000
        /// How long a mailed link works, seconds. Default 7 days (S3's most).
        public var linkExpires = 604_800

        /// Makes a configuration.
        public init(upload: String) { self.upload = upload }
    }

    let jobs: JobStore
    let sealer: FieldSealer
    let configuration: Configuration
    /// The form's anti-forgery token: random, this server's life long.
    let token: String

    /// Makes the form.
    /// - Throws: `IngestError.configuration` when `configuration.upload` is not `s3://BUCKET/PREFIX`.
    public init(jobs: JobStore, sealer: FieldSealer, configuration: Configuration) throws {
        _ = try S3Location(parsing: configuration.upload + "/x.zip")
        self.jobs = jobs
        self.sealer = sealer
        self.configuration = configuration
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        token = bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The fields of the form, in order.
    static let fields = ["terms", "bbox", "images", "labels", "email", "deliver_at"]

    /// A request checked field by field: the job's specification, or the problems by field.
    struct Checked {
        var spec: DeliveryJob.Spec?
        var address: String?
        var due: Date?
        var errors: [String: String] = [:]
    }

    /// Checks every field (all of them, so that every problem is shown at once).
    func check(_ values: [String: String], now: Date = Date()) -> Checked {
        var checked = Checked()
        let terms = (values["terms"] ?? "").split(whereSeparator: { $0 == "," || $0 == "\n" })
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        if terms.isEmpty {
            checked.errors["terms"] = "Give at least one search term (several: separate them with commas)."
        } else if terms.count > 10 {
            checked.errors["terms"] = "At most 10 terms (\(terms.count) given)."
        } else if terms.contains(where: { $0.count > 100 }) {
            checked.errors["terms"] = "A term may have at most 100 characters."
        }
        var bbox: String?
        let boxText = (values["bbox"] ?? "").trimmingCharacters(in: .whitespaces)
        if !boxText.isEmpty {
            do {
                _ = try BoundingBox.parse(boxText)
                bbox = boxText
            } catch let error as IngestError {
                checked.errors["bbox"] =
                    error.message.replacingOccurrences(of: "--bbox", with: "The box")
                    .replacingOccurrences(of: "--antimeridian", with: "a box that does not cross it") + "."
            } catch {
                checked.errors["bbox"] = "The box is west,south,east,north in degrees, e.g. 5,35,20,48."
            }
        }
        let imagesText = (values["images"] ?? "").trimmingCharacters(in: .whitespaces)
        let images = Int(imagesText)
        if let images, (1...configuration.maxImages).contains(images) {
        } else {
            checked.errors["images"] = "The number of images is a whole number from 1 to \(configuration.maxImages)."
        }
        let labels = (values["labels"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }.filter { !$0.isEmpty }
        if labels.count > 10 || labels.contains(where: { $0.count > 40 || $0.contains(where: { $0.isNewline }) }) {
            checked.errors["labels"] = "At most 10 labels of at most 40 characters, separated with commas."
        }
        let address = (values["email"] ?? "").trimmingCharacters(in: .whitespaces)
        if address.isEmpty {
            checked.errors["email"] = "Give the address the download link is mailed to."
        } else if address.utf8.count > 254 || !MailAddress.isValid(address) {
            checked.errors["email"] = "This is not a mail address (name@example.org)."
        }
        let dueText = (values["deliver_at"] ?? "").trimmingCharacters(in: .whitespaces)
        var due: Date? = now
        if !dueText.isEmpty {
            due = Self.time(dueText)
            if let given = due {
                if given < now.addingTimeInterval(-300) {
                    checked.errors["deliver_at"] = "This time has passed; leave it empty for as soon as possible."
                } else if given > now.addingTimeInterval(366 * 86400) {
                    checked.errors["deliver_at"] = "At most a year from now."
                }
            } else {
                checked.errors["deliver_at"] = "A date and time such as 2026-12-24T08:00 (this server's time zone)."
            }
        }
        guard checked.errors.isEmpty, let images, let due else { return checked }
        checked.address = address
        checked.due = due
        checked.spec = DeliveryJob.Spec(
            terms: terms, bbox: bbox, limit: images, labels: labels, upload: configuration.upload,
            linkExpires: configuration.linkExpires, pseudonymous: values["pseudonymous"] != nil)
        return checked
    }

    /// `2026-12-24T08:00` (a browser's datetime-local, this server's time zone), with seconds,
    /// or ISO 8601 with a zone.
    static func time(_ text: String) -> Date? {
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = .current
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// Whether a POST came from another site: its `Origin` is not this server, or the browser
    /// says so (`Sec-Fetch-Site: cross-site`).
    static func crossSite(_ request: GalleryRequest) -> Bool {
        let site = request.headers["sec-fetch-site"]
        if site == "cross-site" || site == "same-site" { return true }
        // No Origin: not a browser's cross-site post (curl, a test); the token is still needed.
        guard let origin = request.headers["origin"] else { return false }
        // Under `Referrer-Policy: no-referrer` a browser posts a form with `Origin: null`:
        // then its own `Sec-Fetch-Site` decides.
        if origin == "null" { return site != "same-origin" }
        guard let host = request.headers["host"], let url = URL(string: origin), let originHost = url.host else {
            return true
        }
        let port = url.port.map { ":\($0)" } ?? ""
        let bracketed = originHost.contains(":") ? "[\(originHost)]" : originHost
        return "\(bracketed)\(port)".lowercased() != host.lowercased()
    }

    // MARK: Pages

    /// `GET /request`: the empty form.
    func page() -> GalleryResponse { render(values: [:], errors: [:], status: 200) }

    /// `POST /request`: checks and records, or shows the form again with the problems.
    func submit(_ request: GalleryRequest) async -> GalleryResponse {
        if Self.crossSite(request) {
            return Self.text(403, "refused: the request came from another site")
        }
        let values = Self.formValues(request.body)
        guard let given = values["csrf"], Gallery.sameToken(given, token) else {
            return Self.text(403, "refused: the form's token is missing or stale; open /request again")
        }
        let checked = check(values)
        guard let spec = checked.spec, let address = checked.address, let due = checked.due else {
            return render(values: values, errors: checked.errors, status: 400)
        }
        let id = UUID().uuidString.lowercased()
        var jobSpec = spec
        jobSpec.upload = configuration.upload + "/\(id).zip"
        do {
            let sealed = try sealer.seal(address, documentID: "job:\(id)", field: DeliveryJob.addressField)
            _ = try await jobs.record(id: id, spec: jobSpec, sealedAddress: sealed, dueAt: due)
        } catch {
            return render(
                values: values,
                errors: ["form": "The request could not be recorded (the store did not answer); try again."],
                status: 503)
        }
        return GalleryResponse(
            status: 303, headers: [("Location", "/request/\(id)"), ("Cache-Control", "no-store")],
            body: Array("recorded: /request/\(id)\n".utf8))
    }

    /// `GET /request/<id>`: the job's state and its log (no address).
    func jobPage(_ id: String) async -> GalleryResponse {
        guard let job = try? await jobs.job(id: id) else { return Self.text(404, "no request with this id") }
        let log = (try? await jobs.log(of: id)) ?? []
        let formatter = ISO8601DateFormatter()
        var rows = ""
        for entry in log {
            rows +=
                "<tr><td>\(formatter.string(from: entry.at))</td><td class=\"step\">\(MarkupText.escape(entry.step))</td>"
                + "<td>\(MarkupText.escape(entry.detail ?? ""))</td></tr>\n"
        }
        let body = """
            <h1>Request \(MarkupText.escape(job.id))</h1>
            <p>State: <strong id="job-state">\(job.state.rawValue)</strong>; the link is mailed from \
            \(formatter.string(from: job.dueAt)).</p>
            <p>Terms: \(MarkupText.escape(job.spec.terms.joined(separator: ", ")))\
            \(job.spec.bbox.map { "; box " + MarkupText.escape($0) } ?? ""); \(job.spec.limit) images.</p>
            <table id="job-log"><thead><tr><th>When</th><th>Step</th><th>Detail</th></tr></thead>
            <tbody>
            \(rows)</tbody></table>
            <p><a href="/request">Another request</a> · <a href="/">Gallery</a></p>
            """
        return Self.html(200, title: "Request \(job.id)", body: body)
    }

    /// `GET /api/job?id=`: the job's state and log as JSON (no address).
    func jobJSON(_ id: String) async -> GalleryResponse {
        guard let job = try? await jobs.job(id: id) else { return Gallery.error(404, "no request with this id") }
        let log = (try? await jobs.log(of: id)) ?? []
        let formatter = ISO8601DateFormatter()
        let object: [String: Any] = [
            "id": job.id, "state": job.state.rawValue, "due_at": formatter.string(from: job.dueAt),
            "terms": job.spec.terms, "limit": job.spec.limit, "upload": job.spec.upload,
            "pseudonymous": job.spec.pseudonymous,
            "photos": job.packed?.photos as Any,
            "log": log.map { ["step": $0.step, "at": formatter.string(from: $0.at), "detail": $0.detail ?? ""] },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Gallery.json(data)
    }

    private func render(values: [String: String], errors: [String: String], status: Int) -> GalleryResponse {
        func field(_ name: String, _ label: String, _ input: String, hint: String) -> String {
            let error =
                errors[name].map { "<p class=\"field-error\" id=\"\(name)-error\">\(MarkupText.escape($0))</p>" } ?? ""
            return """
                <div class="field\(errors[name] == nil ? "" : " invalid")">
                <label for="\(name)">\(label)</label>
                \(input)
                <p class="hint">\(hint)</p>
                \(error)
                </div>
                """
        }
        func value(_ name: String) -> String { MarkupText.escape(values[name] ?? "") }
        func described(_ name: String) -> String {
            errors[name] == nil ? "" : " aria-invalid=\"true\" aria-describedby=\"\(name)-error\""
        }
        let formError =
            errors["form"].map { "<p class=\"field-error\" id=\"form-error\">\(MarkupText.escape($0))</p>" } ?? ""
        let body = """
            <h1>Request a dataset</h1>
            <p>The photos are searched on Flickr, downloaded, scored when labels are given, packed into a zip \
            with their licences and uploaded; a download link is mailed at the time asked. Only openly licensed \
            photos that need no attribution are packed.</p>
            \(formError)
            <form method="post" action="/request" id="request-form" novalidate>
            <input type="hidden" name="csrf" value="\(token)">
            \(field("terms", "Search terms", "<input id=\"terms\" name=\"terms\" value=\"\(value("terms"))\" required\(described("terms"))>", hint: "One or more, separated with commas."))
            \(field("bbox", "Box (optional)", "<input id=\"bbox\" name=\"bbox\" value=\"\(value("bbox"))\" placeholder=\"5,35,20,48\"\(described("bbox"))>", hint: "west,south,east,north in degrees."))
            \(field("images", "Number of images", "<input id=\"images\" name=\"images\" type=\"number\" min=\"1\" max=\"\(configuration.maxImages)\" value=\"\(value("images"))\" required\(described("images"))>", hint: "From 1 to \(configuration.maxImages)."))
            \(field("labels", "Labels to score (optional)", "<input id=\"labels\" name=\"labels\" value=\"\(value("labels"))\"\(described("labels"))>", hint: "e.g. monkey, tree; scored with the Vision API when the workdir has a key."))
            \(field("email", "Mail the link to", "<input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" value=\"\(value("email"))\" required\(described("email"))>", hint: "Stored sealed; used for this mail only."))
            <div class="field"><label><input type="checkbox" id="pseudonymous" name="pseudonymous"\
            \(values["pseudonymous"] == nil ? "" : " checked")> Pseudonymous</label>\
            <p class="hint">Ids and image names replaced by pseudonyms; no Flickr id or page link in the dataset.</p></div>
            \(field("deliver_at", "Delivery time (optional)", "<input id=\"deliver_at\" name=\"deliver_at\" type=\"datetime-local\" value=\"\(value("deliver_at"))\"\(described("deliver_at"))>", hint: "Empty: as soon as the dataset is ready. This server's time zone."))
            <button type="submit" id="submit">Request</button>
            </form>
            <p><a href="/">Back to the gallery</a></p>
            """
        return Self.html(status, title: "Request a dataset", body: body)
    }

    // MARK: Helpers

    static func html(_ status: Int, title: String, body: String) -> GalleryResponse {
        let page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(MarkupText.escape(title)) · photoseal</title><link rel="stylesheet" href="/app.css"></head>
            <body class="form-page"><main>
            \(body)
            </main></body></html>
            """
        return GalleryResponse(
            status: status, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            body: Array(page.utf8))
    }

    static func text(_ status: Int, _ message: String) -> GalleryResponse {
        GalleryResponse(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
            body: Array((message + "\n").utf8))
    }

    /// An `application/x-www-form-urlencoded` body (the first value of each name).
    static func formValues(_ body: [UInt8]) -> [String: String] {
        var values: [String: String] = [:]
        for item in GalleryRequest.queryItems(String(decoding: body, as: UTF8.self)) where values[item.name] == nil {
            values[item.name] = item.value ?? ""
        }
        return values
    }
}
