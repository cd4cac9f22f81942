public import Foundation

/// One HTTP request for the `HTTPClient`.
public struct HTTPRequest: Sendable {
    /// The absolute URL (`http` or `https`).
    public var url: String
    /// The method: `GET` (default) or `POST`.
    public var method: String
    /// Extra request headers as name/value pairs.
    public var headers: [(name: String, value: String)]
    /// The request body for `POST`.
    public var body: [UInt8]?
    /// Whether to follow redirects (default `false`: callers see the 3xx and its `Location`).
    public var followRedirects: Bool
    /// The largest body kept in memory; a longer answer fails (default 64 MiB).
    public var maxBodyBytes: Int
    /// Overall time limit for this transfer in seconds, or `nil` for the client's
    /// `Configuration.transferTimeout` (the low-speed limit applies as well). A transfer past
    /// it fails as `.timeout`.
    public var timeout: Double?
    /// Seconds a transfer may stay below the client's low-speed limit, or `nil` for the
    /// client's `Configuration.lowSpeedTime`: longer for an answer a server computes in
    /// silence (S3's CompleteMultipartUpload of a large object).
    public var lowSpeedTime: Int?

    /// Makes a request; only `url` is required.
    public init(
        url: String, method: String = "GET", headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        followRedirects: Bool = false, maxBodyBytes: Int = 64 << 20, timeout: Double? = nil, lowSpeedTime: Int? = nil
    ) {
        self.lowSpeedTime = lowSpeedTime
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.followRedirects = followRedirects
        self.maxBodyBytes = maxBodyBytes
        self.timeout = timeout
    }
}

/// A finished HTTP exchange: status, headers and (unless a sink took it) the body.
public struct HTTPResponse: Sendable {
    /// The HTTP status code of the final answer.
    public var status: Int
    /// The final answer's headers in order, names as sent.
    public var headers: [(name: String, value: String)]
    /// The body bytes (empty when an `HTTPBodySink` received them).
    public var body: [UInt8]
    /// The address of the final answer, after redirects (what relative links in it resolve
    /// against); `nil` when not known.
    public var effectiveURL: String?

    /// Makes a response (tests and sinks build their own).
    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], effectiveURL: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.effectiveURL = effectiveURL
    }

    /// The first header with this name (case-insensitive), if any.
    public func header(_ name: String) -> String? {
        headers.first { Self.sameName($0.name, name) }?.value
    }

    /// Whether two header names are equal ignoring ASCII case (names are ASCII tokens). Not
    /// Foundation's `caseInsensitiveCompare`, an NSString comparison: this runs for every
    /// download's headers.
    package static func sameName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count
            && zip(a.utf8, b.utf8).allSatisfy { x, y in
                x == y || (x | 0x20 == y | 0x20 && (0x61...0x7A).contains(x | 0x20))
            }
    }

    /// `value` without leading and trailing spaces and tabs (the whitespace around a header's value).
    package static func trimmed(_ value: String) -> Substring {
        var value = Substring(value)
        while let first = value.first, first == " " || first == "\t" { value.removeFirst() }
        while let last = value.last, last == " " || last == "\t" { value.removeLast() }
        return value
    }

    /// `Retry-After` in seconds: a number of seconds, or an HTTP date (relative to `now`).
    public func retryAfter(now: Date = Date()) -> Double? {
        guard let value = header("Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value), seconds.isFinite, seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// `Content-Length`, if the server sent a valid one.
    public var contentLength: Int? { header("Content-Length").flatMap { Int(Self.trimmed($0)) } }
}

/// Receives a response body chunk by chunk instead of keeping it in memory.
///
/// The download stage streams images to a file with a running SHA-256 through a sink. Methods
/// are called on the HTTP engine's own thread, one transfer at a time and in order, so they
/// must be quick (no blocking waits) and must not call back into the `HTTPClient`.
public protocol HTTPBodySink: AnyObject, Sendable {
    /// Called once the final response's status and headers are known, before any body chunk.
    /// Return `false` to abort the transfer (e.g. a 404 whose body is not wanted).
    func begin(status: Int, headers: [(name: String, value: String)]) -> Bool
    /// Called with each chunk of the body. Return `false` to abort the transfer.
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool
}

/// How messages and logs name an endpoint.
package enum HTTPEndpoint {
    /// `host:port` of a URL (the scheme's default port when none is written), without user
    /// info, path or query, so no key or token in the URL can reach a message; `the server`
    /// when the text is not a URL with a host.
    package static func hostPort(_ url: String) -> String {
        guard let parsed = URL(string: url), let host = parsed.host, !host.isEmpty else { return "the server" }
        let port = parsed.port ?? (parsed.scheme?.lowercased() == "https" ? 443 : 80)
        let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(shown):\(port)"
    }
}
