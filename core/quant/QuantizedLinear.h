#pragma once

#include "model/LinearLayer.h"
#include "quant/QuantizedTensor.h"

#include <memory>

namespace qs {

/// A quantized layer for evaluation: it applies exactly what the quantized format computes —
/// input scaling (AWQ/SmoothQuant), per-token activation quantization (W8A8, LLM.int8 with
/// outlier columns left in 16-bit, dynamic) and the reconstructed weight — through the same
/// GEMM as float layers ("fake quantization"). Packed low-bit kernels replace it later behind
/// the same LinearLayer interface.
class QuantizedLinear : public LinearLayer
{
public:
    QuantizedLinear(std::shared_ptr<const QuantizedTensor> tensor, std::vector<float> bias = {});
    std::int64_t inFeatures() const override { return m_tensor->cols; }
    std::int64_t outFeatures() const override { return m_tensor->rows; }
    void forward(const float* x, std::int64_t nTokens, float* y) const override;
    std::uint64_t storageBytes() const override { return m_tensor->storageBytes(); }
    QString describe() const override { return m_tensor->spec.label(); }
    const QuantizedTensor& tensor() const { return *m_tensor; }
    std::shared_ptr<const QuantizedTensor> tensorPtr() const { return m_tensor; }

private:
    std::shared_ptr<const QuantizedTensor> m_tensor;
    std::vector<float> m_weight; ///< dequantized, in the scaled input space
    std::vector<float> m_bias;
    std::vector<float> m_invScales;
    std::vector<char> m_isOutlier;
    int m_activationBits = 0; ///< 0 = activations stay float
};

/// Per-token symmetric fake quantization of activations in place (columns flagged in `skip` are
/// left alone, as LLM.int8 keeps outlier features in 16-bit).
void fakeQuantizeActivations(float* x, std::int64_t nTokens, std::int64_t cols, int bits, const char* skip = nullptr);

} // namespace qs
