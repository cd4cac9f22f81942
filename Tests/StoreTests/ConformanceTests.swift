import Foundation
import Store
import Testing

/// One suite, run on every store (see `StoreKind.available`): what encrypt-load, key rotation and audit rely on.
@Suite("document store conformance", .tags(.integration))
struct ConformanceTests {
    @Test("ping succeeds on a usable store and writes nothing", arguments: StoreKind.available)
    func ping(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.ping()
            #expect(store.writeCount == 0)
            #expect(try await store.count() == 0)
        }
    }

    @Test("inserted documents are found by _id and counted", arguments: StoreKind.available)
    func insertFindCount(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let documents = (1...3).map { photo($0) }
            let summary = try await store.upsert(documents)
            #expect(summary == UpsertSummary(inserted: 3, updated: 0, unchanged: 0))
            #expect(try await store.count() == 3)
            #expect(try await store.find(id: "flickr:00000002") == documents[1])
            #expect(try await store.find(id: "flickr:99999999") == nil)
        }
    }

    @Test("loading the same documents again reports them unchanged and writes nothing", arguments: StoreKind.available)
    func idempotentReload(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let documents = (1...20).map { photo($0) }
            _ = try await store.upsert(documents)
            let writesAfterFirstLoad = store.writeCount
            #expect(writesAfterFirstLoad > 0)

            let again = try await store.upsert(documents)
            #expect(again == UpsertSummary(inserted: 0, updated: 0, unchanged: 20))
            #expect(store.writeCount == writesAfterFirstLoad)
            #expect(try await store.count() == 20)

            var changed = documents
            changed[4]["views"] = .int(123_456)
            let third = try await store.upsert(changed)
            #expect(third == UpsertSummary(inserted: 0, updated: 1, unchanged: 19))
            #expect(try await store.find(id: "flickr:00000005")?["views"] == .int(123_456))
            #expect(try await store.count() == 20)
        }
    }

    @Test("compare-and-set applies only while every expected field still holds", arguments: StoreKind.available)
    func compareAndSet(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.upsert([photo(1, kid: "kid-a")])
            let id = "flickr:00000001"

            let applied = try await store.compareAndSet(
                id: id, expect: [("seal.kid", "kid-a"), ("sealed.owner", "token-1-kid-a")],
                set: [("seal.kid", "kid-b"), ("sealed.owner", "token-1-kid-b")])
            #expect(applied)
            let rotated = try #require(try await store.find(id: id))
            #expect(rotated.value(at: "seal.kid") == "kid-b")
            #expect(rotated.value(at: "sealed.owner") == "token-1-kid-b")
            #expect(rotated.value(at: "seal.at") == photo(1).value(at: "seal.at"))

            let stale = try await store.compareAndSet(
                id: id, expect: [("seal.kid", "kid-a")], set: [("seal.kid", "kid-c"), ("sealed.owner", "x")])
            #expect(!stale)
            #expect(try await store.find(id: id) == rotated)

            let partlyStale = try await store.compareAndSet(
                id: id, expect: [("seal.kid", "kid-b"), ("sealed.owner", "not-the-token")], set: [("seal.kid", "kid-c")]
            )
            #expect(!partlyStale)
            #expect(try await store.find(id: id) == rotated)

            let renaming = await #expect(throws: StoreError.self) {
                _ = try await store.compareAndSet(id: id, expect: [], set: [("_id", "other")])
            }
            #expect(renaming?.code == .writeFailed)
            #expect(try await store.find(id: id) == rotated)

            let missing = try await store.compareAndSet(
                id: "flickr:404", expect: [("seal.kid", "kid-b")], set: [("seal.kid", "kid-c")])
            #expect(!missing)
            #expect(try await store.count() == 1)
        }
    }

    @Test(
        "of several concurrent compare-and-sets with one expectation exactly one wins", arguments: StoreKind.available)
    func concurrentCompareAndSet(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.upsert([photo(7, kid: "kid-a")])
            let id = "flickr:00000007"
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for contender in 0..<8 {
                    group.addTask {
                        let won = try await store.compareAndSet(
                            id: id, expect: [("seal.kid", "kid-a")], set: [("seal.kid", .string("kid-\(contender)"))])
                        return won ? "kid-\(contender)" : nil
                    }
                }
                var winners: [String] = []
                for try await winner in group { if let winner { winners.append(winner) } }
                return winners
            }
            #expect(winners.count == 1)
            let final = try await store.find(id: id)
            #expect(final?.value(at: "seal.kid") == winners.first.map { .string($0) })
        }
    }

    @Test(
        "documents are found and counted by seal.kid, blind.owner, terms and place.cc", arguments: StoreKind.available)
    func lookups(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var documents: [StoreDocument] = []
            for number in 1...12 {
                documents.append(
                    photo(
                        number, kid: number <= 5 ? "kid-old" : "kid-new",
                        owner: number % 3 == 0 ? "owner-x" : "owner-y",
                        terms: number % 2 == 0 ? ["monkey wild", "scimmia"] : ["monkey wild"]))
            }
            documents[11]["place"] = .null
            _ = try await store.upsert(documents)

            let old = try await store.find(where: "seal.kid", equals: "kid-old")
            #expect(old.map { $0.id ?? "" } == (1...5).map { "flickr:0000000\($0)" })
            #expect(try await store.count(where: "seal.kid", equals: "kid-new") == 7)
            #expect(try await store.count(where: "seal.kid", equals: "kid-none") == 0)

            let owners = try await store.find(where: "blind.owner", equals: "owner-x")
            #expect(
                Set(owners.compactMap(\.id)) == [
                    "flickr:00000003", "flickr:00000006", "flickr:00000009", "flickr:00000012",
                ])

            #expect(try await store.count(where: "terms", equals: "scimmia") == 6)
            #expect(try await store.count(where: "terms", equals: "monkey wild") == 12)
            #expect(try await store.count(where: "place.cc", equals: "IT") == 11)
            #expect(try await store.count(where: "source", equals: "flickr") == 12)
            #expect(try await store.find(where: "seal.kid", equals: "kid-new", limit: 2).count == 2)
            // A null expectation also matches a missing field, as in MongoDB.
            #expect(try await store.count(where: "place.cc", equals: .null) == 1)
        }
    }

    @Test("streaming reads every document once, in _id order, over several batches", arguments: StoreKind.available)
    func streaming(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.upsert((1...299).map { photo($0) })
            var batches = 0
            var ids: [String] = []
            for try await batch in store.allDocuments(batchSize: 50) {
                batches += 1
                #expect(batch.count <= 50)
                ids += batch.compactMap(\.id)
            }
            #expect(batches == 6)
            #expect(ids == (1...299).map { "flickr:" + String(format: "%08d", $0) })
        }
    }

    @Test(
        "an updated document is found by its new values only: a dropped term, an old kid and a removed place are gone, a kept term stays",
        arguments: StoreKind.available)
    func lookupsFollowUpdates(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.upsert([
                photo(1, kid: "kid-1", terms: ["monkey wild", "scimmia"]), photo(2, kid: "kid-1", terms: ["scimmia"]),
            ])
            var changed = photo(1, kid: "kid-2", terms: ["monkey wild", "singe"])
            changed["place"] = .null
            #expect(try await store.upsert([changed]).updated == 1)
            #expect(try await store.find(where: "terms", equals: "scimmia").compactMap(\.id) == ["flickr:00000002"])
            #expect(try await store.find(where: "terms", equals: "singe").compactMap(\.id) == ["flickr:00000001"])
            #expect(try await store.count(where: "terms", equals: "monkey wild") == 1)
            #expect(try await store.find(where: "seal.kid", equals: "kid-1").compactMap(\.id) == ["flickr:00000002"])
            #expect(try await store.count(where: "place.cc", equals: "IT") == 1)
            // A compare-and-set moves the document's entries too.
            #expect(
                try await store.compareAndSet(
                    id: "flickr:00000002", expect: [("seal.kid", "kid-1")], set: [("seal.kid", "kid-3")]))
            #expect(try await store.count(where: "seal.kid", equals: "kid-1") == 0)
            #expect(try await store.find(where: "seal.kid", equals: "kid-3").compactMap(\.id) == ["flickr:00000002"])
            #expect(try await store.count(where: "terms", equals: "scimmia") == 1)
        }
    }

    @Test("deleting removes the document and its index entries", arguments: StoreKind.available)
    func deleting(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.upsert([photo(1, kid: "kid-z"), photo(2)])
            #expect(try await store.delete(id: "flickr:00000001"))
            #expect(!(try await store.delete(id: "flickr:00000001")))
            #expect(try await store.count() == 1)
            #expect(try await store.count(where: "seal.kid", equals: "kid-z") == 0)
        }
    }

    @Test("every value type comes back exactly as written", arguments: StoreKind.available)
    func exactRoundTrip(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let when = Date(timeIntervalSince1970: 1_715_000_000.123)
            let document: StoreDocument = [
                "_id": "roundtrip:1",
                "null": .null,
                "yes": true,
                "no": false,
                "zero": 0,
                "small": 7,
                "negative": -42,
                "max": .int(Int64.max),
                "min": .int(Int64.min),
                "whole double": 2.0,
                "fraction": 0.1,
                "tiny": .double(.leastNonzeroMagnitude),
                "huge": .double(1.7976931348623157e308),
                "text": "Zürich 東京 🐒 \"quoted\" back\\slash",
                "empty text": "",
                "nul inside": .string("a\u{0}b"),
                "date": .date(when),
                "before 1970": .date(Date(timeIntervalSince1970: -86_400.5)),
                "empty array": [],
                "empty document": .document(StoreDocument()),
                "mixed": [1, 1.0, "1", true, .null, ["nested": [["deep": 3]]]],
                "z first": ["z": 1, "a": 2, "m": 3],
            ]
            _ = try await store.upsert([document])
            let back = try #require(try await store.find(id: "roundtrip:1"))
            #expect(back == document)
            #expect(back.keys == document.keys)
            #expect(back["whole double"] == .double(2.0))
            #expect(back["small"] == .int(7))
            #expect(back["date"]?.dateValue?.timeIntervalSince1970 == 1_715_000_000.123)
            #expect(back.value(at: "z first")?.documentValue?.keys == ["z", "a", "m"])
            // Loading it again changes nothing: the stored form is exactly what we would write.
            #expect(try await store.upsert([document]) == UpsertSummary(unchanged: 1))
        }
    }

    @Test("a document without a string _id is refused with one clear error", arguments: StoreKind.available)
    func missingID(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let error = await #expect(throws: StoreError.self) {
                _ = try await store.upsert([photo(1), ["_id": 5, "x": 1]])
            }
            #expect(error?.code == .invalidDocument)
            #expect(error?.description.contains("_id") == true)
            let count = try await store.count()
            #expect(count == 0)
        }
    }

    @Test(
        "a sibling collection (jobs) keeps its own documents: neither side sees the other's, a bad name is refused",
        arguments: StoreKind.available)
    func siblingCollection(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.upsert([photo(1), photo(2)])
            let jobs = try store.collection(named: "jobs")
            defer { Task { try? await jobs.drop() } }
            _ = try await jobs.upsert([["_id": "job-1", "state": "queued", "open": true]])
            #expect(try await store.count() == 2)
            #expect(try await jobs.count() == 1)
            #expect(try await jobs.find(id: "flickr:00000001") == nil)
            #expect(try await store.find(id: "job-1") == nil)
            #expect(try await jobs.find(where: "open", equals: true).map(\.id) == ["job-1"])
            let moved = try await jobs.compareAndSet(
                id: "job-1", expect: [("state", "queued")], set: [("state", "ran")])
            #expect(moved)
            // Opened again, the sibling is the same collection, not a new empty one.
            #expect(try await store.collection(named: "jobs").find(id: "job-1")?["state"] == "ran")
            let error = #expect(throws: StoreError.self) { _ = try store.collection(named: "Jobs; drop") }
            #expect(error?.code == .badURI)
            try await jobs.drop()
            #expect(try await store.count() == 2)
        }
    }
}
