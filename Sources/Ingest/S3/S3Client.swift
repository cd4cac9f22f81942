public import Crypto
public import Foundation
public import HTTP
public import Logging
public import Retry

/// Where an S3 service is and how to sign for it: credentials, region and endpoint.
///
/// Read from the secrets file (or the environment, which overrides single entries):
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION` (default `us-east-1`) and
/// `S3_ENDPOINT` (default `https://s3.<region>.amazonaws.com`; set it for MinIO, Ceph or any
/// S3-compatible service). Requests use path-style addressing (`<endpoint>/<bucket>/<key>`),
/// which every S3-compatible service understands.
public struct S3Settings: Sendable, CustomStringConvertible {
    /// The endpoint URL (`https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`).
    public var endpoint: String
    /// The signing region.
    public var region: String
    /// The signer holding the access key id and the secret key.
    public var signer: SigV4Signer
    /// Where the credentials came from, for messages (`the secrets file keys.env`).
    public var credentialsSource: String

    /// Settings from explicit values.
    public init(
        endpoint: String? = nil, region: String = "us-east-1", accessKeyID: String, secretAccessKey: String,
        credentialsSource: String = "the secrets file"
    ) {
        self.region = region
        self.endpoint = endpoint ?? "https://s3.\(region).amazonaws.com"
        self.signer = SigV4Signer(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, region: region)
        self.credentialsSource = credentialsSource
    }

    /// The secrets-file entry names read by `init(secrets:)`.
    public static let secretNames = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "S3_ENDPOINT"]

    /// Settings from the secrets file (environment overrides applied by `Secrets.load`).
    /// - Throws: `IngestError.configuration` naming the missing entry and where to put it.
    public init(secrets: Secrets) throws {
        guard let id = secrets["AWS_ACCESS_KEY_ID"], let key = secrets["AWS_SECRET_ACCESS_KEY"] else {
            throw IngestError(
                .configuration,
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in \(secrets.sourceDescription) "
                    + "(and S3_ENDPOINT for an S3-compatible service)")
        }
        self.init(
            endpoint: secrets["S3_ENDPOINT"], region: secrets["AWS_REGION"] ?? "us-east-1", accessKeyID: id,
            secretAccessKey: key, credentialsSource: secrets.sourceDescription)
    }

    /// Names the endpoint, region and key id, never the secret.
    public var description: String { "S3Settings(\(HTTPEndpoint.hostPort(endpoint)), \(region))" }
}

/// A bucket and a key (or key prefix), from `s3://BUCKET/KEY`.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    /// The bucket.
    public var bucket: String
    /// The key or prefix (may be empty: the whole bucket).
    public var key: String

    /// Makes a location.
    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://BUCKET` or `s3://BUCKET/KEY`.
    /// - Throws: `IngestError.configuration` when the text is not such a URL.
    public init(parsing text: String) throws {
        guard text.lowercased().hasPrefix("s3://") else {
            throw IngestError(.configuration, "'\(text)' is not an s3://BUCKET/PREFIX location")
        }
        let rest = text.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else {
            throw IngestError(.configuration, "'\(text)' names no bucket; write s3://BUCKET/PREFIX")
        }
        self.bucket = String(bucket)
        key = String(rest.dropFirst(bucket.count + 1))
    }

    /// Whether an import argument is an S3 location.
    public static func isS3(_ text: String) -> Bool { text.lowercased().hasPrefix("s3://") }

    /// `s3://bucket/key`.
    public var description: String { "s3://\(bucket)/\(key)" }
}

/// One object of a listing.
public struct S3Object: Sendable, Equatable {
    /// The key.
    public var key: String
    /// Its size in bytes.
    public var size: Int64
    /// Its ETag, quotes removed (the MD5 of the content for a single-part upload).
    public var etag: String
}

/// One page of ListObjectsV2.
public struct S3ListPage: Sendable {
    /// The objects of the page, in key order.
    public var objects: [S3Object]
    /// The token for the next page, or `nil` on the last one.
    public var continuationToken: String?
}

/// One stored part of a multipart upload.
public struct S3Part: Sendable, Equatable {
    /// The part number, 1 ... 10,000.
    public var number: Int
    /// Its ETag as S3 returned it (quotes removed).
    public var etag: String
    /// Its size in bytes.
    public var size: Int64

    /// Makes a part record (for `completeMultipartUpload`).
    public init(number: Int, etag: String, size: Int64 = 0) {
        self.number = number
        self.etag = etag
        self.size = size
    }
}

/// A multipart upload that was started and neither completed nor aborted.
public struct S3Upload: Sendable, Equatable {
    /// Its key.
    public var key: String
    /// Its upload id.
    public var uploadID: String
}

/// What HeadObject tells about an object.
public struct S3ObjectInfo: Sendable, Equatable {
    /// Its size in bytes.
    public var size: Int64
    /// Its ETag, quotes removed.
    public var etag: String
    /// Its `Content-Type`, if any.
    public var contentType: String?
}

/// An S3 client on the project's `HTTPClient`: AWS Signature V4, path-style addressing, the
/// operations photoseal needs (list, get, head, put, multipart upload, pre-signed GET URLs).
///
/// Transient failures (transport errors, 5xx, `SlowDown`, 429) are retried under the
/// `RetryPolicy`; refused credentials (`SignatureDoesNotMatch`, `InvalidAccessKeyId`) stop at
/// once with one message naming the secrets-file entries. Errors name the bucket and key,
/// never the secret key.
public final class S3Client: Sendable {
    /// The service settings.
    public let settings: S3Settings
    let http: HTTPClient
    let retry: RetryPolicy
    let logger: Logger
    /// The endpoint without a trailing `/`.
    private let base: String
    /// The `Host` header the requests carry (port only when not the scheme's default).
    private let host: String
    /// `scheme://host[:port]`.
    private let origin: String
    /// A path the endpoint itself has (`/s3` in `http://gateway/s3`), encoded; usually empty.
    private let basePath: String

    /// Makes a client.
    /// - Throws: `IngestError.configuration` when the endpoint is not an http(s) URL.
    public init(http: HTTPClient, settings: S3Settings, retry: RetryPolicy = RetryPolicy(), logger: Logger) throws {
        guard let url = URL(string: settings.endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let hostName = url.host, !hostName.isEmpty
        else {
            throw IngestError(
                .configuration, "the S3 endpoint '\(settings.endpoint)' is not an http(s) URL; check S3_ENDPOINT")
        }
        self.http = http
        self.settings = settings
        self.retry = retry
        self.logger = logger
        var trimmed = settings.endpoint
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        base = trimmed
        let shownHost = hostName.contains(":") && !hostName.hasPrefix("[") ? "[\(hostName)]" : hostName
        if let port = url.port, port != (scheme == "https" ? 443 : 80) {
            host = "\(shownHost):\(port)"
        } else {
            host = shownHost
        }
        origin = "\(scheme)://\(host)"
        let path = url.path
        basePath =
            path == "/" ? "" : SigV4Signer.encode(path.hasSuffix("/") ? String(path.dropLast()) : path, keepSlash: true)
    }

    // MARK: Buckets and listings

    /// Creates a bucket (tests and first-time setup); an existing bucket owned by the caller is
    /// not an error.
    public func createBucket(_ bucket: String) async throws {
        // Outside us-east-1 S3 wants the region named in the body.
        let body =
            settings.region == "us-east-1"
            ? []
            : Array(
                ("<CreateBucketConfiguration><LocationConstraint>\(MarkupText.escape(settings.region))"
                    + "</LocationConstraint></CreateBucketConfiguration>").utf8)
        let response = try await call("PUT", bucket: bucket, key: nil, body: body, accept: [200, 409])
        if response.status == 409, let error = Self.errorCode(response.body), error != "BucketAlreadyOwnedByYou" {
            throw failure(response, bucket: bucket, key: nil)
        }
    }

    /// One page of ListObjectsV2 under `prefix`.
    /// - Parameters:
    ///   - continuationToken: the previous page's token; `nil` for the first page.
    ///   - maxKeys: most keys in the page (S3 caps it at 1,000).
    public func listObjects(bucket: String, prefix: String, continuationToken: String? = nil, maxKeys: Int = 1000)
        async throws -> S3ListPage
    {
        var query: [(name: String, value: String)] = [("list-type", "2"), ("max-keys", String(maxKeys))]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        let response = try await call("GET", bucket: bucket, key: nil, query: query)
        guard let root = S3XMLNode.parse(response.body), root.name == "ListBucketResult" else {
            throw malformed("ListObjectsV2", bucket: bucket, key: prefix)
        }
        let objects = root.all("Contents").compactMap { node -> S3Object? in
            guard let key = node.value("Key") else { return nil }
            return S3Object(
                key: key, size: Int64(node.value("Size") ?? "") ?? 0, etag: Self.unquoted(node.value("ETag") ?? ""))
        }
        let truncated = root.value("IsTruncated") == "true"
        let next = root.value("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        if truncated, next == nil {
            throw malformed("ListObjectsV2 (truncated page without a token)", bucket: bucket, key: prefix)
        }
        return S3ListPage(objects: objects, continuationToken: truncated ? next : nil)
    }

    /// Lists every object under `prefix`, page by page (memory holds one page).
    /// - Parameter body: called with each page's objects, in key order.
    /// - Returns: the number of list calls made.
    @discardableResult
    public func forEachPage(
        bucket: String, prefix: String, maxKeys: Int = 1000, _ body: ([S3Object]) async throws -> Void
    ) async throws -> Int {
        var token: String?
        var calls = 0
        repeat {
            let page = try await listObjects(bucket: bucket, prefix: prefix, continuationToken: token, maxKeys: maxKeys)
            calls += 1
            try await body(page.objects)
            token = page.continuationToken
        } while token != nil
        return calls
    }

    // MARK: Objects

    /// HeadObject: the object's size and ETag, or `nil` when there is no such key.
    public func headObject(bucket: String, key: String) async throws -> S3ObjectInfo? {
        let response = try await call("HEAD", bucket: bucket, key: key, accept: [200, 404])
        guard response.status == 200 else { return nil }
        return S3ObjectInfo(
            size: response.contentLength.map(Int64.init) ?? 0, etag: Self.unquoted(response.header("ETag") ?? ""),
            contentType: response.header("Content-Type"))
    }

    /// GetObject into memory (objects up to `maxBytes`).
    public func getObject(bucket: String, key: String, maxBytes: Int = 64 << 20) async throws -> [UInt8] {
        try await call("GET", bucket: bucket, key: key, maxBodyBytes: maxBytes).body
    }

    /// GetObject streamed into a sink: each attempt gets a fresh sink from `makeSink`, and a
    /// failed attempt's sink is handed to `discard` (to drop what it received).
    ///
    /// A sink that stops the transfer itself (returns `false`, e.g. the body is not an image)
    /// ends the call at once with the transport error, not retried.
    /// - Returns: the sink that received the whole body of a 200 answer.
    public func getObject<Sink: HTTPBodySink>(
        bucket: String, key: String, makeSink: () throws -> Sink, discard: (Sink) -> Void = { _ in }
    ) async throws -> Sink {
        try await retrying("GetObject", bucket: bucket) { _ in
            let sink = try makeSink()
            let wrapper = ErrorCapture(inner: sink)
            let response: HTTPResponse
            do {
                response = try await sendSigned(
                    "GET", bucket: bucket, key: key, query: [], headers: [], body: nil, sink: wrapper)
            } catch let caught as IngestError {
                discard(sink)
                // The sink's own refusal (`aborted`) is its decision: not retried, as it is permanent.
                throw caught.with(message: "S3 GetObject of \(Self.name(bucket, key)) failed: \(caught.message)")
            }
            if response.status == 200 { return sink }
            discard(sink)
            throw failure(
                HTTPResponse(status: response.status, headers: response.headers, body: wrapper.errorBody),
                bucket: bucket, key: key)
        }
    }

    /// PutObject of a whole body.
    /// - Returns: the new object's ETag.
    @discardableResult
    public func putObject(
        bucket: String, key: String, body: [UInt8], contentType: String = "application/octet-stream"
    ) async throws -> String {
        let response = try await call(
            "PUT", bucket: bucket, key: key, headers: [("Content-Type", contentType)], body: body)
        return Self.unquoted(response.header("ETag") ?? "")
    }

    /// DeleteObject (a missing key is not an error).
    public func deleteObject(bucket: String, key: String) async throws {
        _ = try await call("DELETE", bucket: bucket, key: key, accept: [200, 204, 404])
    }

    // MARK: Multipart upload

    /// CreateMultipartUpload.
    /// - Returns: the upload id.
    public func createMultipartUpload(
        bucket: String, key: String, contentType: String = "application/octet-stream"
    ) async throws -> String {
        let response = try await call(
            "POST", bucket: bucket, key: key, query: [("uploads", "")], headers: [("Content-Type", contentType)],
            body: [])
        guard let root = S3XMLNode.parse(response.body), let id = root.value("UploadId"), !id.isEmpty else {
            throw malformed("CreateMultipartUpload", bucket: bucket, key: key)
        }
        return id
    }

    /// UploadPart: one part (5 MiB at least, except the last; number 1 ... 10,000).
    /// - Returns: the part's ETag, needed by `completeMultipartUpload`.
    public func uploadPart(bucket: String, key: String, uploadID: String, number: Int, body: [UInt8])
        async throws -> String
    {
        let response = try await call(
            "PUT", bucket: bucket, key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
            headers: [("Content-Type", "application/octet-stream")], body: body)
        guard let etag = response.header("ETag"), !etag.isEmpty else {
            throw malformed("UploadPart (no ETag)", bucket: bucket, key: key)
        }
        return Self.unquoted(etag)
    }

    /// ListParts: the parts already stored for an upload (all pages), for resuming it.
    public func listParts(bucket: String, key: String, uploadID: String) async throws -> [S3Part] {
        var parts: [S3Part] = []
        var marker: String?
        repeat {
            var query: [(name: String, value: String)] = [("uploadId", uploadID)]
            if let marker { query.append(("part-number-marker", marker)) }
            let response = try await call("GET", bucket: bucket, key: key, query: query)
            guard let root = S3XMLNode.parse(response.body), root.name == "ListPartsResult" else {
                throw malformed("ListParts", bucket: bucket, key: key)
            }
            for node in root.all("Part") {
                guard let number = node.value("PartNumber").flatMap(Int.init), let etag = node.value("ETag") else {
                    continue
                }
                parts.append(
                    S3Part(number: number, etag: Self.unquoted(etag), size: Int64(node.value("Size") ?? "") ?? 0))
            }
            let truncated = root.value("IsTruncated") == "true"
            marker = truncated ? root.value("NextPartNumberMarker") : nil
        } while marker != nil
        return parts.sorted { $0.number < $1.number }
    }

    /// ListMultipartUploads: uploads started under `prefix` and not finished (oldest first),
    /// to find the upload id of a killed upload.
    public func listMultipartUploads(bucket: String, prefix: String) async throws -> [S3Upload] {
        var query: [(name: String, value: String)] = [("uploads", "")]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        let response = try await call("GET", bucket: bucket, key: nil, query: query)
        guard let root = S3XMLNode.parse(response.body), root.name == "ListMultipartUploadsResult" else {
            throw malformed("ListMultipartUploads", bucket: bucket, key: prefix)
        }
        return root.all("Upload").compactMap { node in
            guard let key = node.value("Key"), let id = node.value("UploadId") else { return nil }
            return S3Upload(key: key, uploadID: id)
        }
    }

    /// CompleteMultipartUpload with the parts in number order.
    /// - Returns: the object's ETag.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadID: String, parts: [S3Part])
        async throws -> String
    {
        var xml = "<CompleteMultipartUpload>"
        for part in parts.sorted(by: { $0.number < $1.number }) {
            xml +=
                "<Part><PartNumber>\(part.number)</PartNumber><ETag>\"\(MarkupText.escape(part.etag))\"</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        // The server assembles the object before it answers: minutes for a large one, in
        // silence on S3-compatible servers (moto took over 30 s for 2 GB). Without the longer
        // low-speed window the call timed out and its retries failed on the half-done upload.
        let response = try await call(
            "POST", bucket: bucket, key: key, query: [("uploadId", uploadID)],
            headers: [("Content-Type", "application/xml")], body: Array(xml.utf8),
            lowSpeedTime: Self.completeLowSpeedTime)
        // S3 may answer 200 with an error document after a long completion.
        guard let root = S3XMLNode.parse(response.body) else {
            throw malformed("CompleteMultipartUpload", bucket: bucket, key: key)
        }
        if root.name == "Error" {
            throw failure(HTTPResponse(status: 500, headers: [], body: response.body), bucket: bucket, key: key)
        }
        return Self.unquoted(root.value("ETag") ?? "")
    }

    /// Seconds CompleteMultipartUpload may wait for its answer without a byte (15 minutes).
    static let completeLowSpeedTime = 900

    /// AbortMultipartUpload (an unknown upload id is not an error).
    public func abortMultipartUpload(bucket: String, key: String, uploadID: String) async throws {
        _ = try await call(
            "DELETE", bucket: bucket, key: key, query: [("uploadId", uploadID)], accept: [200, 204, 404])
    }

    /// What `uploadResumable` did.
    public struct UploadResult: Sendable, Equatable {
        /// The object's ETag.
        public var etag: String
        /// Parts sent by this call.
        public var partsSent: Int
        /// Parts found already stored by an earlier, interrupted call (not sent again).
        public var partsReused: Int
    }

    /// Uploads `size` bytes as a multipart upload, resuming an interrupted one: the newest
    /// unfinished upload of `key` is continued, and only the parts it does not hold (with the
    /// expected size) are sent. Parts are read through `readPart` one at a time, so memory holds
    /// one part whatever the size.
    ///
    /// - Parameters:
    ///   - partSize: bytes per part (at least 5 MiB, S3's minimum for all parts but the last;
    ///     at most 10,000 parts).
    ///   - readPart: the bytes at `offset`, `count` long.
    /// - Throws: `IngestError.configuration` for a size needing more than 10,000 parts, S3 errors
    ///   as the other calls, and what `readPart` throws (the parts sent so far stay for a resume).
    public func uploadResumable(
        bucket: String, key: String, size: Int64, partSize: Int = 8 << 20,
        contentType: String = "application/octet-stream",
        readPart: (_ offset: Int64, _ count: Int) throws -> [UInt8]
    ) async throws -> UploadResult {
        let partSize = max(partSize, 5 << 20)
        let count = max(1, Int((size + Int64(partSize) - 1) / Int64(partSize)))
        guard count <= 10_000 else {
            throw IngestError(
                .configuration,
                "\(Self.name(bucket, key)) needs \(count) parts of \(partSize) bytes; S3 allows 10000, use larger parts"
            )
        }
        let earlier = try await listMultipartUploads(bucket: bucket, prefix: key).last { $0.key == key }
        let uploadID: String
        var stored: [Int: S3Part] = [:]
        if let earlier {
            uploadID = earlier.uploadID
            for part in try await listParts(bucket: bucket, key: key, uploadID: uploadID) { stored[part.number] = part }
        } else {
            uploadID = try await createMultipartUpload(bucket: bucket, key: key, contentType: contentType)
        }
        var parts: [S3Part] = []
        var sent = 0
        var reused = 0
        for number in 1...count {
            let offset = Int64(number - 1) * Int64(partSize)
            let length = Int(min(Int64(partSize), size - offset))
            if let part = stored[number], part.size == Int64(length) {
                parts.append(part)
                reused += 1
                continue
            }
            let bytes = try readPart(offset, length)
            let etag = try await uploadPart(bucket: bucket, key: key, uploadID: uploadID, number: number, body: bytes)
            parts.append(S3Part(number: number, etag: etag, size: Int64(bytes.count)))
            sent += 1
        }
        let etag = try await completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts)
        return UploadResult(etag: etag, partsSent: sent, partsReused: reused)
    }

    // MARK: Pre-signed URLs

    /// A pre-signed GET URL for an object: anyone holding it may download the object until it
    /// expires.
    /// - Parameters:
    ///   - expires: seconds, 1 ... 604,800 (7 days, S3's limit).
    ///   - date: the signing time (tests fix it).
    /// - Throws: `IngestError.configuration` for an expiry out of range.
    public func presignedGetURL(bucket: String, key: String, expires: Int, date: Date = Date()) throws -> String {
        guard (1...SigV4Signer.maxPresignedSeconds).contains(expires) else {
            throw IngestError(
                .configuration,
                "a download link lasts from 1 second to 7 days (604800 s); \(expires) s was asked for \(Self.name(bucket, key))"
            )
        }
        let path = self.path(bucket: bucket, key: key)
        do {
            let query = try settings.signer.presignedQuery(host: host, path: path, expires: expires, date: date)
            return origin + path + "?" + query
        } catch {
            throw IngestError.wrapping(error, context: "signing a link to \(Self.name(bucket, key))")
        }
    }

    // MARK: Requests

    /// The encoded request path of a bucket or object.
    func path(bucket: String, key: String?) -> String {
        var path = basePath + "/" + SigV4Signer.encode(bucket)
        if let key { path += "/" + SigV4Signer.encode(key, keepSlash: true) }
        return path
    }

    /// One signed request, retried; an answer outside `accept` (default: 2xx) becomes the
    /// S3 error it carries.
    private func call(
        _ method: String, bucket: String, key: String?, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: [UInt8]? = nil, accept: Set<Int> = [],
        maxBodyBytes: Int = 64 << 20, lowSpeedTime: Int? = nil
    ) async throws -> HTTPResponse {
        let operation = "\(method) \(Self.name(bucket, key ?? ""))"
        return try await retrying(method, bucket: bucket) { _ in
            let response: HTTPResponse
            do {
                response = try await sendSigned(
                    method, bucket: bucket, key: key, query: query, headers: headers, body: body, sink: nil,
                    maxBodyBytes: maxBodyBytes, lowSpeedTime: lowSpeedTime)
            } catch let caught as IngestError {
                throw caught.with(message: "S3 request \(operation) failed: \(caught.message)")
            }
            if (200..<300).contains(response.status) || accept.contains(response.status) { return response }
            throw failure(response, bucket: bucket, key: key)
        }
    }

    /// `operation` with the client's retry policy: S3 errors and transport failures retried as
    /// their `IngestError.retryClass` says (refused credentials and cancellation at once).
    private func retrying<T>(
        _ operation: String, bucket: String, _ attempt: (Int) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        let endpoint = HTTPEndpoint.hostPort(base)
        do {
            return try await withRetries(
                policy: retry,
                classify: { ($0 as? IngestError)?.retryClass ?? .permanent },
                onRetry: { error, event in
                    let error = error as? IngestError
                    logger.notice(
                        "retrying an S3 request",
                        metadata: [
                            "s3.operation": "\(operation)", "s3.bucket": "\(bucket)", "s3.endpoint": "\(endpoint)",
                            "s3.http_status": "\(error?.httpStatus ?? 0)",
                            "s3.cause": "\(error?.transportCause?.name ?? "none")", "s3.attempt": "\(event.attempt)",
                            "s3.wait_seconds": "\(String(format: "%.2f", event.wait))",
                        ])
                },
                operation: attempt)
        } catch is CancellationError {
            throw IngestError(.cancelled, "the S3 request \(operation) in \(bucket) was cancelled")
        }
    }

    private func sendSigned(
        _ method: String, bucket: String, key: String?, query: [(name: String, value: String)],
        headers: [(name: String, value: String)], body: [UInt8]?, sink: (any HTTPBodySink)?,
        maxBodyBytes: Int = 64 << 20, lowSpeedTime: Int? = nil
    ) async throws -> HTTPResponse {
        let path = self.path(bucket: bucket, key: key)
        let payloadHash: String
        do {
            payloadHash = try body.map { try SHA256.hex(of: $0) } ?? SigV4Signer.emptyPayloadHash
        } catch {
            throw IngestError.wrapping(error, context: "hashing a request body for \(Self.name(bucket, key ?? ""))")
        }
        let signed: [(name: String, value: String)]
        do {
            signed = try settings.signer.signedHeaders(
                method: method, host: host, path: path, query: query, headers: headers, payloadHash: payloadHash)
        } catch {
            throw IngestError.wrapping(error, context: "signing a request for \(Self.name(bucket, key ?? ""))")
        }
        let queryText = SigV4Signer.canonicalQuery(query)
        let url = origin + path + (queryText.isEmpty ? "" : "?" + queryText)
        // `Expect:` off: libcurl would otherwise wait for a 100 Continue before a large body.
        var all = headers + signed + [("Expect", "")]
        if body != nil, !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            all.append(("Content-Type", "application/octet-stream"))
        }
        return try await http.exchange(
            HTTPRequest(
                url: url, method: method, headers: all, body: body, maxBodyBytes: maxBodyBytes,
                lowSpeedTime: lowSpeedTime), sink: sink)
    }

    // MARK: Errors

    /// The error an S3 error answer means, naming the bucket and key and what to do.
    func failure(_ response: HTTPResponse, bucket: String, key: String?) -> IngestError {
        let code = Self.errorCode(response.body) ?? (response.status == 404 ? "NotFound" : "HTTP \(response.status)")
        let what = Self.name(bucket, key ?? "")
        let site = HTTPEndpoint.hostPort(base)
        switch code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId", "AuthorizationHeaderMalformed":
            return IngestError(
                .invalidAPIKey,
                "S3 at \(site) refused the credentials (\(code)) for \(what); check AWS_ACCESS_KEY_ID, "
                    + "AWS_SECRET_ACCESS_KEY and AWS_REGION in \(settings.credentialsSource)",
                httpStatus: response.status)
        case "RequestTimeTooSkewed":
            return IngestError(
                .configuration, "S3 at \(site) refused the request for \(what): this machine's clock is off; fix it",
                httpStatus: response.status)
        case "AccessDenied", "HTTP 403":
            // A HEAD answer has no body to name the cause: a 403 may be refused credentials too.
            return IngestError(
                .httpStatus,
                "S3 at \(site) denied access to \(what); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
                    + "AWS_REGION in \(settings.credentialsSource) and that the key may use it",
                httpStatus: response.status)
        case "NoSuchBucket":
            return IngestError(
                .httpStatus, "the bucket \(bucket) does not exist at \(site); check the name and S3_ENDPOINT",
                httpStatus: response.status)
        case "NoSuchKey", "NotFound":
            return IngestError(.httpStatus, "\(what) does not exist at \(site)", httpStatus: response.status)
        case "NoSuchUpload":
            return IngestError(
                .httpStatus, "the multipart upload of \(what) no longer exists (completed or aborted); start again",
                httpStatus: response.status)
        default:
            // SlowDown (503), InternalError (500), 429: retriable through the status.
            return IngestError(
                .httpStatus, "S3 at \(site) answered \(response.status) (\(code)) for \(what)",
                httpStatus: response.status, retryAfter: response.retryAfter())
        }
    }

    private func malformed(_ operation: String, bucket: String, key: String) -> IngestError {
        IngestError(
            .malformedResponse,
            "the answer to \(operation) for \(Self.name(bucket, key)) is not S3's XML; check S3_ENDPOINT")
    }

    /// `<Error><Code>…</Code>` of an error answer.
    static func errorCode(_ body: [UInt8]) -> String? {
        guard let root = S3XMLNode.parse(body), root.name == "Error" else { return nil }
        return root.value("Code")
    }

    /// `s3://bucket/key` for messages.
    static func name(_ bucket: String, _ key: String) -> String { "s3://\(bucket)/\(key)" }

    static func unquoted(_ etag: String) -> String {
        etag.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
    }
}

/// Passes a 200 answer's body to the caller's sink and keeps an error answer's body (up to
/// 64 KiB) for its error code.
///
/// `@unchecked Sendable`: the HTTP engine's one thread calls `begin`/`receive` in order, and
/// the caller reads `errorBody` only after `send` returned.
private final class ErrorCapture: HTTPBodySink, @unchecked Sendable {
    let inner: any HTTPBodySink
    private var passing = false
    private(set) var errorBody: [UInt8] = []

    init(inner: any HTTPBodySink) { self.inner = inner }

    func begin(status: Int, headers: [(name: String, value: String)]) -> Bool {
        passing = status == 200
        return passing ? inner.begin(status: status, headers: headers) : true
    }

    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if passing { return inner.receive(chunk) }
        guard errorBody.count + chunk.count <= 64 << 10 else { return false }
        errorBody.append(contentsOf: chunk)
        return true
    }
}
