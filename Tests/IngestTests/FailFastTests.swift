import Crypto
import Foundation
import Glibc
import HTTP
import Logging
import Retry
import TestSupport
import Testing

@testable import Ingest

/// Dead endpoints are reported within seconds, naming the endpoint; keys are checked with
/// calls that cost nothing; transient failures keep their long budget.
@Suite("fail fast: unreachable endpoints and key checks", .tags(.integration))
struct FailFastTests {
    @Test(
        "refused, unknown host, no answer to connect, failed TLS are unreachable; a reset, a stall, a truncation are not"
    )
    func classification() async throws {
        let client = try HTTPClient(logger: Logger(label: "test"))
        defer { client.shutdown() }
        func failure(_ request: HTTPRequest) async throws -> IngestError {
            try await #require(throws: IngestError.self) { _ = try await client.exchange(request) }
        }
        let port = try await closedLoopbackPort()
        let refused = try await failure(HTTPRequest(url: "http://127.0.0.1:\(port)/x?api_key=SECRET-1"))
        #expect(refused.transportCause == .connect && refused.isUnreachable && refused.isRetriable)
        #expect(refused.description.contains("127.0.0.1:\(port)") && !refused.description.contains("SECRET-1"))
        let unknown = try await failure(HTTPRequest(url: "http://nosuchhost.invalid/x"))
        #expect(unknown.transportCause == .dns && unknown.isUnreachable)
        // https spoken to a plain-HTTP server: the TLS handshake fails.
        let plain = try FlickrTestServer(["--photos", "10"])
        defer { plain.stop() }
        let tls = try await failure(HTTPRequest(url: "https://127.0.0.1:\(plain.port)/"))
        #expect(tls.transportCause == .tls && tls.isUnreachable)

        // A host that never answers the connection: a timeout before the request went out.
        let silent = try SilentPort()
        let slowConnect = try HTTPClient(configuration: .init(connectTimeout: 1), logger: Logger(label: "test"))
        defer { slowConnect.shutdown() }
        let noAnswer = try await #require(throws: IngestError.self) {
            _ = try await slowConnect.exchange(HTTPRequest(url: "http://127.0.0.1:\(silent.port)/"))
        }
        #expect(noAnswer.transportCause == .connectTimeout && noAnswer.isUnreachable)

        let images = try ImageTestServer(stallSeconds: 5)
        defer { images.stop() }
        for kind in ["reset", "trunc"] {
            let broken = try await failure(HTTPRequest(url: images.base + "/f/\(kind)/et_Canon.jpg"))
            #expect(!broken.isUnreachable && broken.isRetriable, "\(kind): \(broken.transportCause?.name ?? "-")")
        }
        let stalled = try await failure(HTTPRequest(url: images.base + "/f/stall/et_Canon.jpg", timeout: 1))
        #expect(stalled.transportCause == .timeout && !stalled.isUnreachable && stalled.isRetriable)
    }

    @Test("an unreachable endpoint gets quick retries for about 10 s; a transient failure keeps the long budget")
    func retryDecision() {
        let policy = RetryPolicy()
        let refused = IngestError(.transport, "refused", transportCause: .connect).retryClass
        let unavailable = IngestError(.httpStatus, "busy", httpStatus: 503).retryClass
        // Worst-case jitter (random 1): the quick waits add up to the budget and no further.
        var spent = 0.0
        var attempt = 1
        while let wait = policy.wait(after: refused, attempt: attempt, unreachableFor: spent, random: 1) {
            #expect(wait <= 2)
            spent += wait
            attempt += 1
        }
        #expect(spent <= policy.unreachableBudget && spent > policy.unreachableBudget - 2.5)
        #expect(attempt >= 4)
        // Attempts that each took longer than the whole budget (a loaded machine, a slow
        // resolver) still get two quick retries, then no more.
        #expect(policy.wait(after: refused, attempt: 1, unreachableFor: 60) != nil)
        #expect(policy.wait(after: refused, attempt: 2, unreachableFor: 120) != nil)
        #expect(policy.wait(after: refused, attempt: 3, unreachableFor: 180) == nil)
        // A 503 after as long as that is still retried, with the usual back-off, until the attempts are spent.
        #expect(policy.wait(after: unavailable, attempt: 5, unreachableFor: 0, random: 1) == 16)
        #expect(policy.wait(after: unavailable, attempt: policy.maxAttempts, unreachableFor: 0) == nil)
        #expect(policy.wait(after: IngestError(.invalidAPIKey, "no").retryClass, attempt: 1, unreachableFor: 0) == nil)
    }

    @Test("a dead Flickr endpoint fails within 15 s with one error naming host:port, never the key")
    func deadFlickr() async throws {
        let port = try await closedLoopbackPort()
        let recorder = LogRecorder()
        let http = try HTTPClient(logger: recorder.logger())
        defer { http.shutdown() }
        let counter = APICallCounter()
        let key = "flickr-key-DEAD-0001"
        let client = try FlickrClient(
            http: http, endpoint: "http://127.0.0.1:\(port)/services/rest/", apiKey: key, budget: RateBudget(),
            logger: recorder.logger(), onAttempt: counter.record)
        let started = ContinuousClock.now
        let error = try await #require(throws: IngestError.self) {
            _ = try await client.search(FlickrSearchRequest(text: "monkey", bbox: nil, minTaken: nil, maxTaken: nil))
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(15), "\(elapsed)")
        #expect(error.isUnreachable)
        #expect(error.description.contains("Flickr endpoint 127.0.0.1:\(port)"), "\(error)")
        #expect(error.description.contains("--flickr-endpoint"))
        let calls = counter.take()
        #expect(calls["retried", default: 0] >= 2 && calls["failed"] == 1, "\(calls)")
        try Self.expectRetryLines(recorder, message: "retrying a Flickr call", key: "flickr.endpoint", port: port)
        for text in [error.description] + recorder.records.map({ "\($0.message) \($0.metadata)" }) {
            #expect(!text.contains(key) && !text.contains("api_key="))
        }
    }

    @Test("a dead Vision endpoint fails within 15 s with one error naming host:port, never the key")
    func deadVision() async throws {
        let port = try await closedLoopbackPort()
        let recorder = LogRecorder()
        let http = try HTTPClient(logger: recorder.logger())
        defer { http.shutdown() }
        let key = "vision-key-DEAD-0002"
        let client = try VisionClient(
            http: http, endpoint: "http://127.0.0.1:\(port)/v1/images:annotate", apiKey: key,
            logger: recorder.logger())
        let started = ContinuousClock.now
        let error = try await #require(throws: IngestError.self) { _ = try await client.annotate([[1, 2, 3]]) }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(15), "\(elapsed)")
        #expect(error.isUnreachable)
        #expect(error.description.contains("Google Vision endpoint 127.0.0.1:\(port)"), "\(error)")
        #expect(error.description.contains("--vision-endpoint"))
        try Self.expectRetryLines(recorder, message: "retrying a Vision call", key: "vision.endpoint", port: port)
        for text in [error.description] + recorder.records.map({ "\($0.message) \($0.metadata)" }) {
            #expect(!text.contains(key) && !text.contains("key=vision"))
        }
    }

    /// At least two retry lines, each naming the endpoint as host:port.
    static func expectRetryLines(_ recorder: LogRecorder, message: String, key: String, port: Int) throws {
        let lines = recorder.records.filter { $0.message == message }
        #expect(lines.count >= 2)
        #expect(lines.allSatisfy { $0.metadata[key] == "127.0.0.1:\(port)" }, "\(lines.map(\.metadata))")
    }

    @Test("the Flickr key check makes one flickr.test.echo call and refuses a wrong key by name, never by value")
    func flickrKeyCheck() async throws {
        let server = try FlickrTestServer(["--photos", "10", "--per-second", "1000"])
        defer { server.stop() }
        let http = try HTTPClient(logger: Logger(label: "test"))
        defer { http.shutdown() }
        func client(_ key: String) throws -> FlickrClient {
            try FlickrClient(
                http: http, endpoint: server.endpoint, apiKey: key, budget: RateBudget(perHour: 360_000),
                logger: Logger(label: "test"))
        }
        try await client(FlickrTestServer.apiKey).checkKey()
        let wrong = "wrong-flickr-key-4242"
        let error = try await #require(throws: IngestError.self) { try await client(wrong).checkKey() }
        #expect(error.code == .invalidAPIKey)
        #expect(error.description.contains("Flickr refused the API key"))
        #expect(error.description.contains("FLICKR_API_KEY"))
        #expect(!error.description.contains(wrong))
        // One call each, no retry, and no search spent.
        let log = try server.log()
        #expect(log.map { $0.params["method"] ?? "" } == ["flickr.test.echo", "flickr.test.echo"])
        #expect(log.map(\.outcome) == ["ok", "bad-key"])
    }

    @Test("the Vision key check bills nothing, and refuses a wrong key by name, never by value")
    func visionKeyCheck() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        let http = try HTTPClient(logger: Logger(label: "test"))
        defer { http.shutdown() }
        func client(_ key: String) throws -> VisionClient {
            try VisionClient(http: http, endpoint: server.endpoint, apiKey: key, logger: Logger(label: "test"))
        }
        try await client(VisionTestServer.apiKey).checkKey()
        let wrong = "wrong-vision-key-4242"
        let error = try await #require(throws: IngestError.self) { try await client(wrong).checkKey() }
        #expect(error.code == .invalidAPIKey)
        #expect(error.description.contains("refused the API key"))
        #expect(!error.description.contains(wrong))
        #expect(try server.billed().isEmpty)
        #expect(try server.log().isEmpty)
        let checks = try #require(try server.server.json("/__checks") as? [[String: Int]])
        #expect(checks.map { $0["status"] } == [200, 400])
    }

    @Test("the dry-run probe returns each query's total as the server counts it, writing nothing to the ledger")
    func probe() async throws {
        let server = try FlickrTestServer(["--photos", "6000", "--per-second", "1000"])
        defer { server.stop() }
        let workdir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-probe-\(UUID())")
        try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workdir) }
        let logger = Logger(label: "test")
        let http = try HTTPClient(logger: logger)
        defer { http.shutdown() }
        let ledger = try Ledger(directory: workdir.path, logger: logger)
        let client = try FlickrClient(
            http: http, endpoint: server.endpoint, apiKey: FlickrTestServer.apiKey,
            budget: RateBudget(perHour: 360_000),
            logger: logger)
        let plan = try SearchPlan.make(
            terms: ["monkey", "scimmia"], termsFileText: nil, bbox: FlickrTestServer.bbox, minTaken: nil,
            maxTaken: nil, now: Int64(Date().timeIntervalSince1970))
        let probes = try await SearchStage.probe(plan, client: client)
        let truth = try server.truth(terms: ["monkey", "scimmia"])
        #expect(probes.map(\.total) == [truth.totals["monkey"], truth.totals["scimmia"]])
        #expect(probes.allSatisfy { $0.total > 0 })
        #expect(probes[0].description.contains("\"monkey\"") && probes[0].description.contains("5,35,20,48"))
        #expect(probes.allSatisfy { !$0.description.contains(FlickrTestServer.apiKey) })
        let log = try server.log()
        #expect(log.count == 2)
        #expect(log.allSatisfy { $0.params["page"] == "1" && $0.params["per_page"] == "1" })
        #expect(try await ledger.photoCount() == 0)
        #expect(try await ledger.status().search.queries == 0)
    }
}

/// A loopback port that never answers a connection: its listener's accept queue is full and
/// never drained, so the kernel drops further connection attempts, as a firewalled host does.
private final class SilentPort {
    let port: Int
    private var sockets: [Int32] = []

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        sockets.append(listener)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 0) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else { throw PythonFixtureServer.ServerError.badAnswer("cannot listen on loopback") }
        port = Int(UInt16(bigEndian: address.sin_port))
        // Fill the accept queue (a backlog of 0 holds one) with connections nobody accepts.
        for _ in 0..<3 {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            sockets.append(filler)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) }
            }
        }
        usleep(200_000)
    }

    deinit { for socket in sockets { close(socket) } }
}
