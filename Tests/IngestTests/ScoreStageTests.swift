import Enrich
import Foundation
import HTTP
import Logging
import Retry
import Testing

@testable import Ingest

@Suite("score stage against the local Vision server", .serialized, .tags(.integration))
struct ScoreStageTests {
    static let fast = RetryPolicy(maxAttempts: 8, baseDelay: 0.01, maxDelay: 0.05)

    static func stage(
        _ work: ScoreWorkdir, _ server: VisionTestServer, apiKey: String = VisionTestServer.apiKey
    ) throws -> (ScoreStage, HTTPClient) {
        let logger = Logger(label: "test")
        let http = try HTTPClient(logger: logger)
        let counter = APICallCounter()
        let client = try VisionClient(
            http: http, endpoint: server.endpoint, apiKey: apiKey, retry: fast, logger: logger,
            onAttempt: counter.record)
        return (
            ScoreStage(
                ledger: try work.ledger(), client: client, counter: counter, workdir: work.dir.path, logger: logger),
            http
        )
    }

    static func run(
        _ work: ScoreWorkdir, _ server: VisionTestServer, _ options: ScoreStage.Options
    ) async throws -> ScoreStage.Summary {
        let (stage, http) = try stage(work, server)
        defer { http.shutdown() }
        return try await stage.run(options)
    }

    static func options(_ labels: [String] = ["animal"], file: String = "", maxImages: Int? = nil) throws
        -> ScoreStage.Options
    {
        var vocabulary = LabelVocabulary(labels: labels)
        try vocabulary.merge(fileText: file, name: "labels.txt")
        return ScoreStage.Options(labels: labels, vocabulary: vocabulary, maxImages: maxImages, concurrency: 4)
    }

    @Test(
        "every request asks for LABEL_DETECTION only, at most 16 images; each distinct image is billed once across re-runs"
    )
    func labelsOnlyBilledOnce() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        // 40 photos, of which photos 31...40 repeat the bytes of photos 1...10: 30 distinct images.
        try await work.add((1...40).map { ($0, ScoreWorkdir.bytes($0 > 30 ? $0 - 30 : $0), ["monkey"]) })
        let distinct = Set(work.sha.values)
        #expect(distinct.count == 30)

        let first = try await Self.run(work, server, Self.options())
        #expect(first.plan.billedImages == 30)
        #expect(first.plan.calls == 2)
        let log = try server.log()
        #expect(log.count == 2)
        for call in log {
            #expect(call.status == 200)
            #expect(call.images.count <= 16)
            for image in call.images { #expect(image.features == ["LABEL_DETECTION"]) }
        }
        #expect(try server.billed() == Dictionary(uniqueKeysWithValues: distinct.map { ($0, 1) }))
        let rows = try work.rows()
        #expect(rows.values.allSatisfy { $0.stage == .scored })
        #expect(rows.values.allSatisfy { $0.document.scoreModel == "google-vision-label-detection-v1" })
        #expect(rows.values.allSatisfy { $0.document.scoredAt != nil && $0.document.labels != nil })

        // A re-run, and a re-run with other labels: nothing sent, nothing billed.
        let second = try await Self.run(work, server, Self.options())
        #expect(second.plan.billedImages == 0 && second.calls == 0)
        let third = try await Self.run(work, server, Self.options(["sky", "tree"]))
        #expect(third.plan.billedImages == 0 && third.calls == 0)
        #expect(try server.log().count == 2)
        #expect(try server.billed().values.reduce(0, +) == 30)
    }

    @Test("1,000 photos are scored in ceil(1000/16) successful calls plus the retried 429/503 answers")
    func thousandPhotos() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...1000).map { ($0, ScoreWorkdir.bytes($0) + Array("\($0)".utf8), []) })
        try server.configure("burst=3&burst_status=503")
        let summary = try await Self.run(work, server, Self.options())
        #expect(summary.labelledImages == 1000)
        let log = try server.log()
        #expect(log.filter { $0.status == 200 }.count == 63)
        #expect(log.count <= 63 + 3)
        #expect(log.filter { $0.status == 503 }.count == 3)
        let billed = try server.billed()
        #expect(billed.count == 1000 && billed.values.allSatisfy { $0 == 1 })
        #expect(try await work.ledger().status().stages["scored"] == 1000)
    }

    @Test("HTTP 429 bursts are retried with back-off and the photos are still scored once")
    func tooManyRequests() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...20).map { ($0, ScoreWorkdir.bytes($0), []) })
        try server.configure("burst=4&burst_status=429")
        let summary = try await Self.run(work, server, Self.options())
        #expect(summary.labelledImages == 20)
        #expect(try server.log().filter { $0.status == 429 }.count == 4)
        #expect(try server.billed().values.allSatisfy { $0 == 1 })
        #expect(try await work.ledger().status().apiCalls["vision"]?["retried"] == 4)
    }

    @Test(
        "an image Vision refuses as bad image data is recorded permanent with its cause on that photo only; later runs never send it again; retryFailed sends it once more"
    )
    func refusedImagesAreNotSentAgain() async throws {
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...10).map { ($0, ScoreWorkdir.bytes($0), []) })
        let bad = [work.sha["flickr:3"]!, work.sha["flickr:7"]!]
        let server = try VisionTestServer(errors: [bad[0]: 1, bad[1]: 1])
        defer { server.stop() }
        let first = try await Self.run(work, server, Self.options())
        #expect(first.failedPhotos == 2 && first.refusedPhotos == 2 && first.scoredPhotos == 8)
        var rows = try work.rows()
        for id in (1...10).map({ "flickr:\($0)" }) {
            let refused = id == "flickr:3" || id == "flickr:7"
            #expect(rows[id]?.stage == (refused ? .failed : .scored), "\(id)")
            let failure = try await work.ledger().failure(id: id)
            if refused {
                #expect(failure?.stage == .score && failure?.permanent == true, "\(id)")
                #expect(failure?.cause == "Vision refused this image: Bad image data. (code 3)", "\(id)")
            } else {
                #expect(failure == nil, "\(id)")
            }
        }
        // The server counts every image it was sent: a second run sends neither refused image.
        func sent(_ sha: String) throws -> Int {
            try server.log().flatMap(\.images).filter { $0.sha256 == sha }.count
        }
        let second = try await Self.run(work, server, Self.options())
        #expect(second.plan.billedImages == 0 && second.calls == 0 && second.plan.refusedEarlier == 2)
        #expect(try bad.map(sent) == [1, 1])
        #expect(try work.rows()["flickr:3"]?.stage == .failed)

        // Asked to, the next run sends them again (the server now labels them).
        var options = try Self.options()
        options.retryFailed = true
        let retried = try await Self.run(work, server, options)
        #expect(retried.plan.billedImages == 2 && retried.labelledImages == 2 && retried.plan.refusedEarlier == 0)
        #expect(try bad.map(sent) == [2, 2])
        rows = try work.rows()
        #expect(rows.values.allSatisfy { $0.stage == .scored })
        #expect(try await work.ledger().failure(id: "flickr:3") == nil)
        let billed = try server.billed()
        #expect(billed.count == 10 && billed.values.allSatisfy { $0 == 1 })
    }

    @Test("a transient per-image error is recorded transient; the photo stays extracted and the next run retries it")
    func transientImageErrorsAreRetried() async throws {
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...6).map { ($0, ScoreWorkdir.bytes($0), []) })
        let flaky = work.sha["flickr:2"]!
        let server = try VisionTestServer(transientErrors: [flaky: 1])
        defer { server.stop() }
        let first = try await Self.run(work, server, Self.options())
        #expect(first.failedPhotos == 1 && first.refusedPhotos == 0 && first.scoredPhotos == 5)
        #expect(try work.rows()["flickr:2"]?.stage == .extracted)
        let failure = try await work.ledger().failure(id: "flickr:2")
        #expect(failure?.stage == .score && failure?.permanent == false)
        #expect(failure?.cause.contains("Service unavailable.") == true)
        let second = try await Self.run(work, server, Self.options())
        #expect(second.plan.billedImages == 1 && second.labelledImages == 1)
        #expect(try work.rows()["flickr:2"]?.stage == .scored)
        #expect(try await work.ledger().failure(id: "flickr:2") == nil)
        #expect(try server.billed()[flaky] == 1)
    }

    @Test("a refused key stops the run at once with a message that names the fix and not the key")
    func wrongKey() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...40).map { ($0, ScoreWorkdir.bytes($0), []) })
        let (stage, http) = try Self.stage(work, server, apiKey: "wrong-key-SECRET123")
        defer { http.shutdown() }
        do {
            _ = try await stage.run(Self.options())
            Issue.record("the run went on with a refused key")
        } catch let error as IngestError {
            #expect(error.code == .invalidAPIKey)
            #expect(error.description.contains("GOOGLE_VISION_API_KEY"))
            #expect(!error.description.contains("SECRET123"))
        }
        // Stopped at once: no retries of the refusal, at most one call per slot in flight.
        #expect(try server.log().count <= 4)
        #expect(try server.billed().isEmpty)
        #expect(try work.rows().values.allSatisfy { $0.stage == .extracted })
    }

    @Test("synonyms and search terms in other languages map to labels; a substring never matches")
    func vocabularyMapping() async throws {
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add([
            (1, Array("macaque photo".utf8), ["scimmia"]),
            (2, Array("primate in a net".utf8), ["猴子"]),
            (3, Array("a cabinet".utf8), ["monkey"]),
        ])
        let server = try VisionTestServer(labels: [
            work.sha["flickr:1"]!: [
                ["description": "Macaque", "score": 0.93, "mid": "/m/1"],
                ["description": "Monkeypox", "score": 0.99, "mid": "/m/2"],
            ],
            work.sha["flickr:2"]!: [
                ["description": "Primate", "score": 0.71, "mid": "/m/3"],
                ["description": "Fishing net", "score": 0.66, "mid": "/m/4"],
                ["description": "Old World monkey", "score": 0.62, "mid": "/m/5"],
            ],
            work.sha["flickr:3"]!: [
                ["description": "Cabinet", "score": 0.9, "mid": "/m/6"],
                ["description": "Internet", "score": 0.8, "mid": "/m/7"],
            ],
        ])
        defer { server.stop() }
        let file = """
            monkey: monkey, primate, macaque
            net: net
            scimmia -> monkey
            猴子 -> monkey
            """
        // Only "net" is asked for; "monkey" comes from each photo's search terms.
        _ = try await Self.run(work, server, Self.options(["net"], file: file))
        let rows = try work.rows()
        #expect(rows["flickr:1"]?.document.scores == ["monkey": 0.93])
        #expect(rows["flickr:2"]?.document.scores == ["monkey": 0.71, "net": 0.66])
        #expect(rows["flickr:3"]?.document.scores == [:])
        #expect(rows["flickr:1"]?.document.labels?.map(\.description) == ["Macaque", "Monkeypox"])
    }

    @Test("re-scoring with another label set uses the cached labels and makes no call")
    func rescoreFromCache() async throws {
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add([(1, Array("one".utf8), [])])
        let server = try VisionTestServer(labels: [
            work.sha["flickr:1"]!: [["description": "Cage", "score": 0.8], ["description": "Primate", "score": 0.6]]
        ])
        defer { server.stop() }
        _ = try await Self.run(work, server, Self.options(["cage"]))
        #expect(try work.rows()["flickr:1"]?.document.scores == ["cage": 0.8])
        let again = try await Self.run(work, server, Self.options(["monkey"], file: "monkey: primate"))
        #expect(again.calls == 0 && again.scoredPhotos == 1)
        #expect(try work.rows()["flickr:1"]?.document.scores == ["cage": 0.8, "monkey": 0.6])
        #expect(try server.log().count == 1)
    }

    @Test("--max-images caps what one run sends; an image over 4 MB is refused unsent with an error")
    func capsAndLimits() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...20).map { ($0, ScoreWorkdir.bytes($0), []) })
        try await work.add([(21, [UInt8](repeating: 7, count: 4 * 1024 * 1024 + 1), [])])
        let capped = try await Self.run(work, server, Self.options(maxImages: 5))
        #expect(capped.plan.billedImages == 5 && capped.plan.deferredImages == 15 && capped.plan.refusedImages == 1)
        #expect(try server.billed().count == 5)
        let failure = try await work.ledger().failure(id: "flickr:21")
        #expect(failure?.cause.contains("too large") == true && failure?.permanent == false)
        let rest = try await Self.run(work, server, Self.options())
        #expect(rest.plan.billedImages == 15)
        #expect(try server.billed().count == 20)
        #expect(!(try server.billed().keys.contains(work.sha["flickr:21"]!)))
    }

    @Test("--max-cost caps the images billed at what the amount buys at the public rate, reported as deferred")
    func costCap() async throws {
        let server = try VisionTestServer()
        defer { server.stop() }
        var work = try ScoreWorkdir()
        defer { work.remove() }
        try await work.add((1...20).map { ($0, ScoreWorkdir.bytes($0), []) })
        // $1.50 per 1,000 images: $0.015 buys 10 images, $0.0149 only 9.
        #expect(ScoreStage.images(affordableFor: 0.015) == 10)
        #expect(ScoreStage.images(affordableFor: 0.0149) == 9)
        #expect(ScoreStage.images(affordableFor: 0) == 0)
        var options = try Self.options()
        options.maxCost = 0.015
        let capped = try await Self.run(work, server, options)
        #expect(capped.plan.billedImages == 10 && capped.plan.deferredImages == 10 && capped.plan.deferredByCost)
        #expect(capped.plan.estimatedCost <= 0.015)
        #expect(try server.billed().values.reduce(0, +) == 10)
        // With --max-images lower still, that cap wins and is the one reported.
        options.maxImages = 3
        let lower = try await Self.run(work, server, options)
        #expect(lower.plan.billedImages == 3 && lower.plan.deferredImages == 7 && !lower.plan.deferredByCost)
        #expect(try server.billed().values.reduce(0, +) == 13)
    }

    @Test("calls are packed by count (16) and by request bytes (10 MB)")
    func packing() {
        let small = VisionClient.pack(sizes: Array(repeating: 1000, count: 40))
        #expect(small == [0..<16, 16..<32, 32..<40])
        // 3 MB images: 4 MB of base64 each, so two fit under 10 MB and a third does not.
        let large = VisionClient.pack(sizes: Array(repeating: 3_000_000, count: 5))
        #expect(large == [0..<2, 2..<4, 4..<5])
    }

    @Test("the key is redacted from messages: key= and api_key=, but not monkey=")
    func redaction() {
        #expect(
            Redaction.redact("POST http://h/v1/images:annotate?key=AIzaSECRET&x=1 failed")
                == "POST http://h/v1/images:annotate?key=REDACTED&x=1 failed")
        #expect(Redaction.redact("--min-score monkey=0.6") == "--min-score monkey=0.6")
        #expect(Redaction.redact("a?api_key=abc") == "a?api_key=REDACTED")
    }
}
