import Foundation
import TestSupport
import Testing

/// `photoseal serve` running in the background, its stderr in a file.
private final class ServeProcess {
    let process = Process()
    let log: URL
    private(set) var base = ""

    init(_ arguments: [String], log: URL) throws {
        self.log = log
        try Data().write(to: log)
        process.executableURL = CLI.executable
        process.arguments = ["serve", "--port", "0"] + arguments
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let text = stderr
            if let range = text.range(of: #"http://127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                base = String(text[range])
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "serve did not start: \(stderr)"])
    }

    var stderr: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits for the exit; returns the status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// One HTTP exchange through curl: status, headers and body.
private func curl(_ arguments: [String]) throws -> (status: Int, headers: String, body: String) {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("ps-curl-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let (code, data) = try runProgram(
        ["/usr/bin/curl", "-sS", "-o", scratch.path, "-D", "-", "-w", "\n%{http_code}"] + arguments,
        mergingStderr: true)
    let output = String(decoding: data, as: UTF8.self)
    #expect(code == 0, "\(output)")
    let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
    let status = Int(lines.last ?? "") ?? 0
    let body = (try? String(contentsOf: scratch, encoding: .utf8)) ?? ""
    return (status, lines.dropLast().joined(separator: "\n"), body)
}

/// The form's hidden anti-forgery token.
private func csrfToken(_ page: String) throws -> String {
    let range = try #require(page.range(of: #"name="csrf" value="[0-9a-f]+""#, options: .regularExpression))
    return String(page[range].dropFirst(#"name="csrf" value=""#.count).dropLast())
}

/// A POST of the form's fields (url-encoded by curl).
private func post(_ base: String, _ fields: [(String, String)], headers: [String] = []) throws -> (
    status: Int, headers: String, body: String
) {
    var arguments: [String] = []
    for (name, value) in fields { arguments += ["--data-urlencode", "\(name)=\(value)"] }
    for header in headers { arguments += ["-H", header] }
    return try curl(arguments + [base + "/request"])
}

@Suite("photoseal serve --form: requests become jobs that end with a mail", .serialized, .tags(.integration, .slow))
struct RequestFormCLITests {
    @Test(
        "a request posted to the form is checked field by field and recorded as a job; deliver --due runs, packs and uploads it, a failed mail is sent by the next pass without uploading again, a further pass sends nothing; the zip holds the job's photos; the address is never in a log"
    )
    func requestToMail() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let images = try RunImageServer(dir: scratch.images, delay: 0)
        defer { images.stop() }
        let flickr = try FlickrServer(["--per-second", "15", "--image-server", images.base])
        defer { flickr.stop() }
        let vision = try RunVisionServer()
        defer { vision.stop() }
        let truth = try flickrTruth(flickr, term: "monkey", bbox: "5,35,20,48", min: "0", max: "4102444800")
        try scratch.serveImages(for: truth.all)
        let (s3, smtp, bucket) = try await formServers(keys: scratch.keys)
        let store = "embedded:" + scratch.dir.appendingPathComponent("store.sqlite").path
        let common = ["--workdir", scratch.work, "--keys", scratch.keys, "--store", store]

        let serve = try ServeProcess(
            common + ["--form", "s3://\(bucket)/requests"], log: scratch.dir.appendingPathComponent("serve.log"))
        defer { serve.stop() }
        let gallery = try curl([serve.base + "/"])
        #expect(gallery.body.contains("href=\"/request\""), "the gallery links to the form")
        let form = try curl([serve.base + "/request"])
        #expect(form.status == 200)
        let token = try csrfToken(form.body)

        // Every field wrong: each problem next to its field, the values given shown again.
        let address = "ann.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        let bad = try post(
            serve.base,
            [
                ("csrf", token), ("terms", " , "), ("bbox", "500,1,2"), ("images", "0"), ("email", "not-an-address"),
                ("deliver_at", "yesterday"),
            ])
        #expect(bad.status == 400)
        for field in ["terms", "bbox", "images", "email", "deliver_at"] {
            #expect(bad.body.contains("id=\"\(field)-error\""), "no error shown for \(field)")
        }
        #expect(bad.body.contains("value=\"500,1,2\"") && bad.body.contains("value=\"not-an-address\""))
        // One field wrong: only that one is named, the others are kept as given.
        let oneBad = try post(
            serve.base,
            [("csrf", token), ("terms", "monkey"), ("bbox", "5,35,20,48"), ("images", "5000"), ("email", address)])
        #expect(oneBad.status == 400)
        #expect(oneBad.body.contains("id=\"images-error\""))
        for field in ["terms", "bbox", "email", "deliver_at"] {
            #expect(!oneBad.body.contains("id=\"\(field)-error\""))
        }
        #expect(oneBad.body.contains("value=\"5,35,20,48\"") && oneBad.body.contains("value=\"\(address)\""))
        // Forged posts: no token, or another site's page.
        let good = [("terms", "monkey"), ("bbox", "5,35,20,48"), ("images", "20"), ("email", address)]
        #expect(try post(serve.base, good).status == 403)
        #expect(try post(serve.base, [("csrf", token)] + good, headers: ["Origin: http://evil.example"]).status == 403)

        let accepted = try post(serve.base, [("csrf", token)] + good, headers: ["Origin: \(serve.base)"])
        #expect(accepted.status == 303, "\(accepted.body)")
        let location = try #require(
            accepted.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") })
        let id = String(location.split(separator: "/").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        func job() throws -> [String: Any] {
            let answer = try curl([serve.base + "/api/job?id=\(id)"])
            #expect(answer.status == 200, "\(answer.body)")
            return try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        }
        #expect(try job()["state"] as? String == "queued")

        let deliverArguments =
            ["deliver", "--due"] + common + [
                "--flickr-endpoint", flickr.endpoint, "--vision-endpoint", vision.endpoint,
            ]
        // The mail server down: run, pack and upload are done and recorded, the mail fails.
        var noMail = ProcessInfo.processInfo.environment
        noMail["SMTP_URL"] = "smtp://127.0.0.1:\(try await closedLoopbackPort())"
        let environment = noMail
        let failed = try await offPool { try CLI.run(deliverArguments, environment: environment) }
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("jobs: 1 open: 1 ran, 1 uploaded, 0 mailed, 1 failed"), "\(failed.stderr)")
        #expect(try job()["state"] as? String == "uploaded")
        #expect(try smtp.messages(to: address).isEmpty)
        // The next pass mails without running or uploading again.
        let delivered = try await offPool { try CLI.run(deliverArguments) }
        #expect(delivered.status == 0, "\(delivered.stderr)")
        #expect(
            delivered.stderr.contains("jobs: 1 open: 0 ran, 0 uploaded, 1 mailed, 0 failed"), "\(delivered.stderr)")
        let done = try job()
        #expect(done["state"] as? String == "mailed")
        let log = done["log"] as? [[String: Any]] ?? []
        let steps = log.compactMap { $0["step"] as? String }
        #expect(steps == ["queued", "run", "pack", "upload", "failed", "mailed"], "\(done)")
        let cause = log.first { $0["step"] as? String == "failed" }?["detail"] as? String ?? ""
        #expect(!cause.isEmpty && !cause.contains(address), "\(cause)")
        let photos = try #require(done["photos"] as? Int)
        #expect(photos > 0 && photos <= 20)

        // The mail's link names the job's zip; the zip holds the job's photos, found by its search.
        let mail = try checkedMail(to: address, smtp: smtp, s3: s3)
        let link = try #require((mail["links"] as? [String])?.first)
        #expect(link.hasPrefix(s3.endpoint + "/\(bucket)/requests/\(id).zip?"), "\(link)")
        #expect(mail["valid_signature"] as? Bool == true)
        let zip = try s3Python(
            s3,
            """
            import io, zipfile, hashlib
            data = s3.get_object(Bucket=sys.argv[4], Key=sys.argv[5])['Body'].read()
            z = zipfile.ZipFile(io.BytesIO(data))
            assert z.testzip() is None
            names = [n for n in z.namelist() if n.startswith('images/')]
            print(hashlib.sha256(data).hexdigest())
            print(' '.join(sorted(n.split('/')[1].split('.')[0] for n in names)))
            """, [bucket, "requests/\(id).zip"])
        let lines = zip.split(separator: "\n").map(String.init)
        let packedIDs = (lines.count > 1 ? lines[1] : "").split(separator: " ").map(String.init)
        #expect(packedIDs.count == photos)
        #expect(Set(packedIDs).isSubset(of: Set(truth.all.map { "flickr_\($0)" }).union(truth.all)), "\(packedIDs)")
        if mail["status"] as? Int == 200 { #expect(mail["bytes_sha256"] as? String == lines.first) }

        // Sent once: a second pass finds nothing to do.
        let again = try await offPool { try CLI.run(deliverArguments) }
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("jobs: 0 open"), "\(again.stderr)")
        #expect(try smtp.messages(to: address).count == 1)

        serve.stop()
        for log in [serve.stderr, failed.stderr, delivered.stderr, again.stderr] {
            #expect(!log.contains(address), "the address is in a log")
        }
    }
}

extension RequestFormCLITests {
    @Test(
        "serve --worker takes a posted request to its mail by itself (asked pseudonymous: the zip names no Flickr id), and stops with the server on SIGTERM (exit 0)"
    )
    func worker() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let images = try RunImageServer(dir: scratch.images, delay: 0)
        defer { images.stop() }
        let flickr = try FlickrServer(["--per-second", "15", "--image-server", images.base])
        defer { flickr.stop() }
        let truth = try flickrTruth(flickr, term: "monkey", bbox: "5,35,20,48", min: "0", max: "4102444800")
        try scratch.serveImages(for: truth.all)
        let (s3, smtp, bucket) = try await formServers(keys: scratch.keys)
        let store = "embedded:" + scratch.dir.appendingPathComponent("store.sqlite").path
        let serve = try ServeProcess(
            [
                "--workdir", scratch.work, "--keys", scratch.keys, "--store", store, "--form", "s3://\(bucket)/w",
                "--worker", "--worker-interval", "1", "--flickr-endpoint", flickr.endpoint,
            ], log: scratch.dir.appendingPathComponent("serve.log"))
        defer { serve.stop() }
        let form = try curl([serve.base + "/request"]).body
        #expect(form.contains("name=\"pseudonymous\""), "the form offers the pseudonymous checkbox")
        let token = try csrfToken(form)
        let address = "wo.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        let accepted = try post(
            serve.base,
            [
                ("csrf", token), ("terms", "monkey"), ("bbox", "5,35,20,48"), ("images", "8"), ("email", address),
                ("pseudonymous", "on"),
            ])
        #expect(accepted.status == 303, "\(accepted.body)")
        let location = try #require(
            accepted.headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") })
        let id = String(location.split(separator: "/").last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline, try smtp.messages(to: address).isEmpty {
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(try smtp.messages(to: address).count == 1, "\(serve.stderr)")
        // Packed pseudonymously: every image named by a pseudonym, no id the search found in any byte.
        let packed = try s3Python(
            s3,
            """
            import io, json, re, zipfile
            data = s3.get_object(Bucket=sys.argv[4], Key=sys.argv[5])['Body'].read()
            z = zipfile.ZipFile(io.BytesIO(data))
            names = [n for n in z.namelist() if n.startswith('images/')]
            rows = [json.loads(l) for l in z.read('metadata.jsonl').decode().splitlines()]
            text = b''.join(z.read(n) for n in z.namelist() if not n.startswith('images/'))
            print(json.dumps({"images": len(names), "named": all(re.fullmatch(r'images/ps_[0-9a-f]{64}\\.[a-z]+', n)
                              for n in names), "ids": all(r['id'].startswith('ps:') for r in rows),
                              "leaked": [i for i in sys.argv[6].split(',') if i.encode() in text]}))
            """, [bucket, "w/\(id).zip", truth.all.joined(separator: ",")])
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(packed.utf8)) as? [String: Any])
        #expect((answer["images"] as? Int ?? 0) > 0, "\(answer)")
        #expect(answer["named"] as? Bool == true && answer["ids"] as? Bool == true, "\(answer)")
        #expect((answer["leaked"] as? [String])?.isEmpty == true, "\(answer)")
        #expect(serve.stop() == 0, "\(serve.stderr)")
        #expect(serve.stderr.contains("worker: stopped"), "\(serve.stderr)")
        #expect(!serve.stderr.contains(address))
    }
}

/// The shared S3 and SMTP test servers with a new bucket, their secrets (and `MAIL_FROM`)
/// appended to the secrets file at `keys`.
private func formServers(keys: String) async throws -> (s3: S3TestServer, smtp: SMTPTestServer, bucket: String) {
    let s3 = try await S3TestServer.shared()
    let smtp = try await SMTPTestServer.shared()
    let bucket = S3TestServer.randomBucket()
    _ = try s3Python(s3, "s3.create_bucket(Bucket=sys.argv[4])", [bucket])
    try appendS3Secrets(s3, to: keys)
    try CLI.appendSecrets(["SMTP_URL=\(smtp.url)", "MAIL_FROM=datasets@photoseal.example"], to: keys)
    return (s3, smtp, bucket)
}
