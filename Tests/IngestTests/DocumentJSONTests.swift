import Enrich
import Foundation
import TestSupport
import Testing

@testable import Ingest

/// `DocumentJSON` against the encoder it stands in for: the same bytes, or the ledger's digests
/// of loaded documents would stop matching.
@Suite("document JSON", .tags(.unit))
struct DocumentJSONTests {
    static let foundation: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Pieces strings are made of: every control character, DEL, the characters JSON escapes,
    /// `/`, multi-byte and combining characters, a CR LF pair (one Swift `Character`), U+2028.
    static let pieces: [String] =
        (0..<0x20).map { String(UnicodeScalar(UInt8($0))) } + [
            "\u{7F}", "\"", "\\", "/", "a", "Z", "0", " ", "_", "~", "é", "e\u{301}", "ß", "日本", "😀", "\r\n",
            "\u{2028}", "\u{FEFF}", "http://x/y?z=1&w=%20",
        ]

    static func string(_ g: inout SplitMix64) -> String {
        if Int.random(in: 0..<20, using: &g) == 0 {
            // A sealed field: several KB of base64url.
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
            return String((0..<Int.random(in: 100...6000, using: &g)).map { _ in alphabet.randomElement(using: &g)! })
        }
        return (0..<Int.random(in: 0...12, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined()
    }

    static func double(_ g: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<7, using: &g) {
        case 0: return Double(Int.random(in: -1_000_000...1_000_000, using: &g))
        case 1: return Double.random(in: -180...180, using: &g)
        case 2: return Double.random(in: 0...1, using: &g) * 1e-7
        case 3: return Double.random(in: 1...9, using: &g) * 1e17
        case 4:
            return [0.0, -0.0, 1.0, 0.5, 100.0, 1e16, 1e-5, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
                .randomElement(using: &g)!
        case 5: return (Double(Int.random(in: 0...100_000, using: &g)) / 1000).rounded(.down)
        default:
            while true {
                let value = Double(bitPattern: g.next())
                if value.isFinite { return value }
            }
        }
    }

    static func maybe<T>(_ g: inout SplitMix64, _ make: (inout SplitMix64) -> T) -> T? {
        Bool.random(using: &g) ? make(&g) : nil
    }

    static func int(_ g: inout SplitMix64) -> Int {
        Bool.random(using: &g) ? Int.random(in: 0...10_000, using: &g) : Int.random(in: .min ... .max, using: &g)
    }

    static func document(_ g: inout SplitMix64) -> PhotoDocument {
        var d = PhotoDocument(
            id: string(&g), source: string(&g), sourceID: string(&g),
            terms: (0..<Int.random(in: 0...3, using: &g)).map { _ in string(&g) }, title: string(&g),
            description: string(&g), tags: (0..<Int.random(in: 0...3, using: &g)).map { _ in string(&g) },
            machineTags: (0..<Int.random(in: 0...2, using: &g)).map { _ in string(&g) }, views: maybe(&g, int),
            license: maybe(&g, string), takenAt: maybe(&g, string), uploadedAt: maybe(&g, string),
            pageURL: maybe(&g, string), imageURL: maybe(&g, string),
            imageSources: (0..<Int.random(in: 0...3, using: &g)).map { _ in
                PhotoDocument.ImageSource(
                    size: string(&g), url: string(&g), width: maybe(&g, int), height: maybe(&g, int))
            },
            image: maybe(&g) { g in
                PhotoDocument.Image(
                    sha256: string(&g), bytes: int(&g), width: maybe(&g, int), height: maybe(&g, int),
                    format: maybe(&g, string), path: maybe(&g, string),
                    fallback: maybe(&g) { g in PhotoDocument.Image.Fallback(storedAs: string(&g), reason: string(&g)) })
            },
            geo: maybe(&g) { g in
                PhotoDocument.Geo(lat: double(&g), lon: double(&g), accuracy: maybe(&g, int), source: string(&g))
            },
            place: maybe(&g) { g in
                PhotoDocument.Place(
                    cc: maybe(&g, string), country: maybe(&g, string), admin1: maybe(&g, string),
                    admin2: maybe(&g, string), city: maybe(&g, string), distanceKm: maybe(&g, double))
            },
            scores: maybe(&g) { g in
                Dictionary(
                    (0..<Int.random(in: 0...6, using: &g)).map { _ in (string(&g), double(&g)) },
                    uniquingKeysWith: { first, _ in first })
            },
            scoreModel: maybe(&g, string), scoredAt: maybe(&g, string),
            sealed: PhotoDocument.Sealed(
                owner: maybe(&g, string), ownerName: maybe(&g, string), pathAlias: maybe(&g, string),
                exif: maybe(&g, string)),
            seal: PhotoDocument.SealInfo(kid: string(&g), at: string(&g)),
            blind: PhotoDocument.Blind(owner: maybe(&g, string)),
            ingestedAt: string(&g), pipelineVersion: string(&g))
        d.labels = maybe(&g) { g in
            (0..<Int.random(in: 0...3, using: &g)).map { _ in
                Vision.Label(
                    mid: maybe(&g, string), description: string(&g), score: double(&g), topicality: maybe(&g, double))
            }
        }
        return d
    }

    @Test("3,000 generated documents encode to JSONEncoder's bytes", arguments: [1, 2, 3] as [UInt64])
    func sameBytes(seed: UInt64) throws {
        var g = SplitMix64(state: seed)
        var mismatches: [String] = []
        for _ in 0..<1000 {
            let document = Self.document(&g)
            let expected = String(decoding: try Self.foundation.encode(document), as: UTF8.self)
            let written = try DocumentJSON.encode(document)
            if written != expected, mismatches.count < 3 { mismatches.append("\(expected)\n!=\n\(written)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n\n"))")
    }

    @Test("a document as the pipeline makes it, and one with every optional left out")
    func pipelineDocument() throws {
        var g = SplitMix64(state: 99)
        var full = Self.document(&g)
        full.geo = PhotoDocument.Geo(lat: 48.8566, lon: 2.3522, accuracy: 16, source: "exif")
        full.place = PhotoDocument.Place(
            cc: "FR", country: "France", admin1: "Île-de-France", city: "Paris", distanceKm: 0.5)
        full.scores = ["monkey": 0.93, "Monkey": 1, "ape": 0.000012, "émeu": 0.5, "_x": 0.25]
        var bare = full
        bare.views = nil
        bare.license = nil
        bare.takenAt = nil
        bare.uploadedAt = nil
        bare.pageURL = nil
        bare.imageURL = nil
        bare.image = nil
        bare.geo = nil
        bare.place = nil
        bare.scores = nil
        bare.scoreModel = nil
        bare.scoredAt = nil
        bare.labels = nil
        bare.sealed = PhotoDocument.Sealed()
        bare.blind = PhotoDocument.Blind(owner: nil)
        for document in [full, bare] {
            #expect(
                try DocumentJSON.encode(document)
                    == String(decoding: try Self.foundation.encode(document), as: UTF8.self))
        }
        #expect(try DocumentJSON.encode(bare).contains("\"sealed\":{}"))
    }

    @Test(
        "a number that is not finite is refused, as JSONEncoder refuses it",
        arguments: [Double.nan, .infinity, -.infinity])
    func nonFinite(value: Double) {
        var g = SplitMix64(state: 7)
        var document = Self.document(&g)
        document.geo = PhotoDocument.Geo(lat: value, lon: 0, accuracy: nil, source: "exif")
        #expect(throws: EncodingError.self) { try Self.foundation.encode(document) }
        #expect(throws: EncodingError.self) { try DocumentJSON.encode(document) }
    }
}
