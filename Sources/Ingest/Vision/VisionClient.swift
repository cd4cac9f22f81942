public import Enrich
import Foundation
public import HTTP
public import Logging
public import Retry

/// A client for Google Cloud Vision `images:annotate` (LABEL_DETECTION only) on the shared
/// `HTTPClient`, with retries of transient failures built in.
///
/// Each call carries at most 16 images as base64 and asks for exactly one feature per image,
/// so each image is billed one unit. The API key goes only into the request URL; every
/// message passes through `Redaction`, so the key never reaches a log or an error.
public final class VisionClient: Sendable {
    /// The real service's endpoint.
    public static let defaultEndpoint = "https://vision.googleapis.com/v1/images:annotate"
    /// The model name recorded in `score_model`.
    public static let model = "google-vision-label-detection-v1"
    /// The largest image (raw bytes) sent; larger ones get a per-image "too large" error.
    public static let maxImageBytes = 4 * 1024 * 1024
    /// The largest request body built (base64 images plus JSON), below the service's ~10 MB.
    public static let maxRequestBytes = 10_000_000

    /// One image's answer.
    public enum ImageResult: Sendable, Equatable {
        /// The labels returned (possibly none).
        case labels([Vision.Label])
        /// This image's own error, as the service described it; `permanent` when the image
        /// itself was refused (`permanentImageErrorCodes`), so sending it again cannot help.
        case failed(String, permanent: Bool)
    }

    /// The per-image error codes (google.rpc.Code) that refuse the image itself: 3
    /// INVALID_ARGUMENT ("Bad image data.", an image too large or too small), 9
    /// FAILED_PRECONDITION, 11 OUT_OF_RANGE. Other codes (13 INTERNAL, 14 UNAVAILABLE, 4
    /// DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, …) are transient.
    public static let permanentImageErrorCodes: Set<Int> = [3, 9, 11]

    private let http: HTTPClient
    private let endpoint: String
    private let apiKey: String
    private let retry: RetryPolicy
    private let logger: Logger
    private let onAttempt: @Sendable (FlickrClient.Outcome) -> Void

    /// Makes a client.
    /// - Parameters:
    ///   - http: the engine the calls go through.
    ///   - endpoint: the `images:annotate` URL (tests pass a local server).
    ///   - apiKey: the Google Cloud API key (never logged or printed).
    ///   - retry: the retry policy for 429, 5xx and connection failures.
    ///   - logger: where retries are logged.
    ///   - onAttempt: called after every attempt with how it ended.
    /// - Throws: `IngestError.configuration` for an endpoint that is not an http(s) URL or an empty key.
    public init(
        http: HTTPClient, endpoint: String = VisionClient.defaultEndpoint, apiKey: String,
        retry: RetryPolicy = RetryPolicy(), logger: Logger,
        onAttempt: @escaping @Sendable (FlickrClient.Outcome) -> Void = { _ in }
    ) throws {
        try ServiceSettings.check(
            endpoint: endpoint, service: "Vision", flag: "--vision-endpoint", apiKey: apiKey,
            keyHint: "set GOOGLE_VISION_API_KEY in the secrets file or the environment")
        self.http = http
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.retry = retry
        self.logger = logger
        self.onAttempt = onAttempt
    }

    /// The request body size of one image: its base64 plus the JSON around it.
    public static func requestBytes(imageBytes: Int) -> Int { (max(0, imageBytes) + 2) / 3 * 4 + 100 }

    /// Groups images (given by their sizes in bytes, in order) into calls of at most 16 images
    /// and at most `maxRequestBytes` of body each; returns the index ranges of the calls.
    public static func pack(sizes: [Int], maxImages: Int = Vision.maxImagesPerCall, maxBytes: Int = maxRequestBytes)
        -> [Range<Int>]
    {
        var calls: [Range<Int>] = []
        var start = 0
        var bytes = 16
        for (i, size) in sizes.enumerated() {
            let cost = requestBytes(imageBytes: size)
            if i > start && (i - start >= maxImages || bytes + cost > maxBytes) {
                calls.append(start..<i)
                start = i
                bytes = 16
            }
            bytes += cost
        }
        if start < sizes.count { calls.append(start..<sizes.count) }
        return calls
    }

    /// One `images:annotate` call for up to 16 images, retrying transient failures with
    /// exponential back-off and jitter (the `RetryPolicy` Flickr calls use).
    /// - Returns: one result per image, in order.
    /// - Throws: `IngestError.invalidAPIKey` when the key is refused (stop at once),
    ///   `.httpStatus`/`.transport`/`.malformedResponse` once the attempts are spent or for a
    ///   permanent refusal (an unreachable endpoint after about `RetryPolicy.unreachableBudget`
    ///   seconds, naming the endpoint), `.cancelled` when the task is cancelled.
    public func annotate(_ images: [[UInt8]]) async throws -> [ImageResult] {
        guard !images.isEmpty else { return [] }
        let body = [UInt8](Vision.requestBody(images: images))
        return try await call(body: body) { response in
            guard response.status == 200 else {
                throw Self.callError(status: response.status, body: response.body, retryAfter: response.retryAfter())
            }
            return try Self.decode(response.body, count: images.count)
        }
    }

    /// Checks that Google accepts the API key with a call that cannot be billed: an
    /// `images:annotate` request with no image in it.
    ///
    /// Google checks the key before it reads the request, so a refused key is reported
    /// exactly as for a real call; with an accepted key there is nothing to label and nothing
    /// to bill. Meant to run before the first paid call. Transient failures are retried as
    /// for `annotate`.
    /// - Throws: `IngestError.invalidAPIKey` when the key is refused (the message never holds
    ///   the key), `.transport` naming the endpoint when it cannot be reached, `.httpStatus`
    ///   for another refusal (e.g. a wrong endpoint path), `.cancelled`.
    public func checkKey() async throws {
        try await call(body: Array(#"{"requests":[]}"#.utf8)) { response in
            switch response.status {
            case 200:
                // Google answers `{}`; anything that is not a JSON object is some other server.
                guard (try? JSONDecoder().decode(Vision.Response.self, from: Data(response.body))) != nil else {
                    throw IngestError(
                        .malformedResponse,
                        "the answer to images:annotate is not Google Vision's JSON; check --vision-endpoint")
                }
            case 400:
                // INVALID_ARGUMENT about the request, not the key: the key got past Google's
                // check, which is all this call asks.
                let error = Self.callError(status: 400, body: response.body, retryAfter: nil)
                if error.code == .invalidAPIKey { throw error }
            default:
                throw Self.callError(status: response.status, body: response.body, retryAfter: response.retryAfter())
            }
        }
    }

    /// One `images:annotate` POST of `body`, retried as the `RetryPolicy` allows; `handle`
    /// turns an answer into a result or throws.
    private func call<T>(body: [UInt8], handle: @escaping @Sendable (HTTPResponse) throws -> T) async throws -> T {
        let url = endpoint + (endpoint.contains("?") ? "&" : "?") + "key=" + FlickrClient.encode(apiKey)
        let site = ServiceEndpoint(service: "Google Vision", flag: "--vision-endpoint", url: endpoint)
        return try await site.call(
            policy: retry, logger: logger, message: "retrying a Vision call", prefix: "vision", onAttempt: onAttempt,
            cancelled: "the scoring was cancelled"
        ) {
            let response = try await http.exchange(
                HTTPRequest(
                    url: url, method: "POST", headers: [("Content-Type", "application/json")], body: body,
                    timeout: 300))
            let result = try handle(response)
            onAttempt(.ok)
            return result
        }
    }

    /// The error for a whole-call failure with HTTP `status`.
    static func callError(status: Int, body: [UInt8], retryAfter: Double?) -> IngestError {
        let said = (try? JSONDecoder().decode(Vision.Response.self, from: Data(body)))?.error
        let message = String((said?.message ?? "").prefix(200))
        let keyRefused =
            status == 403 || said?.status == "PERMISSION_DENIED"
            || (status == 400 && message.localizedCaseInsensitiveContains("API key"))
        if keyRefused {
            return IngestError(
                .invalidAPIKey,
                "Google Vision refused the API key (HTTP \(status) \(said?.status ?? "")): \(message); check "
                    + "GOOGLE_VISION_API_KEY in the secrets file or --api-key (--vision-api-key in `run`), and that the "
                    + "Cloud Vision API is "
                    + "enabled for its project",
                httpStatus: status)
        }
        let transient = status == 429 || status == 408 || status >= 500
        return IngestError(
            .httpStatus,
            "Google Vision answered HTTP \(status) to images:annotate"
                + (message.isEmpty ? "" : ": \(message)")
                + (transient ? "; try again later" : "; check --vision-endpoint"),
            httpStatus: status, retryAfter: retryAfter)
    }

    /// Decodes an answer to a call for `count` images into one result per image.
    /// - Throws: `IngestError.malformedResponse` when it is not an answer of that many images.
    public static func decode(_ body: [UInt8], count: Int) throws -> [ImageResult] {
        let response: Vision.Response
        do {
            response = try JSONDecoder().decode(Vision.Response.self, from: Data(body))
        } catch {
            throw IngestError(.malformedResponse, "Google Vision's answer to images:annotate is not the expected JSON")
        }
        let answers = response.responses ?? []
        guard answers.count == count else {
            throw IngestError(
                .malformedResponse,
                "Google Vision answered \(answers.count) responses to a call of \(count) images; expected one each")
        }
        return answers.map { answer in
            if let error = answer.error {
                let message = String((error.message ?? "unknown error").prefix(200))
                let code = error.code ?? 0
                return .failed(
                    "Vision refused this image: \(message) (code \(code))",
                    permanent: permanentImageErrorCodes.contains(code))
            }
            return .labels(answer.labelAnnotations ?? [])
        }
    }
}
