// Base64 decoding of whole groups: 32 characters per step with AVX2 where the CPU has it (checked
// once with CPUID), four at a time through a table otherwise and for the last few groups.
// The AVX2 step classifies each character by range (A-Z, a-z, 0-9, and the two characters that
// differ between the alphabets) rather than through shuffle tables, so one path serves both
// alphabets; bytes of 0x80 and above compare as negative and fall in no range.
#include "CBase64.h"

#include <stdatomic.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

/// Each character's six bits for A-Z a-z 0-9, 0xFF for every other byte; characters 62 and 63
/// differ between the alphabets and are compared for in `six_bits`.
static const uint8_t common_table[256] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E,
    0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};

static inline uint8_t six_bits(uint8_t ch, uint8_t c62, uint8_t c63) {
    return ch == c62 ? 62 : ch == c63 ? 63 : common_table[ch];
}

static int decode_scalar(const uint8_t *text, size_t count, uint8_t *out, uint8_t c62, uint8_t c63) {
    uint8_t bad = 0;
    for (size_t i = 0; i < count; i += 4) {
        uint8_t a = six_bits(text[i], c62, c63), b = six_bits(text[i + 1], c62, c63);
        uint8_t c = six_bits(text[i + 2], c62, c63), d = six_bits(text[i + 3], c62, c63);
        bad |= a | b | c | d;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
        *out++ = (uint8_t)(v >> 16);
        *out++ = (uint8_t)(v >> 8);
        *out++ = (uint8_t)v;
    }
    return (bad & 0x80) == 0;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static inline __m256i in_range(__m256i c, char lo, char hi) {
    return _mm256_and_si256(
        _mm256_cmpgt_epi8(c, _mm256_set1_epi8((char)(lo - 1))), _mm256_cmpgt_epi8(_mm256_set1_epi8((char)(hi + 1)), c));
}

__attribute__((target("avx2"))) static int decode_avx2(
    const uint8_t *text, size_t count, uint8_t *out, uint8_t c62, uint8_t c63) {
    const __m256i pack = _mm256_setr_epi8(
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
    const __m256i is62 = _mm256_set1_epi8((char)c62), is63 = _mm256_set1_epi8((char)c63);
    size_t i = 0;
    for (; i + 32 <= count; i += 32, out += 24) {
        __m256i c = _mm256_loadu_si256((const __m256i *)(text + i));
        __m256i upper = in_range(c, 'A', 'Z');
        __m256i lower = in_range(c, 'a', 'z');
        __m256i digit = in_range(c, '0', '9');
        __m256i m62 = _mm256_cmpeq_epi8(c, is62);
        __m256i m63 = _mm256_cmpeq_epi8(c, is63);
        __m256i valid = _mm256_or_si256(_mm256_or_si256(upper, lower), _mm256_or_si256(digit, _mm256_or_si256(m62, m63)));
        if ((uint32_t)_mm256_movemask_epi8(valid) != 0xFFFFFFFFu) return 0;
        // What to add to each character to get its six bits.
        __m256i shift = _mm256_and_si256(upper, _mm256_set1_epi8((char)(0 - 'A')));
        shift = _mm256_or_si256(shift, _mm256_and_si256(lower, _mm256_set1_epi8((char)(26 - 'a'))));
        shift = _mm256_or_si256(shift, _mm256_and_si256(digit, _mm256_set1_epi8((char)(52 - '0'))));
        shift = _mm256_or_si256(shift, _mm256_and_si256(m62, _mm256_set1_epi8((char)(62 - c62))));
        shift = _mm256_or_si256(shift, _mm256_and_si256(m63, _mm256_set1_epi8((char)(63 - c63))));
        __m256i bits = _mm256_add_epi8(c, shift);
        // Pairs of six bits into twelve, pairs of twelve into 24, then the three bytes of each
        // 32-bit lane in big-endian order, twelve bytes per 128-bit half, both halves together.
        __m256i twelve = _mm256_maddubs_epi16(bits, _mm256_set1_epi32(0x01400140));
        __m256i whole = _mm256_madd_epi16(twelve, _mm256_set1_epi32(0x00011000));
        __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(whole, pack), lanes);
        _mm_storeu_si128((__m128i *)out, _mm256_castsi256_si128(bytes));
        _mm_storel_epi64((__m128i *)(out + 16), _mm256_extracti128_si256(bytes, 1));
    }
    return decode_scalar(text + i, count - i, out, c62, c63);
}

static int has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    // OSXSAVE and AVX, and the OS saves the YMM state.
    if ((c & (1u << 27)) == 0 || (c & (1u << 28)) == 0) return 0;
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0;
}
#endif

int ps_base64_decode_groups(const uint8_t *text, size_t count, uint8_t *out, uint8_t c62, uint8_t c63) {
#if defined(__x86_64__)
    // 0 before the first call, then 1 without AVX2, 2 with; a race only repeats the check.
    static _Atomic int level = 0;
    int known = atomic_load_explicit(&level, memory_order_relaxed);
    if (known == 0) {
        known = has_avx2() ? 2 : 1;
        atomic_store_explicit(&level, known, memory_order_relaxed);
    }
    if (known == 2 && count >= 32) return decode_avx2(text, count, out, c62, c63);
#endif
    return decode_scalar(text, count, out, c62, c63);
}
