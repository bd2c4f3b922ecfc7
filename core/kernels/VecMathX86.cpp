// The AVX2 and AVX-512 variants of kernels/VecMath.h: their vector operations, and kernels/VecMathLoops.h
// compiled once for each (every function there and here carries the variant's target attribute). Called only
// after cpuFeatures() says the CPU runs them (VecMath.cpp).
#include "kernels/VecMathVariants.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cstdint>
// GCC 12's AVX-512 intrinsics fill "don't care" operands with _mm512_undefined_*() (a self-initialised
// variable), which -Wmaybe-uninitialized and -Wuninitialized report wherever they inline. Nothing here reads
// such a value.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

namespace qs::vecmath {

namespace {

#define QS_VM_AVX2 __attribute__((target("avx2,fma")))
#define QS_VM_AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")))
#define QS_VM_OP(target) static target __attribute__((always_inline)) inline

struct Avx2Ops
{
    using V = __m256;
    using I = __m256i;
    struct Sums
    {
        __m256d s[4]; // lanes 0-3, 4-7, 8-11, 12-15 of a 16-element block
    };
    static constexpr int L = 8;

    QS_VM_OP(QS_VM_AVX2) __m256i mask(int k) // lanes < k set
    {
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    QS_VM_OP(QS_VM_AVX2) V load(const float* p) { return _mm256_loadu_ps(p); }
    QS_VM_OP(QS_VM_AVX2) V loadPart(const float* p, int k) { return _mm256_maskload_ps(p, mask(k)); }
    QS_VM_OP(QS_VM_AVX2) void store(float* p, V v) { _mm256_storeu_ps(p, v); }
    QS_VM_OP(QS_VM_AVX2) void storePart(float* p, V v, int k) { _mm256_maskstore_ps(p, mask(k), v); }
    QS_VM_OP(QS_VM_AVX2) V keep(V v, int k) { return _mm256_and_ps(v, _mm256_castsi256_ps(mask(k))); }
    QS_VM_OP(QS_VM_AVX2) V set1(float f) { return _mm256_set1_ps(f); }
    QS_VM_OP(QS_VM_AVX2) V add(V a, V b) { return _mm256_add_ps(a, b); }
    QS_VM_OP(QS_VM_AVX2) V sub(V a, V b) { return _mm256_sub_ps(a, b); }
    QS_VM_OP(QS_VM_AVX2) V mul(V a, V b) { return _mm256_mul_ps(a, b); }
    QS_VM_OP(QS_VM_AVX2) V div(V a, V b) { return _mm256_div_ps(a, b); }
    QS_VM_OP(QS_VM_AVX2) V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    QS_VM_OP(QS_VM_AVX2) V neg(V v) { return _mm256_xor_ps(v, _mm256_set1_ps(-0.0f)); }
    QS_VM_OP(QS_VM_AVX2) V max(V v, V m) { return _mm256_max_ps(v, m); } // v > m ? v : m
    QS_VM_OP(QS_VM_AVX2) V clampMin(V v, V lo) { return _mm256_max_ps(v, lo); }
    QS_VM_OP(QS_VM_AVX2) V clampMax(V v, V hi) { return _mm256_min_ps(v, hi); }
    QS_VM_OP(QS_VM_AVX2) V nanKeep(V x, V y)
    {
        return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    }
    QS_VM_OP(QS_VM_AVX2) I bitsMinus(V a, V b)
    {
        return _mm256_sub_epi32(_mm256_castps_si256(a), _mm256_castps_si256(b));
    }
    QS_VM_OP(QS_VM_AVX2) I half(I n) { return _mm256_srai_epi32(n, 1); }
    QS_VM_OP(QS_VM_AVX2) I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
    QS_VM_OP(QS_VM_AVX2) V pow2(I n)
    {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
    }
    QS_VM_OP(QS_VM_AVX2) Sums zeroSums()
    {
        return {{_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()}};
    }
    QS_VM_OP(QS_VM_AVX2) void addToSums(Sums& s, V v, int part)
    {
        s.s[2 * part] = _mm256_add_pd(s.s[2 * part], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        s.s[2 * part + 1] = _mm256_add_pd(s.s[2 * part + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    QS_VM_OP(QS_VM_AVX2) double total(const Sums& s)
    {
        const __m256d four = _mm256_add_pd(_mm256_add_pd(s.s[0], s.s[2]), _mm256_add_pd(s.s[1], s.s[3]));
        const __m128d two = _mm_add_pd(_mm256_castpd256_pd128(four), _mm256_extractf128_pd(four, 1));
        return _mm_cvtsd_f64(_mm_add_sd(two, _mm_unpackhi_pd(two, two)));
    }
    QS_VM_OP(QS_VM_AVX2) float reduceMax(V m)
    {
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
    }
};

struct Avx512Ops
{
    using V = __m512;
    using I = __m512i;
    struct Sums
    {
        __m512d lo, hi; // lanes 0-7 and 8-15 of a 16-element block
    };
    static constexpr int L = 16;

    QS_VM_OP(QS_VM_AVX512) __mmask16 mask(int k) { return __mmask16((1u << k) - 1u); }
    QS_VM_OP(QS_VM_AVX512) V load(const float* p) { return _mm512_loadu_ps(p); }
    QS_VM_OP(QS_VM_AVX512) V loadPart(const float* p, int k) { return _mm512_maskz_loadu_ps(mask(k), p); }
    QS_VM_OP(QS_VM_AVX512) void store(float* p, V v) { _mm512_storeu_ps(p, v); }
    QS_VM_OP(QS_VM_AVX512) void storePart(float* p, V v, int k) { _mm512_mask_storeu_ps(p, mask(k), v); }
    QS_VM_OP(QS_VM_AVX512) V keep(V v, int k) { return _mm512_maskz_mov_ps(mask(k), v); }
    QS_VM_OP(QS_VM_AVX512) V set1(float f) { return _mm512_set1_ps(f); }
    QS_VM_OP(QS_VM_AVX512) V add(V a, V b) { return _mm512_add_ps(a, b); }
    QS_VM_OP(QS_VM_AVX512) V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    QS_VM_OP(QS_VM_AVX512) V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    QS_VM_OP(QS_VM_AVX512) V div(V a, V b) { return _mm512_div_ps(a, b); }
    QS_VM_OP(QS_VM_AVX512) V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    QS_VM_OP(QS_VM_AVX512) V neg(V v) { return _mm512_xor_ps(v, _mm512_set1_ps(-0.0f)); }
    QS_VM_OP(QS_VM_AVX512) V max(V v, V m) { return _mm512_max_ps(v, m); } // v > m ? v : m
    QS_VM_OP(QS_VM_AVX512) V clampMin(V v, V lo) { return _mm512_max_ps(v, lo); }
    QS_VM_OP(QS_VM_AVX512) V clampMax(V v, V hi) { return _mm512_min_ps(v, hi); }
    QS_VM_OP(QS_VM_AVX512) V nanKeep(V x, V y)
    {
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), y, x);
    }
    QS_VM_OP(QS_VM_AVX512) I bitsMinus(V a, V b)
    {
        return _mm512_sub_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b));
    }
    QS_VM_OP(QS_VM_AVX512) I half(I n) { return _mm512_srai_epi32(n, 1); }
    QS_VM_OP(QS_VM_AVX512) I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
    QS_VM_OP(QS_VM_AVX512) V pow2(I n)
    {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
    }
    QS_VM_OP(QS_VM_AVX512) Sums zeroSums() { return {_mm512_setzero_pd(), _mm512_setzero_pd()}; }
    QS_VM_OP(QS_VM_AVX512) void addToSums(Sums& s, V v, int)
    {
        s.lo = _mm512_add_pd(s.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        s.hi = _mm512_add_pd(s.hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    }
    QS_VM_OP(QS_VM_AVX512) double total(const Sums& s)
    {
        const __m512d eight = _mm512_add_pd(s.lo, s.hi);
        const __m256d four = _mm256_add_pd(_mm512_castpd512_pd256(eight), _mm512_extractf64x4_pd(eight, 1));
        const __m128d two = _mm_add_pd(_mm256_castpd256_pd128(four), _mm256_extractf128_pd(four, 1));
        return _mm_cvtsd_f64(_mm_add_sd(two, _mm_unpackhi_pd(two, two)));
    }
    QS_VM_OP(QS_VM_AVX512) float reduceMax(V m)
    {
        const __m256 e = _mm256_max_ps(_mm512_castps512_ps256(m), _mm512_extractf32x8_ps(m, 1));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(e), _mm256_extractf128_ps(e, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
    }
};

} // namespace

} // namespace qs::vecmath

#define QS_VM_NS avx2
#define QS_VM_TARGET QS_VM_AVX2
#include "kernels/VecMathLoops.h"
#undef QS_VM_NS
#undef QS_VM_TARGET

#define QS_VM_NS avx512
#define QS_VM_TARGET QS_VM_AVX512
#include "kernels/VecMathLoops.h"
#undef QS_VM_NS
#undef QS_VM_TARGET

namespace qs::vecmath {

const Entries kAvx2 = {avx2::expShiftedSum<Avx2Ops>, avx2::siluMul<Avx2Ops>, avx2::maxOf<Avx2Ops>,
                       avx2::scale<Avx2Ops>};
const Entries kAvx512 = {avx512::expShiftedSum<Avx512Ops>, avx512::siluMul<Avx512Ops>,
                         avx512::maxOf<Avx512Ops>, avx512::scale<Avx512Ops>};

} // namespace qs::vecmath

#endif
