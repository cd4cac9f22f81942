import Dispatch
import Foundation
import Synchronization

/// Threads of its own for work that blocks on the disk (image files written with `O_DIRECT`
/// wait for the device), so that the few threads Swift concurrency runs tasks on keep
/// computing meanwhile.
///
/// Why: on two cores the task pool has two or three threads; a direct write parks one of them
/// for the time the disk takes, and a `photoseal run` of 5,000 images left the cores idle 28%
/// of its time, its threads in uninterruptible sleep 11,238 times. The work handed here
/// (storing one image) is short and bounded, and the threads are created once.
final class BlockingPool: Sendable {
    /// The pool the image store's writes go through.
    static let shared = BlockingPool(threads: max(4, 2 * ProcessInfo.processInfo.activeProcessorCount))

    private let pending = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)

    private init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [self] in
                while true {
                    ready.wait()
                    let work = pending.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                    work?()
                }
            }
            thread.name = "photoseal.io.\(index)"
            thread.start()
        }
    }

    /// Runs `work` on one of the pool's threads and returns its result; the calling task is
    /// suspended meanwhile, not blocked.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pending.withLock { $0.append { continuation.resume(with: Result { try work() }) } }
            ready.signal()
        }
    }
}
