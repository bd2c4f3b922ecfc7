#pragma once

// Internal to core/kernels: the per-variant entry points of floatMatMul (kernels/FloatMatMul.h), each built
// from kernels/FloatMatMulLoops.h with its vector operations, and what the dispatcher hands them.

#include "kernels/FloatMatMul.h"
#include "tensor/DType.h"

#include <cstdint>

namespace qs::fmm {

/// Column block of the prefill GEMM: a kFloatMatMulRowTile × kKc slice of W (f32, 64 KB) is converted once
/// per token block and reused by all its tokens. A multiple of every lane width, so blocks end on whole
/// vectors and the cut does not touch the arithmetic.
inline constexpr std::int64_t kKc = 256;

/// Floats of scratch (64-byte aligned) the dispatcher hands every variant when n > 1: the converted W block
/// and the lane sums of a token block (each variant static_asserts that its blocks fit).
inline constexpr std::int64_t kScratchFloats = kFloatMatMulRowTile * kKc + kFloatMatMulRowTile * 240 * 16;

/// Arguments are checked by the caller: dtype is F32, F16 or BF16, 0 ≤ r0 ≤ r1, cols ≥ 1, n ≥ 1.
using Entry = void (*)(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                       const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch);

void runVec128(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
               const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch);
#if defined(__x86_64__) || defined(__i386__)
void runAvx2(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1, const float* x,
             std::int64_t n, float* y, std::int64_t ldy, float* scratch);
void runAvx512(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
               const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch);
#endif

} // namespace qs::fmm
