import Foundation
import Store
import TestSupport
import Testing

/// MongoDB-specific behaviour, against real wire servers started by scripts/mongo-test-server.sh.
@Suite("MongoDB store", .tags(.integration))
struct MongoStoreTests {
    @Test("a malformed MongoDB URI gives one badURI error without the password")
    func badURI() throws {
        let error = #expect(throws: StoreError.self) {
            _ = try DocumentStores.open(
                uri: "mongodb://reader:s3cret-pw@127.0.0.1:27017/db?tls=maybe", logger: testLogger)
        }
        #expect(error?.code == .badURI)
        #expect(error?.description.contains("s3cret-pw") == false)
        #expect(error?.description.contains("reader:***@") == true)

        let other = #expect(throws: StoreError.self) {
            _ = try DocumentStores.open(uri: "redis://u:hunter2@localhost/x", logger: testLogger)
        }
        #expect(other?.code == .badURI)
        #expect(other?.description.contains("embedded:PATH") == true)
        #expect(other?.description.contains("mongodb+srv://") == true)
        #expect(other?.description.contains("hunter2") == false)
    }

    @Test("a mongodb+srv URI whose DNS SRV record does not exist gives one unreachable error")
    func srvLookupFails() {
        let error = #expect(throws: StoreError.self) {
            _ = try DocumentStores.open(
                uri: "mongodb+srv://loader:srv-secret@cluster0.nosuchhost.invalid/photoseal", logger: testLogger)
        }
        #expect(error?.code == .unreachable)
        #expect(error?.description.contains("SRV") == true)
        #expect(error?.description.contains("srv-secret") == false)
    }

    @Test("a server that is not listening gives one unreachable error, quickly, after bounded retries")
    func unreachable() async throws {
        let port = try await closedLoopbackPort()
        let store = try MongoStore(
            uri: "mongodb://app:pa55word@127.0.0.1:\(port)/photoseal?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
            configuration: .init(retry: .init(maxAttempts: 2, initialBackoff: .milliseconds(50))), logger: testLogger)
        let started = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) { _ = try await store.count() }
        #expect(error?.code == .unreachable)
        #expect(error?.isRetriable == true)
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
        #expect(error?.description.contains("pa55word") == false)
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(store.retryCount == 1)
    }

    @Test(
        "with default settings, a dead MongoDB URI fails within 15 s naming host:port, never the password",
        arguments: ["closed port", "unknown host"])
    func deadStoreFailsFast(kind: String) async throws {
        let host = kind == "closed port" ? "127.0.0.1:\(try await closedLoopbackPort())" : "nosuchhost.invalid:27017"
        let recorder = LogRecorder()
        let store = try MongoStore(uri: "mongodb://app:dead-pa55word@\(host)/photoseal", logger: recorder.logger())
        let started = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) { try await store.ping() }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .unreachable)
        #expect(error?.description.contains("mongodb://app:***@\(host)/photoseal") == true)
        #expect(error?.description.contains("--store") == true, "\(String(describing: error))")
        if kind == "closed port" {
            #expect(elapsed < .seconds(15), "\(elapsed)")
            #expect(store.retryCount >= 1)
        } else {
            // Name resolution inside libmongoc can stall for its whole 30 s server selection when
            // the machine's resolver is busy (the full suite in parallel); well short of the
            // 186 s it took before, and never retried past the unreachable budget.
            #expect(elapsed < .seconds(90), "\(elapsed)")
        }
        let retries = recorder.records.filter { $0.message == "store operation failed, retrying" }
        #expect(retries.count == store.retryCount)
        #expect(retries.allSatisfy { $0.metadata["store.location"] == "mongodb://app:***@\(host)/photoseal" })
        for text in [error?.description ?? ""] + recorder.records.map({ "\($0.message) \($0.metadata)" }) {
            #expect(!text.contains("dead-pa55word"))
        }
    }

    @Test("a wrong password: ping fails at once, with no retry, saying the credentials were refused")
    func pingWrongPassword() async throws {
        let server = try await MongoTestServer.start(arguments: ["--user", "photoseal", "--password", "right-horse"])
        defer { Task { try? await server.stop() } }
        let base = server.uri.replacingOccurrences(of: "mongodb://", with: "")
        let auth = "authSource=admin&authMechanism=SCRAM-SHA-256"
        let wrong = try MongoStore(uri: "mongodb://photoseal:wrong-battery@\(base)db1?\(auth)", logger: testLogger)
        let started = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) { try await wrong.ping() }
        // At once: no retry (below); the bound leaves room for a machine busy with other suites.
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(error?.code == .authFailed)
        #expect(error?.description.contains("refused the credentials") == true)
        #expect(error?.description.contains("wrong-battery") == false)
        #expect(wrong.retryCount == 0)
        let right = try MongoStore(uri: "mongodb://photoseal:right-horse@\(base)db1?\(auth)", logger: testLogger)
        try await right.ping()
    }

    @Test("wrong credentials give one authFailed error that never shows the password")
    func wrongCredentials() async throws {
        let server = try await MongoTestServer.start(arguments: ["--user", "photoseal", "--password", "right-horse"])
        defer { Task { try? await server.stop() } }
        let base = server.uri.replacingOccurrences(of: "mongodb://", with: "")
        // mongoeco checks SCRAM-SHA-1 proofs against the raw password, not MongoDB's MD5 digest of
        // it, so only SCRAM-SHA-256 (raw password, as on a real server) can log in.
        let auth = "authSource=admin&authMechanism=SCRAM-SHA-256"
        let wrong = try MongoStore(
            uri: "mongodb://photoseal:wrong-battery@\(base)db1?\(auth)&serverSelectionTimeoutMS=2000",
            configuration: .init(retry: .init(maxAttempts: 2, initialBackoff: .milliseconds(50))), logger: testLogger)
        let error = await #expect(throws: StoreError.self) { _ = try await wrong.count() }
        #expect(error?.code == .authFailed)
        #expect(error?.isRetriable == false)
        #expect(error?.description.contains("wrong-battery") == false)
        #expect(error?.description.contains("authSource") == true)

        let right = try MongoStore(
            uri: "mongodb://photoseal:right-horse@\(base)db1?\(auth)", logger: testLogger)
        #expect(try await right.upsert([photo(1)]) == UpsertSummary(inserted: 1))
        #expect(try await right.count() == 1)
    }

    @Test("loading N documents with batch size B sends N/B write commands, and a reload sends none")
    func writeCommandsPerBatch() async throws {
        try await withStore(.mongo, configuration: .init(batchSize: 100)) { store in
            let mongo = try #require(store as? MongoStore)
            let before = mongo.writeCount
            let summary = try await mongo.upsert((1...1000).map { photo($0) })
            #expect(summary.inserted == 1000)
            #expect(mongo.writeCount - before == 10)
            #expect(mongo.commandCount("update") - before == 10)

            let reload = try await mongo.upsert((1...1000).map { photo($0) })
            #expect(reload.unchanged == 1000)
            #expect(mongo.writeCount - before == 10)
        }
    }

    @Test("a query longer than one cursor batch reads fully through getMore")
    func multiBatchCursor() async throws {
        try await withStore(.mongo, configuration: .init(cursorBatchSize: 50)) { store in
            let mongo = try #require(store as? MongoStore)
            _ = try await mongo.upsert((1...299).map { photo($0, kid: "kid-many") })
            let getMoresBefore = mongo.commandCount("getMore")
            let found = try await mongo.find(where: "seal.kid", equals: "kid-many")
            #expect(found.count == 299)
            #expect(Set(found.compactMap(\.id)).count == 299)
            #expect(mongo.commandCount("getMore") - getMoresBefore >= 5)
        }
    }

    @Test("values land in MongoDB with the BSON types pymongo reads: int32/int64, double, date, string")
    func bsonTypesSeenByPymongo() async throws {
        let server = try await MongoTestServer.shared()
        let database = MongoTestServer.randomDatabase()
        let store = try MongoStore(uri: MongoTestServer.uri(server, database: database), logger: testLogger)
        let when = Date(timeIntervalSince1970: 1_715_000_000.123)
        _ = try await store.upsert([
            [
                "_id": "types:1", "small": 7, "big": .int(5_000_000_000), "whole": 2.0, "when": .date(when),
                "text": "x", "flag": true, "nothing": .null,
            ]
        ])
        _ = try await MongoTestServer.script(["install"])
        let venv =
            ProcessInfo.processInfo.environment["PHOTOSEAL_MONGO_VENV"]
            ?? repositoryRoot.appendingPathComponent(".venv-mongo").path
        let script = """
            import sys, pymongo
            c = pymongo.MongoClient(sys.argv[1])
            d = c[sys.argv[2]]["photos"].find_one({"_id": "types:1"})
            print(" ".join(f"{k}={type(v).__name__}" for k, v in d.items()))
            print(int(d["when"].timestamp() * 1000))
            """
        let output = try await runProcess("\(venv)/bin/python", ["-c", script, server, database])
        try await store.drop()
        let lines = output.split(separator: "\n").map(String.init)
        #expect(
            lines.first == "_id=str small=int big=Int64 whole=float when=datetime text=str flag=bool nothing=NoneType")
        #expect(lines.last == "1715000000123")
    }

    @Test("the write concern defaults to majority and follows the URI's w=")
    func writeConcern() async throws {
        let server = try await MongoTestServer.shared()
        let byDefault = try MongoStore(
            uri: MongoTestServer.uri(server, database: MongoTestServer.randomDatabase()), logger: testLogger)
        #expect(byDefault.writeConcern == .majority)
        // mongoeco (like a real standalone mongod) acknowledges w=majority.
        #expect(try await byDefault.upsert([photo(1)]) == UpsertSummary(inserted: 1))
        try await byDefault.drop()
        let one = try MongoStore(
            uri: MongoTestServer.uri(server, database: MongoTestServer.randomDatabase(), options: "w=1"),
            logger: testLogger)
        #expect(one.writeConcern == .nodes(1))
        #expect(one.database.hasPrefix("photoseal_test_"))
        // A standalone server cannot acknowledge w=3: one clear error, not a silent weaker write.
        let three = try MongoStore(
            uri: MongoTestServer.uri(server, database: MongoTestServer.randomDatabase(), options: "w=3"),
            logger: testLogger)
        #expect(three.writeConcern == .nodes(3))
        let error = await #expect(throws: StoreError.self) { _ = try await three.upsert([photo(1)]) }
        #expect(error?.code == .writeConcernFailed)
        #expect(error?.description.contains("w=3") == true)
        #expect(error?.description.contains("w=1") == true)
        #expect(try await three.count() == 0)
        try? await three.drop()
        let fromDefaultPath = try MongoStore(uri: "mongodb://127.0.0.1:1/", logger: testLogger)
        #expect(fromDefaultPath.database == "photoseal")
    }

    @Test("a server stopped and restarted mid-load: the load finishes, nothing lost, nothing twice")
    func restartDuringLoad() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "photoseal-restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try await MongoTestServer.start(arguments: [
            "--db-path", folder.appendingPathComponent("mongo.sqlite").path,
        ])
        defer { Task { try? await server.stop() } }
        let store = try MongoStore(
            uri: MongoTestServer.uri(
                server.uri, database: "restart", options: "serverSelectionTimeoutMS=5000&connectTimeoutMS=2000"),
            configuration: .init(
                batchSize: 50,
                // A budget that outlasts mongoeco's restart on a loaded machine (>10 s seen in CI):
                // the test is about nothing lost or doubled, not about how long a restart takes.
                retry: .init(
                    maxAttempts: 40, initialBackoff: .milliseconds(200), maxBackoff: .seconds(1),
                    unreachableBudget: .seconds(90))),
            logger: testLogger)
        let total = 1500
        let documents = (1...total).map { photo($0) }
        let load = Task { try await store.upsert(documents) }
        while store.writeCount < 3 { try await Task.sleep(for: .milliseconds(10)) }
        try await server.stop()
        let writesWhenStopped = store.writeCount
        try await server.restart()
        let summary = try await load.value

        #expect(writesWhenStopped < total / 50)
        // The batch in flight either failed and was retried, or waited in server selection
        // until the server was back (a quick restart): either way nothing is lost or doubled.
        #expect(summary.total == total)
        #expect(try await store.count() == total)
        var ids: [String] = []
        for try await batch in store.allDocuments(batchSize: 500) { ids += batch.compactMap(\.id) }
        #expect(ids == documents.compactMap(\.id))
        #expect(try await store.find(id: "flickr:00001234") == documents[1233])
    }
}

@Suite("store URIs", .tags(.integration))
struct StoreURITests {
    @Test("the password in a URI is masked, the rest kept")
    func redaction() {
        #expect(
            StoreURI.redact("mongodb://alice:p%40ss@h1:27017,h2/db?tls=true")
                == "mongodb://alice:***@h1:27017,h2/db?tls=true")
        #expect(
            StoreURI.redact("mongodb+srv://bob:x@cluster0.example.net/")
                == "mongodb+srv://bob:***@cluster0.example.net/")
        #expect(StoreURI.redact("mongodb://carol@h/db") == "mongodb://carol@h/db")
        #expect(StoreURI.redact("mongodb://h:1/db") == "mongodb://h:1/db")
        #expect(StoreURI.redact("embedded:/tmp/a@b:c") == "embedded:/tmp/a@b:c")
    }

    @Test("secret query options and sub-options are masked field by field, in the URI and in error messages")
    func secretOptions() {
        let uri =
            "mongodb://u:PassW0rdX@h/db?tls=true&tlsCertificateKeyFilePassword=TlsS3cretX"
            + "&authMechanismProperties=SERVICE_NAME:mongo,AWS_SESSION_TOKEN:Sess10nTokX&appName=a"
        #expect(
            StoreURI.redact(uri)
                == "mongodb://u:***@h/db?tls=true&tlsCertificateKeyFilePassword=***"
                + "&authMechanismProperties=SERVICE_NAME:mongo,AWS_SESSION_TOKEN:***&appName=a")
        let error = StoreError(.unreachable, store: uri, message: "cannot reach \(uri): bad TlsS3cretX, Sess10nTokX")
        for secret in ["PassW0rdX", "TlsS3cretX", "Sess10nTokX"] {
            #expect(!error.description.contains(secret))
            #expect(!error.store.contains(secret))
        }
        #expect(error.store.contains("appName=a"))
    }

    @Test("embedded: with no path, and a file that is not a store, give one clear error each")
    func embeddedErrors() throws {
        let empty = #expect(throws: StoreError.self) {
            _ = try DocumentStores.open(uri: "embedded:", logger: testLogger)
        }
        #expect(empty?.code == .badURI)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-store-\(UUID().uuidString)")
        try Data("this is plain text, not SQLite".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let garbage = #expect(throws: StoreError.self) {
            _ = try DocumentStores.open(uri: "embedded:\(file.path)", logger: testLogger)
        }
        #expect(garbage?.code == .corrupt)
        #expect(garbage?.description.contains(file.path) == true)
    }

    @Test("the factory opens the kind of store the URI names")
    func factory() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)/s.sqlite")
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }
        #expect(try DocumentStores.open(uri: "embedded:\(file.path)", logger: testLogger) is EmbeddedStore)
        #expect(try DocumentStores.open(uri: "mongodb://127.0.0.1:1/x", logger: testLogger) is MongoStore)
        #expect(try DocumentStores.open(uri: "postgresql://127.0.0.1:1/x", logger: testLogger) is PostgresStore)
        #expect(try DocumentStores.open(uri: "postgres://u:p@127.0.0.1:1/x", logger: testLogger) is PostgresStore)
    }
}
