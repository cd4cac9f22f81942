import ArgumentParser
import Crypto
import Foundation
import Ingest
import Store

/// `photoseal audit`: prove every sealed field opens and nothing personal is in plaintext.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check every stored document; exit 0 only when nothing is wrong.",
        discussion: """
            Checks: opens, envelope, seal-kid, blind-index, personal-keys, personal-values, \
            timestamps, ledger-store, sealed-images (every sealed image file in the workdir \
            opens to the image its name says; see docs/load-audit.md). Prints counts per check \
            and per key id, then one line per finding: "finding <id> <field> <kind> <check>". \
            Never prints a plaintext value. --json prints one JSON report instead.

            Examples:
              photoseal audit --keys keys.env
              photoseal audit --json --store embedded:photoseal-work/store.sqlite > audit.json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print one JSON report (schema in docs/load-audit.md).")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let logger = global.logger()
            let secrets = try global.secrets.load()
            let ledger = try global.ledgerIfPresent(logger: logger)
            let store = try StoreLocation.open(
                explicit: global.store, secrets: secrets, workdir: global.workdir, logger: logger)
            let started = Date()
            let report = try await Audit(
                store: store, ledger: ledger, keyring: try secrets.keyring(), blind: try secrets.blindIndex(),
                images: ImageStore(workdir: global.workdir)
            ).run()
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
                        out.write(
                            "check \(check.rawValue): skipped (no \(check == .ledgerStore ? "ledger" : "image store"))\n"
                        )
                        continue
                    }
                    out.write("check \(check.rawValue): \(count.checked) checked, \(count.findings) findings\n")
                }
                for kid in report.kids.keys.sorted() {
                    let count = report.kids[kid] ?? .init()
                    out.write(
                        "kid \(kid): \(count.documents) documents, \(count.tokens) tokens, \(count.images) sealed images\n"
                    )
                }
                for finding in report.findings {
                    out.write("finding \(finding.id) \(finding.field) \(finding.kind) \(finding.check.rawValue)\n")
                }
                out.write(report.ok ? "result: ok\n" : "result: \(report.findings.count) findings\n")
            }
            out.flush()
            let seconds = Date().timeIntervalSince(started)
            printError(
                "audit: \(report.documents) documents in \(String(format: "%.1f", seconds)) s, "
                    + "\(report.findings.count) findings")
            if !report.ok { throw ExitCode.failure }
        }
    }
}
