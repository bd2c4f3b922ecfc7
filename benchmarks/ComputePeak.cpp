#include "ComputePeak.h"

#include "Benchmarks.h"
#include "kernels/CpuFeatures.h"
#include "kernels/FloatMatMul.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's AVX-512 intrinsics fill "don't care" operands with _mm512_undefined_*() (see FloatMatMulX86.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#endif

namespace qs::bench {

namespace {

constexpr int kAccumulators = 24;

#if defined(__x86_64__) || defined(__i386__)

/// acc += a·b on every accumulator, `iters` times; a sum goes to the volatile *out, so that no call is
/// dropped or merged with another. a·b = 2⁻²⁰ keeps every value small and normal.
__attribute__((target("avx2,fma"))) void fmaLoop256(std::int64_t iters, volatile float* out)
{
    __m256 acc[kAccumulators];
    for (int j = 0; j < kAccumulators; ++j)
        acc[j] = _mm256_set1_ps(1.f + float(j) * 1e-3f);
    const __m256 a = _mm256_set1_ps(1.f / 1024), b = a;
    for (std::int64_t i = 0; i < iters; ++i)
#pragma GCC unroll 24 // kept in registers: a loop over an array of accumulators would go through memory
        for (int j = 0; j < kAccumulators; ++j)
            acc[j] = _mm256_fmadd_ps(a, b, acc[j]);
    __m256 s = _mm256_setzero_ps();
    for (int j = 0; j < kAccumulators; ++j)
        s = _mm256_add_ps(s, acc[j]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, s);
    *out = lanes[0];
}

__attribute__((target("avx2,fma,avx512f"))) void fmaLoop512(std::int64_t iters, volatile float* out)
{
    __m512 acc[kAccumulators];
    for (int j = 0; j < kAccumulators; ++j)
        acc[j] = _mm512_set1_ps(1.f + float(j) * 1e-3f);
    const __m512 a = _mm512_set1_ps(1.f / 1024), b = a;
    for (std::int64_t i = 0; i < iters; ++i)
#pragma GCC unroll 24 // kept in registers: a loop over an array of accumulators would go through memory
        for (int j = 0; j < kAccumulators; ++j)
            acc[j] = _mm512_fmadd_ps(a, b, acc[j]);
    __m512 s = _mm512_setzero_ps();
    for (int j = 0; j < kAccumulators; ++j)
        s = _mm512_add_ps(s, acc[j]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, s);
    *out = lanes[0] + lanes[15];
}

/// acc += Σ pairs a·b (bf16 pairs of 1/1024: each step adds 2⁻¹⁹ to every lane).
__attribute__((target("avx2,fma,avx512f,avx512bw,avx512bf16"))) void bf16DotLoop512(std::int64_t iters,
                                                                                    volatile float* out)
{
    __m512 acc[kAccumulators];
    for (int j = 0; j < kAccumulators; ++j)
        acc[j] = _mm512_set1_ps(float(j));
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3a80), b = (__m512bh)_mm512_set1_epi16(0x3a80);
    for (std::int64_t i = 0; i < iters; ++i)
#pragma GCC unroll 24 // kept in registers: a loop over an array of accumulators would go through memory
        for (int j = 0; j < kAccumulators; ++j)
            acc[j] = _mm512_dpbf16_ps(acc[j], a, b);
    __m512 s = _mm512_setzero_ps();
    for (int j = 0; j < kAccumulators; ++j)
        s = _mm512_add_ps(s, acc[j]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, s);
    *out = lanes[0] + lanes[15];
}

/// Four accumulator tiles += the same A and B tiles (every bf16 value 1/1024: each instruction adds 2⁻¹⁵ to
/// every f32 element), tile after tile; the first tile's first element goes to *out.
__attribute__((target("amx-tile,amx-bf16"))) void amxBf16Loop(std::int64_t iters, volatile float* out)
{
    struct alignas(64) Config
    {
        std::uint8_t palette = 1, startRow = 0;
        std::uint8_t reserved[14] = {};
        std::uint16_t colBytes[16] = {64, 64, 64, 64, 64, 64};
        std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16};
    } config;
    alignas(64) std::uint16_t ab[512];
    std::fill(std::begin(ab), std::end(ab), std::uint16_t(0x3a80));
    alignas(64) float c[256];
    _tile_loadconfig(&config);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, ab, 64);
    _tile_loadd(5, ab, 64);
    for (std::int64_t i = 0; i < iters; ++i) {
        _tile_dpbf16ps(0, 4, 5);
        _tile_dpbf16ps(1, 4, 5);
        _tile_dpbf16ps(2, 4, 5);
        _tile_dpbf16ps(3, 4, 5);
    }
    _tile_stored(0, c, 64);
    _tile_release();
    *out = c[0];
}

#endif

/// GFLOP/s of `loop` doing `flopsPerIter` per iteration: the best of many short runs (about 0.2 ms each, for
/// `seconds` in all), so that on a shared machine some run the core alone.
template <class Loop>
double bestGflops(Loop loop, double flopsPerIter, double seconds)
{
    constexpr double kRunSeconds = 2e-4;
    std::int64_t iters = 1 << 10;
    volatile float sink = 0;
    double t = 0;
    while (true) { // calibrate the length of one run
        const double t0 = nowSeconds();
        loop(iters, &sink);
        t = nowSeconds() - t0;
        if (t >= kRunSeconds || iters > (std::int64_t(1) << 40))
            break;
        iters *= 2;
    }
    double best = t;
    const double end = nowSeconds() + seconds;
    while (nowSeconds() < end) {
        const double t0 = nowSeconds();
        loop(iters, &sink);
        best = std::min(best, nowSeconds() - t0);
    }
    return flopsPerIter * double(iters) / best / 1e9;
}

} // namespace

ComputePeak measureComputePeak(double seconds)
{
    ComputePeak p;
#if defined(__x86_64__) || defined(__i386__)
    const CpuFeatures& cpu = cpuFeatures();
    if (cpu.hasAvx512()) {
        p.f32Isa = "avx512 vfmadd";
        p.f32FmaGflops = bestGflops(fmaLoop512, kAccumulators * 16 * 2, seconds);
    } else if (cpu.hasAvx2()) {
        p.f32Isa = "avx2 vfmadd";
        p.f32FmaGflops = bestGflops(fmaLoop256, kAccumulators * 8 * 2, seconds);
    }
    if (cpu.hasAvx512Bf16())
        p.bf16DotGflops = bestGflops(bf16DotLoop512, kAccumulators * 16 * 4, seconds);
    if (floatMatMulTilesSupported()) // the CPU has AMX-BF16 and Linux granted the tile state
        p.amxBf16Gflops = bestGflops(amxBf16Loop, 4.0 * 16 * 16 * 32 * 2, seconds);
#else
    (void)seconds;
#endif
    return p;
}

} // namespace qs::bench
