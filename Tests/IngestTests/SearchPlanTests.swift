import Testing

@testable import Ingest

@Suite("search input")
struct SearchPlanTests {
    @Test("a box crossing the antimeridian becomes two boxes")
    func antimeridian() throws {
        let boxes = try BoundingBox.parse("170,-20,-170,10")
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
            minTaken: nil, maxTaken: nil, now: 0)
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
