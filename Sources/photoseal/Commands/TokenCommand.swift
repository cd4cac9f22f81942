import ArgumentParser

/// `photoseal token`: plain Fernet tokens in and out, one per line.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Encrypt or decrypt plain Fernet tokens, one per line."
    )
}
