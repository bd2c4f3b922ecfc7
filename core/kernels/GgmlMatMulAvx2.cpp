// AVX2 kernels of the ggml matrix products (GgmlMatMul.h). Two tile kernels cover the formats:
//
// - Legacy blocks of 32 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL): one register of 32 codes per block,
//   vpmaddubsw + vpmaddwd give eight int32 lane sums, converted and multiplied into a float
//   accumulator by the product of the two block scales. The scale products of eight blocks are
//   formed as one vector (F16C) per row and token, then broadcast from memory per block.
// - Super-blocks of 256 (Q2_K … Q6_K, IQ4_XS): eight units of 32 codes, each unit's int16 pair sums
//   multiplied by its group scale(s) in vpmaddwd, so the whole super-block stays in int32 lanes;
//   one conversion and FMA per super-block. Codes are unpacked unsigned (Q3_K and Q6_K carry their
//   offset, taken back through the activation's group sums), the IQ4 code book signed (vpsignb).
//
// The activation codes never reach −128 (ggml's Q8 quantizers clamp to ±127), which vpsignb and
// vpmaddubsw need; pair sums stay below 2¹⁵ for every format here.

#include "kernels/GgmlMatMulKernels.h"
#include "kernels/GgmlMatMulTiles.h"

#include <cstddef>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) // 64-bit only: the kernels move 64-bit masks and words
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#include "kernels/GgmlMatMulX86.h" // inside the target region: compiled for this variant

namespace qs::ggmlmm {

namespace {

using namespace ggml;

inline __m256i load256(const void* p)
{
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load128(const void* p)
{
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
inline __m256i bytes(int v)
{
    return _mm256_set1_epi8(static_cast<char>(v));
}
inline float halfToFloat(std::uint16_t h)
{
    return _cvtsh_ss(h);
}

/// 16 bytes of nibble pairs → 32 codes: the low nibbles in bytes 0–15, the high ones in 16–31.
inline __m256i nibbles(const std::uint8_t* p)
{
    const __m128i v = load128(p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), bytes(0xF));
}

/// 32 bits → 32 bytes, 0xFF where the bit is set.
inline __m256i bitsToBytes(const std::uint8_t* p)
{
    std::uint32_t h;
    std::memcpy(&h, p, 4);
    const __m256i spread =
        _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(h)),
                            _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

/// Moves the single bit `from` of every byte (the others are zero) to bit `to`, within 16-bit lanes.
/// The unit loops are unrolled, so the counts are constants.
inline __m256i moveBit(__m256i v, int from, int to)
{
    if (from < to)
        return _mm256_slli_epi16(v, to - from);
    if (from > to)
        return _mm256_srli_epi16(v, from - to);
    return v;
}

/// The eight lanes summed in one fixed order.
inline float sumLanes(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Σ code·activation over pairs, as int16: unsigned codes directly, signed ones through vpsignb.
template <bool Signed>
inline __m256i pairSums(__m256i w, __m256i absW, __m256i x)
{
    if constexpr (Signed)
        return _mm256_maddubs_epi16(absW, _mm256_sign_epi8(x, w));
    else
        return _mm256_maddubs_epi16(w, x);
}

// ---- Legacy formats: blocks of 32 ------------------------------------------------------------

struct LegacyQ4_0
{
    using Block = BlockQ4_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kMin = false;
    static __m256i codes(const Block& b) { return _mm256_sub_epi8(nibbles(b.qs), bytes(8)); }
};
struct LegacyQ4_1
{
    using Block = BlockQ4_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kMin = true;
    static __m256i codes(const Block& b) { return nibbles(b.qs); }
};
struct LegacyQ5_0
{
    using Block = BlockQ5_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kMin = false;
    /// The code − 16: the nibble with 0xF0 or-ed in (−16 as a byte) where the high bit is clear.
    static __m256i codes(const Block& b)
    {
        return _mm256_or_si256(nibbles(b.qs), _mm256_andnot_si256(bitsToBytes(b.qh), bytes(0xF0)));
    }
};
struct LegacyQ5_1
{
    using Block = BlockQ5_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kMin = true;
    static __m256i codes(const Block& b)
    {
        return _mm256_or_si256(nibbles(b.qs), _mm256_and_si256(bitsToBytes(b.qh), bytes(0x10)));
    }
};
struct LegacyQ8_0
{
    using Block = BlockQ8_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kMin = false;
    static __m256i codes(const Block& b) { return load256(b.qs); }
};
struct LegacyIQ4_NL
{
    using Block = BlockIQ4_NL;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kMin = false;
    static __m256i codes(const Block& b)
    {
        const __m256i table = _mm256_broadcastsi128_si256(load128(kIq4Table));
        return _mm256_shuffle_epi8(table, nibbles(b.qs));
    }
};

template <class F>
struct LegacyTile
{
    using Block = typename F::Block;
    using Act = typename F::Act;
    static constexpr int kGroup = 8; // blocks whose scale products are formed together

    // Not inlined into the loops of GgmlMatMulTiles.h (the x86-64-v3 baseline would allow it): the
    // inlined decode tile measured 20 % slower.
    template <int R, int T>
    __attribute__((noinline)) static void run(const std::uint8_t* const* w, const std::uint8_t* const* x,
                                              std::int64_t blocks, const void* const*, float* out)
    {
        const Block* wb[R];
        const Act* xb[T];
        for (int i = 0; i < R; ++i)
            wb[i] = reinterpret_cast<const Block*>(w[i]);
        for (int j = 0; j < T; ++j)
            xb[j] = reinterpret_cast<const Act*>(x[j]);
        __m256 acc[R][T], mins[R][T]; // mins: Σ m·s of the Q8_1 formats, block k of each group in lane k
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) {
                acc[i][j] = _mm256_setzero_ps();
                mins[i][j] = _mm256_setzero_ps();
            }
        alignas(32) float dd[R][T][kGroup];
        const __m256i ones = _mm256_set1_epi16(1);
        for (std::int64_t g = 0; g < blocks; g += kGroup) {
            const int m = blocks - g < kGroup ? int(blocks - g) : kGroup;
            if constexpr (T == 1)
                for (int i = 0; i < R; ++i)
                    for (std::size_t l = 0; l < kGroup * sizeof(Block); l += 64)
                        _mm_prefetch(prefetchAddress<R>(wb[i], blocks * sizeof(Block), g * sizeof(Block) + l),
                                     _MM_HINT_T0);
            __m256 fx[T];
            for (int j = 0; j < T; ++j)
                fx[j] = halves8<sizeof(Act), offsetof(Act, d)>(xb[j] + g, m);
            for (int i = 0; i < R; ++i) {
                const __m256 fw = halves8<sizeof(Block), offsetof(Block, d)>(wb[i] + g, m);
                for (int j = 0; j < T; ++j)
                    _mm256_store_ps(dd[i][j], _mm256_mul_ps(fw, fx[j]));
            }
            for (int k = 0; k < m; ++k) {
                __m256i wv[R], aw[R];
                for (int i = 0; i < R; ++i) {
                    wv[i] = F::codes(wb[i][g + k]);
                    aw[i] = F::kSigned ? _mm256_sign_epi8(wv[i], wv[i]) : wv[i];
                }
                for (int j = 0; j < T; ++j) {
                    const __m256i xv = load256(xb[j][g + k].qs);
                    for (int i = 0; i < R; ++i) {
                        const __m256i p = _mm256_madd_epi16(pairSums<F::kSigned>(wv[i], aw[i], xv), ones);
                        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcast_ss(&dd[i][j][k]),
                                                    acc[i][j]);
                    }
                }
            }
            if constexpr (F::kMin) {
                __m256 fs[T];
                for (int j = 0; j < T; ++j)
                    fs[j] = halves8<sizeof(Act), offsetof(Act, s)>(xb[j] + g, m);
                for (int i = 0; i < R; ++i) {
                    const __m256 fm = halves8<sizeof(Block), offsetof(Block, m)>(wb[i] + g, m);
                    for (int j = 0; j < T; ++j)
                        mins[i][j] = _mm256_fmadd_ps(fm, fs[j], mins[i][j]);
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j)
                out[i * T + j] = F::kMin ? sumLanes(acc[i][j]) + sumLanes(mins[i][j]) : sumLanes(acc[i][j]);
    }
};

// ---- Super-block formats: 256 codes in eight units of 32 --------------------------------------
//
// A format F gives: Block; kSigned (codes come signed, else unsigned); kMins (0: none, 1: a min per
// group of 32, 2: per group of 16, subtracted as dmin·min·Σactivation through the bsums in float);
// kOffsetShift (≥ 0: the unsigned codes carry an offset 1 << shift, taken back exactly in int32 as
// offset · Σ scale16·bsum16); Row (what prep unpacks once per row and super-block: d, the scales,
// the mins as floats); unit<U>(block, row) → the 32 codes of unit U; scale<U>(row) → the int16
// multipliers of its 16 pair sums (one scale per group of 32, or two per groups of 16).

/// Word `lo` of the low 128-bit half of v in all that half's words, word `hi` of the high half in
/// all of its (v holds 8 int16 in each half).
inline __m256i spreadWords(__m256i v, int lo, int hi)
{
    const __m256i idx = _mm256_set_m128i(_mm_set1_epi16(static_cast<short>(2 * hi | (2 * hi + 1) << 8)),
                                         _mm_set1_epi16(static_cast<short>(2 * lo | (2 * lo + 1) << 8)));
    return _mm256_shuffle_epi8(v, idx);
}

/// Per-32 scales: unit U multiplies all its pair sums by scale U. Each scale is kept twice in a
/// dword, so that vpbroadcastd from memory (a plain load) spreads it over the register.
struct Scales32
{
    alignas(32) std::int32_t pairs[8];
    void set(__m256i s) // 8 int32 scales in [−2¹⁵, 2¹⁵)
    {
        _mm256_store_si256(
            reinterpret_cast<__m256i*>(pairs),
            _mm256_or_si256(_mm256_and_si256(s, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(s, 16)));
    }
    __m256i of(int u) const
    {
        // Hide where the pointer leads, or GCC forwards the stored vector and spreads the dword
        // with two shuffles instead of one broadcast load.
        const std::int32_t* p = pairs;
        __asm__("" : "+r"(p));
        return _mm256_set1_epi32(p[u]);
    }
};

/// Per-16 scales: unit U takes scale 2U for its first 16 codes, 2U + 1 for the next.
struct Scales16
{
    __m256i raw, lo, hi; // raw: s0..s15; lo/hi: s0..s7 / s8..s15 in both halves
    void set(__m256i s)
    {
        raw = s;
        lo = _mm256_permute2x128_si256(raw, raw, 0x00);
        hi = _mm256_permute2x128_si256(raw, raw, 0x11);
    }
    __m256i of(int u) const { return spreadWords(u < 4 ? lo : hi, 2 * (u % 4), 2 * (u % 4) + 1); }
};

struct KQ2_K
{
    using Block = BlockQ2_K;
    static constexpr bool kSigned = false;
    static constexpr int kMins = 2, kOffsetShift = -1;
    struct Row
    {
        Scales16 sc;
        __m256 mins[2];
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        const __m128i packed = load128(b.scales);
        r.sc.set(_mm256_cvtepu8_epi16(_mm_and_si128(packed, _mm_set1_epi8(0xF))));
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0xF));
        const __m256 dmin = _mm256_set1_ps(halfToFloat(b.dmin));
        r.mins[0] = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mins)));
        r.mins[1] = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(mins, 8))));
        r.d = halfToFloat(b.d);
    }
    static __m256i unit(const Block& b, const Row&, int u)
    {
        return _mm256_and_si256(_mm256_srli_epi16(load256(b.qs + 32 * (u / 4)), 2 * (u % 4)), bytes(3));
    }
    static __m256i scale(const Row& r, int u) { return r.sc.of(u); }
};

struct KQ3_K
{
    using Block = BlockQ3_K;
    static constexpr bool kSigned = false;
    static constexpr int kMins = 0, kOffsetShift = 2; // codes 0..7 stand for −4..3
    struct Row
    {
        Scales16 sc;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        r.sc.set(_mm256_cvtepi8_epi16(q3Scales(b.scales)));
        r.d = halfToFloat(b.d);
    }
    static __m256i unit(const Block& b, const Row&, int u)
    {
        const __m256i low =
            _mm256_and_si256(_mm256_srli_epi16(load256(b.qs + 32 * (u / 4)), 2 * (u % 4)), bytes(3));
        const __m256i high = _mm256_and_si256(load256(b.hmask), bytes(1 << u));
        return _mm256_or_si256(low, moveBit(high, u, 2));
    }
    static __m256i scale(const Row& r, int u) { return r.sc.of(u); }
};

template <bool High>
struct KQ45_K
{
    using Block = std::conditional_t<High, BlockQ5_K, BlockQ4_K>;
    static constexpr bool kSigned = false;
    static constexpr int kMins = 1, kOffsetShift = -1;
    struct Row
    {
        Scales32 sc;
        __m256 mins[1];
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        const __m128i both = kScalesMins(b.scales);
        const __m128i sc = both, mn = _mm_unpackhi_epi64(both, both);
        r.sc.set(_mm256_cvtepu8_epi32(sc));
        r.mins[0] =
            _mm256_mul_ps(_mm256_set1_ps(halfToFloat(b.dmin)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn)));
        r.d = halfToFloat(b.d);
    }
    static __m256i unit(const Block& b, const Row&, int u)
    {
        const __m256i q = load256(b.qs + 32 * (u / 2));
        __m256i v = _mm256_and_si256(u % 2 ? _mm256_srli_epi16(q, 4) : q, bytes(0xF));
        if constexpr (High)
            v = _mm256_or_si256(v, moveBit(_mm256_and_si256(load256(b.qh), bytes(1 << u)), u, 4));
        return v;
    }
    static __m256i scale(const Row& r, int u) { return r.sc.of(u); }
};

struct KQ6_K
{
    using Block = BlockQ6_K;
    static constexpr bool kSigned = false;
    static constexpr int kMins = 0, kOffsetShift = 5; // codes 0..63 stand for −32..31
    struct Row
    {
        Scales16 sc;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        r.sc.set(_mm256_cvtepi8_epi16(load128(b.scales)));
        r.d = halfToFloat(b.d);
    }
    static __m256i unit(const Block& b, const Row&, int u)
    {
        const int h = u / 4, k = u % 4;
        const __m256i ql = load256(b.ql + 64 * h + 32 * (k % 2));
        const __m256i qh = load256(b.qh + 32 * h);
        const __m256i low = _mm256_and_si256(k < 2 ? ql : _mm256_srli_epi16(ql, 4), bytes(0xF));
        __m256i high;
        if (k == 0)
            high = _mm256_slli_epi16(qh, 4);
        else if (k == 1)
            high = _mm256_slli_epi16(qh, 2);
        else if (k == 2)
            high = qh;
        else
            high = _mm256_srli_epi16(qh, 2);
        return _mm256_or_si256(low, _mm256_and_si256(high, bytes(0x30)));
    }
    static __m256i scale(const Row& r, int u) { return r.sc.of(u); }
};

struct KIQ4_XS
{
    using Block = BlockIQ4_XS;
    static constexpr bool kSigned = true;
    static constexpr int kMins = 0, kOffsetShift = -1;
    struct Row
    {
        Scales32 sc;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        r.sc.set(iq4xsScales(b));
        r.d = halfToFloat(b.d);
    }
    static __m256i unit(const Block& b, const Row&, int u)
    {
        const __m256i table = _mm256_broadcastsi128_si256(load128(kIq4Table));
        return _mm256_shuffle_epi8(table, nibbles(b.qs + 16 * u));
    }
    static __m256i scale(const Row& r, int u) { return r.sc.of(u); }
};

template <class F>
struct SuperTile
{
    using Block = typename F::Block;
    using Row = typename F::Row;
    static constexpr std::size_t kPreparedBytes = sizeof(Row);

    static void prepare(const std::uint8_t* w, std::int64_t blocks, void* out)
    {
        for (std::int64_t s = 0; s < blocks; ++s)
            F::prep(reinterpret_cast<const Block*>(w)[s], static_cast<Row*>(out)[s]);
    }

    // Not inlined into the loops of GgmlMatMulTiles.h (the x86-64-v3 baseline would allow it): the
    // inlined decode tile measured 20 % slower.
    template <int R, int T>
    __attribute__((noinline)) static void run(const std::uint8_t* const* w, const std::uint8_t* const* x,
                                              std::int64_t blocks, const void* const* prepared, float* out)
    {
        __m256 acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j)
                acc[i][j] = _mm256_setzero_ps();
        for (std::int64_t s = 0; s < blocks; ++s) {
            const Block* wb[R];
            // Decode unpacks each row's scales here (it meets the row once); prefill reads the row
            // block's prepared ones.
            Row local[T == 1 ? R : 1];
            auto row = [&](int i) -> const Row& {
                if constexpr (T == 1)
                    return local[i];
                else
                    return static_cast<const Row*>(prepared[i])[s];
            };
            const BlockQ8_K* xb[T];
            for (int i = 0; i < R; ++i) {
                wb[i] = reinterpret_cast<const Block*>(w[i]) + s;
                if constexpr (T == 1)
                    F::prep(*wb[i], local[i]);
                if constexpr (T == 1)
                    for (std::size_t l = 0; l < sizeof(Block); l += 64)
                        _mm_prefetch(prefetchAddress<R>(w[i], blocks * sizeof(Block), s * sizeof(Block) + l),
                                     _MM_HINT_T0);
            }
            __m256 dx[T], bsf[T][2];
            __m256i bs[T];
            for (int j = 0; j < T; ++j) {
                xb[j] = reinterpret_cast<const BlockQ8_K*>(x[j]) + s;
                dx[j] = _mm256_set1_ps(xb[j]->d);
                bs[j] = load256(xb[j]->bsums);
                if constexpr (F::kMins == 1)
                    bsf[j][0] = _mm256_mul_ps(
                        dx[j], _mm256_cvtepi32_ps(_mm256_madd_epi16(bs[j], _mm256_set1_epi16(1))));
                if constexpr (F::kMins == 2) {
                    bsf[j][0] = _mm256_mul_ps(
                        dx[j], _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(bs[j]))));
                    bsf[j][1] = _mm256_mul_ps(
                        dx[j], _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(bs[j], 1))));
                }
            }
            // Σ over the eight units of scale · pair sums, for (row i, token j). Decode goes row by row
            // (its one accumulator per row stays in a register); prefill unit by unit, each unpacked
            // unit meeting all T tokens. The sums and their order are the same either way.
            __m256i isum[R][T];
            for (int i = 0; i < R; ++i)
                for (int j = 0; j < T; ++j)
                    isum[i][j] = _mm256_setzero_si256();
            auto step = [&](int i, int u) {
                const __m256i wv = F::unit(*wb[i], row(i), u);
                const __m256i aw = F::kSigned ? _mm256_sign_epi8(wv, wv) : wv;
                const __m256i sc = F::scale(row(i), u);
#pragma GCC unroll 4
                for (int j = 0; j < T; ++j) {
                    const __m256i p = pairSums<F::kSigned>(wv, aw, load256(xb[j]->qs + 32 * u));
                    isum[i][j] = _mm256_add_epi32(isum[i][j], _mm256_madd_epi16(p, sc));
                }
            };
            if constexpr (T == 1) {
                for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
                    for (int u = 0; u < 8; ++u)
                        step(i, u);
            } else {
#pragma GCC unroll 8
                for (int u = 0; u < 8; ++u)
#pragma GCC unroll 4
                    for (int i = 0; i < R; ++i)
                        step(i, u);
            }
            for (int i = 0; i < R; ++i) {
                const __m256 d = _mm256_set1_ps(row(i).d);
                for (int j = 0; j < T; ++j) {
                    __m256i v = isum[i][j];
                    if constexpr (F::kOffsetShift >= 0)
                        v = _mm256_sub_epi32(
                            v, _mm256_slli_epi32(_mm256_madd_epi16(bs[j], row(i).sc.raw), F::kOffsetShift));
                    acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_mul_ps(d, dx[j]), acc[i][j]);
                    if constexpr (F::kMins > 0)
                        for (int k = 0; k < F::kMins; ++k)
                            acc[i][j] = _mm256_fnmadd_ps(row(i).mins[k], bsf[j][k], acc[i][j]);
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j)
                out[i * T + j] = sumLanes(acc[i][j]);
    }
};

template <class Tile, int BlockSize, int RowsGemv, int RowsGemm, int TokensGemm>
void matMul(const MatMulArgs& a)
{
    TiledMatMul<Tile, RowsGemv, RowsGemm, TokensGemm>::run(a, a.cols / BlockSize);
}

} // namespace

MatMulFn avx2MatMul(GgmlType type)
{
    switch (type) {
    case GgmlType::Q4_0:
        return matMul<LegacyTile<LegacyQ4_0>, kLegacyBlock, 4, 2, 4>;
    case GgmlType::Q4_1:
        return matMul<LegacyTile<LegacyQ4_1>, kLegacyBlock, 4, 2, 4>;
    case GgmlType::Q5_0:
        return matMul<LegacyTile<LegacyQ5_0>, kLegacyBlock, 4, 2, 4>;
    case GgmlType::Q5_1:
        return matMul<LegacyTile<LegacyQ5_1>, kLegacyBlock, 4, 2, 4>;
    case GgmlType::Q8_0:
        return matMul<LegacyTile<LegacyQ8_0>, kLegacyBlock, 4, 2, 4>;
    case GgmlType::IQ4_NL:
        return matMul<LegacyTile<LegacyIQ4_NL>, kLegacyBlock, 4, 2, 4>;
    case GgmlType::Q2_K:
        return matMul<SuperTile<KQ2_K>, kSuperBlock, 4, 2, 4>;
    case GgmlType::Q3_K:
        return matMul<SuperTile<KQ3_K>, kSuperBlock, 4, 2, 4>;
    case GgmlType::Q4_K:
        return matMul<SuperTile<KQ45_K<false>>, kSuperBlock, 4, 2, 4>;
    case GgmlType::Q5_K:
        return matMul<SuperTile<KQ45_K<true>>, kSuperBlock, 4, 2, 4>;
    case GgmlType::Q6_K:
        return matMul<SuperTile<KQ6_K>, kSuperBlock, 4, 2, 4>;
    case GgmlType::IQ4_XS:
        return matMul<SuperTile<KIQ4_XS>, kSuperBlock, 4, 2, 4>;
    default:
        return nullptr;
    }
}

} // namespace qs::ggmlmm

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else // not x86

namespace qs::ggmlmm {
MatMulFn avx2MatMul(GgmlType)
{
    return nullptr;
}
} // namespace qs::ggmlmm

#endif
