import Foundation

/// What a failed attempt says about trying again.
public enum RetryClass: Sendable, Equatable {
    /// Trying again cannot help (a refused key, a bad request, a cancelled task).
    case permanent
    /// Trying again later may succeed (HTTP 5xx or 429, a reset, a timeout mid-transfer);
    /// `retryAfter` is the wait the server asked for, if it named one.
    case transient(retryAfter: Double?)
    /// The endpoint could not be reached at all (no such host, nothing accepts the connection,
    /// TLS fails): a few quick retries within `RetryPolicy.unreachableBudget`, then give up,
    /// since waiting minutes does not fix a wrong endpoint or a missing network.
    case unreachable
}

/// How often and how patiently a failed call is retried: the one policy type of every retry
/// loop (the HTTP clients, the downloads, the document stores).
///
/// Transient failures get up to `maxAttempts` attempts with exponential back-off
/// (`baseDelay` doubling up to `maxDelay`, with jitter), at least the server's `Retry-After`.
/// An unreachable endpoint gets quick retries (`unreachableBaseDelay` doubling up to
/// `unreachableMaxDelay`) for about `unreachableBudget` seconds only, with at least
/// `unreachableMinimumRetries` whatever the clock says.
public struct RetryPolicy: Sendable, Equatable {
    /// Most attempts per call, the first included (default 8).
    public var maxAttempts: Int
    /// The first back-off in seconds (default 1); doubles each attempt.
    public var baseDelay: Double
    /// The longest back-off in seconds (default 60).
    public var maxDelay: Double
    /// Seconds a call keeps retrying while the endpoint is unreachable, counted from the start
    /// of the first attempt that found it so (default 10).
    public var unreachableBudget: Double
    /// The first quick retry's wait for an unreachable endpoint (default 0.25 s).
    public var unreachableBaseDelay: Double
    /// The longest wait between quick retries of an unreachable endpoint (default 2 s).
    public var unreachableMaxDelay: Double
    /// Retries an unreachable endpoint always gets, within `maxAttempts`, before the budget
    /// counts (default 2): a loaded machine or a slow resolver must not turn a blip into an
    /// error.
    public var unreachableMinimumRetries: Int
    /// The share of each wait that is random (default 0.5: between half and all of the step);
    /// 0 for fixed waits.
    public var jitter: Double
    /// The longest `Retry-After` honoured, in seconds (default 300).
    public var maxRetryAfter: Double

    /// The defaults described on each property.
    public init(
        maxAttempts: Int = 8, baseDelay: Double = 1, maxDelay: Double = 60, unreachableBudget: Double = 10,
        unreachableBaseDelay: Double = 0.25, unreachableMaxDelay: Double = 2, unreachableMinimumRetries: Int = 2,
        jitter: Double = 0.5, maxRetryAfter: Double = 300
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(self.baseDelay, maxDelay)
        self.unreachableBudget = max(0, unreachableBudget)
        self.unreachableBaseDelay = max(0, unreachableBaseDelay)
        self.unreachableMaxDelay = max(self.unreachableBaseDelay, unreachableMaxDelay)
        self.unreachableMinimumRetries = max(0, unreachableMinimumRetries)
        self.jitter = min(max(jitter, 0), 1)
        self.maxRetryAfter = max(0, maxRetryAfter)
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1) after a transient
    /// failure: exponential back-off with jitter, at least `retryAfter` (up to
    /// `maxRetryAfter`) when the server named one.
    public func delay(afterAttempt attempt: Int, retryAfter: Double?, random: Double = Double.random(in: 0...1))
        -> Double
    {
        let step = min(maxDelay, baseDelay * pow(2, Double(max(0, attempt - 1))))
        return max(jittered(step, random: random), min(retryAfter ?? 0, maxRetryAfter))
    }

    /// Whether a call whose attempt `attempt` failed as `failure` may try again, and after how
    /// long: the one decision every retry loop makes.
    ///
    /// - Parameters:
    ///   - failure: how the attempt failed.
    ///   - attempt: the attempt that failed, counting from 1.
    ///   - unreachableFor: seconds since the start of the first attempt of this call that found
    ///     the endpoint unreachable (0 when `failure` is the first such failure).
    ///   - lastAttempt: how long the failed attempt took; the next one is expected to take as
    ///     long, so it must fit in the unreachable budget too (0 when unknown).
    ///   - random: the jitter draw in 0...1.
    /// - Returns: the seconds to wait before the next attempt, or `nil` to give up: the
    ///   failure is permanent, the attempts are spent, or an unreachable endpoint used up
    ///   `unreachableBudget`.
    public func wait(
        after failure: RetryClass, attempt: Int, unreachableFor: Double, lastAttempt: Double = 0,
        random: Double = Double.random(in: 0...1)
    ) -> Double? {
        guard attempt < maxAttempts else { return nil }
        switch failure {
        case .permanent:
            return nil
        case .transient(let retryAfter):
            return delay(afterAttempt: attempt, retryAfter: retryAfter, random: random)
        case .unreachable:
            let step = min(unreachableMaxDelay, unreachableBaseDelay * pow(2, Double(max(0, attempt - 1))))
            let wait = jittered(step, random: random)
            guard attempt > unreachableMinimumRetries else { return wait }
            return unreachableFor + wait + lastAttempt <= unreachableBudget ? wait : nil
        }
    }

    private func jittered(_ step: Double, random: Double) -> Double {
        step * (1 - jitter + jitter * min(max(random, 0), 1))
    }
}

/// One retry or give-up of `withRetries`, for logs and counters.
public struct RetryEvent: Sendable {
    /// The attempt that failed, counting from 1.
    public var attempt: Int
    /// How the attempt failed.
    public var failure: RetryClass
    /// The wait before the next attempt (0 when giving up).
    public var wait: Double
    /// Seconds since the first attempt started.
    public var elapsed: Double
}

/// Runs `operation` until it succeeds or `policy` says to give up: the one retry loop of the
/// HTTP clients, the downloads and the document stores.
///
/// - Parameters:
///   - policy: how often and how patiently to retry.
///   - clock: seconds on a monotonic clock (default: the system uptime; tests pass their own).
///   - classify: what a thrown error says about trying again.
///   - onRetry: called before each wait (log it, count it, slow a shared budget down); what
///     it throws ends the call.
///   - giveUp: maps the last error when the call gives up (e.g. one message naming an
///     unreachable endpoint and how hard it was tried); default: the error as thrown.
///   - operation: one attempt; receives the attempt number, counting from 1.
/// - Throws: what `giveUp` returns, or `CancellationError` when the task is cancelled
///   during a wait.
public func withRetries<T>(
    policy: RetryPolicy,
    clock: (@Sendable () -> Double)? = nil,
    classify: (any Error) -> RetryClass,
    onRetry: (any Error, RetryEvent) async throws -> Void = { _, _ in },
    giveUp: (any Error, RetryEvent) -> any Error = { error, _ in error },
    operation: (_ attempt: Int) async throws -> T
) async throws -> T {
    let clock = clock ?? { ProcessInfo.processInfo.systemUptime }
    let started = clock()
    var unreachableSince: Double?
    var attempt = 0
    while true {
        attempt += 1
        let attemptStarted = clock()
        do {
            return try await operation(attempt)
        } catch {
            let failure = classify(error)
            let now = clock()
            var unreachableFor = 0.0
            if failure == .unreachable {
                let since = unreachableSince ?? attemptStarted
                unreachableSince = since
                unreachableFor = now - since
            } else {
                // The endpoint answered: a later unreachable spell gets its own budget.
                unreachableSince = nil
            }
            guard
                let wait = policy.wait(
                    after: failure, attempt: attempt, unreachableFor: unreachableFor, lastAttempt: now - attemptStarted)
            else {
                throw giveUp(error, RetryEvent(attempt: attempt, failure: failure, wait: 0, elapsed: now - started))
            }
            try await onRetry(error, RetryEvent(attempt: attempt, failure: failure, wait: wait, elapsed: now - started))
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
        }
    }
}
