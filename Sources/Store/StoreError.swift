/// The one error type of the `Store` module.
///
/// `description` says what failed, on which store (its URI with any password removed) and what
/// to do. No message ever holds a connection-string password or a document's field values.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Compare with the static constants.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short stable name, e.g. `"unreachable"`.
        public let name: String

        private init(_ name: String) { self.name = name }

        /// The store URI is malformed or names no known kind of store.
        public static let badURI = Code("badURI")
        /// No server answered (connection refused, DNS, TLS handshake, server selection timeout).
        public static let unreachable = Code("unreachable")
        /// The server refused the credentials or the user lacks a needed privilege.
        public static let authFailed = Code("authFailed")
        /// The database or collection name is not allowed.
        public static let invalidNamespace = Code("invalidNamespace")
        /// The server rejected a write.
        public static let writeFailed = Code("writeFailed")
        /// The write concern (e.g. `w=majority`) could not be satisfied.
        public static let writeConcernFailed = Code("writeConcernFailed")
        /// A query or command failed on the server.
        public static let queryFailed = Code("queryFailed")
        /// A transient server condition (not primary, shutting down, network drop) that did not
        /// clear within the retry budget.
        public static let transient = Code("transient")
        /// A concurrent change got in the way.
        public static let conflict = Code("conflict")
        /// Stored data could not be read back (unsupported BSON type, damaged file).
        public static let corrupt = Code("corrupt")
        /// A document handed to the store is not storable (no string `_id`, too deep, too big).
        public static let invalidDocument = Code("invalidDocument")
        /// The embedded store's file could not be opened or written.
        public static let io = Code("io")

        /// The short name.
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The store, as a URI with any password replaced by `***`.
    public let store: String
    /// What failed and what to do, free of secrets.
    public let message: String
    /// The raw libmongoc `bson_error_t` domain and code, or the SQLite result code, when known.
    public let rawCode: (domain: UInt32, code: UInt32)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - store: The store URI; it is redacted here, so passing the raw URI is safe.
    ///   - message: What failed and what to do; must not contain secrets.
    ///   - rawCode: The underlying library's domain and code, if any.
    public init(_ code: Code, store: String, message: String, rawCode: (domain: UInt32, code: UInt32)? = nil) {
        self.code = code
        self.store = StoreURI.redact(store)
        self.message = StoreURI.redactSecrets(in: message, uri: store)
        self.rawCode = rawCode
    }

    /// Whether trying the same operation again later may succeed.
    public var isRetriable: Bool {
        code == .unreachable || code == .transient || code == .conflict
    }

    /// What failed, on which store, and what to do.
    public var description: String {
        var text = "store \(store): \(message)"
        if let rawCode { text += " [\(code.name), domain \(rawCode.domain) code \(rawCode.code)]" }
        return text
    }
}
