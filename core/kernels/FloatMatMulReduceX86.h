#pragma once

// Internal to core/kernels (x86 only, after <immintrin.h>): the AVX-512 lane tree that ends every float GEMM
// dot product — lanes (i, i+8), then (i, i+4), (i, i+2), (0, 1) — for one vector and for 16 at once. Shared
// by FloatMatMulX86.cpp and FloatMatMulBf16.cpp, whose results must be the same bytes as the scalar twins'.

#include <cstdint>
// GCC 12's AVX-512 intrinsics fill "don't care" operands with _mm512_undefined_*(), which
// -W(maybe-)uninitialized reports wherever they inline; nothing here reads such a value (see
// FloatMatMulX86.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

namespace qs::fmm {

#define QS_FMM_REDUCE_TARGET                                                                                 \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq"), always_inline)) inline

/// Kept in zmm registers (GCC 12's 512 → 256 casts trip -Wmaybe-uninitialized on their undefined upper
/// halves).
QS_FMM_REDUCE_TARGET float reduceLanes16(__m512 v)
{
    const __m512 s1 = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4e));
    const __m512 s2 = _mm512_add_ps(s1, _mm512_shuffle_f32x4(s1, s1, 0xb1));
    const __m512 s3 = _mm512_add_ps(s2, _mm512_permute_ps(s2, 0x4e));
    return _mm512_cvtss_f32(_mm512_add_ps(s3, _mm512_permute_ps(s3, 0xb1)));
}

/// reduceLanes16 of the 16 vectors at acc + i·stride (i < 16, 64-byte aligned), result i to y[i] for i < k:
/// each level of the same tree adds the same two lanes, for 16 vectors in 15 adds.
QS_FMM_REDUCE_TARGET void reduceLanes16x16(const float* acc, std::int64_t stride, int k, float* y)
{
    __m512 v[16];
    for (int i = 0; i < 16; ++i)
        v[i] = _mm512_load_ps(acc + i * stride);
    // (i, i+8): [a0..7 + a8..15 | b0..7 + b8..15] for pairs (a, b) = (v[2j], v[2j+1]).
    __m512 c[8];
    for (int j = 0; j < 8; ++j)
        c[j] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * j], v[2 * j + 1], 0xee));
    // (i, i+4): 128-bit quarters of four vectors.
    __m512 e[4];
    for (int j = 0; j < 4; ++j)
        e[j] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * j], c[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(c[2 * j], c[2 * j + 1], 0xdd));
    // (i, i+2) and (i, i+1) within each quarter.
    __m512 g[2];
    for (int j = 0; j < 2; ++j)
        g[j] = _mm512_add_ps(_mm512_shuffle_ps(e[2 * j], e[2 * j + 1], 0x44),
                             _mm512_shuffle_ps(e[2 * j], e[2 * j + 1], 0xee));
    const __m512 h = _mm512_add_ps(_mm512_shuffle_ps(g[0], g[1], 0x88), _mm512_shuffle_ps(g[0], g[1], 0xdd));
    // Lane 4q + m of h holds the sum of vector 4m + q: put them back in order.
    const __m512i back = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_mask_storeu_ps(y, __mmask16((1u << k) - 1u), _mm512_permutexvar_ps(back, h));
}

#undef QS_FMM_REDUCE_TARGET

} // namespace qs::fmm
