import ArgumentParser
import Foundation
import Ingest

/// `photoseal token`: plain Fernet tokens in and out, one per line.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Encrypt or decrypt plain Fernet tokens, one per line.",
        discussion: """
            The interoperability door: plain Fernet (no photoseal envelope), so tokens move both \
            ways between photoseal and any Fernet library (Python `cryptography`, ...).

            Examples:
              printf 'aGVsbG8=\\n' | photoseal token encrypt --keys keys.env > tokens.txt
              photoseal token decrypt --keys keys.env --ttl 3600 < tokens.txt
            """,
        subcommands: [Encrypt.self, Decrypt.self]
    )

    /// `photoseal token encrypt`.
    struct Encrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read standard-base64 plaintexts, one a line; print a Fernet token for each.",
            discussion: """
                Seals under the newest key of SEAL_KEYS. A line that is not standard base64 prints \
                INVALID (with a message on stderr) and the command exits 1 at the end.

                Example:
                  printf 'aGVsbG8=\\n' | photoseal token encrypt --keys keys.env
                """
        )

        @OptionGroup var secrets: SecretsOptions

        func run() async throws {
            let bad = try await reportingErrors { () -> Int in
                let keyring = try secrets.load().keyring()
                var output = OutputBuffer()
                var bad = 0
                // One plaintext buffer for all lines, tokens appended straight to the output.
                var plaintext: [UInt8] = []
                for (number, line) in LineReader().enumerated() {
                    plaintext.removeAll(keepingCapacity: true)
                    guard Base64.decode(line, alphabet: .standard, appendingTo: &plaintext) else {
                        bad += 1
                        printError("line \(number + 1): not standard base64")
                        output.write("INVALID\n")
                        continue
                    }
                    try output.write { bytes in
                        try keyring.encrypt(plaintext, appendingTo: &bytes)
                        bytes.append(0x0A)
                    }
                }
                output.flush()
                return bad
            }
            if bad > 0 { throw ExitCode.failure }
        }
    }

    /// `photoseal token decrypt`.
    struct Decrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read Fernet tokens, one a line; print each plaintext in standard base64.",
            discussion: """
                Opens with any key of SEAL_KEYS. A token that does not open prints INVALID (the \
                reason goes to stderr, never the plaintext) and the command exits 1 at the end. \
                Timestamps are checked only with --ttl: then a token older than the TTL, or dated \
                more than 60 s in the future, is refused (as Python `cryptography` does).

                Example:
                  photoseal token decrypt --keys keys.env --ttl 3600 < tokens.txt
                """
        )

        @OptionGroup var secrets: SecretsOptions

        @Option(
            help: ArgumentHelp(
                "Refuse tokens older than this many seconds or dated more than 60 s in the future.",
                valueName: "seconds"))
        var ttl: Int64?

        func validate() throws {
            guard UsageChecks.enabled else { return }
            if let ttl, ttl < 0 { throw ValidationError("--ttl must be zero or more seconds") }
        }

        func run() async throws {
            let bad = try await reportingErrors { () -> Int in
                let keyring = try secrets.load().keyring()
                var output = OutputBuffer()
                var bad = 0
                for (number, line) in LineReader().enumerated() {
                    do {
                        let opened = try keyring.decrypt(String(decoding: line, as: UTF8.self), ttl: ttl)
                        output.write { bytes in
                            Base64.encode(opened.plaintext, appendingTo: &bytes)
                            bytes.append(0x0A)
                        }
                    } catch let error as CryptoError {
                        bad += 1
                        printError("line \(number + 1): \(error.message)")
                        output.write("INVALID\n")
                    }
                }
                output.flush()
                return bad
            }
            if bad > 0 { throw ExitCode.failure }
        }
    }
}
