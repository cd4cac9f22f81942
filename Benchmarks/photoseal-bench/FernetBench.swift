import Crypto
import Foundation

/// Seal and open throughput of photoseal's Fernet, single-threaded, like the Python peer.
enum FernetBench {
    static func run(_ arguments: [String]) throws {
        let seconds = arguments.first.flatMap(Double.init) ?? 2
        // An optional second argument picks the payload sizes, e.g. `100` to profile one.
        let sizes =
            arguments.dropFirst().first.map { $0.split(separator: ",").compactMap { Int($0) } } ?? [100, 1 << 20]
        let key = try FernetKey.generate()
        print("size_bytes,seal_tokens_per_s,open_tokens_per_s")
        for size in sizes {
            let payload = [UInt8](repeating: 0x61, count: size)
            var tokens: [String] = []
            // The CPU clock is a system call: read it every 64 short tokens (as the Python peer does).
            let batch = size <= 4096 ? 64 : 8
            let sealRate = try measure(seconds: seconds, batch: batch) {
                let token = try Fernet.encrypt(payload, key: key)
                if tokens.count < 64 { tokens.append(token) }
            }
            var index = 0
            var checksum = 0
            let openRate = try measure(seconds: seconds, batch: batch) {
                checksum &+= try Fernet.decrypt(tokens[index % tokens.count], key: key).plaintext.count
                index += 1
            }
            precondition(checksum > 0)
            print("\(size),\(Int(sealRate)),\(Int(openRate))")
        }
    }

    /// Calls `body` repeatedly for about `seconds` of this process's CPU time and returns calls
    /// per CPU second: CPU time, like `openssl speed` (which divides by user time), so that a
    /// busy machine slows every tool alike instead of whichever ran at the wrong moment.
    static func measure(seconds: Double, batch: Int = 8, _ body: () throws -> Void) rethrows -> Double {
        let start = processCPUSeconds()
        var count = 0
        var elapsed = 0.0
        repeat {
            for _ in 0..<batch { try body() }
            count += batch
            elapsed = processCPUSeconds() - start
        } while elapsed < seconds
        return Double(count) / elapsed
    }
}
