#pragma once

#include "model/LinearLayer.h"
#include "spec/QuantizedTensor.h"
#include "tensor/GgmlTypes.h"

#include <memory>

namespace qs {

/// A quantized layer from a quantization run or a checkpoint: it keeps the QuantizedTensor (what
/// checkpoints and exports are written from) and runs it in its packed form through the layer
/// makePackedLayer builds (no dequantized copy).
class QuantizedLinear : public LinearLayer
{
public:
    QuantizedLinear(std::shared_ptr<const QuantizedTensor> tensor, std::vector<float> bias = {});
    std::int64_t inFeatures() const override { return m_tensor->cols; }
    std::int64_t outFeatures() const override { return m_tensor->rows; }
    void forward(const float* x, std::int64_t nTokens, float* y) const override
    {
        m_inner->forward(x, nTokens, y);
    }
    std::uint64_t storageBytes() const override { return m_tensor->storageBytes(); }
    /// The running layer's bytes plus what the tensor holds beside them (its scales kept for
    /// saving, f32 values behind an f16 layer, codes not yet released to the packed form).
    std::uint64_t residentBytes() const override;
    QString describe() const override { return m_tensor->spec.label(); }
    QString kernelName() const override { return m_inner->kernelName(); }
    const std::vector<float>& bias() const override { return m_inner->bias(); }
    const QuantizedTensor& tensor() const { return *m_tensor; }
    std::shared_ptr<const QuantizedTensor> tensorPtr() const { return m_tensor; }
    const LinearLayer& packed() const { return *m_inner; }

private:
    std::shared_ptr<const QuantizedTensor> m_tensor;
    std::shared_ptr<const LinearLayer> m_inner;
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
    std::uint64_t residentBytes() const override { return m_inner->residentBytes(); }
    QString describe() const override { return m_inner->describe(); }
    QString kernelName() const override { return m_inner->kernelName() + QStringLiteral(", inputs rounded"); }
    const std::vector<float>& bias() const override { return m_inner->bias(); }

private:
    std::shared_ptr<const LinearLayer> m_inner;
    GgmlType m_weightType;
};

} // namespace qs
