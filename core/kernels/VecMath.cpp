#include "kernels/VecMath.h"

#include "kernels/VecMathVariants.h"
#include "util/Error.h"

#include <QString>
#include <array>
#include <bit>
#include <cmath>

namespace qs::vecmath {

namespace {

/// The scalar twin's operations: one lane, plain C++ (std::fma for the fused steps).
struct ScalarOps
{
    using V = float;
    using I = std::int32_t;
    using Sums = std::array<double, 16>;
    static constexpr int L = 1;

    static V load(const float* p) { return *p; }
    static V loadPart(const float* p, int) { return *p; }
    static void store(float* p, V v) { *p = v; }
    static void storePart(float* p, V v, int) { *p = v; }
    static V keep(V v, int) { return v; }
    static V set1(float f) { return f; }
    static V add(V a, V b) { return a + b; }
    static V sub(V a, V b) { return a - b; }
    static V mul(V a, V b) { return a * b; }
    static V div(V a, V b) { return a / b; }
    static V fma(V a, V b, V c) { return std::fma(a, b, c); }
    static V neg(V v) { return -v; }
    static V max(V v, V m) { return v > m ? v : m; }
    static V clampMin(V v, V lo) { return v < lo ? lo : v; }
    static V clampMax(V v, V hi) { return v > hi ? hi : v; }
    static V nanKeep(V x, V y) { return x != x ? x : y; }
    static I bitsMinus(V a, V b)
    {
        return I(std::bit_cast<std::uint32_t>(a) - std::bit_cast<std::uint32_t>(b));
    }
    static I half(I n) { return n >> 1; }
    static I isub(I a, I b) { return I(std::uint32_t(a) - std::uint32_t(b)); }
    static V pow2(I n) { return std::bit_cast<float>((std::uint32_t(n) + 127u) << 23); }
    static Sums zeroSums() { return Sums{}; }
    static void addToSums(Sums& s, V v, int part) { s[std::size_t(part)] += double(v); }
    static double total(Sums s)
    {
        for (int width = 8; width >= 1; width /= 2)
            for (int i = 0; i < width; ++i)
                s[std::size_t(i)] += s[std::size_t(i + width)];
        return s[0];
    }
    static float reduceMax(V m) { return m; }
};

} // namespace

} // namespace qs::vecmath

#define QS_VM_NS scalar
#define QS_VM_TARGET
#include "kernels/VecMathLoops.h"
#undef QS_VM_NS
#undef QS_VM_TARGET

namespace qs {

namespace {

const vecmath::Entries kScalar = {
    vecmath::scalar::expShiftedSum<vecmath::ScalarOps>, vecmath::scalar::siluMul<vecmath::ScalarOps>,
    vecmath::scalar::maxOf<vecmath::ScalarOps>, vecmath::scalar::scale<vecmath::ScalarOps>};

const vecmath::Entries& entries(SimdVariant v, const char* fn)
{
    if (!simdVariantSupported(v))
        throw Error(QStringLiteral("%1: no %2 variant on this CPU")
                        .arg(QLatin1String(fn), QLatin1String(simdVariantName(v))));
#if defined(__x86_64__) || defined(__i386__)
    if (v == SimdVariant::Avx512)
        return vecmath::kAvx512;
    if (v == SimdVariant::Avx2)
        return vecmath::kAvx2;
#endif
    return kScalar; // scalar, and vec128 (no fused multiply-add in the baseline instruction set)
}

void checkArgs(const char* fn, const void* p, std::int64_t n)
{
    if (n < 0 || (n > 0 && !p))
        throw Error(QStringLiteral("%1: bad arguments (%2 elements%3)")
                        .arg(QLatin1String(fn))
                        .arg(n)
                        .arg(p ? QString() : QStringLiteral(", null pointer")));
}

} // namespace

float expRef(float x)
{
    return vecmath::scalar::exp<vecmath::ScalarOps>(x);
}

double expShiftedSum(SimdVariant v, float* x, std::int64_t n, float shift)
{
    checkArgs("expShiftedSum", x, n);
    return entries(v, "expShiftedSum").expShiftedSum(x, n, shift);
}

void softmaxInPlace(SimdVariant v, float* x, std::int64_t n)
{
    checkArgs("softmaxInPlace", x, n);
    if (n == 0)
        return;
    const vecmath::Entries& e = entries(v, "softmaxInPlace");
    const float m = e.maxOf(x, n, -INFINITY);
    e.scale(x, n, float(1.0 / e.expShiftedSum(x, n, m)));
}

void siluMul(SimdVariant v, float* gate, const float* up, std::int64_t n)
{
    checkArgs("siluMul", gate, n);
    checkArgs("siluMul", up, n);
    entries(v, "siluMul").siluMul(gate, up, n);
}

void softmaxInPlace(float* x, std::int64_t n)
{
    softmaxInPlace(widestSimdVariant(), x, n);
}

void siluMul(float* gate, const float* up, std::int64_t n)
{
    siluMul(widestSimdVariant(), gate, up, n);
}

} // namespace qs
