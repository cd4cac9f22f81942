import Foundation

/// A request to stop a running stage gracefully: work in flight finishes and is committed, no
/// new work starts. Set it from a signal handler (Ctrl-C) or when a sibling stage fails.
public final class StopSignal: @unchecked Sendable {
    // Guarded by `lock`.
    private var requested = false
    private var handlers: [@Sendable () -> Void] = []
    private let lock = NSLock()

    /// Makes a signal that is not set.
    public init() {}

    /// Asks every stage that watches this signal to stop.
    public func request() {
        lock.lock()
        requested = true
        let run = handlers
        handlers = []
        lock.unlock()
        for handler in run { handler() }
    }

    /// Calls `handler` once when a stop is requested (at once if it was already): a run wakes
    /// its waiting stages with it.
    package func onRequest(_ handler: @escaping @Sendable () -> Void) {
        lock.lock()
        if requested {
            lock.unlock()
            handler()
            return
        }
        handlers.append(handler)
        lock.unlock()
    }

    /// Whether a stop was asked for.
    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }
}
