#ifndef PHOTOSEAL_COPENSSL_SHIM_H
#define PHOTOSEAL_COPENSSL_SHIM_H

// The low-level SHA-256 state below is deprecated in OpenSSL 3 but still shipped; it is the only
// way to copy a pre-keyed HMAC without a heap allocation (EVP_MAC_CTX_dup and EVP_MD_CTX_copy_ex
// both allocate), which halves the cost of sealing or opening a 100-byte field.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

/// HMAC-SHA256 with the key folded in: the SHA-256 states after absorbing key ^ ipad and key ^ opad.
typedef struct {
    SHA256_CTX inner;
    SHA256_CTX outer;
} ps_hmac_sha256_key;

/// Prepares `prepared` for `key` (RFC 2104: a key longer than a block is hashed first).
/// Exists because the deprecated SHA-256 calls are only reachable with the suppression above.
static inline void ps_hmac_sha256_prepare(ps_hmac_sha256_key *prepared, const void *key, size_t length) {
    unsigned char block[64];
    unsigned char pad[64];
    memset(block, 0, sizeof block);
    if (length > sizeof block) {
        SHA256(key, length, block);
    } else if (length > 0) {
        memcpy(block, key, length);
    }
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&prepared->inner);
    SHA256_Update(&prepared->inner, pad, sizeof pad);
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&prepared->outer);
    SHA256_Update(&prepared->outer, pad, sizeof pad);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

/// HMAC-SHA256 of `data` into `mac` (32 bytes) from copies of the prepared states: no allocation.
/// Exists for the same reason as `ps_hmac_sha256_prepare`.
static inline void ps_hmac_sha256(
    const ps_hmac_sha256_key *prepared, const void *data, size_t length, unsigned char *mac) {
    SHA256_CTX ctx = prepared->inner;
    SHA256_Update(&ctx, data, length);
    SHA256_Final(mac, &ctx);
    // No wipe needed afterwards: the copy now holds the outer hash of a public MAC, and
    // SHA256_Final has already cleared its data block.
    ctx = prepared->outer;
    SHA256_Update(&ctx, mac, 32);
    SHA256_Final(mac, &ctx);
}

/// Whether `tag` (32 bytes) is the HMAC-SHA256 of `data`, compared in constant time: the MAC is
/// computed on the stack and every byte compared, with no branch on the data.
/// Exists so that the compare costs a few instructions, not a call to CRYPTO_memcmp's byte loop
/// (a tenth of opening a 100-byte token).
static inline int ps_hmac_sha256_verify(
    const ps_hmac_sha256_key *prepared, const void *data, size_t length, const unsigned char *tag) {
    unsigned char mac[32];
    ps_hmac_sha256(prepared, data, length, mac);
    uint64_t diff = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t a, b;
        memcpy(&a, mac + 8 * i, 8);
        memcpy(&b, tag + 8 * i, 8);
        diff |= a ^ b;
    }
    // An empty asm that may change `diff`: the compiler must compute the whole OR and cannot
    // turn it into an early exit at the first difference.
    __asm__ volatile("" : "+r"(diff));
    return diff == 0;
}

#endif
