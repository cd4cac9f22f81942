/// One leaf column's levels and values for the row group being built.
struct ColumnBuffer {
    let leaf: LeafColumn
    let dictionaryLimit: Int
    private(set) var definitionLevels: [UInt8] = []
    private(set) var repetitionLevels: [UInt8] = []
    // PLAIN-encoded non-null values (every type but BOOLEAN, which is bit-packed at the end).
    private var plain: [UInt8] = []
    private var booleans: [UInt32] = []
    // Strings: the dictionary (keyed by bytes: Swift's String equality is canonical
    // equivalence, which would merge "é" and "e\u{301}") and each value's index, until the
    // dictionary passes `dictionaryLimit` bytes.
    private var dictionary: [[UInt8]: UInt32] = [:]
    private(set) var dictionaryPlain: [UInt8] = []
    private(set) var indices: [UInt32] = []
    private var dictionaryAbandoned = false

    init(leaf: LeafColumn, dictionaryLimit: Int) {
        self.leaf = leaf
        self.dictionaryLimit = dictionaryLimit
    }

    /// Where a row started, to cut back a row that did not fit.
    struct Mark {
        var levels: Int
        var plain: Int
        var booleans: Int
        var indices: Int
    }

    var mark: Mark {
        Mark(levels: definitionLevels.count, plain: plain.count, booleans: booleans.count, indices: indices.count)
    }

    mutating func rewind(to mark: Mark) {
        definitionLevels.removeSubrange(mark.levels...)
        repetitionLevels.removeSubrange(mark.levels...)
        plain.removeSubrange(mark.plain...)
        booleans.removeSubrange(mark.booleans...)
        // Dictionary entries the row added stay: an unused entry is valid.
        if !dictionaryAbandoned { indices.removeSubrange(mark.indices...) }
    }

    /// Whether the data page holds dictionary indices.
    var usesDictionary: Bool { leaf.type == .string && !dictionaryAbandoned && !dictionary.isEmpty }

    var dictionaryCount: Int { dictionary.count }

    var bufferedBytes: Int {
        definitionLevels.count * 2 + plain.count + booleans.count * 4 + indices.count * 4 + dictionaryPlain.count
    }

    mutating func appendNull(repetition: Int, definition: Int) {
        repetitionLevels.append(UInt8(repetition))
        definitionLevels.append(UInt8(definition))
    }

    /// Appends a present value; `false` when it is not of the column's type (nothing kept).
    mutating func append(_ value: ParquetValue, repetition: Int, definition: Int) -> Bool {
        switch (leaf.type, value) {
        case (.string, .string(let text)):
            let bytes = Array(text.utf8)
            ParquetEncoding.appendLittleEndian(UInt32(bytes.count), to: &plain)
            plain += bytes
            if !dictionaryAbandoned { addToDictionary(bytes) }
        case (.int64, .int64(let number)), (.timestamp, .int64(let number)):
            ParquetEncoding.appendLittleEndian(number, to: &plain)
        case (.int32, .int64(let number)), (.date, .int64(let number)):
            guard let small = Int32(exactly: number) else { return false }
            ParquetEncoding.appendLittleEndian(small, to: &plain)
        case (.double, .double(let number)):
            ParquetEncoding.appendLittleEndian(number.bitPattern, to: &plain)
        case (.boolean, .bool(let flag)):
            booleans.append(flag ? 1 : 0)
        default:
            return false
        }
        repetitionLevels.append(UInt8(repetition))
        definitionLevels.append(UInt8(definition))
        return true
    }

    private mutating func addToDictionary(_ bytes: [UInt8]) {
        if let index = dictionary[bytes] {
            indices.append(index)
            return
        }
        guard dictionaryPlain.count + 4 + bytes.count <= dictionaryLimit else {
            // Too many distinct values for a dictionary to pay: PLAIN for this row group.
            dictionaryAbandoned = true
            dictionary = [:]
            dictionaryPlain = []
            indices = []
            return
        }
        let index = UInt32(dictionary.count)
        dictionary[bytes] = index
        ParquetEncoding.appendLittleEndian(UInt32(bytes.count), to: &dictionaryPlain)
        dictionaryPlain += bytes
        indices.append(index)
    }

    /// The PLAIN values (BOOLEAN bit-packed, least significant bit first).
    func appendPlainValues(to out: inout [UInt8]) {
        if leaf.type == .boolean {
            ParquetEncoding.appendPackedBits(booleans, paddedTo: booleans.count, bitWidth: 1, to: &out)
        } else {
            out += plain
        }
    }

    /// Empties the buffer for the next row group (capacity kept).
    mutating func reset() {
        definitionLevels.removeAll(keepingCapacity: true)
        repetitionLevels.removeAll(keepingCapacity: true)
        plain.removeAll(keepingCapacity: true)
        booleans.removeAll(keepingCapacity: true)
        dictionary.removeAll(keepingCapacity: true)
        dictionaryPlain.removeAll(keepingCapacity: true)
        indices.removeAll(keepingCapacity: true)
        dictionaryAbandoned = false
    }
}
