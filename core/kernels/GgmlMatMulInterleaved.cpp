// The interleaved layout of the ggml matrix products (GgmlMatMul.h): the rewrite from GGUF's row
// layout and back, the scalar twin of the interleaved kernels, and the entry points.

#include "kernels/Convert.h"
#include "kernels/CpuFeatures.h"
#include "kernels/GgmlMatMul.h"
#include "kernels/GgmlMatMulKernels.h"
#include "kernels/GgmlQuants.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace qs {

namespace ggmlmm {

namespace {

using namespace ggml;

/// Σ_b fma(float(Σ_j (w_j − offset)·x_j), d_w·d_x, sum) for each row and token: the order the
/// SIMD kernel keeps per lane.
template <GgmlType Type>
void scalarInterleaved(const MatMulArgs& a)
{
    const std::int64_t blocks = a.cols / kLegacyBlock;
    const std::size_t blockBytes = ggmlTypeInfo(Type).typeSize;
    for (std::int64_t r = a.r0; r < a.r1; ++r) {
        const std::uint8_t* group = a.w + std::size_t(r / kIlRows) * kIlRows * a.rowBytes;
        const int l = int(r % kIlRows);
        for (std::int64_t t = 0; t < a.n; ++t) {
            const auto* x = reinterpret_cast<const BlockQ8_0*>(a.xq + std::size_t(t) * a.xRowBytes);
            float sum = 0;
            for (std::int64_t b = 0; b < blocks; ++b) {
                const std::uint8_t* blk = group + std::size_t(b) * kIlRows * blockBytes;
                int isum = 0;
                for (int j = 0; j < kLegacyBlock; ++j) {
                    int v = 0;
                    if constexpr (Type == GgmlType::Q4_0)
                        v = interleavedNibble(blk, l, j) - 8;
                    else if constexpr (Type == GgmlType::IQ4_NL)
                        v = kIq4Table[interleavedNibble(blk, l, j)];
                    else
                        v = interleavedByte(blk, l, j) - 128;
                    isum += v * x[b].qs[j];
                }
                std::uint16_t dw;
                std::memcpy(&dw, blk + 2 * l, 2);
                sum = std::fma(float(isum), ref::f16ToF32(dw) * ref::f16ToF32(x[b].d), sum);
            }
            a.y[t * a.ldy + r] = sum;
        }
    }
}

/// The loops of a super-block type's scalar twin: for each row and token, sum = perBlock(blk, l,
/// x_b, sum) over the blocks in order (blk: the block of the row's group, l: the row in the group).
template <class Block, class PerBlock>
void eachInterleavedSuperBlock(const MatMulArgs& a, PerBlock perBlock)
{
    const std::int64_t blocks = a.cols / kSuperBlock;
    constexpr std::size_t blockBytes = sizeof(Block);
    for (std::int64_t r = a.r0; r < a.r1; ++r) {
        const std::uint8_t* group = a.w + std::size_t(r / kIlRows) * kIlRows * a.rowBytes;
        const int l = int(r % kIlRows);
        for (std::int64_t t = 0; t < a.n; ++t) {
            const auto* x = reinterpret_cast<const BlockQ8_K*>(a.xq + std::size_t(t) * a.xRowBytes);
            float sum = 0;
            for (std::int64_t b = 0; b < blocks; ++b)
                sum = perBlock(group + std::size_t(b) * kIlRows * blockBytes, l, x[b], sum);
            a.y[t * a.ldy + r] = sum;
        }
    }
}

/// Q4_K: per super-block Σ_g sc_g·Σ_j q_j·x_j and Σ_g m_g·(bsums of g) in integers, then
/// fma(float(sumi), d·d_x, sum) and fma(−float(summ), dmin·d_x, sum).
void scalarInterleavedQ4_K(const MatMulArgs& a)
{
    eachInterleavedSuperBlock<BlockQ4_K>(
        a, [](const std::uint8_t* blk, int l, const BlockQ8_K& x, float sum) {
            std::uint8_t packed[12], sc[8], mn[8];
            for (int k = 0; k < 12; ++k)
                packed[k] = blk[kIlK4Scales + 64 * (k / 4) + 4 * l + k % 4];
            unpackKScalesMins(packed, sc, mn);
            int sumi = 0, summ = 0;
            for (int g = 0; g < 8; ++g) {
                int s = 0;
                for (int j = 0; j < 32; ++j) {
                    const int byte = blk[kIlK4Codes + 64 * (8 * (g / 2) + j / 4) + 4 * l + j % 4];
                    s += (g % 2 ? byte >> 4 : byte & 0xF) * x.qs[32 * g + j];
                }
                sumi += sc[g] * s;
                summ += mn[g] * (x.bsums[2 * g] + x.bsums[2 * g + 1]);
            }
            std::uint16_t d, dmin;
            std::memcpy(&d, blk + 2 * l, 2);
            std::memcpy(&dmin, blk + kIlScaleBytes + 2 * l, 2);
            sum = std::fma(float(sumi), ref::f16ToF32(d) * x.d, sum);
            return std::fma(-float(summ), ref::f16ToF32(dmin) * x.d, sum);
        });
}

/// Q6_K: per super-block Σ_G sc_G·(Σ_j q_j·x_j − 32·bsums_G) over the 16 groups of 16 in
/// integers (q the unsigned 6-bit code), then fma(float(sumi), d·d_x, sum).
void scalarInterleavedQ6_K(const MatMulArgs& a)
{
    eachInterleavedSuperBlock<BlockQ6_K>(
        a, [](const std::uint8_t* blk, int l, const BlockQ8_K& x, float sum) {
            auto byteAt = [blk, l](int base, int k) { return blk[base + 64 * (k / 4) + 4 * l + k % 4]; };
            int q[kSuperBlock];
            for (int n = 0; n < 2; ++n)
                for (int j = 0; j < 32; ++j) {
                    const int ql0 = byteAt(kIlK6Ql, 64 * n + j), ql1 = byteAt(kIlK6Ql, 64 * n + 32 + j);
                    const int qh = byteAt(kIlK6Qh, 32 * n + j);
                    q[128 * n + j] = (ql0 & 0xF) | ((qh & 3) << 4);
                    q[128 * n + 32 + j] = (ql1 & 0xF) | (((qh >> 2) & 3) << 4);
                    q[128 * n + 64 + j] = (ql0 >> 4) | (((qh >> 4) & 3) << 4);
                    q[128 * n + 96 + j] = (ql1 >> 4) | (((qh >> 6) & 3) << 4);
                }
            int sumi = 0;
            for (int g = 0; g < 16; ++g) {
                int s = -32 * x.bsums[g];
                for (int j = 0; j < 16; ++j)
                    s += q[16 * g + j] * x.qs[16 * g + j];
                sumi += std::int8_t(byteAt(kIlK6Scales, g)) * s;
            }
            std::uint16_t d;
            std::memcpy(&d, blk + 2 * l, 2);
            return std::fma(float(sumi), ref::f16ToF32(d) * x.d, sum);
        });
}

/// IQ4_XS: per super-block Σ_g (ls_g − 32)·Σ_j value_j·x_j in integers (value the code book's
/// entry), then fma(float(sumi), d·d_x, sum).
void scalarInterleavedIQ4_XS(const MatMulArgs& a)
{
    eachInterleavedSuperBlock<BlockIQ4_XS>(
        a, [](const std::uint8_t* blk, int l, const BlockQ8_K& x, float sum) {
            BlockIQ4_XS scales{};
            std::memcpy(&scales.scalesH, blk + kIlXsScalesH + 2 * l, 2);
            std::memcpy(scales.scalesL, blk + kIlXsScalesL + 4 * l, 4);
            int sumi = 0;
            for (int g = 0; g < 8; ++g) {
                int s = 0;
                for (int j = 0; j < 32; ++j) {
                    const int k = 16 * g + j % 16;
                    const int byte = blk[kIlXsCodes + 64 * (k / 4) + 4 * l + k % 4];
                    s += kIq4Table[j < 16 ? byte & 0xF : byte >> 4] * x.qs[32 * g + j];
                }
                sumi += iq4xsScale(scales, g) * s;
            }
            std::uint16_t d;
            std::memcpy(&d, blk + 2 * l, 2);
            return std::fma(float(sumi), ref::f16ToF32(d) * x.d, sum);
        });
}

/// Where byte `byte` of row l's block lies in its group's interleaved block, and the bits it is
/// flipped with there (Q8_0 codes are stored + 128).
std::size_t interleavedPos(GgmlType type, int l, int byte, std::uint8_t& flip)
{
    flip = 0;
    if (type == GgmlType::Q6_K) {
        const auto at = [l](int base, int k) { return std::size_t(base + 64 * (k / 4) + 4 * l + k % 4); };
        if (byte < 128)
            return at(kIlK6Ql, byte);
        if (byte < 192)
            return at(kIlK6Qh, byte - 128);
        if (byte < 208)
            return at(kIlK6Scales, byte - 192);
        return std::size_t(2 * l + byte - 208);
    }
    if (type == GgmlType::IQ4_XS) {
        if (byte < 4) // d, scales_h
            return std::size_t(kIlScaleBytes * (byte / 2) + 2 * l + byte % 2);
        if (byte < 8)
            return std::size_t(kIlXsScalesL + 4 * l + byte - 4);
        const int k = byte - 8;
        return std::size_t(kIlXsCodes + 64 * (k / 4) + 4 * l + k % 4);
    }
    if (type == GgmlType::Q4_K) {
        if (byte < 4) // d, dmin
            return std::size_t(kIlScaleBytes * (byte / 2) + 2 * l + byte % 2);
        const int k = byte < 16 ? byte - 4 : byte - 16; // the scale bytes, the code bytes
        return std::size_t((byte < 16 ? kIlK4Scales : kIlK4Codes) + 64 * (k / 4) + 4 * l + k % 4);
    }
    if (byte < 2)
        return std::size_t(2 * l + byte);
    const int j = byte - 2;
    if (type == GgmlType::Q8_0)
        flip = 0x80;
    return std::size_t(kIlScaleBytes + 64 * (j / 4) + 4 * l + j % 4);
}

/// One group of 16 rows from src to out: row layout → interleaved (forward) or back.
void interleaveGroup(GgmlType type, const std::uint8_t* src, std::size_t rowBytes, std::int64_t blocks,
                     bool forward, std::uint8_t* out)
{
    const int s = int(ggmlTypeInfo(type).typeSize);
    for (int l = 0; l < kIlRows; ++l)
        for (int byte = 0; byte < s; ++byte) {
            std::uint8_t flip;
            const std::size_t pos = interleavedPos(type, l, byte, flip);
            for (std::int64_t b = 0; b < blocks; ++b) {
                const std::size_t ilAt = std::size_t(b) * kIlRows * std::size_t(s) + pos;
                const std::size_t rowAt =
                    std::size_t(l) * rowBytes + std::size_t(b) * std::size_t(s) + std::size_t(byte);
                if (forward)
                    out[ilAt] = src[rowAt] ^ flip;
                else
                    out[rowAt] = src[ilAt] ^ flip;
            }
        }
}

void rewrite(GgmlType type, const void* src, std::int64_t rows, std::int64_t cols, void* dst, bool forward)
{
    if (!ggmlHasInterleavedMatMul(type))
        throw Error(QStringLiteral("ggml interleave: no interleaved kernel for %1").arg(ggmlTypeName(type)));
    const std::size_t rowBytes = ggmlRowBytes(type, cols);
    if (rows < 0)
        throw Error(QStringLiteral("ggml interleave: negative row count %1").arg(rows));
    if (rows == 0)
        return;
    if (!src || !dst)
        throw Error(QStringLiteral("ggml interleave: null pointer"));
    const auto* in = static_cast<const std::uint8_t*>(src);
    auto* out = static_cast<std::uint8_t*>(dst);
    const std::int64_t groups = rows / kIlRows;
    const std::size_t groupBytes = kIlRows * rowBytes;
    std::vector<std::uint8_t> copy(groupBytes);
    for (std::int64_t g = 0; g < groups; ++g) {
        // Through a copy of the group, so that dst may be src.
        std::memcpy(copy.data(), in + std::size_t(g) * groupBytes, groupBytes);
        interleaveGroup(type, copy.data(), rowBytes, cols / ggmlTypeInfo(type).blockSize, forward,
                        out + std::size_t(g) * groupBytes);
    }
    const std::size_t tail = std::size_t(groups) * groupBytes;
    if (in != out)
        std::memcpy(out + tail, in + tail, std::size_t(rows - groups * kIlRows) * rowBytes);
}

} // namespace

MatMulFn scalarInterleavedMatMul(GgmlType type)
{
    switch (type) {
    case GgmlType::Q4_0:
        return scalarInterleaved<GgmlType::Q4_0>;
    case GgmlType::Q8_0:
        return scalarInterleaved<GgmlType::Q8_0>;
    case GgmlType::IQ4_NL:
        return scalarInterleaved<GgmlType::IQ4_NL>;
    case GgmlType::Q4_K:
        return scalarInterleavedQ4_K;
    case GgmlType::Q6_K:
        return scalarInterleavedQ6_K;
    case GgmlType::IQ4_XS:
        return scalarInterleavedIQ4_XS;
    default:
        return nullptr;
    }
}

} // namespace ggmlmm

bool ggmlHasInterleavedMatMul(GgmlType weightType)
{
    return ggmlmm::scalarInterleavedMatMul(weightType) != nullptr;
}

bool ggmlPrefersInterleaved(GgmlType weightType)
{
    return ggmlHasInterleavedMatMul(weightType) && ggmlMatMulVariant() == SimdVariant::Avx512 &&
           cpuFeatures().hasAvx512Vnni() && ggmlmm::avx512InterleavedMatMul(weightType) != nullptr;
}

void ggmlInterleaveRows(GgmlType weightType, const void* src, std::int64_t rows, std::int64_t cols, void* dst)
{
    ggmlmm::rewrite(weightType, src, rows, cols, dst, true);
}

void ggmlDeinterleaveRows(GgmlType weightType, const void* src, std::int64_t rows, std::int64_t cols,
                          void* dst)
{
    ggmlmm::rewrite(weightType, src, rows, cols, dst, false);
}

void ggmlMatMulInterleaved(SimdVariant variant, GgmlType weightType, const void* w, std::int64_t rows,
                           std::int64_t cols, std::int64_t r0, std::int64_t r1, const void* xq,
                           std::int64_t n, float* y, std::int64_t ldy)
{
    if (!ggmlHasInterleavedMatMul(weightType))
        throw Error(
            QStringLiteral("ggml matmul: no interleaved kernel for %1").arg(ggmlTypeName(weightType)));
    if (r0 < 0 || r1 < r0 || r1 > rows)
        throw Error(QStringLiteral("ggml matmul %1: bad row range [%2, %3) of %4 rows")
                        .arg(ggmlTypeName(weightType))
                        .arg(r0)
                        .arg(r1)
                        .arg(rows));
    // The rows of a last, partial group (row layout) go to the row kernel, which also checks the
    // sizes, the variant and the token count.
    const std::int64_t full = rows / kGgmlInterleaveRows * kGgmlInterleaveRows;
    const std::int64_t split = std::clamp(full, r0, r1);
    ggmlMatMul(variant, weightType, w, cols, split, r1, xq, n, y, ldy);
    if (split == r0 || n == 0)
        return;
    ggmlmm::checkMatMulBuffers(weightType, w, xq, y, n, ldy, r1);
    ggmlmm::MatMulFn f = nullptr;
    if (variant == SimdVariant::Avx512 && cpuFeatures().hasAvx512Vnni())
        f = ggmlmm::avx512InterleavedMatMul(weightType);
    if (!f)
        f = ggmlmm::scalarInterleavedMatMul(weightType);
    ggmlmm::MatMulArgs args{static_cast<const std::uint8_t*>(w),
                            ggmlRowBytes(weightType, cols),
                            cols,
                            r0,
                            split,
                            static_cast<const std::uint8_t*>(xq),
                            ggmlActivationRowBytes(weightType, cols),
                            n,
                            y,
                            ldy,
                            rows};
    f(args);
}

void ggmlMatMulInterleaved(GgmlType weightType, const void* w, std::int64_t rows, std::int64_t cols,
                           std::int64_t r0, std::int64_t r1, const void* xq, std::int64_t n, float* y,
                           std::int64_t ldy)
{
    ggmlMatMulInterleaved(ggmlMatMulVariant(), weightType, w, rows, cols, r0, r1, xq, n, y, ldy);
}

} // namespace qs
