#include "kernels/FloatMatMul.h"

#include "kernels/Convert.h"
#include "kernels/CpuFeatures.h"
#include "kernels/FloatMatMulVariants.h"
#include "util/Error.h"

#include <cstring>
#include <memory>
#include <new>

#if defined(__F16C__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace qs {

namespace fmm {

namespace {

// ---- The vec128 variant: GCC vector extensions, any target ---------------------------------------------

typedef float F4 __attribute__((vector_size(16)));
typedef std::uint32_t U4 __attribute__((vector_size(16)));
typedef std::uint16_t H4 __attribute__((vector_size(8)));

struct Vec128Ops
{
    using V = F4;
    static constexpr int L = 4, R = 4, T = 3, NB = 96, RV = 8, KC = 2048, PH = 2;

    static V zero() { return V{}; }
    static V load(const float* p)
    {
        V v;
        std::memcpy(&v, p, 16);
        return v;
    }
    static void store(float* p, V v) { std::memcpy(p, &v, 16); }
    /// Not fused: kernels/ builds with -ffp-contract=off, and the portable path has no FMA to name.
    static V fma(V w, V x, V acc) { return acc + w * x; }
    static float reduce(V v) { return (v[0] + v[2]) + (v[1] + v[3]); }
    static V loadBytes(const void* p, int k)
    {
        V v{};
        std::memcpy(&v, p, std::size_t(k) * 4);
        return v;
    }
    static V loadX(const float* p) { return loadBytes(p, 4); }
    static V loadXPart(const float* p, int k) { return loadBytes(p, k); }
    static V loadF32(const char* p) { return loadBytes(p, 4); }
    static V loadF32Part(const char* p, int k) { return loadBytes(p, k); }
    static H4 halves(const char* p, int k)
    {
        H4 h{};
        std::memcpy(&h, p, std::size_t(k) * 2);
        return h;
    }
    static V f16(H4 h)
    {
#if defined(__F16C__)
        __m128i bits;
        std::memcpy(&bits, &h, 8);
        return V(_mm_cvtph_ps(bits));
#elif defined(__aarch64__)
        const float32x4_t f =
            vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const std::uint16_t*>(&h))));
        V v;
        std::memcpy(&v, &f, 16);
        return v;
#else
        return V{ref::f16ToF32(h[0]), ref::f16ToF32(h[1]), ref::f16ToF32(h[2]), ref::f16ToF32(h[3])};
#endif
    }
    static V bf16(H4 h)
    {
        return reinterpret_cast<V>(__builtin_convertvector(h, U4) << 16);
    }
    static V loadF16(const char* p)
    {
        return f16(halves(p, 4));
    }
    static V loadF16Part(const char* p, int k)
    {
        return f16(halves(p, k));
    }
    static V loadBf16(const char* p)
    {
        return bf16(halves(p, 4));
    }
    static V loadBf16Part(const char* p, int k)
    {
        return bf16(halves(p, k));
    }
};

} // namespace

} // namespace fmm

} // namespace qs

#define QS_FMM_NS vec128
#define QS_FMM_TARGET
#include "kernels/FloatMatMulLoops.h"
#undef QS_FMM_NS
#undef QS_FMM_TARGET

namespace qs {

namespace fmm {

void runVec128(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
               const float* x, std::int64_t n, float* y, std::int64_t ldy, float* scratch)
{
    vec128::run<Vec128Ops>(dtype, w, cols, r0, r1, x, n, y, ldy, scratch);
}

} // namespace fmm

namespace {

// ---- The scalar twin -------------------------------------------------------------------------------------

float weightAt(DType dtype, const char* row, std::int64_t c)
{
    if (dtype == DType::F32) {
        float v;
        std::memcpy(&v, row + c * 4, 4);
        return v;
    }
    std::uint16_t h;
    std::memcpy(&h, row + c * 2, 2);
    return dtype == DType::F16 ? ref::f16ToF32(h) : ref::bf16ToF32(h);
}

void runScalar(DType dtype, const char* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
               const float* x, std::int64_t n, float* y, std::int64_t ldy, float*)
{
    const std::size_t rowBytes = std::size_t(cols) * std::size_t(dtypeInfo(dtype).bytes);
    for (std::int64_t t = 0; t < n; ++t) {
        for (std::int64_t r = r0; r < r1; ++r) {
            const char* row = w + std::size_t(r) * rowBytes;
            float acc = 0.f;
            for (std::int64_t c = 0; c < cols; ++c)
                acc += weightAt(dtype, row, c) * x[t * cols + c];
            y[t * ldy + r] = acc;
        }
    }
}

fmm::Entry entryFor(SimdVariant v)
{
    switch (v) {
    case SimdVariant::Scalar:
        return runScalar;
    case SimdVariant::Vec128:
        return fmm::runVec128;
#if defined(__x86_64__) || defined(__i386__)
    case SimdVariant::Avx2:
        return fmm::runAvx2;
    case SimdVariant::Avx512:
        return fmm::runAvx512;
#else
    case SimdVariant::Avx2:
    case SimdVariant::Avx512:
        break;
#endif
    }
    throw Error(
        QStringLiteral("floatMatMul: this build has no %1 variant").arg(QLatin1String(simdVariantName(v))));
}

/// The per-thread scratch of the n > 1 path, 64-byte aligned; allocated on a thread's first such call and
/// kept for its later calls (its size is fixed, FloatMatMulVariants.h).
float* threadScratch()
{
    struct Free
    {
        void operator()(float* p) const { ::operator delete[](p, std::align_val_t(64)); }
    };
    thread_local std::unique_ptr<float[], Free> scratch(static_cast<float*>(
        ::operator new[](std::size_t(fmm::kScratchFloats) * sizeof(float), std::align_val_t(64))));
    return scratch.get();
}

} // namespace

bool fmm::checkMatMulArgs(const char* fn, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                          const float* x, std::int64_t n, const float* y, std::int64_t ldy)
{
    const QString name = QLatin1String(fn);
    if (cols < 0 || r0 < 0 || r1 < r0 || n < 0)
        throw Error(QStringLiteral("%1: bad sizes (cols %2, rows [%3, %4), tokens %5)")
                        .arg(name)
                        .arg(cols)
                        .arg(r0)
                        .arg(r1)
                        .arg(n));
    if (n > 1 && ldy < r1)
        throw Error(QStringLiteral("%1: output stride %2 is less than the rows written (%3)")
                        .arg(name)
                        .arg(ldy)
                        .arg(r1));
    if (r0 == r1 || n == 0)
        return false;
    if (!y || (cols > 0 && (!w || !x)))
        throw Error(QStringLiteral("%1: null weight, input or output").arg(name));
    return true;
}

void floatMatMul(SimdVariant v, DType dtype, const void* w, std::int64_t cols, std::int64_t r0,
                 std::int64_t r1, const float* x, std::int64_t n, float* y, std::int64_t ldy)
{
    if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
        throw Error(QStringLiteral("floatMatMul: weights of type %1 are not float weights (f32, f16 or bf16)")
                        .arg(dtypeName(dtype)));
    if (!fmm::checkMatMulArgs("floatMatMul", w, cols, r0, r1, x, n, y, ldy))
        return;
    if (!simdVariantSupported(v))
        throw Error(QStringLiteral("floatMatMul: this CPU cannot run the %1 variant")
                        .arg(QLatin1String(simdVariantName(v))));
    if (cols == 0) { // empty sums
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t r = r0; r < r1; ++r)
                y[t * ldy + r] = 0.f;
        return;
    }
    entryFor(v)(dtype, static_cast<const char*>(w), cols, r0, r1, x, n, y, ldy,
                n > 1 ? threadScratch() : nullptr);
}

void floatMatMul(DType dtype, const void* w, std::int64_t cols, std::int64_t r0, std::int64_t r1,
                 const float* x, std::int64_t n, float* y, std::int64_t ldy)
{
    floatMatMul(floatMatMulVariant(), dtype, w, cols, r0, r1, x, n, y, ldy);
}

SimdVariant floatMatMulVariant()
{
    return widestSimdVariant();
}

} // namespace qs
