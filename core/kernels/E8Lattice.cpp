#include "kernels/E8Lattice.h"

#include "kernels/AdditiveCodes.h"
#include "kernels/TokenCount.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace qs::e8 {

namespace {

/// E8P's pattern table, also in structure-of-arrays form for the encoder's loop over patterns.
struct Patterns
{
    std::array<std::array<float, kDim>, kPatterns> rows{};
    std::array<std::array<float, kPatterns>, kDim> byCoordinate{};
    std::array<float, kPatterns> norm2{};
    std::array<float, kPatterns> oddSum{}; ///< 1 when the pattern's coordinate sum is odd
    std::array<std::uint8_t, kPatterns> parity{};

    Patterns()
    {
        // Every vector of {½, 3⁄2, 5⁄2}^8 in base-3 order (coordinate 0 the most significant digit): the
        // 227 with norm² ≤ 10 first, then the first 29 with norm² 12.
        int n = 0;
        for (int pass = 0; pass < 2; ++pass) {
            for (int index = 0; index < 6561 && n < kPatterns; ++index) {
                std::array<float, kDim> a{};
                int rest = index;
                float sq = 0;
                for (int i = kDim - 1; i >= 0; --i) {
                    a[std::size_t(i)] = 0.5f + float(rest % 3);
                    rest /= 3;
                    sq += a[std::size_t(i)] * a[std::size_t(i)];
                }
                if ((pass == 0 && sq <= 10.0f) || (pass == 1 && sq == 12.0f))
                    rows[std::size_t(n++)] = a;
            }
        }
        for (int p = 0; p < kPatterns; ++p) {
            float sq = 0, sum = 0;
            for (int i = 0; i < kDim; ++i) {
                const float a = rows[std::size_t(p)][std::size_t(i)];
                byCoordinate[std::size_t(i)][std::size_t(p)] = a;
                sq += a * a;
                sum += a;
            }
            norm2[std::size_t(p)] = sq;
            parity[std::size_t(p)] = std::uint8_t(int(sum) & 1); // the sum of 8 half-integers is an integer
            oddSum[std::size_t(p)] = float(parity[std::size_t(p)]);
        }
    }
};

const Patterns& patterns()
{
    static const Patterns table;
    return table;
}

struct Shell
{
    std::array<std::array<float, kDim>, kShellPoints> points{};
    std::array<float, kShellPoints> norm2{};

    Shell()
    {
        int n = 1;                     // points[0]: the origin
        for (int i = 0; i < kDim; ++i) // ±1 on two coordinates: 28 pairs × 4 signs
            for (int j = i + 1; j < kDim; ++j)
                for (int s = 0; s < 4; ++s) {
                    points[std::size_t(n)][std::size_t(i)] = (s & 1) ? -1.0f : 1.0f;
                    points[std::size_t(n)][std::size_t(j)] = (s & 2) ? -1.0f : 1.0f;
                    ++n;
                }
        for (int s = 0; s < 256; ++s) { // (±½)^8 with an even number of minus signs
            if (std::popcount(unsigned(s)) % 2 != 0)
                continue;
            for (int i = 0; i < kDim; ++i)
                points[std::size_t(n)][std::size_t(i)] = ((s >> i) & 1) ? -0.5f : 0.5f;
            ++n;
        }
        for (int i = 0; i < kDim && n < kShellPoints; ++i) // ±2 on one coordinate, −2 on the last left out
            for (float v : {2.0f, -2.0f})
                if (n < kShellPoints) {
                    points[std::size_t(n)][std::size_t(i)] = v;
                    ++n;
                }
        for (int k = 0; k < kShellPoints; ++k) {
            float sq = 0;
            for (float v : points[std::size_t(k)])
                sq += v * v;
            norm2[std::size_t(k)] = sq;
        }
    }
};

const Shell& shell()
{
    static const Shell table;
    return table;
}

/// ±1 for each coordinate of each 8-bit sign mask (bit i set: coordinate i negative).
struct SignTable
{
    std::array<std::array<float, kDim>, 256> rows{};
    SignTable()
    {
        for (int m = 0; m < 256; ++m)
            for (int i = 0; i < kDim; ++i)
                rows[std::size_t(m)][std::size_t(i)] = ((m >> i) & 1) ? -1.0f : 1.0f;
    }
};

const SignTable& signTable()
{
    static const SignTable table;
    return table;
}

/// The E8P point of `code` into p[8] from the tables (decodeE8P's arithmetic).
inline void e8pPoint(const Patterns& t, const SignTable& sg, unsigned code, float* p)
{
    const unsigned pattern = code & 255u, signs = (code >> 8) & 127u;
    const unsigned last = (unsigned(t.parity[pattern]) + unsigned(std::popcount(signs))) & 1u;
    const float* a = t.rows[pattern].data();
    const float* s = sg.rows[signs | (last << 7)].data();
    const float shift = (code & 0x8000u) ? -0.25f : 0.25f;
    for (int i = 0; i < kDim; ++i)
        p[i] = a[i] * s[i] + shift;
}

} // namespace

const float* e8pPattern(int index)
{
    return patterns().rows[std::size_t(index & 255)].data();
}

void decodeE8P(std::uint16_t code, float* out)
{
    const Patterns& t = patterns();
    const int p = code & 255;
    const unsigned signs = (code >> 8) & 127u;
    const unsigned last = (unsigned(t.parity[std::size_t(p)]) + unsigned(std::popcount(signs))) & 1u;
    const unsigned all = signs | (last << 7);
    const float shift = (code & 0x8000u) ? -0.25f : 0.25f;
    const float* a = t.rows[std::size_t(p)].data();
    for (int i = 0; i < kDim; ++i)
        out[i] = (((all >> i) & 1u) ? -a[i] : a[i]) + shift;
}

std::uint16_t encodeE8P(const float* v, float* point)
{
    const Patterns& t = patterns();
    float best = std::numeric_limits<float>::infinity();
    std::uint16_t bestCode = 0;
    alignas(64) std::array<float, kPatterns> dot{}, least{};
    for (int s = 0; s < 2; ++s) {
        const float shift = s ? -0.25f : 0.25f;
        float u[kDim], au[kDim];
        unsigned neg = 0;
        float uu = 0;
        for (int i = 0; i < kDim; ++i) {
            u[i] = v[i] - shift;
            au[i] = std::fabs(u[i]);
            neg |= unsigned(u[i] < 0) << i;
            uu += u[i] * u[i];
        }
        const float negOdd = float(std::popcount(neg) & 1);
        dot.fill(0.0f);
        least.fill(std::numeric_limits<float>::infinity());
        for (int i = 0; i < kDim; ++i) {
            const float* a = t.byCoordinate[std::size_t(i)].data();
            const float x = au[i];
            for (int p = 0; p < kPatterns; ++p) {
                const float term = a[p] * x;
                dot[std::size_t(p)] += term;
                least[std::size_t(p)] = std::min(least[std::size_t(p)], term);
            }
        }
        // ‖u − x‖² = ‖u‖² − 2·u·x + ‖a‖²; with signs following u, u·x = Σ a_i|u_i|, less 2·min a_i|u_i| when
        // the parity needs one flip.
        int bestP = -1;
        float bestHere = best;
        for (int p = 0; p < kPatterns; ++p) {
            const float flip = t.oddSum[std::size_t(p)] != negOdd ? 2.0f * least[std::size_t(p)] : 0.0f;
            const float d = uu - 2.0f * (dot[std::size_t(p)] - flip) + t.norm2[std::size_t(p)];
            if (d < bestHere) {
                bestHere = d;
                bestP = p;
            }
        }
        if (bestP < 0)
            continue;
        best = bestHere;
        unsigned signs = neg;
        if (float(t.parity[std::size_t(bestP)]) != negOdd) { // flip the cheapest coordinate
            const float* a = t.rows[std::size_t(bestP)].data();
            int k = 0;
            for (int i = 1; i < kDim; ++i)
                if (a[i] * au[i] < a[k] * au[k])
                    k = i;
            signs ^= 1u << k;
        }
        bestCode = std::uint16_t(unsigned(bestP) | ((signs & 127u) << 8) | (unsigned(s) << 15));
    }
    if (point)
        decodeE8P(bestCode, point);
    return bestCode;
}

void decodeShell(std::uint8_t code, float* out)
{
    const auto& p = shell().points[code];
    for (int i = 0; i < kDim; ++i)
        out[i] = p[std::size_t(i)];
}

std::uint8_t encodeShell(const float* v, float* point)
{
    const Shell& t = shell();
    float best = std::numeric_limits<float>::infinity();
    int bestK = 0;
    for (int k = 0; k < kShellPoints; ++k) {
        const float* p = t.points[std::size_t(k)].data();
        float dot = 0;
        for (int i = 0; i < kDim; ++i)
            dot += p[i] * v[i];
        const float d = t.norm2[std::size_t(k)] - 2.0f * dot; // ‖v − p‖² − ‖v‖²
        if (d < best) {
            best = d;
            bestK = k;
        }
    }
    if (point)
        decodeShell(std::uint8_t(bestK), point);
    return std::uint8_t(bestK);
}

namespace {

/// The step of the uniform grid of 2^bits levels with the least mean squared error on unit Gaussian values
/// (Max 1960), in units of the row's scale.
float tailStep(int bits)
{
    return aq::kGaussianUniformStep[bits] / kScaleOverRms[bits];
}

} // namespace

void encodeQuip(int bits, const float* v, int len, std::uint8_t* codes, float* point)
{
    if (len < kDim) {
        const float step = tailStep(bits);
        for (int i = 0; i < len; ++i)
            codes[i] = aq::gaussianLevel(bits, step, v[i], point[i]);
        return;
    }
    const unsigned first = encodeE8P(v, point);
    unsigned second = 0;
    if (bits > 2) {
        const float b = kResidualScale[bits];
        float r[kDim], p2[kDim];
        for (int i = 0; i < kDim; ++i)
            r[i] = (v[i] - point[i]) / b;
        second = bits == 3 ? encodeShell(r, p2) : encodeE8P(r, p2);
        for (int i = 0; i < kDim; ++i)
            point[i] += b * p2[i];
    }
    const int high = bits - 2;
    for (int i = 0; i < kDim; ++i)
        codes[i] =
            std::uint8_t(((first >> (2 * i)) & 3u) | (((second >> (high * i)) & ((1u << high) - 1u)) << 2));
}

void decodeQuip(int bits, const std::uint8_t* codes, int len, float* point)
{
    if (len < kDim) {
        const float step = tailStep(bits);
        for (int i = 0; i < len; ++i)
            point[i] = aq::gaussianLevelValue(bits, step, codes[i]);
        return;
    }
    unsigned first = 0, second = 0;
    const int high = bits - 2;
    for (int i = 0; i < kDim; ++i) {
        first |= unsigned(codes[i] & 3u) << (2 * i);
        second |= unsigned(codes[i] >> 2) << (high * i);
    }
    decodeE8P(std::uint16_t(first), point);
    if (bits > 2) {
        float p2[kDim];
        if (bits == 3)
            decodeShell(std::uint8_t(second), p2);
        else
            decodeE8P(std::uint16_t(second), p2);
        const float b = kResidualScale[bits];
        for (int i = 0; i < kDim; ++i)
            point[i] += b * p2[i];
    }
}

namespace {

#if defined(__AVX2__) && defined(__FMA__)
/// The sign bit of each coordinate for each 8-bit sign mask, to XOR onto a pattern.
struct SignBits
{
    alignas(32) std::array<std::array<std::uint32_t, kDim>, 256> rows{};
    SignBits()
    {
        for (int m = 0; m < 256; ++m)
            for (int i = 0; i < kDim; ++i)
                rows[std::size_t(m)][std::size_t(i)] = ((m >> i) & 1) ? 0x80000000u : 0u;
    }
};

const SignBits& signBits()
{
    static const SignBits table;
    return table;
}

inline __m256 e8pPoint8(const Patterns& t, const SignBits& sb, unsigned code)
{
    const unsigned pattern = code & 255u, signs = (code >> 8) & 127u;
    const unsigned last = (unsigned(t.parity[pattern]) + unsigned(std::popcount(signs))) & 1u;
    const __m256 a = _mm256_loadu_ps(t.rows[pattern].data());
    const __m256 sign = _mm256_castsi256_ps(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(sb.rows[signs | (last << 7)].data())));
    // ±¼ without a branch (the shift bit is random): 0.25f with bit 15 of the code as its sign bit.
    const std::uint32_t shiftBits = 0x3e800000u | ((code & 0x8000u) << 16);
    return _mm256_add_ps(_mm256_xor_ps(a, sign), _mm256_castsi256_ps(_mm256_set1_epi32(int(shiftBits))));
}

/// dotQuipRow's whole vectors with AVX2 for `Bits` bits and N tokens (accumulators in registers); returns
/// the columns done.
template <int Bits, int N>
std::int64_t dotQuipVectors(const std::uint8_t* codes, std::int64_t cols, const float* x, std::int64_t ldx,
                            float* acc)
{
    const Patterns& t = patterns();
    const SignBits& sb = signBits();
    const Shell& sh = shell();
    const __m256 b = _mm256_set1_ps(kResidualScale[Bits]);
    __m256 lanes[N];
    for (int k = 0; k < N; ++k)
        lanes[k] = _mm256_setzero_ps();
    std::int64_t j = 0;
    for (; j + kDim <= cols; j += kDim) {
        std::uint64_t w;
        std::memcpy(&w, codes + j, 8);
        __m256 p = e8pPoint8(t, sb, unsigned(aq::gatherFields<2>(w)));
        if constexpr (Bits == 3)
            p = _mm256_fmadd_ps(
                b, _mm256_loadu_ps(sh.points[std::size_t(aq::gatherFields<1>(w >> 2))].data()), p);
        if constexpr (Bits == 4)
            p = _mm256_fmadd_ps(b, e8pPoint8(t, sb, unsigned(aq::gatherFields<2>(w >> 2))), p);
        for (int k = 0; k < N; ++k)
            lanes[k] = _mm256_fmadd_ps(p, _mm256_loadu_ps(x + k * ldx + j), lanes[k]);
    }
    for (int k = 0; k < N; ++k)
        acc[k] += kernels::horizontalSum(lanes[k]);
    return j;
}

/// dotE8PWords with AVX2 for N tokens (accumulators in registers).
template <int N>
void dotE8PWords(const std::uint16_t* codes, std::int64_t vectors, const float* x, std::int64_t ldx,
                 float* acc)
{
    const Patterns& t = patterns();
    const SignBits& sb = signBits();
    __m256 lanes[N];
    for (int k = 0; k < N; ++k)
        lanes[k] = _mm256_setzero_ps();
    for (std::int64_t v = 0; v < vectors; ++v) {
        const __m256 p = e8pPoint8(t, sb, codes[v]);
        for (int k = 0; k < N; ++k)
            lanes[k] = _mm256_fmadd_ps(p, _mm256_loadu_ps(x + k * ldx + v * kDim), lanes[k]);
    }
    for (int k = 0; k < N; ++k)
        acc[k] += kernels::horizontalSum(lanes[k]);
}

/// decodeQuipRow's whole vectors with AVX2; returns the columns done.
template <int Bits>
std::int64_t decodeQuipVectors(const std::uint8_t* codes, std::int64_t cols, float scale, float* out)
{
    const Patterns& t = patterns();
    const SignBits& sb = signBits();
    const Shell& sh = shell();
    const __m256 b = _mm256_set1_ps(kResidualScale[Bits]), s = _mm256_set1_ps(scale);
    std::int64_t j = 0;
    for (; j + kDim <= cols; j += kDim) {
        std::uint64_t w;
        std::memcpy(&w, codes + j, 8);
        __m256 p = e8pPoint8(t, sb, unsigned(aq::gatherFields<2>(w)));
        if constexpr (Bits == 3) // product, then sum: decodeQuip's rounding
            p = _mm256_add_ps(
                p, _mm256_mul_ps(
                       b, _mm256_loadu_ps(sh.points[std::size_t(aq::gatherFields<1>(w >> 2))].data())));
        if constexpr (Bits == 4)
            p = _mm256_add_ps(p, _mm256_mul_ps(b, e8pPoint8(t, sb, unsigned(aq::gatherFields<2>(w >> 2)))));
        _mm256_storeu_ps(out + j, _mm256_mul_ps(p, s));
    }
    return j;
}

template <int Bits>
std::int64_t dotQuipVectors(std::int64_t n, const std::uint8_t* codes, std::int64_t cols, const float* x,
                            std::int64_t ldx, float* acc)
{
    return kernels::withTokenCount(
        n, [&](auto tokens) { return dotQuipVectors<Bits, tokens()>(codes, cols, x, ldx, acc); });
}
#endif

} // namespace

namespace {

/// dotQuipRow's whole vectors without SIMD intrinsics (any token count up to kMaxDotTokens); returns the
/// columns done.
std::int64_t dotQuipVectorsPortable(int bits, const std::uint8_t* codes, std::int64_t cols, const float* x,
                                    std::int64_t n, std::int64_t ldx, float* acc)
{
    const Patterns& t = patterns();
    const SignTable& sg = signTable();
    const Shell& sh = shell();
    const float b = kResidualScale[bits];
    float lanes[kMaxDotTokens][kDim] = {};
    std::int64_t j = 0;
    for (; j + kDim <= cols; j += kDim) {
        const std::uint8_t* c = codes + j;
        unsigned first = 0, second = 0;
        for (int i = 0; i < kDim; ++i) {
            first |= unsigned(c[i] & 3u) << (2 * i);
            second |= unsigned(c[i] >> 2) << ((bits - 2) * i);
        }
        float p[kDim];
        e8pPoint(t, sg, first, p);
        if (bits == 3) {
            const float* q = sh.points[second & 255u].data();
            for (int i = 0; i < kDim; ++i)
                p[i] += b * q[i];
        } else if (bits == 4) {
            float q[kDim];
            e8pPoint(t, sg, second, q);
            for (int i = 0; i < kDim; ++i)
                p[i] += b * q[i];
        }
        for (std::int64_t k = 0; k < n; ++k) {
            const float* xk = x + k * ldx + j;
            for (int i = 0; i < kDim; ++i)
                lanes[k][i] += p[i] * xk[i];
        }
    }
    for (std::int64_t k = 0; k < n; ++k) {
        float sum = 0;
        for (int i = 0; i < kDim; ++i)
            sum += lanes[k][i];
        acc[k] += sum;
    }
    return j;
}

} // namespace

void dotQuipRow(int bits, const std::uint8_t* codes, std::int64_t cols, const float* x, std::int64_t n,
                std::int64_t ldx, float* acc, bool portable)
{
    (void)portable;          // without AVX2 every call is portable
    if (n > kMaxDotTokens) { // blocks of kMaxDotTokens tokens
        for (std::int64_t t0 = 0; t0 < n; t0 += kMaxDotTokens)
            dotQuipRow(bits, codes, cols, x + t0 * ldx, std::min(kMaxDotTokens, n - t0), ldx, acc + t0,
                       portable);
        return;
    }
    std::int64_t j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    if (!portable && n >= 1 && n <= kMaxDotTokens)
        j = bits == 2   ? dotQuipVectors<2>(n, codes, cols, x, ldx, acc)
            : bits == 3 ? dotQuipVectors<3>(n, codes, cols, x, ldx, acc)
                        : dotQuipVectors<4>(n, codes, cols, x, ldx, acc);
    else
#endif
        j = dotQuipVectorsPortable(bits, codes, cols, x, n, ldx, acc);
    if (j < cols) { // the tail piece
        float p[kDim];
        decodeQuip(bits, codes + j, int(cols - j), p);
        for (std::int64_t k = 0; k < n; ++k)
            for (std::int64_t i = 0; i < cols - j; ++i)
                acc[k] += p[i] * x[k * ldx + j + i];
    }
}

void dotE8PWords(const std::uint16_t* codes, std::int64_t vectors, const float* x, std::int64_t n,
                 std::int64_t ldx, float* acc, bool portable)
{
    (void)portable;          // without AVX2 every call is portable
    if (n > kMaxDotTokens) { // blocks of kMaxDotTokens tokens
        for (std::int64_t t0 = 0; t0 < n; t0 += kMaxDotTokens)
            dotE8PWords(codes, vectors, x + t0 * ldx, std::min(kMaxDotTokens, n - t0), ldx, acc + t0,
                        portable);
        return;
    }
#if defined(__AVX2__) && defined(__FMA__)
    if (!portable && n >= 1) {
        kernels::withTokenCount(n, [&](auto tokens) { dotE8PWords<tokens()>(codes, vectors, x, ldx, acc); });
        return;
    }
#endif
    const Patterns& t = patterns();
    const SignTable& sg = signTable();
    for (std::int64_t k = 0; k < n; ++k) {
        float lanes[kDim] = {};
        for (std::int64_t v = 0; v < vectors; ++v) {
            float p[kDim];
            e8pPoint(t, sg, codes[v], p);
            const float* xk = x + k * ldx + v * kDim;
            for (int i = 0; i < kDim; ++i)
                lanes[i] += p[i] * xk[i];
        }
        float sum = 0;
        for (float l : lanes)
            sum += l;
        acc[k] += sum;
    }
}

void decodeQuipRow(int bits, const std::uint8_t* codes, std::int64_t cols, float scale, float* out)
{
    std::int64_t j = 0;
#if defined(__AVX2__) && defined(__FMA__)
    j = bits == 2   ? decodeQuipVectors<2>(codes, cols, scale, out)
        : bits == 3 ? decodeQuipVectors<3>(codes, cols, scale, out)
                    : decodeQuipVectors<4>(codes, cols, scale, out);
#endif
    for (; j < cols; j += kDim) {
        const int len = int(std::min<std::int64_t>(kDim, cols - j));
        decodeQuip(bits, codes + j, len, out + j);
        for (int k = 0; k < len; ++k)
            out[j + k] *= scale;
    }
}

} // namespace qs::e8
