import Foundation
import Testing

@Suite("photoseal geocode", .tags(.integration))
struct GeocodeCLITests {
    /// ArgumentParser's usage-error status (EX_USAGE) or the project's 2.
    static func isUsageError(_ status: Int32) -> Bool { status == 2 || status == 64 }

    @Test("LAT LON prints the nearest place readably")
    func onePlace() throws {
        let result = try CLI.run(["geocode", "48.8566", "2.3522"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("city:        Paris"))
        #expect(result.stdout.contains("country:     France (FR)"))
        #expect(result.stdout.contains("distance_km: 0.433"))
    }

    @Test("negative coordinates work as plain positional arguments, with --json")
    func negativeJSON() throws {
        let result = try CLI.run(["geocode", "-33.8688", "151.2093", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["city"] as? String == "Sydney")
        #expect(object["cc"] as? String == "AU")
        #expect(object["country"] as? String == "Australia")
        #expect(object["lat"] as? Double == -33.8688)
        #expect((object["distance_km"] as? Double).map { $0 < 1 } == true)

        let separated = try CLI.run(["geocode", "--", "-33.8688", "151.2093"])
        #expect(separated.status == 0)
        #expect(separated.stdout.contains("city:        Sydney"))

        let west = try CLI.run(["geocode", "--json", "-1.2864", "36.8172"])
        #expect(west.stdout.contains("\"city\":\"Nairobi\""))
        let both = try CLI.run(["geocode", "-16.5", "-179.99"])
        #expect(both.status == 0)
        #expect(both.stdout.contains("(FJ)"))
    }

    @Test("--max-km in the open ocean answers no place, in text and as JSON nulls")
    func noPlace() throws {
        let text = try CLI.run(["geocode", "0", "-150", "--max-km", "100"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("no place within 100.0 km"))
        let json = try CLI.run(["geocode", "0", "-150", "--max-km", "100", "--json"])
        #expect(json.stdout.contains("\"city\":null"))
    }

    @Test("--min-population skips small places")
    func minPopulation() throws {
        let result = try CLI.run(["geocode", "35.70", "139.56", "--min-population", "5000000"])
        #expect(result.stdout.contains("city:        Tokyo"))
    }

    @Test(
        "bad arguments are usage errors that say what to give",
        arguments: [
            (["geocode", "91", "0"], "LAT"), (["geocode", "0", "-181"], "LON"), (["geocode", "abc", "1"], "LAT"),
            (["geocode", "1"], "LAT and LON"), (["geocode", "1", "2", "3"], "LAT and LON"),
            (["geocode", "--jsn", "1", "2"], "--jsn"), (["geocode", "--csv", "1", "2"], "--csv"),
            (["geocode", "1", "2", "--max-km", "-5"], "--max-km"), (["geocode", "--csv", "--json"], "--json"),
        ])
    func badArguments(_ arguments: [String], _ mentioned: String) throws {
        let result = try CLI.run(arguments)
        #expect(Self.isUsageError(result.status), "status \(result.status)")
        #expect(result.stderr.contains(mentioned))
        #expect(result.stdout.isEmpty)
    }

    @Test("--csv streams RFC 4180 rows, marks bad lines, goes on and exits 1")
    func csvWithBadLines() throws {
        let input = "lat,lon\n48.8566,2.3522\nnot,a number\n-33.8688,151.2093\r\n95,10\n"
        let result = try CLI.run(["geocode", "--csv"], stdin: Data(input.utf8))
        #expect(result.status == 1)
        let rows = result.stdout.components(separatedBy: "\r\n")
        #expect(rows[0] == "lat,lon,city,admin1,admin2,cc,country,distance_km")
        #expect(rows[1] == "48.8566,2.3522,Paris,Ile-de-France,Paris,FR,France,0.433")
        #expect(rows[2] == "not,a number,,,,,,error: latitude is not a number")
        #expect(rows[3] == "-33.8688,151.2093,Sydney,New South Wales,City of Sydney,AU,Australia,0.211")
        #expect(rows[4] == "95,10,,,,,,error: latitude outside -90...90")
        #expect(rows.count == 6 && rows[5].isEmpty)
        #expect(result.stderr.contains("line 3"))
        #expect(result.stderr.contains("line 5"))
        #expect(result.stderr.contains("2 of 5 lines were bad"))
    }

    @Test("--csv with only good lines exits 0 and writes one row per line")
    func csvMany() throws {
        var input = ""
        for index in 0..<50_000 {
            input += "\(Double(index % 180) - 89.5),\(Double(index % 360) - 179.5)\n"
        }
        let result = try CLI.run(["geocode", "--csv", "--max-km", "20000"], stdin: Data(input.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\r\n")
        #expect(rows.count == 50_001)
        #expect(rows.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count >= 8 })
        #expect(result.stderr.isEmpty)
    }

    @Test("geocode --help shows an example")
    func help() throws {
        let result = try CLI.run(["geocode", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("photoseal geocode 48.8566 2.3522"))
    }
}
