import Foundation
import Logging
import TestSupport

@testable import Ingest

/// The local Vision API server (Fixtures/servers/vision_server.py).
final class VisionTestServer: @unchecked Sendable {
    static let apiKey = "test-vision-key-0123456789"

    let server: PythonFixtureServer
    var endpoint: String { "\(server.base)/v1/images:annotate" }

    /// Starts the server; `labels` (sha256 → labels), `errors` (sha256 → how many first
    /// requests of it are refused "Bad image data.", code 3) and `transientErrors` (the same
    /// with code 14 "Service unavailable.") go to it in a sidecar file.
    init(labels: [String: [[String: Any]]] = [:], errors: [String: Int] = [:], transientErrors: [String: Int] = [:])
        throws
    {
        let sidecar = FileManager.default.temporaryDirectory.appendingPathComponent("vision-\(UUID().uuidString).json")
        var faults: [String: Any] = errors
        for (sha, times) in transientErrors {
            faults[sha] = ["times": times, "code": 14, "message": "Service unavailable."]
        }
        try JSONSerialization.data(withJSONObject: ["labels": labels, "errors": faults]).write(to: sidecar)
        server = try PythonFixtureServer(script: "vision_server", ["--api-key", Self.apiKey, "--labels", sidecar.path])
    }

    func stop() { server.stop() }

    struct Call {
        var status: Int
        var images: [(sha256: String, features: [String])]
        var billed: Int
    }

    func log() throws -> [Call] {
        guard let list = try server.json("/__log") as? [[String: Any]] else {
            throw PythonFixtureServer.ServerError.badAnswer("/__log")
        }
        return list.map { entry in
            Call(
                status: entry["status"] as? Int ?? 0,
                images: ((entry["images"] as? [[String: Any]]) ?? []).map {
                    (($0["sha256"] as? String) ?? "", ($0["features"] as? [String]) ?? [])
                },
                billed: entry["billed"] as? Int ?? 0)
        }
    }

    /// Units billed per image SHA-256.
    func billed() throws -> [String: Int] {
        guard let map = try server.json("/__billed") as? [String: Int] else {
            throw PythonFixtureServer.ServerError.badAnswer("/__billed")
        }
        return map
    }

    func configure(_ query: String) throws { _ = try server.get("/__config?" + query) }
}

/// A work directory of plain image files and ledger rows at `extracted` pointing at them.
struct ScoreWorkdir {
    let dir: URL
    /// Photo id → SHA-256 of its image, as `sha256sum` computed it.
    var sha: [String: String] = [:]

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-score-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    func ledger() throws -> Ledger { try Ledger(directory: dir.path, logger: Logger(label: "test")) }

    /// SHA-256 of each file by `sha256sum` (an outside tool).
    static func sha256sum(_ files: [URL]) throws -> [String] {
        var result: [String] = []
        var start = 0
        while start < files.count {
            let chunk = files[start..<min(start + 200, files.count)]
            start += 200
            let output = try runProgram(["sha256sum"] + chunk.map(\.path)).output
            let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
            result += lines.map { String($0.prefix(64)) }
        }
        precondition(result.count == files.count)
        return result
    }

    /// Adds photos `flickr:<n>` with the given image bytes and terms, at `stage`, with their
    /// image stored as `images/ab/<sha256>.jpg` (photos with equal bytes share the file).
    mutating func add(_ photos: [(id: Int, bytes: [UInt8], terms: [String])], stage: Ledger.Stage = .extracted)
        async throws
    {
        let incoming = dir.appendingPathComponent("incoming")
        try FileManager.default.createDirectory(at: incoming, withIntermediateDirectories: true)
        let files = photos.map { incoming.appendingPathComponent("\($0.id).jpg") }
        for (photo, file) in zip(photos, files) { try Data(photo.bytes).write(to: file) }
        let shas = try Self.sha256sum(files)
        let ledger = try ledger()
        for ((photo, file), digest) in zip(zip(photos, files), shas) {
            let relative = "images/\(digest.prefix(2))/\(digest).jpg"
            let target = dir.appendingPathComponent(relative)
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            if FileManager.default.fileExists(atPath: target.path) {
                try FileManager.default.removeItem(at: file)
            } else {
                try FileManager.default.moveItem(at: file, to: target)
            }
            var document = LedgerTests.document(photo.id, term: "x")
            document.terms = photo.terms
            document.image = PhotoDocument.Image(
                sha256: digest, bytes: photo.bytes.count, width: 10, height: 10, format: "jpeg", path: relative)
            try await ledger.insertPhoto(document, stage: stage)
            sha["flickr:\(photo.id)"] = digest
        }
    }

    /// Each photo's stage and document.
    func rows() throws -> [String: Ledger.Entry] {
        var rows: [String: Ledger.Entry] = [:]
        try ledger().forEachDocument { rows[$0.id] = $0 }
        return rows
    }

    /// Distinct image bytes of `n` photos: "photo <i>" plus filler.
    static func bytes(_ i: Int) -> [UInt8] { Array("photo \(i) ".utf8) + [UInt8](repeating: UInt8(i % 251), count: 64) }
}
