import Foundation
import Testing

@testable import Enrich

@Suite("Geocoder: known places, antimeridian, poles and edge values", .tags(.unit))
struct GeoKnownPlacesTests {
    struct Known: Sendable, CustomTestStringConvertible {
        let lat: Double
        let lon: Double
        let city: String
        let cc: String
        var testDescription: String { "\(city) (\(lat), \(lon))" }
    }

    @Test(
        "a point in a big city's centre answers that city",
        arguments: [
            Known(lat: 48.8566, lon: 2.3522, city: "Paris", cc: "FR"),
            Known(lat: 41.8933, lon: 12.4829, city: "Rome", cc: "IT"),
            Known(lat: 40.7128, lon: -74.0060, city: "New York City", cc: "US"),
            Known(lat: 35.6895, lon: 139.6917, city: "Tokyo", cc: "JP"),
            Known(lat: -33.8688, lon: 151.2093, city: "Sydney", cc: "AU"),
            Known(lat: -1.2864, lon: 36.8172, city: "Nairobi", cc: "KE"),
        ])
    func knownCity(_ known: Known) throws {
        let place = try #require(try GeoFixtures.geocoder().nearest(lat: known.lat, lon: known.lon))
        #expect(place.city == known.city)
        #expect(place.countryCode == known.cc)
        #expect(place.distanceKm < 5)
    }

    @Test("country names come from the ISO 3166 table")
    func countryNames() throws {
        let geocoder = try GeoFixtures.geocoder()
        #expect(try geocoder.nearest(lat: 48.8566, lon: 2.3522)?.countryName == "France")
        #expect(try geocoder.nearest(lat: 37.5665, lon: 126.978)?.countryName == "Korea, Republic of")
        #expect(try geocoder.nearest(lat: -1.2864, lon: 36.8172)?.countryName == "Kenya")
    }

    @Test(
        "both sides of the antimeridian answer the same place across it",
        arguments: [(-16.5, 179.99, "FJ"), (65.0, 179.999, "RU"), (0.0, 180.0, "TV")])
    func antimeridian(_ lat: Double, _ eastLon: Double, _ cc: String) throws {
        let geocoder = try GeoFixtures.geocoder()
        let east = try #require(try geocoder.nearest(lat: lat, lon: eastLon))
        let west = try #require(try geocoder.nearest(lat: lat, lon: -eastLon))
        #expect(east.countryCode == cc)
        #expect(west.countryCode == cc)
        #expect(east.row == west.row)
        // The point at -180 equals the one at +180.
        if eastLon == 180 { #expect(east.distanceKm == west.distanceKm) }
    }

    @Test("(0, -180) answers the place 741 km away across the antimeridian, not one 1,261 km away")
    func equatorAtAntimeridian() throws {
        let place = try #require(try GeoFixtures.geocoder().nearest(lat: 0, lon: -180))
        #expect(place.countryCode == "TV")
        #expect(abs(place.distanceKm - 740.85) < 0.1)
    }

    @Test("at each pole the answer is the place nearest that pole, at its colatitude's distance")
    func poles() throws {
        let geocoder = try GeoFixtures.geocoder()
        let places = GeoFixtures.places
        // The places of highest and lowest latitude, from the fixture (GeoNames README: Longyearbyen, McMurdo).
        let northRow = places.byLatitude.last!
        let southRow = places.byLatitude.first!
        for lon in [-180.0, -90, 0, 45.5, 180] {
            let north = try #require(try geocoder.nearest(lat: 90, lon: lon))
            #expect(north.row == northRow)
            #expect(north.city == "Longyearbyen")
            let northKm = (90 - places.latitude[northRow]) * .pi / 180 * GeoFixtures.earthRadiusKm
            #expect(abs(north.distanceKm - northKm) < 1e-6)
            let south = try #require(try geocoder.nearest(lat: -90, lon: lon))
            #expect(south.row == southRow)
            #expect(south.city == "McMurdo Station")
            let southKm = (90 + places.latitude[southRow]) * .pi / 180 * GeoFixtures.earthRadiusKm
            #expect(abs(south.distanceKm - southKm) < 1e-6)
        }
    }

    @Test("(0, 0) in the Gulf of Guinea answers a place in Ghana")
    func nullIsland() throws {
        let place = try #require(try GeoFixtures.geocoder().nearest(lat: 0, lon: 0))
        #expect(place.countryCode == "GH")
        #expect(place.distanceKm > 500 && place.distanceKm < 700)
    }

    @Test("the extreme valid latitudes and longitudes are answered")
    func edgeValues() throws {
        let geocoder = try GeoFixtures.geocoder()
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, -180.0), (-0.0, -0.0), (89.9999999, 179.9999999)] {
            #expect(try geocoder.nearest(lat: lat, lon: lon) != nil)
        }
        #expect(try geocoder.nearest(lat: 0.0, lon: -0.0)?.row == geocoder.nearest(lat: -0.0, lon: 0.0)?.row)
    }

    @Test(
        "coordinates out of range or not finite are refused with invalidCoordinate",
        arguments: [
            (90.0000001, 0.0), (-90.0000001, 0.0), (0.0, 180.0000001), (0.0, -180.0000001),
            (Double.nan, 0.0), (0.0, Double.nan), (Double.infinity, 0.0), (0.0, -Double.infinity),
            (1e300, 0.0),
        ])
    func badCoordinates(_ lat: Double, _ lon: Double) throws {
        let geocoder = try GeoFixtures.geocoder()
        let error = #expect(throws: EnrichError.self) { try geocoder.nearest(lat: lat, lon: lon) }
        #expect(error?.code == .invalidCoordinate)
        #expect(error?.isRetriable == false)
        #expect(error?.description.contains("-90...90") == true || error?.description.contains("-180...180") == true)
    }

    @Test("a negative or non-finite distance and a negative population are refused")
    func badFilters() {
        for km in [-1.0, -Double.ulpOfOne, .nan, -.infinity] {
            #expect(throws: EnrichError.self) { try GeocodeFilter(maxKm: km) }
        }
        #expect(throws: EnrichError.self) { try GeocodeFilter(minPopulation: -1) }
        #expect((try? GeocodeFilter(maxKm: .infinity, minPopulation: 0)) != nil)
    }

    @Test("a place farther than max-km is no answer; within it, the same answer as unfiltered")
    func maxKm() throws {
        let geocoder = try GeoFixtures.geocoder()
        // Mid-Pacific: the nearest place is hundreds of km away.
        let open = try #require(try geocoder.nearest(lat: 0, lon: -150))
        #expect(open.distanceKm > 100)
        #expect(try geocoder.nearest(lat: 0, lon: -150, filter: GeocodeFilter(maxKm: 100)) == nil)
        let within = try geocoder.nearest(lat: 0, lon: -150, filter: GeocodeFilter(maxKm: open.distanceKm + 0.001))
        #expect(within?.row == open.row)
        // A place exactly at the query point passes max-km 0.
        let paris = try #require(geocoder.place(row: 51653))
        let exact = try geocoder.nearest(lat: paris.latitude, lon: paris.longitude, filter: GeocodeFilter(maxKm: 0))
        #expect(exact?.row == 51653)
        #expect(exact?.distanceKm == 0)
    }

    @Test("min-population skips smaller places: a Tokyo suburb point answers Tokyo itself at ≥ 5 million")
    func minPopulation() throws {
        let geocoder = try GeoFixtures.geocoder()
        let suburb = try #require(try geocoder.nearest(lat: 35.70, lon: 139.56))  // Mitaka-shi
        #expect(suburb.city != "Tokyo")
        let big = try #require(
            try geocoder.nearest(lat: 35.70, lon: 139.56, filter: GeocodeFilter(minPopulation: 5_000_000)))
        #expect(big.city == "Tokyo")
        #expect((big.population ?? 0) >= 5_000_000)
        // No place has a population of a billion.
        #expect(try geocoder.nearest(lat: 0, lon: 0, filter: GeocodeFilter(minPopulation: 1_000_000_000)) == nil)
    }

    @Test("the async batch call answers like the single-point call")
    func asyncBatch() async throws {
        let geocoder = try GeoFixtures.geocoder()
        let points = try [(48.8566, 2.3522), (-33.8688, 151.2093), (90.0, 0.0)].map {
            try Coordinate(latitude: $0.0, longitude: $0.1)
        }
        let batch = await geocoder.matches(points)
        #expect(batch.count == 3)
        for (point, match) in zip(points, batch) {
            #expect(match == geocoder.match(point))
        }
    }
}
