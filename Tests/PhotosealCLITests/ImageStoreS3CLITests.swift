import Foundation
import TestSupport
import Testing

/// `--image-store s3://BUCKET/PREFIX` on the command line against moto: objects are read back
/// with boto3 and opened with Python `cryptography`, not with photoseal.
@Suite("the image store in an S3 bucket", .tags(.integration))
struct ImageStoreS3CLITests {
    /// The fixture images (every one a distinct image, with metadata) in a new folder; returns
    /// it and how many.
    static func photos(in scratch: borrowing Scratch) throws -> (String, Int) {
        let folder = scratch.path("photos")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let source = ingestFixtures.appendingPathComponent("images")
        var count = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where !name.hasSuffix(".json") {
            try FileManager.default.copyItem(
                atPath: source.appendingPathComponent(name).path,
                toPath: (folder as NSString).appendingPathComponent(name))
            count += 1
        }
        return (folder, count)
    }

    /// Runs boto3 `script` with `s3` (a client on moto) and the arguments after the bucket.
    static func boto(_ server: S3TestServer, _ script: String, _ arguments: [String]) throws -> String {
        let (status, output) = try runPython(
            """
            import sys, boto3, hashlib, json
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                              aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            args = sys.argv[4:]

            """ + script,
            [
                server.endpoint, server.secrets["AWS_ACCESS_KEY_ID"] ?? "",
                server.secrets["AWS_SECRET_ACCESS_KEY"] ?? "",
            ] + arguments, python: S3TestServer.python)
        #expect(status == 0, "\(output)")
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new bucket with versioning on: every PUT of a key makes a version, so the versions
    /// count the uploads.
    static func versionedBucket(_ server: S3TestServer) throws -> String {
        let bucket = S3TestServer.randomBucket()
        _ = try boto(
            server,
            """
            s3.create_bucket(Bucket=args[0])
            s3.put_bucket_versioning(Bucket=args[0], VersioningConfiguration={"Status": "Enabled"})
            """, [bucket])
        return bucket
    }

    /// Checks every object under `PREFIX/images/` in Python: its key is
    /// `images/<xx>/<sha256>.<ext>[.fernet]`; a sealed one opens with `keys` to the image its
    /// name says; a plain one is that image; a stripped one has no EXIF. Prints
    /// `<objects> <uploads> <mode>...`: the objects, the versions of them, each object's kind.
    static func check(_ server: S3TestServer, bucket: String, prefix: String, keys: String) throws -> String {
        try boto(
            server,
            """
            from cryptography.fernet import Fernet, MultiFernet
            bucket, prefix, keys = args
            f = MultiFernet([Fernet(k.encode()) for k in keys.split(",")])
            objects = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/images/").get("Contents", [])
            versions = s3.list_object_versions(Bucket=bucket, Prefix=prefix + "/").get("Versions", [])
            kinds = set()
            for o in objects:
                parts = o["Key"][len(prefix) + 1:].split("/")
                assert len(parts) == 3 and parts[0] == "images", o["Key"]
                sha = parts[2].split(".")[0]
                assert parts[1] == sha[:2], o["Key"]
                body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                if o["Key"].endswith(".fernet"):
                    assert hashlib.sha256(f.decrypt(body)).hexdigest() == sha, "wrong image " + o["Key"]
                    kinds.add("sealed")
                elif hashlib.sha256(body).hexdigest() == sha:
                    kinds.add("plain")
                else:
                    assert b"Exif\\x00\\x00" not in body and b"eXIf" not in body and b"EXIF" not in body[:64], "metadata left in " + o["Key"]
                    kinds.add("stripped")
            print(len(objects), len(versions), " ".join(sorted(kinds)))
            """, [bucket, prefix, keys])
    }

    /// The seal keys of a secrets file, newest first, comma-separated.
    static func sealKeys(_ file: String) throws -> String {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        return String(try #require(text.split(separator: "\n").last { $0.hasPrefix("SEAL_KEYS=") }).dropFirst(10))
    }

    static func run(_ arguments: [String]) async throws -> CLI.Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try CLI.run(arguments) }) }
        }
    }

    @Test(
        "run of a folder with --image-store stores each image once in the bucket in the mode asked, nothing in the workdir; a re-run and a second workdir upload nothing",
        arguments: ["stripped", "sealed", "plain"])
    func runStoresInBucket(mode: String) async throws {
        let server = try await S3TestServer.shared()
        let bucket = try Self.versionedBucket(server)
        let scratch = try Scratch()
        let keys = try keysFile(server, in: scratch)
        let (photos, count) = try Self.photos(in: scratch)
        let location = "s3://\(bucket)/team/shared/"
        let common = ["--workdir", scratch.path("work"), "--keys", keys, "--store", "embedded:" + scratch.path("s.db")]
        let first = try await Self.run(["run", photos, "--image-store", location, "--store-images", mode] + common)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("image store s3://\(bucket)/team/shared recorded"), "\(first.stderr)")
        // Stripped mode seals nothing here: every fixture format can be stripped.
        #expect(
            try Self.check(server, bucket: bucket, prefix: "team/shared", keys: try Self.sealKeys(keys))
                == "\(count) \(count) \(mode)")
        let local = FileManager.default.enumerator(atPath: scratch.path("work/images"))?.allObjects ?? []
        #expect(local.isEmpty, "\(local)")
        let job = try String(contentsOfFile: scratch.path("work/job.json"), encoding: .utf8)
        #expect(job.contains("\"image_store\" : \"s3://\(bucket)/team/shared\""), "\(job)")

        // The job remembers the bucket; the documents name the objects.
        let again = try await Self.run(["run"] + common)
        #expect(again.status == 0, "\(again.stderr)")
        let audit = try await Self.run(["audit"] + common)
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
        if mode == "sealed" { #expect(audit.stdout.contains("\(count) sealed images, store"), "\(audit.stdout)") }

        // Another machine's workdir on the same bucket finds every image there.
        let other = ["--workdir", scratch.path("work2"), "--keys", keys, "--store", "embedded:" + scratch.path("t.db")]
        let second = try await Self.run(["run", photos, "--image-store", location, "--store-images", mode] + other)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(
            try Self.check(server, bucket: bucket, prefix: "team/shared", keys: try Self.sealKeys(keys))
                == "\(count) \(count) \(mode)")
        // A different store for the same workdir is refused, naming both.
        let changed = try await Self.run(
            [
                "download", "--image-store", "s3://\(bucket)/elsewhere", "--workdir", scratch.path("work"), "--keys",
                keys,
            ])
        #expect(changed.status == 64, "\(changed.stderr)")
        #expect(
            changed.stderr.contains(
                "--image-store s3://\(bucket)/elsewhere is not this workdir's image store (s3://\(bucket)/team/shared"),
            "\(changed.stderr)")
    }

    @Test("rotate-keys re-seals the bucket's sealed objects (new key alone opens them), keys retire and audit pass")
    func rotateInBucket() async throws {
        let server = try await S3TestServer.shared()
        let bucket = try Self.versionedBucket(server)
        let scratch = try Scratch()
        let keys = try keysFile(server, in: scratch)
        let (photos, count) = try Self.photos(in: scratch)
        let common = ["--workdir", scratch.path("work"), "--keys", keys, "--store", "embedded:" + scratch.path("s.db")]
        let run = try await Self.run(
            ["run", photos, "--image-store", "s3://\(bucket)/p", "--store-images", "sealed"] + common)
        #expect(run.status == 0, "\(run.stderr)")
        let oldKey = try Self.sealKeys(keys)
        let oldKid = try #require(
            try CLI.run(["keys", "list", "--keys", keys]).stdout.split(separator: " ").dropFirst().first)
        let added = try CLI.run(["keys", "add", "--keys", keys])
        #expect(added.status == 0)
        let newKey = try #require(try Self.sealKeys(keys).split(separator: ",").first.map(String.init))
        let refused = try await Self.run(["keys", "retire", String(oldKid)] + common)
        #expect(refused.stderr.contains("and \(count) sealed images still use key \(oldKid)"), "\(refused.stderr)")

        let rotate = try await Self.run(["rotate-keys"] + common)
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stderr.contains("\(count) sealed images re-sealed (0 already current)"), "\(rotate.stderr)")
        // One new version per object, which the new key alone opens.
        #expect(try Self.check(server, bucket: bucket, prefix: "p", keys: newKey) == "\(count) \(2 * count) sealed")
        let retired = try await Self.run(["keys", "retire", String(oldKid)] + common)
        #expect(retired.status == 0, "\(retired.stderr)")
        let audit = try await Self.run(["audit"] + common)
        #expect(audit.status == 0, "\(audit.stdout)")
        #expect(audit.stdout.contains("\(count) sealed images, store"), "\(audit.stdout)")
        #expect(!oldKey.isEmpty)
    }

    @Test("a wrong secret or a dead endpoint for the image store is one error naming the entries; nothing is lost")
    func refusedCredentials() async throws {
        let server = try await S3TestServer.shared()
        let bucket = try Self.versionedBucket(server)
        let scratch = try Scratch()
        let keys = try keysFile(server, in: scratch)
        let (photos, count) = try Self.photos(in: scratch)
        let secret = "Totally/Wrong+Secret/Value0123456789"
        let text = try String(contentsOfFile: keys, encoding: .utf8)
        let wrong = scratch.path("wrong.env")
        let dead = scratch.path("dead.env")
        try text.replacing(/AWS_SECRET_ACCESS_KEY=.*/, with: "AWS_SECRET_ACCESS_KEY=\(secret)")
            .write(toFile: wrong, atomically: true, encoding: .utf8)
        try text.replacing(/S3_ENDPOINT=.*/, with: "S3_ENDPOINT=http://127.0.0.1:9")
            .write(toFile: dead, atomically: true, encoding: .utf8)
        for file in [wrong, dead] { chmod(file, 0o600) }
        let work = ["--workdir", scratch.path("work"), "--store", "embedded:" + scratch.path("s.db")]
        let location = "s3://\(bucket)/p"
        let refused = try await Self.run(["run", photos, "--image-store", location, "--keys", wrong] + work)
        #expect(refused.status != 0)
        let lines = refused.stderr.split(separator: "\n").filter { $0.contains("image store") }
        #expect(lines.count == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("the image store \(location) cannot be used"), "\(refused.stderr)")
        #expect(refused.stderr.contains("AWS_SECRET_ACCESS_KEY"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(secret))
        #expect(!refused.stderr.contains("Trace"))
        let unreachable = try await Self.run(["run", photos, "--image-store", location, "--keys", dead] + work)
        #expect(unreachable.status != 0)
        #expect(unreachable.stderr.contains("the image store \(location) cannot be used"), "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("127.0.0.1:9"), "\(unreachable.stderr)")
        // Nothing was recorded or stored: the same run with the right secrets file stores everything.
        #expect(!FileManager.default.fileExists(atPath: scratch.path("work/job.json")))
        let run = try await Self.run(["run", photos, "--image-store", location, "--keys", keys] + work)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            try Self.check(server, bucket: bucket, prefix: "p", keys: try Self.sealKeys(keys))
                == "\(count) \(count) stripped")
    }
}
