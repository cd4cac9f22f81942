import Foundation
import Retry
import Testing

/// The one retry loop: what it retries, when it gives up, and what it reports.
@Suite("withRetries")
struct WithRetriesTests {
    struct Failure: Error, Equatable {
        let kind: RetryClass
    }

    /// Fast waits so the tests take milliseconds.
    static let fast = RetryPolicy(
        maxAttempts: 4, baseDelay: 0.001, maxDelay: 0.002, unreachableBudget: 10, unreachableBaseDelay: 0.001,
        unreachableMaxDelay: 0.002)

    @Test("a transient failure is retried until the operation succeeds, with one onRetry per retry")
    func retriesUntilSuccess() async throws {
        var retries: [Int] = []
        let result = try await withRetries(
            policy: Self.fast, classify: { ($0 as? Failure)?.kind ?? .permanent },
            onRetry: { _, event in retries.append(event.attempt) }
        ) { attempt in
            if attempt < 3 { throw Failure(kind: .transient(retryAfter: nil)) }
            return attempt
        }
        #expect(result == 3)
        #expect(retries == [1, 2])
    }

    @Test("a permanent failure is not retried; giveUp maps the last error with the attempt count")
    func permanentGivesUpAtOnce() async throws {
        var attempts = 0
        await #expect(throws: Failure(kind: .transient(retryAfter: 1))) {
            try await withRetries(
                policy: Self.fast, classify: { ($0 as? Failure)?.kind ?? .permanent },
                giveUp: { _, event in Failure(kind: .transient(retryAfter: Double(event.attempt))) }
            ) { _ -> Int in
                attempts += 1
                throw Failure(kind: .permanent)
            }
        }
        #expect(attempts == 1)
    }

    @Test("transient failures stop after maxAttempts")
    func attemptsAreBounded() async throws {
        var attempts = 0
        await #expect(throws: Failure.self) {
            try await withRetries(policy: Self.fast, classify: { ($0 as? Failure)?.kind ?? .permanent }) { _ -> Int in
                attempts += 1
                throw Failure(kind: .transient(retryAfter: nil))
            }
        }
        #expect(attempts == Self.fast.maxAttempts)
    }

    @Test("an unreachable endpoint whose attempts outlast the budget gets the minimum retries, then gives up")
    func unreachableBudget() async throws {
        // An invented clock: every attempt takes 20 s, twice the budget.
        let clock = Clock()
        var attempts = 0
        await #expect(throws: Failure.self) {
            try await withRetries(
                policy: Self.fast, clock: { clock.now }, classify: { ($0 as? Failure)?.kind ?? .permanent }
            ) { _ -> Int in
                attempts += 1
                clock.advance(20)
                throw Failure(kind: .unreachable)
            }
        }
        #expect(attempts == Self.fast.unreachableMinimumRetries + 1)
    }

    @Test("Retry-After lengthens the wait; jitter stays within the step")
    func waits() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 1, maxDelay: 8)
        #expect(policy.wait(after: .transient(retryAfter: 30), attempt: 1, unreachableFor: 0, random: 0) == 30)
        #expect(policy.wait(after: .transient(retryAfter: nil), attempt: 4, unreachableFor: 0, random: 1) == 8)
        #expect(policy.wait(after: .transient(retryAfter: nil), attempt: 5, unreachableFor: 0) == nil)
        let fixed = RetryPolicy(baseDelay: 0.2, maxDelay: 3, jitter: 0)
        #expect(fixed.wait(after: .transient(retryAfter: nil), attempt: 2, unreachableFor: 0, random: 0) == 0.4)
    }

    final class Clock: @unchecked Sendable {
        // Touched by one task at a time (the loop and its operation run in sequence).
        private(set) var now = 0.0
        func advance(_ seconds: Double) { now += seconds }
    }
}
