#include "kernels/GgmlMatMul.h"

#include "kernels/Convert.h"
#include "kernels/CpuFeatures.h"
#include "kernels/GgmlMatMulKernels.h"
#include "kernels/GgmlQuants.h"
#include "tensor/GgmlBlocks.h"
#include "util/Error.h"

#include <cmath>
#include <type_traits>
#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#endif

namespace qs {

namespace {

using namespace ggml;

const GgmlTypeInfo& withKernel(GgmlType type)
{
    if (!ggmlHasMatMul(type))
        throw Error(QStringLiteral("ggml matmul: no kernel for weight type %1").arg(ggmlTypeName(type)));
    return ggmlTypeInfo(type);
}

/// ggml's x86 quantize_row_q8_0/_1 for one block of 32: scale amax/127, codes x·(127/amax) rounded
/// half to even (vroundps), the block sum (Q8_1) as d·Σq in binary16.
template <class Block>
void quantizeQ8Block(const float* x, Block& out)
{
    float amax = 0;
    for (int j = 0; j < kLegacyBlock; ++j)
        amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    out.d = ref::f32ToF16(d);
    int sum = 0;
    for (int j = 0; j < kLegacyBlock; ++j) {
        const float v = std::nearbyint(x[j] * id); // the default rounding mode: to nearest, ties to even
        const int q = v > 127.f ? 127 : v < -128.f ? -128 : int(v); // vpackssdw/vpacksswb saturate
        out.qs[j] = std::int8_t(q);
        sum += q;
    }
    if constexpr (std::is_same_v<Block, BlockQ8_1>)
        out.s = ref::f32ToF16(d * float(sum));
}

#if defined(__AVX2__) && defined(__F16C__)
/// quantizeQ8Block on AVX2 (the build baseline): the same operations lane by lane (|x| max, one
/// product by 127/amax, rounding to nearest even, saturating packs), so the same bytes.
template <class Block>
void quantizeQ8BlockAvx2(const float* x, Block& out)
{
    const __m256 signBit = _mm256_set1_ps(-0.f);
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        amax = _mm256_max_ps(_mm256_andnot_ps(signBit, v[k]), amax); // a NaN lane keeps amax, as fmax
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float a = _mm_cvtss_f32(m);
    const float d = a / 127.f;
    const float id = a != 0.f ? 127.f / a : 0.f;
    out.d = ref::f32ToF16(d);
    __m256i q[4];
    for (int k = 0; k < 4; ++k)
        q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(id)),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // packs work within 128-bit lanes: restore the order with one permute.
    const __m256i w01 = _mm256_packs_epi32(q[0], q[1]), w23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i b =
        _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.qs), b);
    if constexpr (std::is_same_v<Block, BlockQ8_1>) {
        // Σ of the saturated codes: bytes widened to 16 bits and summed in pairs.
        const __m256i ones = _mm256_set1_epi16(1);
        const __m256i lo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(b)),
                      hi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(b, 1));
        const __m256i s32 = _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones));
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
        out.s = ref::f32ToF16(d * float(_mm_cvtsi128_si32(s)));
    }
}
#endif

/// The variant ggmlMatMul runs when QUANTSCOPE_KERNELS is unset: the widest this CPU has.
SimdVariant fastestVariant(const CpuFeatures& cpu)
{
    if (cpu.hasAvx512Vnni())
        return SimdVariant::Avx512;
    if (simdVariantSupported(SimdVariant::Avx2, cpu))
        return SimdVariant::Avx2;
    return SimdVariant::Scalar;
}

ggmlmm::MatMulFn kernelFor(SimdVariant variant, GgmlType type)
{
    switch (variant) {
    case SimdVariant::Scalar:
    case SimdVariant::Vec128:
        break;
    case SimdVariant::Avx2:
        if (ggmlmm::MatMulFn f = ggmlmm::avx2MatMul(type))
            return f;
        break;
    case SimdVariant::Avx512:
        if (cpuFeatures().hasAvx512Vnni())
            if (ggmlmm::MatMulFn f = ggmlmm::avx512MatMul(type))
                return f;
        if (ggmlmm::MatMulFn f = ggmlmm::avx2MatMul(type))
            return f;
        break;
    }
    return ggmlmm::scalarMatMul(type);
}

} // namespace

namespace ggmlmm {

void checkMatMulBuffers(GgmlType type, const void* w, const void* xq, const float* y, std::int64_t n,
                        std::int64_t ldy, std::int64_t r1)
{
    if (!w || !xq || !y)
        throw Error(QStringLiteral("ggml matmul %1: null pointer").arg(ggmlTypeName(type)));
    if (n > 1 && ldy < r1)
        throw Error(QStringLiteral(
                        "ggml matmul %1: output stride %2 is below the row end %3 (token rows would overlap)")
                        .arg(ggmlTypeName(type))
                        .arg(ldy)
                        .arg(r1));
}

} // namespace ggmlmm

GgmlType ggmlActivationType(GgmlType weightType)
{
    return *withKernel(weightType).vecDotType;
}

bool ggmlHasMatMul(GgmlType weightType)
{
    return ggmlmm::scalarMatMul(weightType) != nullptr;
}

std::size_t ggmlActivationRowBytes(GgmlType weightType, std::int64_t cols)
{
    withKernel(weightType);
    ggmlRowBytes(weightType, cols); // the weight's block must divide the row
    return ggmlRowBytes(ggmlActivationType(weightType), cols);
}

void ggmlQuantizeActivations(GgmlType weightType, const float* x, std::int64_t t0, std::int64_t t1,
                             std::int64_t cols, void* xq)
{
    ggmlQuantizeActivations(ggmlMatMulVariant(), weightType, x, t0, t1, cols, xq);
}

void ggmlQuantizeActivations(SimdVariant variant, GgmlType weightType, const float* x, std::int64_t t0,
                             std::int64_t t1, std::int64_t cols, void* xq)
{
    const std::size_t rowBytes = ggmlActivationRowBytes(weightType, cols);
    if (t0 < 0 || t1 < t0)
        throw Error(QStringLiteral("ggml matmul: bad token range [%1, %2)").arg(t0).arg(t1));
    if (t1 == t0)
        return;
    if (!x || !xq)
        throw Error(QStringLiteral("ggml matmul: null activation pointer"));
    const GgmlType act = ggmlActivationType(weightType);
    if (act == GgmlType::Q8_K) { // ggml's x86 from_float for Q8_K is its reference (every variant's bytes)
        ggmlQuantizeChunk(variant, GgmlType::Q8_K, x, xq, t0, t1 - t0, cols);
        return;
    }
    if (!simdVariantSupported(variant))
        throw Error(QStringLiteral("ggml activations: this CPU cannot run the %1 kernels")
                        .arg(QLatin1String(simdVariantName(variant))));
    for (std::int64_t t = t0; t < t1; ++t) {
        const float* row = x + t * cols;
        auto* out = static_cast<std::uint8_t*>(xq) + std::size_t(t) * rowBytes;
#if defined(__AVX2__) && defined(__F16C__)
        if (variant == SimdVariant::Avx2 || variant == SimdVariant::Avx512) {
            for (std::int64_t b = 0; b < cols / kLegacyBlock; ++b) {
                if (act == GgmlType::Q8_1)
                    quantizeQ8BlockAvx2(row + b * kLegacyBlock, reinterpret_cast<BlockQ8_1*>(out)[b]);
                else
                    quantizeQ8BlockAvx2(row + b * kLegacyBlock, reinterpret_cast<BlockQ8_0*>(out)[b]);
            }
            continue;
        }
#endif
        for (std::int64_t b = 0; b < cols / kLegacyBlock; ++b) {
            if (act == GgmlType::Q8_1)
                quantizeQ8Block(row + b * kLegacyBlock, reinterpret_cast<BlockQ8_1*>(out)[b]);
            else
                quantizeQ8Block(row + b * kLegacyBlock, reinterpret_cast<BlockQ8_0*>(out)[b]);
        }
    }
}

void ggmlMatMul(SimdVariant variant, GgmlType weightType, const void* w, std::int64_t cols, std::int64_t r0,
                std::int64_t r1, const void* xq, std::int64_t n, float* y, std::int64_t ldy)
{
    const std::size_t rowBytes = ggmlRowBytes(weightType, cols);
    const std::size_t xRowBytes = ggmlActivationRowBytes(weightType, cols);
    if (!simdVariantSupported(variant))
        throw Error(QStringLiteral("ggml matmul %1: this CPU cannot run the %2 kernels")
                        .arg(ggmlTypeName(weightType), QLatin1String(simdVariantName(variant))));
    if (r0 < 0 || r1 < r0)
        throw Error(QStringLiteral("ggml matmul %1: bad row range [%2, %3)")
                        .arg(ggmlTypeName(weightType))
                        .arg(r0)
                        .arg(r1));
    if (n < 0)
        throw Error(
            QStringLiteral("ggml matmul %1: negative token count %2").arg(ggmlTypeName(weightType)).arg(n));
    if (r1 == r0 || n == 0)
        return;
    ggmlmm::checkMatMulBuffers(weightType, w, xq, y, n, ldy, r1);
    const ggmlmm::MatMulArgs args{static_cast<const std::uint8_t*>(w),  rowBytes,  cols, r0, r1,
                                  static_cast<const std::uint8_t*>(xq), xRowBytes, n,    y,  ldy};
    kernelFor(variant, weightType)(args);
}

SimdVariant ggmlMatMulVariant()
{
    // A throwing initializer is retried on the next call, so a bad setting fails every time.
    static const SimdVariant active = [] {
        const QByteArray forced = qgetenv("QUANTSCOPE_KERNELS");
        return forced.isEmpty() ? fastestVariant(cpuFeatures()) : chooseSimdVariant(forced, cpuFeatures());
    }();
    return active;
}

void ggmlMatMul(GgmlType weightType, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                const void* xq, std::int64_t n, float* y, std::int64_t ldy)
{
    ggmlMatMul(ggmlMatMulVariant(), weightType, w, cols, r0, r1, xq, n, y, ldy);
}

} // namespace qs
