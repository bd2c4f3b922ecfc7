#include "model/LinearLoader.h"

#include "io/QuantizedLayerReader.h"
#include "io/TensorStore.h"
#include "model/QuantizedLinear.h"

namespace qs {

std::shared_ptr<const LinearLayer> loadLinearLayer(const TensorStore& ts, const LinearLayerInfo& l)
{
    std::vector<float> b = l.bias.isEmpty() ? std::vector<float>() : ts.readF32(l.bias, FiniteCheck::Throw);
    if (l.quant) { // a quantized checkpoint: rebuild the layer from its stored codes
        auto q = std::make_shared<QuantizedTensor>(
            readQuantizedTensor(ts, l.name, *l.quant, l.outFeatures, l.inFeatures));
        return std::make_shared<QuantizedLinear>(std::move(q), std::move(b));
    }
    std::vector<float> w = ts.readF32(l.weight, FiniteCheck::Throw);
    return std::make_shared<DenseLinear>(l.inFeatures, l.outFeatures, std::move(w), std::move(b), l.bytes(),
                                         dtypeName(l.dtype));
}

std::shared_ptr<const LinearLayer> withLlamaCppNumerics(std::shared_ptr<const LinearLayer> layer,
                                                        GgmlType weightType)
{
    return std::make_shared<GgmlVecDotLinear>(std::move(layer), weightType);
}

} // namespace qs
