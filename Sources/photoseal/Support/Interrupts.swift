import Dispatch
import Foundation

/// Turns SIGINT (Ctrl-C) and SIGTERM into a graceful stop: the first one calls `onStop`, a
/// second one ends the process at once with 128 + the signal number.
final class Interrupts: @unchecked Sendable {
    // Guarded by `lock`.
    private var received: Int32?
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    /// Watchers alive in this process (a job's `run` inside `serve --worker` has its own): the
    /// default handling comes back only when the last one is cancelled.
    nonisolated(unsafe) private static var active = 0
    private static let activeLock = NSLock()

    /// Starts watching; `onStop` runs once, on a background queue.
    init(onStop: @escaping @Sendable () -> Void) {
        Self.activeLock.lock()
        Self.active += 1
        Self.activeLock.unlock()
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let first = self.received == nil
                if first { self.received = number }
                self.lock.unlock()
                if first {
                    onStop()
                } else {
                    _exit(128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    var caught: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Restores the default handling.
    func cancel() {
        lock.lock()
        let cancelled = sources
        sources = []
        lock.unlock()
        guard !cancelled.isEmpty else { return }
        for source in cancelled { source.cancel() }
        Self.activeLock.lock()
        Self.active -= 1
        let last = Self.active == 0
        Self.activeLock.unlock()
        if last {
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
    }
}
