import ArgumentParser
import Foundation
import Ingest

/// `photoseal encrypt-load`: verify and load ready documents into the store.
struct EncryptLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encrypt-load",
        abstract: "Verify every sealed field of the ready documents and load them into the store.",
        discussion: """
            Loads ledger rows at the extracted or scored stage, and loaded rows this store has \
            not received in their current version (load state is kept per store: a store new \
            to the workdir receives every ready document). Without --store it loads into the \
            workdir's store (the one it has loaded into before). Each sealed field must open with SEAL_KEYS, name this document and \
            field, and be under the key seal.kid names; blind.owner must match the owner. A \
            document that fails is not written and is listed on stderr (id, field, reason); \
            the exit status is then 1. Loading again writes nothing new.

            Examples:
              photoseal encrypt-load --keys keys.env
              photoseal encrypt-load --store 'mongodb://127.0.0.1:27017/photoseal' --batch-size 1000
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var batch: BatchSizeOptions

    func run() async throws {
        try await reportingErrors {
            let workspace = try await global.workspace("encrypt-load", access: .write, store: storeOptions)
            let ledger = try workspace.ledger()
            let store = try await workspace.loadStore(batchSize: batch.size)
            let stage = EncryptLoad(
                ledger: ledger, store: store, keyring: try workspace.keyring(), blind: try workspace.blindIndex(),
                batchSize: batch.size, logger: global.logger())
            let display = progressOptions.display("encrypt-load")
            @Sendable func counts(_ s: EncryptLoad.Summary) -> ProgressDisplay.Counts {
                (
                    [
                        ProgressStage(
                            "load", short: "ld", done: s.loaded + s.unchanged + s.refusedDocuments,
                            note: "\(s.unchanged) unchanged")
                    ], s.refusedDocuments > 0 ? ["refused": s.refusedDocuments] : [:], nil
                )
            }
            let summary = try await stage.run { summary in display.update { _ in counts(summary) } }
            display.finish { _ in counts(summary) }
            for refusal in summary.refused {
                printError("refused \(refusal.id): \(refusal.field): \(refusal.kind)")
            }
            printError(
                "encrypt-load: \(summary.loaded) loaded, \(summary.unchanged) unchanged, "
                    + "\(summary.refusedDocuments) refused; \(summary.writeCommands) store writes to \(store.location)")
            if !summary.refused.isEmpty { throw ExitCode.failure }
        }
    }
}
