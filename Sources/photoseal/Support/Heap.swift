import Foundation

/// The C allocator's settings, made once at start-up before any stage starts its threads.
enum Heap {
    /// Two glibc malloc arenas instead of up to eight per core.
    ///
    /// Why: the pipeline's threads (the cooperative pool, the HTTP engine, the database queues,
    /// the image writers) each get an arena, and memory freed in one is never reused by
    /// another: every arena keeps the peak it once reached, so a run's peak RSS grew with its
    /// length while the memory in use stayed flat. One arena kept it flattest but made the
    /// threads queue on its lock. `scripts/bench-rss.sh` (2,000 and 20,000 small photos)
    /// measured, with one arena, 66.8 → 65.8 MB and 12.7 CPU s for the larger run; with two,
    /// 64.4 → 68.6 MB (ratios 1.056–1.065 in three runs) and 9.9–10.3 CPU s; with eight,
    /// 69.1 → 75.8 MB (1.096) and 9.1 CPU s. `photoseal run` of 5,000 ~200 KB images: 4.31,
    /// 4.11 and 3.97 CPU s with one, two and eight (five runs each). A `MALLOC_ARENA_MAX` or
    /// `GLIBC_TUNABLES` in the environment wins.
    static func useTwoArenas() {
        #if os(Linux)
            guard getenv("MALLOC_ARENA_MAX") == nil, getenv("GLIBC_TUNABLES") == nil else { return }
            // `mallopt` is glibc's (Swift's Glibc module does not import <malloc.h>): looked up,
            // so a C library without it (musl) just keeps its allocator as it is.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
            let arenaMax: Int32 = -8  // M_ARENA_MAX
            _ = mallopt(arenaMax, 2)
        #endif
    }
}
