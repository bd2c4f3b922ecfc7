#pragma once

#include "io/GgufNames.h"
#include "io/ModelConfig.h"
#include "io/TensorStore.h"
#include "spec/QuantSpec.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <array>
#include <memory>
#include <optional>
#include <vector>

namespace qs {

class GgufFile;

// LinearKind, kLinearKinds and kLinearsPerBlock live with the GGUF names in io/GgufNames.h.

/// One quantizable linear layer: y = x Wᵀ (+ b), W stored [outFeatures, inFeatures].
struct LinearLayerInfo
{
    QString name;   ///< module name, e.g. "model.layers.0.self_attn.q_proj"
    QString weight; ///< tensor name of W
    QString bias;   ///< tensor name of b, or empty
    int block = -1; ///< -1 for the head
    LinearKind kind = LinearKind::Q;
    std::int64_t inFeatures = 0;
    std::int64_t outFeatures = 0;
    DType dtype = DType::F32;
    /// Set when the checkpoint stores this layer quantized (a QuantScope quantized model):
    /// the spec it was quantized with; the weight then lives in `<name>.qweight` & co.
    std::optional<QuantSpec> quant;
    std::uint64_t storedBytes = 0; ///< bytes of all its weight tensors as stored (quantized or not)
    std::int64_t params() const { return inFeatures * outFeatures; }
    std::uint64_t bytes() const
    {
        return quant ? storedBytes : std::uint64_t(params()) * std::uint64_t(dtypeInfo(dtype).bytes);
    }
};

struct DecoderBlockInfo
{
    int index = 0;
    QString inputNorm;
    QString postAttentionNorm;
    QString qNorm;                               ///< qwen3 only
    QString kNorm;                               ///< qwen3 only
    std::array<int, kLinearsPerBlock> linears{}; ///< indices into Model::linears(), in LinearKind order
};

/// Where the parameters are, for summaries and memory breakdowns.
struct ModelTotals
{
    std::int64_t params = 0;
    std::uint64_t bytes = 0;
    std::int64_t embeddingParams = 0;
    std::int64_t attentionParams = 0;
    std::int64_t mlpParams = 0;
    std::int64_t headParams = 0; ///< 0 when tied to the embeddings
    std::int64_t normParams = 0;
    std::int64_t biasParams = 0;
    int linearLayers = 0;
    double bitsPerWeight() const { return params ? double(bytes) * 8.0 / double(params) : 0.0; }
};

/// A loaded Llama-family model: its config, its memory-mapped tensors and the structure
/// (blocks, linears, norms, head) derived from them. Opening validates every expected tensor's
/// presence and shape but reads no tensor data.
class Model
{
public:
    /// A Hugging Face folder (config.json + safetensors, sharded or not), or a llama.cpp GGUF
    /// file (its layers stored in ggml types show as gguf-quantized layers; see io/GgufModel.h).
    static std::shared_ptr<const Model> open(const QString& path);

    const QString& path() const { return m_path; }
    QString displayName() const;
    const ModelConfig& config() const { return m_config; }
    const TensorStore& tensors() const { return m_tensors; }
    const std::vector<DecoderBlockInfo>& blocks() const { return m_blocks; }
    const std::vector<LinearLayerInfo>& linears() const { return m_linears; }
    const LinearLayerInfo* findLinear(const QString& name) const;
    const QString& embeddingTensor() const { return m_embedding; }
    const QString& finalNormTensor() const { return m_finalNorm; }
    /// The output projection's tensor: lm_head.weight, or the embeddings when tied.
    const QString& headTensor() const { return m_head; }
    bool headTied() const { return m_head == m_embedding; }
    const ModelTotals& totals() const { return m_totals; }
    /// True for a quantized checkpoint (some linears stored quantized: QuantScope, GPTQ/AWQ, GGUF).
    bool isQuantized() const { return m_quantized; }
    /// The GGUF file a model was opened from (nullptr for Hugging Face folders).
    const GgufFile* ggufFile() const { return m_gguf.get(); }
    /// The recipe and measurements stored with a quantized checkpoint (empty otherwise).
    const QJsonObject& quantizationInfo() const { return m_quantInfo; }
    /// Dominant storage dtype of the linear weights ("f32", "bf16", or "mixed").
    QString weightDtypeName() const;
    /// tokenizer.json / tokenizer.model next to the weights (empty when absent, and for a GGUF
    /// model, whose tokenizer is in its metadata).
    QString tokenizerJsonPath() const;
    QString sentencePiecePath() const;
    /// sha256 over the architecture and tokenizer files — not the weights, so a quantized copy of
    /// the model shares it (KLD bases are keyed by it).
    QString architectureFingerprint() const;
    /// Tensors in the files that the model does not use (reported, not fatal).
    const QStringList& unusedTensors() const { return m_unused; }

private:
    void build();
    QString m_path;
    QString m_dir;
    ModelConfig m_config;
    TensorStore m_tensors;
    std::vector<DecoderBlockInfo> m_blocks;
    std::vector<LinearLayerInfo> m_linears;
    QString m_embedding, m_finalNorm, m_head;
    ModelTotals m_totals;
    QStringList m_unused;
    bool m_quantized = false;
    QJsonObject m_quantInfo;
    std::shared_ptr<const GgufFile> m_gguf;
};

/// Tensor name suffixes of a quantized layer in a QuantScope checkpoint (see QuantizedModelIO).
QStringList quantizedTensorSuffixes();

} // namespace qs
