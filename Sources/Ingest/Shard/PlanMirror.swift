import Foundation
import HTTP

/// A plan kept under an S3 prefix (`--plan s3://bucket/prefix`), worked on through a local
/// folder: `plan` writes its files there and uploads them (the job file last); a shard fetches
/// the job file and its shard file, and uploads its outputs (the stats file last).
///
/// Paths are relative to the plan (`job.json`, `shards/part-00000.jsonl`,
/// `stats/part-00000.json`), the same under the prefix as in a plan folder.
public struct PlanMirror: Sendable {
    /// The S3 client.
    public let client: S3Client
    /// The bucket and the key prefix (without its trailing slash).
    public let location: S3Location
    /// The local folder standing for the plan.
    public let local: String

    /// A mirror of `location` in the folder `local`.
    public init(client: S3Client, location: S3Location, local: String) {
        self.client = client
        var location = location
        while location.key.hasSuffix("/") { location.key.removeLast() }
        self.location = location
        self.local = local
    }

    /// The object key of a plan path.
    public func key(_ path: String) -> String { location.key.isEmpty ? path : location.key + "/" + path }

    /// The local file of a plan path.
    public func localPath(_ path: String) -> String { (local as NSString).appendingPathComponent(path) }

    /// Whether the object of a plan path exists.
    public func exists(_ path: String) async throws -> Bool {
        try await client.headObject(bucket: location.bucket, key: key(path)) != nil
    }

    /// Fetches a plan path into the local folder (streamed to a temporary file, renamed).
    /// - Returns: `false` when the object does not exist.
    @discardableResult
    public func fetch(_ path: String) async throws -> Bool {
        guard try await exists(path) else { return false }
        let target = localPath(path)
        try ShardFiles.makeFolder((target as NSString).deletingLastPathComponent)
        let temporary = target + ".tmp-\(getpid())"
        let sink = try await client.getObject(
            bucket: location.bucket, key: key(path),
            makeSink: { try FileBodySink(path: temporary) }, discard: { $0.abandon() })
        try sink.finish()
        try ShardFiles.rename(temporary, to: target)
        return true
    }

    /// Uploads the local file of a plan path (in 8 MiB parts past 64 MiB, resuming an upload
    /// that was cut off).
    public func upload(_ path: String) async throws {
        let source = localPath(path)
        guard let handle = FileHandle(forReadingAtPath: source) else {
            throw IngestError(.configuration, "cannot read \(source) to upload it")
        }
        defer { try? handle.close() }
        let size = Int64(
            (try? FileManager.default.attributesOfItem(atPath: source)[.size] as? NSNumber)??.int64Value ?? 0)
        if size <= 64 << 20 {
            let body = try handle.readToEnd() ?? Data()
            try await client.putObject(bucket: location.bucket, key: key(path), body: [UInt8](body))
            return
        }
        _ = try await client.uploadResumable(bucket: location.bucket, key: key(path), size: size) { offset, count in
            try handle.seek(toOffset: UInt64(offset))
            return [UInt8](try handle.read(upToCount: count) ?? Data())
        }
    }

    /// Deletes the object of a plan path (a missing one is no error).
    public func delete(_ path: String) async throws {
        try await client.deleteObject(bucket: location.bucket, key: key(path))
    }
}

/// A body sink writing to a file, for fetching plan files.
final class FileBodySink: HTTPBodySink, @unchecked Sendable {
    let path: String
    let handle: FileHandle
    var failed = false

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw IngestError(.configuration, "cannot write \(path); check the folder's permissions") }
        self.handle = handle
    }

    func begin(status: Int, headers: [(name: String, value: String)]) -> Bool { true }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do {
            try handle.write(contentsOf: Data(bytes))
            return true
        } catch {
            failed = true
            return false
        }
    }

    func finish() throws {
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw IngestError(.configuration, "cannot write \(path); check the disk's space")
        }
        if failed { throw IngestError(.configuration, "cannot write \(path); check the disk's space") }
    }

    func abandon() {
        try? handle.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
