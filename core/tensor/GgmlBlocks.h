#pragma once

// Storage layout of ggml's block quantization formats, exactly as GGUF files hold them
// (little-endian, no padding). Half-precision fields are kept as raw IEEE binary16 bits
// (uint16_t); kernels/Convert.h converts them. Every struct is asserted against the type table's
// bytes-per-block, so a layout and the table cannot drift apart.

#include "tensor/GgmlTypes.h"

#include <cstdint>

namespace qs::ggml {

inline constexpr int kLegacyBlock = 32;      ///< elements per block of Q4_0 … Q8_0 and IQ4_NL
inline constexpr int kSuperBlock = 256;      ///< elements per super-block of the k-quants (QK_K)
inline constexpr int kPackedScaleBytes = 12; ///< 6-bit scale/min pairs of Q4_K/Q5_K, packed

/// 4-bit symmetric: value = d · (q − 8).
struct BlockQ4_0
{
    std::uint16_t d;
    std::uint8_t qs[kLegacyBlock / 2]; ///< element j in the low nibble of byte j, j+16 in the high one
};

/// 4-bit with offset: value = d · q + m.
struct BlockQ4_1
{
    std::uint16_t d;
    std::uint16_t m;
    std::uint8_t qs[kLegacyBlock / 2];
};

/// 5-bit symmetric: value = d · (q − 16); bit 4 of element j is bit j of qh.
struct BlockQ5_0
{
    std::uint16_t d;
    std::uint8_t qh[4];
    std::uint8_t qs[kLegacyBlock / 2];
};

/// 5-bit with offset: value = d · q + m.
struct BlockQ5_1
{
    std::uint16_t d;
    std::uint16_t m;
    std::uint8_t qh[4];
    std::uint8_t qs[kLegacyBlock / 2];
};

/// 8-bit symmetric: value = d · q.
struct BlockQ8_0
{
    std::uint16_t d;
    std::int8_t qs[kLegacyBlock];
};

/// 8-bit symmetric with the block sum, the activation rows of Q4_1/Q5_1 dot products: value = d · q,
/// s = d · Σq (both binary16).
struct BlockQ8_1
{
    std::uint16_t d;
    std::uint16_t s;
    std::int8_t qs[kLegacyBlock];
};

/// 2-bit k-quant: 16 groups of 16, each with a 4-bit scale (low nibble) and 4-bit min (high).
struct BlockQ2_K
{
    std::uint8_t scales[kSuperBlock / 16];
    std::uint8_t qs[kSuperBlock / 4];
    std::uint16_t d;
    std::uint16_t dmin;
};

/// 3-bit k-quant: 2 low bits in qs, the high bit in hmask, 16 signed 6-bit group scales.
struct BlockQ3_K
{
    std::uint8_t hmask[kSuperBlock / 8];
    std::uint8_t qs[kSuperBlock / 4];
    std::uint8_t scales[12];
    std::uint16_t d;
};

/// 4-bit k-quant: 8 groups of 32 with 6-bit scale and min each.
struct BlockQ4_K
{
    std::uint16_t d;
    std::uint16_t dmin;
    std::uint8_t scales[kPackedScaleBytes];
    std::uint8_t qs[kSuperBlock / 2];
};

/// 5-bit k-quant: as Q4_K plus one high bit per element.
struct BlockQ5_K
{
    std::uint16_t d;
    std::uint16_t dmin;
    std::uint8_t scales[kPackedScaleBytes];
    std::uint8_t qh[kSuperBlock / 8];
    std::uint8_t qs[kSuperBlock / 2];
};

/// 6-bit k-quant: 16 groups of 16 with signed 8-bit scales.
struct BlockQ6_K
{
    std::uint8_t ql[kSuperBlock / 2];
    std::uint8_t qh[kSuperBlock / 4];
    std::int8_t scales[kSuperBlock / 16];
    std::uint16_t d;
};

/// 8-bit intermediate format for k-quant dot products (f32 scale, group sums).
struct BlockQ8_K
{
    float d;
    std::int8_t qs[kSuperBlock];
    std::int16_t bsums[kSuperBlock / 16];
};

/// 4-bit non-linear: value = d · kIq4nlValues[q].
struct BlockIQ4_NL
{
    std::uint16_t d;
    std::uint8_t qs[kLegacyBlock / 2];
};

/// 4-bit non-linear in super-blocks with 6-bit group scales (low 4 bits in scalesL, high 2 in scalesH).
struct BlockIQ4_XS
{
    std::uint16_t d;
    std::uint16_t scalesH;
    std::uint8_t scalesL[kSuperBlock / 64];
    std::uint8_t qs[kSuperBlock / 2];
};

template <typename Block>
constexpr bool matchesTable(GgmlType t, int blockSize)
{
    return int(sizeof(Block)) == ggmlTypeInfo(t).typeSize && blockSize == ggmlTypeInfo(t).blockSize;
}

static_assert(sizeof(BlockQ4_0) == 18 && matchesTable<BlockQ4_0>(GgmlType::Q4_0, kLegacyBlock));
static_assert(sizeof(BlockQ4_1) == 20 && matchesTable<BlockQ4_1>(GgmlType::Q4_1, kLegacyBlock));
static_assert(sizeof(BlockQ5_0) == 22 && matchesTable<BlockQ5_0>(GgmlType::Q5_0, kLegacyBlock));
static_assert(sizeof(BlockQ5_1) == 24 && matchesTable<BlockQ5_1>(GgmlType::Q5_1, kLegacyBlock));
static_assert(sizeof(BlockQ8_0) == 34 && matchesTable<BlockQ8_0>(GgmlType::Q8_0, kLegacyBlock));
static_assert(sizeof(BlockQ8_1) == 36 && matchesTable<BlockQ8_1>(GgmlType::Q8_1, kLegacyBlock));
static_assert(sizeof(BlockQ2_K) == 84 && matchesTable<BlockQ2_K>(GgmlType::Q2_K, kSuperBlock));
static_assert(sizeof(BlockQ3_K) == 110 && matchesTable<BlockQ3_K>(GgmlType::Q3_K, kSuperBlock));
static_assert(sizeof(BlockQ4_K) == 144 && matchesTable<BlockQ4_K>(GgmlType::Q4_K, kSuperBlock));
static_assert(sizeof(BlockQ5_K) == 176 && matchesTable<BlockQ5_K>(GgmlType::Q5_K, kSuperBlock));
static_assert(sizeof(BlockQ6_K) == 210 && matchesTable<BlockQ6_K>(GgmlType::Q6_K, kSuperBlock));
static_assert(sizeof(BlockQ8_K) == 292 && matchesTable<BlockQ8_K>(GgmlType::Q8_K, kSuperBlock));
static_assert(sizeof(BlockIQ4_NL) == 18 && matchesTable<BlockIQ4_NL>(GgmlType::IQ4_NL, kLegacyBlock));
static_assert(sizeof(BlockIQ4_XS) == 136 && matchesTable<BlockIQ4_XS>(GgmlType::IQ4_XS, kSuperBlock));

} // namespace qs::ggml
