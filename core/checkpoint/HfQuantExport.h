#pragma once

#include "io/HfQuantReader.h"
#include "spec/QuantSpec.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

namespace qs {

class Model;
struct QuantizeResult;

/// Writes our quantized layers as Hugging Face GPTQ / AWQ checkpoints (layouts: io/HfQuantReader.h).
struct HfExportOptions
{
    HfQuantFormat format = HfQuantFormat::Gptq;
    GptqCheckpointFormat checkpointFormat = GptqCheckpointFormat::Gptq; ///< GPTQ only
};

/// Why a layer of `spec` with a [rows, cols] weight cannot be stored in the format (bits, granularity,
/// float zeros, f32 scales, activation quantization, incoherence, packing widths, act-order for AWQ,
/// AWQ input scales for GPTQ), or empty when it can; float layers always can. A plan can be checked
/// before it runs; exportHfQuantized checks each quantized layer the same way.
QString hfExportProblem(const QuantSpec& spec, std::int64_t rows, std::int64_t cols, HfQuantFormat format);

struct HfExportReport
{
    QJsonObject quantizationConfig; ///< as written into config.json
    int quantizedLayers = 0;
    int floatLayers = 0;
    QStringList foldedTensors; ///< tensors rewritten by AWQ folding (norms, v_proj, up_proj)
};

/// Writes `outDir` (atomically: built beside it, then renamed): config.json with
/// `quantization_config`, tokenizer files, model.safetensors with every tensor of `model` that is
/// not a linear's weight copied as stored (AWQ-folded norms rewritten in F16), quantized linears in
/// the format's packing and float-kept linears as `<name>.weight` in their float type.
/// `tensors` follows model.linears(). Throws qs::Error naming the layer and why when a layer
/// cannot be expressed in the format (bits, granularity, float zeros, f32 scales, activation
/// quantization, act-order for AWQ, specs that differ between layers, unfoldable AWQ scales).
HfExportReport exportHfQuantized(const QString& outDir, const Model& model,
                                 const std::vector<std::shared_ptr<const QuantizedTensor>>& tensors,
                                 const HfExportOptions& options);
HfExportReport exportHfQuantized(const QString& outDir, const Model& base, const QuantizeResult& result,
                                 const HfExportOptions& options);
/// Reads the quantized layers of a QuantScope quantized folder (Model::open of `quantize --out`)
/// in model.linears() order (float layers as method Float).
std::vector<std::shared_ptr<const QuantizedTensor>> readModelQuantizedTensors(const Model& model);

} // namespace qs
