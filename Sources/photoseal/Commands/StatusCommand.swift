import ArgumentParser
import Foundation
import Ingest

/// `photoseal status`: what the ledger holds.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show photo counts per stage, search progress and API calls spent.",
        discussion: """
            Shows the workdir's recorded job (job.json), the stores it has loaded into with \
            their document counts, and the key ids that sealed its data, then the ledger.

            --json prints one object: {"photos", "stages": {stage: n}, "search": {"queries", \
            "slices": {state: n}, "pages_done", "pages_planned", "capped_slices"}, \
            "api_calls": {service: {outcome: n}}, "failures": {cause: n}, "sealed_fallbacks": \
            {reason: n}, "job": {…} or null, "stores": [{"store", "loaded"}], "seal_kids": [kid]}.

            --failures lists every photo with a failure recorded, in id order, one a line: \
            `<id> (<stage>, permanent|transient): <cause>`. The stage is where it failed \
            (download, extract, score, load); a permanent failure (HTTP 403/404/410, the \
            placeholder, not an image, Vision refusing the image, an image that cannot be read) \
            is left alone by later runs unless they are given --retry-failed, a transient one is \
            tried again by the next run. With --json: one array, \
            [{"id": "flickr:1", "status": "failed", "failure": {"stage": "score", "cause": \
            "Vision refused this image: Bad image data. (code 3)", "permanent": true}}, ...], \
            where status is the photo's ledger stage (failed, unavailable, or the stage it waits \
            at to be tried again).

            Examples:
              photoseal status
              photoseal status --workdir run1 --json
              photoseal status --failures
              photoseal status --failures --json | python3 -m json.tool
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "List every photo with a failure: id, stage, cause, permanent or transient.")
    var failures = false

    func run() async throws {
        try await reportingErrors {
            let workspace = try await global.workspace("status", access: .read, needsKeys: false)
            let ledger = try workspace.ledger()
            if failures { return try listFailures(ledger) }
            let status = try await ledger.status()
            let job = try workspace.job()
            let loaded = try await ledger.loadedCounts()
            let stores = workspace.recordedStores.map {
                WorkspaceStatus.Store(key: $0.display, loaded: loaded[$0.key] ?? 0)
            }
            var out = OutputBuffer()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let report = WorkspaceStatus(ledger: status, job: job, stores: stores, sealKids: workspace.sealKids)
                out.write(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
            } else {
                if let job {
                    out.write("job (\(workspace.jobPath)):\n")
                    for line in job.summaryLines { out.write("  \(line)\n") }
                }
                for store in stores { out.write("store \(store.key): \(store.loaded) documents loaded\n") }
                if !workspace.sealKids.isEmpty {
                    out.write("sealed under key ids: \(workspace.sealKids.joined(separator: ", "))\n")
                }
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
                    out.write("  list them with `photoseal status --failures`\n")
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

    /// `--failures`: every failed photo, streamed in id order (text lines or one JSON array).
    func listFailures(_ ledger: Ledger) throws {
        var out = OutputBuffer()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var count = 0
        var permanent = 0
        if json { out.write("[") }
        try ledger.forEachFailure { photo in
            if json {
                out.write((count == 0 ? "\n" : ",\n") + String(decoding: try encoder.encode(photo), as: UTF8.self))
            } else {
                out.write(photo.line + "\n")
            }
            count += 1
            if photo.failure.permanent { permanent += 1 }
        }
        if json { out.write(count == 0 ? "]\n" : "\n]\n") }
        out.flush()
        printError("status: \(count) photos with a failure (\(permanent) permanent, \(count - permanent) transient)")
    }
}
