// The vec128 variant of the packed integer kernels: 4 rows a vector in the baseline instruction
// set (SSE/AVX on x86, NEON elsewhere; plain GCC vector extensions where neither helps), a tile
// of 16 rows as four sub-tiles (PackedIntLanes.inc).
#include "kernels/PackedInt.h"
#include "kernels/PackedIntLayout.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE__)
#include <immintrin.h>
#endif
#if defined(__ARM_NEON)
#include <arm_neon.h>
#endif

namespace qs::packedint {

namespace vec128 {
#define QS_PI_TARGET
constexpr int L = 4;
constexpr int kDecodeSubTiles = 4;
constexpr int kPrefillSubTiles = 4;
constexpr int kMaxTokens = kMaxTokensVec128;
typedef float VF __attribute__((vector_size(16)));
typedef std::int32_t VI __attribute__((vector_size(16)));
typedef std::uint32_t VU __attribute__((vector_size(16)));

inline VF fmadd(VF a, VF b, VF c)
{
#if defined(__FMA__)
    return reinterpret_cast<VF>(
        _mm_fmadd_ps(reinterpret_cast<__m128>(a), reinterpret_cast<__m128>(b), reinterpret_cast<__m128>(c)));
#elif defined(__ARM_NEON) && defined(__ARM_FEATURE_FMA)
    return reinterpret_cast<VF>(vfmaq_f32(reinterpret_cast<float32x4_t>(c), reinterpret_cast<float32x4_t>(a),
                                          reinterpret_cast<float32x4_t>(b)));
#else
    return VF{std::fma(a[0], b[0], c[0]), std::fma(a[1], b[1], c[1]), std::fma(a[2], b[2], c[2]),
              std::fma(a[3], b[3], c[3])};
#endif
}

#if defined(__SSSE3__)
/// maddubs: see PackedIntAvx512.cpp (8-bit codes as q − 128, x's sign moved onto them).
template <int B>
constexpr int dotOffset()
{
    return B == 8 ? 128 : 0;
}
template <int B>
inline VU dot4(VU acc, VU codes, VU x4)
{
    __m128i c = reinterpret_cast<__m128i>(codes), x = reinterpret_cast<__m128i>(x4);
    if constexpr (B == 8) {
        const __m128i w = _mm_xor_si128(c, _mm_set1_epi8(char(0x80)));
        x = _mm_sign_epi8(x, w);
        c = _mm_abs_epi8(w);
    }
    const __m128i p = _mm_madd_epi16(_mm_maddubs_epi16(c, x), _mm_set1_epi16(1));
    return acc + reinterpret_cast<VU>(p);
}
#else
template <int B>
constexpr int dotOffset()
{
    return 0;
}
/// Byte by byte in 32-bit lanes: x's byte k sign-extended (shifted to the top, then arithmetic
/// shift down), times the code's byte k.
template <int B>
inline VU dot4(VU acc, VU codes, VU x4)
{
    // Each product fits in int32; the sums wrap as unsigned (the exact result fits, see PackedInt.h).
    acc += reinterpret_cast<VU>(reinterpret_cast<VI>(codes & 0xffu) * (reinterpret_cast<VI>(x4 << 24) >> 24));
    acc += reinterpret_cast<VU>(reinterpret_cast<VI>((codes >> 8) & 0xffu) *
                                (reinterpret_cast<VI>(x4 << 16) >> 24));
    acc += reinterpret_cast<VU>(reinterpret_cast<VI>((codes >> 16) & 0xffu) *
                                (reinterpret_cast<VI>(x4 << 8) >> 24));
    acc += reinterpret_cast<VU>(reinterpret_cast<VI>(codes >> 24) * (reinterpret_cast<VI>(x4) >> 24));
    return acc;
}
#endif

template <int I>
inline VU middleByte(VU v)
{
#if defined(__SSSE3__)
    constexpr std::uint32_t z = 0x80808000u; // pshufb: see PackedIntAvx512.cpp
    const VU control = VU{z | I, z | (4 + I), z | (8 + I), z | (12 + I)};
    return reinterpret_cast<VU>(
        _mm_shuffle_epi8(reinterpret_cast<__m128i>(v), reinterpret_cast<__m128i>(control)));
#else
    return (v >> (8 * I)) & 0xffu;
#endif
}

#include "kernels/PackedIntLanes.inc"
#undef QS_PI_TARGET
} // namespace vec128

void floatRowsVec128(const KernelArgs& a)
{
    vec128::rowsImpl<false>(a);
}
void int8RowsVec128(const KernelArgs& a)
{
    vec128::rowsImpl<true>(a);
}

} // namespace qs::packedint
