#pragma once

#include <cstdint>
#include <type_traits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

/// Helpers of the kernels of the table formats (kernels/E8Lattice, kernels/AdditiveCodes, SqueezeLLM's
/// lookups in model/PackedLinear and spec/QuantizedTensor): the decode step's accumulators live in
/// registers, one per token, so the token count is a template parameter; a row codebook's levels live in
/// registers too.
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

/// A codebook of up to 16 levels (SqueezeLLM's row codebook) held in two registers, 8 codes looked up at a
/// time by register permutes: the decoded tiles and the decode step share it.
class RegisterLevels
{
public:
    /// The first `entries` (at most 16) values of `book`; the rest zero.
    RegisterLevels(const float* book, std::int64_t entries)
    {
        alignas(32) float table[16] = {};
        for (std::int64_t i = 0; i < entries && i < 16; ++i)
            table[i] = book[i];
        m_low = _mm256_load_ps(table);
        m_high = _mm256_load_ps(table + 8);
        m_sixteen = entries > 8;
    }
    /// The levels of codes[0 … 7] (each below the entry count).
    __m256 lookup(const std::uint8_t* codes) const
    {
        const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes)));
        const __m256 v = _mm256_permutevar8x32_ps(m_low, idx);
        if (!m_sixteen)
            return v;
        // Entries 8–15 where bit 3 is set (moved to the sign bit for the blend).
        return _mm256_blendv_ps(v, _mm256_permutevar8x32_ps(m_high, idx),
                                _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
    }

private:
    __m256 m_low, m_high;
    bool m_sixteen = false;
};
#endif

} // namespace qs::kernels
