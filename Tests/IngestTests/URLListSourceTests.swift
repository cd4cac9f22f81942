import Foundation
import Testing

@testable import Ingest

@Suite("URL lists: RFC 4180 rows, read a piece at a time")
struct URLListSourceTests {
    /// RFC 4180's own cases: a quoted field holding the separator, a line break and a doubled
    /// quote; CRLF, CR and LF line ends; a BOM; empty lines; a last row with no line end.
    static let text = Array(
        ("\u{FEFF}url,note\r\nhttp://a/1.jpg,\"x, \"\"y\"\"\r\nz\"\n" + "\nhttp://a/2.jpg,\r\"\"\n,last").utf8)
    static let rows = [["url", "note"], ["http://a/1.jpg", "x, \"y\"\r\nz"], ["http://a/2.jpg", ""], ["", "last"]]

    @Test("every split of the text into two chunks gives the rows of the whole text", .tags(.unit))
    func chunkSplits() throws {
        // The line `""` is one quoted empty field: an empty row, dropped like the empty line.
        #expect(try URLListSource.parse(Self.text, separator: UInt8(ascii: ",")) == Self.rows)
        for cut in 0...Self.text.count {
            var reader = CSVReader(separator: UInt8(ascii: ","))
            var rows: [[String]] = []
            reader.feed(Self.text[..<cut], into: &rows)
            reader.feed(Self.text[cut...], into: &rows)
            try reader.finish(into: &rows, path: "list")
            #expect(rows == Self.rows, "split at byte \(cut)")
        }
    }

    @Test("one byte at a time gives the same rows; an unclosed quote is an error naming the file", .tags(.unit))
    func byteByByte() throws {
        var reader = CSVReader(separator: UInt8(ascii: ","))
        var rows: [[String]] = []
        for byte in Self.text { reader.feed([byte], into: &rows) }
        try reader.finish(into: &rows, path: "list")
        #expect(rows == Self.rows)
        var open = CSVReader(separator: UInt8(ascii: ","))
        open.feed(Array("url\n\"http://a/1.jpg\n".utf8), into: &rows)
        #expect(throws: IngestError.self) { try open.finish(into: &rows, path: "urls.csv") }
        do {
            try open.finish(into: &rows, path: "urls.csv")
        } catch let error as IngestError {
            #expect(error.message.contains("urls.csv ends inside a quoted field"))
        }
    }

    @Test("a list longer than one read chunk yields every row once, numbered as in the file", .tags(.integration))
    func longList() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("urllist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let count = 5_000  // about 190 KB: three 64 KiB chunks
        var text = "id\turl\n"
        for index in 0..<count { text += "\(index)\thttps://images.example/photo-\(index).jpg\n" }
        text += "bad\tnot a url\n"
        let path = folder.appendingPathComponent("urls.tsv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        var urls: [String] = []
        var labels: [String] = []
        var unreadable: [String] = []
        try await URLListSource(path: path).forEachItem { item in
            switch item.content {
            case .url(let url):
                urls.append(url)
                labels.append(item.label)
            case .unreadable(let reason): unreadable.append(reason)
            default: Issue.record("unexpected item \(item.label)")
            }
        }
        #expect(urls == (0..<count).map { "https://images.example/photo-\($0).jpg" })
        #expect(labels.first == "row 2" && labels.last == "row \(count + 1)")
        #expect(unreadable == ["row \(count + 2) has no http(s) URL in its url column"])
    }

    @Test("a list without a url column, or empty, is refused with what to fix", .tags(.integration))
    func headerErrors() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("urllist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, text, expected) in [
            ("a.csv", "link,name\nhttp://a/1.jpg,x\n", "has no url column in its header row; add one"),
            ("b.csv", "\n\n", "is empty; it needs a header row with a url column"),
        ] {
            let path = folder.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            await #expect {
                try await URLListSource(path: path).forEachItem { _ in }
            } throws: { error in
                (error as? IngestError)?.message.contains(expected) == true
            }
        }
    }
}
