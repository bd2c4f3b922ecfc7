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
// Tiles (R rows × T tokens), column blocks (KC, a multiple of L: lane sums are stored and reloaded between
// blocks, which rounds nothing) and converting W to f32 first (exact for f16 and bf16) only group outputs and
// move data, so a result depends on neither the row range, nor n, nor the tile it falls in.
//
// Ops provides: V (vector type), L (lanes), R × T (GEMM micro-tile), NB (tokens per block, a multiple of T),
// KC (columns per block, a multiple of L), RV (rows of the n = 1 GEMV), zero(), loadX(const float*),
// loadXPart(const float*, k), loadF32/F16/Bf16 and their …Part(const char*, k) (k < L elements, rest zero),
// fma(w, x, acc), load/store(float*) (the scratch), reduce(V) → float.

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

/// R rows × T tokens over `len` columns: rows at w + r·wStride bytes, tokens at x + t·xStride floats, lane
/// sums of (r, t) at acc + r·accStride + t·L (loaded, advanced, stored back).
template <class Ops, DType D, int R, int T>
QS_FMM_INLINE void micro(const char* w, std::size_t wStride, const float* x, std::int64_t xStride,
                         std::int64_t len, float* acc, std::int64_t accStride)
{
    using V = typename Ops::V;
    constexpr int L = Ops::L;
    V a[R][T];
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < T; ++t)
            a[r][t] = Ops::load(acc + r * accStride + t * L);
    std::int64_t c = 0;
    for (; c + L <= len; c += L) {
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

/// All `rows` rows of a W block (f32, rows wStride bytes apart) against T tokens: the tokens' slices stay in
/// L1 while the block goes by.
template <class Ops, int T>
QS_FMM_INLINE void tokenPanel(const char* w, std::size_t wStride, std::int64_t rows, const float* x,
                              std::int64_t xStride, std::int64_t len, float* acc, std::int64_t accStride)
{
    constexpr int R = Ops::R;
    std::int64_t r = 0;
    for (; r + R <= rows; r += R)
        micro<Ops, DType::F32, R, T>(w + r * wStride, wStride, x, xStride, len, acc + r * accStride,
                                     accStride);
    for (; r < rows; ++r)
        micro<Ops, DType::F32, 1, T>(w + r * wStride, wStride, x, xStride, len, acc + r * accStride,
                                     accStride);
}

/// tokenPanel<…, k> for a run-time k in [1, K].
template <class Ops, int K>
QS_FMM_INLINE void tokenPanelOf(int k, const char* w, std::size_t wStride, std::int64_t rows, const float* x,
                                std::int64_t xStride, std::int64_t len, float* acc, std::int64_t accStride)
{
    if constexpr (K > 1) {
        if (k < K)
            return tokenPanelOf<Ops, K - 1>(k, w, wStride, rows, x, xStride, len, acc, accStride);
    }
    tokenPanel<Ops, K>(w, wStride, rows, x, xStride, len, acc, accStride);
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
        for (int i = 0; i < R * T; ++i)
            Ops::store(acc + i * L, Ops::zero());
        micro<Ops, D, R, T>(w + std::size_t(r0 + g) * rowBytes, std::size_t(q) * rowBytes, x, cols, cols, acc,
                            T * L);
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < T; ++t)
                y[t * ldy + r0 + g + i * q] = Ops::reduce(Ops::load(acc + (i * T + t) * L));
    }
    for (std::int64_t r = r0 + R * q; r < r1; ++r) {
        for (int t = 0; t < T; ++t)
            Ops::store(acc + t * L, Ops::zero());
        micro<Ops, D, 1, T>(w + std::size_t(r) * rowBytes, rowBytes, x, cols, cols, acc, T * L);
        for (int t = 0; t < T; ++t)
            y[t * ldy + r] = Ops::reduce(Ops::load(acc + t * L));
    }
}

/// Converts `rows` rows of `len` elements (rows rowBytes apart) to f32 rows Ops::KC floats apart, zero-padded
/// to whole vectors.
template <class Ops, DType D>
QS_FMM_TARGET void packBlock(const char* w, std::size_t rowBytes, std::int64_t rows, std::int64_t len,
                             float* out)
{
    constexpr int L = Ops::L;
    for (std::int64_t r = 0; r < rows; ++r) {
        const char* src = w + std::size_t(r) * rowBytes;
        float* dst = out + r * Ops::KC;
        std::int64_t c = 0;
        for (; c + L <= len; c += L)
            Ops::store(dst + c, loadW<Ops, D>(src + std::size_t(c) * kBytes<D>));
        if (c < len)
            Ops::store(dst + c, loadWPart<Ops, D>(src + std::size_t(c) * kBytes<D>, int(len - c)));
    }
}

/// Software prefetch of a W block, a slice at a time: its rows lie a whole W row apart, too many streams for
/// the hardware prefetcher to pick up in the few lines each row has in a block.
struct BlockPrefetch
{
    const char* base = nullptr;
    std::size_t rowBytes = 0;
    std::int64_t linesPerRow = 0, lines = 0;

    QS_FMM_INLINE void fetch(std::int64_t from, std::int64_t to) const
    {
        for (std::int64_t i = from; i < std::min(lines, to); ++i)
            __builtin_prefetch(base + std::size_t(i / linesPerRow) * rowBytes +
                               std::size_t(i % linesPerRow) * 64);
    }
};

/// Large n: per tile of kFloatMatMulRowTile rows and block of NB tokens, the columns go by in blocks of KC:
/// the W block is converted to f32 once (f32 rows too: contiguous rows stream better than rows a whole W row
/// apart) and every token panel (T tokens, read in place) runs over it, its lane sums in the scratch, while
/// the next W block and the next panel's tokens are prefetched.
template <class Ops, DType D>
QS_FMM_TARGET void blocked(const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1, const float* x,
                           std::int64_t n, float* y, std::int64_t ldy, float* scratch)
{
    constexpr int L = Ops::L, R = Ops::R, T = Ops::T;
    constexpr std::int64_t NB = Ops::NB, KC = Ops::KC, kTile = kFloatMatMulRowTile;
    static_assert(NB % T == 0 && KC % L == 0 && kTile % R == 0, "blocks hold whole micro-tiles");
    static_assert(kTile * KC + kTile * NB * L <= kScratchFloats, "the scratch holds the blocks");
    constexpr std::int64_t panelFloats = kTile * T * L; // lane sums of one token panel: [row][token][lane]
    float* wpack = scratch;
    float* acc = wpack + kTile * KC;
    const char* wb = reinterpret_cast<const char*>(wpack);
    constexpr std::size_t wbStride = KC * sizeof(float);
    const std::size_t rowBytes = std::size_t(cols) * kBytes<D>;
    for (std::int64_t rt = r0; rt < r1; rt += kTile) {
        const std::int64_t rows = std::min(kTile, r1 - rt);
        for (std::int64_t tb = 0; tb < n; tb += NB) {
            const std::int64_t nt = std::min(NB, n - tb), panels = (nt + T - 1) / T;
            for (std::int64_t i = 0; i < panels * panelFloats; i += L)
                Ops::store(acc + i, Ops::zero());
            for (std::int64_t k0 = 0; k0 < cols; k0 += KC) {
                const std::int64_t len = std::min(KC, cols - k0);
                packBlock<Ops, D>(w + std::size_t(rt) * rowBytes + std::size_t(k0) * kBytes<D>, rowBytes,
                                  rows, len, wpack);
                // Next: this tile's next columns, else the next tile's first ones.
                const bool last = k0 + KC >= cols;
                const std::int64_t nextRow = last ? rt + kTile : rt, nextCol = last ? 0 : k0 + KC;
                BlockPrefetch next;
                if (nextRow < r1) {
                    next = {w + std::size_t(nextRow) * rowBytes + std::size_t(nextCol) * kBytes<D>, rowBytes,
                            (std::min(KC, cols - nextCol) * kBytes<D> + 63) / 64, 0};
                    next.lines = std::min(kTile, r1 - nextRow) * next.linesPerRow;
                }
                const std::int64_t slice = (next.lines + panels - 1) / panels;
                for (std::int64_t p = 0; p < panels; ++p) {
                    const std::int64_t t0 = tb + p * T, k = std::min<std::int64_t>(T, tb + nt - t0);
                    next.fetch(p * slice, (p + 1) * slice);
                    for (std::int64_t t = t0 + T; t < std::min(t0 + 2 * T, tb + nt); ++t)
                        for (std::int64_t b = 0; b < len; b += 64 / std::int64_t(sizeof(float)))
                            __builtin_prefetch(x + t * cols + k0 + b);
                    const float* xp = x + t0 * cols + k0;
                    float* pacc = acc + p * panelFloats;
                    if (k == T)
                        tokenPanel<Ops, T>(wb, wbStride, rows, xp, cols, len, pacc, T * L);
                    else
                        tokenPanelOf<Ops, T>(int(k), wb, wbStride, rows, xp, cols, len, pacc, T * L);
                }
            }
            for (std::int64_t p = 0; p < panels; ++p) {
                const std::int64_t t0 = tb + p * T, k = std::min<std::int64_t>(T, tb + nt - t0);
                for (std::int64_t r = 0; r < rows; ++r)
                    for (std::int64_t t = 0; t < k; ++t)
                        y[(t0 + t) * ldy + rt + r] =
                            Ops::reduce(Ops::load(acc + p * panelFloats + (r * T + t) * L));
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
