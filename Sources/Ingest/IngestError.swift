import Crypto
import Foundation
public import HTTP

/// The one error type of the `Ingest` module.
///
/// `description` is written for the person running photoseal: what failed, on which input and
/// what to do. It never holds an API key (URLs and libcurl messages are redacted), a token's
/// plaintext, or a personal value.
public struct IngestError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; extensible, compare with the static constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable short name of the code (for logs and `--json` output).
        public let name: String
        private init(_ name: String) { self.name = name }

        /// The connection failed, timed out or broke off (libcurl reported an error).
        public static let transport = Code("transport")
        /// The server answered with an HTTP status that is an error (4xx or 5xx).
        public static let httpStatus = Code("http-status")
        /// Flickr answered `stat: fail` with an error code.
        public static let flickr = Code("flickr")
        /// An answer could not be decoded (not JSON, or not the expected shape).
        public static let malformedResponse = Code("malformed-response")
        /// The request was cancelled before it finished.
        public static let cancelled = Code("cancelled")
        /// The ledger (SQLite) could not be opened, read or written.
        public static let ledger = Code("ledger")
        /// Sealing or opening a personal field failed (keys missing or wrong).
        public static let sealing = Code("sealing")
        /// A setting or an input is unusable (no API key, a bad endpoint URL).
        public static let configuration = Code("configuration")
        /// A service refused the API key (wrong, revoked, or the API not enabled for it).
        public static let invalidAPIKey = Code("invalid-api-key")
        /// The image store could not write or read an image file.
        public static let imageStore = Code("image-store")
        /// A local source (folder, zip, URL list) could not be read.
        public static let source = Code("source")
        /// Another command holds the workdir's write lock.
        public static let busy = Code("busy")
        /// The secrets file does not belong to the workdir (another index key, missing seal keys).
        public static let foreignKeys = Code("foreign-keys")
        /// The recorded job and the arguments given disagree, or no job is recorded yet.
        public static let job = Code("job")

        /// The short name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What failed, on which input, and what to do. Free of secrets.
    public let message: String
    /// How the transfer failed, when the failure is a transport one (from the `HTTP` module).
    public let transportCause: HTTPError.Code?
    /// The HTTP status, when the failure is an HTTP answer.
    public let httpStatus: Int?
    /// Flickr's error code, when Flickr answered `stat: fail`.
    public let flickrCode: Int?
    /// Seconds the server asked to wait before retrying (`Retry-After`), if it said.
    public let retryAfter: Double?

    /// Makes an error; the message is redacted of any `api_key=` value and scrubbed of every
    /// registered secret (`SecretScrubber`), so a server echoing a key is safe to wrap.
    public init(
        _ code: Code, _ message: String, httpStatus: Int? = nil, flickrCode: Int? = nil, retryAfter: Double? = nil,
        transportCause: HTTPError.Code? = nil
    ) {
        self.code = code
        self.message = SecretScrubber.scrub(Redaction.redact(message))
        self.transportCause = transportCause
        self.httpStatus = httpStatus
        self.flickrCode = flickrCode
        self.retryAfter = retryAfter
    }

    /// The same failure with another message (the kind, codes and flags kept).
    func with(message: String) -> IngestError {
        IngestError(
            code, message, httpStatus: httpStatus, flickrCode: flickrCode, retryAfter: retryAfter,
            transportCause: transportCause)
    }

    /// Whether the endpoint could not be reached at all: its name does not resolve, nothing
    /// accepts the connection (refused, or no answer within the connect timeout), or the TLS
    /// handshake or certificate check failed (`HTTPError.Code.isUnreachable`).
    ///
    /// Retrying such a failure for minutes does not help: it usually means a wrong endpoint
    /// or no network, so callers give it a few quick retries (the retry policy's `unreachableBudget`)
    /// and then report the endpoint. Failures after the connection was made (resets, timeouts
    /// mid-transfer, truncated bodies, 5xx, 429) are not unreachable and keep the long budget.
    public var isUnreachable: Bool {
        code == .transport && transportCause?.isUnreachable == true
    }

    /// Whether trying the same thing again later may succeed: transport failures, HTTP 429 and
    /// 5xx, and Flickr code 105 (service unavailable) or 10 (search unavailable).
    public var isRetriable: Bool {
        switch code {
        case .transport: return transportCause?.isRetriable ?? true
        case .httpStatus:
            guard let httpStatus else { return false }
            return httpStatus == 429 || httpStatus == 408 || httpStatus >= 500
        case .flickr: return flickrCode == 105 || flickrCode == 10
        case .malformedResponse: return true
        default: return false
        }
    }

    /// The message.
    public var description: String { message }

    /// Maps an error from another module (or an unknown one) to an `IngestError`.
    public static func wrapping(_ error: any Error, context: String) -> IngestError {
        if let error = error as? IngestError { return error }
        if let error = error as? HTTPError { return IngestError(error).with(message: "\(context): \(error.message)") }
        if let error = error as? CryptoError { return IngestError(.sealing, "\(context): \(error.message)") }
        if error is CancellationError { return IngestError(.cancelled, "\(context): cancelled") }
        return IngestError(.ledger, "\(context): \(error)")
    }
}

/// Keeps API keys out of every message: `api_key=VALUE` (Flickr) and `key=VALUE` (Google)
/// become `api_key=REDACTED` and `key=REDACTED`.
public enum Redaction {
    /// The text with every `api_key=` or `key=` query value (up to `&`, white space or a
    /// quote) replaced.
    public static func redact(_ text: String) -> String {
        guard text.contains("key=") else { return text }
        var out = ""
        var rest = Substring(text)
        while let range = rest.range(of: "key=") {
            out += rest[..<range.upperBound]
            // Only a query parameter named `key` or `api_key`: "monkey=0.6" stays as it is.
            if range.lowerBound > rest.startIndex, !"?&_ \t\"'".contains(rest[rest.index(before: range.lowerBound)]) {
                rest = rest[range.upperBound...]
                continue
            }
            out += "REDACTED"
            var i = range.upperBound
            while i < rest.endIndex, !"& \t\n\"'".contains(rest[i]) { i = rest.index(after: i) }
            rest = rest[i...]
        }
        out += rest
        return out
    }
}
