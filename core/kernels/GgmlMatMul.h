#pragma once

#include "kernels/SimdVariant.h"
#include "tensor/GgmlTypes.h"

#include <cstddef>
#include <cstdint>

namespace qs {

// Matrix products on ggml block formats in their packed form, as llama.cpp's CPU backend computes
// them: the activation rows are rounded to the weight type's vec_dot type (Q8_0, Q8_1 or Q8_K)
// and every weight block meets its activation block as an integer dot product, scaled by the two
// block scales (and the block minimum where the format stores one). The scalar variant is the
// truth: the block arithmetic of ggml's generic vec_dot, one row and token at a time. The SIMD
// variants tile rows × tokens and keep the unpacked weight in registers across the tokens; their
// integer parts are exact, only the order of the float sums differs (tests/tst_ggmlmatmul.cpp
// holds each type to a named budget). A result never depends on how rows are split among calls
// or how many tokens a call holds.

/// The activation row type a weight type's dot product takes (ggml's vec_dot_type: Q8_0 for
/// Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for Q2_K..Q6_K and IQ4_XS). Throws qs::Error
/// for a type without a kernel.
GgmlType ggmlActivationType(GgmlType weightType);

/// Whether ggmlMatMul has a kernel for this weight type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K,
/// Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS).
bool ggmlHasMatMul(GgmlType weightType);

/// Bytes of one activation row of `cols` values for this weight type.
std::size_t ggmlActivationRowBytes(GgmlType weightType, std::int64_t cols);

/// Quantizes token rows [t0, t1) of x ([*, cols] row-major f32) into xq (rows of
/// ggmlActivationRowBytes bytes, row t at xq + t·rowBytes) as ggml's CPU from_float for the
/// activation type does on x86 (AVX2 build): Q8_K as quantize_row_q8_K_ref (byte-identical to
/// ggmlQuantizeRows(Q8_K)); Q8_0 and Q8_1 as quantize_row_q8_0/_1, which multiply by 127/amax and
/// round half to even, where the reference (ggmlQuantizeRows(Q8_0)) multiplies by 1/(amax/127)
/// and rounds half away from zero: the two differ by one step on rare ties.
void ggmlQuantizeActivations(GgmlType weightType, const float* x, std::int64_t t0, std::int64_t t1,
                             std::int64_t cols, void* xq);
/// The same with a given variant: scalar and vec128 run the scalar loop, avx2 and avx512 its AVX2
/// twin (the same bytes: the same operations lane by lane). Throws qs::Error when this CPU cannot
/// run the variant.
void ggmlQuantizeActivations(SimdVariant variant, GgmlType weightType, const float* x, std::int64_t t0,
                             std::int64_t t1, std::int64_t cols, void* xq);

/// y[t·ldy + r] = dot(weight row r, activation row t) for r in [r0, r1) and t in [0, n). w: all
/// weight rows, row r at (const uint8_t*)w + r·ggmlRowBytes(type, cols) (any alignment); xq: n rows
/// from ggmlQuantizeActivations. Stateless and thread-free: the caller splits rows among threads.
/// Runs the fastest variant this CPU has (avx512 with VNNI, else avx2, else scalar) unless
/// QUANTSCOPE_KERNELS names one. Throws qs::Error for a type without a kernel, bad sizes or ranges.
void ggmlMatMul(GgmlType weightType, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                const void* xq, std::int64_t n, float* y, std::int64_t ldy);
/// The same with a given variant (tests and benchmarks compare them). Vec128 runs the scalar
/// kernels (a 128-bit integer dot product gains little over what the compiler makes of the scalar
/// loops, and no CPU we run lacks AVX2); avx512 needs AVX512-VNNI and runs the avx2 kernels on an
/// AVX-512 CPU without it. Throws qs::Error when this CPU cannot run the variant.
void ggmlMatMul(SimdVariant variant, GgmlType weightType, const void* w, std::int64_t cols, std::int64_t r0,
                std::int64_t r1, const void* xq, std::int64_t n, float* y, std::int64_t ldy);

/// The variant ggmlMatMul(type, …) runs on this CPU (for benchmarks and logs).
SimdVariant ggmlMatMulVariant();

// ---- Interleaved layout (prefill) ----------------------------------------------------------------
//
// A layer may keep its rows in a kernel-friendly order instead of GGUF's, rewritten once at load in
// the same bytes: rows in groups of kGgmlInterleaveRows = 16, a group's block b holding the 16 rows'
// block b side by side, so that one 64-byte register holds four codes of each of the 16 rows and one
// vpdpbusd against four broadcast activation codes advances 16 row sums. Per group and block (16·S
// bytes, S the block size): the 16 binary16 scales (row l at byte 2l), then the codes in 64-byte
// chunks, chunk c holding 4 bytes of each row (row l at 4l):
// - Q4_0, IQ4_NL: chunks 0–3 hold bytes 4c … 4c+3 of the row's 16 nibble bytes (the low nibbles are
//   codes 4c … 4c+3, the high ones 16+4c …);
// - Q8_0: chunks 0–7 hold codes 4c … 4c+3, stored + 128 (unsigned).
// - Q4_K (per super-block): the 16 d, the 16 dmin, the 12 scale bytes in 3 chunks, the 128 code
//   bytes in 32 chunks (chunk k: bytes 4k … 4k+3).
// - Q6_K (per super-block): the 16 d, the 16 scales in 4 chunks, ql in 32 chunks, qh in 16.
// - IQ4_XS (per super-block): the 16 d, the 16 scales_h (2 bytes each), scales_l in one chunk, the
//   128 code bytes in 32 chunks.
// Rows of a last, partial group stay in row layout where they are. Each (row, token) product is,
// per block, an exact integer sum (Q4_0/Q8_0/IQ4_NL: Σ_j (w_j − offset)·x_j; Q4_K: Σ_g sc_g·Σ q·x
// and Σ_g m_g·bsums; Q6_K: Σ_g sc_g·(Σ q·x − 32·bsums); IQ4_XS: Σ_g (ls_g − 32)·Σ value·x) added to the
// running float by one FMA with d_w·d_x (Q4_K: a second with −dmin·d_x), in block order: one rounding order
// for the scalar twin and the SIMD kernel alike (bit-identical), independent of split and tokens; it is not
// the row layout's order (the two differ within the variant budget).

/// Rows per group of the interleaved layout.
inline constexpr std::int64_t kGgmlInterleaveRows = 16;

/// Whether ggmlMatMulInterleaved has a kernel for this type (Q4_0, Q8_0, IQ4_NL, Q4_K, Q6_K, IQ4_XS).
bool ggmlHasInterleavedMatMul(GgmlType weightType);

/// Whether ggmlMatMul's active variant runs this type faster interleaved (avx512 with VNNI and a
/// type with an interleaved kernel); a loader interleaves a layer's rows only then, as the other
/// variants run the scalar twin on interleaved rows.
bool ggmlPrefersInterleaved(GgmlType weightType);

/// Rewrites `rows` rows of `cols` values (GGUF row layout, src) into the interleaved layout at dst
/// (the same number of bytes; dst may be src). Throws qs::Error for a type without an interleaved
/// kernel or bad sizes.
void ggmlInterleaveRows(GgmlType weightType, const void* src, std::int64_t rows, std::int64_t cols,
                        void* dst);
/// The inverse of ggmlInterleaveRows (dst may be src).
void ggmlDeinterleaveRows(GgmlType weightType, const void* src, std::int64_t rows, std::int64_t cols,
                          void* dst);

/// ggmlMatMul on interleaved weights: w holds all `rows` rows of the matrix (the groups depend on
/// it), rows [r0, r1) are computed. Runs the avx512 kernel where the active variant is avx512 with
/// VNNI, else the scalar twin. With AMX-INT8 (and no variant forced by QUANTSCOPE_KERNELS) the avx512
/// kernel takes IQ4_XS tokens 16 at a time on tiles (tdpbssd: a group of 32 codes × 16 rows × 16 tokens per
/// instruction), the rest as before: the same integer sums, so the same bytes.
void ggmlMatMulInterleaved(GgmlType weightType, const void* w, std::int64_t rows, std::int64_t cols,
                           std::int64_t r0, std::int64_t r1, const void* xq, std::int64_t n, float* y,
                           std::int64_t ldy);
/// The same with a given variant (scalar, vec128 and avx2 run the scalar twin).
void ggmlMatMulInterleaved(SimdVariant variant, GgmlType weightType, const void* w, std::int64_t rows,
                           std::int64_t cols, std::int64_t r0, std::int64_t r1, const void* xq,
                           std::int64_t n, float* y, std::int64_t ldy);

} // namespace qs
