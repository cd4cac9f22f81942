// Benchmarks print numbers; scripts/bench-*.sh run them beside the peer tools in one run.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "fernet": try FernetBench.run(Array(arguments.dropFirst()))
default:
    FileHandle.standardError.write(Data("usage: photoseal-bench <fernet> [options]\n".utf8))
    exit(2)
}
