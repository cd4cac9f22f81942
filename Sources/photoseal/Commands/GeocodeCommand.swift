import ArgumentParser
import Foundation
import Ingest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `photoseal geocode`: the nearest GeoNames place to a coordinate, offline.
struct GeocodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "geocode",
        abstract: "Find the nearest place (city, region, country) to a coordinate, offline.",
        usage: """
            photoseal geocode LAT LON [--json] [--max-km <km>] [--min-population <n>]
              photoseal geocode --csv [--max-km <km>] [--min-population <n>] < points.csv > places.csv
            """,
        discussion: """
            Answers the truly nearest place by great-circle distance from the bundled GeoNames \
            places with population ≥ 1000 (data from GeoNames.org, CC BY 4.0).

            Examples:
              photoseal geocode 48.8566 2.3522
              photoseal geocode -33.8688 151.2093 --json
              photoseal geocode 0 -150 --max-km 100          (open ocean: no place)
              printf '35.6895,139.6917\\n-1.2864,36.8172\\n' | photoseal geocode --csv

            --csv reads "lat,lon" lines on stdin and writes RFC 4180 CSV with the header \
            lat,lon,city,admin1,admin2,cc,country,distance_km. A bad line gets a row whose \
            distance_km reads "error: <reason>"; the run goes on and exits with status 1.
            """
    )

    @Flag(help: "Read \"lat,lon\" lines on stdin and write CSV rows to stdout.")
    var csv = false

    @Flag(help: "Print the place as one JSON object.")
    var json = false

    @Option(
        name: .customLong("max-km"), help: ArgumentHelp("Answer no place when the nearest is farther.", valueName: "km")
    )
    var maxKm: Double?

    @Option(
        name: .customLong("min-population"),
        help: ArgumentHelp("Skip places smaller than this, or of unknown population.", valueName: "n"))
    var minPopulation: Int?

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp(
            "Latitude and longitude in decimal degrees (negative numbers work as they are).",
            valueName: "lat lon"))
    var coordinates: [String] = []

    /// LAT and LON as given, without a `--` separator some users put before negative numbers.
    private var values: [String] { coordinates.filter { $0 != "--" } }

    func validate() throws {
        guard UsageChecks.enabled else { return }
        if let maxKm, !(maxKm >= 0) {
            throw ValidationError("'--max-km' must be a distance in km ≥ 0.")
        }
        if let minPopulation, minPopulation < 0 {
            throw ValidationError("'--min-population' must be ≥ 0.")
        }
        if csv {
            guard values.isEmpty else {
                throw ValidationError(
                    "'--csv' reads coordinates from stdin: give no LAT LON arguments or other options.")
            }
            guard !json else { throw ValidationError("'--json' and '--csv' cannot be combined.") }
            return
        }
        if let option = values.first(where: { $0.hasPrefix("-") && Double($0) == nil }) {
            throw ValidationError("Unknown option '\(option)'.")
        }
        guard values.count == 2 else {
            throw ValidationError("Give LAT and LON (two numbers, e.g. 48.8566 2.3522), or '--csv'.")
        }
        _ = try point()
    }

    private func point() throws -> Coordinate {
        let values = values
        guard let latitude = Double(values[0]), latitude.isFinite, (-90.0...90.0).contains(latitude) else {
            throw ValidationError("LAT must be a number within -90...90.")
        }
        guard let longitude = Double(values[1]), longitude.isFinite, (-180.0...180.0).contains(longitude) else {
            throw ValidationError("LON must be a number within -180...180.")
        }
        return try Coordinate(latitude: latitude, longitude: longitude)
    }

    func run() throws {
        let geocoder = try Geocoder.bundled()
        let filter = try GeocodeFilter(maxKm: maxKm, minPopulation: minPopulation)
        if csv {
            try streamCSV(geocoder: geocoder, filter: filter)
            return
        }
        let point = try point()
        let place = geocoder.match(point, filter: filter).flatMap(geocoder.place(for:))
        if json {
            print(Self.json(point, place))
        } else if let place {
            print(Self.text(place))
        } else {
            print(
                "no place" + (maxKm.map { " within \($0) km" } ?? "")
                    + (minPopulation.map { " with population ≥ \($0)" } ?? ""))
        }
    }

    static func text(_ place: Place) -> String {
        var lines = ["city:        \(place.city)"]
        if !place.admin1.isEmpty { lines.append("admin1:      \(place.admin1)") }
        if !place.admin2.isEmpty { lines.append("admin2:      \(place.admin2)") }
        lines.append("country:     \(place.countryName) (\(place.countryCode))")
        lines.append("population:  \(place.population.map(String.init) ?? "unknown")")
        lines.append("location:    \(place.latitude), \(place.longitude)")
        lines.append("distance_km: \(kilometres(place.distanceKm))")
        return lines.joined(separator: "\n")
    }

    static func kilometres(_ km: Double) -> String {
        let metres = Int((km * 1000).rounded())
        let fraction = String(metres % 1000)
        return "\(metres / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// One JSON object with the CSV's keys plus population; place keys are null when none.
    static func json(_ point: Coordinate, _ place: Place?) -> String {
        func quoted(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        var fields = ["\"lat\":\(point.latitude)", "\"lon\":\(point.longitude)"]
        if let place {
            fields += [
                "\"city\":\(quoted(place.city))", "\"admin1\":\(quoted(place.admin1))",
                "\"admin2\":\(quoted(place.admin2))", "\"cc\":\(quoted(place.countryCode))",
                "\"country\":\(quoted(place.countryName))", "\"distance_km\":\(kilometres(place.distanceKm))",
                "\"population\":\(place.population.map(String.init) ?? "null")",
            ]
        } else {
            fields += ["city", "admin1", "admin2", "cc", "country", "distance_km", "population"].map {
                "\"\($0)\":null"
            }
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    private func streamCSV(geocoder: Geocoder, filter: GeocodeFilter) throws {
        var converter = GeocodeCSVConverter(geocoder: geocoder, filter: filter)
        Self.writeAll(GeocodeCSVConverter.header)
        var badCount = 0
        func report(_ result: GeocodeCSVConverter.Output) {
            // One large write per block of input, not one per row.
            Self.writeAll(result.bytes)
            for bad in result.badLines {
                badCount += 1
                if badCount <= 20 { Self.stderr("photoseal geocode: line \(bad.line): \(bad.reason)\n") }
            }
        }
        let capacity = 1 << 22
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var atEnd = false
        while !atEnd {
            // Fill the buffer while input is ready at once: big blocks for a fast producer,
            // prompt rows for one that writes a line now and then.
            var filled = 0
            repeat {
                let count = read(STDIN_FILENO, buffer.baseAddress! + filled, capacity - filled)
                if count < 0 {
                    if errno == EINTR { continue }
                    Self.stderr("photoseal geocode: cannot read stdin (errno \(errno))\n")
                    throw ExitCode(1)
                }
                if count == 0 {
                    atEnd = true
                    break
                }
                filled += count
            } while filled < capacity && Self.inputReady()
            report(converter.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<filled])))
        }
        report(converter.finish())
        if badCount > 20 { Self.stderr("photoseal geocode: … and \(badCount - 20) more bad lines\n") }
        if badCount > 0 {
            Self.stderr(
                "photoseal geocode: \(badCount) of \(converter.linesRead) lines were bad (see the error rows)\n")
            throw ExitCode(1)
        }
    }

    /// Writes all of `bytes` to stdout (a closed pipe ends the process through SIGPIPE).
    private static func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(STDOUT_FILENO, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    private static func inputReady() -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    private static func stderr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
