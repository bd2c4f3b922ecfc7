// AVX-512 kernels of the ggml matrix products (GgmlMatMul.h), for CPUs with AVX512-VNNI: the
// shape of the AVX2 kernels (GgmlMatMulAvx2.cpp) on 64-byte registers, two units or blocks of 32
// per register.
//
// - Legacy blocks (Q4_0 … Q8_0, IQ4_NL): codes unsigned with an offset (Q4_0: q, offset 8; Q5_0:
//   offset 16; Q8_0 and IQ4_NL: value + 128, offset 128), vpdpbusd accumulates Σ code·activation
//   into lanes that start at −offset·Σactivation (formed once per token and block pair), which
//   leaves the exact Σ value·activation of each four codes; one conversion, scale product and FMA
//   per pair of blocks.
// - Super-blocks (Q2_K … Q6_K, IQ4_XS): vpmaddubsw pair sums, multiplied by the group scales and
//   accumulated by vpdpwssd; the IQ4 code book signed through a byte mask (AVX-512 has no vpsignb).
//
// Every (row, token) pair has its own accumulators, so results are the same for any tiling.

#include "kernels/CpuFeatures.h"
#include "kernels/GgmlMatMulKernels.h"
#include "kernels/GgmlMatMulTiles.h"
#include "kernels/SimdVariant.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) // 64-bit only: the kernels move 64-bit masks and words
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(                                                                                \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni"))),                  \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")
// GCC 12's avx512fintrin.h fills the pass-through operand of unmasked intrinsics with a
// self-initialized _mm512_undefined_*() value, which -Wmaybe-uninitialized reports at every call.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "kernels/GgmlMatMulX86.h" // inside the target region: compiled for this variant

namespace qs::ggmlmm {

namespace {

using namespace ggml;

template <int U>
using Int = std::integral_constant<int, U>;

template <int U, int N, class F>
inline void staticFor(F&& f)
{
    if constexpr (U < N) {
        f(Int<U>{});
        staticFor<U + 1, N>(f);
    }
}

inline __m512i load512(const void* p)
{
    return _mm512_loadu_si512(p);
}
inline __m256i load256(const void* p)
{
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load128(const void* p)
{
    return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
inline __m512i bytes(int v)
{
    return _mm512_set1_epi8(static_cast<char>(v));
}
inline float halfToFloat(std::uint16_t h)
{
    return _cvtsh_ss(h);
}
/// 32 bytes in both halves of a register.
inline __m512i twice(const void* p)
{
    return _mm512_broadcast_i64x4(load256(p));
}
/// The same 16-bit shift count for the words of the low half, another for the high half.
inline __m512i halfCounts(int lo, int hi)
{
    return _mm512_inserti64x4(_mm512_set1_epi16(static_cast<short>(lo)),
                              _mm256_set1_epi16(static_cast<short>(hi)), 1);
}
inline __m512i halfBytes(int lo, int hi)
{
    return _mm512_inserti64x4(bytes(lo), _mm256_set1_epi8(static_cast<char>(hi)), 1);
}

/// The eight or sixteen lanes summed in one fixed order.
inline float sumLanes8(__m256 h)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline float sumLanes(__m512 v)
{
    return sumLanes8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

// ---- Legacy formats: pairs of blocks of 32 ---------------------------------------------------
//
// A format gives Block, Act (Q8_0 or Q8_1), kOffset (0: unsigned codes as they are), kMin (Q8_1:
// add m·s per block) and codes(block, count) → the unsigned codes of blocks b and b+1 (count 1: only
// block b, the upper half zero).

/// Blocks b and b+1 (or b alone) of 32 bytes at stride S from p.
template <int S>
inline __m512i pairOf32(const void* p, int count)
{
    const __m256i lo = load256(p);
    const __m256i hi = count == 2 ? load256(static_cast<const std::uint8_t*>(p) + S) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/// The nibble codes of blocks b and b+1 (16 bytes each at stride S): 128-bit lanes low, high, low, high.
template <int S>
inline __m512i pairOfNibbles(const std::uint8_t* p, int count)
{
    const __m256i lo = _mm256_broadcastsi128_si256(load128(p));
    const __m256i hi = count == 2 ? _mm256_broadcastsi128_si256(load128(p + S)) : _mm256_setzero_si256();
    const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    const __m512i counts = _mm512_setr_epi64(0, 0, 0x0004000400040004, 0x0004000400040004, 0, 0,
                                             0x0004000400040004, 0x0004000400040004);
    return _mm512_and_si512(_mm512_srlv_epi16(v, counts), bytes(0xF));
}

/// The high bits of two Q5 blocks as a 64-bit byte mask.
template <int S>
inline __mmask64 pairOfHighBits(const std::uint8_t* p, int count)
{
    std::uint32_t lo, hi = 0;
    std::memcpy(&lo, p, 4);
    if (count == 2)
        std::memcpy(&hi, p + S, 4);
    return _cvtu64_mask64(lo | std::uint64_t(hi) << 32);
}

struct LegacyQ4_0
{
    using Block = BlockQ4_0;
    using Act = BlockQ8_0;
    static constexpr int kOffset = 8;
    static constexpr bool kMin = false;
    static __m512i codes(const Block* b, int count) { return pairOfNibbles<sizeof(Block)>(b->qs, count); }
};
struct LegacyQ4_1
{
    using Block = BlockQ4_1;
    using Act = BlockQ8_1;
    static constexpr int kOffset = 0;
    static constexpr bool kMin = true;
    static __m512i codes(const Block* b, int count) { return pairOfNibbles<sizeof(Block)>(b->qs, count); }
};
struct LegacyQ5_0
{
    using Block = BlockQ5_0;
    using Act = BlockQ8_0;
    static constexpr int kOffset = 16;
    static constexpr bool kMin = false;
    static __m512i codes(const Block* b, int count)
    {
        const __m512i v = pairOfNibbles<sizeof(Block)>(b->qs, count);
        return _mm512_mask_add_epi8(v, pairOfHighBits<sizeof(Block)>(b->qh, count), v, bytes(0x10));
    }
};
struct LegacyQ5_1
{
    using Block = BlockQ5_1;
    using Act = BlockQ8_1;
    static constexpr int kOffset = 0;
    static constexpr bool kMin = true;
    static __m512i codes(const Block* b, int count)
    {
        const __m512i v = pairOfNibbles<sizeof(Block)>(b->qs, count);
        return _mm512_mask_add_epi8(v, pairOfHighBits<sizeof(Block)>(b->qh, count), v, bytes(0x10));
    }
};
struct LegacyQ8_0
{
    using Block = BlockQ8_0;
    using Act = BlockQ8_0;
    static constexpr int kOffset = 128;
    static constexpr bool kMin = false;
    static __m512i codes(const Block* b, int count)
    {
        return _mm512_xor_si512(pairOf32<sizeof(Block)>(b->qs, count), bytes(0x80));
    }
};
struct LegacyIQ4_NL
{
    using Block = BlockIQ4_NL;
    using Act = BlockQ8_0;
    static constexpr int kOffset = 128;
    static constexpr bool kMin = false;
    static __m512i codes(const Block* b, int count)
    {
        const __m512i table = _mm512_xor_si512(_mm512_broadcast_i32x4(load128(kIq4Table)), bytes(0x80));
        return _mm512_shuffle_epi8(table, pairOfNibbles<sizeof(Block)>(b->qs, count));
    }
};

/// Q8_0 or Q8_1 activation codes of blocks b and b+1.
template <class Act>
inline __m512i activationPair(const Act* x, int count)
{
    return pairOf32<sizeof(Act)>(x->qs, count);
}

template <class F>
struct LegacyTile
{
    using Block = typename F::Block;
    using Act = typename F::Act;
    static constexpr int kGroup = 8; // blocks whose scale products are formed together

    template <int R, int T>
    static void run(const std::uint8_t* const* w, const std::uint8_t* const* x, std::int64_t blocks,
                    const void* const*, float* out)
    {
        const Block* wb[R];
        const Act* xb[T];
        for (int i = 0; i < R; ++i)
            wb[i] = reinterpret_cast<const Block*>(w[i]);
        for (int j = 0; j < T; ++j)
            xb[j] = reinterpret_cast<const Act*>(x[j]);
        __m512 acc[R][T];
        __m256 mins[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) {
                acc[i][j] = _mm512_setzero_ps();
                mins[i][j] = _mm256_setzero_ps();
            }
        const __m512i pairIdx[4] = {_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                    _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
                                    _mm512_set_epi32(5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4),
                                    _mm512_set_epi32(7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 6)};
        for (std::int64_t g = 0; g < blocks; g += kGroup) {
            // Scales past the row's end are 0, so the zero codes of a lone last block add 0.
            const int m = blocks - g < kGroup ? int(blocks - g) : kGroup;
            if constexpr (T == 1)
                for (int i = 0; i < R; ++i)
                    for (std::size_t l = 0; l < kGroup * sizeof(Block); l += 64)
                        _mm_prefetch(prefetchAddress<R>(wb[i], blocks * sizeof(Block), g * sizeof(Block) + l),
                                     _MM_HINT_T0);
            __m512 fw[R], fx[T];
            for (int i = 0; i < R; ++i)
                fw[i] = _mm512_castps256_ps512(halves8<sizeof(Block), offsetof(Block, d)>(wb[i] + g, m));
            for (int j = 0; j < T; ++j)
                fx[j] = _mm512_castps256_ps512(halves8<sizeof(Act), offsetof(Act, d)>(xb[j] + g, m));
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
            for (int q = 0; q < (m + 1) / 2; ++q) {
                const int count = 2 * q + 1 < m ? 2 : 1;
                __m512i wv[R];
                __m512 ws[R];
                for (int i = 0; i < R; ++i) {
                    wv[i] = F::codes(wb[i] + g + 2 * q, count);
                    ws[i] = _mm512_permutexvar_ps(pairIdx[q], fw[i]);
                }
                for (int j = 0; j < T; ++j) {
                    const __m512i xv = activationPair(xb[j] + g + 2 * q, count);
                    __m512i start = _mm512_setzero_si512();
                    if constexpr (F::kOffset != 0)
                        start = _mm512_sub_epi32(start, _mm512_dpbusd_epi32(start, bytes(F::kOffset), xv));
                    const __m512 xs = _mm512_permutexvar_ps(pairIdx[q], fx[j]);
                    for (int i = 0; i < R; ++i) {
                        const __m512i s = _mm512_dpbusd_epi32(start, wv[i], xv);
                        acc[i][j] =
                            _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(ws[i], xs), acc[i][j]);
                    }
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j) {
                float r = sumLanes(acc[i][j]);
                if constexpr (F::kMin)
                    r += sumLanes8(mins[i][j]);
                out[i * T + j] = r;
            }
    }
};

// ---- Super-block formats: 256 codes in four pairs of units of 32 ------------------------------
//
// As in GgmlMatMulAvx2.cpp, with pair<P>(block, row) → the codes of units 2P and 2P+1 and
// scale<P>(row) → the int16 multipliers of their 32 pair sums, picked by vpermw from the row's
// scales; the mins always per group of 16 (16 floats), against the 16 bsums.

/// Per-16 scales (16 words, low half): vpermw indices for pair P (words 8k … 8k+7 ← 4P + k). Per-32
/// scales (8 words in every 128-bit lane): vpshufb indices (words 0–15 ← 2P, 16–31 ← 2P+1).
template <int P, bool Per16>
inline __m512i scaleIndex()
{
    alignas(64) std::int16_t idx[32];
    for (int wd = 0; wd < 32; ++wd) {
        const int src = Per16 ? 4 * P + wd / 8 : 2 * P + wd / 16;
        idx[wd] = std::int16_t(Per16 ? src : (2 * src) | (2 * src + 1) << 8);
    }
    return _mm512_load_si512(idx);
}

struct KQ2_K
{
    using Block = BlockQ2_K;
    static constexpr bool kSigned = false, kPer16 = true;
    static constexpr int kOffsetShift = -1;
    static constexpr bool kMins = true;
    struct Row
    {
        __m512i sc;
        __m512 mins;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        const __m128i packed = load128(b.scales);
        r.sc = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(packed, _mm_set1_epi8(0xF))));
        const __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0xF));
        r.mins = _mm512_mul_ps(_mm512_set1_ps(halfToFloat(b.dmin)),
                               _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(mins)));
        r.d = halfToFloat(b.d);
    }
    template <int P>
    static __m512i pair(const Block& b)
    {
        constexpr int k = P / 2, j = 2 * (P % 2); // units 4k + j, 4k + j + 1
        return _mm512_and_si512(_mm512_srlv_epi16(twice(b.qs + 32 * k), halfCounts(2 * j, 2 * j + 2)),
                                bytes(3));
    }
};

struct KQ3_K
{
    using Block = BlockQ3_K;
    static constexpr bool kSigned = false, kPer16 = true;
    static constexpr int kOffsetShift = 2;
    static constexpr bool kMins = false;
    struct Row
    {
        __m512i sc;
        __m512 mins;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        r.sc = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(q3Scales(b.scales)));
        r.d = halfToFloat(b.d);
    }
    template <int P>
    static __m512i pair(const Block& b)
    {
        constexpr int h = P / 2, k = 2 * (P % 2), u = 2 * P; // units u = 4h + k and u + 1
        const __m512i low =
            _mm512_and_si512(_mm512_srlv_epi16(twice(b.qs + 32 * h), halfCounts(2 * k, 2 * k + 2)), bytes(3));
        const __mmask64 high = _mm512_test_epi8_mask(twice(b.hmask), halfBytes(1 << u, 1 << (u + 1)));
        return _mm512_mask_add_epi8(low, high, low, bytes(4));
    }
};

template <bool High>
struct KQ45_K
{
    using Block = std::conditional_t<High, BlockQ5_K, BlockQ4_K>;
    static constexpr bool kSigned = false, kPer16 = false;
    static constexpr int kOffsetShift = -1;
    static constexpr bool kMins = true;
    struct Row
    {
        __m512i sc;
        __m512 mins;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        const __m128i both = kScalesMins(b.scales);
        const __m128i sc = both, mn = _mm_unpackhi_epi64(both, both);
        r.sc = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sc));
        r.mins = _mm512_mul_ps(_mm512_set1_ps(halfToFloat(b.dmin)),
                               _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(mn, mn))));
        r.d = halfToFloat(b.d);
    }
    template <int P>
    static __m512i pair(const Block& b)
    {
        __m512i v = _mm512_and_si512(_mm512_srlv_epi16(twice(b.qs + 32 * P), halfCounts(0, 4)), bytes(0xF));
        if constexpr (High) {
            const __mmask64 high =
                _mm512_test_epi8_mask(twice(b.qh), halfBytes(1 << (2 * P), 1 << (2 * P + 1)));
            v = _mm512_mask_add_epi8(v, high, v, bytes(16));
        }
        return v;
    }
};

struct KQ6_K
{
    using Block = BlockQ6_K;
    static constexpr bool kSigned = false, kPer16 = true;
    static constexpr int kOffsetShift = 5;
    static constexpr bool kMins = false;
    struct Row
    {
        __m512i sc;
        __m512 mins;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        r.sc = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(load128(b.scales)));
        r.d = halfToFloat(b.d);
    }
    template <int P>
    static __m512i pair(const Block& b)
    {
        constexpr int h = P / 2; // P even: units 4h, 4h+1 (low nibbles); odd: 4h+2, 4h+3 (high nibbles)
        const __m512i ql = load512(b.ql + 64 * h);
        const __m512i qh = twice(b.qh + 32 * h);
        __m512i low, high;
        if constexpr (P % 2 == 0) {
            low = ql;
            high = _mm512_sllv_epi16(qh, halfCounts(4, 2));
        } else {
            low = _mm512_srli_epi16(ql, 4);
            high = _mm512_srlv_epi16(qh, halfCounts(0, 2));
        }
        // (low & 0x0F) | (high & 0x30)
        return _mm512_ternarylogic_epi32(_mm512_and_si512(low, bytes(0xF)), high, bytes(0x30), 0xF8);
    }
};

struct KIQ4_XS
{
    using Block = BlockIQ4_XS;
    static constexpr bool kSigned = true, kPer16 = false;
    static constexpr int kOffsetShift = -1;
    static constexpr bool kMins = false;
    struct Row
    {
        __m512i sc;
        __m512 mins;
        float d;
    };
    static void prep(const Block& b, Row& r)
    {
        r.sc = _mm512_broadcast_i32x4(_mm256_cvtepi32_epi16(iq4xsScales(b)));
        r.d = halfToFloat(b.d);
    }
    template <int P>
    static __m512i pair(const Block& b)
    {
        // 128-bit lanes: low nibbles of bytes 0–15, their high nibbles, then the same of bytes 16–31.
        const __m512i v = _mm512_castsi256_si512(load256(b.qs + 32 * P));
        const __m512i spread = _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(1, 1, 0, 0));
        const __m512i counts = _mm512_setr_epi64(0, 0, 0x0004000400040004, 0x0004000400040004, 0, 0,
                                                 0x0004000400040004, 0x0004000400040004);
        const __m512i idx = _mm512_and_si512(_mm512_srlv_epi16(spread, counts), bytes(0xF));
        return _mm512_shuffle_epi8(_mm512_broadcast_i32x4(load128(kIq4Table)), idx);
    }
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

    template <int R, int T>
    static void run(const std::uint8_t* const* w, const std::uint8_t* const* x, std::int64_t blocks,
                    const void* const* prepared, float* out)
    {
        __m512 acc[R][T];
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j)
                acc[i][j] = _mm512_setzero_ps();
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
            for (int j = 0; j < T; ++j)
                xb[j] = reinterpret_cast<const BlockQ8_K*>(x[j]) + s;
            __m512i isum[R][T];
            for (int i = 0; i < R; ++i)
                for (int j = 0; j < T; ++j)
                    isum[i][j] = _mm512_setzero_si512();
            staticFor<0, 4>([&](auto pc) {
                constexpr int P = decltype(pc)::value;
                const __m512i idx = scaleIndex<P, F::kPer16>();
                for (int i = 0; i < R; ++i) {
                    const __m512i wv = F::template pair<P>(*wb[i]);
                    const __m512i sc = F::kPer16 ? _mm512_permutexvar_epi16(idx, row(i).sc)
                                                 : _mm512_shuffle_epi8(row(i).sc, idx);
                    if constexpr (F::kSigned) {
                        const __m512i aw = _mm512_abs_epi8(wv);
                        const __mmask64 neg = _mm512_movepi8_mask(wv);
                        for (int j = 0; j < T; ++j) {
                            const __m512i xv = load512(xb[j]->qs + 64 * P);
                            const __m512i xs = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);
                            isum[i][j] = _mm512_dpwssd_epi32(isum[i][j], _mm512_maddubs_epi16(aw, xs), sc);
                        }
                    } else {
                        for (int j = 0; j < T; ++j)
                            isum[i][j] = _mm512_dpwssd_epi32(
                                isum[i][j], _mm512_maddubs_epi16(wv, load512(xb[j]->qs + 64 * P)), sc);
                    }
                }
            });
            for (int j = 0; j < T; ++j) {
                const float dx = xb[j]->d;
                const __m256i bs = load256(xb[j]->bsums);
                __m512 bsf = _mm512_setzero_ps();
                if constexpr (F::kMins)
                    bsf = _mm512_mul_ps(_mm512_set1_ps(dx), _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(bs)));
                for (int i = 0; i < R; ++i) {
                    __m512i v = isum[i][j];
                    if constexpr (F::kOffsetShift >= 0) {
                        const __m256i corr = _mm256_slli_epi32(
                            _mm256_madd_epi16(bs, _mm512_castsi512_si256(row(i).sc)), F::kOffsetShift);
                        v = _mm512_sub_epi32(v, _mm512_zextsi256_si512(corr));
                    }
                    acc[i][j] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(row(i).d * dx), acc[i][j]);
                    if constexpr (F::kMins)
                        acc[i][j] = _mm512_fnmadd_ps(row(i).mins, bsf, acc[i][j]);
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int j = 0; j < T; ++j)
                out[i * T + j] = sumLanes(acc[i][j]);
    }
};

/// Decode's prefetch (a group's rows are one stream) of part i of Parts of an interleaved block,
/// asked for at the start of that part's work; the legacy blocks (288 bytes) go whole (Parts = 1),
/// except Q8_0's on AMD, which decode without (IlQ8_0). The k-quant blocks of 16 rows are 2–3.4 KB, and their
/// 36–53 lines asked for at once left Q4_K's GEMV at 0.66–0.68 of the read ceiling, spread over the block
/// 0.76–0.89 (bench kernels, 14336 × 4096, one thread). A line on a part's boundary is asked for twice
/// (harmless).
/// The interleaved decode's prefetch distance for this CPU's vendor (GgmlMatMulKernels.h).
const std::size_t ilPrefetchBytes = cpuFeatures().amd ? kIlPrefetchBytesAmd : kIlPrefetchBytesOther;

/// Whether decode runs groups side by side (decodeGroups of IlLegacy, IlQ4_K, IlQ6_K and IlIQ4_XS,
/// F::kDecodeGroups at a time): everywhere but on AMD, whose tuning (Zen 5) predates it and was not
/// remeasured.
const bool ilDecodeSideBySide = !cpuFeatures().amd;

template <std::size_t Stride, int Parts>
inline void prefetchPart(const std::uint8_t* blk, int i)
{
    for (std::size_t l = std::size_t(i) * Stride / Parts / 64 * 64; l < std::size_t(i + 1) * Stride / Parts;
         l += 64)
        _mm_prefetch(reinterpret_cast<const char*>(blk) + ilPrefetchBytes + l, _MM_HINT_T0);
}

// ---- Interleaved layout (GgmlMatMul.h): 16 rows per register ----------------------------------
//
// One 64-byte chunk holds four codes of each of 16 rows; vpdpbusd against four activation codes
// broadcast to every lane advances the 16 row sums of a token by four codes. The lanes start at
// −offset·Σx of the token's block (the codes are unsigned with an offset), so a block's 8 steps
// leave the exact Σ value·activation per row, scaled and summed by one conversion and one FMA for
// 16 rows. The weight block unpacked into registers meets up to 8 tokens.

struct IlQ4_0
{
    static constexpr int kOffset = 8;
    static constexpr bool kPrefetch = true;
    static constexpr std::size_t kBlockBytes = sizeof(BlockQ4_0);
    static void codes(const std::uint8_t* c, __m512i out[8])
    {
        for (int k = 0; k < 4; ++k) {
            const __m512i v = load512(c + 64 * k);
            out[k] = _mm512_and_si512(v, bytes(0xF));
            out[k + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), bytes(0xF));
        }
    }
};
struct IlIQ4_NL
{
    static constexpr int kOffset = 128;
    static constexpr bool kPrefetch = true;
    static constexpr std::size_t kBlockBytes = sizeof(BlockIQ4_NL);
    static void codes(const std::uint8_t* c, __m512i out[8])
    {
        const __m512i table = _mm512_xor_si512(_mm512_broadcast_i32x4(load128(kIq4Table)), bytes(0x80));
        for (int k = 0; k < 4; ++k) {
            const __m512i v = load512(c + 64 * k);
            out[k] = _mm512_shuffle_epi8(table, _mm512_and_si512(v, bytes(0xF)));
            out[k + 4] = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), bytes(0xF)));
        }
    }
};
/// Decode of Q8_0 goes without software prefetch on AMD (IlQ8_0<false> there): it has the least work
/// per byte of the interleaved formats, and on Zen 5 the hardware prefetchers alone kept its stream fuller
/// (alternating `bench eval --one` decode runs of the 1B-shaped model, 4 blocks: 1 thread 76.5-89.8
/// tok/s against 67.9-78.7 with the 4 KiB prefetch, ten alternations, every one higher; 2 threads
/// 84.7-156.8 against 90.6-142.0, five of six higher; 1 KiB ahead, one line per block, every other block,
/// prefetcht1 and prefetchnta were all slower than none). On an Intel Xeon with AMX (2026-12-07) the
/// opposite: 1 thread 33.0-35.6 tok/s without, 36.5-37.5 with; 2 threads 67.0-70.5 against 75.9-79.1
/// (three alternations each, every one higher with). Q4_0 keeps it everywhere (Zen 5, 1 thread
/// 113.6-118.6 without against 115.6-127.9 with; IQ4_NL, not measured, with it), and the k-quants lose
/// half their decode speed without theirs.
template <bool Prefetch>
struct IlQ8_0
{
    static constexpr int kOffset = 128;
    static constexpr bool kPrefetch = Prefetch;
    static constexpr std::size_t kBlockBytes = sizeof(BlockQ8_0);
    static void codes(const std::uint8_t* c, __m512i out[8])
    {
        for (int k = 0; k < 8; ++k)
            out[k] = load512(c + 64 * k);
    }
};

/// The interleaved kernel of a legacy format (Codes: IlQ4_0, IlIQ4_NL, IlQ8_0).
template <class Codes>
struct IlLegacy
{
    static constexpr int kValues = kLegacyBlock;
    static constexpr std::size_t kBlockBytes = Codes::kBlockBytes;
    static constexpr int kDecodeGroups = kIlDecodeGroups;

    /// Per block of an activation row: −offset·Σ x_j (the lanes' start) and the scale as a float.
    struct Act
    {
        std::int32_t start;
        float d;
    };
    static void prepare(const MatMulArgs& a, std::int64_t blocks, Act* out)
    {
        for (std::int64_t t = 0; t < a.n; ++t) {
            const auto* x = reinterpret_cast<const BlockQ8_0*>(a.xq + std::size_t(t) * a.xRowBytes);
            for (std::int64_t b = 0; b < blocks; ++b) {
                // Σ (x + 128) over 8-byte groups, then less 32·128.
                const __m256i s = _mm256_sad_epu8(
                    _mm256_xor_si256(load256(x[b].qs), _mm256_set1_epi8(char(0x80))), _mm256_setzero_si256());
                const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
                const std::int64_t sum = _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1) - 32 * 128;
                out[t * blocks + b] = {std::int32_t(-Codes::kOffset * sum), halfToFloat(x[b].d)};
            }
        }
    }

    template <int T>
    static void tile(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a, std::int64_t t0,
                     const Act* act, float* y, __mmask16 mask)
    {
        const BlockQ8_0* x[T];
        const Act* xa[T];
        for (int j = 0; j < T; ++j) {
            x[j] = reinterpret_cast<const BlockQ8_0*>(a.xq + std::size_t(t0 + j) * a.xRowBytes);
            xa[j] = act + (t0 + j) * blocks;
        }
        __m512 acc[T];
        for (int j = 0; j < T; ++j)
            acc[j] = _mm512_setzero_ps();
        constexpr std::size_t stride = kIlRows * kBlockBytes;
        for (std::int64_t b = 0; b < blocks; ++b) {
            const std::uint8_t* blk = group + std::size_t(b) * stride;
            if constexpr (T == 1 && Codes::kPrefetch) // decode: the group's rows are one stream
                prefetchPart<stride, 1>(blk, 0);
            __m512i c[8];
            Codes::codes(blk + kIlScaleBytes, c);
            const __m512 wd = _mm512_cvtph_ps(load256(blk));
            __m512i is[T], is2 = _mm512_setzero_si512(); // is2: decode's second chain
            for (int j = 0; j < T; ++j)
                is[j] = _mm512_set1_epi32(xa[j][b].start);
            for (int k = 0; k < 8; ++k)
                for (int j = 0; j < T; ++j) {
                    std::int32_t v;
                    std::memcpy(&v, x[j][b].qs + 4 * k, 4);
                    // Decode: two chains, added at the end (integers: the same sum); with 8 tokens the
                    // second set of accumulators spilled (prefill measured at half speed).
                    __m512i& chain = T == 1 && k % 2 ? is2 : is[j];
                    chain = _mm512_dpbusd_epi32(chain, c[k], _mm512_set1_epi32(v));
                }
            if constexpr (T == 1)
                is[0] = _mm512_add_epi32(is[0], is2);
            for (int j = 0; j < T; ++j)
                acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[j]),
                                         _mm512_mul_ps(wd, _mm512_set1_ps(xa[j][b].d)), acc[j]);
        }
        for (int j = 0; j < T; ++j)
            _mm512_mask_storeu_ps(y + (t0 + j) * a.ldy, mask, acc[j]);
    }

    /// Decode of G whole groups side by side (ilMatMul, where ilDecodeSideBySide): G streams of weights
    /// at once, the token's codes broadcast once per block for all of them. Each group's integer sum and
    /// FMA chain are tile<1>'s, so the same bits.
    template <int G>
    static void decodeGroups(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a,
                             const Act* act, float* y)
    {
        const auto* x = reinterpret_cast<const BlockQ8_0*>(a.xq);
        constexpr std::size_t stride = kIlRows * kBlockBytes;
        const std::size_t groupBytes = std::size_t(blocks) * stride;
        __m512 acc[G];
        for (int g = 0; g < G; ++g)
            acc[g] = _mm512_setzero_ps();
        for (std::int64_t b = 0; b < blocks; ++b) {
            __m512i xv[8];
            for (int k = 0; k < 8; ++k) {
                std::int32_t v;
                std::memcpy(&v, x[b].qs + 4 * k, 4);
                xv[k] = _mm512_set1_epi32(v);
            }
            const __m512 xd = _mm512_set1_ps(act[b].d);
            for (int g = 0; g < G; ++g) {
                const std::uint8_t* blk = group + std::size_t(g) * groupBytes + std::size_t(b) * stride;
                if constexpr (Codes::kPrefetch)
                    prefetchPart<stride, 1>(blk, 0);
                __m512i c[8];
                Codes::codes(blk + kIlScaleBytes, c);
                __m512i is = _mm512_set1_epi32(act[b].start);
                for (int k = 0; k < 8; ++k)
                    is = _mm512_dpbusd_epi32(is, c[k], xv[k]);
                acc[g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is),
                                         _mm512_mul_ps(_mm512_cvtph_ps(load256(blk)), xd), acc[g]);
            }
        }
        for (int g = 0; g < G; ++g)
            _mm512_storeu_ps(y + g * kIlRows, acc[g]);
    }
};

/// Q4_K interleaved: per group of 32 the 16 rows' sums by vpdpbusd, times the group scale
/// (vpmulld), summed over the super-block in integers; the mins by vpdpwssd against the
/// activation's group sums; two conversions and FMAs per super-block.
struct IlQ4_K
{
    static constexpr int kValues = kSuperBlock;
    static constexpr std::size_t kBlockBytes = sizeof(BlockQ4_K);
    static constexpr int kDecodeGroups = kIlDecodeGroupsQ4K;

    /// Per super-block of an activation row: its scale and the 8 group sums (bsums 2g + 2g+1) as
    /// int16 pairs (g = 2p, 2p+1).
    struct Act
    {
        float d;
        std::int32_t pairs[4];
    };
    static void prepare(const MatMulArgs& a, std::int64_t blocks, Act* out)
    {
        for (std::int64_t t = 0; t < a.n; ++t) {
            const auto* x = reinterpret_cast<const BlockQ8_K*>(a.xq + std::size_t(t) * a.xRowBytes);
            for (std::int64_t b = 0; b < blocks; ++b) {
                Act& o = out[t * blocks + b];
                o.d = x[b].d;
                for (int p = 0; p < 4; ++p) {
                    const int g0 = x[b].bsums[4 * p] + x[b].bsums[4 * p + 1];
                    const int g1 = x[b].bsums[4 * p + 2] + x[b].bsums[4 * p + 3];
                    o.pairs[p] = std::int32_t(std::uint32_t(std::uint16_t(g0)) |
                                              std::uint32_t(std::uint16_t(g1)) << 16);
                }
            }
        }
    }

    /// Block b of one group (at blk) against T tokens, added to acc (tile<T> and decodeGroups<G>).
    template <int T>
    [[gnu::always_inline]] static inline void block(const std::uint8_t* blk, const BlockQ8_K* const (&x)[T],
                                                    const Act* const (&xa)[T], std::int64_t b,
                                                    __m512 (&acc)[T])
    {
        constexpr std::size_t stride = kIlRows * kBlockBytes;
        const __m512i low6 = _mm512_set1_epi32(63), low4 = _mm512_set1_epi32(0xF),
                      bits45 = _mm512_set1_epi32(0x30);
        const __m512i w0 = load512(blk + kIlK4Scales), w1 = load512(blk + kIlK4Scales + 64),
                      w2 = load512(blk + kIlK4Scales + 128);
        __m512i sumi[T];
        for (int j = 0; j < T; ++j)
            sumi[j] = _mm512_setzero_si512();
            // Pairs of groups (2p: low nibbles, 2p+1: high nibbles of the same code chunks) in a loop
            // the compiler keeps rolled: unrolled, it hoists all eight scales and spills.
#pragma GCC unroll 1
        for (int p = 0; p < 4; ++p) {
            if constexpr (T == 1) // decode: a quarter of the block per pair of groups
                prefetchPart<stride, 4>(blk, p);
            const std::uint8_t* codes = blk + kIlK4Codes + 64 * 8 * p;
            const std::int8_t* xq[T];
            for (int j = 0; j < T; ++j)
                xq[j] = x[j][b].qs + 64 * p;
            staticFor<0, 2>([&](auto hc) {
                constexpr int h = decltype(hc)::value;
                const int g = 2 * p + h;
                const __m128i count = _mm_cvtsi32_si128(8 * (g % 4));
                const __m512i sc =
                    g < 4 ? _mm512_and_si512(_mm512_srl_epi32(w0, count), low6)
                          : _mm512_or_si512(
                                _mm512_and_si512(_mm512_srl_epi32(w2, count), low4),
                                _mm512_and_si512(_mm512_srl_epi32(w0, _mm_cvtsi32_si128(8 * (g % 4) + 2)),
                                                 bits45));
                __m512i c[8];
                for (int k = 0; k < 8; ++k) {
                    const __m512i v = load512(codes + 64 * k);
                    c[k] = _mm512_and_si512(h ? _mm512_srli_epi16(v, 4) : v, bytes(0xF));
                }
                for (int j = 0; j < T; ++j) {
                    // Two chains of dot products, added at the end (integers: the same sum).
                    __m512i s[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
                    for (int k = 0; k < 8; ++k) {
                        std::int32_t v;
                        std::memcpy(&v, xq[j] + 32 * h + 4 * k, 4);
                        s[k % 2] = _mm512_dpbusd_epi32(s[k % 2], c[k], _mm512_set1_epi32(v));
                    }
                    sumi[j] = _mm512_add_epi32(sumi[j], _mm512_mullo_epi32(_mm512_add_epi32(s[0], s[1]), sc));
                }
            });
        }
        // The mins as int16 pairs (m_2p, m_2p+1) per lane.
        __m512i mn[8];
        staticFor<0, 8>([&](auto gc) {
            constexpr int g = decltype(gc)::value;
            if constexpr (g < 4)
                mn[g] = _mm512_and_si512(_mm512_srli_epi32(w1, 8 * g), low6);
            else
                mn[g] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(w2, 8 * (g - 4) + 4), low4),
                                        _mm512_and_si512(_mm512_srli_epi32(w1, 8 * (g - 4) + 2), bits45));
        });
        __m512i mpair[4];
        for (int p = 0; p < 4; ++p)
            mpair[p] = _mm512_or_si512(mn[2 * p], _mm512_slli_epi32(mn[2 * p + 1], 16));
        const __m512 wd = _mm512_cvtph_ps(load256(blk)), wmin = _mm512_cvtph_ps(load256(blk + kIlScaleBytes));
        for (int j = 0; j < T; ++j) {
            __m512i summ = _mm512_setzero_si512();
            for (int p = 0; p < 4; ++p)
                summ = _mm512_dpwssd_epi32(summ, mpair[p], _mm512_set1_epi32(xa[j][b].pairs[p]));
            const __m512 dx = _mm512_set1_ps(xa[j][b].d);
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[j]), _mm512_mul_ps(wd, dx), acc[j]);
            acc[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(summ), _mm512_mul_ps(wmin, dx), acc[j]);
        }
    }

    template <int T>
    static void tile(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a, std::int64_t t0,
                     const Act* act, float* y, __mmask16 mask)
    {
        const BlockQ8_K* x[T];
        const Act* xa[T];
        for (int j = 0; j < T; ++j) {
            x[j] = reinterpret_cast<const BlockQ8_K*>(a.xq + std::size_t(t0 + j) * a.xRowBytes);
            xa[j] = act + (t0 + j) * blocks;
        }
        __m512 acc[T];
        for (int j = 0; j < T; ++j)
            acc[j] = _mm512_setzero_ps();
        for (std::int64_t b = 0; b < blocks; ++b)
            block<T>(group + std::size_t(b) * kIlRows * kBlockBytes, x, xa, b, acc);
        for (int j = 0; j < T; ++j)
            _mm512_mask_storeu_ps(y + (t0 + j) * a.ldy, mask, acc[j]);
    }

    /// Decode of G whole groups side by side, as IlLegacy::decodeGroups; each group's sums are block<1>'s.
    template <int G>
    static void decodeGroups(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a,
                             const Act* act, float* y)
    {
        const BlockQ8_K* const x[1] = {reinterpret_cast<const BlockQ8_K*>(a.xq)};
        const Act* const xa[1] = {act};
        constexpr std::size_t stride = kIlRows * kBlockBytes;
        const std::size_t groupBytes = std::size_t(blocks) * stride;
        __m512 acc[G][1];
        for (int g = 0; g < G; ++g)
            acc[g][0] = _mm512_setzero_ps();
        for (std::int64_t b = 0; b < blocks; ++b)
            for (int g = 0; g < G; ++g)
                block<1>(group + std::size_t(g) * groupBytes + std::size_t(b) * stride, x, xa, b, acc[g]);
        for (int g = 0; g < G; ++g)
            _mm512_storeu_ps(y + g * kIlRows, acc[g][0]);
    }
};

/// The frame of an interleaved super-block tile with one scale per row (Q6_K, IQ4_XS): per block,
/// F::sums<T>(blk, b, x, xa, sumi) leaves each token's exact integer sum of the 16 rows (and prefetches
/// the block in decode, a part at each of its 8 steps: prefetchPart<stride, 8>), then one
/// conversion and one FMA with d_w·d_x per token.
template <class F, int T>
inline void scaledSuperTile(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a,
                            std::int64_t t0, const typename F::Act* act, float* y, __mmask16 mask)
{
    const BlockQ8_K* x[T];
    const typename F::Act* xa[T];
    for (int j = 0; j < T; ++j) {
        x[j] = reinterpret_cast<const BlockQ8_K*>(a.xq + std::size_t(t0 + j) * a.xRowBytes);
        xa[j] = act + (t0 + j) * blocks;
    }
    __m512 acc[T];
    for (int j = 0; j < T; ++j)
        acc[j] = _mm512_setzero_ps();
    constexpr std::size_t stride = kIlRows * F::kBlockBytes;
    for (std::int64_t b = 0; b < blocks; ++b) {
        const std::uint8_t* blk = group + std::size_t(b) * stride;
        __m512i sumi[T];
        for (int j = 0; j < T; ++j)
            sumi[j] = _mm512_setzero_si512();
        F::template sums<T>(blk, b, x, xa, sumi);
        const __m512 wd = _mm512_cvtph_ps(load256(blk));
        for (int j = 0; j < T; ++j)
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[j]),
                                     _mm512_mul_ps(wd, _mm512_set1_ps(xa[j][b].d)), acc[j]);
    }
    for (int j = 0; j < T; ++j)
        _mm512_mask_storeu_ps(y + (t0 + j) * a.ldy, mask, acc[j]);
}

/// Decode of G whole groups of such a format side by side (as IlLegacy::decodeGroups): per block, each
/// group's sums and FMA are scaledSuperTile<F, 1>'s, so the same bits.
template <class F, int G>
inline void scaledSuperDecodeGroups(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a,
                                    const typename F::Act* act, float* y)
{
    const BlockQ8_K* const x[1] = {reinterpret_cast<const BlockQ8_K*>(a.xq)};
    const typename F::Act* const xa[1] = {act};
    constexpr std::size_t stride = kIlRows * F::kBlockBytes;
    const std::size_t groupBytes = std::size_t(blocks) * stride;
    __m512 acc[G];
    for (int g = 0; g < G; ++g)
        acc[g] = _mm512_setzero_ps();
    for (std::int64_t b = 0; b < blocks; ++b) {
        const __m512 dx = _mm512_set1_ps(act[b].d);
        for (int g = 0; g < G; ++g) {
            const std::uint8_t* blk = group + std::size_t(g) * groupBytes + std::size_t(b) * stride;
            __m512i sumi[1] = {_mm512_setzero_si512()};
            F::template sums<1>(blk, b, x, xa, sumi);
            acc[g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[0]),
                                     _mm512_mul_ps(_mm512_cvtph_ps(load256(blk)), dx), acc[g]);
        }
    }
    for (int g = 0; g < G; ++g)
        _mm512_storeu_ps(y + g * kIlRows, acc[g]);
}

/// The tile and decode entry points of such a format F (ilMatMul's interface), from F::sums<T>. The
/// activations' type is deduced: F is incomplete where this base is instantiated.
template <class F>
struct ScaledSuperKernels
{
    template <int T, class Act>
    static void tile(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a, std::int64_t t0,
                     const Act* act, float* y, __mmask16 mask)
    {
        scaledSuperTile<F, T>(group, blocks, a, t0, act, y, mask);
    }
    template <int G, class Act>
    static void decodeGroups(const std::uint8_t* group, std::int64_t blocks, const MatMulArgs& a,
                             const Act* act, float* y)
    {
        scaledSuperDecodeGroups<F, G>(group, blocks, a, act, y);
    }
};

/// The activations of a super-block tile whose lanes start at −offset·Σx of each of `Groups`
/// groups (Q6_K: 16 of 16 values, codes + 32; IQ4_XS: 8 of 32, values + 128): per super-block of
/// a row, its scale and the starts.
template <int Groups, int Offset>
struct GroupStarts
{
    struct Act
    {
        float d;
        std::int32_t start[Groups];
    };
    static void prepare(const MatMulArgs& a, std::int64_t blocks, Act* out)
    {
        constexpr int perGroup = kSuperBlock / 16 / Groups; // bsums (of 16 values) per group
        for (std::int64_t t = 0; t < a.n; ++t) {
            const auto* x = reinterpret_cast<const BlockQ8_K*>(a.xq + std::size_t(t) * a.xRowBytes);
            for (std::int64_t b = 0; b < blocks; ++b) {
                Act& o = out[t * blocks + b];
                o.d = x[b].d;
                for (int g = 0; g < Groups; ++g) {
                    int sum = 0;
                    for (int k = 0; k < perGroup; ++k)
                        sum += x[b].bsums[perGroup * g + k];
                    o.start[g] = -Offset * sum;
                }
            }
        }
    }
};

/// Q6_K interleaved: per group of 16 the 16 rows' sums of the unsigned 6-bit codes by vpdpbusd,
/// the lanes starting at −32·bsums (the offset), times the signed group scale (vpmulld), summed
/// over the super-block in integers; one conversion and FMA per super-block.
struct IlQ6_K : ScaledSuperKernels<IlQ6_K>
{
    static constexpr int kValues = kSuperBlock;
    static constexpr std::size_t kBlockBytes = sizeof(BlockQ6_K);
    static constexpr int kDecodeGroups = kIlDecodeGroupsQ6K;

    /// Per super-block of an activation row: its scale and −32·bsums of the 16 groups.
    using Act = GroupStarts<16, 32>::Act;
    static constexpr auto prepare = GroupStarts<16, 32>::prepare;

    /// The 16 rows' integer sums of block b (at blk) against T tokens (scaledSuperTile).
    template <int T>
    [[gnu::always_inline]] static inline void sums(const std::uint8_t* blk, std::int64_t b,
                                                   const BlockQ8_K* const* x, const Act* const* xa,
                                                   __m512i* sumi)
    {
        // Group G = 8n + 2m + h: values 128n + 32m + 16h … of ql bytes 64n + 32(m % 2) + 16h … (low
        // nibbles for m < 2, high for m ≥ 2) and bits 2m, 2m+1 of qh bytes 32n + 16h ….
        // Pairs of groups (h = 0, 1) in a loop the compiler keeps rolled (unrolled, it hoists
        // the scales and spills).
#pragma GCC unroll 1
        for (int q = 0; q < 8; ++q) {
            if constexpr (T == 1)
                prefetchPart<kIlRows * kBlockBytes, 8>(blk, q);
            const int n = q / 4, m = q % 4;
            const __m512i sw = load512(blk + kIlK6Scales + 64 * (q / 2));
            staticFor<0, 2>([&](auto hc) {
                constexpr int h = decltype(hc)::value;
                const int G = 2 * q + h;
                const __m512i sc = _mm512_sra_epi32(_mm512_sll_epi32(sw, _mm_cvtsi32_si128(24 - 8 * (G % 4))),
                                                    _mm_cvtsi32_si128(24));
                const std::uint8_t* ql0 = blk + kIlK6Ql + 64 * ((64 * n + 32 * (m % 2) + 16 * h) / 4);
                const std::uint8_t* qh0 = blk + kIlK6Qh + 64 * ((32 * n + 16 * h) / 4);
                // Bits 2m, 2m+1 of qh to bits 4, 5.
                const __m128i up = _mm_cvtsi32_si128(m < 2 ? 4 - 2 * m : 0),
                              down = _mm_cvtsi32_si128(m < 2 ? 0 : 2 * m - 4);
                __m512i c[4];
                for (int k = 0; k < 4; ++k) {
                    const __m512i ql = load512(ql0 + 64 * k);
                    const __m512i qh = load512(qh0 + 64 * k);
                    const __m512i low = m < 2 ? ql : _mm512_srli_epi16(ql, 4);
                    const __m512i high = _mm512_srl_epi16(_mm512_sll_epi16(qh, up), down);
                    // (low & 0x0F) | (high & 0x30)
                    c[k] =
                        _mm512_ternarylogic_epi32(_mm512_and_si512(low, bytes(0xF)), high, bytes(0x30), 0xF8);
                }
                for (int j = 0; j < T; ++j) {
                    __m512i sg[2] = {_mm512_set1_epi32(xa[j][b].start[G]), _mm512_setzero_si512()};
                    for (int k = 0; k < 4; ++k) {
                        std::int32_t v;
                        std::memcpy(&v, x[j][b].qs + 16 * G + 4 * k, 4);
                        sg[k % 2] = _mm512_dpbusd_epi32(sg[k % 2], c[k], _mm512_set1_epi32(v));
                    }
                    sumi[j] =
                        _mm512_add_epi32(sumi[j], _mm512_mullo_epi32(_mm512_add_epi32(sg[0], sg[1]), sc));
                }
            });
        }
    }
};

/// IQ4_XS interleaved, group g of a block: the 16 rows' signed scales ls − 32 = (nibble g of scales_l |
/// bits 2g, 2g+1 of scales_h << 4) − 32, from `low` (scales_l's 4 bytes per lane) and `high` (scales_h in
/// the low 16 bits).
inline __m512i iq4XsGroupScale(__m512i low, __m512i high, int g)
{
    const __m512i ls = _mm512_or_si512(
        _mm512_and_si512(_mm512_srl_epi32(low, _mm_cvtsi32_si128(4 * g)), _mm512_set1_epi32(0xF)),
        _mm512_and_si512(
            _mm512_sll_epi32(_mm512_srl_epi32(high, _mm_cvtsi32_si128(2 * g)), _mm_cvtsi32_si128(4)),
            _mm512_set1_epi32(0x30)));
    return _mm512_sub_epi32(ls, _mm512_set1_epi32(32));
}

/// The 16 rows' values of group g through `table` (16 bytes per lane): out[k] holds values 4k … 4k+3 of
/// each row (k < 4: the low nibbles of chunk 4g + k; k ≥ 4: the high nibbles of chunk 4g + k − 4).
inline void iq4XsGroupValues(const std::uint8_t* blk, int g, __m512i table, __m512i out[8])
{
    const std::uint8_t* codes = blk + kIlXsCodes + 64 * 4 * g;
    for (int k = 0; k < 4; ++k) {
        const __m512i v = load512(codes + 64 * k);
        out[k] = _mm512_shuffle_epi8(table, _mm512_and_si512(v, bytes(0xF)));
        out[k + 4] = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), bytes(0xF)));
    }
}

/// IQ4_XS interleaved: per group of 32 the 16 rows' sums of the code book's values + 128 by
/// vpdpbusd, the lanes starting at −128·Σx of the group (the offset), times the signed group scale
/// (vpmulld), summed over the super-block in integers; one conversion and FMA per super-block.
struct IlIQ4_XS : ScaledSuperKernels<IlIQ4_XS>
{
    static constexpr int kValues = kSuperBlock;
    static constexpr std::size_t kBlockBytes = sizeof(BlockIQ4_XS);
    static constexpr int kDecodeGroups = kIlDecodeGroupsIQ4XS;

    /// Per super-block of an activation row: its scale and −128·Σx of the 8 groups of 32.
    using Act = GroupStarts<8, 128>::Act;
    static constexpr auto prepare = GroupStarts<8, 128>::prepare;

    /// The 16 rows' integer sums of block b (at blk) against T tokens (scaledSuperTile).
    template <int T>
    [[gnu::always_inline]] static inline void sums(const std::uint8_t* blk, std::int64_t b,
                                                   const BlockQ8_K* const* x, const Act* const* xa,
                                                   __m512i* sumi)
    {
        const __m512i table = _mm512_xor_si512(_mm512_broadcast_i32x4(load128(kIq4Table)), bytes(0x80));
        // Per lane (row): scales_l's 4 bytes, scales_h in the low 16 bits.
        const __m512i low = load512(blk + kIlXsScalesL),
                      high = _mm512_cvtepu16_epi32(load256(blk + kIlXsScalesH));
        // The groups in a loop the compiler keeps rolled (unrolled, it hoists the scales and
        // spills).
#pragma GCC unroll 1
        for (int g = 0; g < 8; ++g) {
            if constexpr (T == 1)
                prefetchPart<kIlRows * kBlockBytes, 8>(blk, g);
            const __m512i sc = iq4XsGroupScale(low, high, g);
            __m512i c[8]; // c[k]: values 4k … 4k+3 of each row, + 128
            iq4XsGroupValues(blk, g, table, c);
            for (int j = 0; j < T; ++j) {
                // Two chains of dot products, added at the end (integers: the same sum).
                __m512i s[2] = {_mm512_set1_epi32(xa[j][b].start[g]), _mm512_setzero_si512()};
                for (int k = 0; k < 8; ++k) {
                    std::int32_t v;
                    std::memcpy(&v, x[j][b].qs + 32 * g + (k < 4 ? 4 * k : 16 + 4 * (k - 4)), 4);
                    s[k % 2] = _mm512_dpbusd_epi32(s[k % 2], c[k], _mm512_set1_epi32(v));
                }
                sumi[j] = _mm512_add_epi32(sumi[j], _mm512_mullo_epi32(_mm512_add_epi32(s[0], s[1]), sc));
            }
        }
    }
};

/// The output mask of group g's rows inside [a.r0, a.r1).
inline __mmask16 groupMask(const MatMulArgs& a, std::int64_t g)
{
    const std::int64_t first = g * kIlRows;
    const unsigned lo = unsigned(std::max(a.r0, first) - first),
                   hi = unsigned(std::min(a.r1, first + kIlRows) - first);
    return __mmask16(((1u << hi) - 1) & ~((1u << lo) - 1));
}

// ---- IQ4_XS prefill on AMX-INT8 tiles ---------------------------------------------------------------
//
// The group of 32 values times 16 tokens is one tdpbssd: A = the tokens' 32 activation codes (Q8_K rows,
// read where they lie), B = the 16 rows' code book values in the interleaved chunks' order (a chunk's
// 4 values per row are one B row's dword per row), C = each token's exact integer sums over the 16 rows.
// From there on it is IlIQ4_XS's arithmetic: times the signed group scale (vpmulld), summed over the
// super-block in integers, one conversion and FMA per super-block — so the same bytes.

#define QS_AMX_INT8                                                                                          \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,amx-tile,amx-int8")))

/// Tile 0: C, 16 tokens × 16 int32; tile 1: A, 16 tokens × 32 codes; tile 2: B, 8 rows of 16 × 4 values.
struct alignas(64) AmxInt8Config
{
    std::uint8_t palette = 1, startRow = 0;
    std::uint8_t reserved[14] = {};
    std::uint16_t colBytes[16] = {64, 32, 64};
    std::uint8_t rows[16] = {16, 16, 8};
};

/// Tokens [0, tokens) (a multiple of 16) of ilMatMul<IlIQ4_XS>, for the groups of [a.r0, a.r1).
QS_AMX_INT8 void iq4XsTiles(const MatMulArgs& a, std::int64_t blocks, const IlIQ4_XS::Act* act,
                            std::int64_t tokens)
{
    constexpr std::size_t stride = kIlRows * IlIQ4_XS::kBlockBytes;
    const __m512i table = _mm512_broadcast_i32x4(load128(kIq4Table));
    alignas(64) std::int8_t values[8][8 * 64]; // per group: B, 8 rows × 64 bytes
    alignas(64) std::int32_t c[16 * 16];
    std::vector<float> acc(std::size_t(tokens) * 16); // per token, its 16 rows' sums
    const AmxInt8Config config;
    _tile_loadconfig(&config);
    const std::int64_t g0 = a.r0 / kIlRows, g1 = (a.r1 + kIlRows - 1) / kIlRows;
    for (std::int64_t g = g0; g < g1; ++g) {
        const std::uint8_t* group = a.w + std::size_t(g * kIlRows) * a.rowBytes;
        std::fill(acc.begin(), acc.end(), 0.f);
        for (std::int64_t b = 0; b < blocks; ++b) {
            const std::uint8_t* blk = group + std::size_t(b) * stride;
            const __m512i low = load512(blk + kIlXsScalesL),
                          high = _mm512_cvtepu16_epi32(load256(blk + kIlXsScalesH));
            __m512i sc[8];
            for (int q = 0; q < 8; ++q) {
                sc[q] = iq4XsGroupScale(low, high, q);
                __m512i v[8];
                iq4XsGroupValues(blk, q, table, v);
                for (int k = 0; k < 8; ++k)
                    _mm512_store_si512(values[q] + 64 * k, v[k]);
            }
            const __m512 wd = _mm512_cvtph_ps(load256(blk));
            for (std::int64_t t0 = 0; t0 < tokens; t0 += 16) {
                const auto* x0 = reinterpret_cast<const BlockQ8_K*>(a.xq + std::size_t(t0) * a.xRowBytes) + b;
                __m512i sumi[16];
                for (int m = 0; m < 16; ++m)
                    sumi[m] = _mm512_setzero_si512();
                for (int q = 0; q < 8; ++q) {
                    _tile_loadd(1, x0->qs + 32 * q, long(a.xRowBytes));
                    _tile_loadd(2, values[q], 64);
                    _tile_zero(0);
                    _tile_dpbssd(0, 1, 2);
                    _tile_stored(0, c, 64);
                    for (int m = 0; m < 16; ++m)
                        sumi[m] = _mm512_add_epi32(sumi[m],
                                                   _mm512_mullo_epi32(_mm512_load_si512(c + 16 * m), sc[q]));
                }
                for (int m = 0; m < 16; ++m) {
                    float* at = acc.data() + std::size_t(t0 + m) * 16;
                    _mm512_storeu_ps(
                        at, _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[m]),
                                            _mm512_mul_ps(wd, _mm512_set1_ps(act[(t0 + m) * blocks + b].d)),
                                            _mm512_loadu_ps(at)));
                }
            }
        }
        const __mmask16 mask = groupMask(a, g);
        for (std::int64_t t = 0; t < tokens; ++t)
            _mm512_mask_storeu_ps(a.y + t * a.ldy + g * kIlRows, mask, _mm512_loadu_ps(acc.data() + t * 16));
    }
    _tile_release();
}

/// Whether ilMatMul<IlIQ4_XS> runs tokens in tiles of 16 on AMX-INT8: where the CPU has it and no variant
/// is forced (QUANTSCOPE_KERNELS runs the VNNI kernels alone).
bool iq4XsTilesUsable()
{
    static const bool usable = cpuFeatures().hasAmxInt8() && amxTileStateGranted() && !simdVariantForced();
    return usable;
}

template <class F>
void ilMatMul(const MatMulArgs& a)
{
    const std::int64_t blocks = a.cols / F::kValues;
    std::vector<typename F::Act> act(std::size_t(a.n * blocks));
    F::prepare(a, blocks, act.data());
    std::int64_t tBegin = 0;
    if constexpr (std::is_same_v<F, IlIQ4_XS>) {
        if (a.n >= 16 && iq4XsTilesUsable()) {
            tBegin = a.n / 16 * 16;
            iq4XsTiles(a, blocks, act.data(), tBegin);
            if (tBegin == a.n)
                return;
        }
    }
    const std::int64_t g0 = a.r0 / kIlRows, g1 = (a.r1 + kIlRows - 1) / kIlRows;
    auto tile = [&]<int T>(std::int64_t g, std::int64_t t) {
        const std::int64_t first = g * kIlRows;
        F::template tile<T>(a.w + std::size_t(first) * a.rowBytes, blocks, a, t, act.data(), a.y + first,
                            groupMask(a, g));
    };
    if (a.n == 1) {
        std::int64_t g = g0;
        if constexpr (requires { F::kDecodeGroups; }) {
            if (ilDecodeSideBySide) {
                constexpr int G = F::kDecodeGroups;
                if (g * kIlRows < a.r0) // a first group cut by r0
                    tile.template operator()<1>(g++, 0);
                for (const std::int64_t whole = a.r1 / kIlRows; g + G <= whole; g += G)
                    F::template decodeGroups<G>(a.w + std::size_t(g * kIlRows) * a.rowBytes, blocks, a,
                                                act.data(), a.y + g * kIlRows);
            }
        }
        for (; g < g1; ++g)
            tile.template operator()<1>(g, 0);
        return;
    }
    // Rows in blocks that stay in L2 while the token tiles pass; a token tile stays in L1 over them.
    constexpr std::int64_t groupsPerBlock = kRowBlock / kIlRows;
    for (std::int64_t gb = g0; gb < g1; gb += groupsPerBlock) {
        const std::int64_t ge = std::min(g1, gb + groupsPerBlock);
        std::int64_t t = tBegin;
        for (; t + 8 <= a.n; t += 8)
            for (std::int64_t g = gb; g < ge; ++g)
                tile.template operator()<8>(g, t);
        for (; t + 4 <= a.n; t += 4)
            for (std::int64_t g = gb; g < ge; ++g)
                tile.template operator()<4>(g, t);
        for (; t < a.n; ++t)
            for (std::int64_t g = gb; g < ge; ++g)
                tile.template operator()<1>(g, t);
    }
}

template <class Tile, int BlockSize, int RowsGemv, int RowsGemm, int TokensGemm>
void matMul(const MatMulArgs& a)
{
    TiledMatMul<Tile, RowsGemv, RowsGemm, TokensGemm>::run(a, a.cols / BlockSize);
}

} // namespace

MatMulFn avx512InterleavedMatMul(GgmlType type)
{
    switch (type) {
    case GgmlType::Q4_0:
        return ilMatMul<IlLegacy<IlQ4_0>>;
    case GgmlType::Q8_0:
        return cpuFeatures().amd ? ilMatMul<IlLegacy<IlQ8_0<false>>> : ilMatMul<IlLegacy<IlQ8_0<true>>>;
    case GgmlType::IQ4_NL:
        return ilMatMul<IlLegacy<IlIQ4_NL>>;
    case GgmlType::Q4_K:
        return ilMatMul<IlQ4_K>;
    case GgmlType::Q6_K:
        return ilMatMul<IlQ6_K>;
    case GgmlType::IQ4_XS:
        return ilMatMul<IlIQ4_XS>;
    default:
        return nullptr;
    }
}

MatMulFn avx512MatMul(GgmlType type)
{
    switch (type) {
    case GgmlType::Q4_0:
        return matMul<LegacyTile<LegacyQ4_0>, kLegacyBlock, 4, 4, 4>;
    case GgmlType::Q4_1:
        return matMul<LegacyTile<LegacyQ4_1>, kLegacyBlock, 4, 4, 4>;
    case GgmlType::Q5_0:
        return matMul<LegacyTile<LegacyQ5_0>, kLegacyBlock, 4, 4, 4>;
    case GgmlType::Q5_1:
        return matMul<LegacyTile<LegacyQ5_1>, kLegacyBlock, 4, 4, 4>;
    case GgmlType::Q8_0:
        return matMul<LegacyTile<LegacyQ8_0>, kLegacyBlock, 4, 4, 4>;
    case GgmlType::IQ4_NL:
        return matMul<LegacyTile<LegacyIQ4_NL>, kLegacyBlock, 4, 4, 4>;
    case GgmlType::Q2_K:
        return matMul<SuperTile<KQ2_K>, kSuperBlock, 4, 4, 4>;
    case GgmlType::Q3_K:
        return matMul<SuperTile<KQ3_K>, kSuperBlock, 4, 4, 4>;
    case GgmlType::Q4_K:
        return matMul<SuperTile<KQ45_K<false>>, kSuperBlock, 4, 4, 4>;
    case GgmlType::Q5_K:
        return matMul<SuperTile<KQ45_K<true>>, kSuperBlock, 4, 4, 4>;
    case GgmlType::Q6_K:
        return matMul<SuperTile<KQ6_K>, kSuperBlock, 4, 4, 4>;
    case GgmlType::IQ4_XS:
        return matMul<SuperTile<KIQ4_XS>, kSuperBlock, 4, 4, 4>;
    default:
        return nullptr;
    }
}

} // namespace qs::ggmlmm

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

#else // not x86

namespace qs::ggmlmm {
MatMulFn avx512MatMul(GgmlType)
{
    return nullptr;
}
MatMulFn avx512InterleavedMatMul(GgmlType)
{
    return nullptr;
}
} // namespace qs::ggmlmm

#endif
