import Crypto
import Foundation
import HTTP
import Logging
import Retry
import TestSupport
import Testing

@testable import Ingest

@Suite("AWS Signature V4")
struct SigV4Tests {
    /// The AWS documentation's example key pair ("Authenticating Requests: AWS Signature V4").
    static let docSigner = SigV4Signer(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region: "us-east-1")
    /// 2013-05-24T00:00:00Z.
    static let docDate = Date(timeIntervalSince1970: 1_369_353_600)

    @Test("the S3 documentation's pre-signed URL example is reproduced exactly")
    func presignedExample() throws {
        let query = try Self.docSigner.presignedQuery(
            host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 86400, date: Self.docDate)
        #expect(
            query
                == "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    @Test("the S3 documentation's signed GET Object example (with a Range header) is reproduced exactly")
    func headerExample() throws {
        let headers = try Self.docSigner.signedHeaders(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
            headers: [("Range", "bytes=0-9")], payloadHash: SigV4Signer.emptyPayloadHash, date: Self.docDate)
        let authorization = headers.first { $0.name == "Authorization" }?.value
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test(
        "botocore's presigner and photoseal's agree for fixed times, keys and regions",
        arguments: [
            ("us-east-1", "http://127.0.0.1:9000", "photos", "plain.jpg", 3600, 1_772_368_496),
            (
                "eu-west-3", "https://s3.eu-west-3.amazonaws.com", "my-bucket", "a dir/ün ï+ç&=.jpg", 604_800,
                1_700_000_000
            ),
            ("ap-southeast-2", "http://minio.local:8080", "b.with.dots", "deep/key/~tilde(1).png", 1, 1_234_567_890),
        ])
    func botocoreAgrees(
        region: String, endpoint: String, bucket: String, key: String, expires: Int, epoch: Int
    ) async throws {
        let python = S3TestServer.python
        try #require(FileManager.default.isExecutableFile(atPath: python), "no moto venv at \(python)")
        let secret = "s3cr3t/Key+With=Odd/Chars\(region)"
        let script = """
            import sys, datetime
            from unittest import mock
            import botocore.session
            from botocore.config import Config
            region, endpoint, bucket, key, expires, epoch, secret = sys.argv[1:]
            fixed = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).replace(tzinfo=None)
            class Frozen(datetime.datetime):
                @classmethod
                def utcnow(cls): return fixed
                @classmethod
                def now(cls, tz=None): return fixed.replace(tzinfo=tz) if tz else fixed
            with mock.patch("botocore.auth.datetime.datetime", Frozen):
                client = botocore.session.get_session().create_client(
                    "s3", region_name=region, endpoint_url=endpoint, aws_access_key_id="AKIDEXAMPLE123",
                    aws_secret_access_key=secret,
                    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
                print(client.generate_presigned_url(
                    "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=int(expires)))
            """
        let (status, output) = try runPython(
            script, [region, endpoint, bucket, key, String(expires), String(epoch), secret], python: python)
        try #require(status == 0, "\(output)")
        let http = try HTTPClient(logger: Logger(label: "test"))
        defer { http.shutdown() }
        let client = try S3Client(
            http: http,
            settings: S3Settings(
                endpoint: endpoint, region: region, accessKeyID: "AKIDEXAMPLE123", secretAccessKey: secret),
            logger: Logger(label: "test"))
        let ours = try client.presignedGetURL(
            bucket: bucket, key: key, expires: expires, date: Date(timeIntervalSince1970: Double(epoch)))
        #expect(Self.parts(ours) == Self.parts(output))
        #expect(Self.parts(ours).query["X-Amz-Signature"]?.count == 64)
    }

    @Test("a link longer than 7 days is refused before anything is signed")
    func expiryLimit() async throws {
        let http = try HTTPClient(logger: Logger(label: "test"))
        defer { http.shutdown() }
        let client = try S3Client(
            http: http, settings: S3Settings(accessKeyID: "AKID", secretAccessKey: "secret"),
            logger: Logger(label: "test"))
        #expect(throws: IngestError.self) {
            try client.presignedGetURL(bucket: "b", key: "k", expires: 604_801)
        }
        #expect(try client.presignedGetURL(bucket: "b", key: "k", expires: 604_800).contains("X-Amz-Expires=604800"))
    }

    /// A URL's address and its query options (order aside).
    struct URLParts: Equatable {
        var address: String
        var query: [String: String]
    }

    static func parts(_ url: String) -> URLParts {
        let mark = url.firstIndex(of: "?") ?? url.endIndex
        var query: [String: String] = [:]
        for option in url[mark...].dropFirst().split(separator: "&") {
            let pair = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        return URLParts(address: String(url[..<mark]), query: query)
    }
}
