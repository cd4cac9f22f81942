import Foundation

/// The C allocator's settings, made once at start-up before any stage starts its threads.
enum Heap {
    /// One glibc malloc arena instead of up to eight per core.
    ///
    /// Why: the pipeline's threads (the cooperative pool, the HTTP engine, the database queues)
    /// each get an arena, and memory freed in one is never reused by another: every arena keeps
    /// the peak it once reached, so a run's peak RSS kept growing with its length while the
    /// memory in use stayed flat (12–19 MB). `scripts/bench-rss.sh` measured 61.7 → 68.8 MB
    /// between 2,000 and 20,000 photos with two arenas (up to 13 % with the default), and
    /// 63.5 → 66.6 MB with one, at the same CPU time (glibc's per-thread caches serve most
    /// small allocations without the arena's lock). A `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES`
    /// in the environment wins.
    static func useOneArena() {
        #if os(Linux)
            guard getenv("MALLOC_ARENA_MAX") == nil, getenv("GLIBC_TUNABLES") == nil else { return }
            // `mallopt` is glibc's (Swift's Glibc module does not import <malloc.h>): looked up,
            // so a C library without it (musl) just keeps its allocator as it is.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
            let arenaMax: Int32 = -8  // M_ARENA_MAX
            _ = mallopt(arenaMax, 1)
        #endif
    }
}
