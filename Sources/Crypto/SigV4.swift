public import Foundation

/// HMAC-SHA256 on OpenSSL, for callers outside this module (AWS Signature V4 chains MACs).
public enum HMAC {
    /// HMAC-SHA256 of `message` under `key`: 32 bytes.
    /// - Throws: `CryptoError.openssl` when OpenSSL cannot set up SHA-256.
    public static func sha256(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
        let mac = try key.withUnsafeBytes { try HMACSHA256(key: $0) }
        return try mac.authenticate(message)
    }
}

/// AWS Signature Version 4 for S3 and S3-compatible services: header signing (the
/// `Authorization` header) and query signing (pre-signed URLs).
///
/// Signed in Swift rather than with libcurl's `CURLOPT_AWS_SIGV4` because a pre-signed URL
/// needs query signing, which libcurl does not do: one implementation then serves both forms,
/// is checked against the AWS documentation's examples and botocore, and works the same on
/// every libcurl version. The secret key is held as wiped-on-release bytes and appears in no
/// description or message.
public struct SigV4Signer: Sendable, CustomStringConvertible {
    /// The access key id (`AKIA…`): an identifier, sent in every request.
    public let accessKeyID: String
    /// The region (`us-east-1`).
    public let region: String
    /// The service (`s3`).
    public let service: String
    private let secret: SecretBytes

    /// The SHA-256 of an empty payload, hex.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// The payload hash of a pre-signed URL: the body is not known when the URL is made.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The longest life of a pre-signed URL S3 accepts: 7 days.
    public static let maxPresignedSeconds = 604_800

    /// Makes a signer.
    public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.region = region
        self.service = service
        secret = SecretBytes(Array(("AWS4" + secretAccessKey).utf8))
    }

    /// Names the key id and region, never the secret.
    public var description: String { "SigV4Signer(\(accessKeyID), \(region), \(service))" }

    /// `20130524T000000Z` for `date`.
    public static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// AWS's URI encoding: every byte but the unreserved `A-Z a-z 0-9 - _ . ~` as `%XX`
    /// (upper-case hex); `/` kept when `keepSlash` (object key paths).
    public static func encode(_ text: some StringProtocol, keepSlash: Bool = false) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The canonical query string: each name and value encoded, sorted by name then value.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (encode($0.name), encode($0.value)) }
        let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { (pair) -> String in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// The headers to add to a request so that it is signed: `x-amz-date`,
    /// `x-amz-content-sha256` and `Authorization`.
    ///
    /// - Parameters:
    ///   - method: `GET`, `PUT`, …
    ///   - host: the `Host` header as it will be sent (`host` or `host:port` for a port that is
    ///     not the scheme's default).
    ///   - path: the request path, already encoded as it will be sent (`/bucket/a%20b.jpg`).
    ///   - query: the query options, not encoded.
    ///   - headers: other headers to sign (names any case), e.g. `Content-Type`, `Range`.
    ///   - payloadHash: the body's SHA-256 hex (`emptyPayloadHash` for none).
    ///   - date: the signing time.
    public func signedHeaders(
        method: String, host: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], payloadHash: String, date: Date = Date()
    ) throws -> [(name: String, value: String)] {
        let stamp = Self.timestamp(date)
        var signed = headers.map { (name: $0.name.lowercased(), value: Self.trimmed($0.value)) }
        signed += [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", stamp)]
        signed.sort { $0.name < $1.name }
        let names = signed.map(\.name).joined(separator: ";")
        let canonical = [
            method, path, Self.canonicalQuery(query), signed.map { "\($0.name):\($0.value)\n" }.joined(), names,
            payloadHash,
        ].joined(separator: "\n")
        let signature = try sign(canonical, stamp: stamp)
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope(stamp)), SignedHeaders=\(names), Signature=\(signature)"
        return [("x-amz-date", stamp), ("x-amz-content-sha256", payloadHash), ("Authorization", authorization)]
    }

    /// The query string of a pre-signed URL (without `?`): the caller's options plus the
    /// `X-Amz-*` ones, `X-Amz-Signature` last. Only the `host` header is signed.
    ///
    /// - Parameters:
    ///   - expires: seconds the URL stays valid, 1 ... `maxPresignedSeconds` (the caller checks:
    ///     S3 refuses a longer one when the URL is used).
    public func presignedQuery(
        method: String = "GET", host: String, path: String, query: [(name: String, value: String)] = [],
        expires: Int, date: Date = Date()
    ) throws -> String {
        let stamp = Self.timestamp(date)
        let options =
            query + [
                ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKeyID)/\(scope(stamp))"),
                ("X-Amz-Date", stamp), ("X-Amz-Expires", String(expires)), ("X-Amz-SignedHeaders", "host"),
            ]
        let canonicalQuery = Self.canonicalQuery(options)
        let canonical = [method, path, canonicalQuery, "host:\(host)\n", "host", Self.unsignedPayload].joined(
            separator: "\n")
        return canonicalQuery + "&X-Amz-Signature=" + (try sign(canonical, stamp: stamp))
    }

    private func scope(_ stamp: String) -> String { "\(stamp.prefix(8))/\(region)/\(service)/aws4_request" }

    private func sign(_ canonicalRequest: String, stamp: String) throws -> String {
        let hashed = try SHA256.hex(of: Array(canonicalRequest.utf8))
        let toSign = "AWS4-HMAC-SHA256\n\(stamp)\n\(scope(stamp))\n\(hashed)"
        var key = try secret.withBytes { try HMAC.sha256(key: Array($0), message: Array(stamp.prefix(8).utf8)) }
        for part in [region, service, "aws4_request"] { key = try HMAC.sha256(key: key, message: Array(part.utf8)) }
        return SHA256.hex(try HMAC.sha256(key: key, message: Array(toSign.utf8)))
    }

    /// A header value as SigV4 canonicalises it: outer spaces removed, inner runs made one.
    private static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
