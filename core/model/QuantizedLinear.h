#pragma once

#include "model/LinearLayer.h"
#include "spec/QuantizedTensor.h"

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
void fakeQuantizeActivations(float* x, std::int64_t nTokens, std::int64_t cols, int bits,
                             const char* skip = nullptr);

/// A linear whose input rows are first rounded as llama.cpp's CPU matrix product rounds them for a
/// weight of `weightType` (ggml's vec_dot_type: Q8_K for Q2_K…Q6_K and IQ4_XS, Q8_0 for
/// Q4_0/Q5_0/Q8_0/IQ4_NL and Q8_1 — the same values — for Q4_1/Q5_1, f16 for F16, bf16 for BF16,
/// nothing for F32), then passed to `inner`. See Transformer::setLlamaCppNumerics.
class GgmlVecDotLinear final : public LinearLayer
{
public:
    GgmlVecDotLinear(std::shared_ptr<const LinearLayer> inner, GgmlType weightType);
    std::int64_t inFeatures() const override { return m_inner->inFeatures(); }
    std::int64_t outFeatures() const override { return m_inner->outFeatures(); }
    void forward(const float* x, std::int64_t n, float* y) const override;
    std::uint64_t storageBytes() const override { return m_inner->storageBytes(); }
    QString describe() const override { return m_inner->describe(); }

private:
    std::shared_ptr<const LinearLayer> m_inner;
    GgmlType m_weightType;
};

} // namespace qs
