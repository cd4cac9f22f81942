import Foundation

/// The C allocator's settings, made once at start-up before any stage starts its threads.
enum Heap {
    /// One glibc malloc arena per core instead of up to eight per core.
    ///
    /// Why: the pipeline's threads (the cooperative pool, the HTTP engine, the database queues,
    /// the image writers) each get an arena, and memory freed in one is never reused by
    /// another: every arena keeps the peak it once reached, so a run's peak RSS kept growing
    /// with its length while the memory in use stayed flat (12–19 MB). With fewer arenas
    /// than threads, threads wait for an arena's lock instead: with one arena, 3.6 % of a
    /// 5,000-image run's CPU was in that lock's futex calls.
    ///
    /// Measured on 2 cores, `scripts/bench-rss.sh` (2,000 and 20,000 small photos, peak RSS
    /// ratio; issue 15 asks for 1.10 at most) and interleaved runs of 5,000 ~200 KB images:
    /// - eight arenas per core (glibc's default): 1.13.
    /// - one arena: 0.999–1.080 in eleven runs; 4.31–5.79 CPU s.
    /// - two (one per core): 1.014–1.097 in fourteen runs; 4.41–5.39 CPU s, 8 % less than one
    ///   arena on average over six interleaved pairs (five of six less).
    ///
    /// (Before the pipeline's per-download memory was cut, two arenas reached 1.122.) A
    /// `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` in the environment wins.
    static func useArenaPerCore() {
        #if os(Linux)
            guard getenv("MALLOC_ARENA_MAX") == nil, getenv("GLIBC_TUNABLES") == nil else { return }
            // `mallopt` is glibc's (Swift's Glibc module does not import <malloc.h>): looked up,
            // so a C library without it (musl) just keeps its allocator as it is.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
            let arenaMax: Int32 = -8  // M_ARENA_MAX
            _ = mallopt(arenaMax, Int32(max(1, ProcessInfo.processInfo.activeProcessorCount)))
        #endif
    }
}
