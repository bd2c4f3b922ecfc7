#pragma once

#include "kernels/SimdVariant.h"

#include <cstdint>

namespace qs {

// The scale searches of the ggml block formats, one SIMD variant at a time, so that tests can
// hold every variant to the scalar reference bit for bit (tests/tst_kernels.cpp). The quantizers
// in GgmlQuants.cpp inline the same code (kernels/GgmlSearch.h). Groups hold at most 32 values;
// each call throws qs::Error for a larger group or a variant this CPU cannot run.

/// Signed codes in [-nmax, nmax-1] (returned offset by nmax) and the scale, by weighted least
/// squares over ggml's 19 candidates; weights `w`, or x² when null (make_qx_quants).
float ggmlFitSignedScale(SimdVariant v, int n, int nmax, const float* x, std::int8_t* codes, const float* w);

/// Codes in [0, nmax], the scale and *offset (≥ 0) of x ≈ scale·q − offset, over nstep+1
/// candidates (make_qkx2_quants; absolute error when absError, squared otherwise).
float ggmlFitAffine(SimdVariant v, bool absError, int n, int nmax, const float* x, const float* w,
                    std::uint8_t* codes, float* offset, float rmin, float rdelta, int nstep);

/// IQ4_NL/IQ4_XS: the scale of a 32-value group after trying its 15 candidates, from the first
/// guess d (best = d·Σwqx).
float ggmlRefineIq4Scale(SimdVariant v, const float* x, const float* w, float peak, float d, float best);

} // namespace qs
