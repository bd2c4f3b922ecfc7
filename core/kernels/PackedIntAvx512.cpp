// The avx512 variant of the packed integer kernels: 16 rows a vector (PackedIntLanes.inc); int8
// dot products by AVX512-VNNI's vpdpbusd, or by AVX512BW's maddubs where the CPU lacks VNNI.
#include "kernels/PackedInt.h"
#include "kernels/PackedIntLayout.h"

#if defined(__x86_64__) || defined(__i386__)

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <immintrin.h>
#include <type_traits>
#include <utility>
#include <vector>

// Vectors pass by value only between inlined helpers of one variant (see kernels/GgmlSearch.h).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace qs::packedint {

// 4 sub-tiles × 4 tokens (16 accumulators, 4 broadcasts and 4 unpacks a column) measured twice as
// fast for prefill as 1 × 16 (16 FMAs with broadcast memory operands): f32 130–150 vs 65 GFLOP/s,
// int8 VNNI 470–530 vs 250 GOP/s on one AMD EPYC (Zen 5) core.
namespace avx512 {
#define QS_PI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
constexpr int L = 16;
constexpr int kDecodeSubTiles = 4;
constexpr int kPrefillSubTiles = 4;
constexpr int kMaxTokens = kMaxTokensAvx512;
typedef float VF __attribute__((vector_size(64)));
typedef std::int32_t VI __attribute__((vector_size(64)));
typedef std::uint32_t VU __attribute__((vector_size(64)));

QS_PI_TARGET inline VF fmadd(VF a, VF b, VF c)
{
    return reinterpret_cast<VF>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b),
                                                reinterpret_cast<__m512>(c)));
}

/// maddubs multiplies unsigned by signed bytes and adds pairs with int16 saturation: codes below
/// 128 times |x| ≤ 127 stay below it; 8-bit codes go as q − 128 (|·| ≤ 128) with x's sign flipped
/// where q − 128 is negative.
template <int B>
constexpr int dotOffset()
{
    return B == 8 ? 128 : 0;
}
template <int B>
QS_PI_TARGET inline VU dot4(VU acc, VU codes, VU x4)
{
    __m512i c = reinterpret_cast<__m512i>(codes), x = reinterpret_cast<__m512i>(x4);
    if constexpr (B == 8) {
        const __m512i w = _mm512_xor_si512(c, _mm512_set1_epi8(char(0x80)));
        x = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
        c = _mm512_abs_epi8(w);
    }
    const __m512i p = _mm512_madd_epi16(_mm512_maddubs_epi16(c, x), _mm512_set1_epi16(1));
    return acc + reinterpret_cast<VU>(p);
}

/// vpshufb: byte I of each lane moved to its low byte, zeros above (index bytes with the top bit
/// set give zero); the shuffle stays within 128-bit lanes, so the control repeats every 4 lanes.
template <int I>
QS_PI_TARGET inline VU middleByte(VU v)
{
    constexpr std::uint32_t z = 0x80808000u, a = z | I, b = z | (4 + I), c = z | (8 + I), d = z | (12 + I);
    const VU control = VU{a, b, c, d, a, b, c, d, a, b, c, d, a, b, c, d};
    return reinterpret_cast<VU>(
        _mm512_shuffle_epi8(reinterpret_cast<__m512i>(v), reinterpret_cast<__m512i>(control)));
}

/// vpermps: the float of the low 4 bits of every lane from a table of 0 … 15 (the index takes only
/// those bits, so no mask), in place of a mask and a convert: GEMV of int4 g128 from DRAM measured
/// 10–15 % faster on one AMD EPYC (Zen 5) core (8 sub-tiles a pass instead of 4 measured slower).
QS_PI_TARGET inline VF nibbleFloat(VU v)
{
    const __m512 table =
        _mm512_setr_ps(0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f, 10.f, 11.f, 12.f, 13.f, 14.f, 15.f);
    // The masked form: GCC 12's plain one trips -Wmaybe-uninitialized on its undefined pass-through.
    return reinterpret_cast<VF>(
        _mm512_mask_permutexvar_ps(table, __mmask16(0xffff), reinterpret_cast<__m512i>(v), table));
}
#define QS_PI_NIBBLE_FLOAT(v) nibbleFloat(v)

#include "kernels/PackedIntLanes.inc"
#undef QS_PI_NIBBLE_FLOAT
#undef QS_PI_TARGET
} // namespace avx512

namespace avx512vnni {
#define QS_PI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma")))
constexpr int L = 16;
constexpr int kDecodeSubTiles = 4;
constexpr int kPrefillSubTiles = 4;
constexpr int kMaxTokens = kMaxTokensAvx512;
typedef float VF __attribute__((vector_size(64)));
typedef std::int32_t VI __attribute__((vector_size(64)));
typedef std::uint32_t VU __attribute__((vector_size(64)));

QS_PI_TARGET inline VF fmadd(VF a, VF b, VF c)
{
    return reinterpret_cast<VF>(_mm512_fmadd_ps(reinterpret_cast<__m512>(a), reinterpret_cast<__m512>(b),
                                                reinterpret_cast<__m512>(c)));
}
template <int B>
constexpr int dotOffset()
{
    return 0;
}
template <int B>
QS_PI_TARGET inline VU dot4(VU acc, VU codes, VU x4)
{
    return reinterpret_cast<VU>(_mm512_dpbusd_epi32(
        reinterpret_cast<__m512i>(acc), reinterpret_cast<__m512i>(codes), reinterpret_cast<__m512i>(x4)));
}

template <int I>
QS_PI_TARGET inline VU middleByte(VU v)
{
    constexpr std::uint32_t z = 0x80808000u, a = z | I, b = z | (4 + I), c = z | (8 + I), d = z | (12 + I);
    const VU control = VU{a, b, c, d, a, b, c, d, a, b, c, d, a, b, c, d};
    return reinterpret_cast<VU>(
        _mm512_shuffle_epi8(reinterpret_cast<__m512i>(v), reinterpret_cast<__m512i>(control)));
}

#include "kernels/PackedIntLanes.inc"
#undef QS_PI_TARGET
} // namespace avx512vnni

void floatRowsAvx512(const KernelArgs& a)
{
    avx512::rowsImpl<false>(a);
}
void int8RowsAvx512(const KernelArgs& a)
{
    avx512::rowsImpl<true>(a);
}
void int8RowsAvx512Vnni(const KernelArgs& a)
{
    avx512vnni::rowsImpl<true>(a);
}

} // namespace qs::packedint

#endif
