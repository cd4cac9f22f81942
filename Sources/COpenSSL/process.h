#ifndef PHOTOSEAL_COPENSSL_PROCESS_H
#define PHOTOSEAL_COPENSSL_PROCESS_H

#include <sys/prctl.h>
#include <sys/resource.h>

/// Keeps a process that holds keys out of core files and away from debuggers of the same user:
/// no core file (RLIMIT_CORE 0) and not dumpable (no ptrace attach, no /proc/PID/mem for others).
/// Exists because `prctl` is variadic. Returns 0 when both took effect.
static inline int ps_process_disable_dumps(void) {
    struct rlimit none = {0, 0};
    int limit = setrlimit(RLIMIT_CORE, &none);
    int dumpable = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return (limit == 0 && dumpable == 0) ? 0 : -1;
}

/// Whether the process is dumpable (`prctl(PR_GET_DUMPABLE)`), for tests. Exists because `prctl` is variadic.
static inline int ps_process_is_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

#endif
