#pragma once

#include "model/LinearLayer.h"
#include "model/Model.h"
#include "tensor/GgmlTypes.h"

#include <memory>

namespace qs {

class TensorStore;

/// The executable layer for one linear of a model, built from how its checkpoint stores it: a
/// float weight as DenseLinear, a quantized one (our packed form, GPTQ/AWQ, a GGUF block type) as
/// QuantizedLinear. The one place that maps a stored form to a LinearLayer implementation, so the
/// Transformer itself knows only the LinearLayer interface. NaN/Inf weights are an error naming
/// the tensor.
std::shared_ptr<const LinearLayer> loadLinearLayer(const TensorStore& store, const LinearLayerInfo& layer);

/// `layer` with its input rows rounded as llama.cpp's CPU matrix product rounds them for a weight
/// stored as `weightType` (see GgmlVecDotLinear and Transformer::setLlamaCppNumerics).
std::shared_ptr<const LinearLayer> withLlamaCppNumerics(std::shared_ptr<const LinearLayer> layer,
                                                        GgmlType weightType);

} // namespace qs
