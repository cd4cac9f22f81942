import Crypto
import Foundation

/// An `HTTPBodySink` that streams a 200 answer's body into a temporary file while hashing it
/// with SHA-256 and checking its first bytes for an image signature.
///
/// `@unchecked Sendable`: the HTTP engine calls `begin`/`receive` from its one thread, in
/// order, and the download task reads the results only after `send` has returned, so no two
/// threads touch the state at once.
final class BodyFile: HTTPBodySink, @unchecked Sendable {
    let path: String
    let maxBytes: Int
    private(set) var status = 0
    private(set) var bytes = 0
    private(set) var notImage = false
    private(set) var tooLarge = false
    private(set) var writeFailed = false
    private(set) var format: ImageFormat?
    private var head: [UInt8] = []
    private var descriptor: Int32 = -1
    private let hasher: SHA256

    init(path: String, maxBytes: Int) throws {
        self.path = path
        self.maxBytes = maxBytes
        hasher = try SHA256()
    }

    deinit { closeFile() }

    func begin(status: Int, headers: [(name: String, value: String)]) -> Bool {
        self.status = status
        guard status == 200 else { return true }
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if descriptor < 0 { writeFailed = true }
        return descriptor >= 0
    }

    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        // Bodies of other answers (errors, redirects) are read and dropped, up to a limit.
        guard status == 200 else {
            bytes += chunk.count
            return bytes < 1 << 20
        }
        if head.count < 16 {
            head += chunk.prefix(16 - head.count)
            if head.count >= 16 || bytes + chunk.count >= 16 {
                format = ImageFormat.sniff(head)
                if format == nil {
                    notImage = true
                    return false
                }
            }
        }
        bytes += chunk.count
        guard bytes <= maxBytes else {
            tooLarge = true
            return false
        }
        hasher.update(chunk)
        guard let base = chunk.baseAddress else { return true }
        var offset = 0
        while offset < chunk.count {
            let written = write(descriptor, base + offset, chunk.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                writeFailed = true
                return false
            }
            offset += written
        }
        return true
    }

    /// Ends the body: closes the file and returns the hex digest.
    func finish() -> String {
        closeFile()
        if format == nil, !head.isEmpty {
            format = ImageFormat.sniff(head)
            if format == nil { notImage = true }
        }
        return hasher.finalizeHex()
    }

    private func closeFile() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
    }

    /// Removes the file.
    func discard() {
        closeFile()
        unlink(path)
    }
}
