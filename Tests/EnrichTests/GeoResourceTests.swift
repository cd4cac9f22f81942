import Foundation
import Testing

@testable import Enrich

@Suite("Geocoder: the bundled GeoNames resource", .tags(.unit))
struct GeoResourceTests {
    /// Minimal RFC 4180 line splitting for the fixture (quoted fields with doubled quotes).
    static func fields(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let character = iterator.next() {
            if quoted {
                if character == "\"" {
                    quoted = false
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                if !current.isEmpty { current.append("\"") }
                quoted = true
            } else if character == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    @Test("the index holds every row of rg_cities1000.csv at its coordinates")
    func everyCoordinate() throws {
        let geocoder = try GeoFixtures.geocoder()
        let places = GeoFixtures.places
        #expect(places.latitude.count == 144_563)
        #expect(geocoder.placeCount == places.latitude.count)
        var mismatches = 0
        for row in places.latitude.indices {
            guard let place = geocoder.place(row: row),
                abs(place.latitude - places.latitude[row]) < 1e-9, abs(place.longitude - places.longitude[row]) < 1e-9
            else {
                mismatches += 1
                continue
            }
        }
        #expect(mismatches == 0)
        #expect(geocoder.place(row: -1) == nil)
        #expect(geocoder.place(row: places.latitude.count) == nil)
    }

    @Test("sampled rows round-trip their names, regions, country code and country name")
    func sampledRows() throws {
        let geocoder = try GeoFixtures.geocoder()
        let countriesText = try String(contentsOf: GeoFixtures.url("reverse_geocode_countries.csv"), encoding: .utf8)
        var countries: [String: String] = [:]
        for line in countriesText.split(whereSeparator: \.isNewline) {
            let fields = Self.fields(line)
            countries[fields[0]] = fields[1]
        }
        let sample = try String(contentsOf: GeoFixtures.url("geonames-sample.csv"), encoding: .utf8)
        var checked = 0
        for line in sample.split(separator: "\n").dropFirst() {
            let fields = Self.fields(line)
            try #require(fields.count == 7)
            let place = try #require(geocoder.place(row: Int(fields[0]) ?? -1))
            #expect(place.city == fields[3])
            #expect(place.admin1 == fields[4])
            #expect(place.admin2 == fields[5])
            #expect(place.countryCode == fields[6])
            #expect(place.countryName == countries[fields[6]])
            checked += 1
        }
        #expect(checked > 1400)
    }

    @Test("population is joined from the newer GeoNames extract for big cities")
    func population() throws {
        struct Entry: Decodable {
            let row: Int
            let city: String
            let cc: String
            let population: Int
        }
        let geocoder = try GeoFixtures.geocoder()
        let entries = try JSONDecoder().decode(
            [Entry].self, from: Data(contentsOf: GeoFixtures.url("geonames-population-sample.json")))
        #expect(entries.count == 10)
        for entry in entries {
            let place = try #require(geocoder.place(row: entry.row))
            #expect(place.city == entry.city)
            #expect(place.countryCode == entry.cc)
            #expect(place.population == entry.population)
        }
    }

    /// A scratch copy of the bundled index files, to damage.
    static func scratchCopy() throws -> URL {
        let resources = try #require(Geocoder.locateResources())
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "photoseal-geo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        for name in ["geonames-points.bin", "geonames-tree.bin", "geonames-names.bin"] {
            try FileManager.default.copyItem(
                at: resources.appendingPathComponent(name), to: scratch.appendingPathComponent(name))
        }
        return scratch
    }

    @Test("a folder without the index files gives resourceMissing")
    func missing() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-geo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let error = #expect(throws: EnrichError.self) { try Geocoder(directory: empty) }
        #expect(error?.code == .resourceMissing)
        #expect(error?.description.contains("PHOTOSEAL_GEONAMES_DIR") == true)
    }

    @Test(
        "a damaged index file gives resourceCorrupt, never a crash",
        arguments: [
            ("geonames-points.bin", 0, "truncate"), ("geonames-tree.bin", 0, "magic"),
            ("geonames-names.bin", 8, "version"), ("geonames-tree.bin", 20_000, "truncate"),
            ("geonames-names.bin", 16 + 32 + 16, "offset"),
        ])
    func corrupt(_ name: String, _ offset: Int, _ damage: String) throws {
        let scratch = try Self.scratchCopy()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let url = scratch.appendingPathComponent(name)
        var bytes = try [UInt8](Data(contentsOf: url))
        switch damage {
        case "truncate": bytes = Array(bytes.prefix(offset == 0 ? bytes.count / 2 : offset))
        case "magic": bytes[0] ^= 0xFF
        case "version": bytes[offset] = 99
        default:  // a section offset pointing past the end
            for index in offset..<(offset + 8) { bytes[index] = 0xFF }
        }
        try Data(bytes).write(to: url)
        let error = #expect(throws: EnrichError.self) { try Geocoder(directory: scratch) }
        #expect(error?.code == .resourceCorrupt)
    }

    @Test("ids damaged inside a section are caught at load time")
    func damagedIds() throws {
        let scratch = try Self.scratchCopy()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let url = scratch.appendingPathComponent("geonames-names.bin")
        var bytes = try [UInt8](Data(contentsOf: url))
        // Section 1 is "name": overwrite its first id with a huge value.
        let entry = 16 + 32 * 1
        let offset = bytes[(entry + 16)..<(entry + 24)].reversed().reduce(0) { $0 << 8 | Int($1) }
        for index in offset..<(offset + 4) { bytes[index] = 0xFF }
        try Data(bytes).write(to: url)
        let error = #expect(throws: EnrichError.self) { try Geocoder(directory: scratch) }
        #expect(error?.code == .resourceCorrupt)
    }
}
