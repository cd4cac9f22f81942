import Foundation

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

/// How often and how patiently a failed call is retried.
///
/// Transient failures (HTTP 5xx and 429, Flickr code 105, resets, timeouts mid-transfer,
/// truncated answers) get up to `maxAttempts` attempts with exponential back-off. A failure
/// that means the endpoint cannot be reached at all (`IngestError.isUnreachable`: no such
/// host, connection refused, TLS or certificate failure) gets quick retries for about
/// `unreachableBudget` seconds only: waiting minutes does not fix a wrong endpoint.
public struct RetryPolicy: Sendable {
    /// Most attempts per call, the first included (default 8).
    public var maxAttempts: Int
    /// The first back-off in seconds (default 1); doubles each attempt.
    public var baseDelay: Double
    /// The longest back-off in seconds (default 60).
    public var maxDelay: Double
    /// Seconds a call keeps retrying while the endpoint is unreachable, counted from the start
    /// of the first attempt that found it so (default 10).
    public var unreachableBudget: Double

    /// The first quick retry's wait for an unreachable endpoint; doubles up to
    /// `unreachableMaxDelay`.
    static let unreachableBaseDelay = 0.25
    /// The longest wait between quick retries of an unreachable endpoint.
    static let unreachableMaxDelay = 2.0

    /// The defaults described on each property.
    public init(maxAttempts: Int = 8, baseDelay: Double = 1, maxDelay: Double = 60, unreachableBudget: Double = 10) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(self.baseDelay, maxDelay)
        self.unreachableBudget = max(0, unreachableBudget)
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1): exponential back-off
    /// with jitter (between half and all of the step), at least `retryAfter` when the server
    /// named one.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double = Double.random(in: 0...1))
        -> Double
    {
        let step = min(maxDelay, baseDelay * pow(2, Double(max(0, attempt - 1))))
        let jittered = step * (0.5 + 0.5 * min(max(random, 0), 1))
        return max(jittered, min(retryAfter ?? 0, 300))
    }

    /// Whether a call whose attempt `attempt` failed with `error` may try again, and after
    /// how long: the one decision every retry loop of the HTTP clients makes.
    ///
    /// - Parameters:
    ///   - error: the failure.
    ///   - attempt: the attempt that failed, counting from 1.
    ///   - unreachableFor: seconds since the start of the first attempt of this call that found
    ///     the endpoint unreachable (0 when `error` is the first such failure).
    ///   - random: the jitter draw in 0...1.
    /// - Returns: the seconds to wait before the next attempt, or `nil` to give up: the
    ///   failure is permanent, the attempts are spent, or an unreachable endpoint used up
    ///   `unreachableBudget`.
    public func wait(
        after error: IngestError, attempt: Int, unreachableFor: Double, random: Double = Double.random(in: 0...1)
    ) -> Double? {
        guard error.isRetriable, attempt < maxAttempts else { return nil }
        guard error.isUnreachable else {
            return delay(afterAttempt: attempt, retryAfter: error.retryAfter, random: random)
        }
        let step = min(Self.unreachableMaxDelay, Self.unreachableBaseDelay * pow(2, Double(max(0, attempt - 1))))
        let wait = step * (0.5 + 0.5 * min(max(random, 0), 1))
        // A couple of quick retries always, however long each attempt took (a loaded machine
        // or a slow resolver must not turn a blip into an error); then the time budget decides.
        return attempt <= Self.unreachableMinimumRetries || unreachableFor + wait <= unreachableBudget ? wait : nil
    }

    /// Retries an unreachable endpoint always gets, within `maxAttempts`, before the budget counts.
    public static let unreachableMinimumRetries = 2
}

/// One call's retry bookkeeping under a `RetryPolicy`: counts attempts and remembers when the
/// endpoint was first found unreachable, so each client's loop asks `RetryPolicy.wait` the
/// same question.
struct RetryState {
    let policy: RetryPolicy
    private let clock: @Sendable () -> Double
    /// Attempts started so far.
    private(set) var attempt = 0
    /// When the current attempt started.
    private var attemptStarted = 0.0
    /// When the first attempt that found the endpoint unreachable started.
    private var unreachableSince: Double?
    /// When the first attempt started.
    private var firstStarted: Double?

    init(policy: RetryPolicy, clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.policy = policy
        self.clock = clock
    }

    /// Marks the start of an attempt.
    mutating func begin() {
        attempt += 1
        attemptStarted = clock()
        if firstStarted == nil { firstStarted = attemptStarted }
    }

    /// Seconds since the first attempt started.
    var elapsed: Double { clock() - (firstStarted ?? clock()) }

    /// The wait before the next attempt after the current one failed with `error`, or `nil`
    /// to give up (see `RetryPolicy.wait`).
    mutating func wait(after error: IngestError) -> Double? {
        var unreachableFor = 0.0
        if error.isUnreachable {
            let since = unreachableSince ?? attemptStarted
            unreachableSince = since
            unreachableFor = clock() - since
        } else {
            // The endpoint answered: a later unreachable spell gets its own budget.
            unreachableSince = nil
        }
        return policy.wait(after: error, attempt: attempt, unreachableFor: unreachableFor)
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
        switch error.curlCode {
        case 5: cause = "the proxy's host name does not resolve"
        case 6: cause = "the host name does not resolve"
        case 7: cause = "nothing accepted the connection (refused or no route)"
        case 28: cause = "no answer to the connection within the connect timeout"
        default: cause = "the TLS handshake or certificate check failed"
        }
        let tried = attempts == 1 ? "1 attempt" : "\(attempts) attempts"
        return error.with(
            message: "cannot reach the \(service) endpoint \(hostPort) (\(tried) in "
                + String(format: "%.1f", seconds) + " s): \(cause); check \(flag) and the network. "
                + "Detail: \(error.message)")
    }
}
