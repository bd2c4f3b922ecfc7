#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

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

/// A row of `cols` values (divided by the row's scale) from its chunks: each group the sum of its codebook
/// entries (`codebooks`: M books of 2^B entries of 8 values, book after book), the tail by gaussianLevel.
inline void decodeRow(int bits, int codebookBits, int books, const float* codebooks,
                      const std::uint8_t* chunks, std::int64_t cols, float* out)
{
    const std::int64_t entries = std::int64_t(1) << codebookBits;
    std::uint32_t codes[kDim];
    std::int64_t j = 0;
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

} // namespace qs::aq
