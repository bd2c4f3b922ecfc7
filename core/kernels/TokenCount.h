#pragma once

#include <cstdint>
#include <type_traits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

/// Helpers of the decode-step kernels of the table formats (kernels/E8Lattice, kernels/AdditiveCodes,
/// model/PackedLinear's SqueezeLLM lookup): their accumulators live in registers, one per token, so the
/// token count is a template parameter.
namespace qs::kernels {

/// f(std::integral_constant<int, N>{}) for N = n, 1 to 8 (more: 8; the callers take at most 8).
template <class F>
decltype(auto) withTokenCount(std::int64_t n, F&& f)
{
    switch (n) {
    case 1:
        return f(std::integral_constant<int, 1>{});
    case 2:
        return f(std::integral_constant<int, 2>{});
    case 3:
        return f(std::integral_constant<int, 3>{});
    case 4:
        return f(std::integral_constant<int, 4>{});
    case 5:
        return f(std::integral_constant<int, 5>{});
    case 6:
        return f(std::integral_constant<int, 6>{});
    case 7:
        return f(std::integral_constant<int, 7>{});
    default:
        return f(std::integral_constant<int, 8>{});
    }
}

#if defined(__AVX2__) && defined(__FMA__)
/// The sum of the 8 lanes of v.
inline float horizontalSum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif

} // namespace qs::kernels
