import Dispatch
import Foundation

/// Turns SIGINT (Ctrl-C) and SIGTERM into a graceful stop: the first one calls `onStop`, a
/// second one ends the process at once with 128 + the signal number.
final class Interrupts: @unchecked Sendable {
    // Guarded by `lock`.
    private var received: Int32?
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []

    /// Starts watching; `onStop` runs once, on a background queue.
    init(onStop: @escaping @Sendable () -> Void) {
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
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
