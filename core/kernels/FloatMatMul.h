#pragma once

#include "kernels/SimdVariant.h"
#include "tensor/DType.h"

#include <cstdint>
#include <vector>

namespace qs {

/// Row tile of the float GEMM: callers splitting rows among threads cut at multiples of it, so results never
/// depend on the split. (Every output is in fact computed on its own, so any cut gives the same bytes; the
/// tile is the unit the kernel converts and caches, and cutting at it keeps the work per thread whole.)
inline constexpr std::int64_t kFloatMatMulRowTile = 64;

/// y[t*ldy + r] = Σ_c x[t*cols + c] · W[r, c] for r in [r0, r1), t in [0, n). W: rows of `cols` elements of
/// `dtype` (F32, F16 or BF16, little-endian, any alignment), row r at (const char*)w + r*cols*elementBytes,
/// used where it lies (a memory map): no f32 copy of W is made. Throws qs::Error for other dtypes and for bad
/// sizes (negative, r0 > r1, ldy < r1 when n > 1, null pointers with work to do). Stateless, owns no threads.
///
/// What the numbers depend on, for one variant: each y[t, r] is one dot product whose order of operations is
/// fixed by the variant alone (its lane width L: lane j sums the products of columns ≡ j mod L in column
/// order — fused multiply-adds in avx2/avx512, multiply then add in vec128 — a zero-padded last vector takes
/// the tail, then a fixed tree adds the lanes). So a result depends neither on r0/r1 (any cut, not only at
/// kFloatMatMulRowTile), nor on n (n = 1 gives the same bytes as any n > 1), nor on the other tokens.
/// Variants differ from each other and from the scalar twin within kFloatMatMulBudget.
///
/// Scratch: for n > 1 each thread keeps 384 KB (a function-local thread_local, allocated on its first such
/// call and reused by later ones) for the lane sums of up to 96 tokens × kFloatMatMulRowTile rows. W is read
/// where it lies, converted in registers. The caller's row range may be a tile or a whole share of the rows.
void floatMatMul(DType dtype, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                 const float* x, std::int64_t n, float* y, std::int64_t ldy);
/// The same with variant `v` (qs::Error when this CPU cannot run it). SimdVariant::Scalar is the
/// reference twin: one float accumulator per output, w·x rounded then added (no FMA), columns in order.
void floatMatMul(SimdVariant v, DType dtype, const void* w, std::int64_t cols, std::int64_t r0,
                 std::int64_t r1, const float* x, std::int64_t n, float* y, std::int64_t ldy);

/// The error budget of a variant against the scalar twin, per output: |y_v − y_scalar| ≤ kFloatMatMulBudget ·
/// (cols + 1) · Σ_c |x_c · W_c|. Both are dot products evaluated in float in some order; each is within
/// γ_cols = cols·2⁻²⁴/(1 − cols·2⁻²⁴) · Σ|x·W| of the exact value (Higham, Accuracy and Stability, §3.1), so
/// two of them are within twice that. Typical differences are far smaller (random rounding errors grow like
/// √cols, not cols).
inline constexpr double kFloatMatMulBudget = 2.0 / 16777216.0;

/// y[t*ldy + r] = Σ_c x[t*cols + c] · W[r, c] for BF16 weights W (as floatMatMul) and inputs that are bf16
/// values (llama.cpp's BF16 vec_dot rounds them so; other inputs are rounded to bf16, nearest even, first):
/// each product is exact in f32, so only the order of the additions is to choose, and it is vdpbf16ps's
/// (AVX512-BF16), twice the products per instruction of an f32 FMA. Per output: 16 lane sums; for each step
/// of 32 columns c0 = 0, 32, … lane j adds the product of column c0+2j+1, then that of c0+2j (a zero-padded
/// last step takes the tail); subnormal inputs and sums are flushed to zero (the instruction's DAZ/FTZ); then
/// the lane tree of floatMatMul. The same bytes for every row cut and every n. SimdVariant::Scalar is the
/// twin that does exactly this one lane at a time; Avx512 needs avx512bf16 (and keeps a 384 KB thread_local
/// scratch: lane sums as floatMatMul's); this overload packs the inputs (Bf16Inputs) on every call. Sizes and
/// errors as floatMatMul.
void floatMatMulBf16Inputs(SimdVariant v, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                           const float* x, std::int64_t n, float* y, std::int64_t ldy);
/// The same with the avx512 variant where floatMatMulBf16InputsFast(), else the scalar twin.
void floatMatMulBf16Inputs(const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1, const float* x,
                           std::int64_t n, float* y, std::int64_t ldy);
bool floatMatMulBf16InputsVariantSupported(SimdVariant v);

/// Tokens per panel of Bf16Inputs.
inline constexpr std::int64_t kBf16PanelTokens = 6;
/// Inputs rounded to bf16 once (nearest even, subnormals to zero, as the kernel reads them) for
/// floatMatMulBf16Inputs over many row ranges, in the kernel's layout: panels of kBf16PanelTokens tokens,
/// each over all columns in steps of 32 (token t, column c at ((t/6·steps + c/32)·6 + t%6)·32 + c%32),
/// zero-padded to whole steps and panels.
struct Bf16Inputs
{
    std::int64_t n = 0, cols = 0;
    std::vector<std::uint16_t> data;
};
/// Packs x [n, cols] into `out` (its buffer reused). qs::Error for bad sizes.
void packBf16Inputs(const float* x, std::int64_t n, std::int64_t cols, Bf16Inputs& out);
/// floatMatMulBf16Inputs over packed inputs: the same bytes as the float overload on the same values, without
/// rounding and repacking the inputs for every row range (callers split the rows in tiles).
void floatMatMulBf16Inputs(SimdVariant v, const void* w, std::int64_t r0, std::int64_t r1,
                           const Bf16Inputs& x, float* y, std::int64_t ldy);
/// The CPU has avx512bf16 and floatMatMulVariant() is avx512 (QUANTSCOPE_KERNELS may force narrower ones):
/// callers use floatMatMulBf16Inputs only then (the scalar twin is a reference, not a fast path).
bool floatMatMulBf16InputsFast();

/// Inputs for floatMatMulTiles, packed once for many row ranges: [n, cols] as bf16 planes in AMX B tiles
/// (16 tokens × 16 column pairs a tile; per block of 16 tokens, per step of 32 columns, per plane),
/// zero-padded to whole tiles. planes = 1: the inputs rounded to bf16 (nearest even, subnormals to zero), as
/// floatMatMulBf16Inputs reads them; planes = 3: three bf16 values whose sum is each input exactly (f32's 24
/// significant bits as 8 + 8 + 8; only parts below 2⁻¹²⁶ are lost).
struct TileInputs
{
    std::int64_t n = 0, cols = 0;
    int planes = 0;
    std::vector<std::uint16_t> data;
    std::size_t offset = 0; ///< where the 64-byte aligned tiles start in data
    const std::uint16_t* tiles() const { return data.data() + offset; }
};
/// Packs x [n, cols] into `out` (its buffer reused). qs::Error for bad sizes, planes other than 1 or 3, or
/// when !floatMatMulTilesSupported().
void packTileInputs(const float* x, std::int64_t n, std::int64_t cols, int planes, TileInputs& out);

/// y[t*ldy + r] = Σ_c x[t, c] · W[r, c] for r in [r0, r1), every token of x, on AMX tiles (tdpbf16ps), for
/// F16 or BF16 weights W (row r at (const char*)w + r*cols*2, used where it lies). F16 weights are split
/// into two bf16 planes (exactly), so every product of a weight plane and an input plane is exact; with
/// three input planes the result is x·W in f32 arithmetic, with one it is floatMatMulBf16Inputs's sum (bf16
/// inputs) in another order. The additions are the tile unit's: per output, 32-column steps in column order
/// (per step, the weight planes, then the input planes), each step's products summed inside the instruction
/// with at least f32's precision and subnormals flushed. So each output is a function of its row and its
/// token alone: the same bytes for any row cut, any thread count and any n — but not floatMatMul's bytes;
/// within kFloatMatMulTilesBudget of its scalar twin. Throws qs::Error as floatMatMul, and when
/// !floatMatMulTilesSupported(). Keeps a thread_local scratch (64 KB of weights, 4 KB per 32 tokens of
/// outputs).
void floatMatMulTiles(DType dtype, const void* w, std::int64_t r0, std::int64_t r1, const TileInputs& x,
                      float* y, std::int64_t ldy);
/// The CPU has AMX-BF16 and Linux granted this process the tile state.
bool floatMatMulTilesSupported();
/// floatMatMulTilesSupported() and no variant forced (QUANTSCOPE_KERNELS set to any variant runs that
/// variant's kernels, the tiles off): callers then run prefill through floatMatMulTiles.
bool floatMatMulTilesFast();
/// Tokens from which DenseLinear uses the tiles (below, a tile of 16 tokens would be mostly padding, and
/// the row-streaming kernels of floatMatMul run as fast).
inline constexpr std::int64_t kTileMinTokens = 16;
/// |y_tiles − y_scalar| ≤ kFloatMatMulTilesBudget · (cols + 1) · Σ_c |x_c · W_c| per output: y_scalar is the
/// scalar twin of floatMatMul (three input planes) or of floatMatMulBf16Inputs (one). Both sums add exact
/// products in float: the twin's error is within γ_cols of the exact sum, the tiles' within γ of the
/// number of partial products added (up to 6·cols for f16 weights, f32 inputs).
inline constexpr double kFloatMatMulTilesBudget = 8.0 / 16777216.0;

/// The variant floatMatMul(dtype, …) runs: QUANTSCOPE_KERNELS when set (activeSimdVariant()), otherwise the
/// widest this CPU runs. Unlike the ggml scale searches (SimdVariant.cpp), a dense dot product fills all 16
/// lanes of AVX-512, which doubles the FMA width over AVX2 for the prefill GEMM.
SimdVariant floatMatMulVariant();

} // namespace qs
