import ArgumentParser
import Foundation
import Ingest
import Logging

/// `--keys FILE`: where the secrets file is.
struct SecretsOptions: ParsableArguments {
    @Option(
        name: .customLong("keys"),
        help: ArgumentHelp(
            "The secrets file (default: $PHOTOSEAL_KEYS, else ./keys.env).", valueName: "file"),
        completion: .file())
    var keysFile: String?

    /// Loads the secrets, with environment overrides.
    func load() throws -> Secrets { try Secrets.load(explicit: keysFile) }
}

/// Whether the commands' `validate()` checks run: ArgumentParser validates a command before it
/// reports an unknown option, so a misspelt flag (`run --term monkey --lable monkey`, whose
/// value becomes SOURCE) would be reported as whatever the check finds wrong. Every `validate()`
/// starts with `guard UsageChecks.enabled else { return }`.
enum UsageChecks {
    @TaskLocal static var enabled = true

    /// When `arguments` fail a validation check, parses them again without the checks: a parse
    /// error then found (an unknown option, with ArgumentParser's suggestion) is the one to
    /// report. `nil` when the arguments parse, or fail only a check.
    static func parseErrorHiddenByValidation(_ arguments: [String]) -> (any Error)? {
        do {
            _ = try Photoseal.parseAsRoot(arguments)
            return nil
        } catch {
            do {
                try $enabled.withValue(false) { _ = try Photoseal.parseAsRoot(arguments) }
                return nil
            } catch {
                return error
            }
        }
    }
}

/// Runs a command body, turning library errors into one message on stderr and an exit code.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch let error as IngestError where error.code == .job {
        // Arguments that do not fit the workdir's job are a usage error.
        printError(error.message)
        throw ExitCode(64)
    } catch {
        printError(String(describing: error))
        throw ExitCode.failure
    }
}

/// The options every pipeline command shares: the workdir, the secrets file and `--verbose`.
/// The store and the service endpoints are their own groups, in the commands that use them, so
/// each command's help lists only what it uses.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The work directory holding the ledger.", valueName: "dir"), completion: .directory)
    var workdir: String = GlobalOptions.defaultWorkdir

    /// `--workdir`'s default (a command that has its own default compares with it).
    static let defaultWorkdir = "./photoseal-work"

    @OptionGroup var secrets: SecretsOptions

    @Flag(help: "Log debug detail to stderr.")
    var verbose = false

    /// The process's logger at `.notice`, or `.debug` with `--verbose`.
    func logger() -> Logger { Logs.logger(verbose: verbose) }

    /// Opens the workdir for `command` (see `Workspace.Access`); notes go to stderr.
    /// - Parameter store: The `--store` group of a command that uses a document store.
    func workspace(
        _ command: String, access: Workspace.Access, needsKeys: Bool = true, store: StoreOptions? = nil
    ) async throws -> Workspace {
        try await Workspace.open(
            Workspace.Options(
                workdir: workdir, keysFile: secrets.keysFile, store: store?.store, command: command, access: access,
                needsKeys: needsKeys),
            logger: logger(), note: { printError("\(command): \($0)") })
    }
}

/// `--store URI`: the commands that load into, read or check a document store.
struct StoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The document store: mongodb://…, postgresql://… or embedded:PATH (default: the store the workdir has loaded into, else $MONGODB_URI, else embedded in the workdir).",
            valueName: "uri"))
    var store: String?
}

/// `--flickr-endpoint URL`: the commands that call Flickr (search, run).
struct FlickrEndpointOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The Flickr REST endpoint.", valueName: "url"))
    var flickrEndpoint: String = "https://api.flickr.com/services/rest/"
}

/// `--vision-endpoint URL`: the commands that call Vision (score, run).
struct VisionEndpointOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The vision labelling endpoint.", valueName: "url"))
    var visionEndpoint: String = "https://vision.googleapis.com/v1/images:annotate"
}

/// The executable's one logging bootstrap: a stderr handler.
enum Logs {
    private static let bootstrapped: Void = {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
    }()

    static func logger(verbose: Bool) -> Logger {
        _ = bootstrapped
        var logger = Logger(label: "photoseal")
        logger.logLevel = verbose ? .debug : .notice
        return logger
    }
}

/// Whether standard error is a terminal (progress lines are drawn only then).
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
