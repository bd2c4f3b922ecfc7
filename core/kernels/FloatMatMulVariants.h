#pragma once

// Internal to core/kernels: the per-variant entry points of floatMatMul (kernels/FloatMatMul.h), each built
// from kernels/FloatMatMulLoops.h with its vector operations, and what the dispatcher hands them.

#include "kernels/FloatMatMul.h"
#include "tensor/DType.h"

#include <cstdint>

namespace qs::fmm {

/// Floats of scratch (64-byte aligned) the dispatcher hands every variant when n > 1: the lane sums of a
/// kFloatMatMulRowTile × NB block of outputs (each variant's Ops picks its lanes L and token block NB;
/// FloatMatMulLoops.h static_asserts that they fit). 384 KB.
inline constexpr std::int64_t kScratchFloats = kFloatMatMulRowTile * 96 * 16;

/// The argument checks of the float products' entry points (`fn` names the function in messages):
/// qs::Error for bad sizes, an output stride below r1 when n > 1, and null pointers with work to do.
/// Returns false when there is nothing to compute (no rows or no tokens).
bool checkMatMulArgs(const char* fn, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                     const float* x, std::int64_t n, const float* y, std::int64_t ldy);

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
