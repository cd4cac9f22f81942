import Crypto
import Foundation
import HTTP
import Logging
import Retry
import Store
import TestSupport
import Testing

@testable import Ingest

/// Shared setup for the encrypt-load, rotation and audit tests: a ledger built by the search
/// stage against the local Flickr server, its rows advanced to `extracted` through the Ledger API.
enum LoadFixture {
    static let logger = Logger(label: "photoseal.load.tests")

    struct Built {
        var ledger: Ledger
        var workdir: URL
        var keyring: Keyring
        var blind: BlindIndex
        var ids: [String]
        /// Source id → the dataset's owner, owner name and path alias (the server's truth).
        var truth: [String: [String: String]]
    }

    static func tempDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func build(photos: Int, keyring: Keyring? = nil) async throws -> Built {
        let server = try FlickrTestServer(["--per-second", "15"])
        defer { server.stop() }
        let workdir = try tempDirectory()
        let keyring = try keyring ?? Keyring([FernetKey.generate()])
        let blind = try BlindIndex.generate()
        let plan = try SearchPlan.make(
            terms: ["monkey"], termsFileText: nil, bbox: nil, minTaken: nil, maxTaken: nil,
            now: Int64(Date().timeIntervalSince1970))
        let ledger = try Ledger(directory: workdir.path, logger: logger)
        let http = try HTTPClient(logger: logger)
        defer { http.shutdown() }
        let counter = APICallCounter()
        let client = try FlickrClient(
            http: http, endpoint: server.endpoint, apiKey: FlickrTestServer.apiKey,
            budget: RateBudget(perHour: 36_000), retry: RetryPolicy(maxAttempts: 10, baseDelay: 0.05, maxDelay: 1),
            logger: logger, onAttempt: counter.record)
        let stage = SearchStage(
            client: client, counter: counter, ledger: ledger, sealer: FieldSealer(keyring: keyring), blind: blind,
            logger: logger)
        _ = try await stage.run(plan, options: SearchStage.Options(limit: photos))
        var ids: [String] = []
        var truth: [String: [String: String]] = [:]
        while true {
            let claimed = try await ledger.claim(stage: .found, limit: 500, owner: "test")
            if claimed.isEmpty { break }
            for entry in claimed {
                try await ledger.advance(id: entry.id, to: .extracted, document: entry.document)
                ids.append(entry.id)
                let record = try server.photo(entry.document.sourceID)
                truth[entry.document.sourceID] = [
                    "owner": record["owner"] as? String ?? "", "owner_name": record["ownername"] as? String ?? "",
                    "path_alias": record["pathalias"] as? String ?? "",
                ]
            }
        }
        return Built(ledger: ledger, workdir: workdir, keyring: keyring, blind: blind, ids: ids.sorted(), truth: truth)
    }

    static func openStore(_ kind: String, workdir: URL, batchSize: Int = 1000) async throws -> any DocumentStore {
        if kind == "mongo" {
            let base = try await MongoTestServer.shared()
            return try DocumentStores.open(
                uri: MongoTestServer.uri(base, database: MongoTestServer.randomDatabase()), batchSize: batchSize,
                logger: logger)
        }
        return try DocumentStores.open(
            uri: "embedded:" + workdir.appendingPathComponent("store.sqlite").path, batchSize: batchSize, logger: logger
        )
    }

    /// Every token of the store checked by Python `cryptography` with the given keys: it must
    /// open, its envelope must be `ps1\n<id>\n<field>\n<value>`, and owner, owner name and
    /// path alias must equal the Flickr server's record. Returns Python's last line.
    static func pythonCheck(
        _ store: any DocumentStore, keys: String, truth: [String: [String: String]], timestamps: [String: Int64]? = nil
    ) async throws -> String {
        var lines: [String] = []
        for try await batch in store.allDocuments(batchSize: 500) {
            for document in batch {
                let id = document.id ?? ""
                let sourceID = document["source_id"]?.stringValue ?? ""
                for field in document["sealed"]?.documentValue?.fields ?? [] {
                    guard let token = field.value.stringValue else { continue }
                    var entry: [String: Any] = [
                        "id": id, "field": field.key, "token": token,
                        "expect": truth[sourceID]?[field.key] ?? NSNull(),
                    ]
                    if let ts = timestamps?["\(id)/\(field.key)"] { entry["ts"] = ts }
                    lines.append(String(decoding: try JSONSerialization.data(withJSONObject: entry), as: UTF8.self))
                }
            }
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString)")
        try Data(lines.joined(separator: "\n").utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let script = """
            import sys, json, base64, struct
            from cryptography.fernet import Fernet, MultiFernet
            f = MultiFernet([Fernet(k.encode()) for k in sys.argv[1].split(",")])
            n = 0
            for line in open(sys.argv[2], encoding="utf-8"):
                e = json.loads(line)
                version, doc, field, value = f.decrypt(e["token"].encode()).split(b"\\n", 3)
                assert version == b"ps1" and doc.decode() == e["id"] and field.decode() == e["field"], e["id"]
                if e["expect"] is not None:
                    assert value.decode() == e["expect"], (e["id"], e["field"])
                if "ts" in e:
                    raw = base64.urlsafe_b64decode(e["token"].encode())
                    assert struct.unpack(">Q", raw[1:9])[0] == e["ts"], (e["id"], "timestamp")
                n += 1
            print("ok", n)
            """
        return try runPython(script, [keys, input.path]).output
    }

    /// The timestamp (bytes 1…8, big-endian) of a Fernet token, read without any key.
    static func timestamp(_ token: String) -> Int64? {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), data.count > 9 else { return nil }
        return data[1..<9].reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }
}

@Suite("encrypt-load on a ledger built by the search stage", .serialized, .tags(.integration))
struct EncryptLoadTests {
    @Test(
        "every extracted document is loaded once, its tokens open in Python with the envelope and the server's values; a second run writes nothing",
        arguments: ["embedded", "mongo"])
    func loadEndToEnd(kind: String) async throws {
        let built = try await LoadFixture.build(photos: 300)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        #expect(built.ids.count >= 300)
        let store = try await LoadFixture.openStore(kind, workdir: built.workdir)
        defer { Task { try? await store.drop() } }
        let stage = EncryptLoad(
            ledger: built.ledger, store: store, keyring: built.keyring, blind: built.blind, batchSize: 100,
            logger: LoadFixture.logger)
        let first = try await stage.run()
        #expect(first.loaded == built.ids.count)
        #expect(first.refused.isEmpty)
        // Batched: at least N/batch write commands, and far fewer than one a document. (Rows
        // that finish slowly, as on a loaded machine, are committed in part batches by the
        // runner's commit interval, so the count is not exactly N/batch.)
        let batches = (built.ids.count + 99) / 100
        #expect(first.writeCommands >= batches && first.writeCommands <= built.ids.count / 3)
        #expect(try await store.count() == built.ids.count)
        var storedIDs: [String] = []
        for try await batch in store.allDocuments(batchSize: 128) { storedIDs += batch.compactMap(\.id) }
        #expect(storedIDs == built.ids)
        let status = try await built.ledger.status()
        #expect(status.stages["loaded"] == built.ids.count)
        let python = try await LoadFixture.pythonCheck(
            store, keys: built.keyring.commaSeparated, truth: built.truth)
        #expect(python.hasPrefix("ok "), "\(python)")
        #expect((Int(python.dropFirst(3)) ?? 0) >= built.ids.count)

        // Personal values (the server's record) appear in no plaintext field of any document.
        var leaks: [String] = []
        for try await batch in store.allDocuments(batchSize: 200) {
            for document in batch {
                let values =
                    built.truth[document["source_id"]?.stringValue ?? ""]?.values.filter { $0.count >= 4 } ?? []
                for field in document.fields where field.key != "sealed" && field.key != "blind" {
                    let text = "\(field.value)"
                    if values.contains(where: { text.contains($0) }) {
                        leaks.append("\(document.id ?? "") \(field.key)")
                    }
                }
            }
        }
        #expect(leaks.isEmpty, "\(leaks.prefix(5))")
        let audit = try await Audit(
            store: store, ledger: built.ledger, keyring: built.keyring, blind: built.blind
        ).run()
        #expect(audit.ok && audit.documents == built.ids.count, "\(audit.findings.prefix(5))")

        let writes = store.writeCount
        let second = try await stage.run()
        #expect(second.loaded == 0 && second.unchanged == 0 && second.refused.isEmpty)
        #expect(store.writeCount == writes)
    }

    @Test("a stored document follows DESIGN.md's schema: field order, BSON dates, ints, sealed tokens only")
    func schema() async throws {
        let built = try await LoadFixture.build(photos: 20)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        let store = try await LoadFixture.openStore("embedded", workdir: built.workdir)
        _ = try await EncryptLoad(
            ledger: built.ledger, store: store, keyring: built.keyring, blind: built.blind, logger: LoadFixture.logger
        ).run()
        let document = try #require(try await store.find(id: built.ids[0]))
        #expect(
            document.keys == [
                "_id", "source", "source_id", "terms", "title", "description", "tags", "machine_tags", "views",
                "license", "taken_at", "uploaded_at", "page_url", "image_url", "image", "geo", "place", "scores",
                "score_model", "scored_at", "sealed", "seal", "blind", "ingested_at", "pipeline_version",
            ])
        #expect(document["uploaded_at"]?.dateValue != nil)
        #expect(document["ingested_at"]?.dateValue != nil)
        #expect(document.value(at: "seal.at")?.dateValue != nil)
        #expect(document["views"]?.intValue != nil)
        #expect(document.value(at: "seal.kid")?.stringValue == built.keyring.primary.kid)
        let sourceID = try #require(document["source_id"]?.stringValue)
        let owner = try #require(built.truth[sourceID]?["owner"])
        #expect(document.value(at: "blind.owner")?.stringValue == (try built.blind.hex(owner)))
    }

    @Test("a tampered token and a token moved from another document are refused with their reasons; the rest load")
    func refusals() async throws {
        let built = try await LoadFixture.build(photos: 40)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        var documents: [String: PhotoDocument] = [:]
        try built.ledger.forEachDocument { documents[$0.id] = $0.document }
        let tampered = built.ids[3]
        let moved = built.ids[7]
        var flipped = try #require(documents[tampered])
        var token = Array(try #require(flipped.sealed.owner).utf8)
        token[40] = token[40] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        flipped.sealed.owner = String(decoding: token, as: UTF8.self)
        try await built.ledger.advance(id: tampered, to: .extracted, document: flipped)
        var misplaced = try #require(documents[moved])
        misplaced.sealed.owner = documents[built.ids[8]]?.sealed.owner
        try await built.ledger.advance(id: moved, to: .extracted, document: misplaced)

        let store = try await LoadFixture.openStore("embedded", workdir: built.workdir)
        let summary = try await EncryptLoad(
            ledger: built.ledger, store: store, keyring: built.keyring, blind: built.blind, logger: LoadFixture.logger
        ).run()
        #expect(Set(summary.refused.map(\.id)) == [tampered, moved])
        #expect(
            summary.refused.contains { $0.id == tampered && $0.field == "sealed.owner" && $0.kind == "does-not-open" })
        #expect(
            summary.refused.contains { $0.id == moved && $0.field == "sealed.owner" && $0.kind == "misplaced-token" })
        #expect(summary.loaded == built.ids.count - 2)
        #expect(try await store.find(id: tampered) == nil)
        #expect(try await store.find(id: moved) == nil)
        // Each refusal is recorded on its photo (a transient load failure naming the field and
        // the reason); the photo keeps its stage and the next load checks it again.
        let failure = try await built.ledger.failure(id: tampered)
        #expect(failure?.stage == .load && failure?.permanent == false)
        #expect(failure?.cause.contains("sealed.owner does-not-open") == true)
        #expect(try await built.ledger.failure(id: moved)?.cause.contains("sealed.owner misplaced-token") == true)
        #expect(try await built.ledger.failure(id: built.ids[0]) == nil)
    }

    @Test("a MongoDB server stopped and restarted in the middle of a load: the load finishes, each document once")
    func serverRestart() async throws {
        let built = try await LoadFixture.build(photos: 600)
        defer { try? FileManager.default.removeItem(at: built.workdir) }
        let dbPath = built.workdir.appendingPathComponent("mongo.sqlite").path
        let server = try await MongoTestServer.start(arguments: ["--db-path", dbPath])
        defer { Task { try? await server.stop() } }
        let store = try DocumentStores.open(
            uri: MongoTestServer.uri(server.uri, database: "restart") + "?serverSelectionTimeoutMS=20000",
            batchSize: 50, logger: LoadFixture.logger)
        let restarted = Restarter(server: server)
        let summary = try await EncryptLoad(
            ledger: built.ledger, store: store, keyring: built.keyring, blind: built.blind, batchSize: 50,
            logger: LoadFixture.logger
        ).run { progress in
            if progress.loaded >= 100 { restarted.trigger() }
        }
        await restarted.wait()
        #expect(restarted.fired)
        #expect(summary.loaded == built.ids.count)
        #expect(try await store.count() == built.ids.count)
        var ids: [String] = []
        for try await batch in store.allDocuments(batchSize: 200) { ids += batch.compactMap(\.id) }
        #expect(ids == built.ids)
    }

    /// Stops the server once, waits a moment, starts it again.
    final class Restarter: @unchecked Sendable {
        let server: MongoTestServer
        private let lock = NSLock()
        private var task: Task<Void, Never>?
        init(server: MongoTestServer) { self.server = server }
        var fired: Bool { lock.withLock { task != nil } }
        func trigger() {
            lock.withLock {
                guard task == nil else { return }
                let server = self.server
                // Stop synchronously-enough: the next batch then meets a dead server.
                let semaphore = DispatchSemaphore(value: 0)
                Task.detached {
                    try? await server.stop()
                    semaphore.signal()
                }
                semaphore.wait()
                task = Task.detached {
                    try? await Task.sleep(for: .seconds(1.5))
                    try? await server.restart()
                }
            }
        }
        func wait() async { await lock.withLock { task }?.value }
    }
}
