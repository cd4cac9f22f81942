import Enrich
import Foundation
import Logging
import Testing

@testable import Ingest

@Suite("documents handed from one stage to the next in memory", .tags(.integration))
struct DocumentHandoffTests {
    /// A document with every optional part filled, numbers that print long and text that needs
    /// escaping: what a claim hands over must be what decoding the ledger's JSON gives.
    static func fullDocument(_ id: Int) -> PhotoDocument {
        var document = LedgerTests.document(id, term: "猴子 \"monkey\"")
        document.title = "line1\nline2 \u{1F} 🐒 sep\u{2028}x back\\slash"
        document.tags = ["a", "b/c"]
        document.views = 12
        document.takenAt = "2015-05-31T18:20:05"
        document.imageSources = [.init(size: "l", url: "https://h/x.jpg?w=1&h=2", width: 1024, height: nil)]
        document.image = .init(
            sha256: "ab", bytes: 123_456, width: 640, height: 480, format: "jpeg", path: "images/ab/ab.jpg",
            fallback: .init(storedAs: "sealed", reason: "truncated"))
        document.geo = .init(lat: 43.4674483333333, lon: -0.1, accuracy: 16, source: "exif")
        document.place = .init(cc: "FR", country: "France", admin1: "Région", city: "Pau", distanceKm: 1e-05)
        document.scores = ["caged, monkey": 0.30000000000000004, "tiny": Double.leastNonzeroMagnitude]
        document.labels = [Vision.Label(mid: "/m/0", description: "Monkey", score: 0.9876543210987654)]
        document.sealed = .init(owner: "gAAAAAo", ownerName: "gAAAAAn", pathAlias: nil, exif: "gAAAAAe")
        return document
    }

    @Test("a claim gets the document advance committed, and decoding its JSON gives the same document")
    func handedOver() async throws {
        try await LedgerTests.withLedger { ledger in
            ledger.handOff([.extracted])
            let documents = (1...3).map(Self.fullDocument)
            #expect(try await ledger.insertImported(documents, stage: .downloaded) == 3)
            let claimed = try await ledger.claim(stage: .downloaded, limit: 3, owner: "extract")
            #expect(ledger.handoff.count == 0)
            var changed = claimed.map(\.document)
            for index in changed.indices { changed[index].description = "extracted \(index)" }
            try await ledger.advance(
                zip(claimed, changed).map {
                    Ledger.Advance(id: $0.0.id, stage: .extracted, document: $0.1, failure: nil)
                })
            #expect(ledger.handoff.count == 3)
            for document in changed {
                #expect(try Ledger.decode(Ledger.encode(document), id: document.id) == document)
            }
            let next = try await ledger.claim(stage: .extracted, limit: 3, owner: "load")
            #expect(next.map(\.document) == changed)
            #expect(ledger.handoff.count == 0)
        }
    }

    @Test("documents the score stage commits are handed to the load stage's claim")
    func scoredHandedOver() async throws {
        try await LedgerTests.withLedger { ledger in
            ledger.handOff([.scored])
            _ = try await ledger.insertImported((1...2).map(Self.fullDocument), stage: .extracted)
            let claimed = try await ledger.claim(stage: .extracted, limit: 2, owner: "score")
            var update = Ledger.ScoreUpdate()
            update.model = "test"
            for entry in claimed {
                var document = entry.document
                document.scores = ["monkey": 0.25]
                update.scored.append((entry.id, document))
                update.endLeases.append(entry.id)
            }
            try await ledger.commit(update)
            #expect(ledger.handoff.count == 2)
            let next = try await ledger.claim(stage: .scored, limit: 2, owner: "load")
            #expect(next.map(\.document) == update.scored.map(\.document))
            #expect(next.allSatisfy { $0.document.scores == ["monkey": 0.25] })
            #expect(ledger.handoff.count == 0)
        }
    }

    @Test("a row another process changed after the commit is read from the ledger, not from memory")
    func changedElsewhere() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "photoseal-handoff-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ledger = try Ledger(directory: dir.path, logger: Logger(label: "test"))
        let other = try Ledger(directory: dir.path, logger: Logger(label: "test"))
        ledger.handOff([.extracted])
        _ = try await ledger.insertImported((1...2).map(Self.fullDocument), stage: .downloaded)
        let claimed = try await ledger.claim(stage: .downloaded, limit: 2, owner: "extract")
        try await ledger.advance(
            claimed.map { Ledger.Advance(id: $0.id, stage: .extracted, document: $0.document, failure: nil) })
        #expect(ledger.handoff.count == 2)
        // The other ledger (a second worker) takes the first row and changes its document.
        let taken = try #require(try await other.claim(stage: .extracted, limit: 1, owner: "w2").first)
        var changed = taken.document
        changed.title = "changed by the other worker"
        try await other.advance(id: taken.id, to: .extracted, document: changed)
        let next = try await ledger.claim(stage: .extracted, limit: 2, owner: "load")
        #expect(next.map(\.document.title) == ["changed by the other worker", claimed[1].document.title])
        #expect(ledger.handoff.count == 0)
    }

    @Test("only the stages asked for are kept, and never more than the capacity", .tags(.unit))
    func bounded() {
        let handoff = DocumentHandoff(capacity: 2)
        #expect(!handoff.keeps(.extracted))
        handoff.keep(for: [.extracted])
        #expect(handoff.keeps(.extracted) && !handoff.keeps(.scored))
        let documents = (1...3).map(Self.fullDocument)
        for document in documents { handoff.put(id: document.id, json: "{\(document.id)}", document: document) }
        #expect(handoff.count == 2)
        #expect(handoff.take(id: documents[2].id, json: "{\(documents[2].id)}") == nil)
        // The JSON must match byte for byte; a mismatch drops the kept copy.
        #expect(handoff.take(id: documents[0].id, json: "{other}") == nil)
        #expect(handoff.take(id: documents[0].id, json: "{\(documents[0].id)}") == nil)
        #expect(handoff.take(id: documents[1].id, json: "{\(documents[1].id)}") == documents[1])
        #expect(handoff.count == 0)
    }
}
