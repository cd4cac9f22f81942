import Foundation
import HTTP
import Retry
import Testing

@testable import Ingest

@Suite("rate budget and retries", .tags(.unit))
struct PacingTests {
    @Test("the token bucket allows a burst, then one call per interval")
    func burstThenSteady() {
        var bucket = TokenBucket(rate: 1, capacity: 3, now: 0)
        let waits = (0..<6).map { _ in bucket.reserve(now: 0) }
        #expect(waits == [0, 0, 0, 1, 2, 3])
    }

    @Test("no window of any length holds more than the burst plus rate times the window", arguments: [1.0, 0.25, 20.0])
    func windowBound(rate: Double) {
        var bucket = TokenBucket(rate: rate, capacity: 3, now: 0)
        var clock = 0.0
        var sendTimes: [Double] = []
        // Callers arrive in irregular clumps; each call goes out when its reservation says.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<400 {
            clock += Double.random(in: 0...(2 / rate), using: &generator) * (Bool.random() ? 0 : 1)
            sendTimes.append(clock + bucket.reserve(now: clock))
        }
        sendTimes.sort()
        for window in [1 / rate, 5 / rate, 60 / rate] {
            var start = 0
            for end in sendTimes.indices {
                while sendTimes[end] - sendTimes[start] >= window { start += 1 }
                #expect(Double(end - start + 1) <= 3 + rate * window + 1e-9)
            }
        }
    }

    @Test("3,600 calls an hour paces a long run at one call a second")
    func defaultRate() {
        var bucket = TokenBucket(
            rate: RateBudget.flickrDefaultPerHour / 3600, capacity: RateBudget.defaultBurst, now: 0)
        var last = 0.0
        for _ in 0..<3600 { last = bucket.reserve(now: 0) }
        #expect(abs(last - 3597) < 1e-6)  // 3 at once, then 3,597 one second apart
    }

    @Test("a pause (Retry-After) holds the next call back at least that long")
    func pause() {
        var bucket = TokenBucket(rate: 10, capacity: 3, now: 0)
        bucket.pause(seconds: 2, now: 0)
        #expect(bucket.reserve(now: 0) >= 2 - 1e-9)
        #expect(bucket.reserve(now: 3) < 1)
    }

    @Test("back-off doubles per attempt with jitter, is capped, and honours Retry-After")
    func backoff() {
        let policy = RetryPolicy(maxAttempts: 8, baseDelay: 1, maxDelay: 10)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 1)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0) == 0.5)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 1) == 4)
        #expect(policy.delay(afterAttempt: 9, retryAfter: nil, random: 1) == 10)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 7, random: 0) == 7)
        for attempt in 1...8 {
            let d = policy.delay(afterAttempt: attempt, retryAfter: nil)
            #expect(d >= 0.5 * min(10, pow(2, Double(attempt - 1))) && d <= min(10, pow(2, Double(attempt - 1))))
        }
    }
}
