#ifndef PHOTOSEAL_CLAZYLIBS_H
#define PHOTOSEAL_CLAZYLIBS_H

/// Whether the lazily loaded C library `soname` (libbson-1.0.so.0, libmongoc-1.0.so.0,
/// libpq.so.5 or libcurl.so.4) has been loaded through a trampoline (a first call into it).
/// For diagnostics; nothing needs to call it before using a library.
int ps_lazy_library_loaded(const char *soname);

#endif
