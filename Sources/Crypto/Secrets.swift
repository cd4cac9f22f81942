public import Foundation

/// The secrets file: API keys, the MongoDB URI, the seal keys and the index key.
///
/// Found through an explicit path (`--keys FILE`), else the `PHOTOSEAL_KEYS` environment
/// variable, else `./keys.env`. Environment variables with the same names as entries override
/// single entries. A file readable or writable by group or others is refused. Values never
/// appear in `description`, errors or logs.
public struct Secrets: Sendable, CustomStringConvertible {
    /// The entry names photoseal reads.
    public static let knownNames = [
        "FLICKR_API_KEY", "GOOGLE_VISION_API_KEY", "MONGODB_URI", "SEAL_KEYS", "INDEX_KEY", "INDEX_KEY_PREVIOUS",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "S3_ENDPOINT", "SERVE_TOKEN",
        "SMTP_URL", "SMTP_USER", "SMTP_PASSWORD", "MAIL_FROM",
    ]
    /// Entries that are settings rather than secrets: not masked in messages (a region or an
    /// endpoint in an error helps the reader and reveals nothing).
    public static let settingNames: Set<String> = ["AWS_REGION", "S3_ENDPOINT", "SMTP_URL", "MAIL_FROM"]

    /// The file the entries came from, if any.
    public let path: String?
    private var values: [String: String]

    /// Makes secrets from explicit values (tests, or a caller that built them itself).
    public init(values: [String: String], path: String? = nil) {
        self.values = values
        self.path = path
    }

    /// One entry, or `nil` when it is absent or empty.
    public subscript(name: String) -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        return v
    }

    /// The Flickr API key, if configured.
    public var flickrAPIKey: String? { self["FLICKR_API_KEY"] }
    /// The Google Vision API key, if configured.
    public var visionAPIKey: String? { self["GOOGLE_VISION_API_KEY"] }
    /// The MongoDB connection string, if configured (it may hold a password: never print it).
    public var mongoURI: String? { self["MONGODB_URI"] }

    /// The seal keys as a keyring, newest first.
    /// - Throws: `CryptoError.missingKey` naming where to put them, or `.malformedKey`.
    public func keyring() throws -> Keyring {
        guard let text = self["SEAL_KEYS"] else {
            throw CryptoError(
                .missingKey,
                "no SEAL_KEYS in \(sourceDescription); create keys with `photoseal keys generate --out keys.env`")
        }
        return try Keyring(commaSeparated: text)
    }

    /// The blind index under INDEX_KEY.
    public func blindIndex() throws -> BlindIndex {
        guard let text = self["INDEX_KEY"] else {
            throw CryptoError(
                .missingKey,
                "no INDEX_KEY in \(sourceDescription); create keys with `photoseal keys generate --out keys.env`")
        }
        return try BlindIndex(base64: text)
    }

    /// The index key that INDEX_KEY replaced (`keys add --index-key`), kept until `rotate-keys`
    /// has recomputed every blind index under the new one; `nil` when there is none.
    public func previousBlindIndex() throws -> BlindIndex? {
        guard let text = self["INDEX_KEY_PREVIOUS"] else { return nil }
        do {
            return try BlindIndex(base64: text)
        } catch {
            throw CryptoError(
                .malformedKey,
                "INDEX_KEY_PREVIOUS in \(sourceDescription) is not urlsafe base64 of 32 bytes; restore it from a backup"
            )
        }
    }

    /// Where the secrets came from, for messages.
    public var sourceDescription: String { path.map { "the secrets file \($0)" } ?? "the environment" }

    /// Names the entries present, never their values.
    public var description: String {
        "Secrets(path: \(path ?? "none"), entries: \(values.keys.filter { self[$0] != nil }.sorted()))"
    }

    /// Finds the secrets file path: `explicit`, else `PHOTOSEAL_KEYS`, else `./keys.env` if it exists.
    public static func locate(explicit: String?, environment: [String: String]) -> String? {
        if let explicit { return explicit }
        if let fromEnv = environment["PHOTOSEAL_KEYS"], !fromEnv.isEmpty { return fromEnv }
        return FileManager.default.fileExists(atPath: "keys.env") ? "keys.env" : nil
    }

    /// Loads the secrets file (if one is found) and applies environment overrides.
    /// - Parameters:
    ///   - explicit: the `--keys FILE` path, if given; it must exist.
    ///   - environment: the process environment (tests pass their own).
    /// - Throws: `CryptoError.secretsFile` for a missing explicit file, a file readable by group
    ///   or others (naming the `chmod` to run) or a line that is not `NAME=value`.
    public static func load(
        explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        throws -> Secrets
    {
        var values: [String: String] = [:]
        let path = locate(explicit: explicit, environment: environment)
        if let path {
            try checkPrivate(path)
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw CryptoError(
                    .secretsFile, "cannot read the secrets file \(path); check that it exists and is readable")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw CryptoError(.secretsFile, "the secrets file \(path) is not UTF-8 text")
            }
            values = try parse(text, path: path)
        }
        for name in knownNames {
            if let v = environment[name], !v.isEmpty { values[name] = v }
        }
        let secrets = Secrets(values: values, path: path)
        // From here on no message, printed or saved, holds one of these values.
        SecretScrubber.register(secrets)
        return secrets
    }

    /// Refuses a file that group or others may read or write, or that another user owns (they
    /// could change the keys photoseal seals with).
    public static func checkPrivate(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CryptoError(
                .secretsFile,
                "the secrets file \(path) does not exist or cannot be read; check --keys or PHOTOSEAL_KEYS")
        }
        if info.st_uid != geteuid() {
            throw CryptoError(
                .secretsFile,
                "the secrets file \(path) belongs to another user (uid \(info.st_uid)); photoseal reads only a "
                    + "secrets file owned by the user running it: `chown` it to yourself or use your own file")
        }
        if info.st_mode & 0o077 != 0 {
            throw CryptoError(
                .secretsFile,
                "the secrets file \(path) is readable by group or others (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "run `chmod 600 \(path)` and try again")
        }
    }

    /// Parses `NAME=value` lines: blank lines and `#` comments skipped, an optional `export `
    /// prefix, values optionally in single or double quotes, an unquoted value ending at ` #`.
    /// - Throws: `CryptoError.secretsFile` naming the file and line number, never the line.
    public static func parse(_ text: String, path: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                throw CryptoError(.secretsFile, "line \(index + 1) of the secrets file \(path) is not NAME=value")
            }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard isValidName(name) else {
                throw CryptoError(.secretsFile, "line \(index + 1) of the secrets file \(path) has an invalid name")
            }
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let q = value.first, q == "\"" || q == "'" {
                guard value.count >= 2, value.last == q else {
                    throw CryptoError(
                        .secretsFile, "line \(index + 1) of the secrets file \(path) has an unclosed quote")
                }
                value = String(value.dropFirst().dropLast())
            } else if let hash = value.range(of: " #") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            values[name] = value
        }
        return values
    }

    /// Whether `name` is a shell-style variable name: a letter or `_`, then letters, digits, `_`.
    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func isLetter(_ b: UInt8) -> Bool {
            (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") || b == UInt8(ascii: "_")
        }
        guard let first = bytes.first, isLetter(first) else { return false }
        return bytes.allSatisfy { isLetter($0) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
    }

    /// The text of a new secrets file: the template's entries, with fresh keys filled in.
    public static func newFileText(keyring: Keyring, index: BlindIndex) -> String {
        """
        # photoseal secrets file. Keep it private: chmod 600. Never commit it.
        # Flickr API key (https://www.flickr.com/services/apps/create/), for `photoseal search`.
        FLICKR_API_KEY=
        # Google Cloud Vision API key, for `photoseal score`.
        GOOGLE_VISION_API_KEY=
        # MongoDB connection string; leave empty to use the embedded store in the workdir.
        MONGODB_URI=
        # Seal keys, newest first: urlsafe base64 of 32 bytes each, comma-separated.
        SEAL_KEYS=\(keyring.commaSeparated)
        # Blind-index key (urlsafe base64 of 32 bytes) for equality lookups on sealed owners.
        INDEX_KEY=\(index.base64)

        """
    }

    /// Replaces (or appends) entries of an existing secrets file atomically, keeping every other
    /// line, comment and the file's 0600 mode: the new text goes to a temporary file beside it,
    /// is flushed, then renamed over the old one, so a crash leaves either the old or the new file.
    /// A symbolic link is followed: its target is updated and the link stays a link.
    public static func updateFile(at link: String, setting entries: [String: String]) throws {
        try checkPrivate(link)
        // Write beside the real file, so the rename replaces it and not the link to it.
        let path: String
        if let resolved = realpath(link, nil) {
            path = String(cString: resolved)
            free(resolved)
        } else {
            path = link
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw CryptoError(.secretsFile, "cannot read the secrets file \(path)")
        }
        _ = try parse(text, path: path)
        var remaining = entries
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        for (i, line) in lines.enumerated() {
            var body = line.trimmingCharacters(in: .whitespaces)
            if body.hasPrefix("export ") { body = String(body.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = body.firstIndex(of: "=") else { continue }
            let name = body[..<eq].trimmingCharacters(in: .whitespaces)
            if let value = remaining.removeValue(forKey: name) { lines[i] = "\(name)=\(value)" }
        }
        for name in remaining.keys.sorted() { lines.append("\(name)=\(remaining[name]!)") }
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        do {
            try writeNewFile(lines.joined(separator: "\n") + "\n", to: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CryptoError(.secretsFile, "cannot replace the secrets file \(path): \(reason)")
        }
        let directory = (path as NSString).deletingLastPathComponent
        let dirfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    /// Writes `text` to a new file with mode 0600; refuses to replace an existing file.
    public static func writeNewFile(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            let err = errno
            if err == EEXIST {
                throw CryptoError(
                    .secretsFile,
                    "\(path) already exists; photoseal will not overwrite a secrets file (choose another --out)")
            }
            throw CryptoError(.secretsFile, "cannot create \(path): \(String(cString: strerror(err)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CryptoError(.secretsFile, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw CryptoError(.secretsFile, "cannot flush \(path) to disk") }
    }
}
