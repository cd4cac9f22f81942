import Testing

@testable import Ingest

@Suite("search input", .tags(.unit))
struct SearchPlanTests {
    @Test("a box crossing the antimeridian, asked for, becomes two boxes")
    func antimeridian() throws {
        let boxes = try BoundingBox.parse("170,-20,-170,10", antimeridian: true)
        #expect(
            boxes == [
                BoundingBox(minLon: 170, minLat: -20, maxLon: 180, maxLat: 10),
                BoundingBox(minLon: -180, minLat: -20, maxLon: -170, maxLat: 10),
            ])
        #expect(boxes.map(\.parameter) == ["170,-20,180,10", "-180,-20,-170,10"])
    }

    @Test(
        "bad boxes are refused naming --bbox",
        arguments: [
            "1,2,3", "1,2,3,4,5", "a,2,3,4", "1,2,,4", "-181,0,10,10", "0,-91,10,10", "0,10,10,5", "0,5,10,5",
            "5,0,5,10",
            "nan,0,1,1", "",
        ])
    func badBoxes(text: String) throws {
        let error = try #require(throws: IngestError.self) { try BoundingBox.parse(text) }
        #expect(error.message.contains("--bbox"))
    }

    @Test("longitudes given east before west are refused without --antimeridian, naming the box swapped back")
    func crossingNotAskedFor() throws {
        let error = try #require(throws: IngestError.self) { try BoundingBox.parse("20,35,5,48") }
        #expect(error.message.contains("longitudes 20 to 5"), "\(error.message)")
        #expect(error.message.contains("did you mean 5,35,20,48?"), "\(error.message)")
        #expect(error.message.contains("--antimeridian"), "\(error.message)")
        #expect(try BoundingBox.parse("20,35,5,48", antimeridian: true).count == 2)
    }

    @Test(
        "values that make a box only as minlat,minlon,maxlat,maxlon are refused as latitude and longitude swapped",
        arguments: [
            // (given, the box meant): Australia, the western US, Japan given latitude first.
            ("-30,140,-10,155", "140,-30,155,-10"),
            ("45,-120,50,-100", "-120,45,-100,50"),
            ("30,129.5,45.5,146", "129.5,30,146,45.5"),
        ])
    func latLonSwapped(given: String, meant: String) throws {
        let error = try #require(throws: IngestError.self) { try BoundingBox.parse(given) }
        #expect(error.message.contains("latitude and longitude swapped"), "\(error.message)")
        #expect(error.message.contains("did you mean \(meant)?"), "\(error.message)")
        // The fix it names is a box.
        #expect(try BoundingBox.parse(meant).count == 1)
    }

    @Test("values whose swapped reading is no box either get the plain reason, with no swap suggested")
    func noSwapSuggested() throws {
        for text in ["0,95,10,5", "100,95,110,100", "0,10,10,5"] {
            let error = try #require(throws: IngestError.self) { try BoundingBox.parse(text) }
            #expect(!error.message.contains("swapped"), "\(text): \(error.message)")
        }
    }

    @Test("where both readings are boxes the values are taken as given, and the reading names the corners")
    func ambiguousBoxReading() throws {
        // 35,5,48,20 may be Italy given latitude first or the Horn of Africa as written:
        // the values cannot tell, so the box is taken as written and its reading shown.
        let boxes = try BoundingBox.parse("35,5,48,20")
        #expect(boxes == [BoundingBox(minLon: 35, minLat: 5, maxLon: 48, maxLat: 20)])
        #expect(
            BoundingBox.reading(of: boxes)
                == "latitudes 5°N to 20°N, longitudes 35°E to 48°E (south-west corner 5°N 35°E, north-east corner "
                + "20°N 48°E)")
        let americas = try BoundingBox.parse("-75,-40,-73,41")
        #expect(BoundingBox.reading(of: americas).hasPrefix("latitudes 40°S to 41°N, longitudes 75°W to 73°W"))
        let across = try BoundingBox.parse("170,-20,-170,10", antimeridian: true)
        #expect(BoundingBox.reading(of: across).contains("longitudes 170°E to 170°W"))
        #expect(BoundingBox.reading(of: across).hasSuffix("across the antimeridian"))
    }

    @Test("negative unix seconds are taken as dates before 1970, down to 1800")
    func negativeUnixSeconds() throws {
        #expect(try TakenDate.parse("-86400", flag: "--min-taken") == -86400)
        #expect(throws: IngestError.self) { try TakenDate.parse("-9999999999", flag: "--min-taken") }
        #expect(throws: IngestError.self) { try TakenDate.parse("-", flag: "--min-taken") }
    }

    // Expected values from Python: calendar.timegm((2015, 6, 1, 0, 0, 0)) and so on.
    @Test(
        "dates parse as UTC in every accepted form",
        arguments: [
            ("2015-06-01", Int64(1_433_116_800)),
            ("2015-06-01 12:34:56", 1_433_162_096),
            ("2015-06-01T12:34:56", 1_433_162_096),
            ("1433116800", 1_433_116_800),
            ("2000-02-29", 951_782_400),
            ("1900-01-01", -2_208_988_800),
        ])
    func dates(text: String, expected: Int64) throws {
        #expect(try TakenDate.parse(text, flag: "--min-taken") == expected)
    }

    @Test(
        "dates that do not parse are refused naming the flag",
        arguments: [
            "2015-13-01", "2015-02-30", "2019-02-29", "yesterday", "2015/06/01", "2015-06-01 25:00:00",
            "99999999999999",
            "",
        ])
    func badDates(text: String) throws {
        let error = try #require(throws: IngestError.self) { try TakenDate.parse(text, flag: "--max-taken") }
        #expect(error.message.contains("--max-taken"))
    }

    @Test("formatting dates round-trips through parsing")
    func roundTrip() throws {
        for seconds: Int64 in [0, 1, 86399, 951_782_400, -2_208_988_800, 4_102_444_799] {
            #expect(try TakenDate.parse(TakenDate.format(seconds, separator: " "), flag: "x") == seconds)
        }
    }

    @Test("dates are formatted zero-padded in UTC, with the separator given", .tags(.unit))
    func formatted() {
        #expect(TakenDate.format(0) == "1970-01-01T00:00:00")
        #expect(TakenDate.format(951_868_798, separator: " ") == "2000-02-29 23:59:58")
        #expect(TakenDate.format(-5_364_662_400) == "1800-01-01T00:00:00")
        #expect(TakenDate.format(3_661, separator: "") == "1970-01-0101:01:01")
    }

    @Test("a plan needs a term, or a box with a date")
    func needsSomething() throws {
        #expect(throws: IngestError.self) {
            try SearchPlan.make(terms: [], termsFileText: nil, bbox: nil, minTaken: nil, maxTaken: nil, now: 0)
        }
        #expect(throws: IngestError.self) {
            try SearchPlan.make(terms: [], termsFileText: nil, bbox: "0,0,1,1", minTaken: nil, maxTaken: nil, now: 0)
        }
        let plan = try SearchPlan.make(
            terms: [], termsFileText: nil, bbox: "0,0,1,1", minTaken: "2020-01-01", maxTaken: nil, now: 0)
        #expect(plan.queries.count == 1 && plan.queries[0].term == nil && plan.queries[0].perPage == 250)
    }

    @Test("terms come from flags and the terms file, comments and duplicates dropped, any script kept")
    func terms() throws {
        let plan = try SearchPlan.make(
            terms: ["monkey"], termsFileText: "# animals\nscimmia\n\n  猴子  \r\nmonkey\n", bbox: "170,0,-170,10",
            antimeridian: true, minTaken: nil, maxTaken: nil, now: 0)
        #expect(plan.terms == ["monkey", "scimmia", "猴子"])
        #expect(plan.queries.count == 6)
        #expect(Set(plan.queries.map(\.key)).count == 6)
    }

    @Test("a later --min-taken than --max-taken is refused")
    func reversedDates() {
        #expect(throws: IngestError.self) {
            try SearchPlan.make(
                terms: ["a"], termsFileText: nil, bbox: nil, minTaken: "2020-01-01", maxTaken: "2019-01-01", now: 0)
        }
    }

    @Test(
        "a split covers the slice exactly, in order, with no overlap",
        arguments: [
            (Int64(0), Int64(99), 9000), (-2_208_988_800, 1_800_000_000, 4000), (5, 6, 100_000), (10, 10_000, 60_000),
        ])
    func split(lower: Int64, upper: Int64, total: Int) {
        let pieces = SearchStage.split(lower...upper, total: total)
        #expect(pieces.count >= 2)
        #expect(pieces.first?.lowerBound == lower && pieces.last?.upperBound == upper)
        for (a, b) in zip(pieces, pieces.dropFirst()) { #expect(a.upperBound + 1 == b.lowerBound) }
        #expect(pieces.allSatisfy { !$0.isEmpty })
    }

    @Test("a query without --max-taken keeps its key from one day to the next")
    func stableKey() throws {
        let a = try SearchPlan.make(terms: ["x"], termsFileText: nil, bbox: nil, minTaken: nil, maxTaken: nil, now: 0)
        let b = try SearchPlan.make(
            terms: ["x"], termsFileText: nil, bbox: nil, minTaken: nil, maxTaken: nil, now: 86400 * 3)
        #expect(a.queries.map(\.key) == b.queries.map(\.key))
        let c = try SearchPlan.make(
            terms: ["x"], termsFileText: nil, bbox: nil, minTaken: nil, maxTaken: "2020-01-01", now: 0)
        #expect(a.queries.map(\.key) != c.queries.map(\.key))
    }
}
