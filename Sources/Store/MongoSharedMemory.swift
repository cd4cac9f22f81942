import Foundation

/// libmongoc keeps its diagnostic counters in a shared-memory file, `/dev/shm/mongoc-<pid>`,
/// which it creates when the library loads (at the first libmongoc call: CLazyLibs) and removes
/// at exit. A process that is killed leaves its file behind, and a later process that gets the
/// same pid cannot create its own: libmongoc then prints "Falling back to malloc for counters."
/// on stderr, a line the user can do nothing about. Removing the files of processes that no
/// longer exist keeps that line away.
public enum MongoSharedMemory {
    /// Removes the counter files of processes of this user that have ended. Cheap (one listing
    /// of `/dev/shm`); never throws, as nothing depends on it.
    public static func removeStaleCounters(directory: String = "/dev/shm") {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let me = getpid()
        let user = geteuid()
        for name in names where name.hasPrefix("mongoc-") {
            guard let pid = pid_t(name.dropFirst("mongoc-".count)), pid > 0, pid != me else { continue }
            // Alive (or alive as another user): leave it.
            if kill(pid, 0) == 0 || errno == EPERM { continue }
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, info.st_uid == user, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            unlink(path)
        }
    }
}
