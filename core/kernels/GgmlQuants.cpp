#include "kernels/GgmlQuants.h"

#include "kernels/Convert.h"
#include "kernels/GgmlSearch.h"
#include "kernels/SimdVariant.h"
#include "tensor/GgmlBlocks.h"
#include "util/Error.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

// Byte identity with llama.cpp rests on doing the same float operations in the same order: every
// product and sum below is written in the association ggml's C code evaluates, in single
// precision, and kernels/ is compiled with -ffp-contract=off (core/CMakeLists.txt) so that the
// compiler never fuses a*b+c into one FMA rounding. Summations stay sequential; the compiler
// may not reorder them without -ffast-math, which GgmlSearch.h refuses. The scale searches
// (GgmlSearch.h) come as a scalar reference and lane variants; each format below is written once
// against a search policy S and built per variant (see rowsOf).

namespace qs {

namespace {

using namespace ggml;
using namespace ggmlq;

inline std::uint16_t toHalf(float v)
{
    return ref::f32ToF16(v);
}
inline float fromHalf(std::uint16_t h)
{
    return ref::f16ToF32(h);
}

/// Smallest and largest element (the legacy affine formats' range).
void valueRange(const float* __restrict x, int n, float* lo, float* hi)
{
    float l = FLT_MAX, h = -FLT_MAX;
    for (int i = 0; i < n; ++i) {
        if (x[i] < l)
            l = x[i];
        if (x[i] > h)
            h = x[i];
    }
    *lo = l;
    *hi = h;
}

// ---------------------------------------------------------------------------------------------
// Scale searches shared by the k-quants (and the legacy formats under an importance matrix).
// Pointers are __restrict, as in ggml: the code arrays are bytes, which could otherwise alias the
// floats and force the compiler to reload them after every store.

/// Q3_K's reference fit: codes from -nmax/max, then up to five passes moving single codes to
/// their best value given the others (weights x²). Codes come back offset by nmax.
float fitSignedScaleIterative(int n, int nmax, const float* __restrict x, std::int8_t* __restrict codes)
{
    const auto [peak, peakAbs] = signedPeak(x, n);
    if (peakAbs < kTinyGroup) {
        std::fill(codes, codes + n, std::int8_t(0));
        return 0.f;
    }
    constexpr int kMaxN = 32;
    float wt[kMaxN], wx[kMaxN]; // the weight x² and x³ (as (x·x)·x) of each element
    for (int i = 0; i < n; ++i) {
        wt[i] = x[i] * x[i];
        wx[i] = wt[i] * x[i];
    }
    const float inv = f(-nmax) / peak;
    float sumXL = 0, sumLL = 0;
    for (int i = 0; i < n; ++i) {
        const int l = roundClamped(inv * x[i], -nmax, nmax - 1);
        codes[i] = std::int8_t(l);
        sumXL += wx[i] * f(l);
        sumLL += wt[i] * f(l) * f(l);
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            float xlWithout = sumXL - wx[i] * f(codes[i]);
            if (xlWithout > 0) {
                float llWithout = sumLL - wt[i] * f(codes[i]) * f(codes[i]);
                int l = roundNearest(x[i] * llWithout / xlWithout);
                l = std::max(-nmax, std::min(nmax - 1, l));
                if (l != codes[i]) {
                    xlWithout += wx[i] * f(l);
                    llWithout += wt[i] * f(l) * f(l);
                    if (llWithout > 0 && xlWithout * xlWithout * sumLL > sumXL * sumXL * llWithout) {
                        codes[i] = std::int8_t(l);
                        sumXL = xlWithout;
                        sumLL = llWithout;
                        ++changed;
                    }
                }
            }
        }
        if (changed == 0)
            break;
    }
    for (int i = 0; i < n; ++i)
        codes[i] = std::int8_t(codes[i] + nmax);
    return sumXL / sumLL;
}

/// Codes in [0, nmax] for non-negative values (the sub-block scales and mins of the k-quants under
/// an importance matrix) with one scale: best of nine grid points, then coordinate descent.
float fitPositiveScale(int n, int nmax, const float* __restrict x, std::uint8_t* __restrict codes,
                       const float* __restrict w)
{
    float peak = 0;
    for (int i = 0; i < n; ++i)
        peak = peak > x[i] ? peak : x[i];
    if (peak == 0.f) {
        std::fill(codes, codes + n, std::uint8_t(0));
        return 0.f;
    }
    float inv = f(nmax) / peak;
    for (int i = 0; i < n; ++i)
        codes[i] = std::uint8_t(roundNearest(inv * x[i]));
    const float scale0 = 1 / inv;
    float bestErr = 0;
    for (int i = 0; i < n; ++i) {
        const float d = x[i] - scale0 * f(codes[i]);
        bestErr += w[i] * d * d;
    }
    for (int k = -4; k <= 4; ++k) {
        if (k == 0)
            continue;
        const float invK = (0.1f * f(k) + f(nmax)) / peak;
        const float scaleK = 1 / invK;
        float e = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::min(nmax, roundNearest(invK * x[i]));
            const float d = x[i] - scaleK * f(l);
            e += w[i] * d * d;
        }
        if (e < bestErr) {
            bestErr = e;
            inv = invK;
        }
    }
    float sumXL = 0, sumLL = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::min(nmax, roundNearest(inv * x[i]));
        codes[i] = std::uint8_t(l);
        sumXL += w[i] * x[i] * f(l);
        sumLL += w[i] * f(l) * f(l);
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            float xl = sumXL - w[i] * x[i] * f(codes[i]);
            float ll = sumLL - w[i] * f(codes[i]) * f(codes[i]);
            if (xl > 0 && ll > 0) {
                const int l = std::min(nmax, roundNearest(x[i] * ll / xl));
                if (l != codes[i]) {
                    xl += w[i] * x[i] * f(l);
                    ll += w[i] * f(l) * f(l);
                    if (xl * xl * sumLL > sumXL * sumXL * ll) {
                        codes[i] = std::uint8_t(l);
                        sumXL = xl;
                        sumLL = ll;
                        ++changed;
                    }
                }
            }
        }
        if (changed == 0)
            break;
    }
    return sumXL / sumLL;
}

/// Weights the importance-matrix paths use: imatrix · sqrt(σ² + x²).
void importanceWeights(int n, const float* __restrict imp, const float* __restrict x, float sigma2,
                       float* __restrict w)
{
    for (int i = 0; i < n; ++i)
        w[i] = imp[i] * std::sqrt(sigma2 + x[i] * x[i]);
}

/// Sum in index order (a group's total importance).
float sumOf(const float* x, int n)
{
    float s = 0;
    for (int i = 0; i < n; ++i)
        s += x[i];
    return s;
}

float sumOfSquares(const float* x, std::int64_t n)
{
    float s = 0;
    for (std::int64_t i = 0; i < n; ++i)
        s += x[i] * x[i];
    return s;
}

// 6-bit scale/min pairs of Q4_K/Q5_K: pairs 0–3 in the low 6 bits of bytes 0–3 (scale) and 4–7
// (min); pairs 4–7 split into a nibble in bytes 8–11 and two high bits on top of bytes 0–7.
void packScaleMin(std::uint8_t* packed, int j, std::uint8_t scale, std::uint8_t min)
{
    if (j < 4) {
        packed[j] = scale;
        packed[j + 4] = min;
    } else {
        packed[j + 4] = std::uint8_t((scale & 0xF) | ((min & 0xF) << 4));
        packed[j - 4] |= std::uint8_t((scale >> 4) << 6);
        packed[j] |= std::uint8_t((min >> 4) << 6);
    }
}

void unpackScaleMin(const std::uint8_t* packed, int j, std::uint8_t* scale, std::uint8_t* min)
{
    if (j < 4) {
        *scale = packed[j] & 63;
        *min = packed[j + 4] & 63;
    } else {
        *scale = std::uint8_t((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
        *min = std::uint8_t((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
    }
}

// Q3_K's 16 signed 6-bit scales (stored +32): low nibbles in bytes 0–7 (group j and j+8 share a
// byte), the two high bits of group j in byte 8 + j%4 at bit 2·(j/4).
void packQ3Scale(std::uint8_t* packed, int j, int l)
{
    if (j < 8)
        packed[j] = std::uint8_t(l & 0xF);
    else
        packed[j - 8] |= std::uint8_t((l & 0xF) << 4);
    packed[8 + j % 4] |= std::uint8_t((l >> 4) << (2 * (j / 4)));
}

int unpackQ3Scale(const std::uint8_t* packed, int j)
{
    const int low = j < 8 ? (packed[j] & 0xF) : (packed[j - 8] >> 4);
    return (low | (((packed[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
}

// 2-bit codes of a 256 super-block: byte l of each 32-byte run holds elements l, l+32, l+64, l+96
// of that 128-element half.
void pack2Bit(const std::uint8_t* codes, std::uint8_t* qs)
{
    for (int half = 0; half < kSuperBlock; half += 128)
        for (int l = 0; l < 32; ++l)
            qs[half / 4 + l] = std::uint8_t(codes[half + l] | (codes[half + l + 32] << 2) |
                                            (codes[half + l + 64] << 4) | (codes[half + l + 96] << 6));
}

// ---------------------------------------------------------------------------------------------
// Legacy 32-element formats.

struct QuantizeQ4_0
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ4_0*>(out);
        const std::int64_t nb = n / kLegacyBlock;
        if (!imp) {
            for (std::int64_t b = 0; b < nb; ++b, x += kLegacyBlock) {
                const float d = signedPeak(x, kLegacyBlock).value / -8;
                const float id = d != 0.f ? 1.0f / d : 0.0f;
                y[b].d = toHalf(d);
                for (int j = 0; j < 16; ++j) {
                    const int q0 = std::min(15, int(static_cast<std::int8_t>(x[j] * id + 8.5f)));
                    const int q1 = std::min(15, int(static_cast<std::int8_t>(x[j + 16] * id + 8.5f)));
                    y[b].qs[j] = std::uint8_t(q0 | (q1 << 4));
                }
            }
            return;
        }
        const float sigma2 = sumOfSquares(x, n) / float(n);
        float w[kLegacyBlock];
        std::int8_t L[kLegacyBlock];
        for (std::int64_t b = 0; b < nb; ++b) {
            const float* xb = x + b * kLegacyBlock;
            importanceWeights(kLegacyBlock, imp + b * kLegacyBlock, xb, sigma2, w);
            y[b].d = toHalf(S::fitSigned(kLegacyBlock, 8, xb, L, w));
            for (int j = 0; j < 16; ++j)
                y[b].qs[j] = std::uint8_t(L[j] | (L[j + 16] << 4));
        }
    }
};

struct QuantizeQ4_1
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ4_1*>(out);
        const std::int64_t nb = n / kLegacyBlock;
        if (!imp) {
            for (std::int64_t b = 0; b < nb; ++b, x += kLegacyBlock) {
                float lo, hi;
                valueRange(x, kLegacyBlock, &lo, &hi);
                const float d = (hi - lo) / 15;
                const float id = d != 0.f ? 1.0f / d : 0.0f;
                y[b].d = toHalf(d);
                y[b].m = toHalf(lo);
                for (int j = 0; j < 16; ++j) {
                    const int q0 = std::min(15, int(static_cast<std::int8_t>((x[j] - lo) * id + 0.5f)));
                    const int q1 = std::min(15, int(static_cast<std::int8_t>((x[j + 16] - lo) * id + 0.5f)));
                    y[b].qs[j] = std::uint8_t(q0 | (q1 << 4));
                }
            }
            return;
        }
        const float sigma2 = sumOfSquares(x, n) / float(n);
        float w[kLegacyBlock];
        std::uint8_t L[kLegacyBlock];
        for (std::int64_t b = 0; b < nb; ++b) {
            const float* xb = x + b * kLegacyBlock;
            importanceWeights(kLegacyBlock, imp + b * kLegacyBlock, xb, sigma2, w);
            float offset;
            const float d =
                S::template fitAffine<false>(kLegacyBlock, 15, xb, w, L, &offset, -0.9f, 0.05f, 36);
            y[b].d = toHalf(d);
            y[b].m = toHalf(-offset);
            for (int j = 0; j < 16; ++j)
                y[b].qs[j] = std::uint8_t(L[j] | (L[j + 16] << 4));
        }
    }
};

// Q5 blocks: low nibbles as in Q4, bit 4 of element j into bit j of qh.
template <typename Block>
void packQ5(Block& blk, const std::uint8_t* codes)
{
    std::uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        const std::uint8_t c0 = codes[j], c1 = codes[j + 16];
        blk.qs[j] = std::uint8_t((c0 & 0x0F) | ((c1 & 0x0F) << 4));
        qh |= ((c0 & 0x10u) >> 4) << j;
        qh |= ((c1 & 0x10u) >> 4) << (j + 16);
    }
    std::memcpy(blk.qh, &qh, 4);
}

struct QuantizeQ5_0
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ5_0*>(out);
        const std::int64_t nb = n / kLegacyBlock;
        std::uint8_t codes[kLegacyBlock];
        if (!imp) {
            for (std::int64_t b = 0; b < nb; ++b, x += kLegacyBlock) {
                const float d = signedPeak(x, kLegacyBlock).value / -16;
                const float id = d != 0.f ? 1.0f / d : 0.0f;
                y[b].d = toHalf(d);
                for (int j = 0; j < kLegacyBlock; ++j)
                    codes[j] = std::uint8_t(std::min(31, int(static_cast<std::int8_t>(x[j] * id + 16.5f))));
                packQ5(y[b], codes);
            }
            return;
        }
        const float sigma2 = sumOfSquares(x, n) / float(n);
        float w[kLegacyBlock];
        std::int8_t L[kLegacyBlock];
        for (std::int64_t b = 0; b < nb; ++b) {
            const float* xb = x + b * kLegacyBlock;
            importanceWeights(kLegacyBlock, imp + b * kLegacyBlock, xb, sigma2, w);
            y[b].d = toHalf(S::fitSigned(kLegacyBlock, 16, xb, L, w));
            for (int j = 0; j < kLegacyBlock; ++j)
                codes[j] = std::uint8_t(L[j]);
            packQ5(y[b], codes);
        }
    }
};

struct QuantizeQ5_1
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ5_1*>(out);
        const std::int64_t nb = n / kLegacyBlock;
        std::uint8_t codes[kLegacyBlock];
        if (!imp) {
            for (std::int64_t b = 0; b < nb; ++b, x += kLegacyBlock) {
                float lo, hi;
                valueRange(x, kLegacyBlock, &lo, &hi);
                const float d = (hi - lo) / 31;
                const float id = d != 0.f ? 1.0f / d : 0.0f;
                y[b].d = toHalf(d);
                y[b].m = toHalf(lo);
                for (int j = 0; j < kLegacyBlock; ++j)
                    codes[j] = static_cast<std::uint8_t>((x[j] - lo) * id + 0.5f);
                packQ5(y[b], codes);
            }
            return;
        }
        const float sigma2 = sumOfSquares(x, n) / float(n);
        float w[kLegacyBlock];
        for (std::int64_t b = 0; b < nb; ++b) {
            const float* xb = x + b * kLegacyBlock;
            importanceWeights(kLegacyBlock, imp + b * kLegacyBlock, xb, sigma2, w);
            float offset;
            const float d =
                S::template fitAffine<false>(kLegacyBlock, 31, xb, w, codes, &offset, -0.9f, 0.05f, 36);
            y[b].d = toHalf(d);
            y[b].m = toHalf(-offset);
            packQ5(y[b], codes);
        }
    }
};

struct QuantizeQ8_0
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float*)
    {
        auto* y = static_cast<BlockQ8_0*>(out);
        for (std::int64_t b = 0; b < n / kLegacyBlock; ++b, x += kLegacyBlock) {
            float peakAbs = 0;
            for (int j = 0; j < kLegacyBlock; ++j)
                peakAbs = peakAbs > std::fabs(x[j]) ? peakAbs : std::fabs(x[j]);
            const float d = peakAbs / 127;
            const float id = d != 0.f ? 1.0f / d : 0.0f;
            y[b].d = toHalf(d);
            for (int j = 0; j < kLegacyBlock; ++j)
                y[b].qs[j] = static_cast<std::int8_t>(std::round(x[j] * id));
        }
    }
};

// ---------------------------------------------------------------------------------------------
// k-quants (256-element super-blocks).

struct QuantizeQ2_K
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ2_K*>(out);
        std::uint8_t L[kSuperBlock];
        float w[16], mins[16], scales[16];
        for (std::int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock) {
            BlockQ2_K& blk = y[b];
            float dm, mm; // the super-block scale and min multipliers, as stored (f16-rounded)
            if (!imp) {
                float maxScale = 0, maxMin = 0;
                for (int j = 0; j < 16; ++j) {
                    for (int l = 0; l < 16; ++l)
                        w[l] = std::fabs(x[16 * j + l]);
                    scales[j] = S::template fitAffine<true>(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], -0.5f,
                                                            0.1f, 15);
                    if (scales[j] > maxScale)
                        maxScale = scales[j];
                    if (mins[j] > maxMin)
                        maxMin = mins[j];
                }
                if (maxScale > 0) {
                    const float inv = 15.f / maxScale;
                    for (int j = 0; j < 16; ++j)
                        blk.scales[j] = std::uint8_t(roundNearest(inv * scales[j]));
                    blk.d = toHalf(maxScale / 15.f);
                } else {
                    std::fill(blk.scales, blk.scales + 16, std::uint8_t(0));
                    blk.d = toHalf(0.f);
                }
                if (maxMin > 0) {
                    const float inv = 15.f / maxMin;
                    for (int j = 0; j < 16; ++j)
                        blk.scales[j] |= std::uint8_t(roundNearest(inv * mins[j]) << 4);
                    blk.dmin = toHalf(maxMin / 15.f);
                } else {
                    blk.dmin = toHalf(0.f);
                }
                dm = fromHalf(blk.d);
                mm = fromHalf(blk.dmin);
            } else {
                float groupWeight[16];
                const float sigma2 = sumOfSquares(x, kSuperBlock) / kSuperBlock;
                for (int j = 0; j < 16; ++j) {
                    importanceWeights(16, imp + b * kSuperBlock + 16 * j, x + 16 * j, sigma2, w);
                    groupWeight[j] = sumOf(w, 16);
                    scales[j] = S::template fitAffine<false>(16, 3, x + 16 * j, w, L + 16 * j, &mins[j],
                                                             -0.9f, 0.05f, 36);
                }
                std::uint8_t ls[16], lm[16];
                const float d = fitPositiveScale(16, 15, scales, ls, groupWeight);
                const float m = fitPositiveScale(16, 15, mins, lm, groupWeight);
                blk.d = toHalf(d);
                blk.dmin = toHalf(m);
                dm = fromHalf(blk.d);
                mm = fromHalf(blk.dmin);
                for (int j = 0; j < 16; ++j)
                    blk.scales[j] = std::uint8_t(ls[j] | (lm[j] << 4));
            }
            // Re-derive the codes against the scales as stored.
            for (int j = 0; j < 16; ++j) {
                const float d = dm * f(blk.scales[j] & 0xF);
                if (d == 0.f)
                    continue;
                const float m = mm * f(blk.scales[j] >> 4);
                for (int l = 0; l < 16; ++l)
                    L[16 * j + l] = std::uint8_t(roundClamped((x[16 * j + l] + m) / d, 0, 3));
            }
            pack2Bit(L, blk.qs);
        }
    }
};

struct QuantizeQ3_K
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ3_K*>(out);
        std::int8_t L[kSuperBlock];
        float scales[16];
        for (std::int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock) {
            BlockQ3_K& blk = y[b];
            std::fill(blk.scales, blk.scales + 12, std::uint8_t(0));
            if (!imp) {
                float maxScale = 0, maxAbs = 0;
                for (int j = 0; j < 16; ++j) {
                    scales[j] = fitSignedScaleIterative(16, 4, x + 16 * j, L + 16 * j);
                    const float a = std::fabs(scales[j]);
                    if (a > maxAbs) {
                        maxAbs = a;
                        maxScale = scales[j];
                    }
                }
                if (maxScale != 0.f) {
                    const float inv = -32.f / maxScale;
                    for (int j = 0; j < 16; ++j) {
                        int l = static_cast<std::int8_t>(roundNearest(inv * scales[j]));
                        l = std::max(-32, std::min(31, l)) + 32;
                        packQ3Scale(blk.scales, j, l);
                    }
                    blk.d = toHalf(1 / inv);
                } else {
                    blk.d = toHalf(0.f);
                }
            } else {
                const float sigma2 = 2 * sumOfSquares(x, kSuperBlock) / kSuperBlock;
                float w[16], groupWeight[16];
                for (int j = 0; j < 16; ++j) {
                    importanceWeights(16, imp + b * kSuperBlock + 16 * j, x + 16 * j, sigma2, w);
                    groupWeight[j] = sumOf(w, 16);
                    scales[j] = S::fitSigned(16, 4, x + 16 * j, L + 16 * j, w);
                }
                std::int8_t ls[16];
                const float d = S::fitSigned(16, 32, scales, ls, groupWeight);
                for (int j = 0; j < 16; ++j)
                    packQ3Scale(blk.scales, j, ls[j]);
                blk.d = toHalf(d);
            }
            const float dAll = fromHalf(blk.d);
            for (int j = 0; j < 16; ++j) {
                const float d = dAll * f(static_cast<std::int8_t>(unpackQ3Scale(blk.scales, j)));
                if (d == 0.f)
                    continue;
                for (int l = 0; l < 16; ++l)
                    L[16 * j + l] = std::int8_t(roundClamped(x[16 * j + l] / d, -4, 3) + 4);
            }
            // High bit (codes are 0 … 7) of element j goes to bit j/32 of hmask[j%32]; the low two
            // bits pack like Q2_K. Written without branches: the high bits are data, not control.
            std::uint8_t low[kSuperBlock];
            for (int j = 0; j < kSuperBlock; ++j)
                low[j] = std::uint8_t(L[j] & 3);
            for (int l = 0; l < 32; ++l) {
                unsigned h = 0;
                for (int k = 0; k < 8; ++k)
                    h |= unsigned((L[32 * k + l] >> 2) & 1) << k;
                blk.hmask[l] = std::uint8_t(h);
            }
            pack2Bit(low, blk.qs);
        }
    }
};

// Q4_K and Q5_K share everything but the code width and packing.
template <int Bits, class S>
void fitQ45Block(const float* x, const float* imp, std::uint8_t* L, std::uint16_t* dOut,
                 std::uint16_t* dminOut, std::uint8_t* packed)
{
    constexpr int nmax = (1 << Bits) - 1;
    float w[32], mins[8], scales[8];
    std::fill(packed, packed + kPackedScaleBytes, std::uint8_t(0));
    if (!imp) {
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; ++j) {
            const float* xg = x + 32 * j;
            float s2 = 0;
            for (int l = 0; l < 32; ++l)
                s2 += xg[l] * xg[l];
            const float avg = std::sqrt(s2 / 32);
            for (int l = 0; l < 32; ++l)
                w[l] = avg + std::fabs(xg[l]);
            scales[j] =
                Bits == 4
                    ? S::template fitAffine<false>(32, nmax, xg, w, L + 32 * j, &mins[j], -1.f, 0.1f, 20)
                    : S::template fitAffine<false>(32, nmax, xg, w, L + 32 * j, &mins[j], -0.5f, 0.1f, 15);
            if (scales[j] > maxScale)
                maxScale = scales[j];
            if (mins[j] > maxMin)
                maxMin = mins[j];
        }
        const float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        const float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        for (int j = 0; j < 8; ++j) {
            std::uint8_t ls = std::uint8_t(roundNearest(invScale * scales[j]));
            std::uint8_t lm = std::uint8_t(roundNearest(invMin * mins[j]));
            ls = std::min<std::uint8_t>(63, ls);
            lm = std::min<std::uint8_t>(63, lm);
            packScaleMin(packed, j, ls, lm);
        }
        *dOut = toHalf(maxScale / 63.f);
        *dminOut = toHalf(maxMin / 63.f);
    } else {
        const float sigma2 = 2 * sumOfSquares(x, kSuperBlock) / kSuperBlock;
        float groupWeight[8];
        for (int j = 0; j < 8; ++j) {
            const float* xg = x + 32 * j;
            importanceWeights(32, imp + 32 * j, xg, sigma2, w);
            groupWeight[j] = sumOf(w, 32);
            scales[j] = S::template fitAffine<false>(32, nmax, xg, w, L + 32 * j, &mins[j], -0.9f, 0.05f, 36);
        }
        std::uint8_t ls[8], lm[8];
        const float d = fitPositiveScale(8, 63, scales, ls, groupWeight);
        const float m = fitPositiveScale(8, 63, mins, lm, groupWeight);
        // ggml clamps to 63 here for Q5_K only (the fit already keeps codes ≤ 63 in practice).
        for (int j = 0; j < 8; ++j)
            packScaleMin(packed, j, Bits == 5 ? std::min<std::uint8_t>(63, ls[j]) : ls[j],
                         Bits == 5 ? std::min<std::uint8_t>(63, lm[j]) : lm[j]);
        *dOut = toHalf(d);
        *dminOut = toHalf(m);
    }
    const float dAll = fromHalf(*dOut), mAll = fromHalf(*dminOut);
    for (int j = 0; j < 8; ++j) {
        std::uint8_t sc, mn;
        unpackScaleMin(packed, j, &sc, &mn);
        const float d = dAll * f(sc);
        if (d == 0.f)
            continue;
        const float dm = mAll * f(mn);
        for (int l = 0; l < 32; ++l)
            L[32 * j + l] = std::uint8_t(roundClamped((x[32 * j + l] + dm) / d, 0, nmax));
    }
}

struct QuantizeQ4_K
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ4_K*>(out);
        std::uint8_t L[kSuperBlock];
        for (std::int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock) {
            fitQ45Block<4, S>(x, imp ? imp + b * kSuperBlock : nullptr, L, &y[b].d, &y[b].dmin, y[b].scales);
            // Each 64-element chunk: 32 bytes, element l in the low nibble, l+32 in the high one.
            for (int c = 0; c < 4; ++c)
                for (int l = 0; l < 32; ++l)
                    y[b].qs[32 * c + l] = std::uint8_t(L[64 * c + l] | (L[64 * c + l + 32] << 4));
        }
    }
};

struct QuantizeQ5_K
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ5_K*>(out);
        std::uint8_t L[kSuperBlock];
        for (std::int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock) {
            fitQ45Block<5, S>(x, imp ? imp + b * kSuperBlock : nullptr, L, &y[b].d, &y[b].dmin, y[b].scales);
            // As Q4_K, plus bit 4 of chunk c's low/high halves in bits 2c / 2c+1 of qh[l].
            std::fill(y[b].qh, y[b].qh + 32, std::uint8_t(0));
            for (int c = 0; c < 4; ++c)
                for (int l = 0; l < 32; ++l) {
                    int lo = L[64 * c + l], hi = L[64 * c + l + 32];
                    if (lo > 15) {
                        lo -= 16;
                        y[b].qh[l] |= std::uint8_t(1u << (2 * c));
                    }
                    if (hi > 15) {
                        hi -= 16;
                        y[b].qh[l] |= std::uint8_t(2u << (2 * c));
                    }
                    y[b].qs[32 * c + l] = std::uint8_t(lo | (hi << 4));
                }
        }
    }
};

struct QuantizeQ6_K
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockQ6_K*>(out);
        std::int8_t L[kSuperBlock];
        float scales[16];
        for (std::int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock) {
            BlockQ6_K& blk = y[b];
            float maxScale = 0, maxAbs = 0;
            for (int j = 0; j < 16; ++j) {
                const float* w = imp ? imp + b * kSuperBlock + 16 * j : nullptr;
                scales[j] = S::fitSigned(16, 32, x + 16 * j, L + 16 * j, w);
                const float a = std::fabs(scales[j]);
                if (a > maxAbs) {
                    maxAbs = a;
                    maxScale = scales[j];
                }
            }
            if (maxAbs < kTinyGroup) {
                std::memset(&blk, 0, sizeof(blk));
                blk.d = toHalf(0.f);
                continue;
            }
            const float inv = -128.f / maxScale;
            blk.d = toHalf(1 / inv);
            for (int j = 0; j < 16; ++j)
                blk.scales[j] = std::int8_t(std::min(127, roundNearest(inv * scales[j])));
            const float dAll = fromHalf(blk.d);
            for (int j = 0; j < 16; ++j) {
                const float d = dAll * f(blk.scales[j]);
                if (d == 0.f)
                    continue;
                for (int l = 0; l < 16; ++l)
                    L[16 * j + l] = std::int8_t(roundClamped(x[16 * j + l] / d, -32, 31) + 32);
            }
            // Per 128-element half: low nibbles of elements l / l+64 share ql[l], of l+32 / l+96 share
            // ql[l+32]; the four high 2-bit pairs share qh[l].
            for (int h = 0; h < 2; ++h) {
                const std::int8_t* c = L + 128 * h;
                std::uint8_t* ql = blk.ql + 64 * h;
                std::uint8_t* qh = blk.qh + 32 * h;
                for (int l = 0; l < 32; ++l) {
                    ql[l] = std::uint8_t((c[l] & 0xF) | ((c[l + 64] & 0xF) << 4));
                    ql[l + 32] = std::uint8_t((c[l + 32] & 0xF) | ((c[l + 96] & 0xF) << 4));
                    qh[l] = std::uint8_t((c[l] >> 4) | ((c[l + 32] >> 4) << 2) | ((c[l + 64] >> 4) << 4) |
                                         ((c[l + 96] >> 4) << 6));
                }
            }
        }
    }
};

struct QuantizeQ8_K
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float*)
    {
        auto* y = static_cast<BlockQ8_K*>(out);
        for (std::int64_t b = 0; b < n / kSuperBlock; ++b, x += kSuperBlock) {
            BlockQ8_K& blk = y[b];
            const auto [peak, peakAbs] = signedPeak(x, kSuperBlock);
            if (peakAbs == 0.f) {
                blk.d = 0;
                std::memset(blk.qs, 0, sizeof(blk.qs));
                // ggml leaves bsums as they were here; zero them so the output is defined.
                std::memset(blk.bsums, 0, sizeof(blk.bsums));
                continue;
            }
            const float inv = -127.f / peak;
            for (int j = 0; j < kSuperBlock; ++j)
                blk.qs[j] = std::int8_t(std::min(127, roundNearest(inv * x[j])));
            for (int g = 0; g < 16; ++g) {
                int s = 0;
                for (int l = 0; l < 16; ++l)
                    s += blk.qs[16 * g + l];
                blk.bsums[g] = std::int16_t(s);
            }
            blk.d = 1 / inv;
        }
    }
};

// ---------------------------------------------------------------------------------------------
// Non-linear 4-bit (IQ4_NL, IQ4_XS).

/// One IQ4 super-block of `len` elements (32 for IQ4_NL, 256 for IQ4_XS) in groups of 32. Each
/// group's scale is searched over 15 inverse scales; IQ4_XS then stores the group scales as 6-bit
/// multiples of one f16 scale and re-derives the codes.
template <class S>
void quantizeIq4Superblock(int len, const float* x, const float* imp, std::uint16_t* dOut, std::uint8_t* qs,
                           std::uint16_t* scalesH, std::uint8_t* scalesL)
{
    const int groups = len / 32;
    float s2 = 0;
    for (int j = 0; j < len; ++j)
        s2 += x[j] * x[j];
    const float sigma2 = s2 * (2.f / f(len));
    std::uint8_t L[kSuperBlock];
    float scales[8], w[32];
    std::memset(qs, 0, std::size_t(len / 2));
    *dOut = toHalf(0.f);
    float maxScale = 0, maxAbsScale = 0;
    for (int g = 0; g < groups; ++g) {
        const float* xg = x + 32 * g;
        std::uint8_t* Lg = L + 32 * g;
        if (imp)
            importanceWeights(32, imp + 32 * g, xg, sigma2, w);
        else
            for (int j = 0; j < 32; ++j)
                w[j] = xg[j] * xg[j];
        const auto [peak, peakAbs] = signedPeak(xg, 32);
        if (peakAbs < kTinyGroup) {
            scales[g] = 0;
            continue;
        }
        float d = -peak / f(kIq4Values[0]);
        float id = 1 / d;
        float sumQX = 0, sumQQ = 0;
        for (int j = 0; j < 32; ++j) {
            const int l = nearestIq4(id * xg[j]);
            Lg[j] = std::uint8_t(l);
            const float q = f(kIq4Values[l]);
            sumQX += w[j] * q * xg[j];
            sumQQ += w[j] * q * q;
        }
        d = sumQX / sumQQ;
        d = S::refineIq4(xg, w, peak, d, d * sumQX);
        scales[g] = d;
        if (std::fabs(d) > maxAbsScale) {
            maxAbsScale = std::fabs(d);
            maxScale = d;
        }
    }
    if (groups > 1) {
        *scalesH = 0;
        const float d = -maxScale / 32;
        *dOut = toHalf(d);
        const float id = d != 0.f ? 1 / d : 0.f;
        for (int g = 0; g < groups; ++g) {
            int l = std::max(-32, std::min(31, roundNearest(id * scales[g])));
            const float dl = d * f(l);
            const float idl = dl != 0.f ? 1 / dl : 0.f;
            for (int j = 0; j < 32; ++j)
                L[32 * g + j] = std::uint8_t(nearestIq4(idl * x[32 * g + j]));
            l += 32;
            const auto low = std::uint8_t(l & 0xf), high = std::uint8_t(l >> 4);
            if (g % 2 == 0)
                scalesL[g / 2] = low;
            else
                scalesL[g / 2] |= std::uint8_t(low << 4);
            *scalesH = std::uint16_t(*scalesH | (high << (2 * (g % 8))));
        }
    } else {
        *dOut = toHalf(scales[0]);
        const float id = scales[0] != 0.f ? 1 / scales[0] : 0.f;
        for (int j = 0; j < len; ++j)
            L[j] = std::uint8_t(nearestIq4(id * x[j]));
    }
    for (int g = 0; g < groups; ++g)
        for (int j = 0; j < 16; ++j)
            qs[16 * g + j] = std::uint8_t(L[32 * g + j] | (L[32 * g + 16 + j] << 4));
}

struct QuantizeIQ4_NL
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockIQ4_NL*>(out);
        for (std::int64_t b = 0; b < n / kLegacyBlock; ++b) {
            std::uint16_t unusedH = 0;
            quantizeIq4Superblock<S>(kLegacyBlock, x + b * kLegacyBlock,
                                     imp ? imp + b * kLegacyBlock : nullptr, &y[b].d, y[b].qs, &unusedH,
                                     nullptr);
        }
    }
};

struct QuantizeIQ4_XS
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float* imp)
    {
        auto* y = static_cast<BlockIQ4_XS*>(out);
        for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
            std::uint16_t scalesH = 0;
            quantizeIq4Superblock<S>(kSuperBlock, x + b * kSuperBlock, imp ? imp + b * kSuperBlock : nullptr,
                                     &y[b].d, y[b].qs, &scalesH, y[b].scalesL);
            y[b].scalesH = scalesH;
        }
    }
};

// ---------------------------------------------------------------------------------------------
// Plain types.

struct QuantizeF32
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float*)
    {
        std::memcpy(out, x, std::size_t(n) * 4);
    }
};

struct QuantizeF16
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float*)
    {
        auto* y = static_cast<std::uint16_t*>(out);
        for (std::int64_t i = 0; i < n; ++i)
            y[i] = toHalf(x[i]);
    }
};

struct QuantizeBF16
{
    template <class S>
    static void row(const float* x, void* out, std::int64_t n, const float*)
    {
        auto* y = static_cast<std::uint16_t*>(out);
        for (std::int64_t i = 0; i < n; ++i)
            y[i] = ref::f32ToBf16(x[i]);
    }
};

// ---------------------------------------------------------------------------------------------
// Dequantization (ggml's to_float, operation for operation).

void dequantizeQ4_0(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ4_0*>(in);
    for (std::int64_t b = 0; b < n / kLegacyBlock; ++b, y += kLegacyBlock) {
        const float d = fromHalf(x[b].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = f((x[b].qs[j] & 0x0F) - 8) * d;
            y[j + 16] = f((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantizeQ4_1(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ4_1*>(in);
    for (std::int64_t b = 0; b < n / kLegacyBlock; ++b, y += kLegacyBlock) {
        const float d = fromHalf(x[b].d), m = fromHalf(x[b].m);
        for (int j = 0; j < 16; ++j) {
            y[j] = f(x[b].qs[j] & 0x0F) * d + m;
            y[j + 16] = f(x[b].qs[j] >> 4) * d + m;
        }
    }
}

template <typename Block>
int q5Code(const Block& blk, int j)
{
    std::uint32_t qh;
    std::memcpy(&qh, blk.qh, 4);
    const int low = j < 16 ? (blk.qs[j] & 0x0F) : (blk.qs[j - 16] >> 4);
    return low | int(((qh >> j) & 1u) << 4);
}

void dequantizeQ5_0(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ5_0*>(in);
    for (std::int64_t b = 0; b < n / kLegacyBlock; ++b, y += kLegacyBlock) {
        const float d = fromHalf(x[b].d);
        for (int j = 0; j < kLegacyBlock; ++j)
            y[j] = f(q5Code(x[b], j) - 16) * d;
    }
}

void dequantizeQ5_1(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ5_1*>(in);
    for (std::int64_t b = 0; b < n / kLegacyBlock; ++b, y += kLegacyBlock) {
        const float d = fromHalf(x[b].d), m = fromHalf(x[b].m);
        for (int j = 0; j < kLegacyBlock; ++j)
            y[j] = f(q5Code(x[b], j)) * d + m;
    }
}

void dequantizeQ8_0(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ8_0*>(in);
    for (std::int64_t b = 0; b < n / kLegacyBlock; ++b, y += kLegacyBlock) {
        const float d = fromHalf(x[b].d);
        for (int j = 0; j < kLegacyBlock; ++j)
            y[j] = f(x[b].qs[j]) * d;
    }
}

void dequantizeQ2_K(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ2_K*>(in);
    for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float d = fromHalf(x[b].d), dmin = fromHalf(x[b].dmin);
        for (int e = 0; e < kSuperBlock; ++e) {
            const int half = e / 128, shift = 2 * ((e % 128) / 32), l = e % 32, group = e / 16;
            const std::uint8_t sc = x[b].scales[group];
            const float dl = d * f(sc & 0xF), ml = dmin * f(sc >> 4);
            *y++ = dl * f((x[b].qs[32 * half + l] >> shift) & 3) - ml;
        }
    }
}

void dequantizeQ3_K(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ3_K*>(in);
    for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float dAll = fromHalf(x[b].d);
        for (int e = 0; e < kSuperBlock; ++e) {
            const int half = e / 128, pair = (e % 128) / 32, l = e % 32;
            const float dl = dAll * f(unpackQ3Scale(x[b].scales, e / 16));
            const int low = (x[b].qs[32 * half + l] >> (2 * pair)) & 3;
            const int high = (x[b].hmask[l] >> (4 * half + pair)) & 1;
            *y++ = dl * f(low - (high ? 0 : 4));
        }
    }
}

void dequantizeQ4_K(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ4_K*>(in);
    for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float d = fromHalf(x[b].d), dmin = fromHalf(x[b].dmin);
        for (int c = 0; c < 4; ++c) {
            const std::uint8_t* q = x[b].qs + 32 * c;
            std::uint8_t sc, mn;
            unpackScaleMin(x[b].scales, 2 * c, &sc, &mn);
            const float d1 = d * f(sc), m1 = dmin * f(mn);
            unpackScaleMin(x[b].scales, 2 * c + 1, &sc, &mn);
            const float d2 = d * f(sc), m2 = dmin * f(mn);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * f(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * f(q[l] >> 4) - m2;
        }
    }
}

void dequantizeQ5_K(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ5_K*>(in);
    for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float d = fromHalf(x[b].d), dmin = fromHalf(x[b].dmin);
        for (int c = 0; c < 4; ++c) {
            const std::uint8_t* q = x[b].qs + 32 * c;
            std::uint8_t sc, mn;
            unpackScaleMin(x[b].scales, 2 * c, &sc, &mn);
            const float d1 = d * f(sc), m1 = dmin * f(mn);
            unpackScaleMin(x[b].scales, 2 * c + 1, &sc, &mn);
            const float d2 = d * f(sc), m2 = dmin * f(mn);
            const unsigned lowBit = 1u << (2 * c), highBit = 2u << (2 * c);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * f((q[l] & 0xF) + ((x[b].qh[l] & lowBit) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * f((q[l] >> 4) + ((x[b].qh[l] & highBit) ? 16 : 0)) - m2;
        }
    }
}

void dequantizeQ6_K(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ6_K*>(in);
    for (std::int64_t b = 0; b < n / kSuperBlock; ++b, y += kSuperBlock) {
        const float d = fromHalf(x[b].d);
        for (int h = 0; h < 2; ++h) {
            const std::uint8_t* ql = x[b].ql + 64 * h;
            const std::uint8_t* qh = x[b].qh + 32 * h;
            const std::int8_t* sc = x[b].scales + 8 * h;
            float* out = y + 128 * h;
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                out[l] = d * f(sc[is]) * f(q1);
                out[l + 32] = d * f(sc[is + 2]) * f(q2);
                out[l + 64] = d * f(sc[is + 4]) * f(q3);
                out[l + 96] = d * f(sc[is + 6]) * f(q4);
            }
        }
    }
}

void dequantizeQ8_K(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockQ8_K*>(in);
    for (std::int64_t b = 0; b < n / kSuperBlock; ++b)
        for (int j = 0; j < kSuperBlock; ++j)
            *y++ = x[b].d * f(x[b].qs[j]);
}

void dequantizeIQ4_NL(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockIQ4_NL*>(in);
    for (std::int64_t b = 0; b < n / kLegacyBlock; ++b, y += kLegacyBlock) {
        const float d = fromHalf(x[b].d);
        for (int j = 0; j < 16; ++j) {
            y[j] = d * f(kIq4Values[x[b].qs[j] & 0xf]);
            y[j + 16] = d * f(kIq4Values[x[b].qs[j] >> 4]);
        }
    }
}

void dequantizeIQ4_XS(const void* in, float* y, std::int64_t n)
{
    const auto* x = static_cast<const BlockIQ4_XS*>(in);
    for (std::int64_t b = 0; b < n / kSuperBlock; ++b) {
        const float d = fromHalf(x[b].d);
        for (int g = 0; g < 8; ++g, y += 32) {
            const int ls =
                ((x[b].scalesL[g / 2] >> (4 * (g % 2))) & 0xf) | (((x[b].scalesH >> (2 * g)) & 3) << 4);
            const float dl = d * f(ls - 32);
            const std::uint8_t* qs = x[b].qs + 16 * g;
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * f(kIq4Values[qs[j] & 0xf]);
                y[j + 16] = dl * f(kIq4Values[qs[j] >> 4]);
            }
        }
    }
}

void dequantizeF32(const void* in, float* y, std::int64_t n)
{
    std::memcpy(y, in, std::size_t(n) * 4);
}
void dequantizeF16(const void* in, float* y, std::int64_t n)
{
    convertToF32(DType::F16, in, y, std::size_t(n));
}
void dequantizeBF16(const void* in, float* y, std::int64_t n)
{
    convertToF32(DType::BF16, in, y, std::size_t(n));
}

// ---------------------------------------------------------------------------------------------

/// Quantizes nrows consecutive rows of n floats into rows of rowBytes bytes, with the search
/// variant's lanes; built once per variant by PerVariant (GgmlSearch.h).
using RowsFn = void (*)(SimdVariant, const float*, std::uint8_t*, std::int64_t, std::int64_t, std::size_t,
                        const float*);
using DequantizeFn = void (*)(const void*, float*, std::int64_t);

template <class Q>
struct EachRow
{
    template <class S>
    static void run(const float* src, std::uint8_t* dst, std::int64_t nrows, std::int64_t n,
                    std::size_t rowBytes, const float* imp)
    {
        for (std::int64_t r = 0; r < nrows; ++r)
            Q::template row<S>(src + r * n, dst + std::size_t(r) * rowBytes, n, imp);
    }
};

template <class Q>
constexpr RowsFn rowsOf()
{
    return &PerVariant<EachRow<Q>>::template call<const float*, std::uint8_t*, std::int64_t, std::int64_t,
                                                  std::size_t, const float*>;
}

struct Kernels
{
    GgmlType type;
    RowsFn quantize; ///< the importance slice handed on is aligned with each row
    DequantizeFn dequantize;
};

constexpr Kernels kKernels[] = {
    {GgmlType::F32, rowsOf<QuantizeF32>(), dequantizeF32},
    {GgmlType::F16, rowsOf<QuantizeF16>(), dequantizeF16},
    {GgmlType::BF16, rowsOf<QuantizeBF16>(), dequantizeBF16},
    {GgmlType::Q4_0, rowsOf<QuantizeQ4_0>(), dequantizeQ4_0},
    {GgmlType::Q4_1, rowsOf<QuantizeQ4_1>(), dequantizeQ4_1},
    {GgmlType::Q5_0, rowsOf<QuantizeQ5_0>(), dequantizeQ5_0},
    {GgmlType::Q5_1, rowsOf<QuantizeQ5_1>(), dequantizeQ5_1},
    {GgmlType::Q8_0, rowsOf<QuantizeQ8_0>(), dequantizeQ8_0},
    {GgmlType::Q2_K, rowsOf<QuantizeQ2_K>(), dequantizeQ2_K},
    {GgmlType::Q3_K, rowsOf<QuantizeQ3_K>(), dequantizeQ3_K},
    {GgmlType::Q4_K, rowsOf<QuantizeQ4_K>(), dequantizeQ4_K},
    {GgmlType::Q5_K, rowsOf<QuantizeQ5_K>(), dequantizeQ5_K},
    {GgmlType::Q6_K, rowsOf<QuantizeQ6_K>(), dequantizeQ6_K},
    {GgmlType::Q8_K, rowsOf<QuantizeQ8_K>(), dequantizeQ8_K},
    {GgmlType::IQ4_NL, rowsOf<QuantizeIQ4_NL>(), dequantizeIQ4_NL},
    {GgmlType::IQ4_XS, rowsOf<QuantizeIQ4_XS>(), dequantizeIQ4_XS},
};

// The type table's flags and this kernel table must agree.
constexpr bool tablesAgree()
{
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        bool found = false;
        for (const Kernels& k : kKernels)
            found = found || k.type == info.type;
        if (found != info.canQuantize || found != info.canDequantize)
            return false;
    }
    return true;
}
static_assert(tablesAgree(), "kGgmlTypes canQuantize/canDequantize must match the kernels here");

const Kernels& kernelsFor(GgmlType type, const char* what)
{
    for (const Kernels& k : kKernels)
        if (k.type == type)
            return k;
    throw Error(QStringLiteral("ggml: cannot %1 type %2").arg(QLatin1String(what), ggmlTypeName(type)));
}

void checkLength(GgmlType type, std::int64_t n, const char* what)
{
    const int bs = ggmlTypeInfo(type).blockSize;
    if (n <= 0 || n % bs != 0)
        throw Error(QStringLiteral("ggml %1: %2 length %3 is not a positive multiple of the block size %4")
                        .arg(ggmlTypeName(type), QLatin1String(what))
                        .arg(n)
                        .arg(bs));
}

} // namespace

std::size_t ggmlRowBytes(GgmlType type, std::int64_t n)
{
    checkLength(type, n, "row");
    const GgmlTypeInfo& info = ggmlTypeInfo(type);
    return std::size_t(n / info.blockSize) * std::size_t(info.typeSize);
}

bool ggmlUsesImportance(GgmlType type)
{
    const GgmlTypeInfo& info = ggmlTypeInfo(type);
    return info.canQuantize && info.usesImportance; // the other types have no quantizer here
}

void ggmlQuantizeChunk(SimdVariant variant, GgmlType type, const float* src, void* dst, std::int64_t firstRow,
                       std::int64_t nrows, std::int64_t rowLength, const float* importance)
{
    const Kernels& k = kernelsFor(type, "quantize to");
    const std::size_t rowBytes = ggmlRowBytes(type, rowLength);
    if (firstRow < 0 || nrows < 0)
        throw Error(QStringLiteral("ggml %1: negative row range %2 + %3")
                        .arg(ggmlTypeName(type))
                        .arg(firstRow)
                        .arg(nrows));
    if (!simdVariantSupported(variant))
        throw Error(QStringLiteral("ggml %1: this CPU cannot run the %2 kernels")
                        .arg(ggmlTypeName(type), QLatin1String(simdVariantName(variant))));
    k.quantize(variant, src + firstRow * rowLength,
               static_cast<std::uint8_t*>(dst) + std::size_t(firstRow) * rowBytes, nrows, rowLength, rowBytes,
               importance); // kernels that take none ignore it (the type table's usesImportance column)
}

void ggmlQuantizeChunk(GgmlType type, const float* src, void* dst, std::int64_t firstRow, std::int64_t nrows,
                       std::int64_t rowLength, const float* importance)
{
    ggmlQuantizeChunk(activeSimdVariant(), type, src, dst, firstRow, nrows, rowLength, importance);
}

void ggmlDequantizeRow(GgmlType type, const void* src, float* dst, std::int64_t n)
{
    const Kernels& k = kernelsFor(type, "dequantize");
    checkLength(type, n, "row");
    k.dequantize(src, dst, n);
}

} // namespace qs
