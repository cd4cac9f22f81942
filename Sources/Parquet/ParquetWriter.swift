#if canImport(Glibc)
    import Glibc
#endif

/// Writes a Parquet file row by row, in bounded memory.
///
/// Rows are shredded into columns as they come (definition and repetition levels, Dremel
/// style) and flushed as a row group every `rowGroupRows` rows (or sooner when the buffered
/// values pass 64 MiB), so memory stays flat however many rows are written. Each column chunk
/// is one data page (v1) with RLE/bit-packed levels; strings are dictionary-encoded
/// (RLE_DICTIONARY, with a PLAIN dictionary page) until the row group's dictionary passes
/// `dictionaryLimit` bytes, PLAIN after; other types are PLAIN. Pages are compressed with zstd.
///
/// Written to a path, the file appears only at `close()` (written to a temporary file beside
/// it, synced, then renamed), so a reader never sees half a file and an abandoned writer
/// leaves nothing.
///
/// ```swift
/// let schema = ParquetSchema([.string("id", optional: false), .string("stage"), .string("cause")])
/// let writer = try ParquetWriter(path: "failure/part-00000.parquet", schema: schema)
/// try writer.append([.string("flickr:1"), .string("download"), .optional(cause)])
/// try writer.close()
/// ```
///
/// Not thread-safe: one writer per task.
public final class ParquetWriter {
    /// How pages are compressed.
    public enum Compression: Sendable, Equatable {
        /// Uncompressed.
        case none
        /// zstd at this level (1...19; 3 is zstd's default).
        case zstd(level: Int32)
    }

    /// The default rows per row group.
    public static let defaultRowGroupRows = 50_000

    /// Rows appended so far.
    public private(set) var rowCount = 0
    /// Row groups written so far.
    public private(set) var rowGroupCount = 0

    private let schema: ParquetSchema
    private let compiled: CompiledSchema
    private var columns: [ColumnBuffer]
    private let rowGroupRows: Int
    private let compression: Compression
    private let compressor: ZstdCompressor?
    private var sink: FileSink
    private var rowGroups: [RowGroupMetadata] = []
    private var rowsInGroup = 0
    private var closed = false
    // Set when writing to a path: the temporary file and where it goes at close().
    private let temporaryPath: String?
    private let finalPath: String?

    /// Buffered bytes past which a row group is flushed early (rows of long strings).
    private static let maxRowGroupBytes = 64 << 20

    /// Starts a file at `path`, written atomically at `close()`.
    /// - Parameters:
    ///   - path: where the file goes; its folder must exist. An existing file is replaced at
    ///     `close()`.
    ///   - schema: the columns.
    ///   - rowGroupRows: rows per row group (at least 1).
    ///   - compression: the page codec (zstd level 3 by default).
    ///   - dictionaryLimit: bytes of distinct strings per column and row group past which a
    ///     string column falls back from dictionary to PLAIN encoding.
    /// - Throws: `ParquetError` `.io` when the temporary file cannot be created.
    public convenience init(
        path: String, schema: ParquetSchema, rowGroupRows: Int = ParquetWriter.defaultRowGroupRows,
        compression: Compression = .zstd(level: 3), dictionaryLimit: Int = 1 << 20
    ) throws {
        let (directory, name) = Self.split(path)
        var temporary = ""
        var fd: Int32 = -1
        for attempt in 0..<100 {
            temporary = directory + "." + name + ".tmp-\(getpid())-\(attempt)"
            // 0666 less the umask, as a shell redirection would make it.
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            let code = errno
            throw ParquetError(.io(errno: code), "cannot create \(path): \(String(cString: strerror(code)))")
        }
        try self.init(
            sink: FileSink(fd: fd, ownsDescriptor: true, name: path), temporaryPath: temporary, finalPath: path,
            schema: schema, rowGroupRows: rowGroupRows, compression: compression, dictionaryLimit: dictionaryLimit)
    }

    /// Starts a file written to an open descriptor (a pipe, stdout), which stays open after
    /// `close()`. Nothing is atomic here: a failure leaves a partial stream.
    /// - Parameters: as `init(path:...)`.
    public convenience init(
        fileDescriptor: Int32, schema: ParquetSchema, rowGroupRows: Int = ParquetWriter.defaultRowGroupRows,
        compression: Compression = .zstd(level: 3), dictionaryLimit: Int = 1 << 20
    ) throws {
        try self.init(
            sink: FileSink(fd: fileDescriptor, ownsDescriptor: false, name: "descriptor \(fileDescriptor)"),
            temporaryPath: nil, finalPath: nil, schema: schema, rowGroupRows: rowGroupRows,
            compression: compression, dictionaryLimit: dictionaryLimit)
    }

    private init(
        sink: FileSink, temporaryPath: String?, finalPath: String?, schema: ParquetSchema, rowGroupRows: Int,
        compression: Compression, dictionaryLimit: Int
    ) throws {
        self.sink = sink
        self.temporaryPath = temporaryPath
        self.finalPath = finalPath
        self.schema = schema
        self.compiled = CompiledSchema(schema)
        self.columns = compiled.leaves.map { ColumnBuffer(leaf: $0, dictionaryLimit: max(0, dictionaryLimit)) }
        self.rowGroupRows = max(1, rowGroupRows)
        self.compression = compression
        if case .zstd(let level) = compression {
            compressor = try ZstdCompressor(level: level)
        } else {
            compressor = nil
        }
        do {
            try sink.write(Self.magic)
        } catch {
            discardTemporary()
            throw error
        }
    }

    deinit {
        if !closed { discardTemporary() }
    }

    /// Appends one row: one value per top-level field, shaped as the field.
    /// - Throws: `ParquetError` `.schemaMismatch` naming the column when the row does not fit
    ///   the schema (nothing of that row is kept), `.io` when a row group cannot be written,
    ///   `.closed` after `close()`.
    public func append(_ row: [ParquetValue]) throws {
        guard !closed else { throw ParquetError(.closed, "the Parquet writer for \(sink.name) is already closed") }
        guard row.count == compiled.roots.count else {
            throw ParquetError(
                .schemaMismatch, "a row has \(row.count) values but the schema has \(compiled.roots.count) fields")
        }
        let marks = columns.map { $0.mark }
        do {
            for (node, value) in zip(compiled.roots, row) { try shred(node, value, repetition: 0, definition: 0) }
        } catch {
            // A row is all or nothing: the columns it reached are cut back.
            for index in columns.indices { columns[index].rewind(to: marks[index]) }
            throw error
        }
        rowCount += 1
        rowsInGroup += 1
        if rowsInGroup >= rowGroupRows || columns.reduce(0, { $0 + $1.bufferedBytes }) > Self.maxRowGroupBytes {
            try flushRowGroup()
        }
    }

    /// Writes the last row group and the footer, then (for a path) syncs the file and renames
    /// it into place. The writer cannot be used after.
    /// - Throws: `ParquetError` `.io` when the file cannot be written, synced or renamed (the
    ///   temporary file is removed).
    public func close() throws {
        guard !closed else { return }
        do {
            if rowsInGroup > 0 { try flushRowGroup() }
            let footer = fileMetadata()
            try sink.write(footer)
            var length: [UInt8] = []
            ParquetEncoding.appendLittleEndian(UInt32(footer.count), to: &length)
            try sink.write(length)
            try sink.write(Self.magic)
            try sink.flush()
            if let temporaryPath, let finalPath {
                try sink.syncAndClose()
                guard rename(temporaryPath, finalPath) == 0 else {
                    let code = errno
                    throw ParquetError(
                        .io(errno: code),
                        "cannot rename the Parquet file into \(finalPath): \(String(cString: strerror(code)))")
                }
            }
            closed = true
        } catch {
            closed = true
            discardTemporary()
            throw error
        }
    }

    private func discardTemporary() {
        sink.closeQuietly()
        if let temporaryPath { unlink(temporaryPath) }
    }

    private static let magic: [UInt8] = Array("PAR1".utf8)

    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[...slash]), String(path[path.index(after: slash)...]))
    }

    // MARK: Shredding

    /// Records `value` at `node` into its leaf columns' levels and values.
    private func shred(_ node: SchemaNode, _ value: ParquetValue, repetition: Int, definition: Int) throws {
        if node.repetition == .repeated {
            let items: [ParquetValue]
            switch value {
            case .list(let list): items = list
            case .null: items = []
            default: throw mismatch(node, "a list")
            }
            guard !items.isEmpty else {
                for column in node.leafColumns {
                    columns[column].appendNull(repetition: repetition, definition: definition)
                }
                return
            }
            for (index, item) in items.enumerated() {
                try shredContent(
                    node, item, repetition: index == 0 ? repetition : node.maxRepetition, definition: definition + 1)
            }
            return
        }
        if case .null = value {
            guard node.repetition == .optional else {
                throw ParquetError(.schemaMismatch, "\(node.path) is required but a row has null")
            }
            for column in node.leafColumns {
                columns[column].appendNull(repetition: repetition, definition: definition)
            }
            return
        }
        try shredContent(
            node, value, repetition: repetition, definition: definition + (node.repetition == .optional ? 1 : 0))
    }

    /// Records a present value's content (a leaf value, a group's fields, a list's or map's
    /// repeated child, one repetition's element or key and value).
    private func shredContent(_ node: SchemaNode, _ value: ParquetValue, repetition: Int, definition: Int) throws {
        switch node.shape {
        case .leaf(let column):
            guard columns[column].append(value, repetition: repetition, definition: definition) else {
                throw mismatch(node, "a value of type \(columns[column].leaf.type)")
            }
        case .group:
            guard case .group(let values) = value, values.count == node.children.count else {
                throw mismatch(node, "a group of \(node.children.count) values")
            }
            for (child, childValue) in zip(node.children, values) {
                try shred(child, childValue, repetition: repetition, definition: definition)
            }
        case .listOrMap:
            try shred(node.children[0], value, repetition: repetition, definition: definition)
        case .listEntry:
            try shred(node.children[0], value, repetition: repetition, definition: definition)
        case .mapEntry:
            guard case .group(let pair) = value, pair.count == 2 else {
                throw mismatch(node, "a .group([key, value]) map entry")
            }
            try shred(node.children[0], pair[0], repetition: repetition, definition: definition)
            try shred(node.children[1], pair[1], repetition: repetition, definition: definition)
        }
    }

    private func mismatch(_ node: SchemaNode, _ expected: String) -> ParquetError {
        ParquetError(.schemaMismatch, "\(node.path) needs \(expected) but a row has another kind of value")
    }

    // MARK: Row groups

    private func flushRowGroup() throws {
        var chunks: [ColumnChunkMetadata] = []
        chunks.reserveCapacity(columns.count)
        var totalBytes: Int64 = 0
        var totalCompressed: Int64 = 0
        let start = sink.offset
        for index in columns.indices {
            let chunk = try writeColumnChunk(&columns[index])
            totalBytes += chunk.uncompressedSize
            totalCompressed += chunk.compressedSize
            chunks.append(chunk)
            columns[index].reset()
        }
        rowGroups.append(
            RowGroupMetadata(
                columns: chunks, totalByteSize: totalBytes, rowCount: Int64(rowsInGroup), fileOffset: start,
                totalCompressedSize: totalCompressed))
        rowsInGroup = 0
        rowGroupCount += 1
    }

    private func writeColumnChunk(_ column: inout ColumnBuffer) throws -> ColumnChunkMetadata {
        let leaf = column.leaf
        var uncompressedTotal: Int64 = 0
        var compressedTotal: Int64 = 0
        var dictionaryOffset: Int64?
        let useDictionary = column.usesDictionary
        if useDictionary {
            dictionaryOffset = sink.offset
            let sizes = try writePage(PageType.dictionary, body: column.dictionaryPlain, detailsField: 7) { header in
                header.i32(1, Int32(column.dictionaryCount))
                header.i32(2, EncodingID.plain)
            }
            uncompressedTotal += sizes.uncompressed
            compressedTotal += sizes.compressed
        }
        let dataOffset = sink.offset
        var body: [UInt8] = []
        body.reserveCapacity(column.bufferedBytes + 64)
        if leaf.maxRepetition > 0 { Self.appendLevels(column.repetitionLevels, max: leaf.maxRepetition, to: &body) }
        if leaf.maxDefinition > 0 { Self.appendLevels(column.definitionLevels, max: leaf.maxDefinition, to: &body) }
        let valueEncoding: Int32
        if useDictionary {
            valueEncoding = EncodingID.rleDictionary
            // At least 1 bit: a one-entry dictionary still has readable indices.
            let width = max(1, ParquetEncoding.bitWidth(UInt32(max(0, column.dictionaryCount - 1))))
            body.append(UInt8(width))
            ParquetEncoding.appendHybrid(column.indices, bitWidth: width, to: &body)
        } else {
            valueEncoding = EncodingID.plain
            column.appendPlainValues(to: &body)
        }
        let sizes = try writePage(PageType.data, body: body, detailsField: 5) { header in
            header.i32(1, Int32(column.definitionLevels.count))
            header.i32(2, valueEncoding)
            header.i32(3, EncodingID.rle)
            header.i32(4, EncodingID.rle)
        }
        uncompressedTotal += sizes.uncompressed
        compressedTotal += sizes.compressed
        return ColumnChunkMetadata(
            leaf: leaf,
            encodings: useDictionary
                ? [EncodingID.plain, EncodingID.rle, EncodingID.rleDictionary] : [EncodingID.plain, EncodingID.rle],
            valueCount: Int64(column.definitionLevels.count), uncompressedSize: uncompressedTotal,
            compressedSize: compressedTotal, dataPageOffset: dataOffset, dictionaryPageOffset: dictionaryOffset)
    }

    /// Writes one page: its header (type, sizes, and the page-type struct in field
    /// `detailsField`, filled by `details`), then its compressed body.
    /// - Returns: the page's size with its header, uncompressed and compressed.
    private func writePage(
        _ type: Int32, body: [UInt8], detailsField: Int16, details: (inout ThriftCompactWriter) -> Void
    ) throws -> (uncompressed: Int64, compressed: Int64) {
        let compressed = try compress(body)
        var header = ThriftCompactWriter()
        header.beginStruct()
        header.i32(1, type)
        header.i32(2, Int32(body.count))
        header.i32(3, Int32(compressed.count))
        header.beginStructField(detailsField)
        details(&header)
        header.endStruct()
        header.endStruct()
        try sink.write(header.bytes)
        try sink.write(compressed)
        return (Int64(header.bytes.count + body.count), Int64(header.bytes.count + compressed.count))
    }

    /// Levels as data page v1 holds them: a 4-byte little-endian length, then the hybrid.
    private static func appendLevels(_ levels: [UInt8], max maxLevel: Int, to out: inout [UInt8]) {
        let lengthAt = out.count
        out += [0, 0, 0, 0]
        ParquetEncoding.appendHybrid(levels, bitWidth: ParquetEncoding.bitWidth(UInt32(maxLevel)), to: &out)
        let length = UInt32(out.count - lengthAt - 4)
        for byte in 0..<4 { out[lengthAt + byte] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(byte))) }
    }

    private func compress(_ body: [UInt8]) throws -> [UInt8] {
        guard let compressor else { return body }
        return try compressor.compress(body)
    }

    private var codec: Int32 {
        switch compression {
        case .none: 0
        case .zstd: 6
        }
    }

    // MARK: Footer

    private func fileMetadata() -> [UInt8] {
        var out = ThriftCompactWriter()
        out.beginStruct()
        out.i32(1, 1)
        out.listField(2, of: .structure, count: compiled.elements.count)
        for element in compiled.elements { element.write(to: &out) }
        out.i64(3, Int64(rowCount))
        out.listField(4, of: .structure, count: rowGroups.count)
        for (ordinal, group) in rowGroups.enumerated() {
            out.beginStruct()
            out.listField(1, of: .structure, count: group.columns.count)
            for chunk in group.columns {
                out.beginStruct()
                out.i64(2, chunk.dictionaryPageOffset ?? chunk.dataPageOffset)
                out.beginStructField(3)
                out.i32(1, chunk.leaf.type.physical)
                out.listField(2, of: .i32, count: chunk.encodings.count)
                for encoding in chunk.encodings { out.i32Element(encoding) }
                out.listField(3, of: .binary, count: chunk.leaf.path.count)
                for name in chunk.leaf.path { out.stringElement(name) }
                out.i32(4, codec)
                out.i64(5, chunk.valueCount)
                out.i64(6, chunk.uncompressedSize)
                out.i64(7, chunk.compressedSize)
                out.i64(9, chunk.dataPageOffset)
                if let dictionary = chunk.dictionaryPageOffset { out.i64(11, dictionary) }
                // No statistics: they are optional, and a wrong null count or bound would let a
                // reader skip row groups it needs.
                out.endStruct()
                out.endStruct()
            }
            out.i64(2, group.totalByteSize)
            out.i64(3, group.rowCount)
            out.i64(5, group.fileOffset)
            out.i64(6, group.totalCompressedSize)
            out.i32(7, Int32(ordinal))
            out.endStruct()
        }
        out.string(6, "photoseal")
        out.endStruct()
        return out.bytes
    }
}

@available(*, unavailable)
extension ParquetWriter: Sendable {}

/// Parquet's PageType ids.
enum PageType {
    static let data: Int32 = 0
    static let dictionary: Int32 = 2
}

/// Parquet's Encoding ids.
enum EncodingID {
    static let plain: Int32 = 0
    static let rle: Int32 = 3
    static let rleDictionary: Int32 = 8
}

struct ColumnChunkMetadata {
    var leaf: LeafColumn
    var encodings: [Int32]
    var valueCount: Int64
    var uncompressedSize: Int64
    var compressedSize: Int64
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
}

struct RowGroupMetadata {
    var columns: [ColumnChunkMetadata]
    var totalByteSize: Int64
    var rowCount: Int64
    var fileOffset: Int64
    var totalCompressedSize: Int64
}
