#pragma once

#include "jobs/Job.h"
#include "quant/Quantizer.h"
#include "recipe/LayerPlan.h"
#include "recipe/Recipe.h"
#include "spec/QuantizedTensor.h"
#include "util/SystemInfo.h"

#include <QJsonObject>
#include <QStringList>
#include <memory>
#include <vector>

namespace qs {

class Model;
class Tokenizer;
class Transformer;
class LinearLayer;
struct LinearInputStats;

/// What was measured for one quantized layer.
struct LayerReport
{
    int linearIndex = 0;
    QString name;
    int block = -1;
    QString kind;
    QuantSpec spec;
    std::uint64_t bytes = 0;
    double bitsPerWeight = 0;
    double weightRelMse = 0; ///< ‖W − Ŵ‖² / ‖W‖²
    double outputRelMse = 0; ///< ‖XWᵀ − layer(X)‖² / ‖XWᵀ‖² on sampled calibration inputs (NaN if none)
    double weightSquaredNorm = 0; ///< ‖W‖² (denominator of weightRelMse)
    double outputSquaredNorm = 0; ///< ‖XWᵀ‖² on the sample (denominator of outputRelMse)
    double maxAbsError = 0;       ///< max |W − Ŵ|
    double histogramMin = 0, histogramMax = 0;
    std::vector<double> errorHistogram; ///< counts of W − Ŵ over [min, max] in equal bins
    double seconds = 0;
    QString note; ///< e.g. AWQ's chosen α
    QJsonObject toJson() const;
};

struct QuantizeResult
{
    std::shared_ptr<Transformer> model;                          ///< the base model with its linears replaced
    std::vector<std::shared_ptr<const QuantizedTensor>> tensors; ///< per linear (Model::linears order)
    std::vector<LayerReport> layers;
    LayerPlan plan;
    CalibrationSettings calibration;
    double seconds = 0;
    double calibrationSeconds = 0;
    std::uint64_t modelBytes = 0;
    std::uint64_t linearBytes = 0;
    double linearBitsPerWeight = 0;
    double peakRssBytes = 0;
    QStringList warnings;
    QJsonObject toJson() const;
};

/// Fills the measured fields of `rep` (weight error, its histogram, output error on the reservoir
/// sample of `stats` when given) for float weight `w` against its quantized form `q` run as `layer`.
void measureQuantizedLayer(LayerReport& rep, const float* w, const QuantizedTensor& q,
                           const LinearLayer& layer, const LinearInputStats* stats);
/// Its two halves: the weight error and histogram (streamed over blocks of rows, no dequantized
/// copy of the layer), and the output error of `layer` on the sample (NaN without one).
void measureWeightError(LayerReport& rep, const float* w, const QuantizedTensor& q);
void measureOutputError(LayerReport& rep, const float* w, const LinearLayer& layer,
                        const LinearInputStats* stats);

/// `cal.samples` windows of `cal.seqLen` tokens (BOS + text tokens) drawn from `cal.text` with
/// `cal.seed`; throws qs::Error naming the file when the text is missing or too short.
std::vector<std::vector<int>> calibrationWindows(const Tokenizer& tokenizer, const CalibrationSettings& cal,
                                                 int bos);

/// A memory estimate made before a run starts (bytes). The float model is read in place from its
/// mapped files, one layer at a time: each layer goes from its f32 working copy to its packed form,
/// and what it needed on the way (the copy, its codes one per byte, its mapped pages) is released
/// before the next one. So the run holds its result at packed size, one layer's working set and
/// the calibration; the checkpoint is then written from the result a piece at a time.
struct MemoryEstimate
{
    double quantizedLayers = 0; ///< the result: packed codes with their scales (gguf: blocks; float: values)
    double layerCopy = 0;       ///< the largest layer's working set: mapped pages, f32 copy, codes
    double floatParts = 0;      ///< what stays float and mapped: norms, the embedding rows read
    double calibrationStates = 0;
    double blockWorkingSet = 0;
    double total() const
    {
        return quantizedLayers + layerCopy + floatParts + calibrationStates + blockWorkingSet;
    }
    MemoryNeed need() const;
};
MemoryEstimate estimateQuantizationMemory(const Model& model, const LayerPlan& plan,
                                          const CalibrationSettings& cal);

/// The request to quantize linear `li` of `t` while it is still float (an f32 working copy of its
/// weight, owned by the request: one layer at a time); throws "<layer>: <whenQuantized>" when the
/// layer is no longer a float layer.
QuantizeRequest floatLayerRequest(const Transformer& t, int li, const QuantSpec& spec,
                                  const LinearInputStats* stats, const QString& whenQuantized);
/// Bytes of the working copies floatLayerRequest made that are still alive, in this process (the
/// run holds one layer's, or one shared AWQ group's, while it quantizes them, and none between
/// layers: tests check that nothing keeps them).
std::uint64_t liveWorkingCopyBytes();

/// The layer-by-layer pipeline (calibration: `samples` random windows of `seqLen` tokens, BOS +
/// text tokens, drawn with the seed from `text`, an absolute path here): calibration windows flow through
/// blocks already quantized; inside each block the linears are quantized in true-sequential order (q/k/v,
/// then o, then gate/up, then down), each group's input statistics captured with the earlier groups already
/// quantized; each layer's float copy is released when its quantized form replaces it.
/// Deterministic for a given plan and seed whatever the thread count; cancellable between layers.
/// Throws qs::Error (bad plan, text too short, not enough memory) or qs::Cancelled. With `blockLimit` >= 0
/// only the first `blockLimit` blocks are quantized and the rest of the model (the head too) stays float:
/// a partial run whose reports and times measure those blocks (QuantizeEstimate).
QuantizeResult runQuantization(std::shared_ptr<const Model> model, const LayerPlan& plan,
                               const CalibrationSettings& calibration, const Tokenizer* tokenizer,
                               const JobContext& job = {}, int blockLimit = -1);

} // namespace qs
