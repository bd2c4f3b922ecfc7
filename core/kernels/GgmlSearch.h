#pragma once

// Internal to core/kernels: the rounding helpers of the ggml block formats and their scale
// searches, each as a plain scalar reference and as a lane-parallel template. Included only by
// kernels/*.cpp, which are built with -ffp-contract=off (core/CMakeLists.txt): byte identity with
// llama.cpp rests on doing ggml's float operations in ggml's order, never fused into one FMA.
//
// A search tries independent candidate scales. The scalar reference runs them one after another,
// in ggml's order; the lane template (GCC vector extensions, N = 4, 8 or 16 lanes) runs N
// candidates side by side, each lane doing the reference's operations in the reference's order,
// so the rounding is the same: only independent candidates are vectorized, never the terms of one
// sum. Which lane width runs is chosen at run time (kernels/SimdVariant.h); tests/tst_kernels.cpp
// checks every width against the reference.

#ifndef QS_FP_CONTRACT_OFF
#error "kernels/GgmlSearch.h needs -ffp-contract=off (only kernels/*.cpp are built with it)"
#endif
#if defined(__FAST_MATH__)
#error "the ggml kernels must not be built with -ffast-math: it reorders the sums byte identity depends on"
#endif

#include "kernels/SimdVariant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE__)
#include <immintrin.h>
#endif

namespace qs::ggmlq {

// ---- Scalar helpers ---------------------------------------------------------------------------

/// int → float where C's usual arithmetic conversions put it in ggml's expressions.
inline float f(int v)
{
    return static_cast<float>(v);
}

/// Round to nearest, ties to even, by adding 1.5·2^23: the float adder does the rounding and the
/// integer sits in the low mantissa bits. Valid for |v| < 2^22, as everywhere it is used; for
/// NaN it yields 0, which is what the reference gets too.
inline int roundNearest(float v)
{
    const float shifted = v + 12582912.f;
    std::int32_t bits;
    std::memcpy(&bits, &shifted, 4);
    return (bits & 0x007fffff) - 0x00400000;
}

/// roundNearest(v) clamped to [lo, hi]. Clamping the float first gives the same integer (rounding
/// is monotonic and the bounds are integers) and lets the compiler use min/max instead of
/// branches that mispredict on the many codes sitting at a bound.
inline int roundClamped(float v, int lo, int hi)
{
    const float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
    v = v < flo ? flo : v;
    v = v > fhi ? fhi : v;
    return roundNearest(v);
}

/// The same, spelled as maxss/minss (a NaN becomes lo) for fitAffine's loops, where gcc turns the
/// comparisons back into branches (measured: Q2_K 1.5–2× slower that way).
inline int roundClampedMinMax(float v, int lo, int hi)
{
#if defined(__SSE__)
    const __m128 c = _mm_min_ss(_mm_max_ss(_mm_set_ss(v), _mm_set_ss(static_cast<float>(lo))),
                                _mm_set_ss(static_cast<float>(hi)));
    return roundNearest(_mm_cvtss_f32(c));
#else
    return roundClamped(v, lo, hi);
#endif
}

constexpr float kTinyGroup = 1e-15f; // groups whose largest magnitude is below this are all-zero

/// The element of largest magnitude (the first of equal ones) and that magnitude; both 0 for an
/// all-zero group. Every symmetric format starts from it.
struct SignedPeak
{
    float value = 0, magnitude = 0;
};
inline SignedPeak signedPeak(const float* __restrict x, int n)
{
    SignedPeak p;
    for (int i = 0; i < n; ++i) {
        const float a = std::fabs(x[i]);
        if (a > p.magnitude) {
            p.magnitude = a;
            p.value = x[i];
        }
    }
    return p;
}

constexpr std::int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                        1,    13,   25,  38,  53,  69,  89,  113};

/// Index of the table value nearest to v (the upper one on a tie), by bisection.
inline int nearestIq4(float v)
{
    if (v <= f(kIq4Values[0]))
        return 0;
    if (v >= f(kIq4Values[15]))
        return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (v < f(kIq4Values[mid]))
            hi = mid;
        else
            lo = mid;
    }
    return v - f(kIq4Values[hi - 1]) < f(kIq4Values[hi]) - v ? hi - 1 : hi;
}

// ---- Lane helpers -----------------------------------------------------------------------------
// Vectors pass by value between these inline helpers. GCC warns that 32- and 64-byte vectors
// change the calling convention without AVX; they never cross a call here: every helper is
// inlined into a variant built for its width (PerVariant below). GCC reports the warning at the
// end of the file that includes this header, so it stays off to that end; GCC 12 still prints the
// note for 64-byte vectors, which core/CMakeLists.txt turns off for kernels/ (-Wno-psabi).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

template <int N>
struct LaneTypes
{
    typedef float F __attribute__((vector_size(4 * N)));
    typedef std::int32_t I __attribute__((vector_size(4 * N)));
};
template <int N>
using Lanes = typename LaneTypes<N>::F;
template <int N>
using LaneBits = typename LaneTypes<N>::I;

/// v in every lane (v − (+0) is v exactly, −0 included).
template <int N>
inline Lanes<N> splat(float v)
{
    return v - Lanes<N>{};
}

/// roundClampedMinMax per lane, as a float: the clamp keeps maxss/minss's NaN behaviour (a NaN
/// becomes lo), and adding then subtracting 1.5·2^23 rounds to nearest even exactly.
template <int N>
inline Lanes<N> roundClampedLanes(Lanes<N> v, float lo, float hi)
{
    const Lanes<N> vlo = splat<N>(lo), vhi = splat<N>(hi), magic = splat<N>(12582912.f);
    v = v > vlo ? v : vlo;
    v = v < vhi ? v : vhi;
    return (v + magic) - magic;
}

/// roundClamped per lane, as a float, with its NaN behaviour too (a NaN becomes 0): the integer
/// is read from the bits of v + 1.5·2^23, as roundNearest does.
template <int N>
inline Lanes<N> roundClampedLanesBits(Lanes<N> v, float lo, float hi)
{
    const Lanes<N> vlo = splat<N>(lo), vhi = splat<N>(hi);
    v = v < vlo ? vlo : v;
    v = v > vhi ? vhi : v;
    const LaneBits<N> bits = reinterpret_cast<LaneBits<N>>(v + splat<N>(12582912.f));
    return __builtin_convertvector((bits & 0x007fffff) - 0x00400000, Lanes<N>);
}

template <int N>
inline Lanes<N> absLanes(Lanes<N> v)
{
    return reinterpret_cast<Lanes<N>>(reinterpret_cast<LaneBits<N>>(v) & 0x7fffffff);
}

/// kIq4Values[nearestIq4(v)] per lane, without the bisection's branches: the largest table value
/// ≤ v and the smallest one above it, the lower one unless the upper is strictly nearer (a NaN
/// gets the top value, as the bisection gives it).
template <int N>
inline Lanes<N> nearestIq4Value(Lanes<N> v)
{
    Lanes<N> below = splat<N>(f(kIq4Values[0])), above = splat<N>(f(kIq4Values[15]));
    for (int j = 0; j < 16; ++j) {
        const Lanes<N> t = splat<N>(f(kIq4Values[j]));
        below = t <= v ? t : below;
        above = t > v && t < above ? t : above;
    }
    return v - below < above - v ? below : above;
}

// ---- fitSignedScale ---------------------------------------------------------------------------
// Signed codes in [-nmax, nmax-1] for x with one scale, chosen by weighted least squares over 19
// candidate inverse scales around -nmax/max (ggml's make_qx_quants / make_qp_quants family).
// Weights are `w` or, when null, x². Codes are returned offset by nmax (0 … 2·nmax-1). Returns the
// scale (0 for an all-zero group). n ≤ 32.

constexpr int kMaxGroup = 32;
constexpr int kSignedSteps = 18; // the candidates after the first: steps -9 … 9 without 0

/// What every candidate of a signed fit shares, with the first candidate (-nmax/peak) scored.
struct SignedFit
{
    float peak = 0;
    float wx[kMaxGroup], wt[kMaxGroup]; // the weight, and weight·x, of each element
    float scale = 0, best = 0;          // the best candidate so far: its scale and sumXL²/sumLL
};

/// Scores the first candidate into `s` and `codes`; false for an all-zero group (codes zeroed).
inline bool startSignedFit(int n, int nmax, const float* __restrict x, std::int8_t* __restrict codes,
                           const float* __restrict w, SignedFit& s)
{
    const auto [peak, peakAbs] = signedPeak(x, n);
    if (peakAbs < kTinyGroup) {
        std::fill(codes, codes + n, std::int8_t(0));
        return false;
    }
    s.peak = peak;
    for (int i = 0; i < n; ++i) {
        s.wt[i] = w ? w[i] : x[i] * x[i];
        s.wx[i] = s.wt[i] * x[i];
    }
    const float inv = f(-nmax) / peak;
    float sumXL = 0, sumLL = 0;
    for (int i = 0; i < n; ++i) {
        const int l = roundClamped(inv * x[i], -nmax, nmax - 1);
        codes[i] = std::int8_t(l + nmax);
        sumXL += s.wx[i] * f(l);
        sumLL += s.wt[i] * f(l) * f(l);
    }
    s.scale = sumLL != 0.f ? sumXL / sumLL : 0.0f;
    s.best = s.scale * sumXL;
    return true;
}

/// Candidate k (0 … 17) of the signed search: steps -9 … 9, skipping 0.
inline float signedCandidate(int nmax, int k, float peak)
{
    const int step = k - 9;
    return -(f(nmax) + 0.1f * f(step < 0 ? step : step + 1)) / peak;
}

/// The reference: one candidate at a time. Better when sumXL²/sumLL (the explained energy) grows.
inline float fitSignedScaleScalar(int n, int nmax, const float* __restrict x, std::int8_t* __restrict codes,
                                  const float* __restrict w)
{
    SignedFit s;
    if (!startSignedFit(n, nmax, x, codes, w, s))
        return 0.f;
    for (int k = 0; k < kSignedSteps; ++k) {
        const float inv = signedCandidate(nmax, k, s.peak);
        int q[kMaxGroup];
        float sumXL = 0, sumLL = 0;
        for (int i = 0; i < n; ++i) {
            q[i] = roundClamped(inv * x[i], -nmax, nmax - 1);
            sumXL += s.wx[i] * f(q[i]);
            sumLL += s.wt[i] * f(q[i]) * f(q[i]);
        }
        if (sumLL > 0 && sumXL * sumXL > s.best * sumLL) {
            for (int i = 0; i < n; ++i)
                codes[i] = std::int8_t(nmax + q[i]);
            s.scale = sumXL / sumLL;
            s.best = s.scale * sumXL;
        }
    }
    return s.scale;
}

/// N candidates at a time; the last lanes of the last pass repeat candidate 17 and are ignored.
template <int N>
inline float fitSignedScaleLanes(int n, int nmax, const float* __restrict x, std::int8_t* __restrict codes,
                                 const float* __restrict w)
{
    SignedFit s;
    if (!startSignedFit(n, nmax, x, codes, w, s))
        return 0.f;
    for (int k0 = 0; k0 < kSignedSteps; k0 += N) {
        Lanes<N> inv;
        for (int k = 0; k < N; ++k)
            inv[k] = signedCandidate(nmax, std::min(k0 + k, kSignedSteps - 1), s.peak);
        Lanes<N> q[kMaxGroup];
        Lanes<N> sumXL = splat<N>(0), sumLL = splat<N>(0);
        for (int i = 0; i < n; ++i) {
            q[i] = roundClampedLanesBits<N>(inv * splat<N>(x[i]), f(-nmax), f(nmax - 1));
            sumXL += splat<N>(s.wx[i]) * q[i];
            sumLL += splat<N>(s.wt[i]) * q[i] * q[i];
        }
        for (int k = 0; k < N && k0 + k < kSignedSteps; ++k) {
            if (sumLL[k] > 0 && sumXL[k] * sumXL[k] > s.best * sumLL[k]) {
                for (int i = 0; i < n; ++i)
                    codes[i] = std::int8_t(nmax + int(q[i][k]));
                s.scale = sumXL[k] / sumLL[k];
                s.best = s.scale * sumXL[k];
            }
        }
    }
    return s.scale;
}

// ---- fitAffine --------------------------------------------------------------------------------
// Affine fit x ≈ scale·q − offset with q in [0, nmax] and offset ≥ 0 (ggml's make_qkx2_quants /
// make_qkx3_quants): start from the min/max grid, then try nstep+1 inverse scales
// (nmax + rmin + rdelta·k)/(max − min), each refined by a weighted least-squares solve for scale
// and min, keeping the one with the smallest weighted error (absolute when UseAbs, squared
// otherwise); ties keep the earlier candidate. A win moves min, which the next candidates use.
// n ≤ 32. Returns the scale; *offset receives the (non-negative) amount to subtract.

/// What every candidate of an affine fit shares, with the min/max grid scored as the best so far.
struct AffineFit
{
    float hi = 0, sumW = 0, sumX = 0;
    float lo = 0, scale = 0, bestErr = 0; // the best so far: min (≤ 0), scale, weighted error
};

/// Scores the min/max grid into `s` and `codes`; false when no search is needed (a constant
/// group, or nstep < 1), with s.lo and s.scale final.
template <bool UseAbs>
inline bool startAffineFit(int n, int nmax, const float* __restrict x, const float* __restrict w,
                           std::uint8_t* __restrict codes, int nstep, AffineFit& s)
{
    float lo = x[0], hi = x[0];
    float sumW = w[0];
    float sumX = sumW * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
        sumW += w[i];
        sumX += w[i] * x[i];
    }
    if (lo > 0)
        lo = 0;
    s.lo = lo;
    if (hi == lo) {
        std::fill(codes, codes + n, std::uint8_t(0));
        s.scale = 0.f;
        return false;
    }
    const float inv0 = f(nmax) / (hi - lo);
    s.scale = 1 / inv0;
    float err = 0;
    for (int i = 0; i < n; ++i) {
        codes[i] = std::uint8_t(roundClampedMinMax(inv0 * (x[i] - lo), 0, nmax));
        const float d = s.scale * f(codes[i]) + lo - x[i];
        err += w[i] * (UseAbs ? std::fabs(d) : d * d);
    }
    s.hi = hi;
    s.sumW = sumW;
    s.sumX = sumX;
    s.bestErr = err;
    return nstep >= 1;
}

/// The reference: one candidate at a time.
template <bool UseAbs>
inline float fitAffineScalar(int n, int nmax, const float* __restrict x, const float* __restrict w,
                             std::uint8_t* __restrict codes, float* __restrict offset, float rmin,
                             float rdelta, int nstep)
{
    AffineFit s;
    if (startAffineFit<UseAbs>(n, nmax, x, w, codes, nstep, s)) {
        for (int k = 0; k <= nstep; ++k) {
            const float inv = (rmin + rdelta * f(k) + f(nmax)) / (s.hi - s.lo);
            int q[kMaxGroup];
            float sumL = 0, sumLL = 0, sumXL = 0;
            for (int i = 0; i < n; ++i) {
                q[i] = roundClampedMinMax(inv * (x[i] - s.lo), 0, nmax);
                const float wl = w[i] * f(q[i]);
                sumL += wl;
                sumLL += wl * f(q[i]);
                sumXL += wl * x[i];
            }
            const float det = s.sumW * sumLL - sumL * sumL;
            if (!(det > 0))
                continue;
            float scale = (s.sumW * sumXL - s.sumX * sumL) / det;
            float m = (sumLL * s.sumX - sumL * sumXL) / det;
            if (m > 0) { // the offset must not be negative: refit the scale alone
                scale = sumXL / sumLL;
                m = 0;
            }
            float err = 0;
            for (int i = 0; i < n; ++i) {
                const float d = scale * f(q[i]) + m - x[i];
                err += w[i] * (UseAbs ? std::fabs(d) : d * d);
            }
            if (err < s.bestErr) {
                for (int i = 0; i < n; ++i)
                    codes[i] = std::uint8_t(q[i]);
                s.bestErr = err;
                s.scale = scale;
                s.lo = m;
            }
        }
    }
    *offset = -s.lo;
    return s.scale;
}

/// N candidates at a time. They scale x − min with the min of the best fit so far, so a win
/// invalidates the lanes after it: they are evaluated speculatively and rerun from the winner's
/// successor.
template <bool UseAbs, int N>
inline float fitAffineLanes(int n, int nmax, const float* __restrict x, const float* __restrict w,
                            std::uint8_t* __restrict codes, float* __restrict offset, float rmin,
                            float rdelta, int nstep)
{
    AffineFit s;
    if (startAffineFit<UseAbs>(n, nmax, x, w, codes, nstep, s)) {
        auto err = [](Lanes<N> d) {
            if constexpr (UseAbs)
                return absLanes<N>(d);
            else
                return d * d;
        };
        Lanes<N> q[kMaxGroup]; // the codes of the candidates in flight
        float shifted[kMaxGroup];
        for (int k0 = 0; k0 <= nstep;) {
            const float range = s.hi - s.lo;
            for (int i = 0; i < n; ++i)
                shifted[i] = x[i] - s.lo;
            Lanes<N> inv;
            for (int k = 0; k < N; ++k)
                inv[k] = (rmin + rdelta * f(k0 + k) + f(nmax)) / range;
            Lanes<N> sumL = splat<N>(0), sumLL = splat<N>(0), sumXL = splat<N>(0);
            for (int i = 0; i < n; ++i) {
                q[i] = roundClampedLanes<N>(inv * splat<N>(shifted[i]), 0, f(nmax));
                const Lanes<N> wl = splat<N>(w[i]) * q[i];
                sumL += wl;
                sumLL += wl * q[i];
                sumXL += wl * splat<N>(x[i]);
            }
            const Lanes<N> vW = splat<N>(s.sumW), vX = splat<N>(s.sumX);
            const Lanes<N> det = vW * sumLL - sumL * sumL;
            Lanes<N> scale = (vW * sumXL - vX * sumL) / det;
            Lanes<N> m = (sumLL * vX - sumL * sumXL) / det;
            const auto negOffset = m > splat<N>(0);
            scale = negOffset ? sumXL / sumLL : scale;
            m = negOffset ? splat<N>(0) : m;
            Lanes<N> e = splat<N>(0);
            for (int i = 0; i < n; ++i)
                e += splat<N>(w[i]) * err(scale * q[i] + m - splat<N>(x[i]));
            int next = k0 + N;
            for (int k = 0; k < N && k0 + k <= nstep; ++k) {
                if (det[k] > 0 && e[k] < s.bestErr) {
                    for (int i = 0; i < n; ++i)
                        codes[i] = std::uint8_t(q[i][k]);
                    s.bestErr = e[k];
                    s.scale = scale[k];
                    s.lo = m[k];
                    next = k0 + k + 1;
                    break;
                }
            }
            k0 = next;
        }
    }
    *offset = -s.lo;
    return s.scale;
}

// ---- IQ4 group scale --------------------------------------------------------------------------
// After the first guess (d, with `best` = d·sumQX), IQ4_NL/IQ4_XS try 2·kIq4Tries+1 inverse
// scales (t + values[0])/peak, t = -7 … 7, keeping the one whose least-squares scale explains
// the most energy. Returns the chosen scale. A group holds 32 elements.

constexpr int kIq4Tries = 7;

/// The reference: one candidate at a time.
inline float refineIq4ScaleScalar(const float* __restrict x, const float* __restrict w, float peak, float d,
                                  float best)
{
    for (int t = -kIq4Tries; t <= kIq4Tries; ++t) {
        const float id = f(t + kIq4Values[0]) / peak;
        float sumQX = 0, sumQQ = 0;
        for (int j = 0; j < 32; ++j) {
            const float q = f(kIq4Values[nearestIq4(id * x[j])]);
            const float wq = w[j] * q;
            sumQX += wq * x[j];
            sumQQ += wq * q;
        }
        if (sumQQ > 0 && sumQX * sumQX > best * sumQQ) {
            d = sumQX / sumQQ;
            best = d * sumQX;
        }
    }
    return d;
}

template <int N>
inline float refineIq4ScaleLanes(const float* __restrict x, const float* __restrict w, float peak, float d,
                                 float best)
{
    for (int t0 = -kIq4Tries; t0 <= kIq4Tries; t0 += N) {
        Lanes<N> id;
        for (int k = 0; k < N; ++k)
            id[k] = f(std::min(t0 + k, kIq4Tries) + kIq4Values[0]) / peak;
        Lanes<N> sumQX = splat<N>(0), sumQQ = splat<N>(0);
        for (int j = 0; j < 32; ++j) {
            const Lanes<N> q = nearestIq4Value<N>(id * splat<N>(x[j]));
            const Lanes<N> wq = splat<N>(w[j]) * q;
            sumQX += wq * splat<N>(x[j]);
            sumQQ += wq * q;
        }
        for (int k = 0; k < N && t0 + k <= kIq4Tries; ++k) {
            if (sumQQ[k] > 0 && sumQX[k] * sumQX[k] > best * sumQQ[k]) {
                d = sumQX[k] / sumQQ[k];
                best = d * sumQX[k];
            }
        }
    }
    return d;
}

// ---- Search policies ----------------------------------------------------------------------------
// The format code (GgmlQuants.cpp) is written once against a policy and built per variant.

struct ScalarSearch
{
    static float fitSigned(int n, int nmax, const float* x, std::int8_t* codes, const float* w)
    {
        return fitSignedScaleScalar(n, nmax, x, codes, w);
    }
    template <bool UseAbs>
    static float fitAffine(int n, int nmax, const float* x, const float* w, std::uint8_t* codes,
                           float* offset, float rmin, float rdelta, int nstep)
    {
        return fitAffineScalar<UseAbs>(n, nmax, x, w, codes, offset, rmin, rdelta, nstep);
    }
    static float refineIq4(const float* x, const float* w, float peak, float d, float best)
    {
        return refineIq4ScaleScalar(x, w, peak, d, best);
    }
};

template <int N>
struct LaneSearch
{
    static float fitSigned(int n, int nmax, const float* x, std::int8_t* codes, const float* w)
    {
        return fitSignedScaleLanes<N>(n, nmax, x, codes, w);
    }
    template <bool UseAbs>
    static float fitAffine(int n, int nmax, const float* x, const float* w, std::uint8_t* codes,
                           float* offset, float rmin, float rdelta, int nstep)
    {
        return fitAffineLanes<UseAbs, N>(n, nmax, x, w, codes, offset, rmin, rdelta, nstep);
    }
    static float refineIq4(const float* x, const float* w, float peak, float d, float best)
    {
        return refineIq4ScaleLanes<N>(x, w, peak, d, best);
    }
};

// ---- Variants ---------------------------------------------------------------------------------

#if defined(__x86_64__) || defined(__i386__)
#define QS_GGML_X86 1
// flatten inlines the whole call tree, so the lane templates and the format code around them are
// compiled for the target's instruction set, not the build baseline's.
#define QS_TARGET_AVX2 __attribute__((target("avx2,fma,f16c"), flatten))
#define QS_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq"), flatten))
#endif

/// F::run<S>(args…) built once per variant, each in a function compiled for its instruction set;
/// call() picks the one for v. The caller checks that the CPU supports v (simdVariantSupported).
template <class F>
struct PerVariant
{
    template <class... A>
    static decltype(auto) scalar(A... a)
    {
        return F::template run<ScalarSearch>(a...);
    }
    template <class... A>
    static decltype(auto) vec128(A... a)
    {
        return F::template run<LaneSearch<4>>(a...);
    }
#ifdef QS_GGML_X86
    template <class... A>
    QS_TARGET_AVX2 static decltype(auto) avx2(A... a)
    {
        return F::template run<LaneSearch<8>>(a...);
    }
    template <class... A>
    QS_TARGET_AVX512 static decltype(auto) avx512(A... a)
    {
        return F::template run<LaneSearch<16>>(a...);
    }
#endif
    template <class... A>
    static decltype(auto) call(SimdVariant v, A... a)
    {
        switch (v) {
        case SimdVariant::Scalar:
            break;
        case SimdVariant::Vec128:
            return vec128(a...);
#ifdef QS_GGML_X86
        case SimdVariant::Avx2:
            return avx2(a...);
        case SimdVariant::Avx512:
            return avx512(a...);
#else
        case SimdVariant::Avx2:
        case SimdVariant::Avx512:
            break;
#endif
        }
        return scalar(a...);
    }
};

} // namespace qs::ggmlq
