import Foundation
public import HTTP
public import Logging
public import Retry

/// What to search for in one `flickr.photos.search` call.
public struct FlickrSearchRequest: Sendable, Equatable {
    /// Free text (matches title, description and tags), or `nil`.
    public var text: String?
    /// The bounding box, or `nil`.
    public var bbox: BoundingBox?
    /// Earliest taken date, unix seconds (inclusive).
    public var minTaken: Int64?
    /// Latest taken date, unix seconds (inclusive).
    public var maxTaken: Int64?
    /// The 1-based page.
    public var page: Int
    /// Photos per page (Flickr: at most 500, 250 with a bbox).
    public var perPage: Int

    /// Makes a request.
    public init(
        text: String?, bbox: BoundingBox?, minTaken: Int64?, maxTaken: Int64?, page: Int = 1, perPage: Int = 500
    ) {
        self.text = text
        self.bbox = bbox
        self.minTaken = minTaken
        self.maxTaken = maxTaken
        self.page = page
        self.perPage = perPage
    }
}

/// A client for Flickr's REST API on the shared `HTTPClient`, with the key's rate budget and
/// retries built in.
public final class FlickrClient: Sendable {
    /// The real service's endpoint.
    public static let defaultEndpoint = "https://api.flickr.com/services/rest/"
    /// Every extra the document needs.
    public static let extras =
        "description,license,date_upload,date_taken,owner_name,original_format,geo,tags,machine_tags,o_dims,views,media,path_alias,url_o,url_k,url_h,url_l,url_c"

    /// How one attempt ended, for the API-call counters.
    public enum Outcome: String, Sendable {
        /// A usable answer.
        case ok
        /// A retriable failure (5xx, 429, code 105, connection or timeout).
        case retried
        /// A failure that stopped the call.
        case failed
    }

    private let http: HTTPClient
    private let endpoint: String
    private let apiKey: String
    private let budget: RateBudget
    private let retry: RetryPolicy
    private let logger: Logger
    private let onAttempt: @Sendable (Outcome) -> Void

    /// Makes a client.
    /// - Parameters:
    ///   - http: the engine the calls go through.
    ///   - endpoint: the REST endpoint URL (tests pass a local server).
    ///   - apiKey: the Flickr API key (never logged or printed).
    ///   - budget: the key's shared rate budget.
    ///   - retry: the retry policy.
    ///   - logger: where retries and failures are logged.
    ///   - onAttempt: called after every attempt with how it ended.
    /// - Throws: `IngestError.configuration` for an endpoint that is not an http(s) URL or an empty key.
    public init(
        http: HTTPClient, endpoint: String = FlickrClient.defaultEndpoint, apiKey: String, budget: RateBudget,
        retry: RetryPolicy = RetryPolicy(), logger: Logger, onAttempt: @escaping @Sendable (Outcome) -> Void = { _ in }
    ) throws {
        try ServiceSettings.check(
            endpoint: endpoint, service: "Flickr", flag: "--flickr-endpoint", apiKey: apiKey,
            keyHint: "set FLICKR_API_KEY in the secrets file or the environment")
        self.http = http
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.budget = budget
        self.retry = retry
        self.logger = logger
        self.onAttempt = onAttempt
    }

    /// Percent-encodes a query value (RFC 3986 unreserved characters stay).
    static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Formats unix seconds as Flickr's MySQL datetime (`YYYY-MM-DD HH:MM:SS`, UTC).
    public static func mysqlDate(_ seconds: Int64) -> String {
        TakenDate.format(seconds, separator: " ")
    }

    /// The query items of a search call (without the key).
    static func parameters(_ request: FlickrSearchRequest) -> [(String, String)] {
        var items: [(String, String)] = [
            ("method", "flickr.photos.search"), ("format", "json"), ("nojsoncallback", "1"),
            ("extras", extras), ("sort", "date-taken-asc"), ("media", "photos"),
            ("per_page", String(request.perPage)), ("page", String(request.page)),
        ]
        if let text = request.text { items.append(("text", text)) }
        if let bbox = request.bbox { items.append(("bbox", bbox.parameter)) }
        if let minTaken = request.minTaken { items.append(("min_taken_date", mysqlDate(minTaken))) }
        if let maxTaken = request.maxTaken { items.append(("max_taken_date", mysqlDate(maxTaken))) }
        return items
    }

    /// One `flickr.photos.search` call, waiting for the rate budget and retrying transient
    /// failures with exponential back-off and jitter.
    /// - Throws: `IngestError.flickr` for a permanent Flickr error (invalid key, illogical
    ///   arguments, ...), `.httpStatus`/`.transport` once the attempts are spent (an
    ///   unreachable endpoint after about `RetryPolicy.unreachableBudget` seconds, naming the
    ///   endpoint), `.cancelled` when the task is cancelled.
    public func search(_ request: FlickrSearchRequest) async throws -> FlickrSearchPage {
        try await call(Self.parameters(request), method: "flickr.photos.search", decode: Self.decode)
    }

    /// Checks that Flickr accepts the API key, with one `flickr.test.echo` call: no search,
    /// one call of the key's rate budget.
    ///
    /// Meant to run before any slow or paid step, so a wrong key or endpoint is reported at
    /// once. Transient failures are retried as for a search.
    /// - Throws: `IngestError.invalidAPIKey` when Flickr refuses the key (the message never
    ///   holds the key), `.transport` naming the endpoint when it cannot be reached,
    ///   `.flickr`/`.httpStatus`/`.malformedResponse` for any other refusal, `.cancelled`.
    public func checkKey() async throws {
        try await call(
            [("method", "flickr.test.echo"), ("format", "json"), ("nojsoncallback", "1")], method: "flickr.test.echo"
        ) { body in
            do {
                _ = try Self.decodeStatus(body, method: "flickr.test.echo")
            } catch let error as IngestError where error.flickrCode == 100 {
                throw IngestError(
                    .invalidAPIKey,
                    "Flickr refused the API key (code 100, invalid API key); check FLICKR_API_KEY in the secrets "
                        + "file or --api-key",
                    flickrCode: 100)
            }
        }
    }

    /// One API call: waits for the rate budget, then retries what the `RetryPolicy` allows.
    private func call<T>(
        _ parameters: [(String, String)], method: String, decode: @escaping @Sendable ([UInt8]) throws -> T
    ) async throws -> T {
        let query = parameters + [("api_key", apiKey)]
        let url =
            endpoint + (endpoint.contains("?") ? "&" : "?")
            + query.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
        let site = ServiceEndpoint(service: "Flickr", flag: "--flickr-endpoint", url: endpoint)
        let budget = self.budget
        return try await site.call(
            policy: retry, logger: logger, message: "retrying a Flickr call", prefix: "flickr",
            metadata: ["flickr.method": "\(method)"], onAttempt: onAttempt,
            onRetry: { error in
                if let retryAfter = error.retryAfter { budget.pause(seconds: retryAfter) }
            },
            cancelled: "the Flickr call was cancelled"
        ) {
            try await budget.acquire()
            let result = try decode(try await once(url: url, method: method))
            onAttempt(.ok)
            return result
        }
    }

    private func once(url: String, method: String) async throws -> [UInt8] {
        let response = try await http.exchange(HTTPRequest(url: url, timeout: 120))
        guard response.status == 200 else {
            throw IngestError(
                .httpStatus,
                "Flickr answered HTTP \(response.status) to \(method)"
                    + (response.status == 429 ? " (too many requests)" : ""),
                httpStatus: response.status, retryAfter: response.retryAfter())
        }
        return response.body
    }

    /// Decodes a search answer's body.
    /// - Throws: `IngestError.flickr` for `stat: fail` (message says what to do for the known
    ///   permanent codes), `.malformedResponse` for anything that is not a search answer.
    public static func decode(_ body: [UInt8]) throws -> FlickrSearchPage {
        let envelope = try decodeStatus(body, method: "flickr.photos.search")
        guard let photos = envelope.photos, let total = photos.total?.int else {
            throw IngestError(.malformedResponse, "Flickr's answer to flickr.photos.search has no photos or total")
        }
        let list = (photos.photo ?? []).compactMap(\.photo)
        return FlickrSearchPage(
            page: photos.page?.int ?? 1, pages: photos.pages?.int ?? 0, perPage: photos.perpage?.int ?? list.count,
            total: max(0, total), photos: list)
    }

    /// Decodes any answer's envelope and refuses `stat: fail`.
    /// - Throws: `IngestError.flickr` with Flickr's code, `.malformedResponse` for non-JSON.
    static func decodeStatus(_ body: [UInt8], method: String) throws -> FlickrEnvelope {
        let envelope: FlickrEnvelope
        do {
            envelope = try JSONDecoder().decode(FlickrEnvelope.self, from: Data(body))
        } catch {
            throw IngestError(.malformedResponse, "Flickr's answer to \(method) is not the expected JSON")
        }
        if envelope.stat != "ok" {
            let code = envelope.code?.int ?? -1
            let said = (envelope.message ?? "").prefix(200)
            throw IngestError(
                .flickr, "Flickr refused \(method): \(said) (code \(code)); \(advice(code, method: method))",
                flickrCode: code)
        }
        return envelope
    }

    static func advice(_ code: Int, method: String = "flickr.photos.search") -> String {
        switch code {
        case 100: return "the API key is invalid; check FLICKR_API_KEY in the secrets file or --api-key"
        case 3: return "Flickr needs a limiting parameter; give --term, or --bbox with --min-taken/--max-taken"
        case 18: return "the arguments contradict each other; check --bbox and the dates"
        case 105, 10: return "the service is unavailable; try again later"
        case 112: return "the endpoint does not know \(method); check --flickr-endpoint"
        default: return "check the search options"
        }
    }
}
