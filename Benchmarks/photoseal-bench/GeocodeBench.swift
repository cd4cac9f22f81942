import Dispatch
import Enrich
import Foundation

/// `photoseal-bench geocode POINTS_FILE [RESOURCE_DIR|-] [REPEATS]`: start-up time and queries/s
/// of the library's batch API on the "lat,lon" lines of POINTS_FILE (best of REPEATS runs).
/// Prints `key=value` lines.
enum GeocodeBench {
    /// CPU time used by the whole process so far (all threads), in seconds.
    static func cpuSeconds() -> Double { processCPUSeconds() }

    static func run(_ arguments: [String]) {
        guard let path = arguments.first, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            print("usage: photoseal-bench geocode POINTS_FILE [RESOURCE_DIR|-] [REPEATS]")
            return
        }
        var points: [Coordinate] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",")
            guard fields.count == 2, let lat = Double(fields[0]), let lon = Double(fields[1]),
                let point = try? Coordinate(latitude: lat, longitude: lon)
            else { continue }
            points.append(point)
        }

        // Start-up: map and check the index, then answer one query.
        let clock = ContinuousClock()
        let loadStart = clock.now
        let geocoder: Geocoder
        do {
            geocoder =
                try arguments.count > 1 && arguments[1] != "-"
                ? Geocoder(directory: URL(fileURLWithPath: arguments[1])) : Geocoder.bundled()
        } catch {
            print("error=\(error)")
            return
        }
        _ = geocoder.match(points[0])
        let startup = clock.now - loadStart

        // Warm-up on a slice, then the timed batch over every point, `repeats` times: the best
        // wall time and the least CPU time count (the machine may be shared).
        _ = geocoder.matches(Array(points.prefix(50_000)))
        let repeats = max(1, arguments.count > 2 ? Int(arguments[2]) ?? 1 : 1)
        var seconds = Double.infinity
        var cpu = Double.infinity
        var found = 0
        for _ in 0..<repeats {
            let cpuStart = cpuSeconds()
            let queryStart = clock.now
            let matches = geocoder.matches(points)
            let elapsed = clock.now - queryStart
            cpu = min(cpu, cpuSeconds() - cpuStart)
            seconds = min(seconds, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            found = matches.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        }
        let startupMs =
            Double(startup.components.seconds) * 1e3 + Double(startup.components.attoseconds) * 1e-15
        print("points=\(points.count)")
        print("found=\(found)")
        print("cores=\(ProcessInfo.processInfo.activeProcessorCount)")
        print("startup_ms=\(startupMs)")
        print("seconds=\(seconds)")
        print("qps=\(Double(points.count) / seconds)")
        print("cpu_us_per_query=\(cpu / Double(points.count) * 1e6)")
    }
}
