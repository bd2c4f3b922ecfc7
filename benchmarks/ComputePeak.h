#pragma once

// The compute yardstick of `bench kernels`: what one core's vector units do when nothing but arithmetic
// stands in the way, measured in the same run as the kernels, so a GEMM's GFLOP/s (ours or llama.cpp's)
// can be stated as a fraction of the core's peak.

namespace qs::bench {

struct ComputePeak
{
    const char* f32Isa = "";  ///< the instruction the f32 figure uses ("avx512 vfmadd", "avx2 vfmadd")
    double f32FmaGflops = 0;  ///< f32 fused multiply-adds, 2 FLOP each per lane
    double bf16DotGflops = 0; ///< vdpbf16ps (4 FLOP per f32 lane: two products, two adds); 0: no avx512bf16
    double amxBf16Gflops = 0; ///< tdpbf16ps on AMX tiles (16·16·32 products, 2 FLOP each); 0: no tiles here
};

/// Register-only loops on the calling thread (24 independent accumulators, more than latency × issue width
/// of current cores): the best of short runs over about `seconds` per figure.
ComputePeak measureComputePeak(double seconds);

} // namespace qs::bench
