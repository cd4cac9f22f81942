import Foundation

/// The one-writer lock of a workdir: an advisory `flock` on `<workdir>/lock`, held for the
/// life of this object and released by the kernel when the process ends, however it ends.
///
/// The file holds the command and pid of the holder, so a refused writer can say who has it.
final class WorkspaceLock: Sendable {
    /// The lock file's name inside the workdir.
    static let fileName = "lock"

    private let descriptor: Int32

    /// Takes the lock or throws at once (never waits).
    /// - Parameters:
    ///   - workdir: The work directory (it must exist).
    ///   - command: The command taking it, shown to a writer that is refused.
    /// - Throws: `IngestError.busy` naming the command and pid that hold it, or `.ledger` when the
    ///   lock file cannot be opened.
    init(workdir: String, command: String) throws {
        let path = (workdir as NSString).appendingPathComponent(Self.fileName)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw IngestError(
                .ledger, "cannot open the lock file \(path) (errno \(errno)); check --workdir and its permissions")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(descriptor)
            close(descriptor)
            throw IngestError(
                .busy,
                "the workdir \(workdir) is in use by \(holder); one command at a time may change a workdir: "
                    + "wait for it to finish (or stop it), or use another --workdir")
        }
        self.descriptor = descriptor
        let text = Array("photoseal \(command) (pid \(getpid()))\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(descriptor) }

    /// Who holds the lock, from the file's text.
    private static func holder(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        let text = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "another photoseal command" : "`\(text)`"
    }
}
