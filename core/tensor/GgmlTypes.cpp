#include "tensor/GgmlTypes.h"

namespace qs {

std::optional<GgmlType> ggmlTypeFromName(QStringView name)
{
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        if (name.compare(QLatin1String(info.name), Qt::CaseInsensitive) == 0) {
            return info.type;
        }
    }
    return std::nullopt;
}

std::optional<GgmlType> ggmlRowFallback(GgmlType type, std::int64_t rowLength)
{
    auto divides = [&](GgmlType t) { return rowLength % ggmlTypeInfo(t).blockSize == 0; };
    if (divides(type))
        return type;
    GgmlType fallback;
    switch (type) {
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::IQ4_XS:
        fallback = GgmlType::IQ4_NL;
        break;
    case GgmlType::Q4_K:
        fallback = GgmlType::Q5_0;
        break;
    case GgmlType::Q5_K:
        fallback = GgmlType::Q5_1;
        break;
    case GgmlType::Q6_K:
        fallback = GgmlType::Q8_0;
        break;
    default:
        return std::nullopt;
    }
    return divides(fallback) ? fallback : GgmlType::F16;
}

} // namespace qs
