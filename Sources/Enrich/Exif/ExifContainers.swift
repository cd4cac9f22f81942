/// Finds the EXIF (TIFF) block inside each supported container, reading only headers.
enum ExifContainers {
    /// Where a TIFF structure sits: in `source` at `base`, `length` bytes long.
    struct Location {
        var source: any ExifByteSource
        var base: Int
        var length: Int
        var kind: TIFFKind
        /// Where the TIFF header sits in the file: exiftool reports offset tags from there.
        var fileBase: Int
    }

    /// The result of looking into a container: the EXIF block if any, and what went wrong.
    struct Scan {
        var location: Location?
        var error: EnrichError?
        var format: String
    }

    /// Largest EXIF payload read into memory from PNG/WebP/HEIC (JPEG's APP1 is at most 64 KiB).
    static let maxPayload = 4 << 20
    /// Most container segments, chunks or boxes inspected before giving up.
    static let maxSegments = 4096

    static func scan(_ source: any ExifByteSource, name: String) throws(EnrichError) -> Scan {
        let start = try source.view(at: 0, count: 16)
        func error(_ code: EnrichError.Code, _ detail: String) -> EnrichError {
            EnrichError(code, input: name, detail: detail)
        }
        guard start.count > 0 else {
            return Scan(error: error(.unsupportedFormat, "the file is empty (0 bytes)"), format: "empty")
        }
        // Nearly every photo is a JPEG: tell it without copying the first bytes.
        if start.count >= 2, start[0] == 0xFF, start[1] == 0xD8 { return try jpeg(source, name: name) }
        let head = start.array
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try png(source, name: name) }
        if head.count >= 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WEBP".utf8) {
            return try webp(source, name: name)
        }
        if head.count >= 8, Array(head[4..<8]) == Array("ftyp".utf8) { return try isoBMFF(source, name: name) }
        if head.starts(with: [0, 0x4D, 0x52, 0x4D]) { return try mrw(source, name: name) }
        if head.count >= 4,
            head.starts(with: [0x49, 0x49]) || head.starts(with: [0x4D, 0x4D])
        {
            let kind = tiffKind(head: head, name: name)
            return Scan(
                location: Location(source: source, base: 0, length: source.size, kind: kind, fileBase: 0),
                format: "TIFF")
        }
        return Scan(
            error: error(.unsupportedFormat, "not a JPEG, TIFF, PNG, WebP or HEIC/AVIF file"), format: "unknown")
    }

    /// exiftool names a few tags by raw flavour; CR2 has a signature, the rest go by extension.
    static func tiffKind(head: [UInt8], name: String) -> TIFFKind {
        if head.count >= 10, head[8] == 0x43, head[9] == 0x52 { return .cr2 }
        let ext = name.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "nef", "nrw": return .nef
        case "dng": return .dng
        case "rw2", "rwl": return .rw2
        case "iiq": return .iiq
        case "cr2": return .cr2
        case "tif", "tiff": return .tiff
        default: return .other
        }
    }

    // MARK: JPEG

    private static func jpeg(_ source: any ExifByteSource, name: String) throws(EnrichError) -> Scan {
        var position = 2
        var found: Location?
        // The EXIF block so far, in place in the bytes read (copied only to join continuations).
        var exif = ExifBytes.empty
        var problem: EnrichError?
        for _ in 0..<maxSegments {
            // Marker, length and a possible "Exif\0\0" identifier in one read, in place.
            let header = try source.view(at: position, count: 10)
            guard header.count >= 2 else {
                problem = EnrichError(
                    .truncated, input: name, detail: "the JPEG ends at byte \(position), before its image data")
                break
            }
            guard header[0] == 0xFF else {
                problem = EnrichError(.malformed, input: name, detail: "no JPEG marker at byte \(position)")
                break
            }
            let code = header[1]
            if code == 0xFF {
                position += 1  // fill byte
                continue
            }
            if code == 0xD9 || code == 0xDA { break }  // end of image / start of scan: no metadata after
            if code == 0x01 || (0xD0...0xD7).contains(code) {
                position += 2
                continue
            }
            guard header.count >= 4 else {
                problem = EnrichError(
                    .truncated, input: name, detail: "the JPEG ends inside a segment header at byte \(position)")
                break
            }
            let length = Int(header[2]) << 8 | Int(header[3])
            guard length >= 2 else {
                problem = EnrichError(
                    .malformed, input: name, detail: "JPEG segment at byte \(position) has length \(length)")
                break
            }
            let payload = position + 4
            let payloadLength = length - 2
            let available = max(0, min(payloadLength, source.size - payload))
            // "Exif\0\0" (or "Exif\0\xFF", as some writers put it).
            if code == 0xE1, payloadLength >= 6, header.count == 10, header[4] == 0x45, header[5] == 0x78,
                header[6] == 0x69, header[7] == 0x66, header[8] == 0, header[9] == 0 || header[9] == 0xFF
            {
                // The APP1 payload (at most 64 KiB) in memory, usually in place in the block
                // already read: every offset is inside it. Continuations stop at maxPayload in
                // total, before anything more is read.
                let bytes =
                    exif.count + available <= maxPayload
                    ? try source.view(at: payload + 6, count: max(0, available - 6)) : .empty
                if found == nil {
                    exif = bytes
                    found = Location(
                        source: MemoryByteSource(bytes.buffer), base: bytes.start, length: bytes.count, kind: .app1,
                        fileBase: payload + 6)
                } else if bytes.count > 0, !(bytes.matches("II") || bytes.matches("MM")) {
                    // An EXIF block too big for one segment continues in the next APP1 (as exiftool reads it).
                    let joined = exif.array + bytes.array
                    exif = ExifBytes(buffer: joined, start: 0, count: joined.count)
                    found?.source = MemoryByteSource(joined)
                    found?.base = 0
                    found?.length = joined.count
                }
            }
            if available < payloadLength {
                problem = EnrichError(
                    .truncated, input: name,
                    detail:
                        "the JPEG ends inside a segment at byte \(position) (\(payloadLength) bytes announced, \(available) present)"
                )
                break
            }
            position = payload + payloadLength
        }
        return Scan(location: found, error: problem, format: "JPEG")
    }

    // MARK: PNG

    private static func png(_ source: any ExifByteSource, name: String) throws(EnrichError) -> Scan {
        var position = 8
        for _ in 0..<maxSegments {
            guard let header = try source.readExactly(at: position, count: 8) else {
                return Scan(
                    error: EnrichError(
                        .truncated, input: name, detail: "the PNG ends inside a chunk header at byte \(position)"),
                    format: "PNG")
            }
            let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            let type = String(decoding: header[4..<8], as: UTF8.self)
            if type == "IEND" { break }
            if type == "eXIf" {
                guard length <= maxPayload, let bytes = try source.readExactly(at: position + 8, count: length) else {
                    return Scan(
                        error: EnrichError(
                            .truncated, input: name, detail: "the PNG eXIf chunk (\(length) bytes) is cut short"),
                        format: "PNG")
                }
                let skip = bytes.starts(with: Array("Exif".utf8) + [0, 0]) ? 6 : 0
                let tiff = Array(bytes[skip...])
                let location = Location(
                    source: MemoryByteSource(tiff), base: 0, length: tiff.count, kind: .app1,
                    fileBase: position + 8 + skip)
                return Scan(location: location, format: "PNG")
            }
            position += 12 + length
        }
        return Scan(format: "PNG")
    }

    // MARK: WebP

    private static func webp(_ source: any ExifByteSource, name: String) throws(EnrichError) -> Scan {
        var position = 12
        for _ in 0..<maxSegments {
            guard let header = try source.readExactly(at: position, count: 8) else { break }
            let length = Int(header[4]) | Int(header[5]) << 8 | Int(header[6]) << 16 | Int(header[7]) << 24
            if Array(header[0..<4]) == Array("EXIF".utf8) {
                guard length <= maxPayload, let bytes = try source.readExactly(at: position + 8, count: length) else {
                    return Scan(
                        error: EnrichError(
                            .truncated, input: name, detail: "the WebP EXIF chunk (\(length) bytes) is cut short"),
                        format: "WebP")
                }
                let skip = bytes.starts(with: Array("Exif".utf8) + [0, 0]) ? 6 : 0
                let tiff = Array(bytes[skip...])
                let location = Location(
                    source: MemoryByteSource(tiff), base: 0, length: tiff.count, kind: .app1,
                    fileBase: position + 8 + skip)
                return Scan(location: location, format: "WebP")
            }
            position += 8 + length + (length & 1)
        }
        return Scan(format: "WebP")
    }

    // MARK: MRW

    private static func mrw(_ source: any ExifByteSource, name: String) throws(EnrichError) -> Scan {
        guard let header = try source.readExactly(at: 4, count: 4) else {
            return Scan(
                error: EnrichError(.truncated, input: name, detail: "the MRW header is cut short"), format: "MRW")
        }
        let end = min(
            source.size, 8 + (Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])))
        var position = 8
        for _ in 0..<maxSegments where position + 8 <= end {
            guard let block = try source.readExactly(at: position, count: 8) else { break }
            let length = Int(block[4]) << 24 | Int(block[5]) << 16 | Int(block[6]) << 8 | Int(block[7])
            if Array(block[0..<4]) == [0, 0x54, 0x54, 0x57] {  // "\0TTW": the TIFF block
                return Scan(
                    location: Location(
                        source: source, base: position + 8, length: length, kind: .mrw, fileBase: position + 8),
                    format: "MRW")
            }
            position += 8 + length
        }
        return Scan(format: "MRW")
    }

    // MARK: HEIC / AVIF (ISO base media file format)

    private struct Box {
        var type: String
        var start: Int  // first byte after the header
        var end: Int
    }

    private static func boxes(_ source: any ExifByteSource, from: Int, to: Int) throws(EnrichError) -> [Box] {
        var result: [Box] = []
        var position = from
        while position + 8 <= to, result.count < maxSegments {
            // Box headers are read in place (a HEIC file has dozens).
            guard let header = try source.viewExactly(at: position, count: 8) else { break }
            var size = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            let type = String(decoding: header.buffer[(header.start + 4)..<(header.start + 8)], as: UTF8.self)
            var headerSize = 8
            if size == 1 {
                guard let large = try source.viewExactly(at: position + 8, count: 8) else { break }
                size = (0..<8).reduce(0) { ($0 << 8) | Int(large[$1]) }
                headerSize = 16
            } else if size == 0 {
                size = to - position
            }
            guard size >= headerSize, size <= to - position else {
                result.append(Box(type: type, start: position + headerSize, end: to))
                break
            }
            result.append(Box(type: type, start: position + headerSize, end: position + size))
            position += size
        }
        return result
    }

    private static func isoBMFF(_ source: any ExifByteSource, name: String) throws(EnrichError) -> Scan {
        func fail(_ code: EnrichError.Code, _ detail: String) -> Scan {
            Scan(error: EnrichError(code, input: name, detail: detail), format: "HEIF")
        }
        guard let meta = try boxes(source, from: 0, to: source.size).first(where: { $0.type == "meta" }) else {
            return fail(.truncated, "the HEIF file has no meta box")
        }
        let children = try boxes(source, from: meta.start + 4, to: meta.end)
        guard let iinf = children.first(where: { $0.type == "iinf" }),
            let iloc = children.first(where: { $0.type == "iloc" })
        else { return Scan(format: "HEIF") }
        // iinf: find the item whose type is "Exif".
        guard let iinfHead = try source.readExactly(at: iinf.start, count: 6) else {
            return fail(.truncated, "the HEIF iinf box is cut short")
        }
        let entriesStart = iinf.start + (iinfHead[0] == 0 ? 6 : 8)
        var exifID: Int?
        for infe in try boxes(source, from: entriesStart, to: iinf.end) where infe.type == "infe" {
            guard let body = try source.viewExactly(at: infe.start, count: min(16, infe.end - infe.start)),
                body.count >= 12
            else { continue }
            let version = body[0]
            guard version >= 2 else { continue }
            let idWidth = version == 2 ? 2 : 4
            guard body.count >= 4 + idWidth + 2 + 4 else { continue }
            let itemID = (4..<(4 + idWidth)).reduce(0) { ($0 << 8) | Int(body[$1]) }
            let typeAt = 4 + idWidth + 2
            if body.matches("Exif", at: typeAt) {
                exifID = itemID
                break
            }
        }
        guard let exifID else { return Scan(format: "HEIF") }
        guard let extent = try ilocExtent(source, box: iloc, itemID: exifID) else {
            return fail(.malformed, "the HEIF Exif item has no usable location")
        }
        guard extent.length >= 4, extent.length <= maxPayload,
            let bytes = try source.readExactly(at: extent.offset, count: extent.length)
        else { return fail(.truncated, "the HEIF Exif item (\(extent.length) bytes at \(extent.offset)) is cut short") }
        let skip = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard skip <= bytes.count - 4 else {
            return fail(.malformed, "the HEIF Exif item header offset is past its end")
        }
        let tiff = Array(bytes[(4 + skip)...])
        let location = Location(
            source: MemoryByteSource(tiff), base: 0, length: tiff.count, kind: .app1, fileBase: extent.offset + 4 + skip
        )
        return Scan(location: location, format: "HEIF")
    }

    /// The file offset and length of `itemID` from an iloc box (first extent, file-based only).
    private static func ilocExtent(_ source: any ExifByteSource, box: Box, itemID: Int) throws(EnrichError)
        -> (offset: Int, length: Int)?
    {
        let size = box.end - box.start
        guard size > 8, size <= maxPayload, let data = try source.readExactly(at: box.start, count: size) else {
            return nil
        }
        var at = 0
        func take(_ width: Int) -> Int? {
            guard width >= 0, at + width <= data.count else { return nil }
            defer { at += width }
            return data[at..<(at + width)].reduce(0) { ($0 << 8) | Int($1) }
        }
        guard let version = take(1), take(3) != nil, let sizes = take(1), let sizes2 = take(1) else { return nil }
        let offsetSize = sizes >> 4
        let lengthSize = sizes & 15
        let baseOffsetSize = sizes2 >> 4
        let indexSize = (version == 1 || version == 2) ? sizes2 & 15 : 0
        // An extent must take some bytes, or a forged count of 65535 would loop for nothing.
        guard offsetSize + lengthSize + indexSize > 0 else { return nil }
        guard let count = take(version < 2 ? 2 : 4) else { return nil }
        for _ in 0..<min(count, 65536) {
            guard let id = take(version < 2 ? 2 : 4) else { return nil }
            var method = 0
            if version == 1 || version == 2 {
                guard let value = take(2) else { return nil }
                method = value & 15
            }
            guard take(2) != nil, let baseOffset = take(baseOffsetSize), let extents = take(2) else { return nil }
            var first: (Int, Int)?
            for _ in 0..<extents {
                guard take(indexSize) != nil, let offset = take(offsetSize), let length = take(lengthSize) else {
                    return nil
                }
                // Sizes up to 8 bytes wide: add without trapping, the read below bounds-checks.
                if first == nil { first = (baseOffset &+ offset, length) }
            }
            if id == itemID {
                guard method == 0, let first else { return nil }
                return first
            }
        }
        return nil
    }
}
