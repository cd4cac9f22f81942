public import Foundation

/// Writing a plan's shard files and reading one back.
public enum ShardFiles {
    /// What writing a plan found.
    public struct Written: Sendable, Equatable {
        /// Photos written, in all.
        public var photos = 0
        /// Photos per shard.
        public var shardPhotos: [Int]
    }

    /// Whether a complete plan (its job file) is at `plan`.
    public static func planExists(_ plan: String) -> Bool {
        FileManager.default.fileExists(atPath: ShardPlan.jobPath(plan))
    }

    /// Removes a complete plan's job file, shard files and shard outputs before it is written
    /// again (`--force`). The shard workdirs stay: their ledgers keep what was paid for, and a
    /// photo lands in the same shard again when the shard count is the same.
    public static func clear(_ plan: String) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: ShardPlan.jobPath(plan)) {
            try manager.removeItem(atPath: ShardPlan.jobPath(plan))
        }
        for folder in ["shards", "success", "failure", "stats"] {
            let path = (plan as NSString).appendingPathComponent(folder)
            if manager.fileExists(atPath: path) { try manager.removeItem(atPath: path) }
        }
    }

    /// Writes the shard files of every row at `found` in `ledger` into `<plan>/shards/`, each
    /// atomically (a temporary file renamed into place).
    /// - Throws: `IngestError.ledger` when the ledger cannot be read, `.configuration` when a
    ///   file cannot be written (naming it).
    public static func write(from ledger: Ledger, to plan: String, shards: Int) throws -> Written {
        let folder = (plan as NSString).appendingPathComponent("shards")
        try makeFolder(folder)
        var handles: [FileHandle] = []
        var buffers = [Data](repeating: Data(), count: shards)
        var temporary: [String] = []
        defer { for handle in handles { try? handle.close() } }
        for index in 0..<shards {
            let path = ShardPlan.shardPath(plan, index) + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let handle = FileHandle(forWritingAtPath: path)
            else {
                throw IngestError(.configuration, "cannot write \(path); check the plan folder's permissions and space")
            }
            handles.append(handle)
            temporary.append(path)
        }
        var written = Written(shardPhotos: [Int](repeating: 0, count: shards))
        func flush(_ index: Int) throws {
            guard !buffers[index].isEmpty else { return }
            do {
                try handles[index].write(contentsOf: buffers[index])
            } catch {
                throw IngestError(.configuration, "cannot write \(temporary[index]); check the disk's space")
            }
            buffers[index].removeAll(keepingCapacity: true)
        }
        let encoder = JSONEncoder()
        try ledger.forEachFoundDocument { id, json in
            let index = ShardPlan.shard(of: id, count: shards)
            // The document as the ledger holds it (sealed), byte for byte.
            buffers[index].append(contentsOf: #"{"document":"#.utf8)
            buffers[index].append(contentsOf: json.utf8)
            buffers[index].append(contentsOf: #","id":"#.utf8)
            buffers[index].append(try encoder.encode(id))
            buffers[index].append(contentsOf: "}\n".utf8)
            written.photos += 1
            written.shardPhotos[index] += 1
            if buffers[index].count >= 1 << 20 { try flush(index) }
        }
        for index in 0..<shards {
            try flush(index)
            do {
                try handles[index].synchronize()
                try handles[index].close()
            } catch {
                throw IngestError(.configuration, "cannot write \(temporary[index]); check the disk's space")
            }
            try rename(temporary[index], to: ShardPlan.shardPath(plan, index))
        }
        handles = []
        return written
    }

    /// Writes the job file last (the plan is then complete).
    public static func writeJob(_ job: ShardPlan, to plan: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(job)
        data.append(0x0A)
        try writeAtomically(data, to: ShardPlan.jobPath(plan))
    }

    /// Calls `body` with the documents of a shard file, `batch` at a time (memory stays flat).
    /// - Throws: `IngestError.configuration` naming the file (and line) when it is missing or
    ///   a line is not a work item.
    public static func forEachBatch(
        _ path: String, batch: Int = 1000, _ body: ([PhotoDocument]) async throws -> Void
    ) async throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw IngestError(
                .configuration, "the shard file \(path) is missing or unreadable; write the plan again (--force)")
        }
        defer { try? handle.close() }
        struct Item: Decodable {
            var id: String
            var document: PhotoDocument
        }
        let decoder = JSONDecoder()
        var pending = Data()
        var documents: [PhotoDocument] = []
        var line = 0
        func take(_ bytes: Data) throws {
            line += 1
            guard !bytes.isEmpty else { return }
            guard let item = try? decoder.decode(Item.self, from: bytes), item.id == item.document.id else {
                throw IngestError(
                    .configuration,
                    "line \(line) of the shard file \(path) is not a work item; write the plan again (--force)")
            }
            documents.append(item.document)
        }
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw IngestError(.configuration, "cannot read the shard file \(path)")
            }
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                try take(pending[start..<newline])
                start = pending.index(after: newline)
                if documents.count >= batch {
                    try await body(documents)
                    documents.removeAll(keepingCapacity: true)
                }
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { try take(pending) }
        if !documents.isEmpty { try await body(documents) }
    }

    // MARK: Files

    static func makeFolder(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw IngestError(.configuration, "cannot create the folder \(path); check the path and permissions")
        }
    }

    static func rename(_ from: String, to path: String) throws {
        guard Foundation.rename(from, path) == 0 else {
            throw IngestError(.configuration, "cannot move \(from) to \(path); check the folder's permissions")
        }
    }

    /// Writes `data` to a temporary file beside `path`, flushes it and renames it into place:
    /// a reader sees the old file or the whole new one, never a part.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        try makeFolder((path as NSString).deletingLastPathComponent)
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let handle = FileHandle(forWritingAtPath: temporary)
        else { throw IngestError(.configuration, "cannot write \(temporary); check the folder's permissions") }
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw IngestError(.configuration, "cannot write \(path); check the disk's space")
        }
        try rename(temporary, to: path)
    }
}
