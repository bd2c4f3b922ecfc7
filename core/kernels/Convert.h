#pragma once

#include "tensor/DType.h"

#include <cstddef>
#include <cstdint>

namespace qs {

/// Scalar reference conversions: they define the truth that SIMD variants are tested against.
namespace ref {
float f16ToF32(std::uint16_t h);
std::uint16_t f32ToF16(float f); ///< round to nearest even, overflow to inf, NaN kept
inline float bf16ToF32(std::uint16_t b)
{
    const std::uint32_t u = std::uint32_t(b) << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
}
std::uint16_t f32ToBf16(float f); ///< round to nearest even, NaN kept quiet
void convertRow(DType src, const void* in, float* out, std::size_t n);
} // namespace ref

/// Converts n elements of `src` (little-endian, possibly unaligned) to f32. Stateless and
/// thread-free; picks the fastest variant the CPU supports (F16C/AVX2) at run time.
void convertToF32(DType src, const void* in, float* out, std::size_t n);

/// Replaces each of n floats by its nearest f16 (round to nearest even, as ref::f32ToF16 then
/// ref::f16ToF32: overflow to ±inf, NaN stays NaN) or bf16 value (as ref::f32ToBf16 then bf16ToF32), in
/// place. What ggml's f16/bf16 vec_dot types and its f16 KV cache do to a float. F16C/AVX2 when the CPU has
/// them; the same bits as the scalar reference for every non-NaN input.
void roundToF16(float* x, std::size_t n);
void roundToBf16(float* x, std::size_t n);

/// Counts NaN/Inf values among n floats and reports the first index (or n when none).
std::size_t countNonFinite(const float* x, std::size_t n, std::size_t* firstIndex = nullptr);

/// Name of the variant convertToF32 uses on this CPU ("avx2+f16c" or "scalar"), for benchmarks.
const char* convertVariantName();

} // namespace qs
