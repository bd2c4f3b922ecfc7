#pragma once

#include "quant/QuantizedTensor.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>
#include <vector>

namespace qs {

class Model;
class TensorStore;
struct QuantizeResult;

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

inline constexpr int kAwqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};

struct HfExportOptions
{
    HfQuantFormat format = HfQuantFormat::Gptq;
    GptqCheckpointFormat checkpointFormat = GptqCheckpointFormat::Gptq; ///< GPTQ only
};

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

// ---- Packing (exposed for tests) ---------------------------------------------------------------

/// values [n, m] row-major (each < 2^bits) packed along n: [n·bits/32, m] words, value (i, j) at
/// bit i·bits of column j's stream. n·bits must be a multiple of 32.
std::vector<std::int32_t> gptqPackRows(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits);
std::vector<std::uint32_t> gptqUnpackRows(const std::int32_t* words, std::int64_t n, std::int64_t m,
                                          int bits);
/// values [n, m] packed along m: [n, m·bits/32].
std::vector<std::int32_t> gptqPackCols(const std::vector<std::uint32_t>& values, std::int64_t n,
                                       std::int64_t m, int bits);
std::vector<std::uint32_t> gptqUnpackCols(const std::int32_t* words, std::int64_t n, std::int64_t m,
                                          int bits);
/// 4-bit values [n, m] packed along m in AWQ order: [n, m/8].
std::vector<std::int32_t> awqPack(const std::vector<std::uint32_t>& values, std::int64_t n, std::int64_t m);
std::vector<std::uint32_t> awqUnpack(const std::int32_t* words, std::int64_t n, std::int64_t m);

// ---- Import --------------------------------------------------------------------------------------

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
