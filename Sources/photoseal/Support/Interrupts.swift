import Dispatch
import Foundation

/// Turns SIGINT (Ctrl-C) and SIGTERM into a graceful stop: the first one calls `onStop`, a
/// second one ends the process at once with 128 + the signal number.
///
/// Watches may nest (a job's `run` inside `serve --worker`): one set of signal sources serves
/// every live watch, and a signal calls each one's `onStop`. (Two dispatch sources for one
/// signal did not work on Linux: cancelling the inner one left the outer one deaf.)
final class Interrupts: @unchecked Sendable {
    /// The process-wide watch: the signal sources and the live watches' callbacks.
    private final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var sources: [any DispatchSourceSignal] = []
        var watches: [ObjectIdentifier: Interrupts] = [:]
        var received: Int32?

        func add(_ watch: Interrupts) {
            lock.lock()
            defer { lock.unlock() }
            watches[ObjectIdentifier(watch)] = watch
            guard sources.isEmpty else { return }
            received = nil
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [weak self] in self?.fire(number) }
                source.resume()
                sources.append(source)
            }
        }

        func remove(_ watch: Interrupts) {
            lock.lock()
            defer { lock.unlock() }
            guard watches.removeValue(forKey: ObjectIdentifier(watch)) != nil, watches.isEmpty else { return }
            for source in sources { source.cancel() }
            sources = []
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }

        func fire(_ number: Int32) {
            lock.lock()
            let first = received == nil
            if first { received = number }
            let live = Array(watches.values)
            lock.unlock()
            guard first else { _exit(128 + number) }
            for watch in live { watch.stop(number) }
        }
    }

    private static let registry = Registry()

    private let lock = NSLock()
    private var received: Int32?
    private let onStop: @Sendable () -> Void

    /// Starts watching; `onStop` runs once, on a background queue.
    init(onStop: @escaping @Sendable () -> Void) {
        self.onStop = onStop
        Self.registry.add(self)
    }

    private func stop(_ number: Int32) {
        lock.lock()
        let first = received == nil
        if first { received = number }
        lock.unlock()
        if first { onStop() }
    }

    /// The first signal received while this watch was live, if any.
    var caught: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    /// Stops this watch; the default handling comes back with the last one.
    func cancel() { Self.registry.remove(self) }
}
