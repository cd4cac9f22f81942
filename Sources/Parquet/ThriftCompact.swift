/// Writes Thrift's compact protocol: only what the Parquet footer and page headers need
/// (structs, i32/i64, binary, bool, lists). Field ids go as deltas from the previous field of
/// the same struct, integers as zigzag varints (the Thrift compact protocol specification).
struct ThriftCompactWriter {
    /// Compact-protocol type ids.
    enum FieldType: UInt8 {
        case boolTrue = 1
        case boolFalse = 2
        case i32 = 5
        case i64 = 6
        case binary = 8
        case list = 9
        case structure = 12
    }

    private(set) var bytes: [UInt8] = []
    // The last field id written in each open struct (a stack: structs nest).
    private var lastFieldIDs: [Int16] = [0]

    init() { bytes.reserveCapacity(256) }

    /// Opens a struct that is a list element (no field header).
    mutating func beginStruct() { lastFieldIDs.append(0) }

    /// Closes the innermost struct (its stop byte).
    mutating func endStruct() {
        bytes.append(0)
        lastFieldIDs.removeLast()
    }

    /// Opens a struct-typed field.
    mutating func beginStructField(_ id: Int16) {
        fieldHeader(id, .structure)
        beginStruct()
    }

    mutating func i32(_ id: Int16, _ value: Int32) {
        fieldHeader(id, .i32)
        varint(zigzag(Int64(value)))
    }

    mutating func i64(_ id: Int16, _ value: Int64) {
        fieldHeader(id, .i64)
        varint(zigzag(value))
    }

    mutating func bool(_ id: Int16, _ value: Bool) {
        // A bool field's value is its header's type.
        fieldHeader(id, value ? .boolTrue : .boolFalse)
    }

    mutating func string(_ id: Int16, _ value: String) {
        fieldHeader(id, .binary)
        binaryValue(Array(value.utf8))
    }

    /// Opens a list field whose `count` elements follow (written with the `*Element` calls).
    mutating func listField(_ id: Int16, of element: FieldType, count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | element.rawValue)
        } else {
            bytes.append(0xF0 | element.rawValue)
            varint(UInt64(count))
        }
    }

    mutating func i32Element(_ value: Int32) { varint(zigzag(Int64(value))) }

    mutating func stringElement(_ value: String) { binaryValue(Array(value.utf8)) }

    private mutating func binaryValue(_ value: [UInt8]) {
        varint(UInt64(value.count))
        bytes += value
    }

    private mutating func fieldHeader(_ id: Int16, _ type: FieldType) {
        let delta = Int(id) - Int(lastFieldIDs[lastFieldIDs.count - 1])
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            varint(zigzag(Int64(id)))
        }
        lastFieldIDs[lastFieldIDs.count - 1] = id
    }

    private func zigzag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }

    private mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}
