#include "checkpoint/GgufLayout.h"

#include "io/GgufNames.h"
#include "model/Model.h"
#include "recipe/RecipeExport.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>

namespace qs {

std::vector<float> ggufLlama3RopeFactors(const ModelConfig& c, int dim)
{
    const RopeScaling& r = c.ropeScaling;
    const double oldContext = double(r.originalMaxPositionEmbeddings);
    const double lowWavelen = oldContext / r.lowFreqFactor;
    const double highWavelen = oldContext / r.highFreqFactor;
    std::vector<float> out;
    for (int i = 0; i < dim; i += 2) {
        const float freq = 1.0f / std::pow(float(c.ropeTheta), float(i) / float(dim));
        const double wavelen = 2.0 * M_PI / double(freq);
        if (wavelen < highWavelen) {
            out.push_back(1.0f);
        } else if (wavelen > lowWavelen) {
            out.push_back(float(r.factor));
        } else {
            const double smooth =
                (oldContext / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
            out.push_back(float(1.0 / ((1.0 - smooth) / r.factor + smooth)));
        }
    }
    return out;
}

int ggufRopeDims(const ModelConfig& c)
{
    return c.headDim > 0 ? c.headDim : c.hiddenSize / std::max(1, c.numHeads);
}

namespace {

/// Refuses what llama.cpp's `llama` graph cannot run.
void checkExportable(const Model& model)
{
    const ModelConfig& c = model.config();
    if (c.modelType != u"llama" && c.modelType != u"mistral")
        throw Error::inFile(
            model.path(),
            QStringLiteral("GGUF export supports model_type llama and mistral, not %1").arg(c.modelType));
    if (c.qkNorm || c.mlpBias)
        throw Error::inFile(model.path(),
                            QStringLiteral("GGUF export: qk-norm and MLP biases are not supported"));
    for (const LinearLayerInfo& l : model.linears()) {
        if (l.quant && l.quant->method != QuantMethod::Ggml && l.quant->method != QuantMethod::Float)
            throw Error::inFile(
                model.path(),
                QStringLiteral("GGUF export: layer %1 is stored as %2; GGUF holds float and gguf "
                               "layers only (export GPTQ/AWQ layers with export-hf)")
                    .arg(l.name, l.quant->label()));
    }
}

/// Collects the tensors in file order; shapes of stored tensors come reversed (ggml order).
class LayoutBuilder
{
public:
    explicit LayoutBuilder(const Model& model) : m_model(model) {}

    void add(const QString& name, const QString& source, GgufExportTensor::Role role, int block = -1)
    {
        GgufExportTensor t;
        t.name = name;
        t.source = source;
        const std::vector<std::int64_t> s = m_model.tensors().info(source).shape;
        t.dims.assign(s.rbegin(), s.rend());
        t.role = role;
        t.block = block;
        m_out.push_back(t);
    }
    /// A linear layer's weight, and its bias when it has one (attention projections only).
    void addLinear(int li)
    {
        const ModelConfig& c = m_model.config();
        const LinearLayerInfo& l = m_model.linears()[std::size_t(li)];
        GgufExportTensor t;
        t.name = ggufTensorName(m_model, li);
        t.source = l.weight;
        t.dims = {l.inFeatures, l.outFeatures};
        t.linearIndex = li;
        t.block = l.kind == LinearKind::Head ? -1 : l.block;
        t.permuteHeads = l.kind == LinearKind::Q ? c.numHeads : l.kind == LinearKind::K ? c.numKvHeads : 0;
        m_out.push_back(t);
        if (l.bias.isEmpty() || l.kind > LinearKind::O)
            return;
        GgufExportTensor bias = t;
        bias.name = ggufLinearTensorName(l.kind, l.block, "bias");
        bias.source = l.bias;
        bias.dims = {l.outFeatures};
        bias.role = GgufExportTensor::Role::Bias;
        bias.linearIndex = -1;
        m_out.push_back(bias);
    }
    void addBlock(const DecoderBlockInfo& b)
    {
        add(ggufBlockNormName(BlockNorm::Attn, b.index), b.inputNorm, GgufExportTensor::Role::Norm, b.index);
        for (int k = 0; k < kLinearsPerBlock; ++k) {
            if (k == int(LinearKind::Gate)) // llama.cpp's order: the FFN norm before the FFN
                add(ggufBlockNormName(BlockNorm::Ffn, b.index), b.postAttentionNorm,
                    GgufExportTensor::Role::Norm, b.index);
            addLinear(b.linears[std::size_t(k)]);
        }
    }
    void addRopeFreqs()
    {
        GgufExportTensor t;
        t.name = ggufTensorName(ModelTensor::RopeFreqs);
        t.dims = {ggufRopeDims(m_model.config()) / 2};
        t.role = GgufExportTensor::Role::RopeFreqs;
        m_out.push_back(t);
    }
    std::vector<GgufExportTensor> take() { return std::move(m_out); }

private:
    const Model& m_model;
    std::vector<GgufExportTensor> m_out;
};

} // namespace

std::vector<GgufExportTensor> ggufExportTensors(const Model& model)
{
    checkExportable(model);
    const ModelConfig& c = model.config();
    LayoutBuilder layout(model);
    if (c.ropeScaling.type == u"llama3" || !c.ropeFreqFactors.empty())
        layout.addRopeFreqs();
    layout.add(ggufTensorName(ModelTensor::TokenEmbd), model.embeddingTensor(),
               GgufExportTensor::Role::Weight);
    for (const DecoderBlockInfo& b : model.blocks())
        layout.addBlock(b);
    layout.add(ggufTensorName(ModelTensor::OutputNorm), model.finalNormTensor(),
               GgufExportTensor::Role::Norm);
    if (!model.headTied()) {
        for (std::size_t i = 0; i < model.linears().size(); ++i) {
            if (model.linears()[i].kind == LinearKind::Head)
                layout.addLinear(int(i));
        }
    }
    return layout.take();
}

void ggufPermuteRows(const float* src, float* dst, std::int64_t rows, std::int64_t cols, int heads,
                     bool inverse)
{
    if (heads <= 0 || rows % heads != 0 || (rows / heads) % 2 != 0)
        throw Error(QStringLiteral("cannot permute %1 rows for %2 heads").arg(rows).arg(heads));
    const std::int64_t perHead = rows / heads, half = perHead / 2;
    for (std::int64_t h = 0; h < heads; ++h) {
        for (std::int64_t i = 0; i < half; ++i) {
            for (std::int64_t j = 0; j < 2; ++j) {
                const std::int64_t gguf = h * perHead + i * 2 + j;  // interleaved pairs
                const std::int64_t hf = h * perHead + j * half + i; // halves
                const std::int64_t from = inverse ? gguf : hf, to = inverse ? hf : gguf;
                std::copy_n(src + from * cols, cols, dst + to * cols);
            }
        }
    }
}

} // namespace qs
