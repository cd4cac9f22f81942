import Foundation

/// Runs the built `photoseal` binary as a subprocess, the way a user would.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The directory holding the built products (the test bundle sits beside the executable).
    static var productsDirectory: URL {
        let bundle = Bundle.main.bundleURL
        var dir = bundle.deletingLastPathComponent()
        for candidate in [bundle, dir] {
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("photoseal").path) {
                return candidate
            }
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            dir = bundle.bundleURL.deletingLastPathComponent()
        }
        return dir
    }

    static var executable: URL { productsDirectory.appendingPathComponent("photoseal") }

    /// Runs photoseal with `arguments`; `wrapper` (a program and its arguments, such as
    /// `/usr/bin/time -f …`) runs it when given.
    static func run(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
        currentDirectory: URL? = nil, wrapper: [String] = []
    ) throws -> Result {
        let process = Process()
        if let program = wrapper.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(wrapper.dropFirst()) + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        // Temporary files instead of pipes: no reader threads, no deadlock on large outputs.
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("photoseal-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inURL = scratch.appendingPathComponent("stdin")
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        try (stdin ?? Data()).write(to: inURL)
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer {
            try? inHandle.close()
            try? outHandle.close()
            try? errHandle.close()
        }
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        let outData = try Data(contentsOf: outURL)
        let errData = try Data(contentsOf: errURL)
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    /// Writes a new secrets file at `url` with `photoseal keys generate`, then appends `extra`
    /// entries (`FLICKR_API_KEY=…`; the generated file leaves the API keys empty and a later
    /// line wins).
    static func generateKeys(at url: URL, extra: [String] = []) throws {
        let result = try run(["keys", "generate", "--out", url.path])
        precondition(result.status == 0, result.stderr)
        guard !extra.isEmpty else { return }
        try appendSecrets(extra, to: url.path)
    }

    /// Appends `NAME=value` lines to the secrets file at `path` (a later line wins).
    static func appendSecrets(_ lines: [String], to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(Data(("\n" + lines.map { $0 + "\n" }.joined()).utf8))
    }
}
