import CoreFoundation
import Enrich
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `photoseal-bench exif [--iterations N] FILE...`: reads every file's EXIF N times, once with
/// `ExifReader.read` alone and once also rendering the JSON object (as `photoseal exif --json`
/// does), and prints files/s and MB/s by wall clock and by CPU time, and the peak RSS.
enum ExifBench {
    static func run(_ arguments: [String]) {
        var iterations = 10
        var files: [String] = []
        var index = 0
        while index < arguments.count {
            if arguments[index] == "--iterations", index + 1 < arguments.count, let value = Int(arguments[index + 1]) {
                iterations = max(1, value)
                index += 2
            } else {
                files.append(arguments[index])
                index += 1
            }
        }
        guard !files.isEmpty else {
            print("usage: photoseal-bench exif [--iterations N] FILE...")
            return
        }
        let bytes = files.reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
        for json in [false, true] {
            var tags = 0
            var errors = 0
            var jsonBytes = 0
            let cpuStart = cpuSeconds()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations {
                for file in files {
                    let report = ExifReader.read(path: file)
                    tags += report.entries.count
                    if json { jsonBytes += report.jsonObject().utf8.count }
                    if report.error != nil { errors += 1 }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let cpu = cpuSeconds() - cpuStart
            let reads = Double(files.count * iterations)
            let megabytes = Double(bytes) * Double(iterations) / 1e6
            print(
                "photoseal-exif mode=\(json ? "read+json" : "read") files=\(files.count) iterations=\(iterations)",
                "seconds=\(format(seconds)) cpu_seconds=\(format(cpu))",
                "files_per_s=\(format(reads / seconds)) cpu_files_per_s=\(format(reads / cpu))",
                "mb_per_s=\(format(megabytes / seconds)) peak_rss_mb=\(format(peakRSSMegabytes()))",
                "tags=\(tags / iterations) errors=\(errors / iterations) json_bytes=\(jsonBytes / iterations)")
        }
    }

    private static func format(_ value: Double) -> String { String(format: "%.4f", value) }

    private static func usage() -> rusage {
        var usage = rusage()
        #if os(Linux)
            getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        return usage
    }

    /// User plus system CPU time of this process so far.
    private static func cpuSeconds() -> Double {
        let now = usage()
        return Double(now.ru_utime.tv_sec) + Double(now.ru_utime.tv_usec) / 1e6 + Double(now.ru_stime.tv_sec)
            + Double(now.ru_stime.tv_usec) / 1e6
    }

    /// Peak resident set size (ru_maxrss is in KiB on Linux).
    private static func peakRSSMegabytes() -> Double { Double(usage().ru_maxrss) / 1024 }
}
