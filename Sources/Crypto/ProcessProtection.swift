private import COpenSSL

/// Protection of a process that holds keys: no core file that would write key material (and the
/// personal fields it opened) to disk, and no attaching by a debugger running as the same user.
public enum ProcessProtection {
    /// Turns core dumps off for this process (core size limit 0, not dumpable).
    ///
    /// Call it once at start-up, before any key is loaded. Child processes inherit the core limit.
    ///
    /// - Returns: Whether both settings took effect (a sandbox may refuse `prctl`).
    @discardableResult
    public static func disableCoreDumps() -> Bool {
        ps_process_disable_dumps() == 0
    }

    /// Whether this process may still be dumped or attached to (for tests and `--version` checks).
    package static var isDumpable: Bool {
        ps_process_is_dumpable() != 0
    }
}
