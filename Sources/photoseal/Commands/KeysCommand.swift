import ArgumentParser
import Foundation
import Ingest

/// `photoseal keys`: generate, list, add and retire seal keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate, list and rotate seal keys.",
        discussion: """
            Examples:
              photoseal keys generate --out keys.env
              photoseal keys list --keys keys.env
              photoseal keys add --keys keys.env && photoseal rotate-keys --keys keys.env
              photoseal keys retire 67b4d27d --keys keys.env
            """,
        subcommands: [Generate.self, List.self, Add.self, Retire.self]
    )

    /// `photoseal keys generate`.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new secrets file with one seal key and an index key.",
            discussion: """
                Writes a complete secrets file (the keys.example template with fresh SEAL_KEYS and \
                INDEX_KEY) to --out with mode 0600, refusing to replace an existing file; without \
                --out, prints it to stdout.

                Example:
                  photoseal keys generate --out keys.env
                """
        )

        @Option(
            help: ArgumentHelp("Write the new secrets file here (mode 0600).", valueName: "file"), completion: .file())
        var out: String?

        func run() async throws {
            try await reportingErrors {
                let text = Secrets.newFileText(
                    keyring: try Keyring([FernetKey.generate()]), index: try BlindIndex.generate())
                if let out {
                    try Secrets.writeNewFile(text, to: out)
                    printError("wrote a new secrets file to \(out) (mode 0600); keep it private and backed up")
                } else {
                    var output = OutputBuffer()
                    output.write(text)
                    output.flush()
                }
            }
        }
    }

    /// `photoseal keys list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the seal keys by key id, newest (primary) first; never prints a key.",
            discussion: """
                Output: one line per seal key, "<position> <kid> primary|older", then whether an \
                INDEX_KEY is set.

                Example:
                  photoseal keys list --keys keys.env
                """
        )

        @OptionGroup var secrets: SecretsOptions

        func run() async throws {
            try await reportingErrors {
                let loaded = try secrets.load()
                let keyring = try loaded.keyring()
                var output = OutputBuffer()
                for (i, key) in keyring.keys.enumerated() {
                    output.write("\(i + 1) \(key.kid) \(i == 0 ? "primary" : "older")\n")
                }
                output.write("index-key \(loaded["INDEX_KEY"] == nil ? "missing" : "present")\n")
                if loaded["INDEX_KEY_PREVIOUS"] != nil { output.write("index-key-previous present\n") }
                output.flush()
            }
        }
    }

    /// `photoseal keys add`.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a new seal key first in SEAL_KEYS of the secrets file, keeping the old ones.",
            discussion: """
                The new key seals from now on; the old keys still open. Then run \
                `photoseal rotate-keys` to re-seal every document under the new key, and \
                `photoseal keys retire KID` to drop an old key once no document uses it. The \
                secrets file is rewritten atomically with its 0600 mode.

                With --index-key it replaces INDEX_KEY instead (blind indexes link a \
                photographer's photos, and every store that shares the key): the old key is kept \
                as INDEX_KEY_PREVIOUS, and `photoseal rotate-keys` recomputes every blind index \
                under the new one.

                Examples:
                  photoseal keys add --keys keys.env
                  photoseal keys add --index-key --keys keys.env
                """
        )

        @OptionGroup var secrets: SecretsOptions

        @Flag(help: "Replace INDEX_KEY (kept as INDEX_KEY_PREVIOUS until rotate-keys) instead of adding a seal key.")
        var indexKey = false

        func run() async throws {
            try await reportingErrors {
                guard
                    let path = Secrets.locate(
                        explicit: secrets.keysFile, environment: ProcessInfo.processInfo.environment)
                else {
                    throw CryptoError(
                        .secretsFile,
                        "no secrets file found: pass --keys FILE (or create one with `photoseal keys generate`)")
                }
                let fileOnly = try Secrets.load(explicit: path, environment: [:])
                if indexKey {
                    try replaceIndexKey(fileOnly, path: path)
                    return
                }
                let current = try fileOnly.keyring()
                let added = try FernetKey.generate()
                let keyring = try Keyring([added] + current.keys)
                try Secrets.updateFile(at: path, setting: ["SEAL_KEYS": keyring.commaSeparated])
                print("\(added.kid) primary (added)")
                if ProcessInfo.processInfo.environment["SEAL_KEYS"].map({ !$0.isEmpty }) == true {
                    printError("note: the SEAL_KEYS environment variable overrides the file; update it too")
                }
                printError(
                    "added key \(added.kid) to \(path); run `photoseal rotate-keys` to re-seal existing documents")
            }
        }

        private func replaceIndexKey(_ fileOnly: Secrets, path: String) throws {
            let old = try fileOnly.blindIndex()
            guard try fileOnly.previousBlindIndex() == nil else {
                throw CryptoError(
                    .secretsFile,
                    "\(path) already holds INDEX_KEY_PREVIOUS: an index key rotation is unfinished. Run "
                        + "`photoseal rotate-keys` in every workdir that uses this file, then remove INDEX_KEY_PREVIOUS"
                )
            }
            let new = try BlindIndex.generate()
            try Secrets.updateFile(at: path, setting: ["INDEX_KEY": new.base64, "INDEX_KEY_PREVIOUS": old.base64])
            print("index-key \(try new.fingerprint()) (replaces \(try old.fingerprint()))")
            if ProcessInfo.processInfo.environment["INDEX_KEY"].map({ !$0.isEmpty }) == true {
                printError("note: the INDEX_KEY environment variable overrides the file; update it too")
            }
            printError(
                "replaced INDEX_KEY in \(path) (the old one is INDEX_KEY_PREVIOUS); run `photoseal rotate-keys` to "
                    + "recompute every blind index under the new key")
        }
    }
}
