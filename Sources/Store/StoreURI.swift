import Foundation

/// Store URIs: which kind of store a string names, and how to show it without its password.
public enum StoreURI {
    /// The forms `DocumentStores.open(uri:)` accepts, for messages.
    public static let acceptedForms =
        "mongodb://[user:password@]host[:port][,host...]/[database][?options], "
        + "mongodb+srv://[user:password@]cluster.example.net/[database][?options], or embedded:PATH"

    /// Returns `uri` with any `user:password@` userinfo shown as `user:***@`.
    ///
    /// - Parameter uri: Any string; non-URIs come back unchanged.
    /// - Returns: The same string with the password (if any) masked.
    public static func redact(_ uri: String) -> String {
        guard let schemeEnd = uri.range(of: "://") else { return uri }
        let authorityStart = schemeEnd.upperBound
        let rest = uri[authorityStart...]
        // The userinfo ends at the last "@" before the path; a password may itself contain "@"
        // only when percent-encoded, but be generous and take the last one.
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return uri }
        let userinfo = authority[..<at]
        let user = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let masked = userinfo.contains(":") ? "\(user):***" : String(user)
        return String(uri[..<authorityStart]) + masked + String(uri[at...])
    }

    /// The hosts of a `mongodb://` URI as written (`host:port`, comma-separated), without
    /// userinfo, database or options; `nil` when the string has no `://`.
    static func hosts(_ uri: String) -> String? {
        guard let schemeEnd = uri.range(of: "://") else { return nil }
        let rest = uri[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hosts = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        return hosts.isEmpty ? nil : String(hosts)
    }

    /// The password in a URI's userinfo, percent-decoded and raw, if there is one.
    static func passwords(in uri: String) -> [String] {
        guard let schemeEnd = uri.range(of: "://") else { return [] }
        let rest = uri[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return [] }
        let userinfo = authority[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return [] }
        let raw = String(userinfo[userinfo.index(after: colon)...])
        guard !raw.isEmpty else { return [] }
        var result = [raw]
        if let decoded = raw.removingPercentEncoding, decoded != raw { result.append(decoded) }
        return result
    }

    /// Removes every appearance of the URI's password (and the URI itself) from a message.
    static func redactSecrets(in message: String, uri: String) -> String {
        var text = message
        if !uri.isEmpty, text.contains(uri) { text = text.replacingOccurrences(of: uri, with: redact(uri)) }
        for password in passwords(in: uri) where password.count >= 1 {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        return text
    }

    /// Refuses a compare-and-set that would change `_id` (MongoDB forbids it; the key is fixed).
    static func checkSettable(_ set: [(String, StoreValue)], id: String, store: String) throws {
        if let path = set.first(where: { $0.0 == "_id" || $0.0.hasPrefix("_id.") || $0.0.isEmpty })?.0 {
            throw StoreError(
                .writeFailed, store: store,
                message: "document \(id): cannot set \(path.isEmpty ? "an empty path" : path); _id never changes")
        }
    }
}
