import Crypto
import Foundation
import GRDB
import Logging
import Testing

@testable import Ingest

/// A workdir and secrets files in a scratch folder.
private struct Scratch {
    let dir: URL
    var workdir: String { dir.appendingPathComponent("work").path }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-ws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    /// Writes a secrets file (mode 0600) with these keys.
    func secrets(_ name: String, keyring: Keyring, index: BlindIndex) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Secrets.writeNewFile(Secrets.newFileText(keyring: keyring, index: index), to: path)
        return path
    }

    func open(_ keys: String, access: Workspace.Access, command: String = "test", store: String? = nil)
        async throws -> Workspace
    {
        try await Workspace.open(
            Workspace.Options(
                workdir: workdir, keysFile: keys, store: store, command: command, access: access, needsKeys: true,
                environment: [:]),
            logger: Logger(label: "photoseal.workspace.tests"))
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

@Suite("Workspace: lock, pinned keys, recorded stores, job", .tags(.integration))
struct WorkspaceTests {
    @Test("a second writer is refused at once naming the holder; a reader is not; the lock goes with its holder")
    func lock() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let keys = try scratch.secrets("keys.env", keyring: Keyring([FernetKey.generate()]), index: .generate())
        var first: Workspace? = try await scratch.open(keys, access: .seal, command: "run")
        #expect(first != nil)
        let started = Date()
        await #expect {
            _ = try await scratch.open(keys, access: .write, command: "encrypt-load")
        } throws: { error in
            let error = error as? IngestError
            return error?.code == .busy && error?.message.contains("photoseal run (pid \(getpid()))") == true
        }
        #expect(Date().timeIntervalSince(started) < 5)
        _ = try await scratch.open(keys, access: .read, command: "status")
        first = nil
        _ = try await scratch.open(keys, access: .write, command: "encrypt-load")
    }

    @Test("a secrets file with another index key or without a sealing key is refused before anything is written")
    func pinnedKeys() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let old = try FernetKey.generate()
        let index = try BlindIndex.generate()
        let keys = try scratch.secrets("keys.env", keyring: Keyring([old]), index: index)
        _ = try await scratch.open(keys, access: .seal)
        let record = try String(contentsOfFile: scratch.workdir + "/workspace.json", encoding: .utf8)
        let fingerprint = try index.fingerprint()
        #expect(record.contains(old.kid) && record.contains(fingerprint))

        let otherIndex = try scratch.secrets("b.env", keyring: Keyring([old]), index: .generate())
        await #expect {
            _ = try await scratch.open(otherIndex, access: .seal)
        } throws: { ($0 as? IngestError)?.code == .foreignKeys && "\($0)".contains("INDEX_KEY") }
        let newKey = try FernetKey.generate()
        let withoutOld = try scratch.secrets("c.env", keyring: Keyring([newKey]), index: index)
        await #expect {
            _ = try await scratch.open(withoutOld, access: .read)
        } throws: { ($0 as? IngestError)?.code == .foreignKeys && "\($0)".contains(old.kid) }
        #expect(try String(contentsOfFile: scratch.workdir + "/workspace.json", encoding: .utf8) == record)

        // The rotation recipe's file (a new primary key, the old one kept) is the workdir's.
        let rotated = try scratch.secrets("d.env", keyring: Keyring([newKey, old]), index: index)
        let workspace = try await scratch.open(rotated, access: .seal)
        #expect(workspace.sealKids == [old.kid, newKey.kid])
        try workspace.retire(kid: old.kid)
        #expect(workspace.sealKids == [newKey.kid])
    }

    @Test("a ledger from before workdir records gets its sealing keys and its load state assigned to its store")
    func olderWorkdir() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let key = try FernetKey.generate()
        let keys = try scratch.secrets("keys.env", keyring: Keyring([key]), index: .generate())
        let ledger = try Ledger(directory: scratch.workdir, logger: Logger(label: "test"))
        var document = LedgerTests.document(1, term: "t")
        document.seal.kid = key.kid
        try await ledger.insertPhoto(document, stage: .loaded)
        try await ledger.pool.write { db in
            try db.execute(sql: "UPDATE photo SET loaded_digest = 'x'")
        }
        let store = "embedded:" + scratch.dir.appendingPathComponent("store.sqlite").path
        let workspace = try await scratch.open(keys, access: .write, store: store)
        #expect(workspace.sealKids == [key.kid])
        #expect(workspace.recordedStores.map(\.key) == [StoreRecord.key(of: store)])
        #expect(try await ledger.loadedIDs(store: StoreRecord.key(of: store), after: nil, limit: 10) == ["flickr:1"])
        #expect(try await !ledger.hasUnassignedLoadState())
    }

    @Test("a store record keeps no password and no option, and says when the full URI is needed again")
    func storeRecord() throws {
        let secret = StoreRecord(
            uri: "mongodb://alice:p%40ss@db1:27017,db2/photos?tls=true&tlsCertificateKeyFilePassword=hunter2")
        #expect(secret.key == "mongodb://alice@db1:27017,db2/photos")
        #expect(secret.needsSecret && secret.reconnectURI == nil)
        let encoded = String(decoding: try JSONEncoder().encode(secret), as: UTF8.self)
        #expect(!encoded.contains("p%40ss") && !encoded.contains("hunter2") && !encoded.contains("tls"))
        let plain = StoreRecord(uri: "mongodb://127.0.0.1:27017/photoseal")
        #expect(plain.reconnectURI == "mongodb://127.0.0.1:27017/photoseal")
        let embedded = StoreRecord(uri: "embedded:relative/./store.sqlite")
        #expect(embedded.key == "embedded:" + FileManager.default.currentDirectoryPath + "/relative/store.sqlite")
        #expect(StoreRecord.key(of: "mongodb://alice:***@db1:27017,db2/photos?x=1") == secret.key)
        let postgres = StoreRecord(uri: "postgresql://loader:pg%23pw@db1:5432/photos?sslmode=require&sslpassword=k")
        #expect(postgres.key == "postgresql://loader@db1:5432/photos")
        #expect(postgres.needsSecret && postgres.reconnectURI == nil)
        #expect(StoreRecord.key(of: "postgresql://loader:***@db1:5432/photos?sslmode=require") == postgres.key)
    }

    @Test("job arguments fill in from the recorded job; a contradiction names its flag unless updating")
    func jobMerge() throws {
        let recorded = Job(
            search: Job.Search(terms: ["monkey"], bbox: "5,35,20,48", limit: 100), labels: ["monkey"],
            sizes: "o,k", storeImages: "stripped", store: "mongodb://h/db")
        #expect(try recorded.merged(with: Job(), updating: false) == recorded)
        let more = try recorded.merged(with: Job(search: Job.Search(limit: 100)), updating: false)
        #expect(more == recorded)
        #expect {
            try recorded.merged(
                with: Job(search: Job.Search(terms: ["cat"]), storeImages: "sealed"), updating: false)
        } throws: { error in
            let message = (error as? IngestError)?.message ?? ""
            return message.contains("--term") && message.contains("--store-images") && !message.contains("--bbox")
        }
        let changed = try recorded.merged(with: Job(search: Job.Search(terms: ["cat"])), updating: true)
        #expect(changed.search?.terms == ["cat"] && changed.search?.bbox == "5,35,20,48")
        #expect(throws: IngestError.self) { try recorded.merged(with: Job(source: "/photos"), updating: false) }
        let imported = try recorded.merged(with: Job(source: "/photos"), updating: true)
        #expect(imported.source == "/photos" && imported.search == nil)
    }
}
