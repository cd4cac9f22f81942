import Foundation

/// A request to stop a running stage gracefully: work in flight finishes and is committed, no
/// new work starts. Set it from a signal handler (Ctrl-C) or when a sibling stage fails.
public final class StopSignal: @unchecked Sendable {
    // Guarded by `lock`.
    private var requested = false
    private let lock = NSLock()

    /// Makes a signal that is not set.
    public init() {}

    /// Asks every stage that watches this signal to stop.
    public func request() {
        lock.lock()
        requested = true
        lock.unlock()
    }

    /// Whether a stop was asked for.
    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }
}
