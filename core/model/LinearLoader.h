#pragma once

#include "model/LinearLayer.h"
#include "model/Model.h"
#include "tensor/GgmlTypes.h"

#include <memory>

namespace qs {

/// The executable layer for one linear of a model, built from how its checkpoint stores it, and
/// run in that form: a float weight (f32/f16/bf16) as a DenseLinear reading the memory-mapped
/// file in place, a GGUF block type as a GgmlLinear over its mapped blocks, our packed form and
/// GPTQ/AWQ layers as a PackedIntLinear (repacked once, the stored codes released). The one place
/// that maps a stored form to a LinearLayer implementation, so the Transformer itself knows only
/// the LinearLayer interface. NaN/Inf weights are an error naming the tensor. The layer keeps
/// `model` (and so its mapped files) alive.
std::shared_ptr<const LinearLayer> loadLinearLayer(std::shared_ptr<const Model> model,
                                                   const LinearLayerInfo& layer);
/// The same for a weight tensor that is not one of the model's linears (a tied head: the
/// embeddings used as the output projection).
std::shared_ptr<const LinearLayer> loadStoredMatrix(std::shared_ptr<const Model> model, const QString& tensor,
                                                    std::vector<float> bias = {});
/// `layer` with its input rows rounded as llama.cpp's CPU matrix product rounds them for a float
/// weight stored as `weightType` (F16/BF16: rounded to it; block types already run llama.cpp's
/// way in GgmlLinear; see Transformer::setLlamaCppNumerics).
std::shared_ptr<const LinearLayer> withLlamaCppNumerics(std::shared_ptr<const LinearLayer> layer,
                                                        GgmlType weightType);

} // namespace qs
