public import Foundation

/// Modes for what photoseal keeps on disk: directories 0700, files 0600, whatever the umask.
///
/// The workdir holds the ledger (titles, places, sealed owners), the images and the embedded
/// store: nobody but the user running photoseal has reason to read them.
public enum PrivateFiles {
    /// Creates `path` (and missing parents) as a directory and makes it 0700 (an existing
    /// directory of this user is tightened; one of another user is left as it is).
    /// - Throws: the `FileManager` error when the directory cannot be created.
    public static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        tighten(path, to: 0o700)
    }

    /// Creates `path` empty with mode 0600 when it does not exist, and tightens it to 0600 when
    /// it does. SQLite gives its `-wal` and `-shm` files the database file's mode, so a database
    /// prepared this way stays private with them.
    public static func prepareFile(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        tighten(path, to: 0o600)
    }

    /// Removes the group and other bits of `path` when this user owns it (`chmod` to `mode`).
    public static func tighten(_ path: String, to mode: mode_t) {
        var info = stat()
        guard stat(path, &info) == 0, info.st_uid == geteuid(), info.st_mode & 0o077 != 0 else { return }
        chmod(path, mode)
    }
}
