import ArgumentParser

/// `photoseal keys`: generate, list, add and retire seal keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Generate, list and rotate seal keys."
    )
}
