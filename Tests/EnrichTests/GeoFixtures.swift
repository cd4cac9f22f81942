import Foundation
import TestSupport
import Testing

@testable import Enrich

/// Reference data for the geocoder tests, read from fixtures copied out of
/// ../shared/testdata/geonames (see Fixtures/README.md), never from photoseal's index.
enum GeoFixtures {
    static let earthRadiusKm = 6371.0088

    static func url(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
    }

    /// Every place's coordinates in source-row order, parsed from the fixture's text.
    struct Places: Sendable {
        let latitude: [Double]
        let longitude: [Double]
        /// Row numbers ordered by latitude, for a latitude-band scan.
        let byLatitude: [Int]
        let sortedLatitude: [Double]
    }

    static let places: Places = {
        let text = (try? String(contentsOf: url("geonames-latlon.csv"), encoding: .utf8)) ?? ""
        var latitude: [Double] = []
        var longitude: [Double] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",")
            latitude.append(Double(fields[0]) ?? .nan)
            longitude.append(Double(fields[1]) ?? .nan)
        }
        let order = latitude.indices.sorted { latitude[$0] < latitude[$1] }
        return Places(
            latitude: latitude, longitude: longitude, byLatitude: order, sortedLatitude: order.map { latitude[$0] })
    }()

    /// Great-circle distance by the haversine formula (the index uses chord lengths of unit
    /// vectors instead, so the two computations share nothing).
    static func haversineKm(_ lat1: Double, _ lon1: Double, _ lat2: Double, _ lon2: Double) -> Double {
        let phi1 = lat1 * .pi / 180
        let phi2 = lat2 * .pi / 180
        let dPhi = (lat2 - lat1) * .pi / 180
        let dLambda = (lon2 - lon1) * .pi / 180
        let h = sin(dPhi / 2) * sin(dPhi / 2) + cos(phi1) * cos(phi2) * sin(dLambda / 2) * sin(dLambda / 2)
        return 2 * earthRadiusKm * asin(min(1, h.squareRoot()))
    }

    /// The brute-force nearest place: every place whose latitude lies within `bound` km of the
    /// query's (no place outside that band can be nearer than `bound`), the lowest row on ties.
    static func bruteForce(
        _ lat: Double, _ lon: Double, within bound: Double, where include: (Int) -> Bool = { _ in true }
    ) -> (row: Int, km: Double)? {
        let band = bound / earthRadiusKm * 180 / .pi + 1e-6
        let sorted = places.sortedLatitude
        var low = 0
        var high = sorted.count
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < lat - band { low = mid + 1 } else { high = mid }
        }
        var best: (row: Int, km: Double)?
        var index = low
        while index < sorted.count, sorted[index] <= lat + band {
            let row = places.byLatitude[index]
            index += 1
            guard include(row) else { continue }
            let km = haversineKm(lat, lon, places.latitude[row], places.longitude[row])
            if let current = best, km > current.km || (km == current.km && row > current.row) { continue }
            best = (row, km)
        }
        return best
    }

    /// A point uniformly distributed on the sphere.
    static func uniformPoint(_ generator: inout SplitMix64) -> (Double, Double) {
        let z = Double.random(in: -1...1, using: &generator)
        return (asin(z) * 180 / .pi, Double.random(in: -180...180, using: &generator))
    }

    static func geocoder() throws -> Geocoder {
        try Geocoder.bundled()
    }
}
