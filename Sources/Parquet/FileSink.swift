#if canImport(Glibc)
    import Glibc
#endif

/// A buffered writer to a file descriptor that counts the bytes written (page offsets).
final class FileSink {
    let name: String
    private var fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: [UInt8] = []
    /// Bytes written so far, buffered ones included.
    private(set) var offset: Int64 = 0

    private static let bufferSize = 1 << 20

    init(fd: Int32, ownsDescriptor: Bool, name: String) {
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
        self.name = name
        buffer.reserveCapacity(Self.bufferSize)
    }

    deinit { closeQuietly() }

    func write(_ bytes: [UInt8]) throws {
        offset += Int64(bytes.count)
        if buffer.count + bytes.count > Self.bufferSize {
            try flush()
            if bytes.count >= Self.bufferSize {
                try writeAll(bytes)
                return
            }
        }
        buffer += bytes
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// fsync, then close (a path's temporary file before its rename).
    func syncAndClose() throws {
        guard fd >= 0 else { return }
        if fsync(fd) != 0 { throw error("sync") }
        let descriptor = fd
        fd = -1
        if close(descriptor) != 0 { throw error("close") }
    }

    func closeQuietly() {
        guard fd >= 0 else { return }
        if ownsDescriptor { close(fd) }
        fd = -1
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw ParquetError(.closed, "the Parquet file \(name) is closed") }
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let count = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw error("write")
                }
                done += count
            }
        }
    }

    private func error(_ operation: String) -> ParquetError {
        let code = errno
        return ParquetError(.io(errno: code), "cannot \(operation) \(name): \(String(cString: strerror(code)))")
    }
}
