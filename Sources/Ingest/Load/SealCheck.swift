public import Crypto
import Foundation
public import Store

/// The checks one stored document must pass: what `encrypt-load` verifies before writing and
/// what `audit` verifies afterwards. Findings name a document, a field and a kind, never a value.
public struct SealCheck: Sendable {
    /// The names of the checks, in report order.
    public enum Check: String, Sendable, CaseIterable, Codable {
        /// Each sealed field opens with the keyring.
        case opens
        /// Each token's envelope names this document and this field.
        case envelope
        /// `seal.kid` is the key that opened every token, and they share one key.
        case sealKid = "seal-kid"
        /// `blind.owner` is the blind index of the opened owner.
        case blindIndex = "blind-index"
        /// No owner, owner name or path alias key outside `sealed`.
        case personalKeys = "personal-keys"
        /// The opened owner, owner name and path alias occur in no plaintext string.
        case personalValues = "personal-values"
        /// No token's timestamp is in the future (beyond Fernet's 60 s clock skew).
        case timestamps
        /// The ledger's loaded documents and the store's documents are the same set.
        case ledgerStore = "ledger-store"
    }

    /// One problem with one document.
    public struct Finding: Sendable, Hashable, Codable {
        /// The document's `_id` (or `"?"` when it has none).
        public var id: String
        /// The field, as a dotted path (`sealed.owner`, `description`, `tags.2`).
        public var field: String
        /// What is wrong, e.g. `does-not-open`, `misplaced-token`.
        public var kind: String
        /// The check that found it.
        public var check: Check

        /// Makes a finding.
        public init(id: String, field: String, kind: String, check: Check) {
            self.id = id
            self.field = field
            self.kind = kind
            self.check = check
        }
    }

    /// What checking one document found.
    public struct Result: Sendable {
        /// The problems, empty when the document is sound.
        public var findings: [Finding] = []
        /// The `seal.kid` the document claims, if any.
        public var sealKid: String?
        /// The key ids that opened tokens, one entry per opened token.
        public var openedKids: [String] = []
    }

    /// Keys that name personal values and must live only inside `sealed`.
    public static let personalKeys: Set<String> = [
        "owner", "owner_name", "ownername", "path_alias", "pathalias", "realname", "username",
    ]

    /// Personal values shorter than this many characters are not searched for in plaintext
    /// (too short to mean anything: they would match by chance).
    public static let minimumSearchedLength = 3

    let sealer: FieldSealer
    let blind: BlindIndex
    let scanPlaintext: Bool

    /// Makes a checker.
    ///
    /// - Parameters:
    ///   - keyring: The seal keys.
    ///   - blind: The blind index under INDEX_KEY.
    ///   - scanPlaintext: Also run the plaintext checks (`personal-keys`, `personal-values`):
    ///     `audit` does; `encrypt-load` checks the sealed fields only.
    public init(keyring: Keyring, blind: BlindIndex, scanPlaintext: Bool) {
        self.sealer = FieldSealer(keyring: keyring)
        self.blind = blind
        self.scanPlaintext = scanPlaintext
    }

    /// Checks one document.
    ///
    /// - Parameters:
    ///   - document: The stored form of the document.
    ///   - now: The current time, unix seconds (tests pass their own).
    public func check(_ document: StoreDocument, now: Int64) -> Result {
        var result = Result()
        let id = document.id ?? "?"
        func add(_ field: String, _ kind: String, _ check: Check) {
            result.findings.append(Finding(id: id, field: field, kind: kind, check: check))
        }
        result.sealKid = document.value(at: "seal.kid")?.stringValue
        var opened: [String: String] = [:]
        if let sealed = document["sealed"] {
            guard case .document(let fields) = sealed else {
                add("sealed", "not-a-document", .opens)
                return result
            }
            for field in fields.fields {
                let path = "sealed." + field.key
                switch field.value {
                case .null: continue
                case .string(let token):
                    do {
                        let value = try sealer.open(token, documentID: id, field: field.key, now: now)
                        // Only the personal names are needed as text (the EXIF JSON is large).
                        if Self.namedFields.contains(field.key) { opened[field.key] = value.string }
                        result.openedKids.append(value.kid)
                    } catch let error as CryptoError {
                        switch error.code {
                        case .envelopeMismatch: add(path, "misplaced-token", .envelope)
                        case .malformedEnvelope: add(path, "malformed-envelope", .envelope)
                        case .futureTimestamp: add(path, "future-timestamp", .timestamps)
                        default: add(path, "does-not-open", .opens)
                        }
                    } catch {
                        add(path, "does-not-open", .opens)
                    }
                default:
                    add(path, "not-a-token", .opens)
                }
            }
        }
        let kids = Set(result.openedKids)
        if kids.count > 1 {
            add("sealed", "mixed-keys", .sealKid)
        } else if let kid = kids.first {
            if result.sealKid == nil {
                add("seal.kid", "missing-seal-kid", .sealKid)
            } else if result.sealKid != kid {
                add("seal.kid", "kid-mismatch", .sealKid)
            }
        }
        let blindOwner = document.value(at: "blind.owner")
        if let owner = opened["owner"] {
            if blindOwner?.stringValue != (try? blind.hex(owner)) {
                add("blind.owner", "blind-index-mismatch", .blindIndex)
            }
        } else if document.value(at: "sealed.owner")?.isNull ?? true, let value = blindOwner, !value.isNull {
            add("blind.owner", "blind-index-without-owner", .blindIndex)
        }
        if scanPlaintext {
            let needles = ["owner", "owner_name", "path_alias"].compactMap { opened[$0] }
                .map { Self.trimmed($0).lowercased() }
                .filter { $0.count >= Self.minimumSearchedLength }
            for field in document.fields where field.key != "sealed" && field.key != "blind" && field.key != "seal" {
                if Self.personalKeys.contains(field.key.lowercased()) {
                    add(field.key, "personal-key-outside-sealed", .personalKeys)
                }
                scan(field.value, path: field.key, needles: needles) { path, kind, check in add(path, kind, check) }
            }
        }
        return result
    }

    /// The sealed fields whose opened values are names searched for in plaintext.
    static let namedFields: Set<String> = ["owner", "owner_name", "path_alias"]

    /// `text` without surrounding white space (Foundation's trimming goes through NSString on
    /// Linux, which costs more than opening a token).
    static func trimmed(_ text: String) -> Substring {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return Substring(scalars[first...last])
    }

    /// Fields holding content hashes (hex), where a short name would match by chance.
    static let hashPaths: Set<String> = ["image.sha256", "image.path", "_id"]

    /// Whether `needle` occurs in `haystack`, comparing UTF-8 bytes (both already lowercased):
    /// much faster on Linux than Foundation's `contains`, which goes through NSString.
    static func contains(_ haystack: String, _ needle: String) -> Bool {
        let needleBytes = Array(needle.utf8)
        guard let first = needleBytes.first else { return true }
        var haystack = haystack
        return haystack.withUTF8 { bytes in
            guard bytes.count >= needleBytes.count else { return false }
            var index = 0
            let last = bytes.count - needleBytes.count
            while index <= last {
                if bytes[index] == first {
                    var matched = true
                    for offset in 1..<needleBytes.count where bytes[index + offset] != needleBytes[offset] {
                        matched = false
                        break
                    }
                    if matched { return true }
                }
                index += 1
            }
            return false
        }
    }

    private func scan(
        _ value: StoreValue, path: String, needles: [String], report: (String, String, Check) -> Void
    ) {
        switch value {
        case .string(let text):
            guard !needles.isEmpty, !Self.hashPaths.contains(path) else { return }
            let lowered = text.lowercased()
            if needles.contains(where: { Self.contains(lowered, $0) }) {
                report(path, "personal-value-in-plaintext", .personalValues)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                scan(element, path: "\(path).\(index)", needles: needles, report: report)
            }
        case .document(let document):
            for field in document.fields {
                let child = "\(path).\(field.key)"
                if Self.personalKeys.contains(field.key.lowercased()) {
                    report(child, "personal-key-outside-sealed", .personalKeys)
                }
                scan(field.value, path: child, needles: needles, report: report)
            }
        default:
            return
        }
    }
}
