import Foundation

/// An RFC 4180 parser fed in chunks: quoted fields may hold separators, newlines and doubled
/// quotes; CRLF, LF or CR line ends; a UTF-8 BOM at the start is skipped; empty lines are
/// dropped. A quote, CR or BOM split across two chunks reads as if the text were whole, so a
/// file read piece by piece keeps only one piece and its rows in memory.
package struct CSVReader {
    private let separator: UInt8
    private var row: [String] = []
    private var field: [UInt8] = []
    private var inQuotes = false
    private var quotedField = false
    /// A quote seen inside a quoted field: the end of the field, or the first of a doubled pair.
    private var quoteInQuotes = false
    /// A CR seen outside quotes: the end of the row, or the first half of a CRLF.
    private var carriageReturn = false
    private var started = false
    private var pendingStart: [UInt8] = []

    private static let quote = UInt8(ascii: "\"")
    private static let newline = UInt8(ascii: "\n")
    private static let cr = UInt8(ascii: "\r")
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// A parser for fields split by `separator` (a comma or a tab).
    package init(separator: UInt8) { self.separator = separator }

    /// Parses `chunk`, appending each row it completes to `rows`.
    package mutating func feed(_ chunk: some Collection<UInt8>, into rows: inout [[String]]) {
        if started {
            for byte in chunk { consume(byte, into: &rows) }
            return
        }
        // The BOM may be split across the first chunks: hold bytes until three are seen.
        pendingStart.append(contentsOf: chunk)
        guard pendingStart.count >= Self.bom.count else { return }
        started = true
        let start = pendingStart.starts(with: Self.bom) ? Self.bom.count : 0
        let held = pendingStart
        pendingStart = []
        for byte in held[start...] { consume(byte, into: &rows) }
    }

    /// Ends the text, appending its last row (one without a line end) to `rows`.
    /// - Throws: `IngestError.source` naming `path` when the text ends inside a quoted field.
    package mutating func finish(into rows: inout [[String]], path: String) throws {
        if !started {
            started = true
            // Under three bytes: a BOM's first bytes are dropped with it.
            let held = pendingStart
            pendingStart = []
            if !Self.bom.starts(with: held) { for byte in held { consume(byte, into: &rows) } }
        }
        if quoteInQuotes {
            quoteInQuotes = false
            inQuotes = false
        }
        if inQuotes { throw IngestError(.source, "\(path) ends inside a quoted field; close the quote") }
        if carriageReturn {
            carriageReturn = false
            endRow(into: &rows)
        }
        if !field.isEmpty || !row.isEmpty { endRow(into: &rows) }
    }

    private mutating func consume(_ byte: UInt8, into rows: inout [[String]]) {
        if quoteInQuotes {
            quoteInQuotes = false
            if byte == Self.quote {
                field.append(Self.quote)
                return
            }
            inQuotes = false
        }
        if carriageReturn {
            carriageReturn = false
            endRow(into: &rows)
            if byte == Self.newline { return }
        }
        if inQuotes {
            if byte == Self.quote { quoteInQuotes = true } else { field.append(byte) }
        } else if byte == Self.quote, field.isEmpty, !quotedField {
            inQuotes = true
            quotedField = true
        } else if byte == separator {
            endField()
        } else if byte == Self.newline {
            endRow(into: &rows)
        } else if byte == Self.cr {
            carriageReturn = true
        } else {
            field.append(byte)
        }
    }

    private mutating func endField() {
        row.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
        quotedField = false
    }

    private mutating func endRow(into rows: inout [[String]]) {
        endField()
        if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
        row = []
    }
}
