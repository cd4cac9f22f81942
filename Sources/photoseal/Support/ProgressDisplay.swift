import ArgumentParser
import Foundation
import Synchronization

/// One stage's counts as the progress display shows them.
struct ProgressStage: Sendable, Equatable {
    /// The stage's name (`download`), and the short one used on a narrow terminal (`dl`).
    var name: String
    var short: String
    /// Items finished (any outcome).
    var done: Int
    /// Items to do, when known (a percentage and an ETA are shown only then).
    var total: Int?
    /// What an item is, when not a photo (`pages`).
    var unit = ""
    /// A detail shown on a wide terminal only (`12562 new`).
    var note: String?
    /// Whether the stage has ended.
    var finished = false

    init(
        _ name: String, short: String, done: Int, total: Int? = nil, unit: String = "", note: String? = nil,
        finished: Bool = false
    ) {
        self.name = name
        self.short = short
        self.done = done
        self.total = total.map { max($0, done) }
        self.unit = unit
        self.note = note
        self.finished = finished
    }
}

/// What a long command has done so far: its stages, failures by cause, time elapsed.
struct ProgressSnapshot: Sendable {
    /// The command (`run`).
    var command: String
    /// The stages in pipeline order; the rate follows the last one.
    var stages: [ProgressStage]
    /// Seconds since the command started.
    var elapsed: Double
    /// Items failed, by cause (`unavailable:placeholder`).
    var causes: [String: Int] = [:]
    /// Another count shown on a wide terminal only (`512.3 MiB`).
    var extra: String?
}

/// Formats a snapshot as one line of at most `width` columns: no terminal needed, so every
/// width can be tested. A narrow terminal gets a shorter line, never a wrapped one: parts are
/// dropped from the least important (per-stage rates, notes, the failure causes, finished
/// stages, names) to the most (the current stage's percentage, the ETA, the failure count).
enum ProgressFormat {
    /// How much a rendering shows; `levels` goes from everything to the least.
    struct Detail {
        var stageRates = true
        var notes = true
        var causes = Int.max
        var extra = true
        var shortNames = false
        var counts = true
        var finishedStages = true
        var elapsed = true
        var units = true
        var rate = true
        var separator = " | "
        var onlyCurrent = false
    }

    static let levels: [Detail] = {
        var d = Detail()
        var out = [d]
        d.stageRates = false
        out.append(d)
        d.causes = 2
        out.append(d)
        d.notes = false
        d.extra = false
        out.append(d)
        d.causes = 0
        out.append(d)
        d.separator = " "
        d.units = false
        out.append(d)
        d.shortNames = true
        out.append(d)
        d.finishedStages = false
        out.append(d)
        d.counts = false
        out.append(d)
        d.elapsed = false
        out.append(d)
        d.rate = false
        out.append(d)
        d.onlyCurrent = true
        out.append(d)
        return out
    }()

    /// The line for `snapshot` in at most `width` columns (at least 1).
    static func line(_ snapshot: ProgressSnapshot, width: Int) -> String {
        let width = max(1, width)
        for detail in levels {
            let text = render(snapshot, detail)
            if text.unicodeScalars.count <= width { return text }
        }
        return String(String.UnicodeScalarView(render(snapshot, levels[levels.count - 1]).unicodeScalars.prefix(width)))
    }

    /// `1m05s`, `2h03m`, `42s`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h" + String(format: "%02dm", (s % 3600) / 60) }
        if s >= 60 { return "\(s / 60)m" + String(format: "%02ds", s % 60) }
        return "\(s)s"
    }

    /// Items per second: one decimal below 100.
    static func rate(_ perSecond: Double) -> String {
        perSecond < 100 ? String(format: "%.1f/s", perSecond) : "\(Int(perSecond.rounded()))/s"
    }

    /// Seconds left for a stage at its rate so far, when its total is known and it has begun.
    static func secondsLeft(_ stage: ProgressStage, elapsed: Double) -> Double? {
        guard !stage.finished, let total = stage.total, stage.done > 0, elapsed > 0 else { return nil }
        return Double(total - stage.done) / (Double(stage.done) / elapsed)
    }

    /// The whole command's ETA: its slowest unfinished stage's.
    static func eta(_ snapshot: ProgressSnapshot) -> Double? {
        snapshot.stages.compactMap { secondsLeft($0, elapsed: snapshot.elapsed) }.max()
    }

    static func render(_ s: ProgressSnapshot, _ d: Detail) -> String {
        var parts: [String] = []
        if d.elapsed { parts.append("\(s.command) \(duration(s.elapsed))") }
        // The stage the command is waiting on: the first one not finished.
        let current = s.stages.firstIndex { !$0.finished } ?? s.stages.count - 1
        for (index, stage) in s.stages.enumerated() {
            if d.onlyCurrent && index != current { continue }
            if !d.finishedStages && stage.finished && index != s.stages.count - 1 { continue }
            var text = d.shortNames ? stage.short : stage.name
            if d.counts || stage.total == nil {
                text += " \(stage.done)"
                if d.counts, let total = stage.total { text += "/\(total)" }
                if d.units, !stage.unit.isEmpty { text += " " + stage.unit }
            }
            if let total = stage.total {
                let percent = total > 0 ? Double(stage.done) * 100 / Double(total) : 100
                text += " " + String(format: percent >= 99.95 && stage.done < total ? "%.1f%%" : "%.0f%%", percent)
            }
            if d.stageRates, s.elapsed > 0, !stage.finished, stage.done > 0 {
                text += " " + rate(Double(stage.done) / s.elapsed)
            }
            if d.notes, let note = stage.note { text += " " + note }
            parts.append(text)
        }
        var tail: [String] = []
        if d.rate, let last = s.stages.last, s.elapsed > 0 { tail.append(rate(Double(last.done) / s.elapsed)) }
        if let eta = eta(s) { tail.append("ETA " + duration(eta)) }
        if d.extra, let extra = s.extra { tail.append(extra) }
        if !tail.isEmpty { parts.append(tail.joined(separator: " ")) }
        let failed = s.causes.values.reduce(0, +)
        if failed > 0 {
            var text = "failed \(failed)"
            if d.causes > 0 {
                let sorted = s.causes.filter { $0.value > 0 }.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
                text += ": " + sorted.prefix(d.causes).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                if sorted.count > d.causes { text += ", +\(sorted.count - d.causes) more" }
            }
            parts.append(text)
        }
        return parts.joined(separator: d.separator)
    }
}

/// Word-wraps `message` into lines of at most `width` columns, continuation lines indented by
/// `indent` spaces more than the line's own indentation (a word longer than a line is cut).
func wrapLines(_ message: String, width: Int, indent: Int = 2) -> [String] {
    var lines: [String] = []
    for paragraph in message.split(separator: "\n", omittingEmptySubsequences: false) {
        let lead = String(paragraph.prefix { $0 == " " })
        let width = max(width, lead.count + indent + 8)
        let pad = lead + String(repeating: " ", count: indent)
        var prefix = lead
        var line = ""
        for word in paragraph.split(separator: " ") {
            if !line.isEmpty && prefix.count + line.count + 1 + word.count > width {
                lines.append(prefix + line)
                prefix = pad
                line = ""
            }
            if !line.isEmpty { line += " " }
            line += word
            while prefix.count + line.count > width {
                let cut = width - prefix.count
                lines.append(prefix + line.prefix(cut))
                prefix = pad
                line = String(line.dropFirst(cut))
            }
        }
        lines.append(prefix + line)
    }
    return lines
}

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

    /// Seconds since the display was made.
    var elapsed: Double { Date().timeIntervalSince(started) }

    /// Shows the counts `stages` makes (called only when a redraw is due: cheap on a hot path).
    func update(_ make: (_ elapsed: Double) -> (stages: [ProgressStage], causes: [String: Int], extra: String?)) {
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

    /// Ends the display: the line is cleared (a summary follows); `plain` writes a last line.
    func finish() {
        if output == .terminal {
            clear()
            Self.current.withLock { if $0 === self { $0 = nil } }
        } else if output == .plain {
            state.withLock { state in
                guard var snapshot = state.snapshot else { return }
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
