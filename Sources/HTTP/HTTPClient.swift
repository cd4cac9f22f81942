import Foundation
public import Logging

/// An HTTP client on libcurl's multi interface: many concurrent transfers driven by one
/// dedicated thread, exposed as `async` calls.
///
/// Blocking C calls never run on Swift's cooperative pool: the client starts one thread of its
/// own that loops on `curl_multi_poll` / `curl_multi_perform` and resumes each caller's
/// continuation when its transfer ends. Connections are kept alive and reused, HTTP/2 is
/// negotiated where the server offers it (transfers to one host are multiplexed), answers may
/// be gzip-compressed, TLS peers are verified, and every transfer has a connect timeout and a
/// low-speed limit. Call `shutdown()` when done (or let the client go: `deinit` stops the
/// thread without waiting).
///
/// This file is the public API; `CurlHandles.swift` owns the libcurl handles, `Engine.swift`
/// runs the engine thread, and `HTTPError.swift` is the one place libcurl's result codes are
/// read.
public final class HTTPClient: Sendable {
    /// Settings for every transfer of a client.
    public struct Configuration: Sendable {
        /// The `User-Agent` header; default `photoseal` (the pipeline adds its version).
        public var userAgent: String
        /// Seconds allowed to establish a connection (default 10).
        public var connectTimeout: Double
        /// A transfer slower than `lowSpeedLimit` bytes/s for `lowSpeedTime` seconds is
        /// aborted as timed out (defaults: 1 byte/s for 30 s).
        public var lowSpeedLimit: Int
        /// See `lowSpeedLimit`.
        public var lowSpeedTime: Int
        /// Most connections open to one host at a time (default 6).
        public var maxConnectionsPerHost: Int
        /// Most connections open in total (default 32).
        public var maxTotalConnections: Int
        /// Overall time limit of a transfer in seconds when its request sets none (default `nil`:
        /// none; the download stage sets its own per request). The low-speed limit alone lets a
        /// body at 2 bytes/s run forever.
        public var transferTimeout: Double?

        /// The defaults described on each property.
        public init(
            userAgent: String = "photoseal", connectTimeout: Double = 10,
            lowSpeedLimit: Int = 1, lowSpeedTime: Int = 30, maxConnectionsPerHost: Int = 6,
            maxTotalConnections: Int = 32, transferTimeout: Double? = nil
        ) {
            self.userAgent = userAgent
            self.connectTimeout = connectTimeout
            self.lowSpeedLimit = lowSpeedLimit
            self.lowSpeedTime = lowSpeedTime
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxTotalConnections = maxTotalConnections
            self.transferTimeout = transferTimeout
        }
    }

    private let multi: CurlMulti
    private let inbox: Inbox
    private let finished = DispatchSemaphore(value: 0)
    private let nextID = Counter()

    /// Starts a client and its engine thread.
    /// - Throws: `HTTPError` `.setup` when libcurl cannot be initialised.
    public init(configuration: Configuration = Configuration(), logger: Logger) throws {
        try CurlGlobal.initialise()
        let multi = try CurlMulti(configuration: configuration)
        let inbox = Inbox()
        self.multi = multi
        self.inbox = inbox
        let finished = self.finished
        let thread = Thread {
            var engine = Engine(multi: multi, inbox: inbox, configuration: configuration, logger: logger)
            engine.run()
            finished.signal()
        }
        thread.name = "photoseal-http"
        thread.start()
    }

    deinit {
        inbox.stop()
        multi.wakeup()
    }

    /// Stops the engine thread and waits for it; transfers still running fail as cancelled.
    /// Calling it again does nothing.
    public func shutdown() {
        guard inbox.stop() else { return }
        multi.wakeup()
        finished.wait()
    }

    /// Performs one request and returns the final answer, whatever its status.
    ///
    /// - Parameters:
    ///   - request: what to fetch.
    ///   - sink: when given, receives the body as it arrives (the returned body is empty).
    /// - Throws: `HTTPError` when no answer arrived: its `code` says how the transfer failed
    ///   (`.dns`, `.connect`, `.connectTimeout`, `.tls`, `.timeout`, `.reset`, `.truncated`,
    ///   `.tooLarge`, `.aborted` by the sink, …), its message names the endpoint as `host:port`
    ///   with libcurl's explanation; `.cancelled` when the task is cancelled or the client shut
    ///   down. Any HTTP status, even 500, is an answer, not an error.
    public func send(_ request: HTTPRequest, sink: (any HTTPBodySink)? = nil) async throws -> HTTPResponse {
        let id = nextID.next()
        let inbox = self.inbox
        let multi = self.multi
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: HTTPError(.cancelled, "the request was cancelled"))
                    return
                }
                let submission = Submission(id: id, request: request, sink: sink, continuation: continuation)
                if inbox.submit(submission) {
                    multi.wakeup()
                } else {
                    continuation.resume(throwing: HTTPError(.cancelled, "the HTTP client has been shut down"))
                }
            }
        } onCancel: {
            inbox.cancel(id)
            multi.wakeup()
        }
    }
}
