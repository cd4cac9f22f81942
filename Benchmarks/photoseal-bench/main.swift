// Benchmarks print numbers; scripts/bench-*.sh run them beside the peer tools in one run.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let rest = Array(arguments.dropFirst())
// A bad argument (an unreadable file, an unknown option taken as a file) ends with one line on
// stderr, not a crash report.
do {
    switch arguments.first {
    case "fernet": try FernetBench.run(rest)
    case "exif": ExifBench.run(rest)
    case "geocode": GeocodeBench.run(rest)
    case "store": try await StoreBench.main(rest)
    case "audit": try await AuditBench.main(rest)
    case "thumbnails": try ThumbnailBench.run(rest)
    case "serve": try await ServeBench.main(rest)
    case "ledger": try await LedgerBench.main(rest)
    default:
        FileHandle.standardError.write(
            Data("usage: photoseal-bench <fernet|exif|geocode|store|audit|thumbnails|serve|ledger> [options]\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("photoseal-bench: \(error.localizedDescription)\n".utf8))
    exit(1)
}
