import Foundation
import TestSupport
import Testing

/// Checks a pack made from a bucket-backed workdir with boto3 and Python's zipfile, not
/// photoseal: the archive tests clean, every member's SHA-256 is the one MANIFEST.sha256 gives,
/// and each image member's bytes equal the object that ingest stored stripped, for the same
/// original, under the stripped workdir's prefix (read from moto). Prints the number of images.
private let bucketPackCheck = """
    import hashlib, json, zipfile
    zip_path, bucket, stripped_prefix = args
    z = zipfile.ZipFile(zip_path)
    assert z.testzip() is None, "bad member"
    manifest = dict(reversed(l.split("  ", 1)) for l in z.read("MANIFEST.sha256").decode().splitlines())
    assert set(manifest) == set(z.namelist()) - {"MANIFEST.sha256"}, "manifest does not list every member"
    for name, digest in manifest.items():
        assert hashlib.sha256(z.read(name)).hexdigest() == digest, "digest of " + name
    objects = [o["Key"] for o in s3.list_objects_v2(
        Bucket=bucket, Prefix=stripped_prefix + "/images/").get("Contents", [])]
    rows = [json.loads(l) for l in z.read("metadata.jsonl").decode().splitlines()]
    for row in rows:
        sha = row["image.sha256"]
        key = [k for k in objects if k.split("/")[-1].split(".")[0] == sha and not k.endswith(".fernet")]
        assert len(key) == 1, "no stripped object for " + row["id"]
        want = s3.get_object(Bucket=bucket, Key=key[0])["Body"].read()
        assert hashlib.sha256(want).hexdigest() != sha, "the object is not stripped"
        assert z.read(row["file"]) == want, "bytes of " + row["file"]
    print(len(rows))
    """

@Suite("photoseal pack from an image store in an S3 bucket", .serialized, .tags(.integration))
struct PackS3StoreCLITests {
    @Test(
        "a pack of a bucket-backed workdir (stripped and sealed images) opens in zipfile and unzip -t, each image equals the stripped original and holds no EXIF/XMP/IPTC, and --upload stores the same bytes as --out"
    )
    func packsFromBucket() async throws {
        let server = try await S3TestServer.shared()
        let bucket = S3TestServer.randomBucket()
        _ = try ImageStoreS3CLITests.boto(server, "s3.create_bucket(Bucket=args[0])", [bucket])
        let scratch = try Scratch()
        let keys = try keysFile(server, in: scratch)
        let (photos, count) = try ImageStoreS3CLITests.photos(in: scratch)
        // Folder imports carry no licence: packed only with --include-all-rights-reserved.
        let selection = ["--include-all-rights-reserved"]
        for mode in ["stripped", "sealed"] {
            let common = ["--workdir", scratch.path("work-\(mode)"), "--keys", keys]
            let imported = try await ImageStoreS3CLITests.run(
                ["import", photos, "--image-store", "s3://\(bucket)/\(mode)", "--store-images", mode] + common)
            #expect(imported.status == 0, "\(imported.stderr)")
            let local = FileManager.default.enumerator(atPath: scratch.path("work-\(mode)/images"))?.allObjects ?? []
            #expect(local.isEmpty, "\(local)")

            let zip = scratch.path("\(mode).zip")
            let pack = try await ImageStoreS3CLITests.run(["pack", "--out", zip] + selection + common)
            #expect(pack.status == 0, "\(pack.stderr)")
            #expect(pack.stderr.contains("pack: \(count) photos"), "\(pack.stderr)")
            #expect(try ImageStoreS3CLITests.boto(server, bucketPackCheck, [zip, bucket, "stripped"]) == "\(count)")
            #expect(try runProgram(["unzip", "-tq", zip]).status == 0)

            let unpacked = scratch.path("unpacked-\(mode)")
            #expect(try runProgram(["unzip", "-q", zip, "-d", unpacked]).status == 0)
            let (status, output) = try runProgram(["exiftool", "-q", "-j", "-G0", "-r", unpacked + "/images"])
            #expect(status == 0)
            let tags = try JSONSerialization.jsonObject(with: output) as? [[String: Any]] ?? []
            #expect(tags.count == count)
            for file in tags {
                let groups = Set(file.keys.compactMap { $0.split(separator: ":").first.map(String.init) })
                #expect(groups.isDisjoint(with: ["EXIF", "XMP", "IPTC", "MakerNotes"]), "\(file["SourceFile"] ?? "")")
            }

            // The same selection uploaded: the object is the zip --out wrote, byte for byte.
            let key = "sets/\(mode).zip"
            let upload = try await ImageStoreS3CLITests.run(
                ["pack", "--upload", "s3://\(bucket)/\(key)", "--part-size", "5"] + selection + common)
            #expect(upload.status == 0, "\(upload.stderr)")
            let digest = try ImageStoreS3CLITests.boto(
                server, "print(hashlib.sha256(s3.get_object(Bucket=args[0], Key=args[1])['Body'].read()).hexdigest())",
                [bucket, key])
            let localDigest = try runPython(
                "import hashlib, sys\nprint(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())", [zip]
            ).output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(digest == localDigest)
        }
    }
}
