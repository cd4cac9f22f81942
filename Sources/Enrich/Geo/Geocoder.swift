import Dispatch
public import Foundation

/// A point on the Earth in decimal degrees (WGS84), validated when it is made.
public struct Coordinate: Sendable, Hashable {
    /// Latitude in degrees, -90...90 (south negative).
    public let latitude: Double
    /// Longitude in degrees, -180...180 (west negative).
    public let longitude: Double

    /// Creates a coordinate.
    /// - Throws: ``EnrichError/Code/invalidCoordinate`` when a value is not finite or lies
    ///   outside -90...90 (latitude) or -180...180 (longitude).
    public init(latitude: Double, longitude: Double) throws(EnrichError) {
        guard latitude.isFinite, (-90.0...90.0).contains(latitude) else {
            throw EnrichError(
                .invalidCoordinate, input: "latitude", detail: "not a finite number within -90...90")
        }
        guard longitude.isFinite, (-180.0...180.0).contains(longitude) else {
            throw EnrichError(
                .invalidCoordinate, input: "longitude", detail: "not a finite number within -180...180")
        }
        self.latitude = latitude
        self.longitude = longitude
    }
}

/// Which places a query may answer with.
public struct GeocodeFilter: Sendable, Hashable {
    /// The greatest distance in km a place may lie from the query point; `nil` for no limit.
    public let maxKm: Double?
    /// The smallest population a place must have; `nil` for no limit. When set, places whose
    /// population is unknown are skipped too.
    public let minPopulation: Int?

    /// No filter: the nearest place of all, however far and however small.
    public static let unfiltered = GeocodeFilter(uncheckedMaxKm: nil, minPopulation: nil)

    /// Creates a filter.
    /// - Parameters:
    ///   - maxKm: the farthest a place may be, in km (≥ 0); `nil` (the default) for no limit.
    ///   - minPopulation: the smallest population a place must have (≥ 0); `nil` (the default)
    ///     keeps places of any or unknown population.
    /// - Throws: ``EnrichError/Code/invalidFilter`` for a negative or non-finite distance or a
    ///   negative population.
    public init(maxKm: Double? = nil, minPopulation: Int? = nil) throws(EnrichError) {
        if let maxKm, !(maxKm >= 0) || maxKm.isNaN {
            throw EnrichError(.invalidFilter, input: "max-km \(maxKm)", detail: "the distance must be ≥ 0")
        }
        if let minPopulation, minPopulation < 0 {
            throw EnrichError(
                .invalidFilter, input: "min-population \(minPopulation)", detail: "the population must be ≥ 0")
        }
        self.init(uncheckedMaxKm: maxKm, minPopulation: minPopulation)
    }

    private init(uncheckedMaxKm: Double?, minPopulation: Int?) {
        self.maxKm = uncheckedMaxKm
        self.minPopulation = minPopulation
    }
}

/// The answer to one query in compact form: which place, and how far away.
///
/// Turn it into names with ``Geocoder/place(for:)``.
public struct PlaceMatch: Sendable, Hashable {
    /// The place's stable id: its 0-based data row in GeoNames `rg_cities1000.csv`.
    public let row: Int
    /// Great-circle distance from the query point to the place, in km.
    public let distanceKm: Double
    let position: Int32
}

/// A place answered for a query point, with its names and its distance from that point.
public struct Place: Sendable, Hashable, Codable {
    /// The place's name (GeoNames ASCII name), e.g. `Paris`.
    public let city: String
    /// First-level administrative division (state, region), ASCII; empty when GeoNames has none.
    public let admin1: String
    /// Second-level administrative division (county, department), ASCII; may be empty.
    public let admin2: String
    /// ISO 3166-1 alpha-2 country code, e.g. `FR`.
    public let countryCode: String
    /// The country's English name, e.g. `France`.
    public let countryName: String
    /// The place's latitude in degrees.
    public let latitude: Double
    /// The place's longitude in degrees.
    public let longitude: Double
    /// Population from the GeoNames extract, or `nil` where it is unknown.
    public let population: Int?
    /// Great-circle distance from the query point, in km (mean Earth radius 6371.0088 km).
    public let distanceKm: Double
    /// The place's stable id: its 0-based data row in GeoNames `rg_cities1000.csv`.
    public let row: Int
}

/// Offline reverse geocoder over the GeoNames places with population ≥ 1000 bundled with
/// photoseal: the truly nearest place by great-circle distance, in microseconds.
///
/// The value is immutable and `Sendable`: share one across any number of tasks and threads.
/// Load it once with ``bundled()`` (cached) or ``init(directory:)``; loading maps three files
/// and takes a few milliseconds.
///
/// Distances are great-circle distances on a sphere with the mean Earth radius 6371.0088 km
/// (IUGG). The search is exact (a k-d tree over 3-D unit vectors, where chord length orders
/// places as great-circle distance does), so it is right across the antimeridian and at the
/// poles; equally near places are broken by the lowest source row.
public struct Geocoder: Sendable {
    /// The mean Earth radius used for distances, in km.
    public static let earthRadiusKm = 6371.0088

    /// The environment variable that points at a folder holding the `geonames-*.bin` files.
    public static let directoryEnvironmentVariable = "PHOTOSEAL_GEONAMES_DIR"

    let index: GeoIndex

    /// The number of places in the index.
    public var placeCount: Int { index.count }

    /// Loads the index from a folder holding `geonames-points.bin`, `geonames-tree.bin` and
    /// `geonames-names.bin` (as built by `scripts/build-geonames-index.py`).
    /// - Throws: ``EnrichError/Code/resourceMissing`` when a file cannot be read,
    ///   ``EnrichError/Code/resourceCorrupt`` when one is damaged.
    public init(directory: URL) throws(EnrichError) {
        index = try GeoIndex(directory: directory.path)
    }

    private static let cached: Result<Geocoder, EnrichError> = {
        guard let directory = locateResources() else {
            return .failure(
                EnrichError(
                    .resourceMissing, input: "geonames-points.bin",
                    detail: "the GeoNames index was not found beside the executable"))
        }
        do throws(EnrichError) {
            return .success(try Geocoder(directory: directory))
        } catch {
            return .failure(error)
        }
    }()

    /// The geocoder over the index bundled with photoseal, loaded on first use and shared.
    ///
    /// Looks in `$PHOTOSEAL_GEONAMES_DIR`, then in the `Enrich` resource bundle beside the
    /// executable (or test bundle), then in the source tree it was built from.
    /// - Throws: ``EnrichError/Code/resourceMissing`` or ``EnrichError/Code/resourceCorrupt``.
    public static func bundled() throws(EnrichError) -> Geocoder {
        try cached.get()
    }

    static func locateResources() -> URL? {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment[directoryEnvironmentVariable], !override.isEmpty {
            candidates.append(URL(fileURLWithPath: override))
        }
        var bundleDirectories = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            bundleDirectories.append(executable.deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles {
            bundleDirectories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for directory in bundleDirectories {
            for bundleName in ["photoseal_Enrich.resources", "photoseal_Enrich.bundle"] {
                let bundleURL = directory.appendingPathComponent(bundleName)
                candidates.append(bundleURL.appendingPathComponent("Resources"))
                candidates.append(bundleURL.appendingPathComponent("Contents/Resources/Resources"))
            }
        }
        // Sources/Enrich/Geo/Geocoder.swift -> Sources/Enrich/Resources: a binary run from its build tree.
        candidates.append(
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Resources"))
        return candidates.first { candidate in
            GeoIndex.fileNames.allSatisfy { fileManager.fileExists(atPath: candidate.appendingPathComponent($0).path) }
        }
    }

    /// The nearest place to a point, or `nil` when the filter leaves none.
    /// - Parameters:
    ///   - lat: latitude in degrees, -90...90.
    ///   - lon: longitude in degrees, -180...180.
    ///   - filter: which places may answer; unfiltered by default.
    /// - Throws: ``EnrichError/Code/invalidCoordinate`` for a value out of range or not finite.
    public func nearest(lat: Double, lon: Double, filter: GeocodeFilter = .unfiltered) throws(EnrichError) -> Place? {
        let coordinate = try Coordinate(latitude: lat, longitude: lon)
        return match(coordinate, filter: filter).flatMap(place(for:))
    }

    /// The nearest place to a coordinate in compact form, or `nil` when the filter leaves none.
    public func match(_ coordinate: Coordinate, filter: GeocodeFilter = .unfiltered) -> PlaceMatch? {
        let search = Search(filter)
        return search.run(index.tree, coordinate.latitude, coordinate.longitude)
    }

    /// The nearest place to each coordinate, computed on every core; blocks the calling thread.
    ///
    /// Runs `DispatchQueue.concurrentPerform` over chunks of the input. From async code use
    /// ``matches(_:filter:)-async``, which leaves Swift's cooperative thread pool free.
    /// - Returns: one entry per input, in order: `nil` where the filter leaves no place.
    public func matches(_ coordinates: [Coordinate], filter: GeocodeFilter = .unfiltered) -> [PlaceMatch?] {
        let search = Search(filter)
        return coordinates.withUnsafeBytes { input in
            [PlaceMatch?](unsafeUninitializedCapacity: coordinates.count) { output, initialized in
                if let base = input.baseAddress, let results = output.baseAddress {
                    let table = QueryTable(
                        base: base, count: coordinates.count, stride: MemoryLayout<Coordinate>.stride,
                        latitudeOffset: MemoryLayout<Coordinate>.offset(of: \.latitude) ?? 0,
                        longitudeOffset: MemoryLayout<Coordinate>.offset(of: \.longitude) ?? 8)
                    solve(table, search: search, into: results)
                }
                initialized = coordinates.count
            }
        }
    }

    /// The nearest place to each coordinate, computed on every core on Dispatch's threads, so
    /// the awaiting task does not block Swift's cooperative thread pool.
    /// - Returns: one entry per input, in order: `nil` where the filter leaves no place.
    public func matches(_ coordinates: [Coordinate], filter: GeocodeFilter = .unfiltered) async -> [PlaceMatch?] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: self.matches(coordinates, filter: filter))
            }
        }
    }

    /// The names, position and population of a matched place; `nil` for a match that did not
    /// come from this geocoder's index.
    public func place(for match: PlaceMatch) -> Place? {
        let position = Int(match.position)
        guard position >= 0, position < index.count, Int(index.row[position]) == match.row else { return nil }
        let population = index.population[position]
        return Place(
            city: index.name(at: position), admin1: index.admin1(at: position), admin2: index.admin2(at: position),
            countryCode: index.countryCode(at: position), countryName: index.countryName(at: position),
            latitude: Double(index.latitudeE6[position]) / 1e6, longitude: Double(index.longitudeE6[position]) / 1e6,
            population: population >= 0 ? Int(population) : nil, distanceKm: match.distanceKm, row: match.row)
    }

    /// The place in data row `row` of `rg_cities1000.csv` (0-based), at distance 0; `nil` when
    /// there is no such row.
    public func place(row: Int) -> Place? {
        guard row >= 0, row < index.count else { return nil }
        let position = Int32(index.position[row])
        return place(for: PlaceMatch(row: row, distanceKm: 0, position: position))
    }
}

/// One query's fixed parameters, turned into the tree's terms.
struct Search: Sendable {
    let limit: Double
    let maxKm: Double?
    let minPopulation: Int32?

    init(_ filter: GeocodeFilter) {
        maxKm = filter.maxKm
        if let maxKm = filter.maxKm {
            // Half the chord angle; ≥ π/2 reaches the antipode, so every place qualifies.
            let halfAngle = maxKm / Geocoder.earthRadiusKm / 2
            if halfAngle >= .pi / 2 {
                limit = .infinity
            } else {
                let chord = 2 * sin(halfAngle)
                limit = chord * chord * (1 + 1e-9)
            }
        } else {
            limit = .infinity
        }
        minPopulation = filter.minPopulation.map { Int32(clamping: $0) }
    }

    /// Runs the query for a point already checked to be in range.
    @inline(__always)
    func run(_ tree: KDTree, _ latitude: Double, _ longitude: Double, hint: Int = -1) -> PlaceMatch? {
        let phi = SinCos(degrees: latitude)
        // -180° and 180° are one meridian: answer them identically.
        let lambda = SinCos(degrees: longitude == -180 ? 180 : longitude)
        let best = tree.nearest(
            x: phi.cos * lambda.cos, y: phi.cos * lambda.sin, z: phi.sin, limit: limit, minPopulation: minPopulation,
            hint: hint)
        guard best.position >= 0 else { return nil }
        let chord = best.distance.squareRoot()
        let km = 2 * asin(min(1, chord / 2)) * Geocoder.earthRadiusKm
        if let maxKm, km > maxKm { return nil }
        return PlaceMatch(row: Int(best.row), distanceKm: km, position: Int32(best.position))
    }
}

/// Sine and cosine of an angle in degrees, -180...180, computed operation for operation as
/// `sin_cos_degrees` in `scripts/build-geonames-index.py`: a query at a place's exact coordinates
/// gets the very same unit vector as the index (distance exactly 0) whatever the platform's libm.
/// The reduction to -45°...45° is exact; Taylor polynomials to t¹⁷ / t¹⁸ by Horner's rule then
/// stay within a few units in the last place (truncation below 1e-19 for |t| ≤ π/4).
struct SinCos {
    let sin: Double
    let cos: Double

    private static let sinCoefficients: [Double] = stride(from: 8, through: 1, by: -1).map { k in
        (k % 2 == 1 ? -1.0 : 1.0) / factorial(2 * k + 1)
    }
    private static let cosCoefficients: [Double] = stride(from: 9, through: 1, by: -1).map { k in
        (k % 2 == 1 ? -1.0 : 1.0) / factorial(2 * k)
    }

    /// n! as a `Double` (exact up to 18!).
    private static func factorial(_ n: Int) -> Double {
        Double((1...n).reduce(1, *))
    }

    @inline(__always)
    init(degrees x: Double) {
        let quadrant = (x / 90).rounded(.toNearestOrEven)
        let t = (x - 90 * quadrant) * (.pi / 180)
        let t2 = t * t
        var p = 0.0
        var q = 0.0
        Self.sinCoefficients.withUnsafeBufferPointer { coefficients in
            for c in coefficients { p = p * t2 + c }
        }
        Self.cosCoefficients.withUnsafeBufferPointer { coefficients in
            for c in coefficients { q = q * t2 + c }
        }
        let s = t + t * (t2 * p)
        let c = 1 + t2 * q
        switch (Int(quadrant) % 4 + 4) % 4 {
        case 0: (sin, cos) = (s, c)
        case 1: (sin, cos) = (c, -s)
        case 2: (sin, cos) = (-s, -c)
        default: (sin, cos) = (-c, s)
        }
    }
}
