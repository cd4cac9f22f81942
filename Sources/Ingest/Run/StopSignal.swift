import Foundation

/// A request to stop a running stage gracefully: work in flight finishes and is committed, no
/// new work starts. Set it from a signal handler (Ctrl-C) or when a sibling stage fails.
public final class StopSignal: @unchecked Sendable {
    // Guarded by `lock`.
    private var requested = false
    private var handlers: [Int: @Sendable () -> Void] = [:]
    private var nextHandler = 0
    private let lock = NSLock()

    /// Makes a signal that is not set.
    public init() {}

    /// Asks every stage that watches this signal to stop.
    public func request() {
        lock.lock()
        requested = true
        let run = handlers.sorted { $0.key < $1.key }.map(\.value)
        handlers = [:]
        lock.unlock()
        for handler in run { handler() }
    }

    /// Calls `handler` once when a stop is requested (at once if it was already): a run wakes
    /// its waiting stages with it.
    package func onRequest(_ handler: @escaping @Sendable () -> Void) {
        _ = register(handler)
    }

    /// `onRequest`, with a token to take the handler back (`nil` when it already ran).
    private func register(_ handler: @escaping @Sendable () -> Void) -> Int? {
        lock.lock()
        if requested {
            lock.unlock()
            handler()
            return nil
        }
        nextHandler += 1
        handlers[nextHandler] = handler
        lock.unlock()
        return nextHandler
    }

    private func unregister(_ token: Int?) {
        guard let token else { return }
        lock.lock()
        handlers[token] = nil
        lock.unlock()
    }

    /// Runs `operation` in a task of its own that is cancelled `grace` seconds after a stop is
    /// requested (at once when the caller is cancelled): work that may wait for minutes (a
    /// slow download) ends within moments of Ctrl-C or SIGTERM instead of being waited for,
    /// while work about to finish gets the grace to finish and be committed.
    package func cancelling<T: Sendable>(grace: Double = 0, _ operation: @escaping @Sendable () async -> T) async
        -> T
    {
        let task = Task { await operation() }
        let token = register {
            guard grace > 0 else { return task.cancel() }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(grace * 1e9))
                task.cancel()
            }
        }
        defer { unregister(token) }
        return await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Whether a stop was asked for.
    public var isRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return requested
    }
}
