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
    /// ``SourceItem/Content/unreadable(reason:)`` (the other rows are still imported).
    public func forEachItem(_ body: (SourceItem) async throws -> Void) async throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IngestError(.source, "cannot read the URL list \(path); check the path")
        }
        let bytes = Array(data)
        let firstLine = bytes.prefix { $0 != UInt8(ascii: "\n") }
        let tabs =
            path.lowercased().hasSuffix(".tsv")
            || (firstLine.contains(UInt8(ascii: "\t")) && !firstLine.contains(UInt8(ascii: ",")))
        let rows = try Self.parse(bytes, separator: tabs ? UInt8(ascii: "\t") : UInt8(ascii: ","), path: path)
        guard let header = rows.first else {
            throw IngestError(.source, "the URL list \(path) is empty; it needs a header row with a url column")
        }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let column = names.firstIndex(of: "url") else {
            throw IngestError(.source, "the URL list \(path) has no url column in its header row; add one")
        }
        for (index, row) in rows.enumerated().dropFirst() where column < row.count {
            let url = row[column].trimmingCharacters(in: .whitespaces)
            guard !url.isEmpty else { continue }
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                scheme == "http" || scheme == "https", parsed.host != nil
            else {
                try await body(
                    SourceItem(
                        content: .unreadable(reason: "row \(index + 1) has no http(s) URL in its url column"),
                        label: "row \(index + 1)"))
                continue
            }
            try await body(SourceItem(content: .url(url), label: "row \(index + 1)"))
        }
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
    public static func parse(_ input: [UInt8], separator: UInt8, path: String = "the list") throws -> [[String]] {
        var bytes = input[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var quotedField = false
        var i = bytes.startIndex
        let quote = UInt8(ascii: "\"")
        func endField() {
            row.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quotedField = false
        }
        func endRow() {
            endField()
            if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
            row.removeAll()
        }
        while i < bytes.endIndex {
            let byte = bytes[i]
            if inQuotes {
                if byte == quote {
                    if i + 1 < bytes.endIndex, bytes[i + 1] == quote {
                        field.append(quote)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == quote, field.isEmpty, !quotedField {
                inQuotes = true
                quotedField = true
            } else if byte == separator {
                endField()
            } else if byte == UInt8(ascii: "\n") {
                endRow()
            } else if byte == UInt8(ascii: "\r") {
                if !(i + 1 < bytes.endIndex && bytes[i + 1] == UInt8(ascii: "\n")) { endRow() }
            } else {
                field.append(byte)
            }
            i += 1
        }
        if inQuotes { throw IngestError(.source, "\(path) ends inside a quoted field; close the quote") }
        if !field.isEmpty || !row.isEmpty { endRow() }
        return rows
    }
}
