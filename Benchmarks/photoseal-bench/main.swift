import Foundation

// Benchmarks print numbers; scripts/bench-*.sh run them beside the peer tools.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "exif" {
    ExifBench.run(Array(CommandLine.arguments.dropFirst(2))); exit(0)
}
print("usage: photoseal-bench <fernet|exif|geocode> ...")
