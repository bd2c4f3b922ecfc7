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
    const std::optional<GgmlType> fallback = ggmlTypeInfo(type).rowFallback;
    if (!fallback)
        return std::nullopt;
    return divides(*fallback) ? *fallback : GgmlType::F16;
}

} // namespace qs
