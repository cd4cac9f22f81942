import ArgumentParser
import Foundation
import HTTP
import Ingest

/// `photoseal audit`: prove every sealed field opens and nothing personal is in plaintext.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check every stored document; exit 0 only when nothing is wrong.",
        discussion: """
            Covers every store the workdir has loaded into (or the one --store names), one \
            report each, and every sealed image file in the workdir. Checks: well-formed, opens, envelope, \
            seal-kid, blind-index, personal-keys, personal-values, timestamps, ledger-store, \
            sealed-images (every sealed image opens to the image its name says), \
            image-metadata (no image kept in the clear holds metadata stripping drops; see \
            docs/load-audit.md). Prints counts per check and per key id, then one line per \
            finding: "finding <id> <field> <kind> <check>". Never prints a plaintext value. \
            --json prints one JSON report a line instead (one per store).

            Examples:
              photoseal audit --keys keys.env
              photoseal audit --json --store embedded:photoseal-work/store.sqlite > audit.json
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print one JSON report (schema in docs/load-audit.md).")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let workspace = try await global.workspace("audit", access: .read, store: storeOptions)
            let ledger = try workspace.ledgerIfPresent()
            var stores: [(any DocumentStore)?] = try await workspace.coveredStores(batchSize: 1000)
            // A workdir that has loaded nowhere yet still has its sealed images to check.
            if stores.isEmpty { stores = [nil] }
            let images = try await workspace.recordedImageStore(logger: global.logger())
            defer { images.http.shutdown() }
            var failed = false
            for store in stores {
                let started = Date()
                let report = try await Audit(
                    store: store, ledger: ledger, keyring: try workspace.keyring(), blind: try workspace.blindIndex(),
                    images: images.store, plainImages: try workspace.imageMode(given: nil) == .plain
                ).run()
                try show(report, seconds: Date().timeIntervalSince(started))
                failed = failed || !report.ok
            }
            if failed { throw ExitCode.failure }
        }
    }

    /// Prints one store's report (stdout) and its timing line (stderr).
    func show(_ report: Audit.Report, seconds: Double) throws {
        var out = OutputBuffer()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            out.write(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        } else {
            out.write(
                "audit: \(report.documents) documents, \(report.tokensOpened) tokens opened, "
                    + "\(report.sealedImages) sealed images, store \(report.store)\n")
            for check in SealCheck.Check.allCases {
                guard let count = report.checks[check.rawValue] else {
                    let missing =
                        check == .ledgerStore
                        ? "ledger" : [.sealedImages, .imageMetadata].contains(check) ? "image store" : "store"
                    out.write("check \(check.rawValue): skipped (no \(missing))\n")
                    continue
                }
                out.write("check \(check.rawValue): \(count.checked) checked, \(count.findings) findings\n")
            }
            for kid in report.kids.keys.sorted() {
                let count = report.kids[kid] ?? .init()
                out.write(
                    "kid \(kid): \(count.documents) documents, \(count.tokens) tokens, \(count.images) sealed images\n")
            }
            for finding in report.findings {
                out.write("finding \(finding.id) \(finding.field) \(finding.kind) \(finding.check.rawValue)\n")
            }
            out.write(report.ok ? "result: ok\n" : "result: \(report.findings.count) findings\n")
        }
        out.flush()
        printError(
            "audit: \(report.documents) documents in \(String(format: "%.1f", seconds)) s, "
                + "\(report.findings.count) findings")
    }
}
