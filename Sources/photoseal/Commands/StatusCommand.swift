import ArgumentParser
import Foundation
import Ingest

/// `photoseal status`: what the ledger holds.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show photo counts per stage, search progress and API calls spent.",
        discussion: """
            --json prints one object: {"photos", "stages": {stage: n}, "search": {"queries", \
            "slices": {state: n}, "pages_done", "pages_planned", "capped_slices"}, \
            "api_calls": {service: {outcome: n}}, "failures": {cause: n}, "sealed_fallbacks": {reason: n}}.

            Examples:
              photoseal status
              photoseal status --workdir run1 --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let status = try await global.existingLedger(logger: global.logger()).status()
            var out = OutputBuffer()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                out.write(String(decoding: try encoder.encode(status), as: UTF8.self) + "\n")
            } else {
                out.write("photos: \(status.photos)\n")
                for stage in Ledger.Stage.all {
                    out.write("  \(stage.name): \(status.stages[stage.name] ?? 0)\n")
                }
                let s = status.search
                out.write("search: \(s.queries) queries, \(s.pagesDone) of \(s.pagesPlanned) planned pages fetched\n")
                out.write(
                    "  slices: \(s.slices["done"] ?? 0) done, \(s.slices["paging"] ?? 0) paging, "
                        + "\(s.slices["new"] ?? 0) not probed, \(s.slices["split"] ?? 0) split\n")
                if s.cappedSlices > 0 { out.write("  capped slices (photos unreachable): \(s.cappedSlices)\n") }
                out.write(status.searchUnfinished ? "  unfinished: re-run `photoseal search` to resume\n" : "")
                if !status.failures.isEmpty {
                    out.write("failures by cause:\n")
                    for (cause, count) in status.failures.sorted(by: { $0.key < $1.key }) {
                        out.write("  \(cause): \(count)\n")
                    }
                }
                if !status.sealedFallbacks.isEmpty {
                    let parts = status.sealedFallbacks.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    out.write(
                        "images stored sealed because they could not be stripped: "
                            + "\(status.sealedFallbacks.values.reduce(0, +)) (\(parts.joined(separator: ", ")))\n")
                }
                for (service, outcomes) in status.apiCalls.sorted(by: { $0.key < $1.key }) {
                    let parts = outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
                    out.write(
                        "api calls (\(service)): \(outcomes.values.reduce(0, +)) (\(parts.joined(separator: ", ")))\n")
                }
            }
            out.flush()
        }
    }
}
