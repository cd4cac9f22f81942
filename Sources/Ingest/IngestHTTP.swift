import Foundation
public import HTTP
public import Retry

// Where the HTTP module's errors become the pipeline's: HTTPError is mapped to IngestError
// here only, keeping its code (`IngestError.transportCause`) for retries and failure causes.

extension IngestError {
    /// The pipeline's error for a transfer that ended without an answer: `.cancelled` for a
    /// cancelled one, `.transport` (with the HTTP cause kept) for every other; the message is
    /// the HTTP module's, redacted as every `IngestError` message is.
    public init(_ error: HTTPError) {
        self.init(
            error.code == .cancelled ? .cancelled : .transport, error.message, httpStatus: nil,
            transportCause: error.code)
    }

    /// How a retry loop treats this failure.
    public var retryClass: RetryClass {
        isUnreachable ? .unreachable : isRetriable ? .transient(retryAfter: retryAfter) : .permanent
    }
}

extension HTTPClient.Configuration {
    /// The pipeline's settings: the defaults, with `User-Agent: photoseal/<version>`.
    public static var photoseal: Self { Self(userAgent: "photoseal/\(IngestModule.version)") }
}

extension HTTPClient {
    /// `send`, with a failure mapped to `IngestError` (see `IngestError.init(_:)`).
    func exchange(_ request: HTTPRequest, sink: (any HTTPBodySink)? = nil) async throws -> HTTPResponse {
        do {
            return try await send(request, sink: sink)
        } catch let error as HTTPError {
            throw IngestError(error)
        }
    }
}

/// The checks every API client makes on its settings before the first call.
enum ServiceSettings {
    /// Refuses an endpoint that is not an absolute http(s) URL and an empty API key, with the
    /// messages the user sees (naming the flag and the secrets-file entry to fix).
    static func check(endpoint: String, service: String, flag: String, apiKey: String, keyHint: String) throws {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host != nil
        else {
            throw IngestError(
                .configuration, "the \(service) endpoint '\(endpoint)' is not an http(s) URL; check \(flag)")
        }
        guard !apiKey.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw IngestError(.configuration, "no \(service) API key; \(keyHint)")
        }
    }
}
