#pragma once

#include "quant/QuantizeJob.h"

#include <QJsonObject>
#include <QString>
#include <memory>

namespace qs {

/// What a quantization run will cost, measured before it is started for real: the pipeline runs block 0 on
/// this machine exactly as the run would (loading, calibration windows, calibration and quantization of its
/// layers; runQuantization with a block limit, the result thrown away), and the rest is extrapolated: every
/// block like block 0, each layer outside the blocks (the head) at block 0's quantizing seconds per weight of
/// its method. Memory is estimateQuantizationMemory's.
struct QuantizeEstimate
{
    int blocks = 0;                ///< the model's blocks
    int threads = 0;               ///< compute threads it was measured with
    double setupSeconds = 0;       ///< loading and tokenizing, up to block 0
    double blockSeconds = 0;       ///< block 0: calibration and quantization of its layers
    double blockCalibration = 0;   ///< of which calibrating
    double headSeconds = 0;        ///< the layers outside the blocks, extrapolated
    std::int64_t headWeights = 0;  ///< weights of those layers that are quantized
    bool measuredWholeRun = false; ///< a model of one block: the run finished and is the measurement
    MemoryEstimate memory;
    double totalSeconds() const { return setupSeconds + blockSeconds * blocks + headSeconds; }
    QString toText() const;
    QJsonObject toJson() const;
};

/// Measures and extrapolates as described above; writes nothing. Throws what runQuantization throws (a bad
/// plan or text, not enough memory, qs::Cancelled).
QuantizeEstimate estimateQuantization(std::shared_ptr<const Model> model, const LayerPlan& plan,
                                      const CalibrationSettings& calibration, const Tokenizer* tokenizer,
                                      const JobContext& job = {});

} // namespace qs
