#pragma once

#include "jobs/Job.h"
#include "model/Transformer.h"

#include <Eigen/Core>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <vector>

namespace qs {

/// Streaming statistics of one linear layer's inputs over calibration tokens: what GPTQ (XᵀX),
/// AWQ / SmoothQuant / LLM.int8 (per-channel mean and max |x|) and importance matrices
/// (Σ x²) need. Memory is O(in²) for the Hessian and O(in) otherwise; activations are not kept
/// except for an optional bounded reservoir sample of input/output rows.
struct LinearInputStats
{
    std::int64_t inFeatures = 0;
    std::int64_t outFeatures = 0;
    std::int64_t tokens = 0;
    Eigen::MatrixXd xtx;              ///< Σ xᵀx (in × in), only when requested
    std::vector<double> sumAbs;       ///< Σ |x_j|
    std::vector<double> maxAbs;       ///< max |x_j|
    std::vector<double> sumSquares;   ///< Σ x_j² (llama.cpp imatrix numerator)
    std::vector<float> sampleInputs;  ///< reservoir rows [k, in]
    std::vector<float> sampleOutputs; ///< matching output rows [k, out]
    std::int64_t sampleRows = 0;

    std::vector<double> meanAbs() const;
    /// GPTQ's Hessian 2·XᵀX / tokens.
    Eigen::MatrixXd hessian() const;
};

struct CalibrationOptions
{
    bool hessian = true;
    int sampleRows = 0; ///< reservoir size per layer (0 = none)
    std::uint64_t seed = 1;
};

/// Adds XᵀX of the rows x [n, in] (f32, row-major) to the lower triangle of `lower` (in × in, f64;
/// the upper triangle apart from the diagonal blocks is left alone, and those hold scratch): block
/// columns of 256 over the compute threads, one GEMM each, so the sums do not depend on the thread
/// count. Eigen's rankUpdate did this on one thread: for a 14336-wide down_proj input, 2048 tokens
/// are 4.2·10¹¹ f64 flops.
void addXtxLower(Eigen::MatrixXd& lower, const float* x, std::int64_t n, std::int64_t in);

/// ForwardHooks that fill LinearInputStats for a chosen set of linear layers (one block at a
/// time in the quantization pipeline, so memory stays bounded).
class CalibrationCollector : public ForwardHooks
{
public:
    CalibrationCollector(const Model& model, std::set<int> layers, CalibrationOptions opt = {});
    void linearInput(int index, const float* x, std::int64_t nTokens, std::int64_t inFeatures) override;
    void linearOutput(int index, const float* y, std::int64_t nTokens, std::int64_t outFeatures) override;
    const LinearInputStats& stats(int index) const;
    LinearInputStats take(int index);
    bool has(int index) const { return m_stats.count(index) != 0; }
    /// The statistics of a layer, or nullptr when it is not captured. Safe to call from several
    /// threads at once (for different or the same layer) once collection has ended.
    const LinearInputStats* find(int index) const;

private:
    /// Fills XᵀX's upper triangle from the lower one that linearInput accumulates: once per layer
    /// when its statistics are first read, not after every window (for a 8192-wide input that
    /// copy is 256 MB of strided reads per window).
    void completeXtx(int index) const;

    CalibrationOptions m_opt;
    mutable std::map<int, LinearInputStats> m_stats; ///< mutable: completeXtx when first read
    mutable std::map<int, bool> m_xtxUpperStale;     ///< per layer: only the lower triangle is current
    mutable std::mutex m_completeMutex;
    std::map<int, std::vector<std::int64_t>> m_pendingSlots; ///< reservoir slots chosen for the last input
    std::mt19937_64 m_rng;
};

/// Feeds the separate head `headIndex` its calibration inputs: the final RMSNorm of each
/// sequence's last hidden states `hidden[s]` ([tokens, hiddenSize]), and the head's outputs.
void collectHeadStatistics(const Transformer& t, int headIndex, const std::vector<std::vector<float>>& hidden,
                           CalibrationCollector& col, const JobContext& job = {});

} // namespace qs
