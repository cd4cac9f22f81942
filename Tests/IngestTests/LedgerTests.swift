import Crypto
import Foundation
import Logging
import TestSupport
import Testing

@testable import Ingest

/// Records a transient failure on every `extracted` row and leaves its document as it was.
private struct KeepingStage: PipelineStage {
    var name: String { "keep" }
    var takes: Ledger.Stage { .extracted }
    func process(_ item: StageItem) async throws -> StepResult {
        var report = StageReport()
        report.failed = 1
        return StepResult(
            id: item.id, stage: .extracted, document: item.document,
            failure: PhotoFailure(stage: .extract, cause: "kept", permanent: false), report: report)
    }
}

@Suite("ledger", .tags(.integration))
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

    @Test(
        "claims take a stage's rows in the order they were added, not in id order, also in a ledger made before that order (v7)"
    )
    func claimOrder() async throws {
        // Ids added in an order that is neither sorted nor reverse-sorted.
        let order = [7, 2, 9, 1, 5, 3]
        let documents = order.map { Self.document($0, term: "a") }
        try await Self.withLedger { ledger in
            #expect(try await ledger.insertImported(documents, stage: .found) == order.count)
            let first = try await ledger.claim(stage: .found, limit: 4, owner: "w1")
            #expect(first.map(\.id) == ["flickr:7", "flickr:2", "flickr:9", "flickr:1"])
            // Moved on, the rows keep that order at the next stage.
            for entry in first.reversed() {
                try await ledger.advance(id: entry.id, to: .downloaded, document: entry.document)
            }
            #expect(
                try await ledger.claim(stage: .downloaded, limit: 2, owner: "w2").map(\.id) == ["flickr:7", "flickr:2"])
            #expect(try await ledger.claim(stage: .found, limit: 4, owner: "w3").map(\.id) == ["flickr:5", "flickr:3"])
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Ledger.create(in: dir.path, migratedUpTo: "v7-stage-order")
        let older = try Ledger(directory: dir.path, logger: Logger(label: "test"))
        #expect(try await older.insertImported(documents, stage: .found) == order.count)
        #expect(
            try await older.claim(stage: .found, limit: 3, owner: "w1").map(\.id) == [
                "flickr:7", "flickr:2", "flickr:9",
            ])
        // The migrated stage index lists rows by stage alone (then rowid, as every index does),
        // so a claim reads them off it in that order instead of sorting the stage's backlog.
        let (status, columns) = try runPython(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            print(",".join(r[2] for r in db.execute("PRAGMA index_info(photo_stage)")))
            """, [dir.appendingPathComponent(Ledger.fileName).path])
        #expect(status == 0)
        #expect(columns.trimmingCharacters(in: .whitespacesAndNewlines) == "stage")
    }

    @Test(
        "an older ledger's documents move to their own table byte for byte (loaded rows stay loaded), and a step that fails a row leaves its document unwritten"
    )
    func documentTableMigration() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Ledger.create(in: dir.path, migratedUpTo: "v5-source-object")
        let path = dir.appendingPathComponent(Ledger.fileName).path
        // JSON as an older version (or another encoder) wrote it: not in this version's key order,
        // so only a byte-for-byte move keeps the stores' digests valid.
        let json = String(decoding: try JSONEncoder().encode(Self.document(1, term: "a")), as: UTF8.self)
        let (status, output) = try runPython(
            """
            import hashlib, json, sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            doc = json.dumps(json.loads(sys.argv[2]), indent=1)
            for i, stage in [(1, "loaded"), (2, "extracted"), (3, "failed")]:
                body = doc.replace('"flickr:1"', '"flickr:%d"' % i)
                db.execute("INSERT INTO photo (id, source, source_id, stage, document, updated_at, failure_stage,"
                           " failure_cause, failure_permanent) VALUES (?, 'flickr', ?, ?, ?, '2024-05-01T10:00:00Z', ?, ?, ?)",
                           ("flickr:%d" % i, str(i), stage, body, "extract" if i == 3 else None,
                            "image-store" if i == 3 else None, 1 if i == 3 else 0))
                if stage == "loaded":
                    db.execute("INSERT INTO store_load (store, id, digest) VALUES ('s', ?, ?)",
                               ("flickr:%d" % i, hashlib.sha256(body.encode()).hexdigest()))
            db.commit()
            """, [path, json])
        try #require(status == 0, "\(output)")

        let ledger = try Ledger(directory: dir.path, logger: Logger(label: "test"))
        // The loaded row's digest still matches: only the row at `extracted` is to load.
        let load = try await ledger.loadCandidates(store: "s", after: nil, limit: 10)
        #expect(load.candidates.map(\.id) == ["flickr:2"])
        #expect(load.candidates.first?.json.contains("\n ") == true)
        var rows: [String: (stage: String, terms: [String], failure: PhotoFailure?)] = [:]
        try ledger.forEachDocument { rows[$0.id] = ($0.stage.name, $0.document.terms, $0.failure) }
        #expect(rows.mapValues(\.stage) == ["flickr:1": "loaded", "flickr:2": "extracted", "flickr:3": "failed"])
        #expect(rows.values.allSatisfy { $0.terms == ["a"] })
        #expect(rows["flickr:3"]?.failure == PhotoFailure(stage: .extract, cause: "image-store", permanent: true))
        // The state row no longer holds the document.
        let (_, columns) = try runPython(
            """
            import sqlite3, sys
            print(",".join(r[1] for r in sqlite3.connect(sys.argv[1]).execute("PRAGMA table_info(photo)")))
            """, [path])
        #expect(
            !columns.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "document" }
        )
        #expect(columns.contains("stage"))
        // A step that fails a row without changing its document leaves the document's bytes as
        // they were (no new encoding): the candidate read before is still the current version.
        _ = try await StageRunner(ledger: ledger).run(
            KeepingStage(), options: StageRunner.Options(concurrency: 2, limit: 1))
        var failed: [String: PhotoFailure] = [:]
        try ledger.forEachFailure { failed[$0.id] = $0.failure }
        #expect(failed["flickr:2"]?.cause == "kept")
        let reread = try await ledger.loadCandidates(store: "s", after: nil, limit: 10)
        #expect(reread.candidates.map(\.json) == load.candidates.map(\.json))
        // Loading it moves the state row only; the document read back is the one loaded.
        #expect(try await ledger.markLoaded(load.candidates, store: "s") == 1)
        let again = try await ledger.loadCandidates(store: "s", after: nil, limit: 10)
        #expect(again.candidates.isEmpty)
    }

    @Test(
        "an older ledger's last_error values become failures: download transient, unavailable and extract permanent, Vision's bad image data permanent and failed"
    )
    func failureMigration() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-ledger-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Ledger.create(in: dir.path, migratedUpTo: "v2-load")
        // Rows as the older version wrote them, written with Python's sqlite3.
        let document = String(decoding: try JSONEncoder().encode(Self.document(1, term: "a")), as: UTF8.self)
        let rows: [(String, String, String?)] = [
            ("flickr:1", "failed", "download:http-503"),
            ("flickr:2", "unavailable", "unavailable:http-404"),
            ("flickr:3", "failed", "extract:image-store"),
            ("flickr:4", "extracted", "Vision refused this image: Bad image data. (code 3)"),
            ("flickr:5", "extracted", "Google Vision answered HTTP 503 to images:annotate; try again later"),
            ("flickr:6", "loaded", nil),
        ]
        let insert = rows.map { id, stage, error in
            "('\(id)', 'flickr', '\(id.dropFirst(7))', '\(stage)', ?, '2024-05-01T10:00:00Z', "
                + (error.map { "'\($0)'" } ?? "NULL") + ")"
        }.joined(separator: ", ")
        let (status, output) = try runPython(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            sql = "INSERT INTO photo (id, source, source_id, stage, document, updated_at, last_error) VALUES " + sys.argv[2]
            db.execute(sql, [sys.argv[3]] * sql.count("?"))
            db.commit()
            """, [dir.appendingPathComponent(Ledger.fileName).path, insert, document])
        try #require(status == 0, "\(output)")

        let ledger = try Ledger(directory: dir.path, logger: Logger(label: "test"))
        var failures: [String: PhotoFailure] = [:]
        try ledger.forEachFailure { failures[$0.id] = $0.failure }
        #expect(
            failures == [
                "flickr:1": PhotoFailure(stage: .download, cause: "http-503", permanent: false),
                "flickr:2": PhotoFailure(stage: .download, cause: "http-404", permanent: true),
                "flickr:3": PhotoFailure(stage: .extract, cause: "image-store", permanent: true),
                "flickr:4": PhotoFailure(
                    stage: .score, cause: "Vision refused this image: Bad image data. (code 3)", permanent: true),
                "flickr:5": PhotoFailure(
                    stage: .score, cause: "Google Vision answered HTTP 503 to images:annotate; try again later",
                    permanent: false),
            ])
        var stages: [String: String] = [:]
        try ledger.forEachDocument { stages[$0.id] = $0.stage.name }
        #expect(stages["flickr:4"] == "failed" && stages["flickr:5"] == "extracted")
        // The old counts keep their keys.
        let counts = try await ledger.status().failures
        #expect(counts["download:http-503"] == 1 && counts["unavailable:http-404"] == 1)
        // Recorded before now: permanent failures of earlier runs.
        let report = try await ledger.failureReport(since: Date())
        #expect(report.total == 0 && report.earlierPermanent == 3)
    }

    @Test(
        "failures are recorded, listed and cleared on success; requeueing takes transient ones, permanent ones only when asked"
    )
    func recordAndRequeue() async throws {
        try await Self.withLedger { ledger in
            for id in 1...4 { try await ledger.insertPhoto(Self.document(id, term: "a"), stage: .found) }
            let start = Date()
            let claimed = try await ledger.claim(stage: .found, limit: 4, owner: "w")
            let transient = PhotoFailure(stage: .download, cause: "http-503", permanent: false)
            let gone = PhotoFailure(stage: .download, cause: "http-410", permanent: true)
            try await ledger.advance([
                .init(id: claimed[0].id, stage: .failed, document: claimed[0].document, failure: transient),
                .init(id: claimed[1].id, stage: .unavailable, document: claimed[1].document, failure: gone),
                .init(id: claimed[2].id, stage: .downloaded, document: claimed[2].document, failure: nil),
            ])
            try await ledger.release(id: claimed[3].id)
            var listed: [FailedPhoto] = []
            try ledger.forEachFailure { listed.append($0) }
            #expect(
                listed == [
                    FailedPhoto(id: "flickr:1", status: "failed", failure: transient),
                    FailedPhoto(id: "flickr:2", status: "unavailable", failure: gone),
                ])
            let report = try await ledger.failureReport(since: start, limit: 1)
            #expect(report.total == 2 && report.permanent == 1 && report.listed == [listed[0]])
            #expect(report.earlierPermanent == 0)
            let lines = report.lines(listCommand: "photoseal status --failures")
            #expect(lines.contains("  flickr:1 (download, transient): http-503"))
            #expect(
                lines.contains("  … and 1 more")
                    && lines.last == "list every failure with `photoseal status --failures`")

            #expect(try await ledger.requeueFailures(of: .download, includingPermanent: false) == 1)
            #expect(try await ledger.failure(id: "flickr:1") == nil)
            #expect(try await ledger.failure(id: "flickr:2") == gone)
            #expect(try await ledger.requeueFailures(of: .download, includingPermanent: true) == 1)
            #expect(try await ledger.count(stage: .found) == 3)

            // A refusal recorded on a row that keeps its stage is cleared once the row advances.
            let refusal = PhotoFailure(
                stage: .load, cause: "refused by the seal checks: sealed.owner does-not-open", permanent: false)
            try await ledger.recordFailures([("flickr:3", refusal)])
            #expect(try await ledger.failure(id: "flickr:3") == refusal)
            #expect(try await ledger.status().failures == ["load:\(refusal.cause)": 1])
            try await ledger.advance(id: "flickr:3", to: .extracted, document: Self.document(3, term: "a"))
            #expect(try await ledger.failure(id: "flickr:3") == nil)
        }
    }

    @Test(
        "a failure's cause is one short line with API keys and URL passwords masked",
        arguments: [
            ("GET https://h/x.jpg?key=AIzaSECRET&v=1 failed", "GET https://h/x.jpg?key=REDACTED&v=1 failed"),
            ("mongodb://user:hunter2@db:27017/x refused", "mongodb://user:***@db:27017/x refused"),
            ("line one\nline two\r\n", "line one line two"),
            ("", "unknown"),
        ])
    func causeIsCleaned(raw: String, expected: String) {
        #expect(PhotoFailure(stage: .score, cause: raw, permanent: false).cause == expected)
    }

    @Test("a cause longer than 200 characters is cut to 200")
    func longCause() {
        let cause = PhotoFailure(stage: .score, cause: String(repeating: "x", count: 500), permanent: true).cause
        #expect(cause.count == PhotoFailure.maxCauseLength && cause.hasSuffix("…"))
    }
}
