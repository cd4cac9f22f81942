import Foundation
import Ingest

/// Prints, after a stage command's summary, the failures it recorded (the first ten, then
/// "… and N more"), the permanent failures of earlier runs it left alone, and the command
/// that lists them all; nothing when no photo ever failed.
func printFailureSummary(_ ledger: Ledger, since start: Date, workdir: String) async throws {
    let report = try await ledger.failureReport(since: start, limit: 10)
    var list = "photoseal status --failures"
    // The default workdir (GlobalOptions) needs no flag.
    if workdir != "./photoseal-work", workdir != "photoseal-work" {
        let plain = workdir.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:@%=,".contains($0) }
        list += " --workdir " + (plain ? workdir : "'" + workdir.replacingOccurrences(of: "'", with: "'\\''") + "'")
    }
    for line in report.lines(listCommand: list) { printError(line) }
}
