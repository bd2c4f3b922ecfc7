#pragma once

#include "kernels/SimdVariant.h"

#include <cstdint>

namespace qs {

/// e^x in float, the one exponential the forward pass uses (softmax, SiLU), with the same arithmetic in every
/// variant so that a result never depends on the variant, the thread count or where an element falls in a
/// vector: x·log2(e) rounded to the nearest integer n (a fused multiply-add onto 1.5·2²³), r = x − n·ln 2 in
/// two fused steps (ln 2 split into a 9-bit head and a tail), e^r ≈ 1 + r + r²·P(r) with Cephes' degree-5 P
/// (fused multiply-adds), then 2ⁿ applied as two powers of two so that results down to the subnormals and up
/// to the overflow come out right. x is clamped to [−104, 89] first (e^−104 rounds to 0, e^89 overflows to
/// +inf); a NaN gives itself. Within 2 ulp of the exact value for normal results (tst_vecmath), against
/// std::exp's scalar call per element.
float expRef(float x);

/// x[i] = e^(x[i] − shift) for i < n (the subtraction in float), returning Σ x[i] after the change, in
/// double: element i goes to lane sum i mod 16, the lanes are added in a fixed tree (i + 8, then + 4, + 2,
/// + 1). The same bytes in every variant. n ≥ 0.
double expShiftedSum(SimdVariant v, float* x, std::int64_t n, float shift);

/// Softmax of x[0, n) in place: m = the largest element (NaNs ignored), expShiftedSum(x, n, m), then each
/// element times float(1 / sum). n = 0 does nothing.
void softmaxInPlace(SimdVariant v, float* x, std::int64_t n);

/// gate[i] = gate[i] / (1 + e^−gate[i]) · up[i] for i < n: SiLU of the gate times the up projection.
void siluMul(SimdVariant v, float* gate, const float* up, std::int64_t n);

/// With the variant widestSimdVariant() names (vec128 runs the scalar twin).
void softmaxInPlace(float* x, std::int64_t n);
void siluMul(float* gate, const float* up, std::int64_t n);

} // namespace qs
