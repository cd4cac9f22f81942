import Ingest
import Testing

/// A run part-way: the search still has pages left, download is ahead of extract, score and
/// load behind; failures of three causes.
private func midRun(elapsed: Double = 48) -> ProgressSnapshot {
    ProgressSnapshot(
        command: "run",
        stages: [
            ProgressStage("search", short: "se", done: 67, total: 120, unit: "pages", note: "12562 new"),
            ProgressStage("download", short: "dl", done: 5981, total: 12562),
            ProgressStage("extract", short: "ex", done: 5700, total: 5981),
            ProgressStage("score", short: "sc", done: 5526, total: 5700),
            ProgressStage("load", short: "ld", done: 5477, total: 5526),
        ],
        elapsed: elapsed,
        causes: ["unavailable:placeholder": 249, "score": 54, "http:503": 7],
        extra: "512.3 MiB")
}

/// A search done, download and load going, the rest finished.
private func lateRun() -> ProgressSnapshot {
    ProgressSnapshot(
        command: "run",
        stages: [
            ProgressStage("search", short: "se", done: 120, total: 120, unit: "pages", finished: true),
            ProgressStage("download", short: "dl", done: 9000, total: 10000),
            ProgressStage("load", short: "ld", done: 7500, total: 9000),
        ],
        elapsed: 300)
}

@Suite("The progress line's format", .tags(.unit))
struct ProgressFormatTests {
    @Test("At every width from 20 to 250 columns the line fits: never longer than the width")
    func fitsEveryWidth() {
        for snapshot in [midRun(), lateRun(), midRun(elapsed: 0.5)] {
            for width in 20...250 {
                let line = ProgressFormat.line(snapshot, width: width)
                #expect(line.unicodeScalars.count <= width, "\(width): \(line)")
                #expect(!line.contains("\n") && !line.contains("\r"))
            }
        }
    }

    @Test("The stage waited on, its percentage, the ETA and the failure count are kept down to 30 columns")
    func keepsTheMostImportantParts() {
        // search 67 of 120 pages: 56 %; the slowest stage at its own rate is download: 6581
        // photos left at 5981 per 48 s = 53 s; 310 failures.
        for width in 30...250 {
            let line = ProgressFormat.line(midRun(), width: width)
            #expect(line.contains("56%"), "\(width): \(line)")
            #expect(line.contains("ETA 53s"), "\(width): \(line)")
            #expect(line.contains("310"), "\(width): \(line)")
        }
        for width in 20..<30 {
            #expect(ProgressFormat.line(midRun(), width: width).contains("56%"))
        }
    }

    @Test("A wide terminal shows every stage with done/total, the rate and the failures by cause")
    func wideShowsEverything() {
        let line = ProgressFormat.line(midRun(), width: 250)
        for part in ["search 67/120 pages", "download 5981/12562 48%", "extract 5700/5981 95%", "score 5526/5700 97%"] {
            #expect(line.contains(part), "\(line)")
        }
        #expect(line.contains("load 5477/5526 99%"))
        // 5477 photos loaded in 48 s.
        #expect(line.contains("114/s"))
        #expect(
            line.contains("unavailable:placeholder 249") && line.contains("score 54") && line.contains("http:503 7"))
        // At 80 columns the causes go, the stages stay.
        let narrow = ProgressFormat.line(midRun(), width: 79)
        #expect(!narrow.contains("placeholder"))
        for name in ["se", "dl", "ex", "sc", "ld"] { #expect(narrow.contains(name + " "), "\(narrow)") }
    }

    @Test("A finished stage shows no ETA; the ETA is the slowest unfinished stage's")
    func etaOfUnfinished() {
        // download: 1000 left at 30/s = 33 s; load: 1500 left at 25/s = 60 s.
        let line = ProgressFormat.line(lateRun(), width: 250)
        #expect(line.contains("ETA 1m00s"), "\(line)")
        #expect(line.contains("search 120/120 pages 100%") && !line.contains("search 120/120 pages 100% 0"))
        #expect(ProgressFormat.duration(3725) == "1h02m" && ProgressFormat.duration(65) == "1m05s")
    }

    @Test("Messages are word-wrapped to the width, continuation lines indented, no word lost")
    func wrapsMessages() {
        let message =
            "photoseal: extract: 2400 photos extracted (2390 with EXIF, 12 positioned from EXIF, 2400 with a place; "
            + "2400 as they were downloaded, 0 by the extract stage), 0 failed https://example.invalid/"
            + String(repeating: "a", count: 120)
        for width in 20...200 {
            let lines = wrapLines(message, width: width)
            for line in lines { #expect(line.count <= width, "\(width): \(line)") }
            #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("  ") })
            let words = lines.joined(separator: " ").split(separator: " ").joined(separator: " ")
            // Once the longest word (144 characters) fits on a continuation line, none is cut.
            if width >= 146 { #expect(words == message) }
        }
    }
}
