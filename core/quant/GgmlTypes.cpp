#include "quant/GgmlTypes.h"

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

} // namespace qs
