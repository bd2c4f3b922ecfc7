// The avx2 variant of the packed integer kernels: 8 rows a vector (PackedIntLanes.inc), a tile of
// 16 rows as two sub-tiles; int8 dot products by AVX-VNNI's vpdpbusd, or by maddubs.
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

namespace qs::packedint {

// 4 sub-tiles × 2 tokens: 8 accumulators fit the 16 registers (1 × 8 spilled one): f32 prefill
// 42–57 vs 22 GFLOP/s.
namespace avx2 {
#define QS_PI_TARGET __attribute__((target("avx2,fma")))
constexpr int L = 8;
constexpr int kDecodeSubTiles = 4;
constexpr int kPrefillSubTiles = 4;
constexpr int kMaxTokens = kMaxTokensAvx2;
typedef float VF __attribute__((vector_size(32)));
typedef std::int32_t VI __attribute__((vector_size(32)));
typedef std::uint32_t VU __attribute__((vector_size(32)));

QS_PI_TARGET inline VF fmadd(VF a, VF b, VF c)
{
    return reinterpret_cast<VF>(_mm256_fmadd_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b),
                                                reinterpret_cast<__m256>(c)));
}

/// maddubs: see PackedIntAvx512.cpp (8-bit codes as q − 128, x's sign moved onto them).
template <int B>
constexpr int dotOffset()
{
    return B == 8 ? 128 : 0;
}
template <int B>
QS_PI_TARGET inline VU dot4(VU acc, VU codes, VU x4)
{
    __m256i c = reinterpret_cast<__m256i>(codes), x = reinterpret_cast<__m256i>(x4);
    if constexpr (B == 8) {
        const __m256i w = _mm256_xor_si256(c, _mm256_set1_epi8(char(0x80)));
        x = _mm256_sign_epi8(x, w);
        c = _mm256_abs_epi8(w);
    }
    const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(c, x), _mm256_set1_epi16(1));
    return acc + reinterpret_cast<VU>(p);
}

/// vpshufb: see PackedIntAvx512.cpp.
template <int I>
QS_PI_TARGET inline VU middleByte(VU v)
{
    constexpr std::uint32_t z = 0x80808000u, a = z | I, b = z | (4 + I), c = z | (8 + I), d = z | (12 + I);
    const VU control = VU{a, b, c, d, a, b, c, d};
    return reinterpret_cast<VU>(
        _mm256_shuffle_epi8(reinterpret_cast<__m256i>(v), reinterpret_cast<__m256i>(control)));
}

#include "kernels/PackedIntLanes.inc"
#undef QS_PI_TARGET
} // namespace avx2

namespace avxvnni {
#define QS_PI_TARGET __attribute__((target("avx2,fma,avxvnni")))
constexpr int L = 8;
constexpr int kDecodeSubTiles = 4;
constexpr int kPrefillSubTiles = 4;
constexpr int kMaxTokens = kMaxTokensAvx2;
typedef float VF __attribute__((vector_size(32)));
typedef std::int32_t VI __attribute__((vector_size(32)));
typedef std::uint32_t VU __attribute__((vector_size(32)));

QS_PI_TARGET inline VF fmadd(VF a, VF b, VF c)
{
    return reinterpret_cast<VF>(_mm256_fmadd_ps(reinterpret_cast<__m256>(a), reinterpret_cast<__m256>(b),
                                                reinterpret_cast<__m256>(c)));
}
template <int B>
constexpr int dotOffset()
{
    return 0;
}
template <int B>
QS_PI_TARGET inline VU dot4(VU acc, VU codes, VU x4)
{
    return reinterpret_cast<VU>(_mm256_dpbusd_avx_epi32(
        reinterpret_cast<__m256i>(acc), reinterpret_cast<__m256i>(codes), reinterpret_cast<__m256i>(x4)));
}

/// vpshufb: see PackedIntAvx512.cpp.
template <int I>
QS_PI_TARGET inline VU middleByte(VU v)
{
    constexpr std::uint32_t z = 0x80808000u, a = z | I, b = z | (4 + I), c = z | (8 + I), d = z | (12 + I);
    const VU control = VU{a, b, c, d, a, b, c, d};
    return reinterpret_cast<VU>(
        _mm256_shuffle_epi8(reinterpret_cast<__m256i>(v), reinterpret_cast<__m256i>(control)));
}

#include "kernels/PackedIntLanes.inc"
#undef QS_PI_TARGET
} // namespace avxvnni

void floatRowsAvx2(const KernelArgs& a)
{
    avx2::rowsImpl<false>(a);
}
void int8RowsAvx2(const KernelArgs& a)
{
    avx2::rowsImpl<true>(a);
}
void int8RowsAvxVnni(const KernelArgs& a)
{
    avxvnni::rowsImpl<true>(a);
}

} // namespace qs::packedint

#endif
