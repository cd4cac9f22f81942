#ifndef PHOTOSEAL_CBASE64_H
#define PHOTOSEAL_CBASE64_H

#include <stddef.h>
#include <stdint.h>

/// Decodes `count` base64 characters (a multiple of 4, no padding, no white space) into
/// `count / 4 * 3` bytes at `out`, in the alphabet whose characters 62 and 63 are `c62` and
/// `c63` (A-Z a-z 0-9 first, as in RFC 4648). Returns 1, or 0 when a character is outside the
/// alphabet (then `out` holds garbage).
/// Exists because Swift cannot reach the SIMD shuffles that decode 32 characters at a time:
/// on a Fernet token, decoding otherwise costs more than the AES.
int ps_base64_decode_groups(const uint8_t *text, size_t count, uint8_t *out, uint8_t c62, uint8_t c63);

#endif
