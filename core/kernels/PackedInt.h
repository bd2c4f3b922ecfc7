#pragma once

#include "kernels/SimdVariant.h"

#include <cstdint>
#include <vector>

namespace qs {

/// Integer weight matrices kept packed (2 … 8 bits a weight) and multiplied in that form: the
/// layers of RTN, GPTQ (act-order included), AWQ, SmoothQuant, W8A8 and LLM.int8 run from these
/// bytes instead of from a dequantized f32 copy. Stateless row-range kernels, no threads: the
/// caller splits output rows over its threads (results do not depend on the split, nor on how
/// many tokens one call holds). Split at multiples of kPackedTileRows: a range that cuts a tile
/// computes the whole tile and keeps its rows.
///
/// Layout (kernel-internal; unpackIntCodes gives the plain codes back):
/// - Columns are taken in group order (columnOrder, for act-order) and each group is padded with
///   zero codes to a multiple of kPackedChunkCols = 32 columns; rows are padded to a multiple of
///   kPackedTileRows = 16. The padding is the only storage beyond `bits` bits a weight (none for
///   groups of 32·k columns and rows of 16·k, only the row/column tail otherwise).
/// - codes: tiles of 16 rows, each a run of 32-column chunks; a chunk is `bits` 32-bit words per
///   row, stored word-major with the 16 rows of the tile side by side ([word][row], 64·bits
///   bytes), so one vector load brings the same word of 16 rows (rows are SIMD lanes).
/// - The bits of a code are split into planes of 8, 4, 2 or 1 bits (8 = 8; 7 = 4+2+1; 6 = 4+2;
///   5 = 4+1; 4 = 4; 3 = 2+1; 2 = 2; low plane first), plane p taking p consecutive words of the
///   chunk. In a plane of width p the byte i (0…3) of its word k holds 8/p fields; field j holds
///   the plane's bits of column 4·(k·8/p + j) + i. So one shift and mask gives four consecutive
///   columns of 16 rows as bytes (the int8 dot product's operand), and a column is one byte.
/// - scales, zeros: [rowTile][group][16 rows] (padding rows hold 0); per-tensor parameters are
///   expanded to one per row at pack time.
inline constexpr int kPackedTileRows = 16;
inline constexpr int kPackedChunkCols = 32;

/// Integer codes of a weight [rows, cols] in the kernel layout above, with what reconstructs
/// them: w[r,c] = (q[r,c] - zero[r,g(c)]) * scale[r,g(c)].
struct PackedIntMatrix
{
    int bits = 4; ///< 2..8
    std::int64_t rows = 0, cols = 0;
    std::int64_t groupLength = 0;          ///< columns per group (cols for per-channel and per-tensor)
    std::vector<std::int32_t> columnOrder; ///< act-order: input columns in group order; empty = identity
    std::vector<std::uint8_t> codes;       ///< the layout above
    std::vector<float> scales, zeros;      ///< [rowTiles, groups, 16]; zeros may be fractional

    std::int64_t groups() const { return groupLength > 0 ? (cols + groupLength - 1) / groupLength : 0; }
    std::int64_t rowTiles() const { return (rows + kPackedTileRows - 1) / kPackedTileRows; }
    std::int64_t chunksPerGroup() const { return (groupLength + kPackedChunkCols - 1) / kPackedChunkCols; }
    std::int64_t chunksPerRow() const; ///< over all groups, the last one padded only to its own length
    std::int64_t paddedCols() const { return chunksPerRow() * kPackedChunkCols; }
    std::uint64_t bytes() const; ///< memory the packed form holds (codes, scales, zeros, columnOrder)
};

/// Packs `codes` [rows, cols] (one code per byte, original column order, each < 2^bits).
/// groupLength: 0 = per-tensor (scales and zeros hold one value each), else columns per group
/// (>= cols: per-channel); scales and zeros are [rows, groups] with groups = ceil(cols /
/// groupLength); zeros == nullptr means all zero. groupIndex: [cols] the group of each column
/// (GPTQ act-order g_idx) or nullptr for col / groupLength; group g must hold exactly as many
/// columns as col / groupLength gives it. Throws qs::Error on bad sizes, codes out of range,
/// non-finite scales or zeros, or a g_idx out of range or with unequal groups.
PackedIntMatrix packIntMatrix(int bits, std::int64_t rows, std::int64_t cols, std::int64_t groupLength,
                              const std::uint8_t* codes, const float* scales, const float* zeros,
                              const std::int32_t* groupIndex);
/// packIntMatrix in two steps, for callers that spread the rows over threads: packIntLayout sizes the
/// matrix and places its scales, zeros and column order (every code 0; the same checks but the codes'),
/// then packIntCodeRows packs rows [r0, r1) from codes [(r1 - r0), cols]. Each row's words are its own, so
/// disjoint row ranges may be packed at once; the result is packIntMatrix's byte for byte.
PackedIntMatrix packIntLayout(int bits, std::int64_t rows, std::int64_t cols, std::int64_t groupLength,
                              const float* scales, const float* zeros, const std::int32_t* groupIndex);
void packIntCodeRows(PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const std::uint8_t* codes);

/// The codes back, [rows, cols] one per byte in the original column order (checkpoints are saved
/// from this).
std::vector<std::uint8_t> unpackIntCodes(const PackedIntMatrix& m);
/// Rows [r0, r1) of the codes into out [(r1 - r0), cols], one per byte in the original column
/// order (a row range at a time, so a reader never needs the whole matrix unpacked). Throws
/// qs::Error on a bad range.
void unpackIntCodeRows(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, std::uint8_t* out);
/// Whether vectorWords2 can read the matrix: 2-bit codes in their column order (no act-order, one group or
/// groups of whole chunks) and whole vectors of 8 (cols a multiple of 8).
bool hasVectorWords2(const PackedIntMatrix& m);
/// Row `row`'s vectors of 8 two-bit codes straight from the packed words: out[v] (cols / 8 of them) holds
/// code c_k of columns 8v + k at bits 2k, the word a QuIP# E8P code or an AQLM group at 2 bits a weight is
/// (kernels/E8Lattice.h, AdditiveCodes.h). No byte per code is written. Requires hasVectorWords2(m) and a
/// row in range (unchecked: the decode loop's inner step).
void vectorWords2(const PackedIntMatrix& m, std::int64_t row, std::uint16_t* out);

/// scale[r, g] and zero[r, g] as packIntMatrix took them (per-tensor ones expanded), [rows, groups].
std::vector<float> unpackIntScales(const PackedIntMatrix& m);
std::vector<float> unpackIntZeros(const PackedIntMatrix& m);

/// y[t*ldy + r] = Σ_c x[t*cols + c] · w[r,c] for r in [r0, r1), t in [0, n); x in the original
/// column order, f32. Per row and token, in every variant: for each group g, acc = Σ q·x as a
/// chain of f32 FMAs over the group's columns in order, then y = fma(-(s·z), Σx_g, fma(s, acc,
/// y)) with Σx_g the group's input sum (rounded from double). So every variant gives the same
/// bits, whatever the split of rows and tokens. Throws qs::Error on bad ranges.
/// The variant-free form runs packedIntVariant().
void packedIntMatMul(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const float* x,
                     std::int64_t n, float* y, std::int64_t ldy);
void packedIntMatMul(SimdVariant v, const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1,
                     const float* x, std::int64_t n, float* y, std::int64_t ldy);

/// Activations quantized per token to symmetric int8 exactly as fakeQuantizeActivations does it
/// (qmax 127, scale = amax / 127, q = nearbyint(x · (1/scale))); q · scale is its value.
struct Int8Activations
{
    std::int64_t n = 0, cols = 0;
    std::vector<std::int8_t> q; ///< [n, cols], original column order
    std::vector<float> scale;   ///< [n]; 0 for an all-zero token
};
/// Columns with skip[c] != 0 (LLM.int8 outliers) get q = 0 and do not count towards amax; skip
/// may be nullptr. A NaN input gives q = 0 (fake quantization would keep it).
void quantizeActivationsInt8(const float* x, std::int64_t n, std::int64_t cols, const char* skip,
                             Int8Activations& out);

/// y[t*ldy + r] = scale_x[t] · Σ_g scale[r,g] · Σ_{c∈g} q_x[t,c] · (q[r,c] − zero[r,g]), with the
/// inner sums in int32 (int8 × u8 dot products) and float only per group:
/// D = fma(−(z − ẑ), Σq_x, float(Σ q_x·(q − ẑ))), ẑ = nearbyint(z); y = scale_x · Σ_g fma(s, D, ·).
/// Integer parts are exact in every variant and the float steps are the same, so every variant
/// gives the same bits. Groups must hold at most 65536 columns (int32 sums). Throws qs::Error on
/// bad ranges or shapes.
void packedIntMatMulInt8(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const Int8Activations& x,
                         float* y, std::int64_t ldy);
void packedIntMatMulInt8(SimdVariant v, const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1,
                         const Int8Activations& x, float* y, std::int64_t ldy);

/// How the int8 dot products run inside a variant: VNNI's vpdpbusd (AVX512-VNNI for avx512,
/// AVX-VNNI for avx2) or the pairwise maddubs of AVX2/SSSE3. Auto takes VNNI where the CPU has it
/// (measured faster). Tests and benchmarks force each.
enum class Int8Dot { Auto, Maddubs, Vnni };
bool int8DotSupported(SimdVariant v, Int8Dot dot);
void packedIntMatMulInt8(SimdVariant v, Int8Dot dot, const PackedIntMatrix& m, std::int64_t r0,
                         std::int64_t r1, const Int8Activations& x, float* y, std::int64_t ldy);

/// Inputs prepared for one product: gathered into the matrix's column order (act-order) and
/// padding, cut into the token pieces one variant's kernels read, with the per-group input sums
/// the zero points need. The calls above prepare per call, which costs O(n · cols): a caller that
/// splits rows into many ranges prepares once and passes this to each range instead. It fits
/// every matrix of the same cols, groupLength and columnOrder (q/k/v of one GPTQ block share
/// theirs); only the shape is checked, not the order itself. The layout is the kernels' own.
struct PackedIntInput
{
    SimdVariant variant = SimdVariant::Scalar;
    bool int8 = false;
    std::int64_t n = 0, cols = 0, groupLength = 0, paddedCols = 0;
    bool actOrder = false;           ///< prepared for a matrix with a columnOrder
    std::vector<float> x;            ///< f32 inputs [n, paddedCols] in pieces
    std::vector<float> sums;         ///< f32: Σx per [token, group]
    std::vector<std::uint32_t> xq;   ///< int8 inputs [n, paddedCols / 4] words of four, in pieces
    std::vector<std::int32_t> qsums; ///< int8: Σq per [token, group]
    std::vector<float> scales;       ///< int8: per token
};
PackedIntInput preparePackedIntInput(SimdVariant v, const PackedIntMatrix& m, const float* x, std::int64_t n);
PackedIntInput preparePackedIntInput(SimdVariant v, const PackedIntMatrix& m, const Int8Activations& x);
/// The product of rows [r0, r1) with prepared inputs, in the variant they were prepared for (int8
/// inputs with `dot`). Same results as the calls above; checks in O(1).
void packedIntMatMul(const PackedIntMatrix& m, std::int64_t r0, std::int64_t r1, const PackedIntInput& x,
                     float* y, std::int64_t ldy, Int8Dot dot = Int8Dot::Auto);

/// The variant the variant-free calls run: QUANTSCOPE_KERNELS when set, else the widest this CPU
/// supports (avx512 pays here: rows are lanes, no lane is wasted).
SimdVariant packedIntVariant();

} // namespace qs
