import Foundation
import TestSupport
import Testing

/// A workdir of three small sealed images (folder import: no licence, so packed with
/// --include-all-rights-reserved), a secrets file with moto's keys and the aiosmtpd server,
/// and a bucket.
private final class DeliveryScratch {
    let dir: URL
    let s3: S3TestServer
    let smtp: SMTPTestServer
    let bucket: String
    var common: [String] { ["--workdir", path("work"), "--keys", path("keys.env")] }

    init() async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-deliver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        s3 = try await S3TestServer.shared()
        smtp = try await SMTPTestServer.shared()
        bucket = S3TestServer.randomBucket()
        try CLI.generateKeys(
            at: URL(fileURLWithPath: path("keys.env")),
            extra: s3.secrets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [
                "SMTP_URL=\(smtp.url)", "MAIL_FROM=datasets@photoseal.example",
            ])
        try writeNoisePNGs(into: path("photos"), count: 3, width: 48, height: 48)
        let photos = path("photos")
        let arguments =
            ["import", photos, "--store-images", "sealed"] + [
                "--workdir", path("work"), "--keys", path("keys.env"),
            ]
        let imported = try await offPool { try CLI.run(arguments) }
        #expect(imported.status == 0, "\(imported.stderr)")
        let created = try runPython(
            """
            import sys, boto3
            boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
                         aws_secret_access_key=sys.argv[3]).create_bucket(Bucket=sys.argv[4])
            """,
            [s3.endpoint, s3.secrets["AWS_ACCESS_KEY_ID"] ?? "", s3.secrets["AWS_SECRET_ACCESS_KEY"] ?? "", bucket],
            python: S3TestServer.python)
        #expect(created.status == 0, "\(created.output)")
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Records a delivery of the pack to `key` for `address` at `at`.
    func request(key: String, address: String, at: String, extra: [String] = []) async throws -> CLI.Result {
        let arguments =
            [
                "pack", "--include-all-rights-reserved", "--upload", "s3://\(bucket)/\(key)", "--notify", address,
                "--at", at,
            ]
            + extra + common
        return try await offPool { try CLI.run(arguments) }
    }

    func deliver(environment: [String: String]? = nil) async throws -> CLI.Result {
        let arguments = ["deliver", "--due"] + common
        return try await offPool { try CLI.run(arguments, environment: environment) }
    }

    /// Every byte of the ledger's files (database and write-ahead log).
    func ledgerBytes() throws -> Data {
        var all = Data()
        for suffix in ["", "-wal"] {
            if let data = FileManager.default.contents(atPath: path("work/ledger.sqlite") + suffix) {
                all.append(data)
            }
        }
        return all
    }
}

@Suite("photoseal deliver --due: delivery requests sent once", .serialized, .tags(.integration))
struct DeliverCLITests {
    @Test(
        "a request due now is packed, uploaded and mailed by deliver --due, a second call sends nothing, a request for tomorrow waits, and the ledger holds the address sealed"
    )
    func deliversOnce() async throws {
        let setup = try await DeliveryScratch()
        let now = "ann.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        let later = "bob.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        let first = try await setup.request(key: "now.zip", address: now, at: "+0s")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("a***@example.org") && !first.stderr.contains(now), "\(first.stderr)")
        #expect(try await setup.request(key: "later.zip", address: later, at: "+1d").status == 0)
        let ledger = try setup.ledgerBytes()
        for address in [now, later] { #expect(ledger.range(of: Data(address.utf8)) == nil, "an address in the clear") }

        let delivered = try await setup.deliver()
        #expect(delivered.status == 0, "\(delivered.stderr)")
        #expect(delivered.stderr.contains("1 due: 1 uploaded, 1 mailed, 0 failed"), "\(delivered.stderr)")
        #expect(!delivered.stderr.contains(now))
        #expect(try setup.smtp.messages(to: now).count == 1)
        #expect(try setup.smtp.messages(to: later).isEmpty)

        let again = try await setup.deliver()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("0 due: 0 uploaded, 0 mailed, 0 failed"), "\(again.stderr)")
        #expect(try setup.smtp.messages(to: now).count == 1)
    }

    @Test(
        "a delivery recorded with --pseudonymous is packed pseudonymously by deliver --due: ids and image names are the INDEX_KEY pseudonyms of the real ids, none of which is in the zip"
    )
    func pseudonymousDelivery() async throws {
        let setup = try await DeliveryScratch()
        let address = "fi.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        let recorded = try await setup.request(
            key: "pseudo.zip", address: address, at: "+0s", extra: ["--pseudonymous"])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let delivered = try await setup.deliver()
        #expect(delivered.stderr.contains("1 due: 1 uploaded, 1 mailed, 0 failed"), "\(delivered.stderr)")
        let export = try CLI.run(["export", "--format", "jsonl"] + setup.common)
        #expect(export.status == 0, "\(export.stderr)")
        try Data(export.stdout.utf8).write(to: URL(fileURLWithPath: setup.path("export.jsonl")))
        // The real ids from export, the pseudonyms recomputed with Python's hmac from INDEX_KEY.
        let answer = try s3Python(
            setup.s3,
            """
            import base64, hashlib, hmac, io, json, zipfile
            zip_bytes = s3.get_object(Bucket=sys.argv[4], Key="pseudo.zip")["Body"].read()
            keys = dict(l.strip().split("=", 1) for l in open(sys.argv[5]) if "=" in l and not l.startswith("#"))
            index_key = base64.urlsafe_b64decode(keys["INDEX_KEY"] + "=" * (-len(keys["INDEX_KEY"]) % 4))
            k = hmac.new(index_key, b"photoseal pseudonym v1", hashlib.sha256).digest()
            real = [json.loads(l)["_id"] for l in open(sys.argv[6])]
            ps = sorted("ps:" + hmac.new(k, r.encode(), hashlib.sha256).hexdigest() for r in real)
            z = zipfile.ZipFile(io.BytesIO(zip_bytes))
            rows = [json.loads(l) for l in z.read("metadata.jsonl").decode().splitlines()]
            # (a folder import's id is local:<the file's SHA-256>, which image.sha256 shows anyway)
            leaked = [r for r in real if r.encode() in zip_bytes]
            names = sorted(n[len("images/ps_"):].split(".")[0] for n in z.namelist() if n.startswith("images/"))
            print(json.dumps({"match": sorted(r["id"] for r in rows) == ps, "count": len(rows),
                              "names": names == sorted(p[3:] for p in ps), "leaked": len(leaked),
                              "source_id": any("source_id" in r for r in rows)}))
            """, [setup.bucket, setup.path("keys.env"), setup.path("export.jsonl")])
        let result = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])
        #expect(result["count"] as? Int == 3, "\(answer)")
        #expect(result["match"] as? Bool == true, "\(answer)")
        #expect(result["names"] as? Bool == true, "\(answer)")
        #expect(result["leaked"] as? Int == 0, "\(answer)")
        #expect(result["source_id"] as? Bool == false, "\(answer)")
    }

    @Test(
        "a delivery whose mail fails after the upload is mailed by the next call without uploading again"
    )
    func mailRetriedWithoutUpload() async throws {
        let setup = try await DeliveryScratch()
        let address = "cy.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        #expect(try await setup.request(key: "retry.zip", address: address, at: "+0s").status == 0)
        // The mail server unreachable (an environment entry overrides the secrets file's).
        var environment = ProcessInfo.processInfo.environment
        environment["SMTP_URL"] = "smtp://127.0.0.1:\(try await closedLoopbackPort())"
        let failed = try await setup.deliver(environment: environment)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("1 due: 1 uploaded, 0 mailed, 1 failed"), "\(failed.stderr)")
        #expect(try setup.smtp.messages(to: address).isEmpty)

        let retried = try await setup.deliver()
        #expect(retried.status == 0, "\(retried.stderr)")
        #expect(retried.stderr.contains("1 due: 0 uploaded, 1 mailed, 0 failed"), "\(retried.stderr)")
        #expect(try setup.smtp.messages(to: address).count == 1)
    }

    @Test(
        "a delivery killed while its mail was being sent is mailed once more by the next call, and never a third time"
    )
    func killedWhileMailing() async throws {
        let setup = try await DeliveryScratch()
        let address = "di.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        #expect(try await setup.request(key: "killed.zip", address: address, at: "+0s").status == 0)
        var environment = ProcessInfo.processInfo.environment
        environment["SMTP_URL"] = "smtp://127.0.0.1:\(try await closedLoopbackPort())"
        #expect(try await setup.deliver(environment: environment).stderr.contains("1 uploaded, 0 mailed, 1 failed"))
        // What a kill during the send leaves: the attempt recorded, the mail not marked sent
        // (written with Python's sqlite3, as the ledger's schema names it).
        func setAttempts(_ n: Int) throws {
            let (status, output) = try runPython(
                "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
                    + "c.execute('UPDATE delivery SET mail_attempts = ?', (int(sys.argv[2]),))\nc.commit()",
                [setup.path("work/ledger.sqlite"), String(n)])
            #expect(status == 0, "\(output)")
        }
        try setAttempts(1)
        let resent = try await setup.deliver()
        #expect(resent.stderr.contains("1 due: 0 uploaded, 1 mailed, 0 failed"), "\(resent.stderr)")
        #expect(try setup.smtp.messages(to: address).count == 1)

        // A second kill during that send: no third mail.
        let other = "ed.\(UUID().uuidString.prefix(8).lowercased())@example.org"
        #expect(try await setup.request(key: "killed-twice.zip", address: other, at: "+0s").status == 0)
        #expect(try await setup.deliver(environment: environment).stderr.contains("1 uploaded, 0 mailed, 1 failed"))
        try setAttempts(2)
        let none = try await setup.deliver()
        #expect(none.stderr.contains("0 due: 0 uploaded, 0 mailed, 0 failed"), "\(none.stderr)")
        #expect(try setup.smtp.messages(to: other).isEmpty)
    }

    @Test(
        "the shipped systemd units pass systemd-analyze verify and the timer's calendar parses",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func systemdUnits() throws {
        let scratch = try Scratch()
        let deploy = repositoryRoot.appendingPathComponent("deploy")
        // verify checks that ExecStart's program exists: the built photoseal stands in.
        let service = try String(
            contentsOf: deploy.appendingPathComponent("photoseal-deliver.service"), encoding: .utf8
        )
        .replacingOccurrences(of: "/usr/local/bin/photoseal", with: CLI.executable.path)
        try service.write(toFile: scratch.path("photoseal-deliver.service"), atomically: true, encoding: .utf8)
        let timer = try String(contentsOf: deploy.appendingPathComponent("photoseal-deliver.timer"), encoding: .utf8)
        try timer.write(toFile: scratch.path("photoseal-deliver.timer"), atomically: true, encoding: .utf8)
        let verify = try runProgram(
            [
                "systemd-analyze", "verify", scratch.path("photoseal-deliver.service"),
                scratch.path("photoseal-deliver.timer"),
            ],
            mergingStderr: true)
        #expect(verify.status == 0, "\(String(decoding: verify.output, as: UTF8.self))")
        #expect(String(decoding: verify.output, as: UTF8.self).isEmpty)
        let calendar = try #require(
            timer.split(separator: "\n").first { $0.hasPrefix("OnCalendar=") }?.dropFirst("OnCalendar=".count))
        let parsed = try runProgram(["systemd-analyze", "calendar", String(calendar)], mergingStderr: true)
        #expect(parsed.status == 0)
        #expect(String(decoding: parsed.output, as: UTF8.self).contains("Normalized form: *-*-* *:00/5:00"))
        // The cron line and the CronJob run the same command.
        let cron = try String(contentsOf: deploy.appendingPathComponent("photoseal-deliver.cron"), encoding: .utf8)
        #expect(cron.contains("*/5 * * * * photoseal") && cron.contains("deliver --due"))
        let job = try String(
            contentsOf: deploy.appendingPathComponent("photoseal-deliver-cronjob.yaml"), encoding: .utf8)
        #expect(job.contains("schedule: \"*/5 * * * *\"") && job.contains("[\"deliver\", \"--due\""))
    }
}
