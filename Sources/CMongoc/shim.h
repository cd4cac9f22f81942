#ifndef PHOTOSEAL_CMONGOC_SHIM_H
#define PHOTOSEAL_CMONGOC_SHIM_H

#include <mongoc/mongoc.h>
#include <bson/bson.h>

// bson_t and bson_iter_t are declared 128-byte aligned, so Swift imports them as opaque types and
// cannot hold them by value: these allocate, free and read them on the C side.

/// A zeroed, properly aligned bson_iter_t on the heap; free with ps_bson_iter_free.
static inline bson_iter_t *ps_bson_iter_new(void) {
    return (bson_iter_t *) bson_aligned_alloc0(BSON_ALIGNOF(bson_iter_t), sizeof(bson_iter_t));
}

/// Frees an iterator made by ps_bson_iter_new.
static inline void ps_bson_iter_free(bson_iter_t *iter) { bson_free(iter); }

/// The length in bytes of a BSON document (the struct field Swift cannot see).
static inline uint32_t ps_bson_len(const bson_t *bson) { return bson->len; }

#endif
