import Foundation
import TestSupport
import Testing

@testable import Enrich

@Suite("Geocoder: the lat,lon to CSV converter", .tags(.unit))
struct GeoCSVTests {
    static func convert(_ input: String, chunkSizes: [Int]? = nil, filter: GeocodeFilter = .unfiltered) throws -> (
        String, [GeocodeCSVConverter.BadLine]
    ) {
        var converter = GeocodeCSVConverter(geocoder: try GeoFixtures.geocoder(), filter: filter)
        let bytes = Array(input.utf8)
        var output: [UInt8] = []
        var bad: [GeocodeCSVConverter.BadLine] = []
        var start = 0
        var chunk = 0
        while start < bytes.count {
            let size = chunkSizes.map { $0[chunk % $0.count] } ?? bytes.count
            let end = min(bytes.count, start + size)
            let result = bytes[start..<end].withUnsafeBytes { converter.feed($0) }
            output += result.bytes
            bad += result.badLines
            start = end
            chunk += 1
        }
        let last = converter.finish()
        output += last.bytes
        bad += last.badLines
        return (String(decoding: output, as: UTF8.self), bad)
    }

    @Test("good lines become RFC 4180 rows; a country name with a comma is quoted")
    func goodRows() throws {
        let (csv, bad) = try Self.convert("48.8566,2.3522\n37.5665, 126.978\r\n-1.2864,36.8172")
        #expect(bad.isEmpty)
        let rows = csv.components(separatedBy: "\r\n")
        #expect(rows.count == 4)
        #expect(rows[0] == "48.8566,2.3522,Paris,Ile-de-France,Paris,FR,France,0.433")
        #expect(rows[1].hasPrefix("37.5665,126.978,Seoul,Seoul,,KR,\"Korea, Republic of\","))
        #expect(rows[2].hasPrefix("-1.2864,36.8172,Nairobi,Nairobi Area,,KE,Kenya,"))
        #expect(rows[3].isEmpty)
    }

    @Test("bad lines get an error row, are reported with their line number, and the run goes on")
    func badRows() throws {
        let input = "lat,lon\nabc,1\n91,0\n0,181\n1,2,3\n\n0,nan\n5\n48.8566,2.3522\n"
        let (csv, bad) = try Self.convert(input)
        #expect(bad.map(\.line) == [2, 3, 4, 5, 7, 8])
        #expect(bad[1].reason.contains("latitude"))
        #expect(bad[2].reason.contains("longitude"))
        let rows = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.count == 7)
        #expect(rows[0] == "abc,1,,,,,,error: latitude is not a number")
        #expect(rows[3] == "1,\"2,3\",,,,,,error: expected two fields: lat,lon")
        #expect(rows[6].hasPrefix("48.8566,2.3522,Paris,"))
        // No error message repeats the line's content.
        #expect(bad.allSatisfy { !$0.reason.contains("abc") && !$0.reason.contains("91") })
    }

    @Test("the output is the same however the input is cut into chunks")
    func chunking() throws {
        var lines: [String] = []
        var generator = SplitMix64(state: 7)
        for index in 0..<3000 {
            let (lat, lon) = GeoFixtures.uniformPoint(&generator)
            lines.append(index % 97 == 0 ? "bad line \(index)" : "\(lat),\(lon)")
        }
        let input = lines.joined(separator: "\r\n") + "\n"
        let (whole, wholeBad) = try Self.convert(input)
        for sizes in [[1], [7, 3, 1000], [65_536], [100_000, 1]] {
            let (pieces, piecesBad) = try Self.convert(input, chunkSizes: sizes)
            #expect(pieces == whole)
            #expect(piecesBad == wholeBad)
        }
        #expect(wholeBad.count == 31)
        #expect(whole.components(separatedBy: "\r\n").count == 3001)
    }

    @Test("max-km leaves the place columns empty for a point in the open ocean")
    func noPlace() throws {
        let (csv, bad) = try Self.convert("0,-150\n", filter: GeocodeFilter(maxKm: 10))
        #expect(bad.isEmpty)
        #expect(csv == "0,-150,,,,,,\r\n")
    }

    @Test("an over-long line is one bad line and is not kept in memory")
    func longLine() throws {
        let input = String(repeating: "1", count: 10_000) + "\n48.8566,2.3522\n"
        for sizes in [[1000], [1 << 20]] {
            let (csv, bad) = try Self.convert(input, chunkSizes: sizes)
            #expect(bad.map(\.line) == [1])
            #expect(bad.first?.reason.contains("longer than") == true)
            #expect(
                csv == ",,,,,,,error: the line is longer than 4096 bytes\r\n"
                    + "48.8566,2.3522,Paris,Ile-de-France,Paris,FR,France,0.433\r\n")
        }
    }

    @Test(
        "decimal parsing agrees with Double(String) and refuses non-numbers",
        arguments: [
            "0", "-0", "+12.5", "48.8566", "-179.99999", "90", "1e1", "0.1234567890123456789", ".5", "5.",
        ])
    func parsing(_ text: String) {
        #expect(DecimalParser.parse(Array(text.utf8)) == Double(text))
    }

    @Test("non-numbers do not parse", arguments: ["", "-", ".", "abc", "nan", "inf", "1..2", "1-2", "--1", "1 2"])
    func notNumbers(_ text: String) {
        #expect(DecimalParser.parse(Array(text.utf8)) == nil)
    }
}
