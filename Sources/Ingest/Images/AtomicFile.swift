import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files written whole, then put in place in one step, in their destination folder.
///
/// No shared temporary folder: concurrent writers into different folders do not serialise on
/// one directory's lock, and nothing crosses a file system. On Linux the file is made unnamed
/// (`O_TMPFILE`) and linked into place (`linkat` through `/proc/self/fd`) once complete, so a
/// process killed at any instant leaves nothing behind; where the file system refuses
/// `O_TMPFILE`, a file with a unique hidden name (`.<uuid>.part`, created with `O_EXCL`) is
/// written next to the target and renamed over it.
enum AtomicFile {
    /// `O_TMPFILE`, which Swift does not import (a macro of `__O_TMPFILE | O_DIRECTORY`);
    /// `__O_TMPFILE` is 020000000 on x86-64 and arm64 Linux.
    #if os(Linux)
        private static let tmpFileFlag: Int32 = 0o20_000_000 | O_DIRECTORY
        /// `O_DIRECT`, which Swift does not import (glibc defines it only with `_GNU_SOURCE`);
        /// its value differs between architectures (0 where it is not known here: no direct I/O).
        #if arch(x86_64)
            private static let directFlag: Int32 = 0o40_000
        #elseif arch(arm64)
            private static let directFlag: Int32 = 0o200_000
        #else
            private static let directFlag: Int32 = 0
        #endif
    #endif

    /// The suffix of the named fallback files (what a killed run may leave behind).
    static let partSuffix = ".part"

    /// Writes `bytes` as a new file at `target` (mode 0600) unless a file is already there.
    ///
    /// Bytes whose first one sits at an address aligned to `directAlignment`
    /// (`MetadataStripper.strip(_:format:alignedTo:)` makes them so) are written directly from
    /// where they are; others through an aligned copy.
    ///
    /// - Returns: `true` when written, `false` when `target` already existed (another writer
    ///   stored it first: the store is content-addressed, so it holds the same image).
    /// - Throws: `Failure` with the failing call's `errno` (`ENOENT`: the folder is missing).
    static func create(_ bytes: ArraySlice<UInt8>, at target: String) throws(Failure) -> Bool {
        let directory = (target as NSString).deletingLastPathComponent
        #if os(Linux)
            let direct = directFlag != 0 && bytes.count >= directMinimum
            var descriptor = open(directory, tmpFileFlag | O_WRONLY | O_CLOEXEC | (direct ? directFlag : 0), 0o600)
            // A file system without direct I/O refuses the flag: a buffered file then.
            if descriptor < 0, direct, errno == EINVAL {
                descriptor = open(directory, tmpFileFlag | O_WRONLY | O_CLOEXEC, 0o600)
            }
            if descriptor >= 0 {
                defer { close(descriptor) }
                guard direct ? writeDirect(bytes, to: descriptor) : writeAll(bytes, to: descriptor) else {
                    throw Failure(errno: errno, path: directory)
                }
                if linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0 {
                    return true
                }
                if errno == EEXIST { return false }
                // No /proc to link through: the named fallback below.
            } else if errno == ENOENT {
                throw Failure(errno: ENOENT, path: directory)
            }
        // Any other refusal (a file system without O_TMPFILE answers EOPNOTSUPP, an old
        // kernel EISDIR): the named fallback, which reports real errors itself.
        #endif
        if access(target, F_OK) == 0 { return false }
        try replace(at: target, with: bytes, times: nil)
        return true
    }

    /// `create(_:at:)` of a whole array.
    static func create(_ bytes: [UInt8], at target: String) throws(Failure) -> Bool {
        try create(bytes[...], at: target)
    }

    /// Makes a new file at `target` (mode 0600) whose contents `fill` writes to the descriptor
    /// it is given, put in place only when `fill` returns `true`; like `create(_:at:)`, a file
    /// already at `target` is kept.
    ///
    /// - Returns: `true` when written, `false` when `target` already existed.
    /// - Throws: `Failure` (`ENOENT`: the folder is missing; `EIO` when `fill` failed).
    static func create(at target: String, fill: (Int32) -> Bool) throws(Failure) -> Bool {
        let directory = (target as NSString).deletingLastPathComponent
        #if os(Linux)
            let descriptor = open(directory, tmpFileFlag | O_WRONLY | O_CLOEXEC, 0o600)
            if descriptor >= 0 {
                defer { close(descriptor) }
                guard fill(descriptor) else { throw Failure(errno: EIO, path: directory) }
                if linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0 {
                    return true
                }
                if errno == EEXIST { return false }
            } else if errno == ENOENT {
                throw Failure(errno: ENOENT, path: directory)
            }
        #endif
        if access(target, F_OK) == 0 { return false }
        try replace(at: target, times: nil, fill: fill)
        return true
    }

    /// An unnamed file (`O_TMPFILE`, mode 0600) in `directory`, open for writing, to be put in
    /// place with `link(_:to:replacing:)` once complete; -1 where the file system refuses it
    /// (or off Linux), with `errno` set.
    static func openUnnamed(in directory: String) -> Int32 {
        #if os(Linux)
            return open(directory, tmpFileFlag | O_RDWR | O_CLOEXEC, 0o600)
        #else
            errno = EOPNOTSUPP
            return -1
        #endif
    }

    /// Puts the unnamed file `descriptor` in place at `target`: linked there when nothing is
    /// (`false` when a file appeared meanwhile, which is kept), or, with `replacing`, flushed
    /// to disk, linked under a hidden name and renamed over the file there.
    static func link(_ descriptor: Int32, to target: String, replacing: Bool) throws(Failure) -> Bool {
        let source = "/proc/self/fd/\(descriptor)"
        guard replacing else {
            if linkat(AT_FDCWD, source, AT_FDCWD, target, AT_SYMLINK_FOLLOW) == 0 { return true }
            if errno == EEXIST { return false }
            throw Failure(errno: errno, path: target)
        }
        let directory = (target as NSString).deletingLastPathComponent
        let temp = (directory as NSString).appendingPathComponent("." + UUID().uuidString + partSuffix)
        guard fsync(descriptor) == 0, linkat(AT_FDCWD, source, AT_FDCWD, temp, AT_SYMLINK_FOLLOW) == 0 else {
            throw Failure(errno: errno, path: temp)
        }
        guard rename(temp, target) == 0 else {
            let code = errno
            unlink(temp)
            throw Failure(errno: code, path: target)
        }
        return true
    }

    /// `replace(at:with:times:)` with the contents written by `fill`.
    static func replace(at target: String, times: (timespec, timespec)?, fill: (Int32) -> Bool) throws(Failure) {
        let directory = (target as NSString).deletingLastPathComponent
        let temp = (directory as NSString).appendingPathComponent("." + UUID().uuidString + partSuffix)
        let descriptor = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(errno: errno, path: directory) }
        var written = fill(descriptor)
        if written, let times {
            let set = withUnsafeTemporaryAllocation(of: timespec.self, capacity: 2) { pair in
                pair[0] = times.0
                pair[1] = times.1
                return futimens(descriptor, pair.baseAddress)
            }
            written = set == 0 && fsync(descriptor) == 0
        }
        close(descriptor)
        guard written else {
            unlink(temp)
            throw Failure(errno: EIO, path: temp)
        }
        guard rename(temp, target) == 0 else {
            let code = errno
            unlink(temp)
            throw Failure(errno: code, path: target)
        }
    }

    /// Writes `bytes` to a new file next to `target` (unique hidden name, `O_EXCL`, mode
    /// 0600) and renames it over `target`: at any instant `target` is the old file or the new
    /// one, whole.
    ///
    /// - Parameter times: when given, the new file gets these access and modification times and
    ///   is flushed to disk (`fsync`) before the rename: it is about to replace the only copy.
    static func replace(at target: String, with bytes: ArraySlice<UInt8>, times: (timespec, timespec)?) throws(Failure)
    {
        let directory = (target as NSString).deletingLastPathComponent
        let temp = (directory as NSString).appendingPathComponent("." + UUID().uuidString + partSuffix)
        let descriptor = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(errno: errno, path: directory) }
        var written = writeAll(bytes, to: descriptor)
        if written, let times {
            let set = withUnsafeTemporaryAllocation(of: timespec.self, capacity: 2) { pair in
                pair[0] = times.0
                pair[1] = times.1
                return futimens(descriptor, pair.baseAddress)
            }
            written = set == 0 && fsync(descriptor) == 0
        }
        let code = errno
        close(descriptor)
        guard written else {
            unlink(temp)
            throw Failure(errno: code, path: temp)
        }
        guard rename(temp, target) == 0 else {
            let code = errno
            unlink(temp)
            throw Failure(errno: code, path: target)
        }
    }

    /// Why a write failed: the `errno` and the path it concerned.
    struct Failure: Error {
        let errno: Int32
        let path: String
    }

    /// Images at least this large are written with `O_DIRECT` (`create(_:at:)`).
    ///
    /// Why: a buffered write copies the file into page-cache pages the kernel takes from its
    /// free memory, and on a virtual machine whose free pages went back to the host (free page
    /// reporting, ballooning) every such page is faulted in again: writing 5,000 new 200 KB files
    /// cost 2.7–3.3 s of system time buffered and 0.6 s with `O_DIRECT` on the benchmark machine
    /// (ext4), about half of a whole `photoseal run`'s CPU. The store's images are written once
    /// and seldom read soon after, so keeping them out of the page cache costs little. Small
    /// files stay buffered (a direct write waits for the disk; their page-cache cost is small).
    static let directMinimum = 64 << 10

    /// The alignment `O_DIRECT` needs of the buffer, the length and the offset: the largest
    /// logical block size in use (4 KiB; 512-byte devices accept it too).
    static let directAlignment = 4096

    /// Writes `bytes` (not empty) to the new file `descriptor`, opened with `O_DIRECT` when the
    /// file system allowed it: the whole blocks directly, from where the bytes are when they
    /// start at an aligned address, else from an aligned copy; then the last partial block
    /// buffered (`O_DIRECT` cleared with `fcntl`). Padding the last block and cutting the file
    /// back instead made `ftruncate` read that block from the disk to zero its end: one
    /// synchronous read per image. A file system that refuses the direct write (`EINVAL`) gets
    /// a buffered one.
    private static func writeDirect(_ bytes: ArraySlice<UInt8>, to descriptor: Int32) -> Bool {
        #if os(Linux)
            let flags = fcntl(descriptor, F_GETFL)
            guard flags & directFlag != 0 else { return writeAll(bytes, to: descriptor) }
            let whole = bytes.count / directAlignment * directAlignment
            let direct = bytes.withUnsafeBytes { raw -> Int32 in
                let base = raw.baseAddress!
                if Int(bitPattern: base) % directAlignment == 0 {
                    return writeBlocks(base, count: whole, to: descriptor)
                }
                var allocation: UnsafeMutableRawPointer?
                guard posix_memalign(&allocation, directAlignment, whole) == 0, let buffer = allocation else {
                    return ENOMEM
                }
                defer { free(buffer) }
                buffer.copyMemory(from: base, byteCount: whole)
                return writeBlocks(buffer, count: whole, to: descriptor)
            }
            if direct == EINVAL {
                // Direct I/O refused after all (alignment, file system): buffered, from the start.
                _ = fcntl(descriptor, F_SETFL, flags & ~directFlag)
                return writeAll(bytes, to: descriptor)
            }
            guard direct == 0 else {
                errno = direct
                return false
            }
            guard whole < bytes.count else { return true }
            guard fcntl(descriptor, F_SETFL, flags & ~directFlag) == 0 else { return false }
            return writeAll(bytes.dropFirst(whole), to: descriptor, at: whole)
        #else
            return writeAll(bytes, to: descriptor)
        #endif
    }

    /// Writes `count` bytes from the aligned `buffer` at the start of the `O_DIRECT` file
    /// `descriptor`: 0, or the failing `pwrite`'s `errno`.
    private static func writeBlocks(_ buffer: UnsafeRawPointer, count: Int, to descriptor: Int32) -> Int32 {
        var offset = 0
        while offset < count {
            let written = pwrite(descriptor, buffer + offset, count - offset, off_t(offset))
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            offset += written
        }
        return 0
    }

    /// Writes `bytes` at `fileOffset` in the file (`pwrite`: the descriptor's position is not
    /// used).
    private static func writeAll(_ bytes: ArraySlice<UInt8>, to descriptor: Int32, at fileOffset: Int = 0) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return true }
            var offset = 0
            while offset < raw.count {
                let written = pwrite(descriptor, base + offset, raw.count - offset, off_t(fileOffset + offset))
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
/// Scratch files with no name: gone when closed, left by no killed run.
enum ScratchFile {
    /// Opens an unnamed read-write file in `directory` (`O_TMPFILE`; where the file system
    /// refuses it, a uniquely named file removed at once); -1 when neither works.
    static func open(in directory: String) -> Int32 {
        #if os(Linux)
            let descriptor = Glibc.open(directory, 0o20_000_000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)
            if descriptor >= 0 { return descriptor }
        #endif
        let path = (directory as NSString).appendingPathComponent("." + UUID().uuidString + AtomicFile.partSuffix)
        #if os(Linux)
            let named = Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #else
            let named = Darwin.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #endif
        if named >= 0 { unlink(path) }
        return named
    }
}
