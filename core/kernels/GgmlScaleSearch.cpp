#include "kernels/GgmlScaleSearch.h"

#include "kernels/GgmlSearch.h"
#include "util/Error.h"

namespace qs {

namespace {

using namespace ggmlq;

void check(SimdVariant v, int n)
{
    if (n < 1 || n > kMaxGroup)
        throw Error(
            QStringLiteral("ggml scale search: a group holds 1 … %1 values, not %2").arg(kMaxGroup).arg(n));
    if (!simdVariantSupported(v))
        throw Error(QStringLiteral("ggml scale search: this CPU cannot run the %1 kernels")
                        .arg(QLatin1String(simdVariantName(v))));
}

struct FitSigned
{
    template <class S>
    static float run(int n, int nmax, const float* x, std::int8_t* codes, const float* w)
    {
        return S::fitSigned(n, nmax, x, codes, w);
    }
};

template <bool UseAbs>
struct FitAffine
{
    template <class S>
    static float run(int n, int nmax, const float* x, const float* w, std::uint8_t* codes, float* offset,
                     float rmin, float rdelta, int nstep)
    {
        return S::template fitAffine<UseAbs>(n, nmax, x, w, codes, offset, rmin, rdelta, nstep);
    }
};

struct RefineIq4
{
    template <class S>
    static float run(const float* x, const float* w, float peak, float d, float best)
    {
        return S::refineIq4(x, w, peak, d, best);
    }
};

} // namespace

float ggmlFitSignedScale(SimdVariant v, int n, int nmax, const float* x, std::int8_t* codes, const float* w)
{
    check(v, n);
    return PerVariant<FitSigned>::call(v, n, nmax, x, codes, w);
}

float ggmlFitAffine(SimdVariant v, bool absError, int n, int nmax, const float* x, const float* w,
                    std::uint8_t* codes, float* offset, float rmin, float rdelta, int nstep)
{
    check(v, n);
    return absError
               ? PerVariant<FitAffine<true>>::call(v, n, nmax, x, w, codes, offset, rmin, rdelta, nstep)
               : PerVariant<FitAffine<false>>::call(v, n, nmax, x, w, codes, offset, rmin, rdelta, nstep);
}

float ggmlRefineIq4Scale(SimdVariant v, const float* x, const float* w, float peak, float d, float best)
{
    check(v, 32);
    return PerVariant<RefineIq4>::call(v, x, w, peak, d, best);
}

} // namespace qs
