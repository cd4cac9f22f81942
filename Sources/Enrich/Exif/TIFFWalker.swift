/// The TIFF flavour of the data being walked; exiftool names a few tags by it.
enum TIFFKind: Sendable {
    /// EXIF inside another container (JPEG APP1, PNG eXIf, WebP EXIF, HEIC Exif item).
    case app1
    /// A plain TIFF file.
    case tiff
    case cr2, nef, dng, rw2, iiq, mrw, other
}

/// Per-file work limits: a malformed file stops at these instead of running away.
struct ExifBudget: Sendable {
    /// Largest entry count accepted for one IFD (real IFDs hold well under 300).
    var maxEntriesPerIFD = 1000
    /// Entries processed over the whole file.
    var entries = 8192
    /// IFDs visited over the whole file.
    var ifds = 64
    /// Deepest nesting of sub-IFDs (IFD0 → ExifIFD → InteropIFD is depth 2).
    var maxDepth = 6
    /// Bytes of tag values read and decoded over the whole file.
    var valueBytes = 8 << 20
    /// Largest single value decoded; bigger values are reported by size.
    var maxValueBytes = 1 << 20
}

/// Walks the IFDs of one TIFF structure and collects exiftool-named tags.
///
/// Offsets are relative to the TIFF header at `base` in `source`; `limit` bytes from there are
/// available (the APP1 payload, or the rest of the file). Every read is bounds-checked and
/// counted against the budget; the first fault becomes `error`, and walking continues with
/// the next IFD where that is safe.
final class TIFFWalker {
    private let source: any ExifByteSource
    private let base: Int
    private let limit: Int
    private let name: String
    private let kind: TIFFKind
    private let fileBase: Int
    private let memory: [UInt8]?
    private var little = true
    private var budget = ExifBudget()
    /// IFD offsets already walked (at most 64: a list is cheaper than hashing).
    private var visited: [Int] = []

    private(set) var tags: [ExifEntry] = []
    /// The GPS tags and ExifIFD time tags, kept aside for the derived position and capture time.
    private(set) var derivedInputs: [ExifEntry] = []
    /// Groups whose IFD was walked; a group met again (a second ExifIFD pointer) needs checks.
    private var groupsWalked: [String] = []
    private var ifdGroupRepeated = false
    /// The highest tag id added in the current IFD: IFDs are sorted, so a higher one is new.
    private var lastAddedID = -1
    private(set) var error: EnrichError?
    /// `II` (little-endian) or `MM` (big-endian), once the header is read.
    private(set) var byteOrder: String?
    private(set) var makerNote: (offset: Int, length: Int)?
    /// The JPEG preview a Panasonic RW2 embeds in IFD0 (absolute offset, length): it carries
    /// the camera's EXIF, which exiftool reads as the file's IFD0/ExifIFD.
    private(set) var embeddedJPEG: (offset: Int, length: Int)?

    init(source: any ExifByteSource, base: Int, limit: Int, name: String, kind: TIFFKind, fileBase: Int) {
        self.fileBase = fileBase
        // Most EXIF blocks are in memory (JPEG APP1, PNG, WebP, HEIC): slice them directly.
        memory = (source as? MemoryByteSource)?.bytes
        tags.reserveCapacity(64)
        self.source = source
        self.base = base
        self.limit = max(0, min(limit, source.size - base))
        self.name = name
        self.kind = kind
    }

    /// Records the first fault; later ones add nothing (the first explains the rest).
    func fail(_ code: EnrichError.Code, _ detail: String) {
        if error == nil { error = EnrichError(code, input: name, detail: detail) }
    }

    /// Adds a tag unless its group already has it; `id` is the tag id, or a number above
    /// 0xFFFF for the data tags photoseal derives (ThumbnailImage, ...).
    private func add(_ group: String, _ id: Int, _ name: String, _ value: ExifValue) {
        // Only an out-of-order tag or a repeated group can duplicate a key (first value wins).
        if ifdGroupRepeated || id <= lastAddedID,
            tags.contains(where: { $0.name == name && $0.group == group })
        {
            return
        }
        lastAddedID = max(lastAddedID, id)
        tags.append(ExifEntry(group: group, name: name, value: value))
    }

    func value(_ group: String, _ name: String) -> ExifValue? {
        tags.first(where: { $0.name == name && $0.group == group })?.value
    }

    /// Adds the tags of another walk that this one lacks (first reading wins, as in exiftool's JSON).
    func merge(_ other: TIFFWalker) {
        var keys = Set(tags.map(\.key))
        for entry in other.tags where keys.insert(entry.key).inserted {
            tags.append(entry)
        }
        derivedInputs += other.derivedInputs
        if error == nil { error = other.error }
    }

    // MARK: Reading

    /// `count` bytes at `offset` (from the TIFF header), in place: no copy per read.
    private func bytes(at offset: Int, count: Int) throws(EnrichError) -> ExifBytes? {
        guard offset >= 0, count >= 0, offset <= limit, count <= limit - offset else { return nil }
        if let memory {
            // limit <= source.size - base, so this range is inside the buffer.
            return ExifBytes(buffer: memory, start: base + offset, count: count)
        }
        return try source.viewExactly(at: base + offset, count: count)
    }

    private func u16(_ b: ExifBytes, _ at: Int) -> Int {
        let i = b.start + at
        let buffer = b.buffer
        return little ? Int(buffer[i]) | Int(buffer[i + 1]) << 8 : Int(buffer[i]) << 8 | Int(buffer[i + 1])
    }

    private func u32(_ b: ExifBytes, _ at: Int) -> Int {
        let i = b.start + at
        let buffer = b.buffer
        return little
            ? Int(buffer[i]) | Int(buffer[i + 1]) << 8 | Int(buffer[i + 2]) << 16 | Int(buffer[i + 3]) << 24
            : Int(buffer[i]) << 24 | Int(buffer[i + 1]) << 16 | Int(buffer[i + 2]) << 8 | Int(buffer[i + 3])
    }

    // MARK: Walking

    /// Reads the header and every IFD reachable from it.
    func walk() throws(EnrichError) {
        guard let header = try bytes(at: 0, count: 8) else {
            fail(.truncated, "the TIFF header is cut short (\(limit) bytes)")
            return
        }
        switch (header[0], header[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default:
            fail(.malformed, "the EXIF block has no TIFF byte-order mark (II or MM)")
            return
        }
        byteOrder = little ? "II" : "MM"
        let magic = u16(header, 2)
        // 42 is TIFF; 0x55 (RW2), 0x4F52/0x5352 (ORF) are TIFF-like raw variants.
        guard magic == 42 || magic == 0x55 || magic == 0x4F52 || magic == 0x5352 else {
            fail(.malformed, "the TIFF header has magic number \(magic), not 42")
            return
        }
        var next = u32(header, 4)
        var chain = 0
        while next != 0 {
            let group = chain == 0 ? "IFD0" : chain == 1 ? "IFD1" : "IFD" + String(chain)
            guard next >= 8, next < limit else {
                // A next-IFD pointer past the data is common in cut APP1 blocks; report, don't follow.
                fail(.truncated, "IFD\(chain - 1) points to a next IFD at \(next), past the end of the EXIF data")
                break
            }
            guard let following = try walkIFD(at: next, group: group, gps: false, depth: 0) else { break }
            next = following
            chain += 1
        }
    }

    /// Walks one IFD; returns the next-IFD offset (0 for none) or nil when this IFD was bad.
    @discardableResult
    private func walkIFD(at offset: Int, group: String, gps: Bool, depth: Int) throws(EnrichError) -> Int? {
        guard depth <= budget.maxDepth else {
            fail(.limitExceeded, "\(group) is nested deeper than \(budget.maxDepth) levels")
            return nil
        }
        guard !visited.contains(offset) else {
            fail(.malformed, "\(group) at offset \(offset) was already read (IFD loop)")
            return nil
        }
        visited.append(offset)
        guard budget.ifds > 0 else {
            fail(.limitExceeded, "more than 64 IFDs")
            return nil
        }
        budget.ifds -= 1
        guard let countBytes = try bytes(at: offset, count: 2) else {
            fail(.truncated, "\(group) offset \(offset) is past the end of the EXIF data (\(limit) bytes)")
            return nil
        }
        let count = u16(countBytes, 0)
        guard count <= budget.maxEntriesPerIFD else {
            fail(.malformed, "\(group) claims \(count) entries, more than the \(budget.maxEntriesPerIFD) accepted")
            return nil
        }
        guard count <= budget.entries else {
            fail(.limitExceeded, "more than 8192 IFD entries in the file")
            return nil
        }
        budget.entries -= count
        var entries = try bytes(at: offset + 2, count: count * 12)
        var readable = count
        if entries == nil {
            // Keep the entries that are present; the cut is reported.
            readable = max(0, (limit - offset - 2) / 12)
            entries = try bytes(at: offset + 2, count: readable * 12)
            fail(.truncated, "\(group) announces \(count) entries but the data ends after \(readable)")
        }
        guard let entries else { return nil }
        var context = IFDContext(group: group, gps: gps, kind: kind)
        context.exifIFD = group == "ExifIFD"
        ifdGroupRepeated = groupsWalked.contains(group)
        if !ifdGroupRepeated { groupsWalked.append(group) }
        lastAddedID = -1
        var pending: [(offset: Int, group: String, gps: Bool)] = []
        for number in 0..<readable {
            let at = number * 12
            let tag = u16(entries, at)
            let format = u16(entries, at + 2)
            let itemCount = u32(entries, at + 4)
            guard let width = Self.formatWidth(format) else {
                fail(
                    .malformed, "\(group) entry \(number) (tag 0x\(String(tag, radix: 16))) has invalid type \(format)")
                // exiftool treats a bad first entry as a corrupt IFD.
                if number == 0 { return nil }
                continue
            }
            let (size, overflow) = itemCount.multipliedReportingOverflow(by: width)
            let inline = !overflow && size <= 4
            let valueOffset = inline ? offset + 2 + at + 8 : u32(entries, at + 8)
            let entry = IFDEntry(
                tag: tag, format: format, count: itemCount, size: overflow ? Int.max : size, valueOffset: valueOffset)
            try handle(entry, context: &context, pending: &pending)
        }
        addDataTags(context)
        for (subOffset, subGroup, subGPS) in pending {
            try walkIFD(at: subOffset, group: subGroup, gps: subGPS, depth: depth + 1)
        }
        let nextAt = offset + 2 + count * 12
        guard readable == count, let nextBytes = try bytes(at: nextAt, count: 4) else { return 0 }
        return u32(nextBytes, 0)
    }

    /// Tags whose names depend on context and whose values are offsets or lengths of data.
    static func isOffsetTagID(_ tag: Int) -> Bool {
        switch tag {
        case 0x111, 0x117, 0x120, 0x144, 0x201, 0x202: true
        default: false
        }
    }

    /// DateTimeOriginal, OffsetTimeOriginal, SubSecTimeOriginal: the capture time's inputs.
    static func isTimeTagID(_ tag: Int) -> Bool { tag == 0x9003 || tag == 0x9011 || tag == 0x9291 }

    static func formatWidth(_ format: Int) -> Int? {
        switch format {
        case 1, 2, 6, 7: 1
        case 3, 8: 2
        case 4, 9, 11, 13: 4
        case 5, 10, 12: 8
        default: nil
        }
    }

    struct IFDEntry {
        var tag: Int
        var format: Int
        var count: Int
        var size: Int
        var valueOffset: Int
    }

    struct IFDContext {
        var group: String
        var gps: Bool
        var kind: TIFFKind
        var exifIFD = false
        var compression: Int64?
        var subfileType: Int64?
        var offsets = DataTagNumbers()
        var lengths = DataTagNumbers()
    }

    /// Start offsets or lengths of the three data tags photoseal reports by size, by name
    /// (fixed slots: a String-keyed dictionary hashed the names for every offset tag).
    struct DataTagNumbers {
        /// The data tags in name order, as they are added.
        static let names = ["JpgFromRaw", "PreviewImage", "ThumbnailImage"]
        private var values: (Int?, Int?, Int?) = (nil, nil, nil)

        subscript(name: String) -> Int? {
            get {
                switch name {
                case "JpgFromRaw": values.0
                case "PreviewImage": values.1
                case "ThumbnailImage": values.2
                default: nil
                }
            }
            set {
                switch name {
                case "JpgFromRaw": values.0 = newValue
                case "PreviewImage": values.1 = newValue
                case "ThumbnailImage": values.2 = newValue
                default: break
                }
            }
        }
    }

    /// Decodes one entry into a tag, or into sub-IFDs to walk, which it adds to `pending`.
    private func handle(
        _ entry: IFDEntry, context: inout IFDContext, pending: inout [(offset: Int, group: String, gps: Bool)]
    ) throws(EnrichError) {
        let group = context.group
        if !context.gps {
            switch entry.tag {
            case 0x8769, 0x8825, 0xA005, 0x14A:
                // An empty pointer (count 0, as exiftool's "Empty GPSInfo data") points nowhere.
                if entry.count == 0 { return }
                guard let (raw, width) = try integers(entry) else {
                    fail(.malformed, "\(group) sub-IFD pointer 0x\(String(entry.tag, radix: 16)) is not a valid offset")
                    return
                }
                func at(_ index: Int) -> Int { width == 2 ? u16(raw, index * 2) : u32(raw, index * 4) }
                switch entry.tag {
                case 0x8769: pending.append((at(0), "ExifIFD", false))
                case 0x8825: pending.append((at(0), "GPS", true))
                case 0xA005: pending.append((at(0), "InteropIFD", false))
                default:
                    for index in 0..<min(8, raw.count / width) {
                        pending.append((at(index), index == 0 ? "SubIFD" : "SubIFD\(index)", false))
                    }
                }
                return
            case 0x927C:
                makerNote = (entry.valueOffset, entry.size)
                add(group, entry.tag, "MakerNote", .binary(entry.size))
                return
            default: break
            }
        }
        let panasonic = kind == .rw2 && group == "IFD0"
        let table: ExifTags.Table = context.gps ? .gps : panasonic ? .panasonicRaw : .main
        // 0xC634 has several exiftool names by maker; in DNG it is the private data block.
        let info =
            entry.tag == 0xC634 && !context.gps
            ? ExifTagInfo("DNGPrivateData", binary: true) : ExifTags.info(entry.tag, in: table)
        let tagName: String
        if context.gps {
            tagName = info?.name ?? ExifTags.unknownName(entry.tag, prefix: "GPS")
        } else if panasonic {
            tagName = info?.name ?? ExifTags.unknownName(entry.tag, prefix: "PanasonicRaw")
        } else {
            tagName = ExifTags.resolveName(entry.tag, info: info, context: context)
        }
        if info?.binary == true {
            guard entry.size <= limit, entry.valueOffset <= limit - entry.size else {
                fail(.truncated, "\(group):\(tagName) data (\(entry.size) bytes) runs past the end of the EXIF data")
                return
            }
            if panasonic, entry.tag == 0x2E { embeddedJPEG = (base + entry.valueOffset, entry.size) }
            add(group, entry.tag, tagName, .binary(entry.size))
            return
        }
        guard entry.size <= limit, entry.valueOffset >= 0, entry.valueOffset <= limit - entry.size else {
            let what =
                entry.size > limit ? "count \(entry.count) is larger than the data" : "value offset is past the end"
            fail(.truncated, "\(group):\(tagName) \(what)")
            return
        }
        let numeric = entry.format != 2 && entry.format != 7
        let unknownLarge = info == nil && entry.count > 500 && numeric
        // Known numeric arrays longer than this are reported by size: bounded memory per tag.
        if numeric, entry.count > 4096, !unknownLarge {
            add(group, entry.tag, tagName, .binary(entry.size))
            return
        }
        if unknownLarge || entry.size > budget.maxValueBytes || entry.size > budget.valueBytes {
            if entry.format == 2 || entry.format == 7 || unknownLarge == false {
                add(group, entry.tag, tagName, .binary(entry.size))
            } else {
                let formatName = ExifTags.formatNames[entry.format]
                add(
                    group, entry.tag, tagName,
                    .text("(large array of \(entry.count) \(formatName) values)"))
            }
            if entry.size > budget.valueBytes { fail(.limitExceeded, "tag values larger than 8 MiB in total") }
            return
        }
        budget.valueBytes -= entry.size
        let buffer: [UInt8]
        let start: Int
        if let memory {
            // Checked above: valueOffset + size <= limit <= memory.count - base.
            buffer = memory
            start = base + entry.valueOffset
        } else {
            guard let raw = try bytes(at: entry.valueOffset, count: entry.size) else {
                fail(.truncated, "\(group):\(tagName) value is past the end of the data")
                return
            }
            buffer = raw.buffer
            start = raw.start
        }
        var value = ExifTags.convert(
            tag: entry.tag, name: tagName, table: table,
            format: entry.format, overrideFormat: info?.format, buffer: buffer, start: start, size: entry.size,
            little: little)
        if !context.gps, Self.isOffsetTagID(entry.tag) {
            if let data = ExifTags.dataTag(forStart: tagName) {
                context.offsets[data] = firstInteger(value).map(Int.init)
            } else if let data = ExifTags.dataTag(forLength: tagName) {
                context.lengths[data] = firstInteger(value).map(Int.init)
            }
            if fileBase != 0, ExifTags.isOffset(tagName) { value = value.shifted(by: fileBase) }
        }
        switch (entry.tag, context.gps) {
        case (0x103, false): context.compression = firstInteger(value)
        case (0xFE, false): context.subfileType = firstInteger(value)
        default: break
        }
        add(group, entry.tag, tagName, value)
        if context.gps ? (entry.tag <= 0x07 || entry.tag == 0x1D) : context.exifIFD && Self.isTimeTagID(entry.tag) {
            derivedInputs.append(ExifEntry(group: group, name: tagName, value: value))
        }
    }

    /// exiftool adds ThumbnailImage, PreviewImage and JpgFromRaw when start and length point
    /// at data that is really there; photoseal reports their size the same way.
    private func addDataTags(_ context: IFDContext) {
        if context.subfileType == 1, context.compression == 1 { addThumbnailTIFF(context.group) }
        for data in DataTagNumbers.names {
            guard let start = context.offsets[data], let length = context.lengths[data], length > 0 else { continue }
            // Offsets of these tags are relative to the TIFF header, like every other offset.
            guard start >= 0, length <= limit, start <= limit - length else {
                fail(.truncated, "\(context.group):\(data) (\(length) bytes at \(start)) runs past the end of the data")
                continue
            }
            add(context.group, 0x10000 + data.utf8.count, data, .binary(length))
        }
    }

    private var thumbnailTIFFDone = false

    /// exiftool rebuilds an uncompressed reduced-resolution IFD (SubfileType 1, Compression 1)
    /// into a stand-alone TIFF and reports it as ThumbnailTIFF; photoseal reports the size
    /// that TIFF would have, computed the same way (header, 15 entries, values, strips).
    private func addThumbnailTIFF(_ group: String) {
        func integers(_ tag: String) -> [Int]? {
            switch value(group, tag) {
            case .integer(let number): [Int(number)]
            case .list(let values):
                values.compactMap { if case .integer(let number) = $0 { Int(number) } else { nil } }
            default: nil
            }
        }
        guard !thumbnailTIFFDone, integers("SubfileType") == [1], integers("Compression") == [1],
            let width = integers("ImageWidth")?.first, width <= 256, integers("ImageHeight")?.first != nil,
            let bits = integers("BitsPerSample"), !bits.isEmpty, integers("PhotometricInterpretation") != nil,
            let offsets = integers("StripOffsets"), integers("SamplesPerPixel") != nil,
            let rowsPerStrip = integers("RowsPerStrip")?.first, let counts = integers("StripByteCounts"),
            offsets.count == counts.count
        else { return }
        // Values come from the file: every product is checked for overflow.
        var rowBytes = 0
        for sample in bits {
            let (bytes, overflow) = width.multipliedReportingOverflow(by: (sample + 7) / 8)
            guard !overflow, bytes <= limit, rowBytes <= limit else { return }
            rowBytes += bytes
        }
        let (strip, overflow) = rowBytes.multipliedReportingOverflow(by: rowsPerStrip)
        guard !overflow else { return }
        var data = 0
        for (start, length) in zip(offsets, counts) {
            let relative = start - fileBase
            guard length == strip, relative >= 0, length <= limit, relative <= limit - length, data <= limit else {
                return
            }
            data += length
        }
        thumbnailTIFFDone = true
        // Header 8, entry count 2, 15 entries, next-IFD 4; X/YResolution rationals and a
        // BitsPerSample of 3+ values live outside the entries.
        let values = 16 + (bits.count * 2 > 4 ? bits.count * 2 : 0)
        add(group, 0x20000, "ThumbnailTIFF", .binary(8 + 2 + 15 * 12 + 4 + values + data))
    }

    private func firstInteger(_ value: ExifValue) -> Int64? {
        switch value {
        case .integer(let number): number
        case .list(let values): values.first.flatMap { firstInteger($0) }
        default: nil
        }
    }

    /// The raw values of a SHORT/LONG/IFD entry (for pointers; at most 64) and their width,
    /// or nil when unusable.
    private func integers(_ entry: IFDEntry) throws(EnrichError) -> (ExifBytes, Int)? {
        let width: Int
        switch entry.format {
        case 3: width = 2
        case 4, 9, 13: width = 4
        default: return nil
        }
        guard entry.count > 0 else { return nil }
        let wanted = min(entry.count, 64) * width
        guard let raw = try bytes(at: entry.valueOffset, count: wanted) else { return nil }
        return (raw, width)
    }
}
