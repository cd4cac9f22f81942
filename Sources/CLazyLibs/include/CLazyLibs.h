#ifndef PHOTOSEAL_CLAZYLIBS_H
#define PHOTOSEAL_CLAZYLIBS_H

/// Whether the lazily loaded C library `soname` (libbson-1.0.so.0, libmongoc-1.0.so.0,
/// libpq.so.5 or libcurl.so.4) has been loaded by a first call into it: tests check that
/// commands which do not need it never load it.
int ps_lazy_library_loaded(const char *soname);

#endif
