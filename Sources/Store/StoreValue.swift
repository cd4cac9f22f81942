public import Foundation

/// One value in a stored document: the types photoseal documents use, nothing more.
///
/// Every case round-trips exactly through both stores: `.int` stays an integer (BSON int32 when
/// it fits, else int64, as MongoDB's drivers write them) and `.double` stays a double even when it holds a whole number. `.date` is stored as
/// a BSON date, which has millisecond precision: a date with finer precision comes back rounded
/// to the nearest millisecond (``StoreValue/millisecondDate(_:)`` does that rounding up front).
public enum StoreValue: Sendable, Hashable {
    /// An explicit null. In lookups and compare-and-set, `.null` also matches a missing field,
    /// as MongoDB's `{field: null}` does.
    case null
    /// A boolean.
    case bool(Bool)
    /// A 64-bit signed integer.
    case int(Int64)
    /// A double-precision float.
    case double(Double)
    /// A UTF-8 string.
    case string(String)
    /// A point in time, kept to the millisecond.
    case date(Date)
    /// An ordered list of values.
    case array([StoreValue])
    /// A nested document.
    case document(StoreDocument)

    /// Returns `date` rounded to the nearest millisecond, exactly as a store gives it back.
    ///
    /// - Parameter date: Any date.
    /// - Returns: The date a store returns after storing `date`.
    public static func millisecondDate(_ date: Date) -> Date {
        Date(millisecondsSince1970: date.millisecondsSince1970)
    }

    /// The string, when this is `.string`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is `.int`.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The double, when this is `.double`.
    public var doubleValue: Double? {
        if case .double(let value) = self { return value }
        return nil
    }

    /// The boolean, when this is `.bool`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The date, when this is `.date`.
    public var dateValue: Date? {
        if case .date(let value) = self { return value }
        return nil
    }

    /// The elements, when this is `.array`.
    public var arrayValue: [StoreValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The nested document, when this is `.document`.
    public var documentValue: StoreDocument? {
        if case .document(let value) = self { return value }
        return nil
    }

    /// Whether this is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// MongoDB's equality-match rule: equal, or an array holding an equal element; `.null`
    /// also matches a missing value.
    func matches(_ expected: StoreValue) -> Bool {
        if self == expected { return true }
        if case .array(let elements) = self { return elements.contains(expected) }
        return false
    }
}

extension StoreValue: ExpressibleByStringLiteral {
    /// Creates a `.string` value from a literal.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension StoreValue: ExpressibleByIntegerLiteral {
    /// Creates an `.int` value from a literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
}

extension StoreValue: ExpressibleByFloatLiteral {
    /// Creates a `.double` value from a literal.
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension StoreValue: ExpressibleByBooleanLiteral {
    /// Creates a `.bool` value from a literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension StoreValue: ExpressibleByNilLiteral {
    /// Creates `.null` from `nil`.
    public init(nilLiteral: ()) { self = .null }
}

extension StoreValue: ExpressibleByArrayLiteral {
    /// Creates an `.array` value from a literal.
    public init(arrayLiteral elements: StoreValue...) { self = .array(elements) }
}

extension StoreValue: ExpressibleByDictionaryLiteral {
    /// Creates a `.document` value from a literal, keeping the literal's field order.
    public init(dictionaryLiteral elements: (String, StoreValue)...) {
        self = .document(StoreDocument(elements.map { StoreField(key: $0.0, value: $0.1) }))
    }
}

/// One named field of a ``StoreDocument``.
public struct StoreField: Sendable, Hashable {
    /// The field name (no dots: dots separate path components in lookups).
    public var key: String
    /// The field's value.
    public var value: StoreValue

    /// Creates a field.
    ///
    /// - Parameters:
    ///   - key: The field name.
    ///   - value: The field's value.
    public init(key: String, value: StoreValue) {
        self.key = key
        self.value = value
    }
}

/// A document: an ordered list of named fields, as MongoDB keeps them.
///
/// Field order is preserved through both stores, and equality is order-sensitive. Look values
/// up by name with the subscript or by dotted path (`"seal.kid"`, `"terms.0"`) with
/// ``value(at:)``. The document's key is its `_id` field, a string.
public struct StoreDocument: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    /// The fields in order.
    public var fields: [StoreField]

    /// Creates a document from fields in order.
    ///
    /// - Parameter fields: The fields; later duplicates of a key are kept as given.
    public init(_ fields: [StoreField] = []) {
        self.fields = fields
    }

    /// Creates a document from a literal, keeping the literal's field order.
    public init(dictionaryLiteral elements: (String, StoreValue)...) {
        self.fields = elements.map { StoreField(key: $0.0, value: $0.1) }
    }

    /// The document's `_id` when it is a string, else `nil`.
    public var id: String? { self["_id"]?.stringValue }

    /// The field names in order.
    public var keys: [String] { fields.map(\.key) }

    /// The number of top-level fields.
    public var count: Int { fields.count }

    /// Whether the document has no fields.
    public var isEmpty: Bool { fields.isEmpty }

    /// The value of the top-level field `key`; setting `nil` removes the field, setting a value
    /// replaces it in place or appends it.
    public subscript(key: String) -> StoreValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue {
                    fields[index].value = newValue
                } else {
                    fields.remove(at: index)
                }
            } else if let newValue {
                fields.append(StoreField(key: key, value: newValue))
            }
        }
    }

    /// The value at a dotted path such as `"seal.kid"`.
    ///
    /// Components walk into nested documents; a numeric component indexes an array.
    ///
    /// - Parameter path: Field names separated by dots.
    /// - Returns: The value, or `nil` when any component is missing.
    public func value(at path: String) -> StoreValue? {
        var current = StoreValue.document(self)
        for component in path.split(separator: ".", omittingEmptySubsequences: false) {
            switch current {
            case .document(let document):
                guard let next = document[String(component)] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(component), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// Sets the value at a dotted path, creating missing intermediate documents, as MongoDB's
    /// `$set` does.
    ///
    /// - Parameters:
    ///   - value: The new value.
    ///   - path: Field names separated by dots.
    /// - Returns: `false` when a component on the way is a value that is not a document (the
    ///   document is then unchanged), else `true`.
    @discardableResult
    public mutating func setValue(_ value: StoreValue, at path: String) -> Bool {
        let components = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let updated = Self.setting(value, at: components[...], in: self) else { return false }
        self = updated
        return true
    }

    private static func setting(
        _ value: StoreValue, at components: ArraySlice<String>, in document: StoreDocument
    ) -> StoreDocument? {
        guard let first = components.first else { return nil }
        var document = document
        if components.count == 1 {
            document[first] = value
            return document
        }
        let child: StoreDocument
        switch document[first] {
        case nil, .null?: child = StoreDocument()
        case .document(let existing)?: child = existing
        default: return nil
        }
        guard let updated = setting(value, at: components.dropFirst(), in: child) else { return nil }
        document[first] = .document(updated)
        return document
    }

    /// Whether the value at `path` matches `expected` the way a MongoDB equality filter does:
    /// equal, or an array containing it; `.null` also matches a missing field.
    ///
    /// - Parameters:
    ///   - path: A dotted path.
    ///   - expected: The value to match.
    public func matches(_ path: String, _ expected: StoreValue) -> Bool {
        guard let actual = value(at: path) else { return expected.isNull }
        return actual.matches(expected)
    }
}

extension Date {
    /// Milliseconds since 1970, rounded to the nearest (the BSON date unit).
    var millisecondsSince1970: Int64 {
        let milliseconds = (timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite else { return 0 }
        return Int64(milliseconds.clamped(to: -9.2e18...9.2e18))
    }

    init(millisecondsSince1970 milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self {
        min(max(self, range.lowerBound), range.upperBound)
    }
}
