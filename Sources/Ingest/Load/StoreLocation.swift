public import Crypto
import Foundation
public import Logging
public import Store

/// Which document store a command uses, decided in one place for every command.
public enum StoreLocation {
    /// The store URI: `--store` when given, else `MONGODB_URI` (secrets file or environment),
    /// else the embedded store `embedded:<workdir>/store.sqlite`.
    ///
    /// - Parameters:
    ///   - explicit: The `--store` value, if any.
    ///   - secrets: The loaded secrets (for `MONGODB_URI`).
    ///   - workdir: The work directory.
    /// - Returns: A URI for `DocumentStores.open(uri:)`. It may hold a password: show it only
    ///   through `StoreURI.redact`.
    public static func uri(explicit: String?, secrets: Secrets?, workdir: String) -> String {
        if let explicit, !explicit.trimmingCharacters(in: .whitespaces).isEmpty { return explicit }
        if let fromSecrets = secrets?.mongoURI { return fromSecrets }
        let path = workdir.hasSuffix("/") ? workdir + "store.sqlite" : workdir + "/store.sqlite"
        return "embedded:" + path
    }

    /// Opens the store `uri(explicit:secrets:workdir:)` names.
    ///
    /// - Parameters:
    ///   - batchSize: Documents per bulk write.
    ///   - logger: Where the store logs retries.
    /// - Throws: `StoreError` (`.badURI`, `.unreachable`, `.authFailed`, …) naming the redacted URI.
    public static func open(
        explicit: String?, secrets: Secrets?, workdir: String, batchSize: Int = 1000, logger: Logger
    ) throws -> any DocumentStore {
        try DocumentStores.open(
            uri: uri(explicit: explicit, secrets: secrets, workdir: workdir), batchSize: batchSize, logger: logger)
    }
}
