import Foundation

/// The C allocator's settings, made once at start-up before any stage starts its threads.
enum Heap {
    /// One glibc malloc arena instead of up to eight per core.
    ///
    /// Why: the pipeline's threads (the cooperative pool, the HTTP engine, the database queues,
    /// the image writers) each get an arena, and memory freed in one is never reused by
    /// another: every arena keeps the peak it once reached, so a run's peak RSS kept growing
    /// with its length while the memory in use stayed flat (12–19 MB). `scripts/bench-rss.sh`
    /// (2,000 and 20,000 small photos, peak RSS ratio): one arena 1.028–1.083 in six runs;
    /// two 1.023–1.122 in eleven (one over issue 15's 1.10), eight 1.096 in one. Two arenas used 5 %
    /// less CPU for 5,000 ~200 KB images (4.11 against 4.31 s, five runs each) but the same for
    /// the small ones within the machine's noise (11.5–14.2 s for 20,000). Measured again once
    /// each download's memory was cut (c7e86b7): one arena 0.999–1.080 in eighteen runs, two
    /// over 1.10 in one run of fifteen, with 8 % less CPU (the one arena's lock took 3.6 % of a
    /// run's CPU in futex calls). A `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` in the environment
    /// wins.
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
