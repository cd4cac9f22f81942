import Foundation
import Synchronization

/// Removes every secret photoseal holds from text before it is printed or saved.
///
/// Servers sometimes echo what they were sent ("The key you sent (…) is invalid"), and such a
/// message would otherwise reach the terminal and the ledger's failure causes. The secrets in
/// use (API keys, seal and index keys, the MongoDB password and secret URI options) are
/// registered once, when they are loaded (`Secrets.load` does it), and `scrub` replaces any
/// occurrence of them, raw, percent-encoded or percent-decoded, with `***`.
///
/// One process-wide set: every error path (`IngestError`, the ledger's failure causes) reaches
/// it without a secret being passed around. Values shorter than `minimumLength` are not
/// registered: masking every "abc" in every message would make messages unreadable, and such
/// a value is no secret.
public enum SecretScrubber {
    /// The shortest value registered, in characters.
    public static let minimumLength = 6

    private static let secrets = Mutex<Set<String>>([])

    /// Adds secrets to the set scrubbed from every message (each in raw, percent-encoded and
    /// percent-decoded form); values shorter than `minimumLength` are ignored.
    public static func register(_ values: some Sequence<String>) {
        var forms: Set<String> = []
        for value in values {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            for form in [
                trimmed, trimmed.removingPercentEncoding,
                trimmed.addingPercentEncoding(withAllowedCharacters: .alphanumerics),
                trimmed.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed),
            ] {
                if let form, form.count >= minimumLength { forms.insert(form) }
            }
        }
        guard !forms.isEmpty else { return }
        secrets.withLock { $0.formUnion(forms) }
    }

    /// Registers the secret parts of `secrets`: API keys, every seal key, the index key, and
    /// the MongoDB URI's password and secret options.
    public static func register(_ secrets: Secrets) {
        var values: [String] = []
        for name in Secrets.knownNames where name != "MONGODB_URI" && !Secrets.settingNames.contains(name) {
            guard let value = secrets[name] else { continue }
            values.append(value)
            if name == "SEAL_KEYS" { values += value.split(separator: ",").map(String.init) }
        }
        if let uri = secrets.mongoURI { values += URISecrets.values(in: uri) }
        register(values)
    }

    /// `text` with every registered secret replaced by `***` (longest first, so a secret that
    /// contains another is masked whole).
    public static func scrub(_ text: String) -> String {
        let current = secrets.withLock { $0 }
        guard !current.isEmpty else { return text }
        var out = text
        for secret in current.sorted(by: { $0.count > $1.count }) where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "***")
        }
        return out
    }
}

/// The secret parts of a URI: the userinfo password and the values of query options whose
/// name says they are secret (a password, token, secret or key), including
/// `name:value` sub-options such as `authMechanismProperties=AWS_SESSION_TOKEN:…`.
public enum URISecrets {
    /// Whether an option name says its value is secret.
    public static func isSecretName(_ name: some StringProtocol) -> Bool {
        let lower = name.lowercased()
        return ["password", "passwd", "pwd", "token", "secret", "key", "signature", "credential"].contains {
            lower.contains($0)
        } || lower == "sig"
    }

    /// The secret values in `uri` (raw, as written).
    public static func values(in uri: String) -> [String] {
        var result: [String] = []
        if let schemeEnd = uri.range(of: "://") {
            let rest = uri[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                let password = authority[authority.index(after: colon)..<at]
                if !password.isEmpty { result.append(String(password)) }
            }
        }
        guard let query = uri.firstIndex(of: "?") else { return result }
        let end = uri[query...].firstIndex(of: "#") ?? uri.endIndex
        for option in uri[uri.index(after: query)..<end].split(whereSeparator: { $0 == "&" || $0 == ";" }) {
            guard let eq = option.firstIndex(of: "=") else { continue }
            let name = option[..<eq]
            let value = option[option.index(after: eq)...]
            if isSecretName(name) {
                if !value.isEmpty { result.append(String(value)) }
                continue
            }
            for sub in subOptions(value) where isSecretName(sub.name) && !sub.value.isEmpty {
                result.append(String(sub.value))
            }
        }
        return result
    }

    /// `A:x,B:y` (with `:` and `,` raw or percent-encoded) as name/value pairs; empty when the
    /// value has no sub-options.
    static func subOptions(_ value: Substring) -> [(name: Substring, value: Substring)] {
        let decoded = value.replacingOccurrences(of: "%3A", with: ":", options: .caseInsensitive)
            .replacingOccurrences(of: "%2C", with: ",", options: .caseInsensitive)
        guard decoded.contains(":") else { return [] }
        return decoded.split(separator: ",").compactMap { part in
            guard let colon = part.firstIndex(of: ":") else { return nil }
            return (Substring(part[..<colon]), Substring(part[part.index(after: colon)...]))
        }
    }

    /// `uri` with the userinfo password shown as `***` and every secret option value (or
    /// sub-option value) shown as `***`; the rest of the URI is kept as written.
    public static func redact(_ uri: String) -> String {
        var out = uri
        if let schemeEnd = uri.range(of: "://") {
            let rest = uri[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out = String(uri[...colon]) + "***" + String(uri[at...])
            }
        }
        guard let query = out.firstIndex(of: "?") else { return out }
        let end = out[query...].firstIndex(of: "#") ?? out.endIndex
        var options: [String] = []
        var separators: [Character] = []
        var current = ""
        for character in out[out.index(after: query)..<end] {
            if character == "&" || character == ";" {
                options.append(current)
                separators.append(character)
                current = ""
            } else {
                current.append(character)
            }
        }
        options.append(current)
        let redacted = options.map { option -> String in
            guard let eq = option.firstIndex(of: "=") else { return option }
            let name = option[..<eq]
            let value = option[option.index(after: eq)...]
            if isSecretName(name) { return value.isEmpty ? option : name + "=***" }
            let subs = subOptions(value)
            guard subs.contains(where: { isSecretName($0.name) }) else { return option }
            return name + "="
                + subs.map { isSecretName($0.name) ? "\($0.name):***" : "\($0.name):\($0.value)" }
                .joined(separator: ",")
        }
        var rebuilt = ""
        for (index, option) in redacted.enumerated() {
            if index > 0 { rebuilt.append(separators[index - 1]) }
            rebuilt += option
        }
        return String(out[...query]) + rebuilt + String(out[end...])
    }
}
