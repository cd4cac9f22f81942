/// Seals a document's personal fields so that each token is bound to its place.
///
/// The Fernet plaintext is a small versioned envelope, four parts joined by line feeds (0x0A):
///
/// ```
/// ps1\n<document id>\n<field name>\n<value bytes>
/// ```
///
/// The document id and field name never contain a line feed; the value may contain anything.
/// Any Fernet implementation opens a token by hand, e.g. in Python:
/// `version, doc, field, value = Fernet(key).decrypt(token).split(b"\n", 3)`.
/// A token copied into another document or field opens, but its envelope names the old place,
/// so `open` refuses it.
public struct FieldSealer: Sendable {
    /// The envelope version tag this sealer writes and reads.
    public static let envelopeVersion = "ps1"

    /// The keys that seal and open.
    public let keyring: Keyring

    /// Makes a sealer over a keyring.
    public init(keyring: Keyring) { self.keyring = keyring }

    /// Builds the envelope plaintext for a value at a document's field.
    /// - Throws: `CryptoError.malformedEnvelope` when the id or field contains a line feed.
    public static func envelope(documentID: String, field: String, value: some Collection<UInt8>) throws -> [UInt8] {
        guard !documentID.utf8.contains(0x0A), !field.utf8.contains(0x0A), !field.isEmpty else {
            throw CryptoError(
                .malformedEnvelope, "a document id or field name contains a line feed or is empty; it cannot be sealed")
        }
        var out: [UInt8] = []
        out.reserveCapacity(documentID.utf8.count + field.utf8.count + value.count + 6)
        out += envelopeVersion.utf8
        out.append(0x0A)
        out += documentID.utf8
        out.append(0x0A)
        out += field.utf8
        out.append(0x0A)
        out += value
        return out
    }

    /// Seals a string value for `field` of document `documentID`.
    public func seal(_ value: String, documentID: String, field: String, timestamp: Int64? = nil) throws -> String {
        try seal(bytes: Array(value.utf8), documentID: documentID, field: field, timestamp: timestamp)
    }

    /// Seals raw bytes for `field` of document `documentID`.
    public func seal(bytes: [UInt8], documentID: String, field: String, timestamp: Int64? = nil) throws -> String {
        try keyring.encrypt(Self.envelope(documentID: documentID, field: field, value: bytes), timestamp: timestamp)
    }

    /// What opening a sealed field produced.
    public struct Opened: Sendable {
        /// The value's bytes.
        public var bytes: [UInt8]
        /// The value as UTF-8 text (invalid sequences replaced).
        public var string: String { String(decoding: bytes, as: UTF8.self) }
        /// The id of the key that opened the token.
        public var kid: String
        /// The token's timestamp, unix seconds.
        public var timestamp: Int64
    }

    /// Opens a sealed field and checks that it belongs to `documentID` and `field`.
    /// - Throws: `CryptoError.envelopeMismatch` when the token was sealed for another place
    ///   (the message names neither the value nor the other place's id).
    public func open(_ token: some StringProtocol, documentID: String, field: String, now: Int64? = nil) throws
        -> Opened
    {
        let opened = try keyring.decrypt(token, now: now)
        let parts = opened.plaintext.split(separator: 0x0A, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].elementsEqual(Self.envelopeVersion.utf8) else {
            throw CryptoError(
                .malformedEnvelope,
                "the token for field '\(field)' of \(documentID) opens but holds no photoseal envelope")
        }
        guard parts[1].elementsEqual(documentID.utf8), parts[2].elementsEqual(field.utf8) else {
            throw CryptoError(
                .envelopeMismatch,
                "the token in field '\(field)' of \(documentID) was sealed for another document or field")
        }
        return Opened(bytes: Array(parts[3]), kid: opened.kid, timestamp: opened.timestamp)
    }

    /// Re-seals a field's token under the primary key, keeping its timestamp and checking its
    /// envelope first, so a misplaced token is never made to look current.
    public func reseal(_ token: some StringProtocol, documentID: String, field: String) throws -> (
        token: String, previousKid: String
    ) {
        let opened = try open(token, documentID: documentID, field: field)
        let envelope = try Self.envelope(documentID: documentID, field: field, value: opened.bytes)
        return (try Fernet.encrypt(envelope, key: keyring.primary, timestamp: opened.timestamp), opened.kid)
    }
}
