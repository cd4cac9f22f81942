// Benchmarks print numbers; scripts/bench-*.sh run them beside the peer tools.
print("usage: photoseal-bench <fernet|exif|geocode> ...")
