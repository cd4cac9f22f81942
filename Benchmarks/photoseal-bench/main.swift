// Benchmarks print numbers; scripts/bench-*.sh run them beside the peer tools.
if CommandLine.arguments.dropFirst().first == "store" { try await StoreBench.main(Array(CommandLine.arguments.dropFirst(2))) }
print("usage: photoseal-bench <fernet|exif|geocode|store> ...")
