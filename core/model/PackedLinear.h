#pragma once

#include "kernels/PackedInt.h"
#include "model/LinearLayer.h"
#include "spec/QuantizedTensor.h"
#include "tensor/GgmlTypes.h"

#include <memory>

namespace qs {

/// A ggml block-format weight run as llama.cpp's CPU backend runs it: the input rows quantized to
/// the type's activation format (Q8_0, Q8_1 or Q8_K) and integer block dot products
/// (kernels/GgmlMatMul). The rows stay as GGUF stores them, read in place from the mapped file or
/// from an owned buffer (`keepAlive`), or, `interleaved`, in the layout ggmlInterleaveRows wrote
/// (kernels/GgmlMatMul.h; the loader rewrites a type's rows once when the prefill kernel prefers
/// it, in a buffer of the same size). A type without an integer kernel runs on a slower, exact
/// path that dequantizes one row tile at a time (kernelName() says so).
class GgmlLinear : public LinearLayer
{
public:
    GgmlLinear(std::int64_t in, std::int64_t out, GgmlType type, const void* rows,
               std::shared_ptr<const void> keepAlive, std::vector<float> bias, std::uint64_t storageBytes,
               QString label, bool mapped, bool interleaved = false);
    std::int64_t inFeatures() const override { return m_in; }
    std::int64_t outFeatures() const override { return m_out; }
    void forward(const float* x, std::int64_t nTokens, float* y) const override;
    std::uint64_t storageBytes() const override { return m_storageBytes; }
    std::uint64_t residentBytes() const override;
    QString describe() const override { return m_label; }
    QString kernelName() const override;
    const std::vector<float>& bias() const override { return m_bias; }
    GgmlType type() const { return m_type; }

private:
    void forwardDequantized(const float* x, std::int64_t n, float* y) const;

    std::int64_t m_in, m_out;
    GgmlType m_type;
    const std::uint8_t* m_rows;
    std::shared_ptr<const void> m_keepAlive;
    std::vector<float> m_bias;
    std::uint64_t m_storageBytes;
    QString m_label;
    bool m_mapped;
    bool m_interleaved;
    bool m_integerKernel;
};

/// What the layers over a tensor's packed integer codes share: the codes (kernels/PackedInt,
/// shared with the QuantizedTensor once it released its one-per-byte copy), the bias, the size and
/// the label. Throws qs::Error from the constructor when the bias does not fit the rows.
class PackedCodesLinear : public LinearLayer
{
public:
    std::int64_t inFeatures() const override { return m_packed->cols; }
    std::int64_t outFeatures() const override { return m_packed->rows; }
    std::uint64_t storageBytes() const override { return m_storageBytes; }
    QString describe() const override { return m_label; }
    const std::vector<float>& bias() const override { return m_bias; }
    const PackedIntMatrix& packed() const { return *m_packed; }

protected:
    PackedCodesLinear(const QuantizedTensor& q, std::vector<float> bias);
    /// The packed codes plus the bias (bytes).
    std::uint64_t codesAndBiasBytes() const { return m_packed->bytes() + 4 * m_bias.size(); }

    std::shared_ptr<const PackedIntMatrix> m_packed;
    std::vector<float> m_bias;
    std::uint64_t m_storageBytes;
    QString m_label;
};

/// QuantScope's integer formats and GPTQ/AWQ checkpoints (int2–int8, sym/asym, per-tensor,
/// channel or group, act-order, f16/f32 scales, int/float zeros) run packed (kernels/PackedInt):
/// float inputs against the codes, or, for W8A8, dynamic int8 and LLM.int8, inputs quantized per
/// token to int8 and integer dot products. AWQ/SmoothQuant input scales divide the input first;
/// LLM.int8's outlier columns run as a small f32 product next to the int8 one.
class PackedIntLinear : public PackedCodesLinear
{
public:
    PackedIntLinear(const QuantizedTensor& q, std::vector<float> bias);
    void forward(const float* x, std::int64_t nTokens, float* y) const override;
    std::uint64_t residentBytes() const override;
    QString kernelName() const override;

private:
    std::vector<float> m_invScales;             ///< AWQ/SmoothQuant: 1 / s per input column
    std::vector<char> m_isOutlier;              ///< LLM.int8: input columns kept in 16-bit
    std::vector<std::int32_t> m_outlierColumns; ///< their indices
    std::vector<float> m_outlierWeights;        ///< [rows, outliers]
    int m_activationBits = 0;                   ///< 0 = float inputs
};

/// A layer whose codes go through a table (spec.decodesCodes()): SqueezeLLM's row codebooks with its sparse
/// matrix (CSR), or QuIP#'s lattice codes with a scale per row (kernels/E8Lattice.h; the input rotation
/// wraps this layer). The codes stay packed (kernels/PackedInt, 2–4 bits); the tables are read in place from
/// the tensor, which the layer keeps alive. A decode step's few tokens are dotted with each row's codes
/// directly (tableMatMul); a prefill decodes a tile of 64 rows (QuantizedTensor::decodeCodeRows) into an f32
/// buffer (64 × cols floats per thread, never the whole weight) and multiplies it by the float GEMM.
class CodebookLinear : public PackedCodesLinear
{
public:
    CodebookLinear(std::shared_ptr<const QuantizedTensor> q, std::vector<float> bias);
    void forward(const float* x, std::int64_t nTokens, float* y) const override;
    std::uint64_t residentBytes() const override;
    QString kernelName() const override;
    /// The bytes of the tensor's tables the layer reads in place (codebook and sparse matrix, or row scales).
    static std::uint64_t codebookBytes(const QuantizedTensor& q);

private:
    std::shared_ptr<const QuantizedTensor> m_tensor;
};

/// Rows [r0, r1) of a tensor whose codes go through a table (spec.decodesCodes(), codes in `packed`) times
/// x [n, cols] into y[t·ldy + r]. With `fused` and n ≤ e8::kMaxDotTokens (a decode step), each row's codes
/// are unpacked and dotted with the inputs directly, a vector's lattice point or codebook sum formed in
/// registers and never stored (QuIP#: e8::dotQuipRow, AQLM: aq::dotRow, SqueezeLLM: a lookup per weight);
/// otherwise a tile is decoded to f32 (QuantizedTensor::decodeCodeRows) and multiplied by the float GEMM.
void tableMatMul(const QuantizedTensor& q, const PackedIntMatrix& packed, std::int64_t r0, std::int64_t r1,
                 const float* x, std::int64_t n, float* y, std::int64_t ldy, bool fused = true);

/// The layer that runs a quantized tensor in its packed form: gguf → GgmlLinear over its block
/// bytes, float → DenseLinear at its float type, SqueezeLLM and QuIP# → CodebookLinear, every other integer
/// method → PackedIntLinear. The tensor
/// (kept alive by the shared pointer where the layer reads it in place) is not dequantized.
std::shared_ptr<const LinearLayer> makePackedLayer(std::shared_ptr<const QuantizedTensor> q,
                                                   std::vector<float> bias);

} // namespace qs
