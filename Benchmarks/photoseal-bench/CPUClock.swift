import CoreFoundation
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU time used by the whole process so far (all threads), in seconds: benchmarks divide by it
/// so that other load on the machine slows every tool alike (`openssl speed` does the same).
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}
