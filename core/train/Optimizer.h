#pragma once

#include "train/TrainModel.h"

#include <QByteArray>
#include <QDataStream>
#include <array>
#include <deque>
#include <vector>

namespace qs {

/// How parameters move: AdamW (Loshchilov & Hutter 2019: Adam with decoupled weight decay) or, for the
/// kinds flagged in `signDescent`, signed gradient descent (SignRound, Cheng et al. 2023: θ −= lr·sign(g),
/// for rounding offsets); a learning rate that warms up linearly and then follows a cosine down to
/// `minLearningRateRatio` of its peak; the gradient's global norm clipped before an AdamW step.
struct OptimizerSettings
{
    std::array<bool, kParamKinds> signDescent{};
    double learningRate = 1e-4;
    /// Multipliers of learningRate per ParamKind (scales and zeros usually learn faster than weights).
    std::array<double, kParamKinds> kindScale{1, 1, 1, 1, 1, 1, 1, 1};
    double weightDecay = 0.0; ///< decoupled, on weights and embeddings only
    double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
    double clipNorm = 1.0; ///< 0: no clipping
    int steps = 100;
    int warmupSteps = 0;
    double minLearningRateRatio = 0.0;

    /// Empty when usable, else what is out of range (named as a user would set it).
    QString validate() const;
    /// The learning rate of step `step` (0-based) before the per-kind multiplier.
    double learningRateAt(int step) const;
};

/// The optimiser's state over a model's trainable parameters (moments per parameter, steps taken).
class Optimizer
{
public:
    explicit Optimizer(OptimizerSettings settings);
    const OptimizerSettings& settings() const { return m_settings; }
    int stepsTaken() const { return m_step; }

    /// One step over `params` from their `grad`s (which it leaves alone). Returns the gradient's global
    /// norm before clipping. Throws qs::Error when a gradient is NaN or infinite (the values are left
    /// unchanged then).
    double step(std::deque<TrainParam>& params);
    /// The same over a chosen list (a block's parameters); the moments follow the list's order, so one
    /// optimiser serves one list.
    double step(const std::vector<TrainParam*>& params);

    /// The state as bytes (settings not included) and back, for resuming; restore() throws qs::Error
    /// when the bytes do not fit `params` (another model or set of trainable parameters).
    QByteArray save() const;
    void restore(const QByteArray& bytes, const std::deque<TrainParam>& params);
    /// The same straight into a stream (a training checkpoint: no copy of the moments in memory, no 4 GiB
    /// limit of a QByteArray field).
    void save(QDataStream& out) const;
    void restore(QDataStream& in, const std::deque<TrainParam>& params);

private:
    OptimizerSettings m_settings;
    int m_step = 0;
    std::vector<std::vector<float>> m_m, m_v; // per trainable parameter, in order
};

/// Raw f32 arrays in a state stream (any size: written in pieces under QDataStream's int limit); reading
/// fills `v`, already sized, and returns false when the stream ends first.
void writeFloatArray(QDataStream& out, const std::vector<float>& v);
bool readFloatArray(QDataStream& in, std::vector<float>& v);

} // namespace qs
