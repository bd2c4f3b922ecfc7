#pragma once

// Internal to the x86 files of the ggml matrix products: the block-scale unpacking both SIMD
// variants share. Included inside each file's target region (after its intrinsics headers), so
// every variant compiles its own copy with its own instruction set; internal linkage keeps them apart.

#include "tensor/GgmlBlocks.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <immintrin.h>

namespace qs::ggmlmm {
namespace { // NOLINT(cert-dcl59-cpp,google-build-namespaces): one copy per instruction set

/// The 8 six-bit scales (bytes 0–7) and 8 mins (bytes 8–15) of a Q4_K/Q5_K super-block from its
/// 12 packed bytes at p (16 bytes are read: the codes follow them in the block).
inline __m128i kScalesMins(const std::uint8_t* p)
{
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); // p0 … p11
    // Groups 0–3 (scales in p0–p3, mins in p4–p7): the low six bits.
    const __m128i low = _mm_and_si128(v, _mm_set1_epi8(63));
    // Groups 4–7: the low nibbles of p8–p11 (scales) and their high nibbles (mins), with the top
    // two bits of p0–p3 / p4–p7 above them.
    const __m128i b =
        _mm_shuffle_epi8(v, _mm_setr_epi8(8, 9, 10, 11, 8, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1, -1));
    const __m128i nib = _mm_and_si128(_mm_blend_epi16(b, _mm_srli_epi16(b, 4), 0x0C), _mm_set1_epi8(0xF));
    const __m128i high = _mm_or_si128(nib, _mm_and_si128(_mm_srli_epi16(v, 2), _mm_set1_epi8(0x30)));
    return _mm_unpacklo_epi32(low, high);
}

/// The 16 signed scales of a Q3_K super-block as bytes.
inline __m128i q3Scales(const std::uint8_t* p)
{
    std::uint32_t u[3];
    std::memcpy(u, p, 12);
    const std::uint32_t lo = 0x0f0f0f0fu, hi = 0x03030303u;
    const __m128i s = _mm_setr_epi32(static_cast<int>((u[0] & lo) | ((u[2] & hi) << 4)),
                                     static_cast<int>((u[1] & lo) | (((u[2] >> 2) & hi) << 4)),
                                     static_cast<int>(((u[0] >> 4) & lo) | (((u[2] >> 4) & hi) << 4)),
                                     static_cast<int>(((u[1] >> 4) & lo) | (((u[2] >> 6) & hi) << 4)));
    return _mm_sub_epi8(s, _mm_set1_epi8(32));
}

/// The 8 signed scales (ls − 32) of an IQ4_XS super-block as int32.
inline __m256i iq4xsScales(const ggml::BlockIQ4_XS& b)
{
    std::uint32_t low;
    std::memcpy(&low, b.scalesL, 4);
    const __m256i l = _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(low)),
                                        _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
    const __m256i h =
        _mm256_srlv_epi32(_mm256_set1_epi32(b.scalesH), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    const __m256i ls = _mm256_or_si256(_mm256_and_si256(l, _mm256_set1_epi32(0xF)),
                                       _mm256_slli_epi32(_mm256_and_si256(h, _mm256_set1_epi32(3)), 4));
    return _mm256_sub_epi32(ls, _mm256_set1_epi32(32));
}

/// The binary16 field at byte Off of the `count` (≤ 8) consecutive blocks of Size bytes from p, as
/// 8 floats (0 past count). Gathered in general registers: eight 16-bit stores read back as one
/// vector would stall store-to-load forwarding.
template <int Size, int Off>
inline __m256 halves8(const void* p, int count)
{
    const auto* b = static_cast<const std::uint8_t*>(p) + Off;
    auto at = [b](int k) {
        std::uint16_t h;
        std::memcpy(&h, b + k * Size, 2);
        return std::uint64_t(h);
    };
    std::uint64_t lo = 0, hi = 0;
    if (count == 8) {
        lo = at(0) | at(1) << 16 | at(2) << 32 | at(3) << 48;
        hi = at(4) | at(5) << 16 | at(6) << 32 | at(7) << 48;
    } else {
        for (int k = 0; k < count; ++k)
            (k < 4 ? lo : hi) |= at(k) << (16 * (k % 4));
    }
    return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)));
}

} // namespace
} // namespace qs::ggmlmm
