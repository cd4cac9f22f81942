import ArgumentParser
import Foundation
import Ingest
import Synchronization

/// The columns of the terminal on stderr (TIOCGWINSZ), or `nil` when stderr is not a terminal.
func terminalColumns() -> Int? {
    guard isatty(STDERR_FILENO) == 1 else { return nil }
    var size = winsize()
    guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
    return Int(size.ws_col)
}

/// `--progress auto|plain|none`, for the commands that run long.
struct ProgressOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Progress on stderr: auto (a line redrawn in place when stderr is a terminal, else none), plain (a line every few seconds), none.",
            valueName: "mode"))
    var progress: ProgressDisplay.Mode = .auto

    @Option(help: .hidden) var progressInterval: Double = 5

    /// The display for `command`, started now.
    func display(_ command: String) -> ProgressDisplay {
        ProgressDisplay(command: command, mode: progress, plainInterval: progressInterval)
    }
}

/// The one progress display of the long commands, on stderr.
///
/// On a terminal it redraws one line in place (carriage return, the line, clear to the end of
/// the line), at most 5 times a second, fitted to the terminal's width read again at each
/// redraw (so a resized window is followed without a SIGWINCH handler). With `plain` it writes
/// a line every `plainInterval` seconds and a last one at the end. Messages printed while it is
/// shown (`printError`) clear it first.
final class ProgressDisplay: Sendable {
    /// `--progress`.
    enum Mode: String, ExpressibleByArgument, CaseIterable, Sendable {
        case auto, plain, none
    }

    private enum Output { case terminal, plain, none }

    private struct State {
        var last = Date.distantPast
        var drawn = false
        var snapshot: ProgressSnapshot?
    }

    /// The display shown now, so that `printError` can clear it before a message.
    static let current = Mutex<ProgressDisplay?>(nil)

    private let output: Output
    private let interval: Double
    private let started = Date()
    private let command: String
    private let state = Mutex(State())

    init(command: String, mode: Mode, plainInterval: Double = 5) {
        self.command = command
        switch mode {
        case .auto: output = isatty(STDERR_FILENO) == 1 ? .terminal : .none
        case .plain: output = .plain
        case .none: output = .none
        }
        interval = output == .plain ? max(0.1, plainInterval) : 0.2
        if output == .terminal { Self.current.withLock { $0 = self } }
    }

    /// What a command shows: its stages, failures by cause and another count.
    typealias Counts = (stages: [ProgressStage], causes: [String: Int], extra: String?)

    /// Seconds since the display was made.
    var elapsed: Double { Date().timeIntervalSince(started) }

    /// Shows the counts `stages` makes (called only when a redraw is due: cheap on a hot path).
    func update(_ make: (_ elapsed: Double) -> Counts) {
        guard output != .none else { return }
        let now = Date()
        let due = state.withLock { state in
            guard now.timeIntervalSince(state.last) >= interval else { return false }
            state.last = now
            return true
        }
        guard due else { return }
        let elapsed = now.timeIntervalSince(started)
        let made = make(elapsed)
        let snapshot = ProgressSnapshot(
            command: command, stages: made.stages, elapsed: elapsed, causes: made.causes, extra: made.extra)
        state.withLock { state in
            state.snapshot = snapshot
            draw(snapshot, &state)
        }
    }

    private func draw(_ snapshot: ProgressSnapshot, _ state: inout State) {
        switch output {
        case .terminal:
            // One column short of the width: a line filling the last column leaves some
            // terminals' cursor on the next line.
            let width = (terminalColumns() ?? 80) - 1
            write("\r" + ProgressFormat.line(snapshot, width: width) + "\u{1B}[K")
            state.drawn = true
        case .plain:
            write("photoseal: " + ProgressFormat.line(snapshot, width: Int.max) + "\n")
        case .none: break
        }
    }

    /// Clears the line (on a terminal) before a message; `redraw` draws it again after.
    func clear() {
        guard output == .terminal else { return }
        state.withLock { state in
            if state.drawn { write("\r\u{1B}[K") }
            state.drawn = false
        }
    }

    /// Clears the display shown now, if any (before a message).
    static func clearCurrent() { current.withLock { $0 }?.clear() }

    /// Ends the display: the line is cleared (a summary follows); `plain` writes a last line,
    /// with the final counts `make` gives (else the last ones shown).
    func finish(_ make: ((_ elapsed: Double) -> Counts)? = nil) {
        if output == .terminal {
            clear()
            Self.current.withLock { if $0 === self { $0 = nil } }
        } else if output == .plain {
            let elapsed = self.elapsed
            let made = make?(elapsed)
            state.withLock { state in
                guard
                    var snapshot = made.map({
                        ProgressSnapshot(
                            command: command, stages: $0.stages, elapsed: elapsed, causes: $0.causes, extra: $0.extra)
                    }) ?? state.snapshot
                else { return }
                snapshot.elapsed = elapsed
                draw(snapshot, &state)
            }
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// `12.3 MiB`, `512 KiB`.
    static func bytes(_ count: Int64) -> String {
        let mib = Double(count) / 1_048_576
        return mib >= 1 ? String(format: "%.1f MiB", mib) : "\(count / 1024) KiB"
    }
}
