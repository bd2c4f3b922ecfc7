// floatMatMulBf16Inputs (kernels/FloatMatMul.h): BF16 weights times inputs that are bf16 values, as
// vdpbf16ps computes them (AVX512-BF16), and its scalar twin, which follows the same operations one lane at a
// time. Both orders and the flushing of subnormals are the instruction's (Intel SDM, checked on this
// project's Zen 5 against the twin): lane j of a 32-column step adds the odd column's product, then the even
// one's.
#include "kernels/Convert.h"
#include "kernels/CpuFeatures.h"
#include "kernels/FloatMatMul.h"
#include "kernels/FloatMatMulVariants.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include "kernels/FloatMatMulReduceX86.h"

#include <immintrin.h>
#define QS_BF16DOT_X86 1
#endif

namespace qs {

namespace {

constexpr int kLanes = 16, kStep = 2 * kLanes; // columns per vdpbf16ps
constexpr int kTokens = int(kBf16PanelTokens); // tokens per panel of packed inputs

/// Subnormals read as zero (the instruction's DAZ on inputs and its FTZ on every result).
float flushed(float v)
{
    return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.f, v) : v;
}

float bf16At(const char* row, std::int64_t c)
{
    std::uint16_t h;
    std::memcpy(&h, row + c * 2, 2);
    const std::uint32_t bits = std::uint32_t(h) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    return flushed(v);
}

/// An input as the kernel reads it: rounded to bf16 (nearest even; a no-op for bf16 values), subnormals zero.
float bf16Of(float v)
{
    return flushed(ref::bf16ToF32(ref::f32ToBf16(v)));
}

/// The lane tree of every float GEMM variant: (i, i+8), (i, i+4), (i, i+2), (0, 1).
float reduceLanes(const float* s)
{
    float a[kLanes];
    std::copy(s, s + kLanes, a);
    for (int half = kLanes / 2; half >= 1; half /= 2)
        for (int i = 0; i < half; ++i)
            a[i] = a[i] + a[i + half];
    return a[0];
}

/// The twin over any input: xAt(t, c) is the input as the kernel reads it (bf16Of of the float).
template <class XAt>
void runScalar(const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1, const XAt& xAt,
               std::int64_t n, float* y, std::int64_t ldy)
{
    for (std::int64_t t = 0; t < n; ++t) {
        for (std::int64_t r = r0; r < r1; ++r) {
            const char* row = w + std::size_t(r) * std::size_t(cols) * 2;
            float lanes[kLanes] = {};
            for (std::int64_t c0 = 0; c0 < cols; c0 += kStep) {
                for (int j = 0; j < kLanes; ++j) {
                    for (std::int64_t c : {c0 + 2 * j + 1, c0 + 2 * j}) { // odd column first
                        // Past the last column both operands are zero-padded: +0 is added (which turns −0
                        // into +0). Products are exact (two 8-bit significands) unless they underflow.
                        const float p = c < cols ? bf16At(row, c) * xAt(t, c) : 0.f;
                        lanes[j] = flushed(lanes[j] + p);
                    }
                }
            }
            y[t * ldy + r] = reduceLanes(lanes);
        }
    }
}

/// Bf16Inputs' layout: token t, column c.
std::size_t packedIndex(std::int64_t steps, std::int64_t t, std::int64_t c)
{
    return std::size_t(((t / kTokens * steps + c / kStep) * kTokens + t % kTokens) * kStep + c % kStep);
}

#ifdef QS_BF16DOT_X86

#define QS_BF16DOT __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16")))

constexpr int kRows = 4;
/// Bytes ahead of the current column that the streaming GEMV prefetches (as floatMatMul's).
constexpr std::size_t kPrefetchAhead = 2048;
constexpr std::int64_t kChunk = 2048; // columns per chunk: a 6-token panel of it is 24 KB of bf16
constexpr std::int64_t kTile = kFloatMatMulRowTile;
constexpr std::int64_t kBlockTokens = 96; // lane sums of 96 tokens × 64 rows: 384 KB
/// The scratch: the lane sums of a block (64 rows × 96 tokens).
constexpr std::int64_t kScratchFloats = kTile * kBlockTokens * kLanes;

QS_BF16DOT inline __mmask32 mask32(std::int64_t k)
{
    return k >= 32 ? ~__mmask32(0) : __mmask32((1u << k) - 1u);
}

/// k ≤ kTokens token rows of `len` floats (xStride apart) as bf16 pairs: out[s][t][32] for steps s, rounded
/// to nearest even (exact for bf16 values), zero-padded to whole steps and to kTokens tokens.
QS_BF16DOT void packTokens(const float* x, std::int64_t xStride, std::int64_t k, std::int64_t len,
                           std::uint16_t* out)
{
    const std::int64_t steps = (len + kStep - 1) / kStep;
    for (std::int64_t t = 0; t < kTokens; ++t) {
        for (std::int64_t s = 0; s < steps; ++s) {
            std::uint16_t* dst = out + (s * kTokens + t) * kStep;
            if (t >= k) {
                _mm512_storeu_si512(dst, _mm512_setzero_si512());
                continue;
            }
            const float* src = x + t * xStride + s * kStep;
            const std::int64_t left = len - s * kStep;
            const __m512 lo = _mm512_maskz_loadu_ps(__mmask16(mask32(left)), src);
            const __m512 hi =
                _mm512_maskz_loadu_ps(__mmask16(mask32(std::max<std::int64_t>(0, left - 16))), src + 16);
            _mm512_storeu_si512(dst, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
    }
}

/// One step of 32 columns: R rows (weights loaded under mask m, the rest zero) × K packed tokens.
template <int R, int K, bool Prefetch = false>
QS_BF16DOT inline __attribute__((always_inline)) void step(__m512 (&a)[R][K], const char* w,
                                                           std::size_t rowBytes, const std::uint16_t* xp,
                                                           std::int64_t s, __mmask32 m)
{
    if constexpr (Prefetch) // one 64-byte line per row and step, fmm::kPrefetchAhead bytes ahead (a hint)
        for (int r = 0; r < R; ++r)
            __builtin_prefetch(w + r * rowBytes + std::size_t(s * kStep) * 2 + kPrefetchAhead, 0, 3);
    __m512bh xv[K];
    for (int t = 0; t < K; ++t)
        xv[t] = (__m512bh)_mm512_loadu_si512(xp + (s * kTokens + t) * kStep);
    for (int r = 0; r < R; ++r) {
        const __m512bh wv =
            (__m512bh)_mm512_maskz_loadu_epi16(m, w + r * rowBytes + std::size_t(s * kStep) * 2);
        for (int t = 0; t < K; ++t)
            a[r][t] = _mm512_dpbf16_ps(a[r][t], wv, xv[t]);
    }
}

/// R rows (rowBytes apart, bf16 where they lie) × K tokens of a packed panel over `steps` steps of 32
/// columns (`len` columns in all: the last step's weights loaded masked); lane sums loaded from (or, `fresh`,
/// started at zero in registers) and stored to acc + (r·kTokens + t)·16.
template <int R, int K, bool Prefetch = false>
QS_BF16DOT inline __attribute__((always_inline)) void
micro(const char* w, std::size_t rowBytes, const std::uint16_t* xp, std::int64_t len, float* acc, bool fresh)
{
    __m512 a[R][K];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < K; ++t)
            a[r][t] = fresh ? _mm512_setzero_ps() : _mm512_load_ps(acc + (r * kTokens + t) * kLanes);
    const std::int64_t whole = len / kStep;
    for (std::int64_t s = 0; s < whole; ++s)
        step<R, K, Prefetch>(a, w, rowBytes, xp, s, ~__mmask32(0));
    if (whole * kStep < len)
        step<R, K>(a, w, rowBytes, xp, whole, mask32(len - whole * kStep));
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < K; ++t)
            _mm512_store_ps(acc + (r * kTokens + t) * kLanes, a[r][t]);
}

template <int K>
QS_BF16DOT void panelRows(const char* w, std::size_t rowBytes, std::int64_t rows, const std::uint16_t* xp,
                          std::int64_t len, float* acc, bool fresh)
{
    std::int64_t r = 0;
    for (; r + kRows <= rows; r += kRows)
        micro<kRows, K>(w + std::size_t(r) * rowBytes, rowBytes, xp, len, acc + r * kTokens * kLanes, fresh);
    for (; r < rows; ++r)
        micro<1, K>(w + std::size_t(r) * rowBytes, rowBytes, xp, len, acc + r * kTokens * kLanes, fresh);
}

template <int K>
QS_BF16DOT void panelRowsOf(int k, const char* w, std::size_t rowBytes, std::int64_t rows,
                            const std::uint16_t* xp, std::int64_t len, float* acc, bool fresh)
{
    if constexpr (K > 1) {
        if (k < K)
            return panelRowsOf<K - 1>(k, w, rowBytes, rows, xp, len, acc, fresh);
    }
    panelRows<K>(w, rowBytes, rows, xp, len, acc, fresh);
}

/// Small n (decode): the K ≤ kTokens tokens packed once for all columns, W streamed once, kRows rows at a
/// time that lie (r1 − r0)/kRows rows apart, so each of the kRows streams runs through one long stretch of W
/// (the hardware prefetcher follows them) instead of restarting every 4 rows.
template <int K>
QS_BF16DOT void streamRows(const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                           const std::uint16_t* xp, float* y, std::int64_t ldy)
{
    const std::size_t rowBytes = std::size_t(cols) * 2;
    const std::int64_t q = (r1 - r0) / kRows; // groups; rows r0 + g + i·q, i < kRows
    alignas(64) float acc[kRows * kTokens * kLanes];
    for (std::int64_t g = 0; g < q; ++g) {
        micro<kRows, K, true>(w + std::size_t(r0 + g) * rowBytes, std::size_t(q) * rowBytes, xp, cols, acc,
                              true);
        for (int i = 0; i < kRows; ++i)
            for (int t = 0; t < K; ++t)
                y[t * ldy + r0 + g + i * q] =
                    fmm::reduceLanes16(_mm512_load_ps(acc + (i * kTokens + t) * kLanes));
    }
    for (std::int64_t r = r0 + kRows * q; r < r1; ++r) {
        micro<1, K, true>(w + std::size_t(r) * rowBytes, rowBytes, xp, cols, acc, true);
        for (int t = 0; t < K; ++t)
            y[t * ldy + r] = fmm::reduceLanes16(_mm512_load_ps(acc + t * kLanes));
    }
}

template <int K>
QS_BF16DOT void streamRowsOf(int k, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                             const std::uint16_t* xp, float* y, std::int64_t ldy)
{
    if constexpr (K > 1) {
        if (k < K)
            return streamRowsOf<K - 1>(k, w, cols, r0, r1, xp, y, ldy);
    }
    streamRows<K>(w, cols, r0, r1, xp, y, ldy);
}

/// Over inputs packed once (Bf16Inputs: 6-token panels over all columns). n ≤ 6 (decode): W streamed once.
/// Else per block of at most 96 tokens and tile of 64 rows, columns in chunks of 2048: every group of 4 rows
/// runs over each panel's chunk (L1), W read where it lies; the lane sums stay in registers for a chunk.
QS_BF16DOT void runAvx512Bf16(const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                              const std::uint16_t* xpack, std::int64_t n, float* y, std::int64_t ldy,
                              float* scratch)
{
    if (n <= kTokens)
        return streamRowsOf<kTokens>(int(n), w, cols, r0, r1, xpack, y, ldy);
    constexpr std::int64_t panelFloats = kTile * kTokens * kLanes;
    const std::int64_t steps = (cols + kStep - 1) / kStep; // of a whole row
    const std::size_t rowBytes = std::size_t(cols) * 2;
    const std::int64_t blocks = (n + kBlockTokens - 1) / kBlockTokens,
                       nb = ((n + blocks - 1) / blocks + kTokens - 1) / kTokens * kTokens;
    for (std::int64_t rt = r0; rt < r1; rt += kTile) {
        const std::int64_t rows = std::min(kTile, r1 - rt);
        const char* wt = w + std::size_t(rt) * rowBytes;
        for (std::int64_t tb = 0; tb < n; tb += nb) {
            const std::int64_t nt = std::min(nb, n - tb), panels = (nt + kTokens - 1) / kTokens;
            for (std::int64_t k0 = 0; k0 < cols; k0 += kChunk) {
                const std::int64_t len = std::min(kChunk, cols - k0);
                for (std::int64_t p = 0; p < panels; ++p) {
                    const std::int64_t t0 = tb + p * kTokens,
                                       k = std::min<std::int64_t>(kTokens, tb + nt - t0);
                    float* pacc = scratch + p * panelFloats;
                    // The first chunk starts the lane sums in registers; rows past a short tile's last, which
                    // the reduction reads (and drops), are zeroed so that it never reads stale sums.
                    if (k0 == 0)
                        for (std::int64_t i = rows * kTokens * kLanes;
                             i < (rows + 15) / 16 * 16 * kTokens * kLanes; i += kLanes)
                            _mm512_store_ps(pacc + i, _mm512_setzero_ps());
                    const std::uint16_t* xp = xpack + ((t0 / kTokens) * steps + k0 / kStep) * kTokens * kStep;
                    panelRowsOf<kTokens>(int(k), wt + std::size_t(k0) * 2, rowBytes, rows, xp, len, pacc,
                                         k0 == 0);
                    if (k0 + kChunk >= cols) // the panel's sums are done: 16 rows at a time (tiles are whole)
                        for (std::int64_t t = 0; t < k; ++t)
                            for (std::int64_t r = 0; r < rows; r += 16)
                                fmm::reduceLanes16x16(pacc + (r * kTokens + t) * kLanes, kTokens * kLanes,
                                                      int(std::min<std::int64_t>(16, rows - r)),
                                                      y + (t0 + t) * ldy + rt + r);
                }
            }
        }
    }
}

/// The per-thread scratch, 64-byte aligned; allocated on a thread's first call and kept.
float* threadScratch()
{
    struct Free
    {
        void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
    };
    thread_local std::unique_ptr<float[], Free> scratch(static_cast<float*>(
        ::operator new[](std::size_t(kScratchFloats) * sizeof(float), std::align_val_t(64))));
    return scratch.get();
}

#endif

} // namespace

bool floatMatMulBf16InputsVariantSupported(SimdVariant v)
{
    if (v == SimdVariant::Scalar)
        return true;
#ifdef QS_BF16DOT_X86
    return v == SimdVariant::Avx512 && cpuFeatures().hasAvx512Bf16();
#else
    return false;
#endif
}

bool floatMatMulBf16InputsFast()
{
    return floatMatMulBf16InputsVariantSupported(SimdVariant::Avx512) &&
           simdVariantSupported(floatMatMulVariant()) && floatMatMulVariant() == SimdVariant::Avx512;
}

void packBf16Inputs(const float* x, std::int64_t n, std::int64_t cols, Bf16Inputs& out)
{
    if (n < 0 || cols < 0)
        throw Error(QStringLiteral("packBf16Inputs: bad sizes (tokens %1, cols %2)").arg(n).arg(cols));
    if (!x && n > 0 && cols > 0)
        throw Error(QStringLiteral("packBf16Inputs: null inputs"));
    const std::int64_t steps = (cols + kStep - 1) / kStep, panels = (n + kTokens - 1) / kTokens;
    out.n = n;
    out.cols = cols;
    out.data.resize(std::size_t(panels * steps * kTokens * kStep));
#ifdef QS_BF16DOT_X86
    if (floatMatMulBf16InputsVariantSupported(SimdVariant::Avx512)) {
        for (std::int64_t p = 0; p < panels; ++p)
            packTokens(x + p * kTokens * cols, cols, std::min<std::int64_t>(kTokens, n - p * kTokens), cols,
                       out.data.data() + std::size_t(p * steps * kTokens * kStep));
        return;
    }
#endif
    std::fill(out.data.begin(), out.data.end(), std::uint16_t(0));
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t c = 0; c < cols; ++c)
            out.data[packedIndex(steps, t, c)] = ref::f32ToBf16(bf16Of(x[t * cols + c]));
}

void floatMatMulBf16Inputs(SimdVariant v, const void* w, std::int64_t r0, std::int64_t r1,
                           const Bf16Inputs& x, float* y, std::int64_t ldy)
{
    const std::int64_t cols = x.cols, n = x.n;
    const float* anyX = n > 0 ? reinterpret_cast<const float*>(x.data.data()) : nullptr;
    if (!fmm::checkMatMulArgs("floatMatMulBf16Inputs", w, cols, r0, r1, anyX, n, y, ldy))
        return;
    const std::int64_t steps = (cols + kStep - 1) / kStep;
    if (x.data.size() != std::size_t(((n + kTokens - 1) / kTokens) * steps * kTokens * kStep))
        throw Error(QStringLiteral("floatMatMulBf16Inputs: the packed inputs do not match their sizes"));
    if (!floatMatMulBf16InputsVariantSupported(v))
        throw Error(QStringLiteral("floatMatMulBf16Inputs: no %1 variant on this CPU (scalar, or avx512 with "
                                   "avx512bf16)")
                        .arg(QLatin1String(simdVariantName(v))));
    const char* wb = static_cast<const char*>(w);
#ifdef QS_BF16DOT_X86
    if (v == SimdVariant::Avx512)
        return runAvx512Bf16(wb, cols, r0, r1, x.data.data(), n, y, ldy, threadScratch());
#endif
    const std::uint16_t* d = x.data.data();
    runScalar(
        wb, cols, r0, r1,
        [&](std::int64_t t, std::int64_t c) { return ref::bf16ToF32(d[packedIndex(steps, t, c)]); }, n, y,
        ldy);
}

void floatMatMulBf16Inputs(SimdVariant v, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                           const float* x, std::int64_t n, float* y, std::int64_t ldy)
{
    if (!fmm::checkMatMulArgs("floatMatMulBf16Inputs", w, cols, r0, r1, x, n, y, ldy))
        return;
    if (!floatMatMulBf16InputsVariantSupported(v))
        throw Error(QStringLiteral("floatMatMulBf16Inputs: no %1 variant on this CPU (scalar, or avx512 with "
                                   "avx512bf16)")
                        .arg(QLatin1String(simdVariantName(v))));
    if (v == SimdVariant::Scalar)
        return runScalar(
            static_cast<const char*>(w), cols, r0, r1,
            [&](std::int64_t t, std::int64_t c) { return bf16Of(x[t * cols + c]); }, n, y, ldy);
    Bf16Inputs packed;
    packBf16Inputs(x, n, cols, packed);
    floatMatMulBf16Inputs(v, w, r0, r1, packed, y, ldy);
}

void floatMatMulBf16Inputs(const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1, const float* x,
                           std::int64_t n, float* y, std::int64_t ldy)
{
    floatMatMulBf16Inputs(floatMatMulBf16InputsFast() ? SimdVariant::Avx512 : SimdVariant::Scalar, w, cols,
                          r0, r1, x, n, y, ldy);
}

} // namespace qs
