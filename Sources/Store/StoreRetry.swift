import Foundation
import Logging
import Retry

/// A driver failure (libmongoc, libpq) as the document stores retry it: whether trying again
/// may help, and whether the server could not be reached at all (retried only for the
/// policy's unreachable budget).
protocol StoreDriverFailure: Error {
    /// Whether another attempt may succeed (a lost connection, a failover, a busy server).
    var isTransient: Bool { get }
    /// Whether no server answered (unknown host, connection refused, TLS failure).
    var isUnreachable: Bool { get }
}

/// A thread-safe count (retries, write commands) a store reports.
final class StoreCounter: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var count = 0

    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

/// Runs `attempt` until it succeeds or `policy` gives up, the one retry shape of the MongoDB
/// and PostgreSQL stores on `withRetries`: transient `Failure`s are retried (each retry logged
/// with the store, the operation and the message, and counted in `retries`), anything else
/// ends the call.
/// - Parameters:
///   - describe: the store's one message for a driver failure after `attempts` attempts in
///     `elapsed`, logged on a retry and thrown on giving up.
///   - other: maps an error that is not a `Failure` when giving up (default: as thrown).
func withStoreRetries<T, Failure: StoreDriverFailure>(
    _ failureType: Failure.Type, policy: RetryPolicy, operation: String, location: String, logger: Logger,
    retries: StoreCounter, onRetry: () -> Void = {},
    describe: (Failure, _ attempts: Int, _ elapsed: Duration) -> StoreError,
    other: (any Error) -> any Error = { $0 },
    _ attempt: () async throws -> T
) async throws -> T {
    try await withRetries(
        policy: policy,
        classify: { error in
            guard let failure = error as? Failure, failure.isTransient else { return .permanent }
            return failure.isUnreachable ? .unreachable : .transient(retryAfter: nil)
        },
        onRetry: { error, event in
            guard let failure = error as? Failure else { return }
            let message = describe(failure, event.attempt, .seconds(event.elapsed)).message
            logger.warning(
                "store operation failed, retrying",
                metadata: [
                    "store.location": "\(location)", "store.operation": "\(operation)",
                    "store.attempt": "\(event.attempt)", "store.error": "\(message)",
                ])
            onRetry()
            retries.increment()
        },
        giveUp: { error, event in
            guard let failure = error as? Failure else { return other(error) }
            return describe(failure, event.attempt, .seconds(event.elapsed))
        }
    ) { _ in try await attempt() }
}

/// How hard an operation was tried, for a store's message: ` (after 3 attempts in 1.2 s)`,
/// ` (after 4.0 s)` for one long attempt, or nothing.
func storeTries(attempts: Int, elapsed: Duration) -> String {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return attempts > 1
        ? " (after \(attempts) attempts in \(String(format: "%.1f", seconds)) s)"
        : (seconds >= 1 ? " (after \(String(format: "%.1f", seconds)) s)" : "")
}
