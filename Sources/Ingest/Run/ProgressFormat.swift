import Foundation

/// One stage's counts as the progress display shows them.
package struct ProgressStage: Sendable, Equatable {
    /// The stage's name (`download`), and the short one used on a narrow terminal (`dl`).
    package var name: String
    package var short: String
    /// Items finished (any outcome).
    package var done: Int
    /// Items to do, when known (a percentage and an ETA are shown only then).
    package var total: Int?
    /// What an item is, when not a photo (`pages`).
    package var unit = ""
    /// A detail shown on a wide terminal only (`12562 new`).
    package var note: String?
    /// Whether the stage has ended.
    package var finished = false

    package init(
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
package struct ProgressSnapshot: Sendable {
    /// The command (`run`).
    package var command: String
    /// The stages in pipeline order; the rate follows the last one.
    package var stages: [ProgressStage]
    /// Seconds since the command started.
    package var elapsed: Double
    /// Items failed, by cause (`unavailable:placeholder`).
    package var causes: [String: Int] = [:]
    /// Another count shown on a wide terminal only (`512.3 MiB`).
    package var extra: String?

    /// A snapshot of `command`'s `stages` after `elapsed` seconds.
    package init(
        command: String, stages: [ProgressStage], elapsed: Double, causes: [String: Int] = [:], extra: String? = nil
    ) {
        self.command = command
        self.stages = stages
        self.elapsed = elapsed
        self.causes = causes
        self.extra = extra
    }
}

/// Formats a snapshot as one line of at most `width` columns: no terminal needed, so every
/// width can be tested. A narrow terminal gets a shorter line, never a wrapped one: parts are
/// dropped from the least important (per-stage rates, notes, the failure causes, finished
/// stages, names) to the most (the current stage's percentage, the ETA, the failure count).
package enum ProgressFormat {
    /// How much a rendering shows; `levels` goes from everything to the least.
    private struct Detail {
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

    private static let levels: [Detail] = {
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
    package static func line(_ snapshot: ProgressSnapshot, width: Int) -> String {
        let width = max(1, width)
        for detail in levels {
            let text = render(snapshot, detail)
            if text.unicodeScalars.count <= width { return text }
        }
        return String(String.UnicodeScalarView(render(snapshot, levels[levels.count - 1]).unicodeScalars.prefix(width)))
    }

    /// `1m05s`, `2h03m`, `42s`.
    package static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h" + String(format: "%02dm", (s % 3600) / 60) }
        if s >= 60 { return "\(s / 60)m" + String(format: "%02ds", s % 60) }
        return "\(s)s"
    }

    /// Items per second: one decimal below 100.
    package static func rate(_ perSecond: Double) -> String {
        perSecond < 100 ? String(format: "%.1f/s", perSecond) : "\(Int(perSecond.rounded()))/s"
    }

    /// Seconds left for a stage at its rate so far, when its total is known and it has begun.
    package static func secondsLeft(_ stage: ProgressStage, elapsed: Double) -> Double? {
        guard !stage.finished, let total = stage.total, stage.done > 0, elapsed > 0 else { return nil }
        return Double(total - stage.done) / (Double(stage.done) / elapsed)
    }

    /// The whole command's ETA: its slowest unfinished stage's.
    package static func eta(_ snapshot: ProgressSnapshot) -> Double? {
        snapshot.stages.compactMap { secondsLeft($0, elapsed: snapshot.elapsed) }.max()
    }

    private static func render(_ s: ProgressSnapshot, _ d: Detail) -> String {
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
            // One stage: its rate is the rate shown at the end.
            if d.stageRates, s.stages.count > 1, s.elapsed > 0, !stage.finished, stage.done > 0 {
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
package func wrapLines(_ message: String, width: Int, indent: Int = 2) -> [String] {
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
