#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The loaded GeoNames index: typed read-only views into three memory-mapped files.
///
/// Every id stored in the files is checked once at load time (a single pass over a few
/// arrays, about a millisecond), so lookups afterwards index without further bounds checks.
/// `@unchecked Sendable`: nothing is written after `init`; the mappings live as long as this
/// object.
final class GeoIndex: @unchecked Sendable {
    static let fileNames = ["geonames-points.bin", "geonames-tree.bin", "geonames-names.bin"]

    private let files: [MappedFile]
    let tree: KDTree
    let count: Int
    let row: UnsafePointer<UInt32>
    let position: UnsafePointer<UInt32>
    let population: UnsafePointer<Int32>
    let latitudeE6: UnsafePointer<Int32>
    let longitudeE6: UnsafePointer<Int32>
    private let nameID: UnsafePointer<UInt32>
    private let regionID: UnsafePointer<UInt16>
    private let regions: UnsafePointer<UInt32>
    private let countries: UnsafePointer<UInt32>
    private let countryCount: Int
    private let stringOffsets: UnsafePointer<UInt32>
    private let stringBytes: UnsafePointer<UInt8>
    /// Bit i: string i needs quoting in CSV (holds a comma, a quote or a control character).
    private let csvQuote: UnsafePointer<UInt8>

    init(directory: String) throws(EnrichError) {
        var sectionFiles: [SectionFile] = []
        for name in Self.fileNames {
            sectionFiles.append(try SectionFile(path: directory + "/" + name, name: name))
        }
        let points = sectionFiles[0]
        let treeFile = sectionFiles[1]
        let names = sectionFiles[2]
        files = sectionFiles.map(\.file)

        let meta = try points.array("meta", of: UInt32.self, count: 6)
        for other in sectionFiles.dropFirst() {
            let otherMeta = try other.array("meta", of: UInt32.self, count: 6)
            guard (0..<6).allSatisfy({ otherMeta[$0] == meta[$0] }) else {
                throw SectionFile.corrupt(other.file.name, "built from other data than \(points.file.name)")
            }
        }
        let count = Int(meta[0])
        let depth = Int(meta[1])
        let nodeCount = Int(meta[2])
        let stringCount = Int(meta[3])
        let regionCount = Int(meta[4])
        let countryCount = Int(meta[5])
        guard count > 0, count < Int(Int32.max), depth <= 24, nodeCount == (1 << (depth + 1)) - 1,
            count >= (1 << depth)
        else { throw SectionFile.corrupt(points.file.name, "inconsistent place and node counts") }
        self.count = count
        self.countryCount = countryCount

        let xyz = try points.array("xyz", of: Double.self, count: 3 * count)
        let boxes = try treeFile.array("boxes", of: Double.self, count: 6 * nodeCount)
        let maxPopulation = try treeFile.array("maxpop", of: Int32.self, count: nodeCount)
        row = try treeFile.array("row", of: UInt32.self, count: count)
        position = try treeFile.array("position", of: UInt32.self, count: count)
        population = try treeFile.array("population", of: Int32.self, count: count)
        latitudeE6 = try treeFile.array("lat", of: Int32.self, count: count)
        longitudeE6 = try treeFile.array("lon", of: Int32.self, count: count)
        nameID = try names.array("name", of: UInt32.self, count: count)
        regionID = try names.array("region", of: UInt16.self, count: count)
        regions = try names.array("regions", of: UInt32.self, count: 3 * regionCount)
        countries = try names.array("countries", of: UInt32.self, count: 2 * countryCount)
        stringOffsets = try names.array("stroffsets", of: UInt32.self, count: stringCount + 1)
        let byteCount = try names.length("strings")
        stringBytes = try names.array("strings", of: UInt8.self, count: byteCount)
        csvQuote = try names.array("csvquote", of: UInt8.self, count: (stringCount + 7) / 8)
        tree = KDTree(
            count: count, depth: depth, xyz: xyz, boxes: boxes, maxPopulation: maxPopulation, row: row,
            population: population)

        // One pass that makes every later lookup safe.
        let treeName = treeFile.file.name
        let namesName = names.file.name
        for index in 0..<count {
            let source = Int(row[index])
            guard source < count, Int(position[source]) == index else {
                throw SectionFile.corrupt(treeName, "the row permutation is broken")
            }
            guard abs(latitudeE6[index]) <= 90_000_000, abs(longitudeE6[index]) <= 180_000_000 else {
                throw SectionFile.corrupt(treeName, "a coordinate is out of range")
            }
            guard Int(nameID[index]) < stringCount, Int(regionID[index]) < regionCount else {
                throw SectionFile.corrupt(namesName, "a place refers to a missing name")
            }
        }
        for index in 0..<regionCount {
            guard Int(regions[3 * index]) < stringCount, Int(regions[3 * index + 1]) < stringCount,
                Int(regions[3 * index + 2]) < countryCount
            else { throw SectionFile.corrupt(namesName, "a region refers to a missing name") }
        }
        for index in 0..<(2 * countryCount) where Int(countries[index]) >= stringCount {
            throw SectionFile.corrupt(namesName, "a country refers to a missing name")
        }
        guard stringOffsets[0] == 0, Int(stringOffsets[stringCount]) == byteCount else {
            throw SectionFile.corrupt(namesName, "the string table is broken")
        }
        for index in 0..<stringCount where stringOffsets[index] > stringOffsets[index + 1] {
            throw SectionFile.corrupt(namesName, "the string table is broken")
        }
    }

    /// String number `id` of the string table (ids are validated at load time).
    func string(_ id: UInt32) -> String {
        let start = Int(stringOffsets[Int(id)])
        let end = Int(stringOffsets[Int(id) + 1])
        return String(decoding: UnsafeBufferPointer(start: stringBytes + start, count: end - start), as: UTF8.self)
    }

    func name(at position: Int) -> String { string(nameID[position]) }
    func admin1(at position: Int) -> String { string(regions[3 * Int(regionID[position])]) }
    func admin2(at position: Int) -> String { string(regions[3 * Int(regionID[position]) + 1]) }
    private func country(at position: Int) -> Int { Int(regions[3 * Int(regionID[position]) + 2]) }
    func countryCode(at position: Int) -> String { string(countries[2 * country(at: position)]) }
    func countryName(at position: Int) -> String { string(countries[2 * country(at: position) + 1]) }

    /// UTF-8 bytes of the place's fields, without building a `String` (for the CSV writer).
    @inline(__always)
    func fields(at position: Int) -> FieldBytes {
        let region = 3 * Int(regionID[position])
        let country = 2 * Int(regions[region + 2])
        return FieldBytes(
            city: bytes(nameID[position]), admin1: bytes(regions[region]), admin2: bytes(regions[region + 1]),
            countryCode: bytes(countries[country]), countryName: bytes(countries[country + 1]))
    }

    @inline(__always)
    private func bytes(_ id: UInt32) -> FieldText {
        let start = Int(stringOffsets[Int(id)])
        let end = Int(stringOffsets[Int(id) + 1])
        let quoted = csvQuote[Int(id) >> 3] & (1 << (id & 7)) != 0
        return FieldText(bytes: UnsafeRawBufferPointer(start: stringBytes + start, count: end - start), quoted: quoted)
    }

    /// One string of the table: its bytes, and whether CSV must quote it.
    struct FieldText {
        var bytes: UnsafeRawBufferPointer
        var quoted: Bool
    }

    /// The text fields of one place as byte views into the mapped string table.
    struct FieldBytes {
        var city: FieldText
        var admin1: FieldText
        var admin2: FieldText
        var countryCode: FieldText
        var countryName: FieldText
    }
}

/// The k-d tree over unit vectors: heap layout (children of node i are 2i+1 and 2i+2), all
/// leaves at `depth`, node covering positions [lo, hi) splits at (lo + hi) / 2. Each node has
/// the bounding box of its unit vectors and the largest population below it.
struct KDTree: @unchecked Sendable {
    let count: Int
    let depth: Int
    let xyz: UnsafePointer<Double>
    let boxes: UnsafePointer<Double>
    let maxPopulation: UnsafePointer<Int32>
    let row: UnsafePointer<UInt32>
    let population: UnsafePointer<Int32>

    /// The best candidate so far: squared chord length, tree position, source row.
    struct Best {
        var distance: Double
        var position: Int
        var row: UInt32
    }

    /// Box distances within this relative slack of the best are still visited, so float
    /// rounding in the bound can never skip an exact tie.
    static let slack = 1 + 1e-9

    /// The exact nearest place to the unit vector (x, y, z) by chord length (equivalently by
    /// great-circle distance): the lowest source row among equal distances; only places with
    /// population ≥ `minPopulation` when it is set, only within `limit` (squared chord length).
    @inline(__always)
    ///
    /// `hint` is a tree position to start from (e.g. the answer to a nearby query), or -1: it
    /// only tightens the first bound, so the answer is the same with or without it.
    func nearest(x: Double, y: Double, z: Double, limit: Double, minPopulation: Int32?, hint: Int = -1) -> Best {
        var best = Best(distance: limit, position: -1, row: .max)
        if hint >= 0 && hint < count && population[hint] >= minPopulation ?? .min {
            let point = xyz + 3 * hint
            let dx = point[0] - x
            let dy = point[1] - y
            let dz = point[2] - z
            let distance = dx * dx + dy * dy + dz * dz
            if distance <= limit { best = Best(distance: distance, position: hint, row: row[hint]) }
        }
        if let minPopulation {
            guard maxPopulation[0] >= minPopulation else { return best }
            visit(PopulationFloor.self, node: 0, lo: 0, hi: count, level: 0, x, y, z, minPopulation, &best)
        } else {
            visit(AnyPopulation.self, node: 0, lo: 0, hi: count, level: 0, x, y, z, 0, &best)
        }
        return best
    }

    @inline(__always)
    private func boxDistance(_ node: Int, _ x: Double, _ y: Double, _ z: Double) -> Double {
        let box = boxes + 6 * node
        let dx = max(box[0] - x, 0, x - box[3])
        let dy = max(box[1] - y, 0, y - box[4])
        let dz = max(box[2] - z, 0, z - box[5])
        return dx * dx + dy * dy + dz * dz
    }

    /// The recursive search, compiled once with and once without the population test.
    private func visit<Rule: PopulationRule>(
        _ rule: Rule.Type, node: Int, lo: Int, hi: Int, level: Int, _ x: Double, _ y: Double, _ z: Double,
        _ minPopulation: Int32, _ best: inout Best
    ) {
        let filtered = Rule.filtered
        if level == depth {
            for index in lo..<hi {
                if filtered && population[index] < minPopulation { continue }
                let point = xyz + 3 * index
                let dx = point[0] - x
                let dy = point[1] - y
                let dz = point[2] - z
                let distance = dx * dx + dy * dy + dz * dz
                if distance < best.distance || (distance == best.distance && row[index] < best.row) {
                    best = Best(distance: distance, position: index, row: row[index])
                }
            }
            return
        }
        let mid = (lo + hi) >> 1
        let left = 2 * node + 1
        let right = left + 1
        // A subtree without any place big enough is never visited.
        let leftDistance =
            filtered && maxPopulation[left] < minPopulation ? Double.infinity : boxDistance(left, x, y, z)
        let rightDistance =
            filtered && maxPopulation[right] < minPopulation ? Double.infinity : boxDistance(right, x, y, z)
        if leftDistance <= rightDistance {
            if leftDistance <= best.distance * Self.slack, leftDistance < .infinity {
                visit(rule, node: left, lo: lo, hi: mid, level: level + 1, x, y, z, minPopulation, &best)
            }
            if rightDistance <= best.distance * Self.slack, rightDistance < .infinity {
                visit(rule, node: right, lo: mid, hi: hi, level: level + 1, x, y, z, minPopulation, &best)
            }
        } else {
            if rightDistance <= best.distance * Self.slack, rightDistance < .infinity {
                visit(rule, node: right, lo: mid, hi: hi, level: level + 1, x, y, z, minPopulation, &best)
            }
            if leftDistance <= best.distance * Self.slack, leftDistance < .infinity {
                visit(rule, node: left, lo: lo, hi: mid, level: level + 1, x, y, z, minPopulation, &best)
            }
        }
    }
}

/// Whether a search tests population: a type parameter, so each variant is compiled apart.
protocol PopulationRule {
    static var filtered: Bool { get }
}

/// Every place qualifies.
enum AnyPopulation: PopulationRule {
    static var filtered: Bool { false }
}

/// Only places with at least the given population qualify.
enum PopulationFloor: PopulationRule {
    static var filtered: Bool { true }
}
