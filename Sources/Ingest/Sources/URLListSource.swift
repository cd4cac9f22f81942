import Crypto
import Foundation

/// A CSV or TSV file (RFC 4180 quoting) whose header row has a `url` column; one image URL a
/// row. A `.tsv` file is tab-separated; otherwise the separator is a comma, or a tab when the
/// header line has tabs and no commas. Empty cells and rows are skipped.
public struct URLListSource: PhotoSource {
    /// The file.
    public let path: String
    /// A source for the file at `path`.
    public init(path: String) { self.path = path }
    /// `URL list <path>`.
    public var description: String { "URL list \(path)" }

    /// Calls `body` with each row's URL; a row whose url cell is not an http(s) URL comes as
    /// ``SourceItem/Content/unreadable(reason:)`` (the other rows are still imported). The file
    /// is read 64 KiB at a time: memory stays flat however long the list.
    public func forEachItem(_ body: (SourceItem) async throws -> Void) async throws {
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw IngestError(.source, "cannot read the URL list \(path); check the path")
        }
        defer { try? file.close() }
        func nextChunk() throws -> Data {
            do {
                return try file.read(upToCount: 16 << 10) ?? Data()
            } catch {
                throw IngestError(.source, "cannot read the URL list \(path); check the path")
            }
        }
        var chunk = try nextChunk()
        let firstLine = chunk.prefix { $0 != UInt8(ascii: "\n") }
        let tabs =
            path.lowercased().hasSuffix(".tsv")
            || (firstLine.contains(UInt8(ascii: "\t")) && !firstLine.contains(UInt8(ascii: ",")))
        var reader = CSVReader(separator: tabs ? UInt8(ascii: "\t") : UInt8(ascii: ","))
        var rows: [[String]] = []
        var column: Int?
        var rowNumber = 0
        while true {
            if chunk.isEmpty {
                try reader.finish(into: &rows, path: path)
            } else {
                reader.feed(chunk, into: &rows)
            }
            for row in rows {
                rowNumber += 1
                guard let column else {
                    let names = row.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                    guard let found = names.firstIndex(of: "url") else {
                        throw IngestError(.source, "the URL list \(path) has no url column in its header row; add one")
                    }
                    column = found
                    continue
                }
                guard column < row.count else { continue }
                try await Self.offer(row[column], row: rowNumber, to: body)
            }
            rows.removeAll(keepingCapacity: true)
            if chunk.isEmpty { break }
            chunk = try nextChunk()
        }
        if column == nil {
            throw IngestError(.source, "the URL list \(path) is empty; it needs a header row with a url column")
        }
    }

    private static func offer(_ cell: String, row: Int, to body: (SourceItem) async throws -> Void) async throws {
        let url = cell.trimmingCharacters(in: .whitespaces)
        guard !url.isEmpty else { return }
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", parsed.host != nil
        else {
            let reason = "row \(row) has no http(s) URL in its url column"
            try await body(SourceItem(content: .unreadable(reason: reason), label: "row \(row)"))
            return
        }
        try await body(SourceItem(content: .url(url), label: "row \(row)"))
    }

    /// The form of an image URL photoseal stores and fetches: without userinfo
    /// (`user:password@`) and without query options whose name says they are secret (holding
    /// password, token, secret, key, signature or credential), other options and the rest kept
    /// as written. Credentials are never stored, in the clear or sealed: a list whose images
    /// need them cannot be downloaded (the rows fail with the server's 401 or 403), which is
    /// the price of a ledger and store that hold no password.
    /// - Returns: the URL to store, and whether anything was removed.
    public static func publicURL(_ url: String) -> (url: String, stripped: Bool) {
        var out = url
        var stripped = false
        if let schemeEnd = out.range(of: "://") {
            let rest = out[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { "/?#".contains($0) }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                out = String(out[..<schemeEnd.upperBound]) + String(out[out.index(after: at)...])
                stripped = true
            }
        }
        guard let query = out.firstIndex(of: "?") else { return (out, stripped) }
        let end = out[query...].firstIndex(of: "#") ?? out.endIndex
        let options = out[out.index(after: query)..<end].split(separator: "&", omittingEmptySubsequences: false)
        let kept = options.filter { option in
            let name = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return !URISecrets.isSecretName(name.removingPercentEncoding ?? String(name))
        }
        guard kept.count != options.count else { return (out, stripped) }
        let base = String(out[..<query]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        return (base + String(out[end...]), true)
    }

    /// Splits CSV text into rows of fields (RFC 4180: quoted fields may hold separators,
    /// newlines and doubled quotes; CRLF or LF line ends; a UTF-8 BOM is skipped).
    package static func parse(_ input: [UInt8], separator: UInt8, path: String = "the list") throws -> [[String]] {
        var reader = CSVReader(separator: separator)
        var rows: [[String]] = []
        reader.feed(input, into: &rows)
        try reader.finish(into: &rows, path: path)
        return rows
    }
}
