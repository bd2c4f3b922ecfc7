// floatMatMulTiles (kernels/FloatMatMul.h): F16 and BF16 weights times many tokens on AMX tiles (tdpbf16ps,
// 16 × 16 outputs × 32 columns per instruction). Inputs are packed once per call into B tiles (VNNI: pairs
// of columns, 16 tokens a tile), as bf16 planes: one (the inputs rounded to bf16) or three whose sum is the
// f32 input exactly. F16 weights are split the same way into two bf16 planes (f16's 11 significant bits
// are 8 + 3), BF16 weights are one; every product of two bf16 values is exact, so the planes' products sum
// to x·W with only the additions rounded. Weights are copied per block of 32 rows and 1024 columns into
// contiguous A tiles (loading them straight from rows 4 KiB apart thrashes one L1 set), the outputs of a
// block are gathered in C tiles over the columns and transposed into y at the end.
#include "kernels/CpuFeatures.h"
#include "kernels/FloatMatMul.h"
#include "kernels/FloatMatMulVariants.h"
#include "kernels/SimdVariant.h"
#include "util/Error.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#if defined(__x86_64__) && defined(__GNUC__) && (defined(__clang__) || __GNUC__ >= 11)
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#define QS_TILES_X86 1
#define QS_TILES                                                                                             \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,amx-tile,amx-bf16")))
#endif

namespace qs {

namespace {

constexpr int kStep = 32;                // columns per tile step (16 pairs)
constexpr int kBlockTokens = 16;         // tokens per B tile
constexpr std::size_t kTileHalves = 512; // bf16 values in one 16 × 64-byte tile

#ifdef QS_TILES_X86

constexpr int kBlockRows = 32;  // weight rows per block (two A tiles)
constexpr int kChunkSteps = 32; // steps per weight chunk copied at once (1024 columns)

/// The tile shapes every call uses: 0–3 the 2 × 2 blocks of outputs (16 rows × 16 tokens of f32), 4–5 two
/// A tiles (16 weight rows × 32 bf16 columns), 6–7 two B tiles (16 column pairs × 16 tokens × 2 bf16).
struct alignas(64) TileConfig
{
    std::uint8_t palette = 1, startRow = 0;
    std::uint8_t reserved[14] = {};
    std::uint16_t colBytes[16] = {64, 64, 64, 64, 64, 64, 64, 64};
    std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

QS_TILES inline __mmask16 mask16(std::int64_t k)
{
    return k >= 16 ? __mmask16(0xffff) : k <= 0 ? __mmask16(0) : __mmask16((1u << k) - 1u);
}

QS_TILES inline __m512 bf16HalfToF32(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/// a (columns 0–15) and b (16–31) as bf16 pairs (dword p = columns 2p, 2p+1), rounded to nearest even with
/// subnormals to zero (vcvtne2ps2bf16); `rest` gets what the rounding left, exactly (a − bf16(a)).
QS_TILES inline __m512i roundPairs(__m512 a, __m512 b, __m512& restA, __m512& restB)
{
    const __m512i h = __m512i(_mm512_cvtne2ps_pbh(b, a));
    restA = _mm512_sub_ps(a, bf16HalfToF32(_mm512_castsi512_si256(h)));
    restB = _mm512_sub_ps(b, bf16HalfToF32(_mm512_extracti64x4_epi64(h, 1)));
    return h;
}

/// r[i] (16 dwords each) ← the transpose: r[i][j] = old r[j][i].
QS_TILES inline void transpose16(__m512i (&r)[16])
{
    __m512i t[16], s[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        s[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        s[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        s[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        s[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int g = 0; g < 16; g += 8)
        for (int i = 0; i < 4; ++i) {
            t[g + i] = _mm512_shuffle_i32x4(s[g + i], s[g + 4 + i], 0x88);
            t[g + 4 + i] = _mm512_shuffle_i32x4(s[g + i], s[g + 4 + i], 0xdd);
        }
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_i32x4(t[i], t[8 + i], 0xdd);
    }
}

/// One token block (16 tokens from t0) of the inputs into B tiles, every step and plane.
QS_TILES void packBlock(const float* x, std::int64_t n, std::int64_t cols, int planes, std::int64_t t0,
                        std::uint16_t* out)
{
    const std::int64_t steps = (cols + kStep - 1) / kStep;
    for (std::int64_t s = 0; s < steps; ++s) {
        const std::int64_t c0 = s * kStep;
        __m512i p[3][16];
        for (int t = 0; t < kBlockTokens; ++t) {
            __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
            if (t0 + t < n) {
                const float* row = x + (t0 + t) * cols + c0;
                a = _mm512_maskz_loadu_ps(mask16(cols - c0), row);
                b = _mm512_maskz_loadu_ps(mask16(cols - c0 - 16), row + 16);
            }
            __m512 ra, rb;
            p[0][t] = roundPairs(a, b, ra, rb);
            if (planes == 3) {
                __m512 la, lb;
                p[1][t] = roundPairs(ra, rb, la, lb);
                p[2][t] = __m512i(_mm512_cvtne2ps_pbh(lb, la)); // exact: what is left has ≤ 8 bits
            }
        }
        for (int pl = 0; pl < planes; ++pl) {
            transpose16(p[pl]);
            std::uint16_t* o = out + (std::size_t(s) * std::size_t(planes) + std::size_t(pl)) * kTileHalves;
            for (int pair = 0; pair < 16; ++pair)
                _mm512_store_si512(o + pair * 32, p[pl][pair]);
        }
    }
}

/// Rows [row0, row0 + rows) (rows ≤ 32) and steps [s0, s1) of W into A tiles: for each step, for each weight
/// plane, two tiles of 16 rows × 32 columns; rows and columns past the ends are zero.
QS_TILES void packWeights(DType dtype, const char* w, std::int64_t cols, std::int64_t row0, std::int64_t rows,
                          std::int64_t s0, std::int64_t s1, std::uint16_t* out)
{
    const int wplanes = dtype == DType::F16 ? 2 : 1;
    const std::size_t rowBytes = std::size_t(cols) * 2;
    for (std::int64_t s = s0; s < s1; ++s) {
        const std::int64_t c0 = s * kStep;
        const __mmask32 m = _cvtu32_mask32(cols - c0 >= 32 ? 0xffffffffu : (1u << (cols - c0)) - 1u);
        std::uint16_t* o = out + std::size_t(s - s0) * std::size_t(wplanes) * 2 * kTileHalves;
        for (int r = 0; r < kBlockRows; ++r) {
            const std::size_t at = std::size_t(r / 16) * kTileHalves + std::size_t(r % 16) * 32;
            if (r >= rows) {
                for (int pl = 0; pl < wplanes; ++pl)
                    _mm512_store_si512(o + std::size_t(pl) * 2 * kTileHalves + at, _mm512_setzero_si512());
                continue;
            }
            const char* src = w + std::size_t(row0 + r) * rowBytes + std::size_t(c0) * 2;
            const __m512i v = _mm512_maskz_loadu_epi16(m, src);
            if (wplanes == 1) {
                _mm512_store_si512(o + at, v);
                continue;
            }
            const __m512 a = _mm512_cvtph_ps(_mm512_castsi512_si256(v));
            const __m512 b = _mm512_cvtph_ps(_mm512_extracti64x4_epi64(v, 1));
            __m512 ra, rb;
            _mm512_store_si512(o + at, roundPairs(a, b, ra, rb));
            _mm512_store_si512(o + 2 * kTileHalves + at, __m512i(_mm512_cvtne2ps_pbh(rb, ra))); // exact
        }
    }
}

/// Steps [s0, s1) of one block of 32 weight rows (A tiles from packWeights) against the token blocks
/// [b, b + B) (B = 1 or 2), into the C tiles saved at c (first call of the block: from zero).
template <int B>
QS_TILES void blockSteps(const std::uint16_t* wp, int wplanes, const std::uint16_t* xp, std::int64_t steps,
                         int planes, std::int64_t b, std::int64_t s0, std::int64_t s1, float* c, bool first)
{
    if (first) {
        _tile_zero(0);
        _tile_zero(2);
        if (B == 2) {
            _tile_zero(1);
            _tile_zero(3);
        }
    } else {
        _tile_loadd(0, c, 64);
        _tile_loadd(2, c + 512, 64);
        if (B == 2) {
            _tile_loadd(1, c + 256, 64);
            _tile_loadd(3, c + 768, 64);
        }
    }
    const std::size_t blockStride = std::size_t(steps) * std::size_t(planes) * kTileHalves;
    for (std::int64_t s = s0; s < s1; ++s) {
        const std::uint16_t* a = wp + std::size_t(s - s0) * std::size_t(wplanes) * 2 * kTileHalves;
        const std::uint16_t* x0 = xp + std::size_t(b) * blockStride + std::size_t(s) * planes * kTileHalves;
        for (int wpl = 0; wpl < wplanes; ++wpl, a += 2 * kTileHalves) {
            _tile_loadd(4, a, 64);
            _tile_loadd(5, a + kTileHalves, 64);
            for (int pl = 0; pl < planes; ++pl) {
                _tile_loadd(6, x0 + std::size_t(pl) * kTileHalves, 64);
                _tile_dpbf16ps(0, 4, 6);
                _tile_dpbf16ps(2, 5, 6);
                if (B == 2) {
                    _tile_loadd(7, x0 + blockStride + std::size_t(pl) * kTileHalves, 64);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(3, 5, 7);
                }
            }
        }
    }
    _tile_stored(0, c, 64);
    _tile_stored(2, c + 512, 64);
    if (B == 2) {
        _tile_stored(1, c + 256, 64);
        _tile_stored(3, c + 768, 64);
    }
}

/// The per-thread scratch: one chunk of packed weights and one block's outputs over every token.
struct Scratch
{
    struct Free
    {
        void operator()(void* p) const { ::operator delete[](p, std::align_val_t(64)); }
    };
    std::unique_ptr<std::uint16_t[], Free> weights;
    std::unique_ptr<float[], Free> outputs;
    std::size_t outputFloats = 0;

    Scratch()
        : weights(static_cast<std::uint16_t*>(::operator new[](
              std::size_t(kChunkSteps) * 2 * 2 * kTileHalves * sizeof(std::uint16_t), std::align_val_t(64))))
    {}
    float* outputsFor(std::size_t floats)
    {
        if (floats > outputFloats) {
            outputs.reset(
                static_cast<float*>(::operator new[](floats * sizeof(float), std::align_val_t(64))));
            outputFloats = floats;
        }
        return outputs.get();
    }
};

QS_TILES void runTiles(DType dtype, const char* w, std::int64_t r0, std::int64_t r1, const TileInputs& x,
                       float* y, std::int64_t ldy)
{
    thread_local Scratch scratch;
    const std::int64_t cols = x.cols, n = x.n, steps = (cols + kStep - 1) / kStep;
    const std::int64_t blocks = (n + kBlockTokens - 1) / kBlockTokens;
    const int wplanes = dtype == DType::F16 ? 2 : 1;
    // Outputs of a block of rows, per pair of token blocks: four 16 × 16 tiles (rows 0–15 × tokens 0–15,
    // × tokens 16–31, rows 16–31 × tokens 0–15, × 16–31).
    float* c = scratch.outputsFor(std::size_t((blocks + 1) / 2) * 1024);
    const TileConfig config;
    _tile_loadconfig(&config);
    for (std::int64_t row0 = r0; row0 < r1; row0 += kBlockRows) {
        const std::int64_t rows = std::min<std::int64_t>(kBlockRows, r1 - row0);
        for (std::int64_t s0 = 0; s0 < steps; s0 += kChunkSteps) {
            const std::int64_t s1 = std::min(steps, s0 + kChunkSteps);
            packWeights(dtype, w, cols, row0, rows, s0, s1, scratch.weights.get());
            for (std::int64_t b = 0; b < blocks; b += 2) {
                float* cb = c + std::size_t(b / 2) * 1024;
                if (b + 1 < blocks)
                    blockSteps<2>(scratch.weights.get(), wplanes, x.tiles(), steps, x.planes, b, s0, s1, cb,
                                  s0 == 0);
                else
                    blockSteps<1>(scratch.weights.get(), wplanes, x.tiles(), steps, x.planes, b, s0, s1, cb,
                                  s0 == 0);
            }
        }
        // C tiles [row][token] → y[token][row].
        for (std::int64_t b = 0; b < blocks; ++b) {
            const float* cb = c + std::size_t(b / 2) * 1024 + std::size_t(b % 2) * 256;
            for (int half = 0; half < 2 && half * 16 < rows; ++half) {
                __m512i v[16];
                for (int i = 0; i < 16; ++i)
                    v[i] = _mm512_load_si512(cb + half * 512 + i * 16);
                transpose16(v);
                const __mmask16 m = mask16(rows - half * 16);
                for (int t = 0; t < kBlockTokens && b * kBlockTokens + t < n; ++t)
                    _mm512_mask_storeu_ps(y + (b * kBlockTokens + t) * ldy + row0 + half * 16, m,
                                          _mm512_castsi512_ps(v[t]));
            }
        }
    }
    _tile_release();
}

#endif // QS_TILES_X86

/// The bf16 values packTileInputs lays out for x's sizes (whole tiles).
std::size_t packedHalves(const TileInputs& x)
{
    const std::int64_t steps = (x.cols + kStep - 1) / kStep, blocks = (x.n + kBlockTokens - 1) / kBlockTokens;
    return std::size_t(blocks * steps) * std::size_t(std::max(x.planes, 0)) * kTileHalves;
}

} // namespace

bool floatMatMulTilesSupported()
{
#ifdef QS_TILES_X86
    static const bool supported = cpuFeatures().hasAmxBf16() && amxTileStateGranted();
    return supported;
#else
    return false;
#endif
}

bool floatMatMulTilesFast()
{
    return floatMatMulTilesSupported() && !simdVariantForced();
}

void packTileInputs(const float* x, std::int64_t n, std::int64_t cols, int planes, TileInputs& out)
{
    if (n < 0 || cols < 0 || (planes != 1 && planes != 3))
        throw Error(QStringLiteral("packTileInputs: bad sizes (tokens %1, cols %2, planes %3)")
                        .arg(n)
                        .arg(cols)
                        .arg(planes));
    if (!floatMatMulTilesSupported())
        throw Error(QStringLiteral("packTileInputs: this CPU (or OS) offers no AMX-BF16 tiles"));
    if (n > 0 && cols > 0 && !x)
        throw Error(QStringLiteral("packTileInputs: null inputs"));
    out.n = n;
    out.cols = cols;
    out.planes = planes;
    // 64-byte aligned: tile loads take any address, the packer's stores do not.
    out.data.resize(packedHalves(out) + 32);
    const std::size_t skew = (64 - reinterpret_cast<std::uintptr_t>(out.data.data()) % 64) % 64 / 2;
    out.offset = skew;
#ifdef QS_TILES_X86
    const std::int64_t steps = (cols + kStep - 1) / kStep, blocks = (n + kBlockTokens - 1) / kBlockTokens;
    for (std::int64_t b = 0; b < blocks; ++b)
        packBlock(x, n, cols, planes, b * kBlockTokens,
                  out.data.data() + skew + std::size_t(b * steps) * std::size_t(planes) * kTileHalves);
#endif
}

void floatMatMulTiles(DType dtype, const void* w, std::int64_t r0, std::int64_t r1, const TileInputs& x,
                      float* y, std::int64_t ldy)
{
    if (dtype != DType::F16 && dtype != DType::BF16)
        throw Error(QStringLiteral("floatMatMulTiles: weights of type %1 are neither f16 nor bf16")
                        .arg(dtypeName(dtype)));
    if (!fmm::checkMatMulArgs("floatMatMulTiles", w, x.cols, r0, r1,
                              reinterpret_cast<const float*>(x.tiles()), x.n, y, ldy))
        return;
    if ((x.planes != 1 && x.planes != 3) || x.data.size() < x.offset + packedHalves(x))
        throw Error(QStringLiteral("floatMatMulTiles: the packed inputs do not match their sizes"));
    if (x.cols == 0) { // empty sums
        for (std::int64_t t = 0; t < x.n; ++t)
            std::fill(y + t * ldy + r0, y + t * ldy + r1, 0.f);
        return;
    }
    if (!floatMatMulTilesSupported())
        throw Error(QStringLiteral("floatMatMulTiles: this CPU (or OS) offers no AMX-BF16 tiles"));
#ifdef QS_TILES_X86
    runTiles(dtype, static_cast<const char*>(w), r0, r1, x, y, ldy);
#endif
}

} // namespace qs
