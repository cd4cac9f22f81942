/// A leaf column's type: its Parquet physical type and logical annotation.
public enum ParquetType: Sendable, Equatable {
    /// UTF-8 text: BYTE_ARRAY annotated STRING; values `.string`. Dictionary-encoded while the
    /// row group's distinct values fit the dictionary limit, PLAIN after.
    case string
    /// INT64; values `.int64`.
    case int64
    /// INT32; values `.int64` within Int32's range.
    case int32
    /// DOUBLE; values `.double`.
    case double
    /// BOOLEAN; values `.bool`.
    case boolean
    /// INT64 annotated TIMESTAMP(isAdjustedToUTC: true, unit); values `.int64`, the time since
    /// 1970-01-01T00:00:00Z in that unit.
    case timestamp(ParquetTimeUnit)
    /// INT32 annotated DATE; values `.int64`, days since 1970-01-01.
    case date
}

/// A timestamp's unit.
public enum ParquetTimeUnit: Sendable, Equatable {
    /// Milliseconds.
    case millis
    /// Microseconds.
    case micros
}

/// One field of a `ParquetSchema`: a leaf column, a group of fields, a list or a map.
///
/// Lists are written in the standard three-level LIST layout
/// (`<optional> group name (LIST) { repeated group list { <optional> element } }`) and maps in
/// the MAP layout (`group name (MAP) { repeated group key_value { required key; value } }`), so
/// pyarrow, DuckDB and Spark read them as lists and maps.
public struct ParquetField: Sendable, Equatable {
    /// What the field holds.
    public indirect enum Kind: Sendable, Equatable {
        /// One column of this type.
        case leaf(ParquetType)
        /// A struct of these fields; its value is `.group` with one value per field, in order.
        case group([ParquetField])
        /// A list of `element`s (the element's own name is ignored: Parquet names it
        /// `element`); its value is `.list`.
        case list(element: ParquetField)
        /// A map from keys of type `key` (required: never null) to `value`s (its name is
        /// ignored: `value`); its value is `.list` of `.group([key, value])` pairs.
        case map(key: ParquetType, value: ParquetField)
    }

    /// The column or group name.
    public var name: String
    /// Whether the value may be null (`.null`). A required field's null is an error.
    public var optional: Bool
    /// What the field holds.
    public var kind: Kind

    /// Makes a field.
    public init(_ name: String, _ kind: Kind, optional: Bool = true) {
        self.name = name
        self.kind = kind
        self.optional = optional
    }

    /// A string column.
    public static func string(_ name: String, optional: Bool = true) -> ParquetField {
        ParquetField(name, .leaf(.string), optional: optional)
    }

    /// An INT64 column.
    public static func int64(_ name: String, optional: Bool = true) -> ParquetField {
        ParquetField(name, .leaf(.int64), optional: optional)
    }

    /// A DOUBLE column.
    public static func double(_ name: String, optional: Bool = true) -> ParquetField {
        ParquetField(name, .leaf(.double), optional: optional)
    }

    /// A BOOLEAN column.
    public static func bool(_ name: String, optional: Bool = true) -> ParquetField {
        ParquetField(name, .leaf(.boolean), optional: optional)
    }

    /// A UTC timestamp column (values: `.int64` in `unit` since the epoch).
    public static func timestamp(_ name: String, unit: ParquetTimeUnit, optional: Bool = true) -> ParquetField {
        ParquetField(name, .leaf(.timestamp(unit)), optional: optional)
    }

    /// A struct of `fields`.
    public static func group(_ name: String, optional: Bool = true, _ fields: [ParquetField]) -> ParquetField {
        ParquetField(name, .group(fields), optional: optional)
    }

    /// A list of `element`s.
    public static func list(_ name: String, optional: Bool = true, of element: ParquetField) -> ParquetField {
        ParquetField(name, .list(element: element), optional: optional)
    }

    /// A map from `key`s to `value`s.
    public static func map(
        _ name: String, optional: Bool = true, key: ParquetType = .string, value: ParquetField
    ) -> ParquetField {
        ParquetField(name, .map(key: key, value: value), optional: optional)
    }
}

/// A file's schema: its top-level fields, in column order. A row is one `ParquetValue` per
/// field.
public struct ParquetSchema: Sendable, Equatable {
    /// The top-level fields.
    public var fields: [ParquetField]

    /// Makes a schema of these fields.
    public init(_ fields: [ParquetField]) { self.fields = fields }
}

/// One value of a row, shaped as its field (see `ParquetField.Kind`).
public enum ParquetValue: Sendable, Equatable {
    /// No value (an optional field).
    case null
    /// A `.boolean` leaf.
    case bool(Bool)
    /// An `.int64`, `.int32`, `.timestamp` or `.date` leaf.
    case int64(Int64)
    /// A `.double` leaf.
    case double(Double)
    /// A `.string` leaf.
    case string(String)
    /// A `.group`: one value per field, in order.
    case group([ParquetValue])
    /// A `.list`'s elements, or a `.map`'s `.group([key, value])` entries.
    case list([ParquetValue])

    /// `.string(text)`, or `.null` for `nil`.
    public static func optional(_ text: String?) -> ParquetValue { text.map { .string($0) } ?? .null }

    /// `.int64(number)`, or `.null` for `nil`.
    public static func optional(_ number: Int?) -> ParquetValue { number.map { .int64(Int64($0)) } ?? .null }

    /// `.double(number)`, or `.null` for `nil`.
    public static func optional(_ number: Double?) -> ParquetValue { number.map { .double($0) } ?? .null }

    /// `.bool(value)`, or `.null` for `nil`.
    public static func optional(_ value: Bool?) -> ParquetValue { value.map { .bool($0) } ?? .null }
}

/// A Parquet file that cannot be written: a row that does not fit the schema, or a failed
/// write. `description` names the column or file and what to do.
public struct ParquetError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: Sendable, Equatable {
        /// A row does not match the schema (wrong count, type or a null in a required field).
        case schemaMismatch
        /// The file could not be created, written or renamed into place (`errno` given).
        case io(errno: Int32)
        /// The writer was used after `close()`.
        case closed
        /// zstd failed to compress a page.
        case compression
    }

    /// The kind of failure.
    public let code: Code
    /// The message.
    public let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
