/// Parquet's value encodings that the writer uses: PLAIN, the RLE/bit-packing hybrid (levels
/// and dictionary indices) and bit widths (the Parquet format's Encodings.md).
enum ParquetEncoding {
    /// The bits needed to hold `maxValue` (0 for 0).
    static func bitWidth(_ maxValue: UInt32) -> Int {
        maxValue == 0 ? 0 : 32 - maxValue.leadingZeroBitCount
    }

    /// Appends `values` in the RLE/bit-packing hybrid at `bitWidth` bits each, without a length
    /// prefix: runs of 8 or more equal values as RLE runs, the rest bit-packed in groups of 8
    /// (only the last group padded, since a reader takes every value of a group).
    static func appendHybrid<Values: RandomAccessCollection>(
        _ values: Values, bitWidth: Int, to out: inout [UInt8]
    ) where Values.Element: BinaryInteger, Values.Index == Int {
        var literals: [UInt32] = []
        literals.reserveCapacity(maxLiteralRun)
        var index = values.startIndex
        let end = values.endIndex
        while index < end {
            let value = UInt32(truncatingIfNeeded: values[index])
            var run = 1
            while index + run < end && UInt32(truncatingIfNeeded: values[index + run]) == value { run += 1 }
            if run >= 8 && literals.count % 8 == 0 {
                appendBitPacked(literals, bitWidth: bitWidth, to: &out)
                literals.removeAll(keepingCapacity: true)
                appendRLE(value, count: run, bitWidth: bitWidth, to: &out)
                index += run
            } else if run >= 8 {
                // Completes the literal group with the run's first values; the rest of the run
                // can then go as an RLE run on the next turn.
                let fill = 8 - literals.count % 8
                for _ in 0..<fill { literals.append(value) }
                index += fill
            } else {
                for offset in 0..<run { literals.append(UInt32(truncatingIfNeeded: values[index + offset])) }
                index += run
            }
            if literals.count >= maxLiteralRun && literals.count % 8 == 0 {
                appendBitPacked(literals, bitWidth: bitWidth, to: &out)
                literals.removeAll(keepingCapacity: true)
            }
        }
        appendBitPacked(literals, bitWidth: bitWidth, to: &out)
    }

    /// Values per bit-packed run at most (64 groups, as parquet-cpp writes them).
    private static let maxLiteralRun = 512

    private static func appendRLE(_ value: UInt32, count: Int, bitWidth: Int, to out: inout [UInt8]) {
        appendVarint(UInt64(count) << 1, to: &out)
        let byteCount = (bitWidth + 7) / 8
        for byte in 0..<byteCount { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(byte)))) }
    }

    private static func appendBitPacked(_ values: [UInt32], bitWidth: Int, to out: inout [UInt8]) {
        guard !values.isEmpty else { return }
        let groups = (values.count + 7) / 8
        appendVarint(UInt64(groups) << 1 | 1, to: &out)
        appendPackedBits(values, paddedTo: groups * 8, bitWidth: bitWidth, to: &out)
    }

    /// Packs values least significant bit first, `bitWidth` bits each, padded with zeros.
    static func appendPackedBits(_ values: [UInt32], paddedTo count: Int, bitWidth: Int, to out: inout [UInt8]) {
        guard bitWidth > 0 else { return }
        var buffer: UInt64 = 0
        var bits = 0
        for index in 0..<count {
            let value = index < values.count ? UInt64(values[index]) : 0
            buffer |= value << UInt64(bits)
            bits += bitWidth
            while bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                bits -= 8
            }
        }
        if bits > 0 { out.append(UInt8(truncatingIfNeeded: buffer)) }
    }

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    /// Appends a little-endian fixed-width integer (PLAIN INT32/INT64, DOUBLE bits, lengths).
    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }
}
