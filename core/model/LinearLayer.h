#pragma once

#include "tensor/DType.h"

#include <QString>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace qs {

/// The one linear-layer interface: y = x Wᵀ + b over a batch of token rows. The model code only
/// calls forward(); float, packed low-bit, ggml-block and (later) CUDA layers all plug in here.
/// Each implementation runs its weight in the form it is stored in (see model/PackedLinear.h):
/// none holds a dequantized f32 copy.
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
    /// Bytes the layer's weights occupy in memory as it runs: its own allocations plus the bytes
    /// it reads from a memory-mapped file (measured from the objects, not from a formula).
    virtual std::uint64_t residentBytes() const = 0;
    /// Short description for tables: "f32", "rtn int4 g128", …
    virtual QString describe() const = 0;
    /// The kernel that runs it, e.g. "bf16 (mapped)", "q4_K·q8_K", "int4 g128".
    virtual QString kernelName() const = 0;
    /// The bias b (empty when the layer has none).
    virtual const std::vector<float>& bias() const = 0;
    /// A float layer's weight as f32 [out, in] (a working copy made on request, so quantizers hold
    /// one layer at a time); empty for a quantized layer.
    virtual std::vector<float> floatWeight() const { return {}; }
    /// forward() for inputs that are bf16 values (GgmlVecDotLinear rounds a BF16 layer's inputs so, as
    /// llama.cpp does): a layer with an exact kernel for them that is faster here runs it and returns true;
    /// otherwise it returns false and the caller runs forward().
    virtual bool forwardBf16Inputs(const float*, std::int64_t, float*) const { return false; }
};

/// A float layer: W as f32, f16 or bf16 rows [out, in], either owned or read in place from a
/// memory-mapped checkpoint (kept alive by `keepAlive`), multiplied by kernels/FloatMatMul without
/// an f32 working copy. F16 and BF16 weights times kTileMinTokens tokens or more run on AMX tiles where the
/// CPU has them (floatMatMulTiles, the inputs split exactly into three bf16 planes): within
/// kFloatMatMulTilesBudget of floatMatMul's result, not its bytes, and the same for any thread count.
class DenseLinear : public LinearLayer
{
public:
    /// An owned f32 weight (tests, tied heads built in memory, noisy copies).
    DenseLinear(std::int64_t in, std::int64_t out, std::vector<float> weight, std::vector<float> bias = {},
                std::uint64_t storageBytes = 0, QString label = QStringLiteral("f32"));
    /// Rows of `dtype` at `data` (any alignment), valid while `keepAlive` lives (a mapped file,
    /// or an owned buffer).
    DenseLinear(std::int64_t in, std::int64_t out, DType dtype, const void* data,
                std::shared_ptr<const void> keepAlive, std::vector<float> bias, std::uint64_t storageBytes,
                QString label, bool mapped);
    std::int64_t inFeatures() const override { return m_in; }
    std::int64_t outFeatures() const override { return m_out; }
    void forward(const float* x, std::int64_t nTokens, float* y) const override;
    std::uint64_t storageBytes() const override { return m_storageBytes; }
    std::uint64_t residentBytes() const override;
    QString describe() const override { return m_label; }
    QString kernelName() const override;
    const std::vector<float>& bias() const override { return m_bias; }
    std::vector<float> floatWeight() const override;
    /// BF16 weights on a CPU with AVX512-BF16: kernels/FloatMatMul floatMatMulBf16Inputs (vdpbf16ps); from
    /// kTileMinTokens tokens on a CPU with AMX-BF16, floatMatMulTiles with the inputs as one bf16 plane.
    bool forwardBf16Inputs(const float* x, std::int64_t nTokens, float* y) const override;
    DType dtype() const { return m_dtype; }
    /// Whether the rows are read in place from a model file's map (not an owned or rewritten copy).
    bool mapped() const { return m_mapped; }

private:
    std::int64_t m_in, m_out;
    DType m_dtype = DType::F32;
    const void* m_data = nullptr;
    std::shared_ptr<const void> m_keepAlive;
    std::vector<float> m_bias;
    std::uint64_t m_storageBytes;
    QString m_label;
    bool m_mapped = false;
};

/// y = x Wᵀ (+ b) for row-major x [n, in], W [out, in] f32: the float product every f32 layer
/// uses (kernels/FloatMatMul over fixed row tiles, spread over the compute threads).
void gemmXWt(const float* x, std::int64_t n, std::int64_t in, const float* w, std::int64_t out, float* y,
             const float* bias = nullptr);

/// Rows [0, rows) of a kernel that writes y[t·ldy + r] for its row range, over fixed tiles spread
/// over the compute threads when the product is large enough to pay for them.
void runRowTiles(std::int64_t rows, std::int64_t tile, double macs,
                 const std::function<void(std::int64_t r0, std::int64_t r1)>& kernel);

/// Adds bias[r] to every row of y [n, out] (nothing when `bias` is null).
void addBias(float* y, std::int64_t n, std::int64_t out, const float* bias);
inline void addBias(float* y, std::int64_t n, std::int64_t out, const std::vector<float>& bias)
{
    addBias(y, n, out, bias.empty() ? nullptr : bias.data());
}

} // namespace qs
