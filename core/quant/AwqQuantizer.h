#pragma once

#include "spec/QuantizedTensor.h"

#include <vector>

namespace qs {

struct LinearInputStats;

/// One layer of an AWQ scale group: layers that read the same input (q/k/v after the input norm,
/// gate/up after the post-attention norm) share one scale vector, so it can be folded into
/// that norm's weight at export.
struct AwqLayer
{
    const float* weight;
    std::int64_t rows;
};

struct AwqSearchResult
{
    std::vector<float> scales; ///< per input channel, f16-rounded
    double alpha = 0;
    double loss = 0;     ///< output MSE on the calibration sample with the chosen scales
    double lossNoScale = 0; ///< the same at α = 0 (plain RTN), for reports
};

/// AWQ (Lin et al. 2023): s = mean|x|^α over a grid α ∈ [0, 1], normalised by sqrt(max·min);
/// the α minimising the summed output error ‖X Wᵀ − (X/s) Q(W·s)ᵀ‖² of all layers in the group
/// on the sampled calibration inputs wins.
AwqSearchResult awqSearchScales(const std::vector<AwqLayer>& layers, std::int64_t cols, const LinearInputStats& stats,
                                const QuantSpec& spec);

/// Quantizes one layer with given AWQ scales (then the clipping search, weighted by mean|x|²).
QuantizedTensor awqQuantizeWithScales(const float* weight, std::int64_t rows, std::int64_t cols, const QuantSpec& spec,
                                      const std::vector<float>& scales, const LinearInputStats& stats);

} // namespace qs
