#pragma once

#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace qs {

/// The one linear-layer interface: y = x Wᵀ + b over a batch of token rows. The model code only
/// calls forward(); float, fake-quantized, packed low-bit and CUDA layers all plug in here.
class LinearLayer
{
public:
    virtual ~LinearLayer() = default;
    virtual std::int64_t inFeatures() const = 0;
    virtual std::int64_t outFeatures() const = 0;
    /// x: [nTokens, inFeatures] row-major; y: [nTokens, outFeatures] row-major (overwritten).
    virtual void forward(const float* x, std::int64_t nTokens, float* y) const = 0;
    /// Bytes this layer's weights take in storage (for size accounting).
    virtual std::uint64_t storageBytes() const = 0;
    /// Short description for tables: "f32", "rtn int4 g128", …
    virtual QString describe() const = 0;
};

/// A float layer: W kept as f32 [out, in] row-major, multiplied with Eigen's GEMM.
class DenseLinear : public LinearLayer
{
public:
    DenseLinear(std::int64_t in, std::int64_t out, std::vector<float> weight, std::vector<float> bias = {},
                std::uint64_t storageBytes = 0, QString label = QStringLiteral("f32"));
    std::int64_t inFeatures() const override { return m_in; }
    std::int64_t outFeatures() const override { return m_out; }
    void forward(const float* x, std::int64_t nTokens, float* y) const override;
    std::uint64_t storageBytes() const override { return m_storageBytes; }
    QString describe() const override { return m_label; }
    const std::vector<float>& weight() const { return m_weight; }
    const std::vector<float>& bias() const { return m_bias; }

private:
    std::int64_t m_in, m_out;
    std::vector<float> m_weight;
    std::vector<float> m_bias;
    std::uint64_t m_storageBytes;
    QString m_label;
};

/// y = x Wᵀ (+ b) for row-major x [n, in], W [out, in]: the GEMM every layer and the head share.
void gemmXWt(const float* x, std::int64_t n, std::int64_t in, const float* w, std::int64_t out, float* y,
             const float* bias = nullptr);

} // namespace qs
