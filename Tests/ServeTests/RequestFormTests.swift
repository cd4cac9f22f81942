import Crypto
import Foundation
import Ingest
import Serve
import Store
import Testing

/// A gallery over an empty embedded store with the request form on.
private struct FormFixture {
    let dir: URL
    let gallery: Gallery
    let jobs: JobStore
    let sealer: FieldSealer

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-form-\(UUID().uuidString)")
        let store = try EmbeddedStore(path: dir.appendingPathComponent("store.sqlite").path, logger: testLogger)
        jobs = try JobStore(store: store)
        sealer = FieldSealer(keyring: try Keyring([FernetKey.generate()]))
        let form = try RequestForm(
            jobs: jobs, sealer: sealer, configuration: RequestForm.Configuration(upload: "s3://bucket/requests"))
        gallery = Gallery(
            store: store,
            thumbnails: Thumbnails(
                images: ImageStore(workdir: dir.appendingPathComponent("work").path), keyring: nil,
                cacheDirectory: nil),
            form: form, logger: testLogger)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    func get(_ target: String) async -> GalleryResponse {
        await gallery.respond(to: GalleryRequest(target: target))
    }

    /// Posts the fields (url-encoded) with this server's token unless `token` says otherwise.
    func post(_ fields: [(String, String)], token: String? = nil, headers: [String: String] = [:]) async
        -> GalleryResponse
    {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        var csrf = token ?? ""
        if token == nil { csrf = Self.token(await get("/request").text) }
        let body = ([("csrf", csrf)] + fields).map {
            "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
        return await gallery.respond(
            to: GalleryRequest(method: "POST", target: "/request", headers: headers, body: Array(body.utf8)))
    }

    static func token(_ page: String) -> String {
        guard let range = page.range(of: #"name="csrf" value="[0-9a-f]+""#, options: .regularExpression) else {
            return ""
        }
        return String(page[range].dropFirst(#"name="csrf" value=""#.count).dropLast())
    }
}

@Suite("the request form of serve", .tags(.integration))
struct RequestFormTests {
    @Test(
        "each bad field is named next to itself, alone, with the values given kept; nothing is recorded",
        arguments: [
            ("terms", ""), ("terms", Array(repeating: "a", count: 11).joined(separator: ",")), ("bbox", "1,2,3"),
            ("bbox", "200,35,20,48"), ("images", "0"), ("images", "1001"), ("images", "ten"), ("email", "ann"),
            ("email", "ann@"), ("deliver_at", "2001-01-01T08:00"), ("deliver_at", "soon"),
        ])
    func refusedField(field: String, value: String) async throws {
        let fixture = try FormFixture()
        defer { fixture.remove() }
        var fields = [
            ("terms", "monkey"), ("bbox", "5,35,20,48"), ("images", "20"), ("email", "ann@example.org"),
            ("deliver_at", ""),
        ]
        fields = fields.map { $0.0 == field ? (field, value) : $0 }
        let answer = await fixture.post(fields)
        #expect(answer.status == 400)
        let page = answer.text
        for name in ["terms", "bbox", "images", "email", "deliver_at"] {
            #expect(page.contains("id=\"\(name)-error\"") == (name == field), "\(name) for a bad \(field)")
        }
        #expect(page.contains("value=\"5,35,20,48\"") || field == "bbox")
        #expect(try await fixture.jobs.allJobs().isEmpty)
    }

    @Test("a good request is recorded queued with its address sealed, and its page and JSON show no address")
    func recorded() async throws {
        let fixture = try FormFixture()
        defer { fixture.remove() }
        // A month from now at 08:00, as a browser's datetime-local gives it (the server's zone).
        var day = Calendar.current.dateComponents(
            [.year, .month, .day], from: Date().addingTimeInterval(30 * 86400))
        day.hour = 8
        let wanted = try #require(Calendar.current.date(from: day))
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm"
        let answer = await fixture.post([
            ("terms", "monkey, sea lion"), ("bbox", ""), ("images", "20"), ("labels", "Monkey"),
            ("email", "ann@example.org"), ("deliver_at", formatter.string(from: wanted)),
        ])
        #expect(answer.status == 303, "\(answer.text.prefix(300))")
        let location = try #require(answer.header("Location"))
        let job = try #require(try await fixture.jobs.allJobs().first)
        #expect(location == "/request/\(job.id)")
        #expect(job.state == .queued && job.spec.terms == ["monkey", "sea lion"] && job.spec.bbox == nil)
        #expect(job.spec.limit == 20 && job.spec.labels == ["monkey"])
        #expect(job.spec.upload == "s3://bucket/requests/\(job.id).zip")
        #expect(!job.sealedAddress.contains("ann"))
        #expect(
            try fixture.sealer.open(job.sealedAddress, documentID: "job:\(job.id)", field: "address").string
                == "ann@example.org")
        #expect(job.dueAt == wanted)
        #expect(try await fixture.jobs.log(of: job.id).map(\.step) == ["queued"])
        for target in [location, "/api/job?id=\(job.id)"] {
            let page = await fixture.get(target)
            #expect(page.status == 200 && page.text.contains("queued"))
            #expect(!page.text.contains("ann@example.org") && !page.text.contains("ann"), "\(target)")
        }
    }

    @Test("a post without this server's token, or from another site, is refused and records nothing")
    func forged() async throws {
        let fixture = try FormFixture()
        defer { fixture.remove() }
        let fields = [("terms", "monkey"), ("images", "5"), ("email", "ann@example.org")]
        #expect(await fixture.post(fields, token: "").status == 403)
        #expect(await fixture.post(fields, token: String(repeating: "0", count: 48)).status == 403)
        let foreign = ["Origin": "http://evil.example", "Host": "127.0.0.1:8080"]
        #expect(await fixture.post(fields, headers: foreign).status == 403)
        #expect(await fixture.post(fields, headers: ["Sec-Fetch-Site": "cross-site"]).status == 403)
        #expect(await fixture.post(fields, headers: ["Origin": "null"]).status == 403)
        #expect(try await fixture.jobs.allJobs().isEmpty)
        let same = ["Origin": "http://127.0.0.1:8080", "Host": "127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"]
        #expect(await fixture.post(fields, headers: same).status == 303)
        // What Chromium sends under `Referrer-Policy: no-referrer`.
        #expect(await fixture.post(fields, headers: ["Origin": "null", "Sec-Fetch-Site": "same-origin"]).status == 303)
        #expect(try await fixture.jobs.allJobs().count == 2)
    }

    @Test("a job's log reads back in the order it was written, even many steps within one millisecond")
    func logOrder() async throws {
        let fixture = try FormFixture()
        defer { fixture.remove() }
        let steps = (0..<200).map { "step-\($0)" }
        let at = Date()
        // One instant for all: only the order of the calls can order them.
        for step in steps { try await fixture.jobs.log("job-1", step: step, at: at) }
        try await fixture.jobs.log("job-2", step: "other", at: at)
        #expect(try await fixture.jobs.log(of: "job-1").map(\.step) == steps)
        #expect(try await fixture.jobs.log(of: "job-2").map(\.step) == ["other"])
    }
}
