// Benchmarks print numbers; scripts/bench-*.sh run them beside the peer tools.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "geocode": GeocodeBench.run(Array(arguments.dropFirst()))
default: print("usage: photoseal-bench <fernet|exif|geocode> ...")
}
