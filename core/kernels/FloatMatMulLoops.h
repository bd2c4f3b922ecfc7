// Internal to core/kernels: the loops of floatMatMul (kernels/FloatMatMul.h), written once over `Ops`, a
// struct of vector operations, and included once per variant by the file that defines its Ops, with
//   QS_FMM_NS      the namespace of this copy (qs::fmm::QS_FMM_NS), one per variant;
//   QS_FMM_TARGET  the function attribute naming the variant's instruction set (empty for the baseline).
// Every function here carries QS_FMM_TARGET, so each copy is compiled for its variant's instructions and the
// intrinsics in Ops inline into it. No include guard: a file may include it once per variant.
//
// The arithmetic of one output (r, t), the same in every loop below: L lane sums start at zero; for each
// whole vector of columns c = 0, L, 2L, … in order, lanes += W[r, c..c+L) · x[t, c..c+L) (Ops::fma); a last
// partial vector is loaded zero-padded and added the same way; Ops::reduce adds the lanes in a fixed tree.
// Tiles (R rows × T tokens), column chunks (KC, a multiple of L: lane sums are stored and reloaded between
// chunks, which rounds nothing), token blocks and converting W to f32 (exact for f16 and bf16) only group
// outputs and move data, so a result depends on neither the row range, nor n, nor the tile it falls in.
//
// Ops provides: V (vector type), L (lanes), R × T (GEMM micro-tile), NB (tokens per block, a multiple of T),
// KC (columns per chunk of f16/bf16 weights, a multiple of 2L), RV (rows of the n = 1 GEMV), PH (the
// locality of its prefetch, kPrefetchAhead below), zero(),
// loadX(const float*), loadXPart(const float*, k), loadF32/F16/Bf16 and their …Part(const char*, k) (k < L
// elements, rest zero), fma(w, x, acc), load/store(float*) (the scratch), reduce(V) → float; optionally
// reduce16(acc, stride, k, y), reduce() of 16 vectors at once.

#include "kernels/FloatMatMulVariants.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#define QS_FMM_INLINE QS_FMM_TARGET __attribute__((always_inline)) inline

namespace qs::fmm::QS_FMM_NS {

template <DType D>
inline constexpr std::int64_t kBytes = D == DType::F32 ? 4 : 2;

template <class Ops, DType D>
QS_FMM_INLINE typename Ops::V loadW(const char* p)
{
    if constexpr (D == DType::F32)
        return Ops::loadF32(p);
    else if constexpr (D == DType::F16)
        return Ops::loadF16(p);
    else
        return Ops::loadBf16(p);
}

template <class Ops, DType D>
QS_FMM_INLINE typename Ops::V loadWPart(const char* p, int k)
{
    if constexpr (D == DType::F32)
        return Ops::loadF32Part(p, k);
    else if constexpr (D == DType::F16)
        return Ops::loadF16Part(p, k);
    else
        return Ops::loadBf16Part(p, k);
}

/// Bytes ahead of the current column that the streaming GEMV asks the cache for (software prefetch: with
/// one thread the hardware prefetcher alone leaves part of the memory bandwidth unused), with the locality
/// Ops::PH (3: prefetcht0, into L1; 2: prefetcht1, into L2) for Ops::RV rows side by side. What each
/// host measured (F16 / BF16 decode of a 1B-shaped model, 4 blocks, alternating runs):
/// - AMD EPYC Zen 4 (32 KB L1), 8 rows: 26-30 tok/s with prefetcht0, 36-37 with prefetcht1, 37-39 with
///   no prefetch (1 thread): 8 streams fetched 2 KB ahead into L1 evicted what was still being read.
/// - AMD EPYC Zen 5 (48 KB L1), AVX-512: 8 rows with prefetcht1 F16 41-44 / BF16 39-42 tok/s at 1 thread,
///   76-79 / 77-79 at 2; 8 rows with prefetcht0 44-46 / 43-46, 83-85 / 82-84; **4 rows with prefetcht0
///   47-51 / 46-51, 93-96 / 92-95**; 4 rows with prefetcht1 43-46 / 42-43; 2 rows 41-43 / 43-44; 6 rows
///   46 / 47-48; 4 rows with prefetcht0 1 KB ahead as 2 KB, 4 KB ahead 43 / 40-43. The AVX-512 variant
///   takes 4 rows and prefetcht0 (4 streams × 2 KB in L1, as the BF16 × bf16 GEMV of FloatMatMulBf16.cpp
///   has done since it was written); AVX2 and vec128, not remeasured, keep 8 rows and prefetcht1.
inline constexpr std::size_t kPrefetchAhead = 2048;

/// R rows × T tokens over `len` columns: rows at w + r·wStride bytes, tokens at x + t·xStride floats, lane
/// sums of (r, t) at acc + r·accStride + t·L (loaded, advanced, stored back; with `fresh` they start at zero
/// in registers instead, and acc is only written). With Prefetch, each row's line kPrefetchAhead bytes ahead
/// is prefetched once per 64 bytes read (a hint: it never faults, even past W).
template <class Ops, DType D, int R, int T, bool Prefetch = false>
QS_FMM_INLINE void micro(const char* w, std::size_t wStride, const float* x, std::int64_t xStride,
                         std::int64_t len, float* acc, std::int64_t accStride, bool fresh)
{
    using V = typename Ops::V;
    constexpr int L = Ops::L;
    V a[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t)
            a[r][t] = fresh ? Ops::zero() : Ops::load(acc + r * accStride + t * L);
    std::int64_t c = 0;
    for (; c + L <= len; c += L) {
        if constexpr (Prefetch) {
            if ((std::size_t(c) * kBytes<D>) % 64 == 0)
                for (int r = 0; r < R; ++r)
                    __builtin_prefetch(w + r * wStride + std::size_t(c) * kBytes<D> + kPrefetchAhead, 0,
                                       Ops::PH);
        }
        V xv[T];
        for (int t = 0; t < T; ++t)
            xv[t] = Ops::loadX(x + t * xStride + c);
        for (int r = 0; r < R; ++r) {
            const V wv = loadW<Ops, D>(w + r * wStride + std::size_t(c) * kBytes<D>);
            for (int t = 0; t < T; ++t)
                a[r][t] = Ops::fma(wv, xv[t], a[r][t]);
        }
    }
    if (c < len) {
        const int k = int(len - c);
        V xv[T];
        for (int t = 0; t < T; ++t)
            xv[t] = Ops::loadXPart(x + t * xStride + c, k);
        for (int r = 0; r < R; ++r) {
            const V wv = loadWPart<Ops, D>(w + r * wStride + std::size_t(c) * kBytes<D>, k);
            for (int t = 0; t < T; ++t)
                a[r][t] = Ops::fma(wv, xv[t], a[r][t]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t)
            Ops::store(acc + r * accStride + t * L, a[r][t]);
}

/// Small n (T ≤ Ops::T tokens, GEMV included): W converted on the fly, R rows at a time streamed once over
/// all columns with their lane sums in registers. The R rows of a group are (r1 − r0)/R rows apart, so each
/// of the R streams runs through one contiguous stretch of W from start to end: the hardware prefetcher
/// follows R long streams instead of restarting on every group.
template <class Ops, DType D, int R, int T>
QS_FMM_TARGET void streamRows(const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                              const float* x, float* y, std::int64_t ldy)
{
    constexpr int L = Ops::L;
    const std::size_t rowBytes = std::size_t(cols) * kBytes<D>;
    const std::int64_t q = (r1 - r0) / R; // groups; rows r0 + g + i·q, i < R
    alignas(64) float acc[R * T * L];
    for (std::int64_t g = 0; g < q; ++g) {
        micro<Ops, D, R, T, true>(w + std::size_t(r0 + g) * rowBytes, std::size_t(q) * rowBytes, x, cols,
                                  cols, acc, T * L, true);
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < T; ++t)
                y[t * ldy + r0 + g + i * q] = Ops::reduce(Ops::load(acc + (i * T + t) * L));
    }
    for (std::int64_t r = r0 + R * q; r < r1; ++r) {
        micro<Ops, D, 1, T, true>(w + std::size_t(r) * rowBytes, rowBytes, x, cols, cols, acc, T * L, true);
        for (int t = 0; t < T; ++t)
            y[t * ldy + r] = Ops::reduce(Ops::load(acc + t * L));
    }
}

/// `rows` rows (rowBytes apart, W converted on the fly) against K ≤ Ops::T tokens (xStride floats apart)
/// over `len` columns, R rows at a time: lane sums of (r, t) at acc + (r·Ops::T + t)·L, loaded and stored
/// back, or started at zero with `fresh`; the layout does not depend on K).
template <class Ops, DType D, int K>
QS_FMM_TARGET void panelRows(const char* w, std::size_t rowBytes, std::int64_t rows, const float* x,
                             std::int64_t xStride, std::int64_t len, float* acc, bool fresh)
{
    constexpr int L = Ops::L, R = Ops::R, T = Ops::T;
    std::int64_t r = 0;
    for (; r + R <= rows; r += R)
        micro<Ops, D, R, K>(w + std::size_t(r) * rowBytes, rowBytes, x, xStride, len, acc + r * T * L, T * L,
                            fresh);
    for (; r < rows; ++r)
        micro<Ops, D, 1, K>(w + std::size_t(r) * rowBytes, rowBytes, x, xStride, len, acc + r * T * L, T * L,
                            fresh);
}

/// panelRows<…, k> for a run-time k in [1, K].
template <class Ops, DType D, int K>
QS_FMM_INLINE void panelRowsOf(int k, const char* w, std::size_t rowBytes, std::int64_t rows, const float* x,
                               std::int64_t xStride, std::int64_t len, float* acc, bool fresh)
{
    if constexpr (K > 1) {
        if (k < K)
            return panelRowsOf<Ops, D, K - 1>(k, w, rowBytes, rows, x, xStride, len, acc, fresh);
    }
    panelRows<Ops, D, K>(w, rowBytes, rows, x, xStride, len, acc, fresh);
}

/// y[t·ldy + r] for r < rows, t < k from the lane sums of one token panel (acc + (r·Ops::T + t)·L).
template <class Ops>
QS_FMM_INLINE void reducePanel(const float* acc, std::int64_t rows, std::int64_t k, float* y,
                               std::int64_t ldy)
{
    constexpr int L = Ops::L, T = Ops::T;
    for (std::int64_t t = 0; t < k; ++t) {
        float* yt = y + t * ldy;
        std::int64_t r = 0;
        if constexpr (requires { Ops::reduce16(acc, 0, 0, yt); }) {
            for (; r < rows; r += 16) // the scratch holds whole tiles: 16 rows past r are there to read
                Ops::reduce16(acc + (r * T + t) * L, T * L, int(std::min<std::int64_t>(16, rows - r)),
                              yt + r);
        }
        for (; r < rows; ++r)
            yt[r] = Ops::reduce(Ops::load(acc + (r * T + t) * L));
    }
}

/// Large n: per tile of kFloatMatMulRowTile rows and block of at most NB tokens, the columns go by in chunks
/// of KC; for every panel of T tokens each group of R rows runs micro() over the chunk, W converted on the
/// fly and read where it lies, the lane sums in registers for the whole chunk (in the scratch between
/// chunks). The tile's rows of a chunk (64 × KC × 2 bytes for f16) stay in L2 while the panels go by, a
/// panel's tokens (T × KC floats) in L1 while the row groups go by, and every operand is read in long
/// sequential runs, which the hardware prefetcher follows.
template <class Ops, DType D>
QS_FMM_TARGET void blocked(const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1, const float* x,
                           std::int64_t n, float* y, std::int64_t ldy, float* scratch)
{
    constexpr int L = Ops::L, T = Ops::T;
    // Ops::KC is the chunk of 2-byte weights; f32 rows take half as many columns (the same bytes in L2).
    constexpr std::int64_t NB = Ops::NB, KC = Ops::KC * 2 / kBytes<D>, kTile = kFloatMatMulRowTile;
    static_assert(NB % T == 0 && KC % L == 0 && kTile % 16 == 0, "blocks hold whole micro-tiles");
    static_assert(kTile * NB * L <= kScratchFloats, "the scratch holds the lane sums");
    constexpr std::int64_t panelFloats = kTile * T * L; // lane sums of one token panel: [row][token][lane]
    const std::size_t rowBytes = std::size_t(cols) * kBytes<D>;
    // Token blocks of equal size (whole panels, at most NB).
    const std::int64_t blocks = (n + NB - 1) / NB, nb = ((n + blocks - 1) / blocks + T - 1) / T * T;
    for (std::int64_t rt = r0; rt < r1; rt += kTile) {
        const std::int64_t rows = std::min(kTile, r1 - rt);
        const char* wt = w + std::size_t(rt) * rowBytes;
        for (std::int64_t tb = 0; tb < n; tb += nb) {
            const std::int64_t nt = std::min(nb, n - tb), panels = (nt + T - 1) / T;
            for (std::int64_t k0 = 0; k0 < cols; k0 += KC) {
                const std::int64_t len = std::min(KC, cols - k0);
                const char* wc = wt + std::size_t(k0) * kBytes<D>;
                for (std::int64_t p = 0; p < panels; ++p) {
                    const std::int64_t t0 = tb + p * T, k = std::min<std::int64_t>(T, tb + nt - t0);
                    float* pacc = scratch + p * panelFloats;
                    // The first chunk starts the lane sums in registers; rows past a short tile's last, which
                    // reduce16 reads (and drops), are zeroed so that it never reads stale sums.
                    if (k0 == 0)
                        for (std::int64_t i = rows * T * L; i < (rows + 15) / 16 * 16 * T * L; i += L)
                            Ops::store(pacc + i, Ops::zero());
                    const float* xp = x + t0 * cols + k0;
                    if (k == T)
                        panelRows<Ops, D, T>(wc, rowBytes, rows, xp, cols, len, pacc, k0 == 0);
                    else
                        panelRowsOf<Ops, D, T>(int(k), wc, rowBytes, rows, xp, cols, len, pacc, k0 == 0);
                    if (k0 + KC >= cols) // the last chunk: the panel's sums are done (and still in L1)
                        reducePanel<Ops>(pacc, rows, k, y + t0 * ldy + rt, ldy);
                }
            }
        }
    }
}

template <class Ops, DType D, int K>
QS_FMM_TARGET void streamTokens(int n, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                                const float* x, float* y, std::int64_t ldy)
{
    if constexpr (K > 2) {
        if (n < K)
            return streamTokens<Ops, D, K - 1>(n, w, cols, r0, r1, x, y, ldy);
    }
    streamRows<Ops, D, Ops::R, K>(w, cols, r0, r1, x, y, ldy);
}

template <class Ops, DType D>
QS_FMM_TARGET void runTyped(const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                            const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch)
{
    if (n == 1)
        streamRows<Ops, D, Ops::RV, 1>(w, cols, r0, r1, x, y, ldy);
    else if (n <= Ops::T)
        streamTokens<Ops, D, Ops::T>(int(n), w, cols, r0, r1, x, y, ldy);
    else
        blocked<Ops, D>(w, cols, r0, r1, x, n, y, ldy, scratch);
}

template <class Ops>
QS_FMM_TARGET void run(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                       const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch)
{
    switch (dtype) {
    case DType::F32:
        return runTyped<Ops, DType::F32>(w, cols, r0, r1, x, n, y, ldy, scratch);
    case DType::F16:
        return runTyped<Ops, DType::F16>(w, cols, r0, r1, x, n, y, ldy, scratch);
    case DType::BF16:
        return runTyped<Ops, DType::BF16>(w, cols, r0, r1, x, n, y, ldy, scratch);
    default:
        return; // checked by the caller
    }
}

} // namespace qs::fmm::QS_FMM_NS

#undef QS_FMM_INLINE
