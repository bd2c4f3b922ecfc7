#pragma once

#include "kernels/TokenCount.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace qs::aq {

/// AQLM's codes as QuantScope stores them (Egiazarian et al. 2024, "Extreme Compression of Large Language
/// Models via Additive Quantization"). A row is cut into groups of kDim = 8 weights; a group is the sum of
/// one entry of each of the layer's M codebooks (2^B entries of 8 values), times the row's scale. At `bits`
/// bits a weight a group has 8·bits bits, which hold its M codes of B bits each (M·B = 8·bits: 2x8 or 1x16 at
/// 2 bits, 3x8 at 3, 4x8 or 2x16 at 4). The group's bit word w (bit i of code m is bit m·B + i of w) is
/// spread over the group's 8 chunks of `bits` bits, chunk k holding bits k·bits … k·bits + bits − 1, so the
/// codes travel through the same `bits`-bit packed stream as every other integer method.
///
/// A row whose length is not a multiple of 8 ends in a piece of 1–7 values, each its own chunk: a level of
/// the symmetric uniform grid of 2^bits levels with the step that suits unit Gaussian values
/// (gaussianLevel), times the row's scale.
inline constexpr int kDim = 8;

/// The step of the symmetric uniform grid of 2^bits levels (2–4) with the least mean squared error on unit
/// Gaussian values (Max 1960, "Quantizing for minimum distortion").
inline constexpr float kGaussianUniformStep[5] = {0, 0, 0.9957f, 0.5860f, 0.3352f};

/// The level of the symmetric uniform grid of 2^bits levels and step `step` nearest to v, and its value
/// into `value`.
inline std::uint8_t gaussianLevel(int bits, float step, float v, float& value)
{
    const float mid = float((1 << bits) - 1) / 2;
    const float q = std::clamp(std::nearbyint(v / step + mid), 0.0f, float((1 << bits) - 1));
    value = (q - mid) * step;
    return std::uint8_t(q);
}
/// The value of level `q` of that grid.
inline float gaussianLevelValue(int bits, float step, std::uint8_t q)
{
    return (float(q) - float((1 << bits) - 1) / 2) * step;
}

namespace detail {
/// gatherFields' masks: the low `Bits` bits of every byte, and after step s (lanes of 2s bytes) the low
/// 2·Bits·s bits of every lane.
template <int Bits>
constexpr std::uint64_t lowBitsOfBytes()
{
    std::uint64_t low = 0;
    for (int i = 0; i < 8; ++i)
        low |= ((std::uint64_t(1) << Bits) - 1) << (8 * i);
    return low;
}
template <int Bits, int S>
constexpr std::uint64_t laneMask()
{
    constexpr int width = 2 * Bits * S;
    const std::uint64_t field = width >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << width) - 1;
    std::uint64_t mask = 0;
    for (int at = 0; at < 64; at += 16 * S)
        mask |= field << at;
    return mask;
}
} // namespace detail

/// The fields of `Bits` bits held in the low bits of the 8 bytes of w, packed together (byte i's field at bit
/// Bits·i): the chunk bytes of a vector of 8 as one word, in three shift-and-mask steps (constant masks).
template <int Bits>
constexpr std::uint64_t gatherFields(std::uint64_t w)
{
    w &= detail::lowBitsOfBytes<Bits>();
    w = (w | (w >> (8 - Bits))) & detail::laneMask<Bits, 1>(); // lanes of 2 bytes: the upper field moves down
    w = (w | (w >> (2 * (8 - Bits)))) & detail::laneMask<Bits, 2>();
    w = (w | (w >> (4 * (8 - Bits)))) & detail::laneMask<Bits, 4>();
    return w;
}

/// The M codes of one group from its 8 chunks.
inline void unpackGroup(int bits, int codebookBits, int books, const std::uint8_t* chunks,
                        std::uint32_t* codes)
{
    std::uint64_t word = 0;
    for (int k = 0; k < kDim; ++k)
        word |= std::uint64_t(chunks[k]) << (k * bits);
    const std::uint64_t mask = (std::uint64_t(1) << codebookBits) - 1;
    for (int m = 0; m < books; ++m)
        codes[m] = std::uint32_t((word >> (m * codebookBits)) & mask);
}

/// The 8 chunks of one group from its M codes.
inline void packGroup(int bits, int codebookBits, int books, const std::uint32_t* codes, std::uint8_t* chunks)
{
    std::uint64_t word = 0;
    for (int m = 0; m < books; ++m)
        word |= std::uint64_t(codes[m]) << (m * codebookBits);
    const std::uint64_t mask = (std::uint64_t(1) << bits) - 1;
    for (int k = 0; k < kDim; ++k)
        chunks[k] = std::uint8_t((word >> (k * bits)) & mask);
}

#if defined(__AVX2__) && defined(__FMA__)
namespace detail {
/// A group's codebook entries summed, book 0 first (decodeRow's order), from its gathered bit word.
inline __m256 groupSum(const float* codebooks, std::int64_t entries, int books, int codebookBits,
                       std::uint64_t word)
{
    const std::uint64_t mask = (std::uint64_t(1) << codebookBits) - 1;
    __m256 v = _mm256_loadu_ps(codebooks + std::int64_t(word & mask) * kDim);
    for (int m = 1; m < books; ++m)
        v = _mm256_add_ps(v, _mm256_loadu_ps(codebooks + (std::int64_t(m) * entries +
                                                          std::int64_t((word >> (m * codebookBits)) & mask)) *
                                                             kDim));
    return v;
}
} // namespace detail
#endif

/// A row of `cols` values (divided by the row's scale) from its chunks: each group the sum of its codebook
/// entries (`codebooks`: M books of 2^B entries of 8 values, book after book), the tail by gaussianLevel.
inline void decodeRow(int bits, int codebookBits, int books, const float* codebooks,
                      const std::uint8_t* chunks, std::int64_t cols, float* out)
{
    const std::int64_t entries = std::int64_t(1) << codebookBits;
    std::uint32_t codes[kDim];
    std::int64_t j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (bits >= 2 && bits <= 4) { // the same sums in the same order, a group at a time
        for (; j + kDim <= cols; j += kDim) {
            std::uint64_t w;
            std::memcpy(&w, chunks + j, 8);
            const std::uint64_t word = bits == 2   ? gatherFields<2>(w)
                                       : bits == 3 ? gatherFields<3>(w)
                                                   : gatherFields<4>(w);
            _mm256_storeu_ps(out + j, detail::groupSum(codebooks, entries, books, codebookBits, word));
        }
    }
#endif
    for (; j + kDim <= cols; j += kDim) {
        unpackGroup(bits, codebookBits, books, chunks + j, codes);
        float v[kDim] = {};
        for (int m = 0; m < books; ++m) {
            const float* e = codebooks + (std::int64_t(m) * entries + codes[m]) * kDim;
            for (int k = 0; k < kDim; ++k)
                v[k] += e[k];
        }
        std::copy(v, v + kDim, out + j);
    }
    for (; j < cols; ++j)
        out[j] = gaussianLevelValue(bits, kGaussianUniformStep[bits], chunks[j]);
}

#if defined(__AVX2__) && defined(__FMA__)
namespace detail {
/// dotRow's whole groups with AVX2 for `Bits` bits and N tokens (accumulators in registers); returns the
/// columns done.
template <int Bits, int N>
std::int64_t dotGroups(int codebookBits, int books, const float* codebooks, const std::uint8_t* chunks,
                       std::int64_t cols, const float* x, std::int64_t ldx, float* acc)
{
    const std::int64_t entries = std::int64_t(1) << codebookBits;
    __m256 lanes[N];
    for (int t = 0; t < N; ++t)
        lanes[t] = _mm256_setzero_ps();
    std::int64_t j = 0;
    for (; j + kDim <= cols; j += kDim) {
        std::uint64_t w;
        std::memcpy(&w, chunks + j, 8);
        const std::uint64_t word = gatherFields<Bits>(w);
        const __m256 v = groupSum(codebooks, entries, books, codebookBits, word);
        for (int t = 0; t < N; ++t)
            lanes[t] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + t * ldx + j), lanes[t]);
    }
    for (int t = 0; t < N; ++t)
        acc[t] += kernels::horizontalSum(lanes[t]);
    return j;
}

template <int Bits>
std::int64_t dotGroups(std::int64_t n, int codebookBits, int books, const float* codebooks,
                       const std::uint8_t* chunks, std::int64_t cols, const float* x, std::int64_t ldx,
                       float* acc)
{
    return kernels::withTokenCount(n, [&](auto tokens) {
        return dotGroups<Bits, tokens()>(codebookBits, books, codebooks, chunks, cols, x, ldx, acc);
    });
}
} // namespace detail
#endif

/// The row's chunks times n ≤ 8 inputs: acc[t] += Σ_j v_j · x[t·ldx + j], v the row as decodeRow gives it
/// (divided by the row's scale). Each group's sum of codebook entries is formed in registers and never
/// stored: the decode path of the layer. `portable` takes the path without SIMD intrinsics (for tests).
inline void dotRow(int bits, int codebookBits, int books, const float* codebooks, const std::uint8_t* chunks,
                   std::int64_t cols, const float* x, std::int64_t n, std::int64_t ldx, float* acc,
                   bool portable = false)
{
    (void)portable; // without AVX2 every call is portable
    if (n > 8) {    // blocks of 8 tokens
        for (std::int64_t t0 = 0; t0 < n; t0 += 8)
            dotRow(bits, codebookBits, books, codebooks, chunks, cols, x + t0 * ldx,
                   std::min<std::int64_t>(8, n - t0), ldx, acc + t0, portable);
        return;
    }
#if defined(__AVX2__) && defined(__FMA__)
    if (!portable && n >= 1 && n <= 8) {
        const std::int64_t j =
            bits == 2   ? detail::dotGroups<2>(n, codebookBits, books, codebooks, chunks, cols, x, ldx, acc)
            : bits == 3 ? detail::dotGroups<3>(n, codebookBits, books, codebooks, chunks, cols, x, ldx, acc)
                        : detail::dotGroups<4>(n, codebookBits, books, codebooks, chunks, cols, x, ldx, acc);
        for (std::int64_t t = 0; t < n; ++t) // the tail piece
            for (std::int64_t i = j; i < cols; ++i)
                acc[t] += gaussianLevelValue(bits, kGaussianUniformStep[bits], chunks[i]) * x[t * ldx + i];
        return;
    }
#endif
    const std::int64_t entries = std::int64_t(1) << codebookBits;
    const std::uint64_t mask = (std::uint64_t(1) << codebookBits) - 1;
    float lanes[8][kDim] = {};
    std::int64_t j = 0;
    for (; j + kDim <= cols; j += kDim) {
        std::uint64_t word = 0;
        for (int k = 0; k < kDim; ++k)
            word |= std::uint64_t(chunks[j + k]) << (k * bits);
        float v[kDim] = {};
        for (int m = 0; m < books; ++m) {
            const float* e =
                codebooks +
                (std::int64_t(m) * entries + std::int64_t((word >> (m * codebookBits)) & mask)) * kDim;
            for (int k = 0; k < kDim; ++k)
                v[k] += e[k];
        }
        for (std::int64_t t = 0; t < n; ++t) {
            const float* xt = x + t * ldx + j;
            for (int k = 0; k < kDim; ++k)
                lanes[t][k] += v[k] * xt[k];
        }
    }
    for (std::int64_t t = 0; t < n; ++t) {
        float sum = 0;
        for (int k = 0; k < kDim; ++k)
            sum += lanes[t][k];
        for (std::int64_t i = j; i < cols; ++i)
            sum += gaussianLevelValue(bits, kGaussianUniformStep[bits], chunks[i]) * x[t * ldx + i];
        acc[t] += sum;
    }
}

/// dotRow at 2 bits a weight from the groups' 16-bit words (PackedInt's vectorWords2: M·B = 16), `groups` of
/// them: acc[t] += Σ_g (Σ_m C_m[code_m]) · x[t·ldx + 8g …]. `portable` as dotRow's.
inline void dotWords(int codebookBits, int books, const float* codebooks, const std::uint16_t* words,
                     std::int64_t groups, const float* x, std::int64_t n, std::int64_t ldx, float* acc,
                     bool portable = false)
{
    (void)portable; // without AVX2 every call is portable
    if (n > 8) {    // blocks of 8 tokens
        for (std::int64_t t0 = 0; t0 < n; t0 += 8)
            dotWords(codebookBits, books, codebooks, words, groups, x + t0 * ldx,
                     std::min<std::int64_t>(8, n - t0), ldx, acc + t0, portable);
        return;
    }
    const std::int64_t entries = std::int64_t(1) << codebookBits;
#if defined(__AVX2__) && defined(__FMA__)
    if (!portable && n >= 1 && n <= 8) {
        kernels::withTokenCount(n, [&](auto tokens) {
            constexpr int N = tokens();
            __m256 lanes[N];
            for (int t = 0; t < N; ++t)
                lanes[t] = _mm256_setzero_ps();
            for (std::int64_t g = 0; g < groups; ++g) {
                const __m256 v = detail::groupSum(codebooks, entries, books, codebookBits, words[g]);
                for (int t = 0; t < N; ++t)
                    lanes[t] = _mm256_fmadd_ps(v, _mm256_loadu_ps(x + t * ldx + g * kDim), lanes[t]);
            }
            for (int t = 0; t < N; ++t)
                acc[t] += kernels::horizontalSum(lanes[t]);
        });
        return;
    }
#endif
    const std::uint64_t mask = (std::uint64_t(1) << codebookBits) - 1;
    for (std::int64_t t = 0; t < n; ++t) {
        float lanes[kDim] = {};
        for (std::int64_t g = 0; g < groups; ++g) {
            float v[kDim] = {};
            for (int m = 0; m < books; ++m) {
                const float* e = codebooks + (std::int64_t(m) * entries +
                                              std::int64_t((words[g] >> (m * codebookBits)) & mask)) *
                                                 kDim;
                for (int k = 0; k < kDim; ++k)
                    v[k] += e[k];
            }
            const float* xt = x + t * ldx + g * kDim;
            for (int k = 0; k < kDim; ++k)
                lanes[k] += v[k] * xt[k];
        }
        float sum = 0;
        for (float l : lanes)
            sum += l;
        acc[t] += sum;
    }
}

} // namespace qs::aq
