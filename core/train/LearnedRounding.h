#pragma once

#include "jobs/Job.h"
#include "spec/QuantizedTensor.h"

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace qs {

/// SignRound on one row (Cheng et al. 2023), for the playground: the row keeps the scales and zeros of
/// its round-to-nearest quantization, and each weight's rounding offset v ∈ [−½, ½] (w/s + v rounded)
/// is learned by signed gradient descent on the row's output error ‖(w − ŵ)·X‖² / tokens =
/// (w − ŵ)ᵀ·XᵀX·(w − ŵ) / tokens, the same quantity GPTQ minimises. With isotropic inputs (XᵀX = I)
/// nearest rounding is already optimal and nothing moves; with a layer's inputs some weights round the
/// other way.
struct LearnedRounding
{
    std::vector<std::uint8_t> codes;        ///< the learned codes (column order)
    std::vector<std::uint8_t> nearestCodes; ///< round to nearest with the same scales and zeros
    std::vector<float> reconstructed;       ///< the learned codes dequantized
    std::vector<double> curve;              ///< output error after each step (curve[0]: nearest)
    double nearestError = 0, learnedError = 0;
    std::int64_t roundedUp = 0, roundedDown = 0; ///< codes one above / below nearest's
    int bestStep = 0;                            ///< the step whose offsets are kept (lowest error)
};

/// Learns the rounding of `row` on the grid of `nearest` (its round-to-nearest quantization as a [1, n]
/// tensor with an integer grid) against Σ xᵀx of the layer's inputs over `tokens` tokens, by `steps`
/// signed-descent steps at 1/steps decaying to 0 (a cosine). Throws qs::Error when the sizes do not match
/// or the grid is not one training runs; cancellable through `job` between steps.
LearnedRounding learnRowRounding(const std::vector<float>& row, const QuantizedTensor& nearest,
                                 const Eigen::MatrixXd& xtx, std::int64_t tokens, int steps = 200,
                                 const JobContext& job = {});

} // namespace qs
