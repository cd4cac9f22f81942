import Crypto
import Foundation

/// Store URIs: which kind of store a string names, and how to show it without its password.
public enum StoreURI {
    /// The forms `DocumentStores.open(uri:)` accepts, for messages.
    public static let acceptedForms =
        "mongodb://[user:password@]host[:port][,host...]/[database][?options], "
        + "mongodb+srv://[user:password@]cluster.example.net/[database][?options], "
        + "postgresql://[user:password@]host[:port]/[database][?options], or embedded:PATH"

    /// Returns `uri` redacted field by field: a userinfo password shown as `user:***@`, and the
    /// value of every query option whose name holds password, token, secret or key (and every
    /// such `NAME:value` sub-option, as in `authMechanismProperties=AWS_SESSION_TOKEN:…`)
    /// shown as `***`.
    ///
    /// - Parameter uri: Any string; non-URIs come back unchanged.
    /// - Returns: The same string with its secrets masked.
    public static func redact(_ uri: String) -> String {
        URISecrets.redact(uri)
    }

    /// The hosts of a `mongodb://` or `postgresql://` URI as written (`host:port`, comma-separated), without
    /// userinfo, database or options; `nil` when the string has no `://`.
    static func hosts(_ uri: String) -> String? {
        guard let schemeEnd = uri.range(of: "://") else { return nil }
        let rest = uri[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let hosts = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        return hosts.isEmpty ? nil : String(hosts)
    }

    /// The URI's secrets (userinfo password, secret option values), raw and percent-decoded.
    static func passwords(in uri: String) -> [String] {
        var result: [String] = []
        for raw in URISecrets.values(in: uri) {
            result.append(raw)
            if let decoded = raw.removingPercentEncoding, decoded != raw { result.append(decoded) }
        }
        return result
    }

    /// Removes every appearance of the URI's password (and the URI itself) from a message.
    static func redactSecrets(in message: String, uri: String) -> String {
        var text = message
        if !uri.isEmpty, text.contains(uri) { text = text.replacingOccurrences(of: uri, with: redact(uri)) }
        for password in passwords(in: uri) where password.count >= 1 {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        return SecretScrubber.scrub(text)
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
