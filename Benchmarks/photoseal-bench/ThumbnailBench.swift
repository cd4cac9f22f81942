import Foundation
import Ingest

/// `photoseal-bench thumbnails [--side N] [--iterations N] FILE...`: makes an N-pixel JPEG copy
/// of every file, `iterations` times, with `ImageScaler` (libjpeg-turbo scaled decoding) on one
/// thread, and prints thumbnails/s by wall clock and by CPU time, and the mean input size.
enum ThumbnailBench {
    static func run(_ arguments: [String]) throws {
        var side = 320
        var iterations = 20
        var files: [String] = []
        var index = 0
        while index < arguments.count {
            if arguments[index] == "--side", index + 1 < arguments.count, let value = Int(arguments[index + 1]) {
                side = value
                index += 2
            } else if arguments[index] == "--iterations", index + 1 < arguments.count,
                let value = Int(arguments[index + 1])
            {
                iterations = max(1, value)
                index += 2
            } else {
                files.append(arguments[index])
                index += 1
            }
        }
        guard !files.isEmpty else {
            print("usage: photoseal-bench thumbnails [--side N] [--iterations N] FILE...")
            return
        }
        let originals = try files.map { [UInt8](try Data(contentsOf: URL(fileURLWithPath: $0))) }
        let meanKB = Double(originals.reduce(0) { $0 + $1.count }) / Double(originals.count) / 1024
        var outputBytes = 0
        let cpuStart = processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations {
            for original in originals {
                outputBytes += try ImageScaler.scaledJPEG(original, maxSide: side).bytes.count
            }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let cpu = processCPUSeconds() - cpuStart
        let count = Double(iterations * originals.count)
        print(
            String(
                format:
                    "thumbnails side=%d: %d from %.0f KB JPEGs, %.1f/s wall, %.1f/s per CPU second, mean copy %.1f KB",
                side, Int(count), meanKB, count / wall, count / cpu, Double(outputBytes) / count / 1024))
    }
}
