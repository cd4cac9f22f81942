import Foundation
import TestSupport
import Testing

/// Fills a new bucket on the moto server with `images` distinct JPEGs (the Canon fixture, or
/// `source`, with a comment segment that differs) and `others` text objects under `photos/`.
private func fillBucket(
    _ server: S3TestServer, images: Int, others: Int,
    source: String = ingestFixtures.appendingPathComponent("images/et_Canon.jpg").path
) throws -> String {
    let bucket = S3TestServer.randomBucket()
    let script = """
        import struct, sys, boto3
        endpoint, key_id, secret, bucket, images, others, canon = sys.argv[1:]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=key_id, aws_secret_access_key=secret)
        s3.create_bucket(Bucket=bucket)
        jpeg = open(canon, "rb").read()
        for i in range(int(images)):
            comment = ("copy %d" % i).encode()
            body = jpeg[:2] + b"\\xff\\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:]
            s3.put_object(Bucket=bucket, Key="photos/%04d Jane Doe.jpg" % i, Body=body)
        for i in range(int(others)):
            s3.put_object(Bucket=bucket, Key="photos/readme %d.txt" % i, Body=b"not an image %d" % i)
        """
    let canon = source
    let (status, output) = try runPython(
        script,
        [
            server.endpoint, server.secrets["AWS_ACCESS_KEY_ID"] ?? "", server.secrets["AWS_SECRET_ACCESS_KEY"] ?? "",
            bucket, String(images), String(others), canon,
        ], python: S3TestServer.python)
    #expect(status == 0, "\(output)")
    return bucket
}

private func runCLI(_ arguments: [String]) async throws -> CLI.Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try CLI.run(arguments) }) }
    }
}

/// A new secrets file holding moto's keys (and `extra` entries, which win).
func keysFile(_ server: S3TestServer, in scratch: borrowing Scratch, extra: [String] = []) throws -> String {
    let keys = scratch.path("keys.env")
    try CLI.generateKeys(
        at: URL(fileURLWithPath: keys),
        extra: server.secrets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + extra)
    return keys
}

@Test("import s3:// killed with SIGKILL and run again stores every image once; a third run fetches nothing")
func importS3KillAndResume() async throws {
    let server = try await S3TestServer.shared()
    let bucket = try fillBucket(server, images: 300, others: 20)
    let scratch = try Scratch()
    let keys = try keysFile(server, in: scratch)
    let workdir = scratch.path("work")
    let common = ["--workdir", workdir, "--keys", keys]

    // Killed once some images are stored, watched from a thread of its own.
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        Thread.detachNewThread {
            continuation.resume(
                with: Result {
                    let process = Process()
                    process.executableURL = CLI.executable
                    process.arguments = ["import", "s3://\(bucket)/photos/", "--concurrency", "2"] + common
                    process.standardOutput = FileHandle.nullDevice
                    process.standardError = FileHandle.nullDevice
                    try process.run()
                    let deadline = Date().addingTimeInterval(30)
                    // Image files (not folders) under images/: the ledger records them 32 at a time.
                    func stored() -> Int {
                        let all = FileManager.default.enumerator(atPath: workdir + "/images")?.allObjects ?? []
                        return all.compactMap { $0 as? String }.filter { $0.hasSuffix(".jpg") }.count
                    }
                    while Date() < deadline, process.isRunning, stored() < 100 { usleep(20_000) }
                    kill(process.processIdentifier, SIGKILL)
                    process.waitUntilExit()
                })
        }
    }
    let resumed = try await runCLI(["import", "s3://\(bucket)/photos/"] + common)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("320 objects in s3://\(bucket)/ (1 list calls)"), "\(resumed.stderr)")
    let before = resumed.stderr.firstMatch(of: /(\d+) imported before/).flatMap { Int($0.1) } ?? 0
    #expect(before > 0 && before < 320, "\(resumed.stderr)")
    let status = try await runCLI(["status", "--workdir", workdir, "--json"])
    #expect(status.stdout.contains("\"downloaded\":300"), "\(status.stdout)")

    let again = try await runCLI(["import", "s3://\(bucket)/photos/"] + common)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stderr.contains("0 images stored, 0 duplicates, 320 imported before"), "\(again.stderr)")
    // Keys are file names: none is printed or recorded.
    for text in [resumed.stderr, again.stderr, status.stdout] { #expect(!text.contains("Jane Doe")) }
}

@Test("import s3:// with a wrong secret exits non-zero with one line naming the entries, never the secret")
func importS3WrongSecret() async throws {
    let server = try await S3TestServer.shared()
    let scratch = try Scratch()
    let secret = "Totally/Wrong+Secret/Value0123456789"
    let keys = try keysFile(server, in: scratch, extra: ["AWS_SECRET_ACCESS_KEY=\(secret)"])
    let result = try await runCLI([
        "import", "s3://photoseal-any-bucket/x/", "--workdir", scratch.path("w"), "--keys", keys,
    ])
    #expect(result.status != 0)
    #expect(result.stderr.contains("refused the credentials (SignatureDoesNotMatch)"), "\(result.stderr)")
    #expect(result.stderr.contains("AWS_SECRET_ACCESS_KEY"))
    #expect(!result.stderr.contains(secret))
    #expect(!result.stderr.contains("Trace"))
}

@Test(
    "run s3:// into PostgreSQL: every image object stored once with its EXIF sealed and a place, audit exit 0; a re-run fetches nothing",
    .tags(.integration), .enabled(if: postgresURI != nil, "PHOTOSEAL_TEST_POSTGRES_URI is not set"))
func runS3IntoPostgres() async throws {
    let server = try await S3TestServer.shared()
    // A camera photo with a GPS position, 40 distinct copies, and 5 objects that are not images.
    let bucket = try fillBucket(
        server, images: 40, others: 5, source: ingestFixtures.appendingPathComponent("images/es_DSCN0010.jpg").path)
    let database = try freshPostgresDatabase(try #require(postgresURI))
    defer { database.drop() }
    let scratch = try Scratch()
    let keys = try keysFile(server, in: scratch)
    let common = ["--workdir", scratch.path("work"), "--keys", keys, "--store", database.uri]
    let run = try await runCLI(["run", "s3://\(bucket)/photos"] + common)
    #expect(run.status == 0, "\(run.stderr)")
    #expect(run.stderr.contains("import: 45 items: 40 images stored"), "\(run.stderr)")
    // Read back through psql, not photoseal.
    #expect(try psql(database.uri, "SELECT count(*) FROM photos") == "40")
    #expect(try psql(database.uri, "SELECT count(DISTINCT doc->'image'->>'sha256') FROM photos") == "40")
    #expect(try psql(database.uri, "SELECT count(*) FROM photos WHERE doc->>'source' = 's3'") == "40")
    #expect(
        try psql(database.uri, "SELECT count(*) FROM photos WHERE length(doc->'sealed'->>'exif') > 100") == "40")
    #expect(try psql(database.uri, "SELECT count(*) FROM photos WHERE doc->'place'->>'cc' IS NOT NULL") == "40")
    // No object key (a file name, here with a person's name) reached the store.
    #expect(try psql(database.uri, "SELECT count(*) FROM photos WHERE doc::text LIKE '%Jane Doe%'") == "0")
    let audit = try await runCLI(["audit"] + common)
    #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
    let again = try await runCLI(["run"] + common)
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stderr.contains("0 images stored") && again.stderr.contains("45 already known"), "\(again.stderr)")
    #expect(again.stderr.contains("0 store writes"), "\(again.stderr)")
}
