import Foundation
import Store
import Testing

@Test("libmongoc counter files of ended processes are removed; those of live processes and other names stay")
func staleCounterFiles() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ps-shm-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // A pid that surely ended: a child that was started and waited for.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/true")
    try child.run()
    child.waitUntilExit()
    let ended = child.processIdentifier
    let live = getpid()
    for name in ["mongoc-\(ended)", "mongoc-\(live)", "mongoc-\(getppid())", "PostgreSQL.123", "mongoc-x"] {
        #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: Data([1])))
    }
    MongoSharedMemory.removeStaleCounters(directory: dir)
    let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
    #expect(left == ["mongoc-\(live)", "mongoc-\(getppid())", "PostgreSQL.123", "mongoc-x"])
}
