import ArgumentParser
import Foundation
import HTTP
import Ingest

/// `photoseal rotate-keys`: re-seal every document under the primary key.
struct RotateKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-keys",
        abstract: "Re-seal every document (store and ledger) under the newest seal key.",
        discussion: """
            Covers every store the workdir has loaded into (or the one --store names) and the \
            ledger. Documents whose seal.kid is not the primary key are re-sealed, keeping each token's \
            timestamp, one compare-and-set per document: a document changed meanwhile by \
            another writer is read again and re-sealed in a later round. Sealed image files \
            (--store-images sealed, and images stripped mode could not strip) are re-sealed too, \
            each replaced atomically with its modification time kept. Safe to interrupt and \
            run again. Exit status 1 when some document could not be re-sealed.

            After `photoseal keys add --index-key` (a new INDEX_KEY, the old one kept as \
            INDEX_KEY_PREVIOUS), it also recomputes every blind index (blind.owner) under the new \
            key, in the same compare-and-set; other commands refuse the workdir until it has.

            Examples:
              photoseal keys add --keys keys.env && photoseal rotate-keys --keys keys.env
              photoseal keys add --index-key --keys keys.env && photoseal rotate-keys --keys keys.env
            """
    )

    @OptionGroup var global: GlobalOptions

    @OptionGroup var progressOptions: ProgressOptions

    @OptionGroup var storeOptions: StoreOptions

    @OptionGroup var batch: BatchSizeOptions

    func run() async throws {
        try await reportingErrors {
            let workspace = try await global.workspace("rotate-keys", access: .seal, store: storeOptions)
            let keyring = try workspace.keyring()
            let reindex = try workspace.replacedIndexKey()
            let images = try await workspace.recordedImageStore(logger: global.logger())
            defer { images.http.shutdown() }
            let rotation = KeyRotation(
                stores: try await workspace.coveredStores(batchSize: batch.size),
                ledger: try workspace.ledgerIfPresent(), images: images.store, keyring: keyring,
                reindex: reindex, batchSize: batch.size, logger: global.logger())
            let display = progressOptions.display("rotate-keys")
            @Sendable func counts(_ s: KeyRotation.Summary) -> ProgressDisplay.Counts {
                (
                    [
                        ProgressStage(
                            "re-sealed", short: "rs", done: s.storeResealed + s.ledgerResealed,
                            note: "\(s.storeCurrent) current"),
                        ProgressStage("images", short: "im", done: s.imagesResealed),
                    ], s.failed.isEmpty ? [:] : ["rotate": s.failed.count], nil
                )
            }
            let summary = try await rotation.run { s in display.update { _ in counts(s) } }
            display.finish { _ in counts(summary) }
            for failure in summary.failed {
                printError("failed \(failure.place) \(failure.id): \(failure.field): \(failure.kind)")
            }
            printError(
                "rotate-keys: \(summary.storeResealed) re-sealed in the store, \(summary.ledgerResealed) in the ledger, "
                    + "\(summary.storeCurrent) already current, \(summary.imagesResealed) sealed images re-sealed "
                    + "(\(summary.imagesCurrent) already current), \(summary.failed.count) failed, "
                    + "\(summary.conflicts) concurrent changes retried; primary key \(keyring.primary.kid)")
            if !summary.failed.isEmpty { throw ExitCode.failure }
            if let reindex {
                try workspace.recordIndexKeyRotated()
                printError(
                    "rotate-keys: \(summary.blindRecomputed) blind indexes recomputed; every blind index here is now "
                        + "under INDEX_KEY \(try reindex.fingerprint()). Remove INDEX_KEY_PREVIOUS from the secrets file "
                        + "once every workdir that uses it has run rotate-keys")
            }
        }
    }
}
