import Foundation

/// How one stage of a run tells the next that rows are ready, without the next polling the
/// ledger: the stage before rings it after each commit (with the number of rows), and closes
/// it when it has finished; the stage after waits on it when it has nothing left to claim.
///
/// A ring carries no rows (they are in the ledger, leased by whoever claims them first), so
/// the bell's memory is the same however many photos go through it, and a consumer that was
/// busy when the bell rang still sees it (the generation moved on).
package final class Doorbell: Sendable {
    private struct State {
        var generation = 0
        var rows = 0
        var closed = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var expired: Set<Int> = []
    }

    private let state = Locked(State())

    /// An open bell that has not rung.
    package init() {}

    /// Says `rows` more rows are ready; wakes every waiter.
    package func ring(rows: Int = 0) {
        let waiters = state.withLock { state in
            state.generation += 1
            state.rows += rows
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Says the stage before has finished (or the run is stopping): nothing more will ring.
    package func close() {
        let waiters = state.withLock { state in
            state.closed = true
            state.generation += 1
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// The number of rings and closes so far: a consumer remembers it before it claims, and
    /// waits only if it has not moved since.
    package var generation: Int { state.withLock { $0.generation } }

    /// The rows rung so far.
    package var rows: Int { state.withLock { $0.rows } }

    /// Whether the stage before has finished.
    package var isClosed: Bool { state.withLock { $0.closed } }

    /// Returns once the bell rang or closed after `generation`, or after `timeout` seconds.
    package func wait(after generation: Int, timeout: Double? = nil) async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let timer = timeout.map { seconds in
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
                // Cancelled: the wait ended first (an expiry now would be kept for good).
                if !Task.isCancelled { self?.expire(id) }
            }
        }
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.generation != generation || state.closed || state.expired.remove(id) != nil { return true }
                state.waiters[id] = waiter
                return false
            }
            if now { waiter.resume() }
        }
        timer?.cancel()
    }

    /// Waits until the bell is closed.
    package func waitClosed() async {
        while true {
            let seen = generation
            if isClosed { return }
            await wait(after: seen)
        }
    }

    private func expire(_ id: Int) {
        let waiter = state.withLock { state in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return CheckedContinuation<Void, Never>?.none
            }
            return waiter
        }
        waiter?.resume()
    }
}
