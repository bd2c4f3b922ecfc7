// The AVX2 and AVX-512 variants of floatMatMul: their vector operations, and kernels/FloatMatMulLoops.h
// compiled once for each (every function there and here carries the variant's target attribute). Called only
// after cpuFeatures() says the CPU runs them (FloatMatMul.cpp).
#include "kernels/FloatMatMulVariants.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cstdint>
#include <cstring>
// GCC 12's AVX-512 intrinsics fill "don't care" operands with _mm512_undefined_*() (a self-initialised
// variable), which -Wmaybe-uninitialized and -Wuninitialized report wherever they inline. Nothing here reads
// such a value.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include "kernels/FloatMatMulReduceX86.h"

#include <immintrin.h>

namespace qs::fmm {

namespace {

#define QS_FMM_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QS_FMM_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq")))

/// Lanes (i, i+4), then (i, i+2), then (0, 1): the last steps of both variants' lane trees.
QS_FMM_AVX2 __attribute__((always_inline)) inline float reduce4(__m128 s)
{
    const __m128 s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

QS_FMM_AVX2 __attribute__((always_inline)) inline __m256 bf16x8(__m128i h)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

struct Avx2Ops
{
    using V = __m256;
    static constexpr int L = 8, R = 4, T = 3, NB = 96, RV = 8, KC = 2048, PH = 2;

    QS_FMM_AVX2 static V zero() { return _mm256_setzero_ps(); }
    QS_FMM_AVX2 static V load(const float* p) { return _mm256_load_ps(p); }
    QS_FMM_AVX2 static void store(float* p, V v) { _mm256_store_ps(p, v); }
    QS_FMM_AVX2 static V fma(V w, V x, V acc) { return _mm256_fmadd_ps(w, x, acc); }
    QS_FMM_AVX2 static float reduce(V v)
    {
        return reduce4(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
    }
    QS_FMM_AVX2 static __m256i mask(int k)
    {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    QS_FMM_AVX2 static V loadX(const float* p) { return _mm256_loadu_ps(p); }
    QS_FMM_AVX2 static V loadXPart(const float* p, int k) { return _mm256_maskload_ps(p, mask(k)); }
    QS_FMM_AVX2 static V loadF32(const char* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
    QS_FMM_AVX2 static V loadF32Part(const char* p, int k)
    {
        alignas(32) float b[8] = {};
        std::memcpy(b, p, std::size_t(k) * 4);
        return _mm256_load_ps(b);
    }
    QS_FMM_AVX2 static __m128i load8x16(const char* p)
    {
        return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    }
    QS_FMM_AVX2 static __m128i load8x16Part(const char* p, int k)
    {
        alignas(16) std::uint16_t b[8] = {};
        std::memcpy(b, p, std::size_t(k) * 2);
        return _mm_load_si128(reinterpret_cast<const __m128i*>(b));
    }
    QS_FMM_AVX2 static V loadF16(const char* p) { return _mm256_cvtph_ps(load8x16(p)); }
    QS_FMM_AVX2 static V loadF16Part(const char* p, int k) { return _mm256_cvtph_ps(load8x16Part(p, k)); }
    QS_FMM_AVX2 static V loadBf16(const char* p) { return bf16x8(load8x16(p)); }
    QS_FMM_AVX2 static V loadBf16Part(const char* p, int k) { return bf16x8(load8x16Part(p, k)); }
};

struct Avx512Ops
{
    using V = __m512;
    static constexpr int L = 16, R = 4, T = 6, NB = 96, RV = 4, KC = 2048, PH = 3;

    QS_FMM_AVX512 static __mmask16 mask(int k) { return __mmask16((1u << k) - 1u); }
    QS_FMM_AVX512 static V zero() { return _mm512_setzero_ps(); }
    QS_FMM_AVX512 static V load(const float* p) { return _mm512_load_ps(p); }
    QS_FMM_AVX512 static void store(float* p, V v) { _mm512_store_ps(p, v); }
    QS_FMM_AVX512 static V fma(V w, V x, V acc) { return _mm512_fmadd_ps(w, x, acc); }
    /// Lanes (i, i+8), (i, i+4), (i, i+2), (0, 1): the AVX2 tree one level up (FloatMatMulReduceX86.h).
    QS_FMM_AVX512 static float reduce(V v) { return reduceLanes16(v); }
    QS_FMM_AVX512 static void reduce16(const float* acc, std::int64_t stride, int k, float* y)
    {
        reduceLanes16x16(acc, stride, k, y);
    }
    QS_FMM_AVX512 static V loadX(const float* p) { return _mm512_loadu_ps(p); }
    QS_FMM_AVX512 static V loadXPart(const float* p, int k) { return _mm512_maskz_loadu_ps(mask(k), p); }
    QS_FMM_AVX512 static V loadF32(const char* p) { return _mm512_loadu_ps(p); }
    QS_FMM_AVX512 static V loadF32Part(const char* p, int k) { return _mm512_maskz_loadu_ps(mask(k), p); }
    QS_FMM_AVX512 static __m256i load16x16(const char* p)
    {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    }
    QS_FMM_AVX512 static __m256i load16x16Part(const char* p, int k)
    {
        return _mm256_maskz_loadu_epi16(mask(k), p);
    }
    QS_FMM_AVX512 static V bf16(__m256i h)
    {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    QS_FMM_AVX512 static V loadF16(const char* p) { return _mm512_maskz_cvtph_ps(0xffff, load16x16(p)); }
    QS_FMM_AVX512 static V loadF16Part(const char* p, int k)
    {
        return _mm512_maskz_cvtph_ps(0xffff, load16x16Part(p, k));
    }
    QS_FMM_AVX512 static V loadBf16(const char* p) { return bf16(load16x16(p)); }
    QS_FMM_AVX512 static V loadBf16Part(const char* p, int k) { return bf16(load16x16Part(p, k)); }
};

} // namespace

} // namespace qs::fmm

#define QS_FMM_NS avx2
#define QS_FMM_TARGET QS_FMM_AVX2
#include "kernels/FloatMatMulLoops.h"
#undef QS_FMM_NS
#undef QS_FMM_TARGET

#define QS_FMM_NS avx512
#define QS_FMM_TARGET QS_FMM_AVX512
#include "kernels/FloatMatMulLoops.h"
#undef QS_FMM_NS
#undef QS_FMM_TARGET

namespace qs::fmm {

QS_FMM_AVX2 void runAvx2(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                         const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch)
{
    avx2::run<Avx2Ops>(dtype, w, cols, r0, r1, x, n, y, ldy, scratch);
}

QS_FMM_AVX512 void runAvx512(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                             const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch)
{
    avx512::run<Avx512Ops>(dtype, w, cols, r0, r1, x, n, y, ldy, scratch);
}

} // namespace qs::fmm

#endif
