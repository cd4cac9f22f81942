import Crypto
import Foundation

/// What a workdir remembers about itself, in `<workdir>/workspace.json`: which keys sealed its
/// contents (fingerprints only) and which stores it has loaded into (never a password).
struct WorkspaceManifest: Codable, Sendable, Equatable {
    static let fileName = "workspace.json"

    /// The format version (1).
    var version = 1
    /// When the workdir was first written (ISO 8601 UTC).
    var createdAt: String
    /// The fingerprint of the index key its blind indexes use (`BlindIndex.fingerprint`).
    var indexKey: String?
    /// The kid of every seal key that has sealed something here and is not retired.
    var sealKids: [String] = []
    /// Every store loaded into, in the order first used.
    var stores: [StoreRecord] = []
    /// The workdir as the command named it (for messages; not stored).
    var workdirName = ""

    enum CodingKeys: String, CodingKey {
        case version, stores
        case createdAt = "created_at"
        case indexKey = "index_key"
        case sealKids = "seal_kids"
    }

    init() { createdAt = isoNow() }

    /// The manifest in `workdir`, or `nil` when there is none.
    /// - Throws: `IngestError.ledger` when the file exists but is not a manifest.
    static func read(workdir: String) throws -> WorkspaceManifest? {
        try readJSON(WorkspaceManifest.self, at: path(workdir), what: "workdir record")
    }

    static func path(_ workdir: String) -> String { (workdir as NSString).appendingPathComponent(fileName) }

    /// Writes the manifest atomically (temporary file, then rename).
    func write(workdir: String) throws {
        try writeJSON(self, to: Self.path(workdir), what: "workdir record")
    }
}

/// Reads a JSON file the workdir keeps, or `nil` when it does not exist.
func readJSON<T: Decodable>(_ type: T.Type, at path: String, what: String) throws -> T? {
    guard let data = FileManager.default.contents(atPath: path) else {
        if FileManager.default.fileExists(atPath: path) {
            throw IngestError(.ledger, "cannot read the \(what) \(path); check its permissions")
        }
        return nil
    }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch {
        throw IngestError(
            .ledger, "the \(what) \(path) is not valid JSON of its kind; restore it from a backup or fix it by hand")
    }
}

/// Writes a JSON file the workdir keeps, atomically, mode 0600 (no secret is ever in one).
func writeJSON<T: Encodable>(_ value: T, to path: String, what: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
        var data = try encoder.encode(value)
        data.append(0x0A)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        // Readable by this user only, as every workdir file (the rename gave it the umask's mode).
        PrivateFiles.tighten(path, to: 0o600)
    } catch {
        throw IngestError(.ledger, "cannot write the \(what) \(path); check disk space and permissions")
    }
}
