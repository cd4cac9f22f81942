import ArgumentParser
import Crypto
import Foundation

/// `--keys FILE`: where the secrets file is.
struct SecretsOptions: ParsableArguments {
    @Option(
        name: .customLong("keys"),
        help: ArgumentHelp(
            "The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).", valueName: "file"))
    var keysFile: String?

    /// Loads the secrets, with environment overrides.
    func load() throws -> Secrets { try Secrets.load(explicit: keysFile) }
}

/// Runs a command body, turning library errors into one message on stderr and an exit code.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError(String(describing: error))
        throw ExitCode.failure
    }
}
