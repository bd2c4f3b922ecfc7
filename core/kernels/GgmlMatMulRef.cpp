// The scalar twin of the ggml matrix products: for each weight row and token, the block
// arithmetic of ggml's generic vec_dot (ggml-cpu/quants.c, *_generic): integer sums per block or
// group, times the product of the two block scales, summed in single precision in ggml's order
// (the k-quants through eight lane sums, as the generic code's sums[8]). Built with
// -ffp-contract=off like the rest of kernels/, so no product is fused into an FMA.

#include "kernels/Convert.h"
#include "kernels/GgmlMatMulKernels.h"

#include <cstring>
#include <type_traits>

namespace qs::ggmlmm {

namespace {

using namespace ggml;

inline float half(std::uint16_t h)
{
    return ref::f16ToF32(h);
}

float dotQ4_0(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ4_0*>(vw);
    const auto* y = static_cast<const BlockQ8_0*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        int s0 = 0, s1 = 0;
        for (int j = 0; j < 16; ++j) {
            s0 += ((x[b].qs[j] & 0xF) - 8) * y[b].qs[j];
            s1 += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
        }
        sumf += float(s0 + s1) * half(x[b].d) * half(y[b].d);
    }
    return sumf;
}

float dotQ4_1(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ4_1*>(vw);
    const auto* y = static_cast<const BlockQ8_1*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        int s0 = 0, s1 = 0;
        for (int j = 0; j < 16; ++j) {
            s0 += (x[b].qs[j] & 0xF) * y[b].qs[j];
            s1 += (x[b].qs[j] >> 4) * y[b].qs[j + 16];
        }
        sumf += (half(x[b].d) * half(y[b].d)) * float(s0 + s1) + half(x[b].m) * half(y[b].s);
    }
    return sumf;
}

/// Bit j of a Q5 block's high bits, as bit 4 of the code.
inline int q5High(const std::uint8_t qh[4], int j)
{
    std::uint32_t h;
    std::memcpy(&h, qh, 4);
    return int((h >> j) & 1u) << 4;
}

float dotQ5_0(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ5_0*>(vw);
    const auto* y = static_cast<const BlockQ8_0*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        int s0 = 0, s1 = 0;
        for (int j = 0; j < 16; ++j) {
            s0 += (((x[b].qs[j] & 0xF) | q5High(x[b].qh, j)) - 16) * y[b].qs[j];
            s1 += (((x[b].qs[j] >> 4) | q5High(x[b].qh, j + 16)) - 16) * y[b].qs[j + 16];
        }
        sumf += (half(x[b].d) * half(y[b].d)) * float(s0 + s1);
    }
    return sumf;
}

float dotQ5_1(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ5_1*>(vw);
    const auto* y = static_cast<const BlockQ8_1*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        int s0 = 0, s1 = 0;
        for (int j = 0; j < 16; ++j) {
            s0 += ((x[b].qs[j] & 0xF) | q5High(x[b].qh, j)) * y[b].qs[j];
            s1 += ((x[b].qs[j] >> 4) | q5High(x[b].qh, j + 16)) * y[b].qs[j + 16];
        }
        sumf += (half(x[b].d) * half(y[b].d)) * float(s0 + s1) + half(x[b].m) * half(y[b].s);
    }
    return sumf;
}

float dotQ8_0(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ8_0*>(vw);
    const auto* y = static_cast<const BlockQ8_0*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        int s = 0;
        for (int j = 0; j < 32; ++j)
            s += x[b].qs[j] * y[b].qs[j];
        sumf += float(s) * (half(x[b].d) * half(y[b].d));
    }
    return sumf;
}

float dotIQ4_NL(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockIQ4_NL*>(vw);
    const auto* y = static_cast<const BlockQ8_0*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        const float d = half(y[b].d) * half(x[b].d);
        int s0 = 0, s1 = 0;
        for (int j = 0; j < 16; ++j) {
            s0 += y[b].qs[j] * kIq4Table[x[b].qs[j] & 0xF];
            s1 += y[b].qs[j + 16] * kIq4Table[x[b].qs[j] >> 4];
        }
        sumf += d * float(s0 + s1);
    }
    return sumf;
}

float dotQ2_K(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ2_K*>(vw);
    const auto* y = static_cast<const BlockQ8_K*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        const std::uint8_t* sc = x[b].scales;
        int summs = 0;
        for (int j = 0; j < 16; ++j)
            summs += y[b].bsums[j] * (sc[j] >> 4);
        const float dall = y[b].d * half(x[b].d);
        const float dmin = y[b].d * half(x[b].dmin);
        int isum = 0;
        for (int e = 0; e < kSuperBlock; e += 16) { // group e/16: elements 128k + 32j + l
            const int k = e / 128, j = (e % 128) / 32, l0 = e % 32;
            int s = 0;
            for (int l = l0; l < l0 + 16; ++l)
                s += y[b].qs[e - l0 + l] * ((x[b].qs[32 * k + l] >> (2 * j)) & 3);
            isum += (sc[e / 16] & 0xF) * s;
        }
        sumf += dall * float(isum) - dmin * float(summs);
    }
    return sumf;
}

/// The k-quants' generic tail: 256 signed codes a[] against the activation block, through eight lane
/// sums of scale · code · activation (element i in lane i % 8), as ggml's aux32.
template <int GroupSize>
void laneSums(const std::int8_t* a, const std::int8_t* q8, const int* scale, std::int32_t aux32[8])
{
    for (int i = 0; i < kSuperBlock; ++i)
        aux32[i % 8] += scale[i / GroupSize] * (q8[i] * a[i]);
}

float dotQ3_K(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ3_K*>(vw);
    const auto* y = static_cast<const BlockQ8_K*>(vx);
    float sums[8] = {};
    for (std::int64_t b = 0; b < nb; ++b) {
        std::int8_t a[kSuperBlock];
        for (int e = 0; e < kSuperBlock; ++e) {
            const int h = e / 128, pair = (e % 128) / 32, l = e % 32;
            const int low = (x[b].qs[32 * h + l] >> (2 * pair)) & 3;
            a[e] = std::int8_t(low - ((x[b].hmask[l] >> (4 * h + pair)) & 1 ? 0 : 4));
        }
        std::int8_t sc8[16];
        unpackQ3Scales(x[b].scales, sc8);
        int sc[16];
        for (int g = 0; g < 16; ++g)
            sc[g] = sc8[g];
        std::int32_t aux32[8] = {};
        laneSums<16>(a, y[b].qs, sc, aux32);
        const float d = half(x[b].d) * y[b].d;
        for (int l = 0; l < 8; ++l)
            sums[l] += d * float(aux32[l]);
    }
    float sumf = 0;
    for (int l = 0; l < 8; ++l)
        sumf += sums[l];
    return sumf;
}

/// Q4_K and Q5_K: codes with 6-bit scales and mins per group of 32, the mins through the bsums.
template <bool High>
float dotQ45_K(const void* vw, const void* vx, std::int64_t nb)
{
    using Block = std::conditional_t<High, BlockQ5_K, BlockQ4_K>;
    const auto* x = static_cast<const Block*>(vw);
    const auto* y = static_cast<const BlockQ8_K*>(vx);
    float sums[8] = {};
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        std::int8_t a[kSuperBlock];
        for (int e = 0; e < kSuperBlock; ++e) {
            const int c = e / 64, l = e % 32;
            const std::uint8_t q = x[b].qs[32 * c + l];
            int v = (e % 64) < 32 ? (q & 0xF) : (q >> 4);
            if constexpr (High)
                v += (x[b].qh[l] >> (e / 32)) & 1 ? 16 : 0;
            a[e] = std::int8_t(v);
        }
        std::uint8_t sc8[8], mn8[8];
        unpackKScalesMins(x[b].scales, sc8, mn8);
        int sumi = 0;
        for (int j = 0; j < 16; ++j)
            sumi += y[b].bsums[j] * mn8[j / 2];
        int sc[8];
        for (int g = 0; g < 8; ++g)
            sc[g] = sc8[g];
        std::int32_t aux32[8] = {};
        laneSums<32>(a, y[b].qs, sc, aux32);
        const float d = half(x[b].d) * y[b].d;
        for (int l = 0; l < 8; ++l)
            sums[l] += d * float(aux32[l]);
        const float dmin = half(x[b].dmin) * y[b].d;
        sumf -= dmin * float(sumi);
    }
    for (int l = 0; l < 8; ++l)
        sumf += sums[l];
    return sumf;
}

float dotQ6_K(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockQ6_K*>(vw);
    const auto* y = static_cast<const BlockQ8_K*>(vx);
    float sums[8] = {};
    for (std::int64_t b = 0; b < nb; ++b) {
        std::int8_t a[kSuperBlock];
        for (int h = 0; h < 2; ++h) {
            const std::uint8_t* ql = x[b].ql + 64 * h;
            const std::uint8_t* qh = x[b].qh + 32 * h;
            std::int8_t* o = a + 128 * h;
            for (int l = 0; l < 32; ++l) {
                o[l] = std::int8_t(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                o[l + 32] = std::int8_t(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = std::int8_t(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] = std::int8_t(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        int sc[16];
        for (int g = 0; g < 16; ++g)
            sc[g] = x[b].scales[g];
        std::int32_t aux32[8] = {};
        laneSums<16>(a, y[b].qs, sc, aux32);
        const float d = half(x[b].d) * y[b].d;
        for (int l = 0; l < 8; ++l)
            sums[l] += d * float(aux32[l]);
    }
    float sumf = 0;
    for (int l = 0; l < 8; ++l)
        sumf += sums[l];
    return sumf;
}

float dotIQ4_XS(const void* vw, const void* vx, std::int64_t nb)
{
    const auto* x = static_cast<const BlockIQ4_XS*>(vw);
    const auto* y = static_cast<const BlockQ8_K*>(vx);
    float sumf = 0;
    for (std::int64_t b = 0; b < nb; ++b) {
        const float d4d8 = half(x[b].d) * y[b].d;
        for (int g = 0; g < 8; ++g) {
            const float dg = d4d8 * float(iq4xsScale(x[b], g));
            const std::uint8_t* qs = x[b].qs + 16 * g;
            const std::int8_t* q8 = y[b].qs + 32 * g;
            int s0 = 0, s1 = 0;
            for (int j = 0; j < 16; ++j) {
                s0 += q8[j] * kIq4Table[qs[j] & 0xF];
                s1 += q8[j + 16] * kIq4Table[qs[j] >> 4];
            }
            sumf += dg * float(s0 + s1);
        }
    }
    return sumf;
}

using DotFn = float (*)(const void*, const void*, std::int64_t);

template <DotFn Dot, int BlockSize>
void eachRowAndToken(const MatMulArgs& a)
{
    const std::int64_t nb = a.cols / BlockSize;
    for (std::int64_t t = 0; t < a.n; ++t)
        for (std::int64_t r = a.r0; r < a.r1; ++r)
            a.y[t * a.ldy + r] =
                Dot(a.w + std::size_t(r) * a.rowBytes, a.xq + std::size_t(t) * a.xRowBytes, nb);
}

} // namespace

MatMulFn scalarMatMul(GgmlType type)
{
    switch (type) {
    case GgmlType::Q4_0:
        return eachRowAndToken<dotQ4_0, kLegacyBlock>;
    case GgmlType::Q4_1:
        return eachRowAndToken<dotQ4_1, kLegacyBlock>;
    case GgmlType::Q5_0:
        return eachRowAndToken<dotQ5_0, kLegacyBlock>;
    case GgmlType::Q5_1:
        return eachRowAndToken<dotQ5_1, kLegacyBlock>;
    case GgmlType::Q8_0:
        return eachRowAndToken<dotQ8_0, kLegacyBlock>;
    case GgmlType::IQ4_NL:
        return eachRowAndToken<dotIQ4_NL, kLegacyBlock>;
    case GgmlType::Q2_K:
        return eachRowAndToken<dotQ2_K, kSuperBlock>;
    case GgmlType::Q3_K:
        return eachRowAndToken<dotQ3_K, kSuperBlock>;
    case GgmlType::Q4_K:
        return eachRowAndToken<dotQ45_K<false>, kSuperBlock>;
    case GgmlType::Q5_K:
        return eachRowAndToken<dotQ45_K<true>, kSuperBlock>;
    case GgmlType::Q6_K:
        return eachRowAndToken<dotQ6_K, kSuperBlock>;
    case GgmlType::IQ4_XS:
        return eachRowAndToken<dotIQ4_XS, kSuperBlock>;
    default:
        return nullptr;
    }
}

} // namespace qs::ggmlmm
