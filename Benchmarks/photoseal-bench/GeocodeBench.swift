import Dispatch
import Enrich
import Foundation

/// `photoseal-bench geocode POINTS_FILE [RESOURCE_DIR]`: start-up time and queries/s of the
/// library's batch API on the "lat,lon" lines of POINTS_FILE. Prints `key=value` lines.
enum GeocodeBench {
    /// CPU time used by the whole process so far (all threads), in seconds.
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }

    static func run(_ arguments: [String]) {
        guard let path = arguments.first, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            print("usage: photoseal-bench geocode POINTS_FILE [RESOURCE_DIR]")
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
                try arguments.count > 1
                ? Geocoder(directory: URL(fileURLWithPath: arguments[1])) : Geocoder.bundled()
        } catch {
            print("error=\(error)")
            return
        }
        _ = geocoder.match(points[0])
        let startup = clock.now - loadStart

        // Warm-up on a slice, then the timed batch over every point.
        _ = geocoder.matches(Array(points.prefix(50_000)))
        let cpuStart = cpuSeconds()
        let queryStart = clock.now
        let matches = geocoder.matches(points)
        let elapsed = clock.now - queryStart
        let cpu = cpuSeconds() - cpuStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let startupMs =
            Double(startup.components.seconds) * 1e3 + Double(startup.components.attoseconds) * 1e-15
        let found = matches.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        print("points=\(points.count)")
        print("found=\(found)")
        print("cores=\(ProcessInfo.processInfo.activeProcessorCount)")
        print("startup_ms=\(startupMs)")
        print("seconds=\(seconds)")
        print("qps=\(Double(points.count) / seconds)")
        print("cpu_us_per_query=\(cpu / Double(points.count) * 1e6)")
    }
}
