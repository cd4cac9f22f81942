// Loads libbson, libmongoc, libpq and libcurl on the first call into each, not at exec: the
// dynamic loader spent about 10 ms of every photoseal start-up mapping and relocating them
// and their dependencies (Kerberos, LDAP, SASL, ICU...), and most commands (`exif`, `geocode`,
// `keys`, `token`) never call them. stubs.S has one trampoline per exported function.

#include "include/CLazyLibs.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

struct ps_lazy_library {
    const char *soname;
    const char *package;
};

struct ps_lazy_symbol {
    const char *name;
    unsigned char library;
};

#include "symbols.inc"

#define PS_LAZY_LIBRARY_COUNT (sizeof ps_lazy_libraries / sizeof ps_lazy_libraries[0])

/// The resolved address of each function, read by its trampoline; 0 until first called.
__attribute__((visibility("hidden"))) void *ps_lazy_slots[PS_LAZY_COUNT];

static void *ps_lazy_handles[PS_LAZY_LIBRARY_COUNT];

static void ps_lazy_fail(const char *what, const char *soname, const char *package) {
    const char *reason = dlerror();
    fprintf(stderr, "photoseal: cannot load %s from %s (%s): install the %s package (scripts/install-deps.sh)\n", what,
            soname, reason ? reason : "unknown error", package);
    fflush(stderr);
    _exit(70);
}

/// Called by ps_lazy_common (common.S) with a trampoline's index: loads its library if needed,
/// looks the function up and stores it in its slot. Threads that race here store the same
/// address; dlopen counts references, so loading twice is harmless.
__attribute__((visibility("hidden"))) void *ps_lazy_resolve(unsigned index) {
    const struct ps_lazy_symbol *symbol = &ps_lazy_symbols[index];
    const struct ps_lazy_library *library = &ps_lazy_libraries[symbol->library];
    void *handle = __atomic_load_n(&ps_lazy_handles[symbol->library], __ATOMIC_ACQUIRE);
    if (handle == NULL) {
        handle = dlopen(library->soname, RTLD_NOW | RTLD_GLOBAL);
        if (handle == NULL) ps_lazy_fail(library->soname, library->soname, library->package);
        __atomic_store_n(&ps_lazy_handles[symbol->library], handle, __ATOMIC_RELEASE);
    }
    void *function = dlsym(handle, symbol->name);
    if (function == NULL) ps_lazy_fail(symbol->name, library->soname, library->package);
    __atomic_store_n(&ps_lazy_slots[index], function, __ATOMIC_RELEASE);
    return function;
}

int ps_lazy_library_loaded(const char *soname) {
    for (unsigned i = 0; i < PS_LAZY_LIBRARY_COUNT; i++) {
        if (__builtin_strcmp(ps_lazy_libraries[i].soname, soname) == 0) {
            return __atomic_load_n(&ps_lazy_handles[i], __ATOMIC_ACQUIRE) != NULL;
        }
    }
    return 0;
}
