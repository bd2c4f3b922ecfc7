#pragma once

#include "spec/QuantizedTensor.h"

#include <QString>

namespace qs {

class TensorStore;

/// Reads one quantized layer from a checkpoint's tensors: our packed form (written by
/// checkpoint/QuantizedModelIO), a GPTQ/AWQ layer (io/HfQuantReader), or a GGUF weight stored in a
/// ggml block type. Errors name the file and the layer.
QuantizedTensor readQuantizedTensor(const TensorStore& store, const QString& module, const QuantSpec& spec,
                                    std::int64_t rows, std::int64_t cols);

} // namespace qs
