import Dispatch
import Foundation

/// Query points laid out in any array of records: each record holds the latitude and the
/// longitude as `Double`s at fixed byte offsets. A NaN latitude marks a record to skip.
struct QueryTable: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int
    let stride: Int
    let latitudeOffset: Int
    let longitudeOffset: Int

    @inline(__always) func latitude(_ index: Int) -> Double {
        base.load(fromByteOffset: index * stride + latitudeOffset, as: Double.self)
    }

    @inline(__always) func longitude(_ index: Int) -> Double {
        base.load(fromByteOffset: index * stride + longitudeOffset, as: Double.self)
    }
}

/// One query in a run sorted by place: its coordinates and its position in the input.
private struct SortedQuery {
    var latitude: Double
    var longitude: Double
    var index: Int
}

/// Where `concurrentPerform`'s workers write: each index is written by exactly one worker.
private struct SharedOutput: @unchecked Sendable {
    let results: UnsafeMutablePointer<PlaceMatch?>
}

extension Geocoder {
    /// Answers every query of `table` into `results` (initialising each slot) on every core.
    ///
    /// Each worker takes a run of queries and visits them in a spatial order (a
    /// counting sort on a 128 × 128 Morton grid of latitude and longitude), so consecutive queries
    /// walk the same tree nodes while the run's inputs and outputs stay in cache; the answers
    /// land at their input positions.
    func solve(_ table: QueryTable, search: Search, into results: UnsafeMutablePointer<PlaceMatch?>) {
        let tree = index.tree
        let count = table.count
        guard count > 0 else { return }
        // Runs of at most 131,072 queries, and at least two per core unless the batch is small.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let runs = max((count + (1 << 17) - 1) >> 17, min(2 * cores, (count + 4095) / 4096))
        let runLength = (count + runs - 1) / runs
        let shared = SharedOutput(results: results)
        let work: @Sendable (Int) -> Void = { run in
            let start = run * runLength
            let end = min(count, start + runLength)
            // Sorted copies, so the loop below reads its inputs in sequence (random reads stall).
            // The previous answer (a nearby query's) is a good first bound.
            var hint = -1
            for query in Self.spatialOrder(table, start..<end) {
                let answer =
                    query.latitude.isNaN ? nil : search.run(tree, query.latitude, query.longitude, hint: hint)
                if let answer { hint = Int(answer.position) }
                (shared.results + query.index).initialize(to: answer)
            }
        }
        if runs == 1 {
            work(0)
        } else {
            DispatchQueue.concurrentPerform(iterations: runs, execute: work)
        }
    }

    /// The queries of `range` sorted by grid cell (Z-order over 128 latitude × 128 longitude bands).
    private static func spatialOrder(_ table: QueryTable, _ range: Range<Int>) -> [SortedQuery] {
        var keys = [UInt16](repeating: 0, count: range.count)
        var starts = [Int](repeating: 0, count: 16_385)
        for index in range {
            let latitude = table.latitude(index)
            let longitude = table.longitude(index)
            var key: UInt16 = 0
            if !latitude.isNaN {
                let row = UInt32(min(127, max(0, (latitude + 90) * (128.0 / 180))))
                let column = UInt32(min(127, max(0, (longitude + 180) * (128.0 / 360))))
                key = UInt16(truncatingIfNeeded: spread(row) | spread(column) << 1)
            }
            keys[index - range.lowerBound] = key
            starts[Int(key) + 1] += 1
        }
        for cell in 1...16_384 { starts[cell] += starts[cell - 1] }
        return [SortedQuery](unsafeUninitializedCapacity: range.count) { sorted, initialized in
            for offset in 0..<range.count {
                let key = Int(keys[offset])
                let index = range.lowerBound + offset
                sorted[starts[key]] = SortedQuery(
                    latitude: table.latitude(index), longitude: table.longitude(index), index: index)
                starts[key] += 1
            }
            initialized = range.count
        }
    }

    /// The 8 low bits of `value` spread to the even bit positions.
    @inline(__always) private static func spread(_ value: UInt32) -> UInt32 {
        var bits = value & 0xFF
        bits = (bits | bits << 4) & 0x0F0F
        bits = (bits | bits << 2) & 0x3333
        bits = (bits | bits << 1) & 0x5555
        return bits
    }
}
