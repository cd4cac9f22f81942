// Benchmarks print numbers; scripts/bench-*.sh run them beside the peer tools.
try await StoreBench.runIfRequested(CommandLine.arguments)
print("usage: photoseal-bench <fernet|exif|geocode|store> ...")
