#include "tensor/DType.h"

namespace qs {

std::optional<DType> dtypeFromSafetensors(QStringView name)
{
    for (const DTypeInfo& info : kDTypes) {
        if (name == QLatin1String(info.safetensorsName))
            return info.type;
    }
    return std::nullopt;
}

} // namespace qs
