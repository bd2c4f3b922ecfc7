#pragma once

// Internal to the x86 files of the ggml matrix products: the block-scale unpacking both SIMD
// variants share. Included inside each file's target region (after its intrinsics headers), so
// every variant compiles its own copy with its own instruction set; internal linkage keeps them apart.

#include "tensor/GgmlBlocks.h"

#include <cstdint>
#include <cstring>
#include <immintrin.h>

namespace qs::ggmlmm {
namespace { // NOLINT(cert-dcl59-cpp,google-build-namespaces): one copy per instruction set

/// The 8 scales and 8 mins of a Q4_K/Q5_K super-block as bytes, through 32-bit words.
inline void kScalesMins(const std::uint8_t* p, __m128i* scales, __m128i* mins)
{
    std::uint32_t u[3];
    std::memcpy(u, p, 12);
    const std::uint32_t scLo = u[0] & 0x3f3f3f3fu, mnLo = u[1] & 0x3f3f3f3fu;
    const std::uint32_t scHi = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    const std::uint32_t mnHi = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    *scales = _mm_cvtsi64_si128(static_cast<long long>(scLo | std::uint64_t(scHi) << 32));
    *mins = _mm_cvtsi64_si128(static_cast<long long>(mnLo | std::uint64_t(mnHi) << 32));
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

} // namespace
} // namespace qs::ggmlmm
