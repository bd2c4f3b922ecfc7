#pragma once

#include "quant/Quantizer.h"

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace qs {

/// One column of one row as GPTQ quantized it.
struct GptqColumnStep
{
    std::int64_t column = 0; ///< the column in the weight's own order
    float weight = 0;        ///< its value when it was quantized (after the updates of earlier columns)
    float scale = 1, zero = 0;
    std::uint8_t code = 0;
    float dequantized = 0;
    float scaledError = 0; ///< (weight − dequantized) / U(i, i): what is pushed onto later columns
};

/// What GPTQ did to one row, recorded by the quantizer itself while it runs (for the playground's
/// column-by-column demonstration).
struct GptqRowTrace
{
    std::int64_t row = 0;              ///< in: the row to record
    std::vector<std::int64_t> order;   ///< columns in quantization order (act-order permutation)
    std::vector<GptqColumnStep> steps; ///< one per column, in quantization order
    Eigen::MatrixXf inverseFactor;     ///< U (upper, H⁻¹ = UᵀU), rows and columns in quantization order
    double damp = 0;                   ///< λ added to the diagonal of H = 2·XᵀX/n
};

/// H_ii = 2·(XᵀX)_ii/n for each input of the layer from `r.stats`, with the inputs calibration never excited
/// set to 1 and their columns of W zeroed (what GPTQ and QuIP#'s LDLQ do with dead inputs). qs::Error naming
/// the layer and `method` when the statistics hold no input Hessian of the layer's width.
std::vector<double> hessianDiagonal(const QuantizeRequest& r, const char* method,
                                    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& W);

/// U (upper, H⁻¹ = UᵀU) for H = 2·XᵀX/n from `r.stats`, rows and columns permuted by `perm`, `diag` its
/// diagonal (dead inputs set to 1, which the factor uses in their place), dampened by λ = dampPercent ·
/// mean(diag) raised ×10 up to four times while H stays indefinite (`dampUsed` gets the λ that worked).
/// What GPTQ and QuIP#'s LDLQ push rounding errors with. qs::Error naming the layer when H stays singular.
Eigen::MatrixXf dampedInverseFactor(const QuantizeRequest& r, const std::vector<std::int64_t>& perm,
                                    const std::vector<double>& diag, double& dampUsed, const JobContext& job);

/// GPTQ exactly as a run quantizes (quantizeWeight with a GPTQ spec), also recording row
/// `trace->row` when `trace` is given. Validates like quantizeWeight.
QuantizedTensor gptqQuantize(const QuantizeRequest& request, const JobContext& job, GptqRowTrace* trace);

} // namespace qs
