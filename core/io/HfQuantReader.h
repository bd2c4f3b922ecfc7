#pragma once

#include "spec/QuantizedTensor.h"

#include <QJsonObject>
#include <QString>
#include <optional>

namespace qs {

class TensorStore;

/// Hugging Face GPTQ / AWQ checkpoints (the formats AutoGPTQ, GPTQModel, AutoAWQ, transformers,
/// vLLM and TGI load), written from our quantized layers and read back as QuantizedTensor.
///
/// GPTQ ("gptq" packing): `<module>.qweight` I32 [in·bits/32, out], codes packed along the INPUT
/// dimension as one little-endian bit stream per output column (value i at bit i·bits; 3-bit
/// values straddle word boundaries exactly as AutoGPTQ's pack does); `.qzeros` I32
/// [groups, out·bits/32] packed the same way along the OUTPUT dimension; `.scales` F16
/// [groups, out]; `.g_idx` I32 [in]. checkpoint_format "gptq" stores zero − 1 (the legacy
/// AutoGPTQ convention; a zero of 0 cannot be stored and is an error), "gptq_v2" (GPTQModel)
/// stores the zero itself. Dequantization: w = (q − zero) · scale.
///
/// AWQ (AutoAWQ "gemm"): `.qweight` I32 [in, out/8] packed along the OUTPUT dimension, nibble i of
/// word j holding output 8j + kAwqOrder[i]; `.qzeros` I32 [groups, out/8] the same way; `.scales`
/// F16 [groups, out]. Zeros stored as is. Our per-input-channel AWQ scales s (the layer computes
/// (x/s)·Q(W·s)ᵀ) are folded into the op producing the input: the RMSNorm weight for q/k/v and
/// gate/up (g/s, written F16), v_proj's output rows for o_proj, up_proj's rows for down_proj
/// (their f16 scales, or float weights, divided by s and re-rounded).
enum class HfQuantFormat { Gptq, Awq };
enum class GptqCheckpointFormat { Gptq, GptqV2 };

struct HfQuantConfig
{
    HfQuantFormat format = HfQuantFormat::Gptq;
    int bits = 4;
    int groupSize = 128; ///< -1: per channel
    bool sym = true;
    bool descAct = false;
    bool zeroMinusOne = true; ///< GPTQ checkpoint_format "gptq" (v1)
    QJsonObject raw;
    QString path; ///< config.json, for errors
};

/// The `quantization_config` of `<modelDir>/config.json` when it is GPTQ or AWQ; nullopt when the
/// folder has none (or another method). Throws qs::Error naming the file for unsupported values.
std::optional<HfQuantConfig> readHfQuantConfig(const QString& modelDir);
/// The QuantSpec our layers get for a checkpoint with that configuration.
QuantSpec hfLayerSpec(const HfQuantConfig& config);
/// The settings of one module: GPTQModel's `dynamic` overrides applied ("+:" or bare patterns,
/// matched at the start of the name as Python's re.match; the first match wins; "-:" rules skip
/// modules, which are then stored unquantized). Throws qs::Error naming config.json for an
/// invalid pattern or value.
HfQuantConfig hfLayerConfig(const HfQuantConfig& config, const QString& module);
/// module name → spec JSON for every `<module>.qweight` stored as I32 (Model's hook).
QJsonObject hfQuantizedLayers(const HfQuantConfig& config, const TensorStore& store);
/// True when `<module>.qweight` is an I32 tensor (a GPTQ/AWQ layer, not our U8 bit stream).
bool isHfQuantLayer(const TensorStore& store, const QString& module);
QuantizedTensor readGptqLayer(const TensorStore& store, const QString& module, const HfQuantConfig& config,
                              std::int64_t rows, std::int64_t cols);
QuantizedTensor readAwqLayer(const TensorStore& store, const QString& module, const HfQuantConfig& config,
                             std::int64_t rows, std::int64_t cols);
/// Reads the layer with the configuration found in config.json beside the store's files.
QuantizedTensor readHfQuantLayer(const TensorStore& store, const QString& module, std::int64_t rows,
                                 std::int64_t cols);

} // namespace qs
