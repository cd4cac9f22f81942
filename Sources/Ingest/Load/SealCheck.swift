public import Crypto
import Foundation
public import Store

/// The checks one stored document must pass: what `encrypt-load` verifies before writing and
/// what `audit` verifies afterwards. Findings name a document, a field and a kind, never a value.
public struct SealCheck: Sendable {
    /// The names of the checks, in report order.
    public enum Check: String, Sendable, CaseIterable, Codable {
        /// The document reads strictly: no key twice in one document (a second `sealed` would
        /// hold plaintext no other check looks at) and no BSON type photoseal does not store.
        case wellFormed = "well-formed"
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
        /// Every sealed image file opens with the keyring to the image its name (the documents'
        /// `image.sha256`) says, and every document's sealed `image.path` names such a file.
        case sealedImages = "sealed-images"
        /// Every image file kept in the clear holds nothing the stripper would drop (``ClearImages``).
        case imageMetadata = "image-metadata"

        /// Whether the check looks at each store document on its own (the others compare the
        /// store with the ledger, or look at the image files).
        public var isPerDocument: Bool { self != .ledgerStore && self != .sealedImages && self != .imageMetadata }
    }

    /// One problem with one document.
    public struct Finding: Sendable, Hashable, Codable {
        /// The document's `_id` (or `"?"` when it has none); for a `sealed-images` finding on an
        /// image file, the file's path relative to the work directory.
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

    /// Personal values shorter than this many characters are searched for only in the free
    /// text fields (``freeTextFields``), elsewhere they would match by chance.
    public static let minimumSearchedLength = 3

    /// Personal values shorter than this are never searched for (one character matches anything).
    public static let minimumShortLength = 2

    /// The top-level fields of free text, where no name is expected: a personal value of 2
    /// characters (a CJK name such as 王芳 is often 2) is searched for there too. Elsewhere
    /// (place names, licence, URLs, scores) 2 characters would match by chance.
    public static let freeTextFields: Set<String> = ["title", "description", "tags", "machine_tags"]

    let sealer: FieldSealer
    let blind: BlindIndex
    let scanPlaintext: Bool

    /// Makes a checker.
    ///
    /// - Parameters:
    ///   - keyring: The seal keys.
    ///   - blind: The blind index under INDEX_KEY.
    ///   - scanPlaintext: Also run the plaintext checks (`personal-keys`, `personal-values`):
    ///     `audit` and `encrypt-load` both do.
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
        var keyPath: [String] = []
        Self.duplicateKeys(document, path: &keyPath) { add($0, "duplicate-key", .wellFormed) }
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
                        // Opening ignores the timestamp (no TTL), as Fernet does; a store should
                        // still hold no token from the future, so the audit reports one.
                        if value.timestamp > now &+ Fernet.maxClockSkew { add(path, "future-timestamp", .timestamps) }
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
        Self.checkKids(result, add)
        let blindOwner = document.value(at: "blind.owner")
        if let owner = opened["owner"] {
            if blindOwner?.stringValue != (try? blind.hex(owner)) {
                add("blind.owner", "blind-index-mismatch", .blindIndex)
            }
        } else if document.value(at: "sealed.owner")?.isNull ?? true, let value = blindOwner, !value.isNull {
            add("blind.owner", "blind-index-without-owner", .blindIndex)
        }
        if scanPlaintext {
            let needles = Self.needles(opened)
            var path: [String] = []
            path.reserveCapacity(4)
            // Only the first `sealed`, `blind` and `seal` are the ones checked above: a
            // repeated one is plaintext like any other field.
            var skipped: Set<String> = []
            for field in document.fields {
                if field.key == "sealed" || field.key == "blind" || field.key == "seal",
                    skipped.insert(field.key).inserted
                {
                    continue
                }
                if Self.isPersonalKey(field.key) {
                    add(field.key, "personal-key-outside-sealed", .personalKeys)
                }
                path.append(field.key)
                scan(field.value, path: &path, needles: needles) { path, kind, check in add(path, kind, check) }
                path.removeLast()
            }
        }
        return result
    }

    /// Checks one document from its stored bytes: the same checks and findings as
    /// ``check(_:now:)`` on the decoded document, without building it.
    ///
    /// - Parameters:
    ///   - document: The stored bytes of the document.
    ///   - now: The current time, unix seconds (tests pass their own).
    public func check(_ document: RawDocument, now: Int64) -> Result {
        if let damage = document.damage {
            // Nothing else can be read from it: one finding, and the document is not clean.
            var result = Result()
            result.findings.append(
                Finding(id: document.id ?? "?", field: damage.field, kind: damage.kind, check: .wellFormed))
            return result
        }
        return document.withView { view in check(view, now: now) }
    }

    private func check(_ view: BSONView, now: Int64) -> Result {
        var result = Result()
        let id = view.field("_id").flatMap { view.text($0) } ?? "?"
        func add(_ field: String, _ kind: String, _ check: Check) {
            result.findings.append(Finding(id: id, field: field, kind: kind, check: check))
        }
        var keyPath: [RawPathPart] = []
        Self.duplicateKeys(view, path: &keyPath) { add($0, "duplicate-key", .wellFormed) }
        // ObjectIds read as their hex text, as in the decoded document.
        result.sealKid = view.field("seal", "kid").flatMap { view.text($0) }
        var opened: [String: String] = [:]
        if let sealed = view.field("sealed") {
            guard let fields = sealed.type == 0x03 ? view.child(sealed) : nil else {
                add("sealed", "not-a-document", .opens)
                return result
            }
            fields.forEachField { field in
                if field.isNull { return }
                let key = field.name
                guard let token = fields.text(field) else {
                    add("sealed." + key, "not-a-token", .opens)
                    return
                }
                do {
                    let value = try sealer.open(token, documentID: id, field: key, now: now)
                    // As in the tree check: opening ignores the timestamp, the audit does not.
                    if value.timestamp > now &+ Fernet.maxClockSkew {
                        add("sealed." + key, "future-timestamp", .timestamps)
                    }
                    if Self.namedFields.contains(key) { opened[key] = value.string }
                    result.openedKids.append(value.kid)
                } catch let error as CryptoError {
                    switch error.code {
                    case .envelopeMismatch: add("sealed." + key, "misplaced-token", .envelope)
                    case .malformedEnvelope: add("sealed." + key, "malformed-envelope", .envelope)
                    case .futureTimestamp: add("sealed." + key, "future-timestamp", .timestamps)
                    default: add("sealed." + key, "does-not-open", .opens)
                    }
                } catch {
                    add("sealed." + key, "does-not-open", .opens)
                }
            }
        }
        Self.checkKids(result, add)
        let blindOwner = view.field("blind", "owner")
        if let owner = opened["owner"] {
            if blindOwner.flatMap({ view.text($0) }) != (try? blind.hex(owner)) {
                add("blind.owner", "blind-index-mismatch", .blindIndex)
            }
        } else if view.field("sealed", "owner")?.isNull ?? true, let value = blindOwner, !value.isNull {
            add("blind.owner", "blind-index-without-owner", .blindIndex)
        }
        if scanPlaintext {
            let needles = Self.needles(opened)
            // The path is kept as key bytes and positions; it becomes text only for a finding.
            var path: [RawPathPart] = []
            path.reserveCapacity(4)
            // As in the tree check, only the first `sealed`, `blind` and `seal` are skipped.
            var skipped: (sealed: Bool, blind: Bool, seal: Bool) = (false, false, false)
            view.forEachField { field in
                if !skipped.sealed, field.named("sealed") {
                    skipped.sealed = true
                    return
                }
                if !skipped.blind, field.named("blind") {
                    skipped.blind = true
                    return
                }
                if !skipped.seal, field.named("seal") {
                    skipped.seal = true
                    return
                }
                if Self.isPersonalKey(field.key) {
                    add(field.name, "personal-key-outside-sealed", .personalKeys)
                }
                path.append(.key(field.key))
                scan(field, in: view, path: &path, needles: needles) { path, kind, check in add(path, kind, check) }
                path.removeLast()
            }
        }
        return result
    }

    /// One step of a path inside stored bytes: a key or an array position.
    private enum RawPathPart {
        case key(UnsafeBufferPointer<UInt8>)
        case index(Int)

        static func joined(_ path: [RawPathPart]) -> String {
            path.map { part in
                switch part {
                case .key(let bytes): String(decoding: bytes, as: UTF8.self)
                case .index(let index): String(index)
                }
            }.joined(separator: ".")
        }

        func isKey(_ name: StaticString) -> Bool {
            guard case .key(let bytes) = self else { return false }
            return name.withUTF8Buffer { $0.elementsEqual(bytes) }
        }
    }

    /// ``isHashPath(_:)`` for a path in stored bytes.
    private static func isHashPath(_ path: [RawPathPart]) -> Bool {
        switch path.count {
        case 1: return path[0].isKey("_id")
        case 2: return path[0].isKey("image") && (path[1].isKey("sha256") || path[1].isKey("path"))
        default: return false
        }
    }

    /// ``isPersonalKey(_:)`` for a key of a decoded document (no lowercased copy made: the
    /// load checks every key of every document).
    private static func isPersonalKey(_ key: String) -> Bool {
        var key = key
        return key.withUTF8 { isPersonalKey($0) }
    }

    /// ``personalKeys`` as bytes, to compare keys with no string made.
    private static let personalKeyBytes: [[UInt8]] = personalKeys.map { Array($0.utf8) }

    /// Whether a key names a personal value (``personalKeys``, ignoring case): ASCII keys are
    /// folded byte by byte, others lowercased as text, as the decoded check does.
    private static func isPersonalKey(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
        // The personal keys are 5 to 10 ASCII letters: most keys are ruled out by length.
        var ascii = true
        for byte in key where byte >= 0x80 {
            ascii = false
            break
        }
        guard ascii else { return personalKeys.contains(String(decoding: key, as: UTF8.self).lowercased()) }
        guard key.count >= 5, key.count <= 10 else { return false }
        for candidate in personalKeyBytes where candidate.count == key.count {
            var index = 0
            while index < key.count, fold(key[index], true) == candidate[index] { index += 1 }
            if index == key.count { return true }
        }
        return false
    }

    /// ``scan(_:path:needles:report:)`` over stored bytes.
    private func scan(
        _ field: BSONField, in view: BSONView, path: inout [RawPathPart], needles: Needles,
        report: (String, String, Check) -> Void
    ) {
        switch field.type {
        case 0x02, 0x07:
            guard !needles.isEmpty, !Self.isHashPath(path) else { return }
            var found: Bool
            if let text = view.utf8(field) {
                found = Self.containsAny(text, needles.long)
                if !found, !needles.short.isEmpty, Self.isFreeText(path) {
                    found = Self.containsShort(String(decoding: text, as: UTF8.self), needles.short)
                }
            } else {
                found = view.text(field).map { Self.containsAny($0, needles.long) } ?? false
            }
            if found { report(RawPathPart.joined(path), "personal-value-in-plaintext", .personalValues) }
        case 0x04:
            guard let elements = view.child(field) else { return }
            var index = 0
            elements.forEachField { element in
                path.append(.index(index))
                scan(element, in: elements, path: &path, needles: needles, report: report)
                path.removeLast()
                index += 1
            }
        case 0x03:
            guard let document = view.child(field) else { return }
            document.forEachField { inner in
                path.append(.key(inner.key))
                if Self.isPersonalKey(inner.key) {
                    report(RawPathPart.joined(path), "personal-key-outside-sealed", .personalKeys)
                }
                scan(inner, in: document, path: &path, needles: needles, report: report)
                path.removeLast()
            }
        default:
            return
        }
    }

    /// ``containsAny(_:_:)`` over UTF-8 bytes: non-ASCII text goes through the same lowercasing.
    static func containsAny(_ text: UnsafeBufferPointer<UInt8>, _ needles: [[UInt8]]) -> Bool {
        guard !needles.isEmpty else { return false }
        guard text.allSatisfy({ $0 < 0x80 }) else { return containsAny(String(decoding: text, as: UTF8.self), needles) }
        return search(text, needles, ascii: true)
    }

    /// The `seal-kid` check of both forms: one key opened every token, and `seal.kid` names it.
    static func checkKids(_ result: Result, _ add: (String, String, Check) -> Void) {
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

    /// Whether one of `needles` (lowercase UTF-8) occurs in `text`, ignoring case: ASCII text
    /// is folded byte by byte; other text is lowercased first. Foundation's `contains` goes
    /// through NSString on Linux and costs more than opening a token.
    static func containsAny(_ text: String, _ needles: [[UInt8]]) -> Bool {
        guard !needles.isEmpty else { return false }
        var text = text
        let ascii = text.withUTF8 { bytes in bytes.allSatisfy { $0 < 0x80 } }
        if !ascii { text = folded(text) }
        return text.withUTF8 { bytes in search(bytes, needles, ascii: ascii) }
    }

    /// The byte search of both `containsAny`: ASCII letters folded when `ascii`.
    private static func search(_ bytes: UnsafeBufferPointer<UInt8>, _ needles: [[UInt8]], ascii: Bool) -> Bool {
        for needle in needles where bytes.count >= needle.count {
            let first = needle[0]
            let last = bytes.count - needle.count
            var index = 0
            while index <= last {
                if fold(bytes[index], ascii) == first {
                    var offset = 1
                    while offset < needle.count, fold(bytes[index + offset], ascii) == needle[offset] {
                        offset += 1
                    }
                    if offset == needle.count { return true }
                }
                index += 1
            }
        }
        return false
    }

    @inline(__always)
    private static func fold(_ byte: UInt8, _ ascii: Bool) -> UInt8 {
        ascii && byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Walks a value, keeping the path as components and joining them only for a finding.
    private func scan(
        _ value: StoreValue, path: inout [String], needles: Needles, report: (String, String, Check) -> Void
    ) {
        switch value {
        case .string(let text):
            guard !needles.isEmpty, !Self.isHashPath(path) else { return }
            if Self.containsAny(text, needles.long)
                || (!needles.short.isEmpty && Self.freeTextFields.contains(path[0])
                    && Self.containsShort(text, needles.short))
            {
                report(path.joined(separator: "."), "personal-value-in-plaintext", .personalValues)
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                path.append(String(index))
                scan(element, path: &path, needles: needles, report: report)
                path.removeLast()
            }
        case .document(let document):
            for field in document.fields {
                path.append(field.key)
                if Self.isPersonalKey(field.key) {
                    report(path.joined(separator: "."), "personal-key-outside-sealed", .personalKeys)
                }
                scan(field.value, path: &path, needles: needles, report: report)
                path.removeLast()
            }
        default:
            return
        }
    }

    private static func isHashPath(_ path: [String]) -> Bool {
        switch path.count {
        case 1: return path[0] == "_id"
        case 2: return path[0] == "image" && (path[1] == "sha256" || path[1] == "path")
        default: return false
        }
    }

    /// The opened personal values searched for in plaintext, folded (``folded(_:)``).
    struct Needles {
        /// Values of at least ``minimumSearchedLength`` characters, as UTF-8: searched in every
        /// plaintext string.
        var long: [[UInt8]] = []
        /// Values of ``minimumShortLength`` up to ``minimumSearchedLength`` characters: searched
        /// only in ``freeTextFields``.
        var short: [[Character]] = []

        var isEmpty: Bool { long.isEmpty && short.isEmpty }
    }

    /// The needles for the opened named fields.
    static func needles(_ opened: [String: String]) -> Needles {
        var needles = Needles()
        for key in ["owner", "owner_name", "path_alias"] {
            guard let opened = opened[key] else { continue }
            let value = folded(String(trimmed(opened)))
            let count = value.count
            if count >= minimumSearchedLength {
                needles.long.append(Array(value.utf8))
            } else if count >= minimumShortLength {
                needles.short.append(Array(value))
            }
        }
        return needles
    }

    /// `text` lowercased and in Unicode normal form KC, so that a name matches whichever
    /// normal form (NFD from macOS file names, fullwidth letters, ligatures) either side uses.
    /// Text made only of characters that no normal form changes skips the normalization
    /// (Foundation's, several times the cost of lowercasing).
    static func folded(_ text: String) -> String {
        let lower = text.lowercased()
        if lower.unicodeScalars.allSatisfy(isNormalizationStable) { return lower }
        return lower.precomposedStringWithCompatibilityMapping
    }

    /// Whether every normal form leaves `scalar` as it is, whatever follows it: ASCII, most
    /// Latin letters, Cyrillic, CJK ideographs, kana and Hangul syllables (a conservative list;
    /// anything else is normalized).
    @inline(__always)
    private static func isNormalizationStable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0xA0, 0xC0...0x131, 0x134...0x13E, 0x141...0x148, 0x14A...0x17E, 0x180...0x1C3,
            0x1CD...0x1F0, 0x1F4...0x2AF, 0x400...0x4FF, 0x3041...0x3096, 0x30A1...0x30FA, 0x3400...0x4DBF,
            0x4E00...0x9FFF, 0xAC00...0xD7A3:
            return true
        default:
            return false
        }
    }

    /// Whether a character belongs to a script written without spaces between words (CJK,
    /// kana, Hangul, Thai), where a name is found anywhere in the text.
    private static func isUnspaced(_ character: Character) -> Bool {
        character.unicodeScalars.contains { scalar in
            switch scalar.value {
            case 0x0E00...0x0E7F, 0x3040...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7AF, 0xF900...0xFAFF,
                0x20000...0x2FFFF:
                true
            default: false
            }
        }
    }

    /// Whether one of the short `needles` occurs in `text`: anywhere for a name in a script
    /// without spaces (王芳 in 王芳的照片), as a whole word otherwise (`Li` in "Li at the
    /// beach", not in "Lily").
    static func containsShort(_ text: String, _ needles: [[Character]]) -> Bool {
        let characters = Array(folded(text))
        for needle in needles where characters.count >= needle.count {
            let anywhere = needle.contains(where: isUnspaced)
            for start in 0...(characters.count - needle.count)
            where characters[start..<(start + needle.count)].elementsEqual(needle) {
                if anywhere { return true }
                let before = start == 0 ? nil : characters[start - 1]
                let after = start + needle.count == characters.count ? nil : characters[start + needle.count]
                if !(before.map { $0.isLetter || $0.isNumber } ?? false)
                    && !(after.map { $0.isLetter || $0.isNumber } ?? false)
                {
                    return true
                }
            }
        }
        return false
    }

    /// ``freeTextFields`` for a path in stored bytes.
    private static func isFreeText(_ path: [RawPathPart]) -> Bool {
        guard case .key(let key) = path.first else { return false }
        return freeTextFieldBytes.contains { $0.elementsEqual(key) }
    }

    private static let freeTextFieldBytes: [[UInt8]] = freeTextFields.sorted().map { Array($0.utf8) }

    /// Reports each key met twice in one document (at any depth; arrays are read by position,
    /// so theirs are not compared), by its dotted path.
    private static func duplicateKeys(_ document: StoreDocument, path: inout [String], report: (String) -> Void) {
        var seen: Set<String> = []
        for field in document.fields {
            path.append(field.key)
            if !seen.insert(field.key).inserted { report(path.joined(separator: ".")) }
            duplicateKeys(field.value, path: &path, report: report)
            path.removeLast()
        }
    }

    private static func duplicateKeys(_ value: StoreValue, path: inout [String], report: (String) -> Void) {
        switch value {
        case .document(let inner):
            duplicateKeys(inner, path: &path, report: report)
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                path.append(String(index))
                duplicateKeys(element, path: &path, report: report)
                path.removeLast()
            }
        default:
            return
        }
    }

    /// ``duplicateKeys(_:path:report:)`` over stored bytes. Keys are compared only when a
    /// cheap signature (length, first and last byte) was met before in the same document.
    private static func duplicateKeys(_ view: BSONView, path: inout [RawPathPart], report: (String) -> Void) {
        var signatures: UInt64 = 0
        var keys: [UnsafeBufferPointer<UInt8>] = []
        view.forEachField { field in
            let key = field.key
            let signature = (key.count &+ Int(key.first ?? 0) &* 7 &+ Int(key.last ?? 0) &* 13) & 63
            path.append(.key(key))
            if signatures & (1 << signature) != 0, keys.contains(where: { $0.elementsEqual(key) }) {
                report(RawPathPart.joined(path))
            }
            signatures |= 1 << signature
            keys.append(key)
            duplicateKeysInValue(field, in: view, path: &path, report: report)
            path.removeLast()
        }
    }

    private static func duplicateKeysInValue(
        _ field: BSONField, in view: BSONView, path: inout [RawPathPart], report: (String) -> Void
    ) {
        guard let inner = view.child(field) else { return }
        if field.type == 0x03 {
            duplicateKeys(inner, path: &path, report: report)
            return
        }
        var index = 0
        inner.forEachField { element in
            path.append(.index(index))
            duplicateKeysInValue(element, in: inner, path: &path, report: report)
            path.removeLast()
            index += 1
        }
    }
}
