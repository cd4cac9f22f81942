import Dispatch
import Foundation
import TestSupport
import Testing

@testable import Enrich

/// The index against a brute-force scan: for each query point, every place of the fixture
/// (coordinates parsed from the GeoNames text, distances by haversine) is a candidate, and the
/// index's answer must be as near as the nearest of them (within 1 mm), a different place only
/// when it is exactly as near (a tie).
@Suite("Geocoder: agreement with a brute-force great-circle scan", .tags(.slow))
struct GeoBruteForceTests {
    /// Within this many km two distances count as a tie (haversine and chord rounding differ).
    static let tieKm = 1e-6

    struct Outcome: Sendable {
        var wrong: [String] = []
        var ties = 0
        var checked = 0
    }

    static func testPoints() -> [(Double, Double)] {
        var generator = SplitMix64(state: 20_261_122)
        var points: [(Double, Double)] = []
        for _ in 0..<2500 { points.append(GeoFixtures.uniformPoint(&generator)) }
        // Near the antimeridian, on either side.
        for _ in 0..<500 {
            let (lat, _) = GeoFixtures.uniformPoint(&generator)
            let offset = Double.random(in: 0...0.5, using: &generator)
            points.append((lat, Bool.random(using: &generator) ? 180 - offset : -180 + offset))
        }
        // Near the poles.
        for _ in 0..<500 {
            let lat = Double.random(in: 80...90, using: &generator)
            points.append(
                (Bool.random(using: &generator) ? lat : -lat, Double.random(in: -180...180, using: &generator)))
        }
        // Exactly on places (distance 0, duplicates tie) and exact edge values.
        for _ in 0..<200 {
            let row = Int.random(in: 0..<GeoFixtures.places.latitude.count, using: &generator)
            points.append((GeoFixtures.places.latitude[row], GeoFixtures.places.longitude[row]))
        }
        points += [(90, 0), (-90, 0), (0, 180), (0, -180), (0, 0), (90, 180), (-90, -180)]
        return points
    }

    /// Checks every point in parallel; `filter` and `include` must describe the same places.
    static func check(
        _ points: [(Double, Double)], geocoder: Geocoder, filter: GeocodeFilter = .unfiltered,
        include: @escaping @Sendable (Int) -> Bool = { _ in true }
    ) throws -> Outcome {
        let coordinates = try points.map { try Coordinate(latitude: $0.0, longitude: $0.1) }
        let answers = geocoder.matches(coordinates, filter: filter)
        let chunks = 16
        let results = Results(count: chunks)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var outcome = Outcome()
            for index in stride(from: chunk, to: points.count, by: chunks) {
                let (lat, lon) = points[index]
                outcome.checked += 1
                let answer = answers[index]
                // Bound the scan by the answer's own haversine distance: the true nearest can be no farther.
                let answerKm = answer.map {
                    GeoFixtures.haversineKm(
                        lat, lon, GeoFixtures.places.latitude[$0.row], GeoFixtures.places.longitude[$0.row])
                }
                let limit = min(answerKm ?? .infinity, filter.maxKm ?? .infinity)
                let truth = GeoFixtures.bruteForce(lat, lon, within: limit.isFinite ? limit : 40_000, where: include)
                    .flatMap { best in (filter.maxKm.map { best.km <= $0 } ?? true) ? best : nil }
                switch (answer, truth) {
                case (nil, nil):
                    continue
                case (let answer?, nil):
                    outcome.wrong.append("(\(lat), \(lon)): answered row \(answer.row), brute force has none")
                case (nil, let truth?):
                    // Only acceptable when the truth sits on the max-km boundary.
                    if let maxKm = filter.maxKm, abs(truth.km - maxKm) <= tieKm { continue }
                    outcome.wrong.append("(\(lat), \(lon)): no answer, brute force has row \(truth.row)")
                case (let answer?, let truth?):
                    let km = answerKm ?? .infinity
                    if abs(answer.distanceKm - km) > tieKm {
                        outcome.wrong.append("(\(lat), \(lon)): reported \(answer.distanceKm) km, haversine \(km) km")
                    } else if answer.row == truth.row {
                        continue
                    } else if km <= truth.km + tieKm {
                        outcome.ties += 1
                    } else {
                        outcome.wrong.append(
                            "(\(lat), \(lon)): row \(answer.row) at \(km) km, brute force row \(truth.row) at \(truth.km) km"
                        )
                    }
                }
            }
            results.set(chunk, outcome)
        }
        return results.merged()
    }

    @Test("several thousand seeded points agree with the brute-force nearest place, ties aside")
    func unfiltered() throws {
        let geocoder = try GeoFixtures.geocoder()
        let points = Self.testPoints()
        let outcome = try Self.check(points, geocoder: geocoder)
        #expect(outcome.checked == points.count)
        #expect(outcome.wrong.isEmpty, "\(outcome.wrong.count) wrong, first: \(outcome.wrong.prefix(5))")
        // Points placed exactly on duplicated coordinates make genuine ties; there must not be many others.
        #expect(outcome.ties < points.count / 100)
    }

    @Test("with min-population, answers agree with a brute force over the places that big")
    func populationFilter() throws {
        let geocoder = try GeoFixtures.geocoder()
        let points = Array(Self.testPoints().prefix(600))
        for minimum in [0, 15_000, 1_000_000] {
            let filter = try GeocodeFilter(minPopulation: minimum)
            // Population as decoded from the resource: this checks the search's pruning, not the join.
            let outcome = try Self.check(points, geocoder: geocoder, filter: filter) { row in
                (geocoder.place(row: row)?.population ?? -1) >= minimum
            }
            #expect(outcome.wrong.isEmpty, "min \(minimum): \(outcome.wrong.prefix(5))")
        }
    }

    @Test("with max-km, answers agree with a brute force cut at that distance")
    func distanceFilter() throws {
        let geocoder = try GeoFixtures.geocoder()
        let points = Array(Self.testPoints().prefix(600))
        for maxKm in [0.0, 5, 50, 500] {
            let outcome = try Self.check(points, geocoder: geocoder, filter: GeocodeFilter(maxKm: maxKm))
            #expect(outcome.wrong.isEmpty, "max \(maxKm) km: \(outcome.wrong.prefix(5))")
        }
    }

    @Test("a batch spanning several parallel runs answers each point as a single query does")
    func largeBatch() throws {
        let geocoder = try GeoFixtures.geocoder()
        var generator = SplitMix64(state: 99)
        let points = try (0..<150_000).map { _ in
            let (lat, lon) = GeoFixtures.uniformPoint(&generator)
            return try Coordinate(latitude: lat, longitude: lon)
        }
        let batch = geocoder.matches(points)
        #expect(batch.count == points.count)
        var mismatches = 0
        for index in stride(from: 0, to: points.count, by: 7) where batch[index] != geocoder.match(points[index]) {
            mismatches += 1
        }
        #expect(mismatches == 0)
    }

    @Test("places with identical coordinates tie, and the lowest source row wins")
    func duplicateCoordinatesTieToLowestRow() throws {
        let geocoder = try GeoFixtures.geocoder()
        let places = GeoFixtures.places
        var firstRow: [String: Int] = [:]
        var duplicates: [(row: Int, lat: Double, lon: Double)] = []
        for row in places.latitude.indices {
            let key = "\(places.latitude[row]),\(places.longitude[row])"
            if let first = firstRow[key] {
                duplicates.append((first, places.latitude[row], places.longitude[row]))
            } else {
                firstRow[key] = row
            }
        }
        #expect(duplicates.count >= 233)  // the GeoNames README counts 233 repeated pairs
        for duplicate in duplicates {
            let answer = try #require(try geocoder.nearest(lat: duplicate.lat, lon: duplicate.lon))
            #expect(answer.row == duplicate.row)
            #expect(answer.distanceKm == 0)
        }
    }
}

/// Per-chunk outcomes written by `concurrentPerform`'s workers, each into its own slot.
private final class Results: @unchecked Sendable {
    private var slots: [GeoBruteForceTests.Outcome]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: .init(), count: count) }

    func set(_ index: Int, _ outcome: GeoBruteForceTests.Outcome) {
        lock.withLock { slots[index] = outcome }
    }

    func merged() -> GeoBruteForceTests.Outcome {
        lock.withLock {
            slots.reduce(into: .init()) { total, outcome in
                total.wrong += outcome.wrong
                total.ties += outcome.ties
                total.checked += outcome.checked
            }
        }
    }
}
