import Crypto
import Foundation
import Logging
import Testing

@testable import Ingest

@Suite("ledger")
struct LedgerTests {
    static func document(_ id: Int, term: String) -> PhotoDocument {
        PhotoDocument(
            id: "flickr:\(id)", source: "flickr", sourceID: "\(id)", terms: [term], title: "t", description: "",
            tags: [], machineTags: [], views: nil, license: nil, takenAt: nil, uploadedAt: nil, pageURL: nil,
            imageURL: nil, imageSources: [], image: nil, geo: nil, place: nil, scores: nil, scoreModel: nil,
            scoredAt: nil, sealed: .init(), seal: .init(kid: "k", at: "a"), blind: .init(owner: nil), ingestedAt: "a",
            pipelineVersion: "0")
    }

    static func withLedger(_ body: (Ledger) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try await body(try Ledger(directory: dir.path, logger: Logger(label: "test")))
    }

    @Test("a photo found again by another term keeps one row with both terms")
    func mergeTerms() async throws {
        try await Self.withLedger { ledger in
            let query = SearchQuery(term: "a", bbox: nil, minTaken: 0, maxTaken: 10)
            let work = try await ledger.prepareSearch([query])
            let slice = try #require(work.first?.slice)
            _ = try await ledger.recordPage(
                slice: slice, page: 1, total: 2, pages: 1, capped: false,
                documents: [Self.document(1, term: "a"), Self.document(2, term: "a")], limit: nil)
            let again = try await ledger.recordPage(
                slice: slice, page: 1, total: 2, pages: 1, capped: false,
                documents: [Self.document(2, term: "b"), Self.document(3, term: "b")], limit: nil)
            #expect(again.newPhotos == 1)
            var terms: [String: [String]] = [:]
            try ledger.forEachDocument { terms[$0.id] = $0.document.terms }
            #expect(terms == ["flickr:1": ["a"], "flickr:2": ["a", "b"], "flickr:3": ["b"]])
            #expect(try await ledger.prepareSearch([query]).isEmpty)
        }
    }

    @Test("claimed rows are leased to one worker until advanced or released")
    func claims() async throws {
        try await Self.withLedger { ledger in
            let work = try await ledger.prepareSearch([SearchQuery(term: "a", bbox: nil, minTaken: 0, maxTaken: 10)])
            let slice = try #require(work.first?.slice)
            _ = try await ledger.recordPage(
                slice: slice, page: 1, total: 5, pages: 1, capped: false,
                documents: (1...5).map { Self.document($0, term: "a") }, limit: nil)
            let first = try await ledger.claim(stage: .found, limit: 3, owner: "w1")
            let second = try await ledger.claim(stage: .found, limit: 3, owner: "w2")
            #expect(first.count == 3 && second.count == 2)
            #expect(Set(first.map(\.id)).isDisjoint(with: second.map(\.id)))
            #expect(try await ledger.claim(stage: .found, limit: 3, owner: "w3").isEmpty)
            try await ledger.advance(id: first[0].id, to: .downloaded, document: first[0].document)
            try await ledger.release(id: first[1].id)
            let third = try await ledger.claim(stage: .found, limit: 3, owner: "w3")
            #expect(third.map(\.id) == [first[1].id])
            let status = try await ledger.status()
            #expect(status.stages["downloaded"] == 1 && status.stages["found"] == 4)
        }
    }

    @Test("a lease that ran out makes the row claimable again")
    func expiredLease() async throws {
        try await Self.withLedger { ledger in
            let work = try await ledger.prepareSearch([SearchQuery(term: "a", bbox: nil, minTaken: 0, maxTaken: 10)])
            let slice = try #require(work.first?.slice)
            _ = try await ledger.recordPage(
                slice: slice, page: 1, total: 1, pages: 1, capped: false, documents: [Self.document(1, term: "a")],
                limit: nil)
            #expect(try await ledger.claim(stage: .found, limit: 1, owner: "crashed", lease: -1).count == 1)
            #expect(try await ledger.claim(stage: .found, limit: 1, owner: "next").count == 1)
        }
    }
}
