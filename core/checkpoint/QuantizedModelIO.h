#pragma once

#include "io/QuantizedLayerReader.h"

#include <QJsonObject>
#include <QString>
#include <functional>

namespace qs {

class Model;
class TensorStore;
struct QuantizeResult;

/// Saves a quantized model as a Hugging Face-style folder that QuantScope reloads:
/// config.json and tokenizer files copied from the base, and model.safetensors holding
/// embeddings/norms as stored, float-kept linears as `<name>.weight` in their dtype, and each
/// quantized linear as real packed storage: `<name>.qweight` (U8 bit stream of `bits`-bit codes,
/// row-major), `.scales` (F16/F32 [rows, groups]), `.qzeros` (U8 packed integer zeros) or `.zeros`
/// (F16 float zeros), `.g_idx` (I32, act-order), `.input_scales` (F16, AWQ/SmoothQuant),
/// `.outlier_cols` (I32) + `.outlier_weight` (F16, LLM.int8). Metadata: format
/// "quantscope-quantized", the per-layer specs, the recipe and the run's measurements.
/// The folder appears atomically (built beside it, then renamed); nothing is left on failure. `runJson`,
/// when given, is the run.json written into the folder with the rest (a run's folder never appears without
/// it).
void saveQuantizedModel(const QString& outDir, const Model& base, const QuantizeResult& result,
                        const QJsonObject& recipe, const QJsonObject& extraInfo = {},
                        const QJsonObject& runJson = {});

/// Writes a model folder atomically: `fill(tmp)` writes the weights and config into a fresh
/// partial folder beside `outDir`; the tokenizer and generation files of `modelDir` are copied
/// next to them; the files are synced, then the partial folder is swapped with `outDir` in one
/// step (a crash at any moment leaves the old output or the new one, never neither) and the old
/// one removed. On any failure the partial folder is removed and `outDir` is as it was. Partial
/// folders of writers killed before they could clean up are removed by the next write. Shared by
/// every checkpoint exporter.
void writeModelFolderAtomically(const QString& outDir, const QString& modelDir,
                                const std::function<void(const QString& tmp)>& fill);

} // namespace qs
