public import Crypto
public import Foundation

extension License {
    /// Whether the licence asks users to credit the author (the Creative Commons "Attribution"
    /// licences, Flickr ids 1–6 and 11–16).
    public var requiresAttribution: Bool { name.hasPrefix("Attribution") || name.hasPrefix("CC BY") }
}

/// A dataset archive of the ledger's photos: the images (stripped of EXIF, XMP, IPTC and the
/// rest; sealed images opened with the keys and stripped on the way out), `metadata.jsonl` and
/// `metadata.csv` (the public fields, place, scores, licence, and the author's name where an
/// attribution licence asks for it and `attribution` is on), `LICENSES.md` and
/// `MANIFEST.sha256` (`sha256sum -c` format), as a stored zip (Zip64 when large).
///
/// Planned once so that memory stays flat and any byte range can be produced on its own: `init`
/// fetches (a local file or an S3 object, ``ImageStore/read(_:keyring:)``), opens and strips
/// each selected image once, appending the stripped bytes to a spool file in a private scratch
/// folder (under `TMPDIR`) in id order and keeping only their offset, size, CRC-32 and
/// SHA-256, and writes the metadata files there too; `read(at:count:)` then produces the
/// archive's bytes from the layout and the scratch files, 4 MiB at a time. The scratch folder
/// needs about the pack's size on disk and is removed with the pack. Memory holds one image
/// (while planning) and one part whatever the pack's size; the same ledger and images give the
/// same bytes, so a resumed upload's parts fit.
///
/// Licences (`License.flickr`): a photo without a licence Flickr lists, or "All Rights
/// Reserved", is left out unless `includeAllRightsReserved`; a photo whose licence requires
/// attribution is packed only with `attribution`, with its author's name opened from its
/// sealed `owner_name` (for those photos alone), else left out; both are counted.
public final class DatasetPack {
    /// What to pack.
    public struct Options: Sendable {
        /// `--min-score` filters, as export takes them.
        public var minScores: [(label: String, min: Double)]
        /// At most this many photos (in id order); `nil` for all.
        public var limit: Int?
        /// Pack photos without a known open licence too.
        public var includeAllRightsReserved: Bool
        /// Pack photos whose licence requires attribution, with the author's name.
        public var attribution: Bool

        /// Makes options; the defaults pack every openly licensed photo that needs no attribution.
        public init(
            minScores: [(label: String, min: Double)] = [], limit: Int? = nil, includeAllRightsReserved: Bool = false,
            attribution: Bool = false
        ) {
            self.minScores = minScores
            self.limit = limit
            self.includeAllRightsReserved = includeAllRightsReserved
            self.attribution = attribution
        }
    }

    /// What a pack holds and what it left out.
    public struct Summary: Sendable, Equatable {
        /// Photos packed.
        public var photos = 0
        /// Of those, photos packed with their author's name (`attribution`).
        public var attributed = 0
        /// Photos left out: all rights reserved or no known licence.
        public var allRightsReserved = 0
        /// Photos left out: their licence requires attribution and `attribution` was off.
        public var needAttribution = 0
        /// Photos left out: no stored image.
        public var withoutImage = 0
        /// Photos left out: an image format that cannot be stripped, or a malformed file.
        public var notStrippable = 0
        /// Photos left out by the score filters or the limit.
        public var filtered = 0
        /// Packed photos per licence name.
        public var licenses: [String: Int] = [:]
        /// The archive's size in bytes.
        public var bytes: Int64 = 0
    }

    /// The columns of `metadata.csv` (and keys of each `metadata.jsonl` object) before the
    /// `score.<label>` columns: the export columns that are public, then `attribution` (the
    /// author's name when packed with `attribution`, else empty) and `file` (the image's path
    /// in the archive), `file.sha256` and `file.bytes` (of the stripped image packed).
    public static let publicColumns =
        DocumentExporter.fixedColumns.filter {
            !["status", "image.path", "seal.kid", "seal.at", "blind.owner"].contains($0)
                && !$0.hasPrefix("failure.") && !$0.hasPrefix("sealed.")
        } + ["attribution", "file", "file.sha256", "file.bytes"]

    /// `publicColumns`, or in a pseudonymous pack those without `source_id`, `page_url` and
    /// `image_url` (a pack carries no tokens, so the URLs are not sealed into it but left out;
    /// a key holder finds a photo by recomputing pseudonyms from the store's ids).
    public static func publicColumns(pseudonymous: Bool) -> [String] {
        pseudonymous ? publicColumns.filter { !DocumentExporter.droppedWhenPseudonymous.contains($0) } : publicColumns
    }

    /// What the pack holds and left out.
    public let summary: Summary
    /// The archive's size in bytes.
    public var size: Int64 { layout.totalSize }

    private enum Source {
        /// A stripped image in the images spool, from this offset.
        case spool(offset: Int64)
        case file(String)
        case bytes([UInt8])
    }

    /// A stripped image written to the images spool.
    private struct Spooled {
        /// The stored image's `sha256` (of the original), to notice a photo changed between passes.
        var sha256: String
        var offset: Int64
        var size: Int64
        var crc: UInt32
        var strippedSHA256: String
        var fileExtension: String
    }

    /// What the filters and licence rules make of a photo.
    private enum Verdict {
        /// Left out (and counted in the summary).
        case leftOut
        /// Packed if its image strips.
        case image(PhotoDocument.Image)
    }

    /// The filters, the limit and the licence rules for `document`, counting a photo left out
    /// in `summary`. One function for the planning pass and the writing pass, so they agree.
    private static func verdict(
        for document: PhotoDocument, options: Options, attributing: Bool, summary: inout Summary
    ) -> Verdict {
        guard DocumentExporter.passes(document.scores, minScores: options.minScores),
            options.limit.map({ summary.photos < $0 }) ?? true
        else {
            summary.filtered += 1
            return .leftOut
        }
        let license = License.flickr(id: document.license)
        // "All Rights Reserved" is the one listed licence with no terms page.
        guard license?.url != nil || options.includeAllRightsReserved else {
            summary.allRightsReserved += 1
            return .leftOut
        }
        if license?.requiresAttribution ?? false, !attributing {
            summary.needAttribution += 1
            return .leftOut
        }
        guard let image = document.image, image.path != nil else {
            summary.withoutImage += 1
            return .leftOut
        }
        return .image(image)
    }

    private let layout: ZipLayout
    private let sources: [Source]
    private let scratch: String
    /// Encrypts the images spool.
    private let cipher: ScratchCipher
    /// The last segment produced: its start in the archive and its bytes.
    private var cached: (start: Int64, bytes: [UInt8])?

    /// Plans a pack of the ledger's photos.
    /// - Parameters:
    ///   - keyring: opens sealed images; `nil` when the store has none.
    ///   - sealer: opens the owner names (`attribution` only).
    ///   - pseudonymizer: packs the photos pseudonymously (`--pseudonymous`): the `id` column
    ///     and the image names (`images/ps_<hex>.<ext>`) are the pseudonyms, no column leads
    ///     back to the source (`publicColumns(pseudonymous:)`). Refused with `attribution`.
    ///   - date: the entries' modification time; default the newest `ingested_at` of the photos
    ///     packed, so the same selection gives the same bytes (a resumed upload's parts fit).
    ///   - forceZip64: Zip64 records whatever the size (tests).
    /// - Throws: `IngestError.ledger`, `.imageStore` or `.sealing` naming the photo, S3 errors
    ///   for a store in a bucket, or `.configuration` when the scratch folder cannot be written.
    public init(
        ledger: Ledger, images: ImageStore, keyring: Keyring?, sealer: FieldSealer?, options: Options,
        pseudonymizer: Pseudonymizer? = nil, date: Date? = nil, forceZip64: Bool = false
    ) async throws {
        guard pseudonymizer == nil || !options.attribution else {
            throw IngestError(
                .configuration,
                "a pseudonymous pack cannot name authors (attribution names people and links their pages); "
                    + "leave out --attribution, or --pseudonymous")
        }
        // Opened images go to disk only under a key that dies with the pack (sealed images are
        // never written in the clear).
        do {
            cipher = try ScratchCipher()
        } catch {
            throw IngestError.wrapping(error, context: "making the pack's scratch key")
        }
        scratch = (NSTemporaryDirectory() as NSString).appendingPathComponent("photoseal-pack-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(
                atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw IngestError(.configuration, "cannot make a scratch folder for the pack in \(NSTemporaryDirectory())")
        }
        var labels = Set<String>()
        try ledger.forEachScores { scores in
            guard let scores, DocumentExporter.passes(scores, minScores: options.minScores) else { return }
            labels.formUnion(scores.keys)
        }
        let exporter = DocumentExporter(format: .csv, scoreLabels: Array(labels), pseudonymizer: pseudonymizer)
        let publicColumns = Self.publicColumns(pseudonymous: pseudonymizer != nil)
        let picked = publicColumns.compactMap { exporter.columns.firstIndex(of: $0) }
        let scoreStart = exporter.baseColumns.count
        let columns = publicColumns + exporter.scoreLabels.map { "score.\($0)" }
        let jsonl = try SpoolFile(path: scratch + "/metadata.jsonl")
        let csv = try SpoolFile(path: scratch + "/metadata.csv")
        let manifest = try SpoolFile(path: scratch + "/MANIFEST.sha256")
        try csv.write(columns.map(DocumentExporter.csvField).joined(separator: ",") + "\r\n")

        // Pass 1 (the ledger, synchronous): the photos that may be packed, in id order. A
        // photo's fate past this (stripped, or the limit reached) is known only once its image
        // is read, so the images are read in pass 2 and the rows written in pass 3.
        let attributing = options.attribution && sealer != nil
        var candidates: [(id: String, image: PhotoDocument.Image)] = []
        var preview = Summary()
        try ledger.forEachDocument { entry in
            if case .image(let image) = Self.verdict(
                for: entry.document, options: options, attributing: attributing, summary: &preview)
            {
                candidates.append((entry.document.id, image))
            }
        }
        // Pass 2 (the images, async): each fetched (file or S3 object), opened and stripped
        // once, appended to one spool file in id order (a re-run makes the same bytes: a
        // resumed upload's parts fit); only its place, size and checksums are kept.
        let imageSpool = try SpoolFile(path: scratch + "/images.spool", checksums: false, cipher: cipher)
        var spooled: [String: Spooled] = [:]
        var unstrippable = Set<String>()
        for candidate in candidates {
            if let limit = options.limit, spooled.count >= limit { break }
            let original = try await images.read(candidate.image, keyring: keyring)
            guard let format = ImageFormat.sniff(original.prefix(64)), MetadataStripper.strips(format),
                let stripped = MetadataStripper.strip(original, format: format)
            else {
                unstrippable.insert(candidate.id)
                continue
            }
            let sha = try SHA256.hex(of: stripped)
            spooled[candidate.id] = Spooled(
                sha256: candidate.image.sha256, offset: imageSpool.size, size: Int64(stripped.count),
                crc: CRC32.checksum(stripped), strippedSHA256: sha, fileExtension: format.fileExtension)
            try imageSpool.write(stripped)
        }
        try imageSpool.close()
        candidates = []

        // Pass 3 (the ledger again): the same choices, the rows and manifest lines written.
        var summary = Summary()
        var files: [(name: String, size: Int64, crc: UInt32)] = []
        var sources: [Source] = []
        var names = Set<String>()
        var newest = ""
        try ledger.forEachDocument { entry in
            let document = entry.document
            guard
                case .image(let image) = Self.verdict(
                    for: document, options: options, attributing: attributing, summary: &summary)
            else {
                return
            }
            guard let planned = spooled[document.id], planned.sha256 == image.sha256 else {
                // Not read in pass 2: not strippable, or added or changed since pass 1
                // (left for the next pack).
                if unstrippable.contains(document.id) {
                    summary.notStrippable += 1
                } else {
                    summary.filtered += 1
                }
                return
            }
            let license = License.flickr(id: document.license)
            let requiresAttribution = license?.requiresAttribution ?? false
            var author: String?
            if requiresAttribution, let sealer, let token = document.sealed.ownerName {
                do {
                    author = try sealer.open(
                        token, documentID: document.id, field: PhotoDocument.SealedField.ownerName
                    ).string
                } catch {
                    throw IngestError.wrapping(error, context: "opening the owner name of \(document.id)")
                }
            }
            let shownID: String
            do {
                shownID = try pseudonymizer?.key.pseudonym(of: document.id) ?? document.id
            } catch {
                throw IngestError.wrapping(error, context: "making a pseudonym")
            }
            let name = Self.uniqueName(for: shownID, fileExtension: planned.fileExtension, taken: &names)
            files.append((name, planned.size, planned.crc))
            sources.append(.spool(offset: planned.offset))
            try manifest.write("\(planned.strippedSHA256)  \(name)\n")

            var values = try exporter.row(entry)
            values = picked.prefix(while: { $0 < scoreStart }).map { values[$0] } + Array(values[scoreStart...])
            let extra: [DocumentExporter.Value] = [
                author.map(DocumentExporter.Value.string) ?? .null, .string(name), .string(planned.strippedSHA256),
                .int(Int(planned.size)),
            ]
            values.insert(contentsOf: extra, at: publicColumns.count - extra.count)
            var line = ""
            var object = "{"
            for (index, value) in values.enumerated() {
                if index > 0 {
                    line += ","
                    object += ","
                }
                DocumentExporter.appendCSVField(value.csv, to: &line)
                object += DocumentExporter.jsonString(columns[index]) + ":" + value.json
            }
            try csv.write(line + "\r\n")
            try jsonl.write(object + "}\n")
            summary.photos += 1
            newest = max(newest, document.ingestedAt)
            if requiresAttribution { summary.attributed += 1 }
            summary.licenses[license?.name ?? Self.unknownLicence, default: 0] += 1
        }
        for spool in [jsonl, csv] {
            try spool.close()
            files.append(((spool.path as NSString).lastPathComponent, spool.size, spool.crc.value))
            sources.append(.file(spool.path))
            try manifest.write("\(spool.sha256)  \((spool.path as NSString).lastPathComponent)\n")
        }
        let licenses = Array(Self.licensesText(summary: summary, options: options).utf8)
        files.append(("LICENSES.md", Int64(licenses.count), CRC32.checksum(licenses)))
        sources.append(.bytes(licenses))
        try manifest.write("\(try SHA256.hex(of: licenses))  LICENSES.md\n")
        try manifest.close()
        files.append(("MANIFEST.sha256", manifest.size, manifest.crc.value))
        sources.append(.file(manifest.path))

        let packed = date ?? ISO8601DateFormatter().date(from: newest) ?? Date(timeIntervalSince1970: 946_684_800)
        layout = ZipLayout(files: files, date: packed, forceZip64: forceZip64)
        self.sources = sources
        summary.bytes = layout.totalSize
        self.summary = summary
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    /// The name `LICENSES.md` and the summary give photos whose licence id Flickr does not list.
    public static let unknownLicence = "No known licence"

    /// `images/<id>.<ext>` with the id's characters outside `[A-Za-z0-9._-]` as `_`, made
    /// unique with `-2`, `-3`, … when two ids map to one name.
    static func uniqueName(for id: String, fileExtension: String, taken: inout Set<String>) -> String {
        let safe = String(
            id.unicodeScalars.map { scalar -> Character in
                scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar))
                    ? Character(scalar) : "_"
            })
        var name = "images/\(safe).\(fileExtension)"
        var n = 2
        while !taken.insert(name).inserted {
            name = "images/\(safe)-\(n).\(fileExtension)"
            n += 1
        }
        return name
    }

    /// `LICENSES.md`: the licences of the photos packed, with counts and terms, what was left
    /// out and why, and whether authors are named.
    static func licensesText(summary: Summary, options: Options) -> String {
        var text = "# Licences\n\nThis archive holds \(summary.photos) photos. Each photo's licence is in the "
        text += "`license`, `license.name` and `license.url` columns of metadata.csv and metadata.jsonl.\n\n"
        text += "| Licence | Photos | Terms |\n|---|---|---|\n"
        for license in License.flickr + [License(id: "", name: unknownLicence, url: nil)]
        where summary.licenses[license.name] != nil {
            text += "| \(license.name) | \(summary.licenses[license.name] ?? 0) | \(license.url ?? "none") |\n"
        }
        text += "\n"
        if options.attribution {
            text += "Authors are named: the \(summary.attributed) photos whose licence requires attribution carry "
            text += "their author's name in the `attribution` column; credit them as their licence asks.\n"
        } else if summary.needAttribution > 0 {
            text += "\(summary.needAttribution) photos whose licence requires attribution were left out "
            text += "(packed only with --attribution, which names their authors).\n"
        }
        if options.includeAllRightsReserved {
            text += "\nThis archive includes photos that are all rights reserved or have no known licence: "
            text += "they may not be used without their authors' permission.\n"
        } else if summary.allRightsReserved > 0 {
            text += "\(summary.allRightsReserved) photos that are all rights reserved or have no known licence "
            text += "were left out.\n"
        }
        return text
    }

    // MARK: Bytes

    /// `count` bytes of the archive from `offset` (fewer at its end).
    /// - Throws: `IngestError.imageStore` when an image is missing or changed since `init`,
    ///   `.sealing` when a sealed image does not open.
    public func read(at offset: Int64, count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var position = offset
        while out.count < count, position < layout.totalSize {
            let segment = try segment(containing: position)
            let from = Int(position - segment.start)
            let n = min(segment.bytes.count - from, count - out.count)
            out.append(contentsOf: segment.bytes[from..<(from + n)])
            position += Int64(n)
        }
        return out
    }

    /// Writes the archive to `path` (created with mode 0600, replaced if present).
    /// - Throws: `IngestError.configuration` when the file cannot be written, and what `read` throws.
    public func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw IngestError(.configuration, "cannot write the pack to \(path); check the folder and its permissions")
        }
        defer { try? handle.close() }
        var offset: Int64 = 0
        while offset < layout.totalSize {
            let chunk = try read(at: offset, count: 4 << 20)
            do {
                try handle.write(contentsOf: chunk)
            } catch {
                throw IngestError(.configuration, "cannot write the pack to \(path); check disk space")
            }
            offset += Int64(chunk.count)
        }
    }

    /// The segment (header, image, file window, end records) holding the byte at `position`.
    private func segment(containing position: Int64) throws -> (start: Int64, bytes: [UInt8]) {
        if let cached, position >= cached.start, position < cached.start + Int64(cached.bytes.count) { return cached }
        let made: (start: Int64, bytes: [UInt8])
        if position >= layout.endOffset {
            made = (layout.endOffset, layout.end())
        } else if position >= layout.centralOffset {
            let index = Self.lastIndex(in: layout.centralOffsets, atMost: position)
            made = (layout.centralOffsets[index], layout.centralHeader(index))
        } else {
            let index = Self.lastIndex(in: layout.localOffsets, atMost: position)
            let dataStart = layout.dataOffset(index)
            if position < dataStart {
                made = (layout.entries[index].offset, layout.localHeader(index))
            } else {
                made = try data(of: index, at: position, dataStart: dataStart)
            }
        }
        cached = made
        return made
    }

    /// Entry `index`'s data, whole for an image or a window of 4 MiB around `position` for a file.
    private func data(of index: Int, at position: Int64, dataStart: Int64) throws -> (start: Int64, bytes: [UInt8]) {
        let entry = layout.entries[index]
        switch sources[index] {
        case .bytes(let bytes):
            return (dataStart, bytes)
        case .spool(let offset):
            var window = try window(
                of: scratch + "/images.spool", from: offset, entry: entry, at: position, dataStart: dataStart)
            do {
                try cipher.apply(&window.bytes, at: offset + window.start - dataStart)
            } catch {
                throw IngestError.wrapping(error, context: "reading the pack's scratch file")
            }
            return window
        case .file(let path):
            return try window(of: path, from: 0, entry: entry, at: position, dataStart: dataStart)
        }
    }

    /// The 4 MiB window around `position` of an entry whose data is in the scratch file `path`
    /// from `offset` (one read; memory stays flat whatever the image's size).
    private func window(
        of path: String, from offset: Int64, entry: ZipLayout.Entry, at position: Int64, dataStart: Int64
    ) throws -> (start: Int64, bytes: [UInt8]) {
        let window: Int64 = 4 << 20
        let start = dataStart + (position - dataStart) / window * window
        let count = Int(min(window, dataStart + entry.size - start))
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw IngestError(.configuration, "the pack's scratch file \(path) is gone; run the pack again")
        }
        defer { try? handle.close() }
        let bytes: Data
        do {
            try handle.seek(toOffset: UInt64(offset + start - dataStart))
            bytes = try handle.read(upToCount: count) ?? Data()
        } catch {
            throw IngestError(.configuration, "cannot read the pack's scratch file \(path); run the pack again")
        }
        guard bytes.count == count else {
            throw IngestError(.configuration, "the pack's scratch file \(path) was cut short; run the pack again")
        }
        return (start, Array(bytes))
    }

    private static func lastIndex(in offsets: [Int64], atMost position: Int64) -> Int {
        var low = 0
        var high = offsets.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if offsets[mid] <= position { low = mid } else { high = mid - 1 }
        }
        return low
    }
}

/// A scratch file written in order, with its size, CRC-32 and SHA-256 kept as it grows.
private final class SpoolFile {
    let path: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private let hasher: SHA256?
    private let cipher: ScratchCipher?
    private(set) var crc = CRC32()
    private(set) var size: Int64 = 0
    private(set) var sha256 = ""

    /// - Parameter checksums: keep the file's CRC-32 and SHA-256 (the images spool needs none:
    ///   each image's are taken on its own).
    ///   - cipher: encrypts what is written (the file's CRC-32 and SHA-256 are of the plaintext).
    init(path: String, checksums: Bool = true, cipher: ScratchCipher? = nil) throws {
        self.cipher = cipher
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let handle = FileHandle(forWritingAtPath: path)
        else {
            throw IngestError(.configuration, "cannot write the pack's scratch file \(path)")
        }
        self.handle = handle
        hasher = checksums ? try SHA256() : nil
    }

    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        crc.update(bytes)
        hasher?.update(bytes)
        size += Int64(bytes.count)
        buffer += bytes
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends `bytes` (an image) to the file, encrypted 1 MiB at a time when there is a cipher.
    func write(_ bytes: [UInt8]) throws {
        if hasher != nil {
            crc.update(bytes)
            hasher?.update(bytes)
        }
        try flush()
        guard let cipher else {
            try put(bytes)
            size += Int64(bytes.count)
            return
        }
        var start = 0
        while start < bytes.count {
            var chunk = Array(bytes[start..<min(start + (1 << 20), bytes.count)])
            do {
                try cipher.apply(&chunk, at: size)
            } catch {
                throw IngestError.wrapping(error, context: "writing the pack's scratch file")
            }
            try put(chunk)
            size += Int64(chunk.count)
            start += chunk.count
        }
    }

    private func flush() throws {
        try put(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private func put(_ bytes: [UInt8]) throws {
        do {
            try handle.write(contentsOf: bytes)
        } catch {
            throw IngestError(.configuration, "cannot write the pack's scratch file \(path); check disk space")
        }
    }

    func close() throws {
        try flush()
        try? handle.close()
        sha256 = hasher?.finalizeHex() ?? ""
    }
}

extension DatasetPack {
    /// Uploads the archive to S3 as a resumable multipart upload, producing each part when it
    /// is sent (nothing written to disk): a re-run after an interruption sends only the parts
    /// the unfinished upload does not hold.
    /// - Parameter partSize: bytes per part (at least 5 MiB).
    /// - Throws: S3 errors (`IngestError`), and what `read` throws.
    public func upload(with client: S3Client, to location: S3Location, partSize: Int = 8 << 20) async throws
        -> S3Client.UploadResult
    {
        try await client.uploadResumable(
            bucket: location.bucket, key: location.key, size: size, partSize: partSize, contentType: "application/zip"
        ) { offset, count in try read(at: offset, count: count) }
    }
}
