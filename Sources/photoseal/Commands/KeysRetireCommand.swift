import ArgumentParser
import Foundation
import HTTP
import Ingest

extension KeysCommand {
    /// `photoseal keys retire KID`.
    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a seal key from SEAL_KEYS once no document (store or ledger) uses it.",
            discussion: """
                Counts every store the workdir has loaded into (all must be reachable), its \
                ledger and its sealed image files. Refuses, naming how many documents and sealed \
                image files still use KID, until `photoseal rotate-keys` has re-sealed them all; \
                refuses the primary or only key. The secrets file is \
                rewritten atomically with its 0600 mode.

                Example:
                  photoseal keys retire 3f9a1c2b --keys keys.env
                """
        )

        @OptionGroup var global: GlobalOptions

        @OptionGroup var storeOptions: StoreOptions

        @Argument(help: ArgumentHelp("The key id to retire (from `photoseal keys list`).", valueName: "kid"))
        var kid: String

        func run() async throws {
            try await reportingErrors {
                guard
                    let path = Secrets.locate(
                        explicit: global.secrets.keysFile, environment: ProcessInfo.processInfo.environment)
                else {
                    throw CryptoError(.secretsFile, "no secrets file found: pass --keys FILE")
                }
                let fileOnly = try Secrets.load(explicit: path, environment: [:])
                // Unknown, primary or only key: refused before any store is opened.
                _ = try KeyRetirement.keyring(try fileOnly.keyring(), retiring: kid, usage: .init(store: 0, ledger: 0))
                let workspace = try await global.workspace("keys retire", access: .write, store: storeOptions)
                let images = try await workspace.recordedImageStore(logger: global.logger())
                defer { images.http.shutdown() }
                // Every store the workdir has loaded into must be reachable and free of the key.
                let usage = try await KeyRetirement.usage(
                    of: kid, stores: try await workspace.coveredStores(batchSize: 1000),
                    ledger: try workspace.ledgerIfPresent(), images: images.store, keyring: try fileOnly.keyring())
                let remaining = try KeyRetirement.keyring(try fileOnly.keyring(), retiring: kid, usage: usage)
                try Secrets.updateFile(at: path, setting: ["SEAL_KEYS": remaining.commaSeparated])
                try workspace.retire(kid: kid)
                print("\(kid) retired")
                printError("removed key \(kid) from \(path); \(remaining.keys.count) seal key(s) remain")
            }
        }
    }
}
