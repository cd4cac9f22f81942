import CCurl
public import Retry

/// The one error type of the `HTTP` module: a transfer that did not end with an answer.
///
/// An HTTP status, even 500, is an answer (`HTTPResponse`), not an `HTTPError`. `description`
/// names the endpoint as `host:port` (never the path or query, where keys live) and says what
/// happened; libcurl's own code is kept for diagnostics only: callers decide on `code`.
public struct HTTPError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is; extensible, compare with the static constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable short name of the code (for logs, failure causes and `--json` output).
        public let name: String
        private init(_ name: String) { self.name = name }

        /// The host name does not resolve.
        public static let dns = Code("dns")
        /// The proxy's host name does not resolve, or the proxy refused the tunnel.
        public static let proxy = Code("proxy")
        /// Nothing accepted the connection (refused, or no route to the host).
        public static let connect = Code("connect")
        /// No answer to the connection within the connect timeout.
        public static let connectTimeout = Code("connect-timeout")
        /// The TLS handshake or the certificate check failed.
        public static let tls = Code("tls")
        /// The transfer took longer than its time limit or stalled below the low-speed limit
        /// after the connection was made.
        public static let timeout = Code("timeout")
        /// The connection broke off (reset, closed with no answer, send or receive failure).
        public static let reset = Code("reset")
        /// The body ended before its announced length.
        public static let truncated = Code("truncated")
        /// The answer is larger than the request's `maxBodyBytes`.
        public static let tooLarge = Code("too-large")
        /// An `HTTPBodySink` stopped the transfer.
        public static let aborted = Code("aborted")
        /// The task was cancelled or the client shut down before the answer arrived.
        public static let cancelled = Code("cancelled")
        /// The URL is not one libcurl can fetch (malformed, or not http/https).
        public static let badURL = Code("bad-url")
        /// libcurl could not be initialised or refused an option (out of memory, too old).
        public static let setup = Code("setup")
        /// Any other transfer failure.
        public static let transport = Code("transport")

        /// Whether the endpoint could not be reached at all: waiting minutes does not help.
        public var isUnreachable: Bool {
            self == .dns || self == .proxy || self == .connect || self == .connectTimeout || self == .tls
        }

        /// Whether the same request may succeed later.
        public var isRetriable: Bool {
            !(self == .tooLarge || self == .aborted || self == .cancelled || self == .badURL || self == .setup)
        }

        /// The short name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What failed, on which endpoint (`host:port`), and libcurl's explanation. Free of URLs'
    /// paths and queries.
    public let message: String
    /// libcurl's `CURLcode` number, for diagnostics (logs, bug reports) only.
    public let curlCode: Int?

    /// Makes an error (tests and callers that abort their own requests).
    public init(_ code: Code, _ message: String, curlCode: Int? = nil) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
    }

    /// Whether the endpoint could not be reached at all (see `Code.isUnreachable`).
    public var isUnreachable: Bool { code.isUnreachable }
    /// Whether the same request may succeed later (see `Code.isRetriable`).
    public var isRetriable: Bool { code.isRetriable }

    /// How a retry loop treats this failure.
    public var retryClass: RetryClass {
        isUnreachable ? .unreachable : isRetriable ? .transient(retryAfter: nil) : .permanent
    }

    /// The message.
    public var description: String { message }
}

extension HTTPError.Code {
    /// The one place libcurl's result codes are interpreted.
    ///
    /// - Parameters:
    ///   - result: the transfer's result.
    ///   - requestSent: whether any request bytes went out: a timeout before that means the
    ///     host never accepted the connection.
    ///   - abortedBySink: whether an `HTTPBodySink` stopped the transfer.
    ///   - overLimit: whether the body outgrew the request's `maxBodyBytes`.
    init(curl result: CURLcode, requestSent: Bool, abortedBySink: Bool, overLimit: Bool) {
        switch result {
        case CURLE_COULDNT_RESOLVE_HOST: self = .dns
        case CURLE_COULDNT_RESOLVE_PROXY: self = .proxy
        case CURLE_COULDNT_CONNECT: self = .connect
        case CURLE_OPERATION_TIMEDOUT: self = requestSent ? .timeout : .connectTimeout
        case CURLE_PARTIAL_FILE: self = .truncated
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR: self = .reset
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: self = .badURL
        case CURLE_WRITE_ERROR where overLimit: self = .tooLarge
        case CURLE_WRITE_ERROR where abortedBySink: self = .aborted
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_INITFAILED,
            CURLE_USE_SSL_FAILED,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR,
            CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            self = .tls
        default: self = .transport
        }
    }
}
