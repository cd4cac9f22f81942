/// Pseudonyms for datasets that must not be linkable (`export --pseudonymous`, `pack --pseudonymous`).
///
/// The key is derived from INDEX_KEY for this one purpose, `K = HMAC-SHA256(INDEX_KEY,
/// "photoseal pseudonym v1")`, so a pseudonym is never equal to a blind index of the same
/// text, and a store's blind indexes cannot be joined with a dataset's pseudonyms. The same id
/// gets the same pseudonym under one INDEX_KEY (a dataset can be updated); after `keys add
/// --index-key` and `rotate-keys` every pseudonym changes. Whoever holds INDEX_KEY can
/// recompute a pseudonym from an id, in Python:
/// `"ps:" + hmac.new(hmac.new(index_key, b"photoseal pseudonym v1", "sha256").digest(), id.encode(), "sha256").hexdigest()`.
public struct PseudonymKey: Sendable {
    /// The text INDEX_KEY authenticates to make the pseudonym key (versioned: a new scheme gets a new label).
    public static let derivationLabel = "photoseal pseudonym v1"
    /// What every pseudonym starts with, so one is never taken for a source id or a blind index.
    public static let prefix = "ps:"

    let hasher: HMACSHA256

    /// Derives the pseudonym key from an index key.
    public init(index: BlindIndex) throws {
        var derived = try index.hasher.authenticate(Array(Self.derivationLabel.utf8))
        defer { for i in derived.indices { derived[i] = 0 } }
        hasher = try derived.withUnsafeBytes { try HMACSHA256(key: $0) }
    }

    /// A document id's pseudonym: `ps:` and the lowercase hex of HMAC-SHA256(K, id) (the id's
    /// UTF-8 bytes as they are, not normalised: ids are exact).
    public func pseudonym(of id: String) throws -> String {
        Self.prefix + BlindIndex.hexString(try hasher.authenticate(Array(id.utf8)))
    }

    /// What replaces a blind index (`blind.owner`) in a pseudonymous dataset: `ps:` and the hex
    /// of HMAC-SHA256(K, "blind.owner\n" + blind value). Equal owners still share it within
    /// datasets made under one INDEX_KEY, but it is not the store's value, so the dataset does
    /// not join with a store (or another store's blind indexes). The field name keeps it apart
    /// from an id's pseudonym (an id never holds a line feed).
    public func pseudonym(ofBlind value: String, field: String) throws -> String {
        Self.prefix + BlindIndex.hexString(try hasher.authenticate(Array("\(field)\n\(value)".utf8)))
    }
}
