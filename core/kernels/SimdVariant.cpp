#include "kernels/SimdVariant.h"

#include "kernels/CpuFeatures.h"
#include "util/Error.h"

#include <QStringList>

namespace qs {

const char* simdVariantName(SimdVariant v)
{
    switch (v) {
    case SimdVariant::Scalar:
        return "scalar";
    case SimdVariant::Vec128:
        return "vec128";
    case SimdVariant::Avx2:
        return "avx2";
    case SimdVariant::Avx512:
        return "avx512";
    }
    return "?";
}

bool simdVariantSupported(SimdVariant v, [[maybe_unused]] const CpuFeatures& cpu)
{
    switch (v) {
    case SimdVariant::Scalar:
    case SimdVariant::Vec128: // GCC vector extensions: any target, at its baseline width
        return true;
#if defined(__x86_64__) || defined(__i386__)
    case SimdVariant::Avx2:
        return cpu.hasAvx2();
    case SimdVariant::Avx512:
        return cpu.hasAvx512();
#else
    case SimdVariant::Avx2:
    case SimdVariant::Avx512:
        return false;
#endif
    }
    return false;
}

bool simdVariantSupported(SimdVariant v)
{
    return simdVariantSupported(v, cpuFeatures());
}

std::vector<SimdVariant> supportedSimdVariants()
{
    std::vector<SimdVariant> out;
    for (SimdVariant v : kSimdVariants)
        if (simdVariantSupported(v))
            out.push_back(v);
    return out;
}

SimdVariant chooseSimdVariant(const QByteArray& forced, const CpuFeatures& cpu)
{
    if (forced.isEmpty()) {
        // Not avx512 by default: its 16 lanes measured 3–4× slower than avx2's 8 on the k-quant
        // and IQ4 searches (AMD EPYC, `bench ggml-quant`): half the lanes of a pass go to waste
        // (18, 15 or 16 candidates, restarts after a win) and the lane setup is scalar. It stays
        // forceable for the CPUs where that changes.
        if (simdVariantSupported(SimdVariant::Avx2, cpu))
            return SimdVariant::Avx2;
        return SimdVariant::Vec128;
    }
    QStringList names, usable;
    for (SimdVariant v : kSimdVariants) {
        names << QLatin1String(simdVariantName(v));
        if (simdVariantSupported(v, cpu))
            usable << QLatin1String(simdVariantName(v));
    }
    const QString name = QString::fromLatin1(forced);
    for (SimdVariant v : kSimdVariants) {
        if (forced != simdVariantName(v))
            continue;
        if (!simdVariantSupported(v, cpu))
            throw Error(
                QStringLiteral("QUANTSCOPE_KERNELS=%1: this CPU cannot run the %1 kernels (it runs: %2)")
                    .arg(name, usable.join(u", ")));
        return v;
    }
    throw Error(QStringLiteral("QUANTSCOPE_KERNELS=%1: unknown kernel variant (one of: %2)")
                    .arg(name, names.join(u", ")));
}

SimdVariant activeSimdVariant()
{
    // A throwing initializer is retried on the next call, so a bad setting fails every time.
    static const SimdVariant active = chooseSimdVariant(qgetenv("QUANTSCOPE_KERNELS"), cpuFeatures());
    return active;
}

bool simdVariantForced()
{
    static const bool forced = !qEnvironmentVariableIsEmpty("QUANTSCOPE_KERNELS");
    return forced;
}

SimdVariant widestSimdVariant()
{
    static const SimdVariant chosen = [] {
        if (simdVariantForced())
            return activeSimdVariant();
        return supportedSimdVariants().back();
    }();
    return chosen;
}

} // namespace qs
