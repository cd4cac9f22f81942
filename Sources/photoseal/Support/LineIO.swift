import Foundation
import Ingest

/// Reads standard input (or any file descriptor) one line at a time in constant memory,
/// without a copy per byte: lines may be megabytes long (1 MiB payloads in base64).
struct LineReader: Sequence, IteratorProtocol {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    init(fd: Int32 = STDIN_FILENO) { self.fd = fd }

    /// The next line without its `\n` (and without a trailing `\r`), or `nil` at end of input.
    mutating func next() -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var line = buffer[start..<nl]
                start = nl + 1
                if line.last == 0x0D { line = line.dropLast() }
                return line
            }
            if eof {
                guard start < buffer.count else { return nil }
                var line = buffer[start...]
                start = buffer.count
                if line.last == 0x0D { line = line.dropLast() }
                return line
            }
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            let chunk = 1 << 16
            let old = buffer.count
            buffer.reserveCapacity(old + chunk)
            buffer.append(contentsOf: repeatElement(0, count: chunk))
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + old, chunk) }
            if n < 0 && errno == EINTR {
                buffer.removeSubrange(old...)
                continue
            }
            buffer.removeSubrange((old + Swift.max(n, 0))...)
            if n <= 0 { eof = true }
        }
    }
}

/// Buffers writes to standard output and flushes in large blocks.
struct OutputBuffer {
    private var bytes: [UInt8] = []
    private let fd: Int32

    init(fd: Int32 = STDOUT_FILENO) { self.fd = fd }

    mutating func write(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }

    /// Lets `body` append bytes to the buffer directly (no `String` in between).
    mutating func write(_ body: (inout [UInt8]) throws -> Void) rethrows {
        try body(&bytes)
        if bytes.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            offset += n
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

/// Writes one message line to standard error.
///
/// On a terminal the progress line is cleared first and the message is word-wrapped to the
/// terminal's width (continuation lines indented), so nothing wraps mid-word or leaves a
/// fragment of the progress line behind.
func printError(_ message: String) {
    var text = "photoseal: \(message)"
    if let columns = terminalColumns() {
        ProgressDisplay.clearCurrent()
        text = wrapLines(text, width: columns - 1).joined(separator: "\n")
    }
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Warns, once per flag, that a secret came on the command line: other users of the machine see
/// it in `ps` and the shell keeps it in its history. The flag still works (deprecated).
func warnSecretOnCommandLine(_ flag: String, given value: String?, secret name: String) {
    guard value != nil else { return }
    printError(
        "warning: \(flag) is deprecated: a key on the command line is visible to other users (ps) and kept in "
            + "shell history; put \(name) in the secrets file or the environment instead")
}
