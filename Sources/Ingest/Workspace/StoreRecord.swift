import Foundation
public import Store

/// A document store as a workdir records it: never with its password.
///
/// `key` names the store for the ledger's per-store load state: the URI without password and
/// query options for MongoDB (`mongodb://user@host:27017/db`), the absolute file path for the
/// embedded store (`embedded:/abs/path/store.sqlite`). `display` is what messages show (the
/// password masked). When the URI had a password or options (which may hold secrets such as a
/// certificate password), the record alone cannot reconnect: the full URI must come again from
/// `--store` or `MONGODB_URI`, and is recognised by its key.
public struct StoreRecord: Codable, Sendable, Equatable {
    /// The store's identity (no secret in it).
    public var key: String
    /// The URI as messages show it (password masked, options left out).
    public var display: String
    /// Whether connecting needs the full URI again (it had a password or options).
    public var needsSecret: Bool
    /// When the workdir first loaded into it (ISO 8601 UTC).
    public var addedAt: String

    enum CodingKeys: String, CodingKey {
        case key, display
        case needsSecret = "needs_secret"
        case addedAt = "added_at"
    }

    /// The record of a store URI.
    /// - Parameter uri: A store URI as `--store` takes it (it may hold a password).
    public init(uri: String) {
        let trimmed = uri.trimmingCharacters(in: .whitespaces)
        let (key, secret) = Self.identity(of: trimmed)
        self.key = key
        self.display = key
        self.needsSecret = secret
        self.addedAt = isoNow()
    }

    /// The URI that reconnects without anything else, when the record holds one.
    public var reconnectURI: String? { needsSecret ? nil : key }

    /// Whether this store is an embedded one.
    public var isEmbedded: Bool { key.hasPrefix("embedded:") }

    /// The key of a store URI (see the type's documentation).
    public static func key(of uri: String) -> String { identity(of: uri.trimmingCharacters(in: .whitespaces)).0 }

    private static func identity(of uri: String) -> (String, Bool) {
        if uri.hasPrefix("embedded:") {
            let path = String(uri.dropFirst("embedded:".count))
            guard !path.isEmpty else { return (uri, false) }
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            return ("embedded:" + absolute, false)
        }
        guard let schemeEnd = uri.range(of: "://") else { return (uri, false) }
        var rest = uri[schemeEnd.upperBound...]
        var secret = false
        if let query = rest.firstIndex(of: "?") {
            secret = rest[rest.index(after: query)...].contains { !$0.isWhitespace }
            rest = rest[..<query]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var user = ""
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            if let colon = userinfo.firstIndex(of: ":") {
                user = String(userinfo[..<colon])
                secret = true
            } else {
                user = String(userinfo)
            }
            authority = authority[authority.index(after: at)...]
        }
        var path = String(rest[authorityEnd...])
        if path == "/" { path = "" }
        let scheme = String(uri[..<schemeEnd.upperBound])
        return (scheme + (user.isEmpty ? "" : user + "@") + authority + path, secret)
    }
}

extension DocumentStore {
    /// The store's key for the ledger's per-store load state (see ``StoreRecord``).
    public var storeKey: String { StoreRecord.key(of: location) }
}
