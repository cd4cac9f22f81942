import Foundation

/// Draws one progress line on stderr (only when it is a terminal), at most 5 times a second.
final class ProgressMeter: @unchecked Sendable {
    // Guarded by `lock`.
    private var last = Date.distantPast
    private var drawn = false
    private let lock = NSLock()
    private let started = Date()
    let enabled: Bool

    init(enabled: Bool) { self.enabled = enabled }

    var elapsed: Double { Date().timeIntervalSince(started) }

    func show(_ line: @autoclosure () -> String) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.2 else { return }
        last = now
        drawn = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line()).utf8))
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func bytes(_ count: Int64) -> String {
        let mib = Double(count) / 1_048_576
        return mib >= 1 ? String(format: "%.1f MiB", mib) : "\(count / 1024) KiB"
    }
}
