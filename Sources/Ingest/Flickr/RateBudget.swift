import Foundation
import HTTP
import Logging
import Retry

/// A token bucket: a steady rate with short bursts, as pure arithmetic over a caller's clock.
///
/// `reserve(now:)` always grants a call and says how long to wait before making it; the
/// bucket may go into debt, so reservations made at the same moment queue up one interval
/// apart. Tests drive it with an invented clock.
public struct TokenBucket: Sendable, Equatable {
    /// Calls per second on average.
    public let rate: Double
    /// The most calls that may go out at once after a quiet spell.
    public let capacity: Double
    private var tokens: Double
    private var last: Double

    /// Makes a full bucket.
    /// - Parameters:
    ///   - rate: calls per second (more than zero).
    ///   - capacity: the burst size (at least 1).
    ///   - now: the clock's current reading in seconds.
    public init(rate: Double, capacity: Double, now: Double) {
        self.rate = max(rate, 1e-9)
        self.capacity = max(capacity, 1)
        tokens = self.capacity
        last = now
    }

    /// Reserves one call at `now`; returns the seconds to wait before making it (0 for at once).
    public mutating func reserve(now: Double) -> Double {
        refill(now: now)
        tokens -= 1
        return tokens >= 0 ? 0 : -tokens / rate
    }

    /// Makes the next reservation wait at least `seconds` from `now` (the server said
    /// "slow down", e.g. HTTP 429 with Retry-After).
    public mutating func pause(seconds: Double, now: Double) {
        refill(now: now)
        tokens = min(tokens, 1 - seconds * rate)
    }

    private mutating func refill(now: Double) {
        if now > last {
            tokens = min(capacity, tokens + (now - last) * rate)
            last = now
        }
    }
}

/// The shared call budget of one API key: every task using the key draws from one bucket.
///
/// Flickr allows 3,600 calls per hour per key across everything that uses it; photoseal's
/// default is exactly that, paced evenly (one a second) with bursts of at most 3.
public final class RateBudget: Sendable {
    /// Flickr's published limit per key.
    public static let flickrDefaultPerHour = 3600.0
    /// The default burst size.
    public static let defaultBurst = 3.0

    private let state: Locked<TokenBucket>
    private let clock: @Sendable () -> Double

    /// Makes a budget of `perHour` calls per hour with bursts of `burst`; `clock` (seconds,
    /// monotonic) defaults to the system uptime.
    public init(
        perHour: Double = RateBudget.flickrDefaultPerHour, burst: Double = RateBudget.defaultBurst,
        clock: (@Sendable () -> Double)? = nil
    ) {
        let clock = clock ?? { ProcessInfo.processInfo.systemUptime }
        self.clock = clock
        state = Locked(TokenBucket(rate: perHour / 3600, capacity: burst, now: clock()))
    }

    private static let registry = Locked<[String: RateBudget]>([:])

    /// The one budget for `apiKey` in this process (made with `perHour` on first use).
    public static func shared(apiKey: String, perHour: Double, burst: Double = defaultBurst) -> RateBudget {
        registry.withLock { budgets in
            let name = "\(apiKey)#\(perHour)#\(burst)"
            if let budget = budgets[name] { return budget }
            let budget = RateBudget(perHour: perHour, burst: burst)
            budgets[name] = budget
            return budget
        }
    }

    /// Waits until a call may go out.
    /// - Throws: `CancellationError` when the task is cancelled while waiting.
    public func acquire() async throws {
        let wait = state.withLock { $0.reserve(now: clock()) }
        if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
    }

    /// Holds every caller back for `seconds` (the server asked to slow down).
    public func pause(seconds: Double) {
        state.withLock { $0.pause(seconds: seconds, now: clock()) }
    }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    // `value` is only touched while `lock` is held.
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// The endpoint of an API client, as messages and logs name it: host and port, never the
/// path, query or key.
struct ServiceEndpoint: Sendable {
    /// "Flickr" or "Google Vision".
    let service: String
    /// The command-line flag that sets the endpoint.
    let flag: String
    /// `host:port`.
    let hostPort: String

    init(service: String, flag: String, url: String) {
        self.service = service
        self.flag = flag
        hostPort = HTTPEndpoint.hostPort(url)
    }

    /// The one error reported once an unreachable endpoint used up its quick retries: which
    /// endpoint, why, how hard photoseal tried, and what to check.
    func unreachable(_ error: IngestError, attempts: Int, seconds: Double) -> IngestError {
        let cause: String
        switch error.transportCause {
        case .proxy?: cause = "the proxy's host name does not resolve"
        case .dns?: cause = "the host name does not resolve"
        case .connect?: cause = "nothing accepted the connection (refused or no route)"
        case .connectTimeout?: cause = "no answer to the connection within the connect timeout"
        default: cause = "the TLS handshake or certificate check failed"
        }
        let tried = attempts == 1 ? "1 attempt" : "\(attempts) attempts"
        return error.with(
            message: "cannot reach the \(service) endpoint \(hostPort) (\(tried) in "
                + String(format: "%.1f", seconds) + " s): \(cause); check \(flag) and the network. "
                + "Detail: \(error.message)")
    }

    /// One API call under `policy`: `withRetries` with the pipeline's classification
    /// (`IngestError.retryClass`), one log line per retry, and the endpoint named once an
    /// unreachable endpoint used up its quick retries.
    ///
    /// - Parameters:
    ///   - policy: the retry policy.
    ///   - logger: where retries are logged, as `message` with `<prefix>.*` metadata.
    ///   - onAttempt: told `.retried` before each retry and `.failed` when the call gives up
    ///     (the operation reports `.ok` itself).
    ///   - onRetry: extra work before each retry's wait (e.g. slowing a shared rate budget).
    ///   - cancelled: the message when the task is cancelled while waiting.
    ///   - operation: one attempt.
    func call<T>(
        policy: RetryPolicy, logger: Logger, message: Logger.Message, prefix: String,
        metadata: Logger.Metadata = [:], onAttempt: @Sendable (FlickrClient.Outcome) -> Void,
        onRetry: (IngestError) -> Void = { _ in }, cancelled: String, operation: () async throws -> T
    ) async throws -> T {
        do {
            return try await withRetries(
                policy: policy,
                classify: { ($0 as? IngestError)?.retryClass ?? .permanent },
                onRetry: { error, event in
                    onAttempt(.retried)
                    guard let error = error as? IngestError else { return }
                    onRetry(error)
                    var fields = metadata
                    fields["\(prefix).endpoint"] = "\(hostPort)"
                    fields["\(prefix).error"] = "\(error.code)"
                    fields["\(prefix).cause"] = "\(error.transportCause?.name ?? "")"
                    fields["\(prefix).http_status"] = "\(error.httpStatus ?? 0)"
                    fields["\(prefix).attempt"] = "\(event.attempt)"
                    fields["\(prefix).wait_seconds"] = "\(String(format: "%.2f", event.wait))"
                    logger.notice(message, metadata: fields)
                },
                giveUp: { error, event in
                    guard let error = error as? IngestError, error.code != .cancelled else { return error }
                    onAttempt(.failed)
                    return error.isUnreachable
                        ? unreachable(error, attempts: event.attempt, seconds: event.elapsed) : error
                },
                operation: { _ in try await operation() })
        } catch is CancellationError {
            throw IngestError(.cancelled, cancelled)
        }
    }
}
