import Foundation
import TestSupport
import Testing

// What the shard tests (ShardCLITests, SlurmArrayCLITests) share: reading a store and a bucket
// with Python, not with photoseal.

struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Dumps a MongoDB database's `photos` with pymongo (not photoseal) to a JSON file; returns the
/// document count.
func dumpPhotos(_ uri: String, to path: String) throws -> Int {
    let (status, output) = try runPython(
        """
        import json, sys, pymongo
        docs = list(pymongo.MongoClient(sys.argv[1]).get_default_database().photos.find())
        json.dump(docs, open(sys.argv[2], "w"), default=str)
        print(len(docs))
        """, [uri, path], python: mongoPython)
    guard status == 0, let count = Int(output) else { throw CLIFailure(message: "pymongo: \(output)") }
    return count
}

/// Compares two dumps: each id once in each, the same ids, and the same public fields (all but
/// the sealed tokens and their key record, whose random IVs and times differ by design, and the
/// `*_at` times), and the same sealed field names. Prints `same N` or the first difference.
let compareScript = """
    import json, sys
    def public(d):
        if isinstance(d, dict):
            return {k: public(v) for k, v in d.items() if k not in ("sealed", "seal") and not k.endswith("_at")}
        if isinstance(d, list):
            return [public(v) for v in d]
        return d
    a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
    for docs in (a, b):
        ids = [d["_id"] for d in docs]
        if len(set(ids)) != len(ids):
            print("an id twice"); sys.exit(1)
    by_id = {d["_id"]: d for d in b}
    if set(by_id) != {d["_id"] for d in a}:
        print("ids differ:", sorted(set(by_id) ^ {d["_id"] for d in a})[:5]); sys.exit(1)
    for d in a:
        other = by_id[d["_id"]]
        if public(d) != public(other):
            keys = sorted(k for k in set(public(d)) | set(public(other)) if public(d).get(k) != public(other).get(k))
            print("fields differ:", d["_id"], keys); sys.exit(1)
        if set(d.get("sealed") or {}) != set(other.get("sealed") or {}):
            print("sealed fields differ:", d["_id"]); sys.exit(1)
    print("same", len(a))
    """

/// Appends the moto server's S3 entries (endpoint, region, keys) to a secrets file.
func appendS3Secrets(_ server: S3TestServer, to keys: String) throws {
    try CLI.appendSecrets(server.secrets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }, to: keys)
}

/// The image objects under `s3://bucket/prefix/images/`, listed with boto3: prints
/// `<objects> <versions> <keys that have more than one version>` (a versioned bucket counts
/// every upload as a version, so an image uploaded twice shows).
func imageObjects(_ server: S3TestServer, bucket: String, prefix: String) throws -> String {
    let (status, output) = try runPython(
        """
        import sys, boto3, collections
        s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
                          aws_secret_access_key=sys.argv[3])
        bucket, prefix = sys.argv[4], sys.argv[5] + "/images/"
        objects = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        versions = s3.list_object_versions(Bucket=bucket, Prefix=prefix).get("Versions", [])
        twice = [k for k, n in collections.Counter(v["Key"] for v in versions).items() if n > 1]
        print(len(objects), len(versions), len(twice))
        """,
        [
            server.endpoint, server.secrets["AWS_ACCESS_KEY_ID"] ?? "", server.secrets["AWS_SECRET_ACCESS_KEY"] ?? "",
            bucket, prefix,
        ], python: S3TestServer.python)
    guard status == 0 else { throw CLIFailure(message: "boto3: \(output)") }
    return output.trimmingCharacters(in: .whitespacesAndNewlines)
}
