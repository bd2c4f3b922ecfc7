#pragma once

// Internal to core/kernels: the per-variant bodies of kernels/VecMath.h (VecMath.cpp holds the scalar twin,
// VecMathX86.cpp the AVX2 and AVX-512 copies of kernels/VecMathLoops.h). Arguments are checked by the
// caller, which also checks that the CPU runs the variant.

#include <cstdint>

namespace qs::vecmath {

struct Entries
{
    double (*expShiftedSum)(float* x, std::int64_t n, float shift);
    void (*siluMul)(float* gate, const float* up, std::int64_t n);
    float (*maxOf)(const float* x, std::int64_t n, float start);
    void (*scale)(float* x, std::int64_t n, float f);
};

#if defined(__x86_64__) || defined(__i386__)
extern const Entries kAvx2;
extern const Entries kAvx512;
#endif

} // namespace qs::vecmath
