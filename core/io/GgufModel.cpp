#include "io/GgufModel.h"

#include "util/Error.h"

#include <QRegularExpression>

namespace qs {

namespace {

struct ArchInfo
{
    const char* gguf;      ///< general.architecture
    const char* modelType; ///< ModelConfig::modelType
    bool permuteQk;        ///< q/k stored in llama.cpp's interleaved RoPE order
};

constexpr ArchInfo kArchs[] = {
    {"llama", "llama", true},
    {"qwen2", "qwen2", false},
    {"qwen3", "qwen3", false},
};

const ArchInfo& archOf(const GgufFile& file)
{
    const QString arch = file.getString(QStringLiteral("general.architecture"));
    for (const ArchInfo& a : kArchs) {
        if (arch == QLatin1String(a.gguf))
            return a;
    }
    throw Error::inFile(file.path(),
                        u"general.architecture '" + arch +
                            u"' is not a Llama-family architecture QuantScope runs (llama, qwen2, qwen3)");
}

} // namespace

ModelConfig ggufModelConfig(const GgufFile& file)
{
    const ArchInfo& arch = archOf(file);
    const QString a = QLatin1String(arch.gguf);
    auto key = [&](const char* k) -> QString { return a + u'.' + QLatin1String(k); };
    auto positive = [&](const char* k) {
        const std::int64_t v = file.getInt(key(k));
        if (v <= 0 || v > (std::int64_t(1) << 30))
            throw Error::inFile(file.path(),
                                QStringLiteral("%1 = %2 is not a valid size").arg(key(k)).arg(v));
        return int(v);
    };
    ModelConfig c;
    c.modelType = QLatin1String(arch.modelType);
    c.hiddenSize = positive("embedding_length");
    c.intermediateSize = positive("feed_forward_length");
    c.numLayers = positive("block_count");
    c.numHeads = positive("attention.head_count");
    c.numKvHeads =
        file.contains(key("attention.head_count_kv")) ? positive("attention.head_count_kv") : c.numHeads;
    if (c.numHeads % c.numKvHeads != 0)
        throw Error::inFile(file.path(), QStringLiteral("%1 = %2 is not a multiple of %3 = %4")
                                             .arg(key("attention.head_count"))
                                             .arg(c.numHeads)
                                             .arg(key("attention.head_count_kv"))
                                             .arg(c.numKvHeads));
    c.headDim = file.contains(key("attention.key_length")) ? positive("attention.key_length")
                                                           : c.hiddenSize / c.numHeads;
    if (file.contains(key("attention.value_length")) && positive("attention.value_length") != c.headDim)
        throw Error::inFile(file.path(), key("attention.value_length") + u" differs from the key length");
    if (c.headDim % 2 != 0)
        throw Error::inFile(file.path(), QStringLiteral("head size %1 must be even for RoPE").arg(c.headDim));
    const std::int64_t ropeDims = file.getInt(key("rope.dimension_count"), c.headDim);
    if (ropeDims != c.headDim)
        throw Error::inFile(file.path(),
                            QStringLiteral("%1 = %2: partial rotary embeddings (head size %3) are not "
                                           "supported")
                                .arg(key("rope.dimension_count"))
                                .arg(ropeDims)
                                .arg(c.headDim));
    const QString scaling = file.getString(key("rope.scaling.type"), QStringLiteral("none"));
    if (scaling != u"none")
        throw Error::inFile(file.path(), key("rope.scaling.type") + u" '" + scaling + u"' is not supported");
    c.maxPositionEmbeddings = file.getInt(key("context_length"), 2048);
    c.rmsNormEps = file.getFloat(key("attention.layer_norm_rms_epsilon"), 1e-5);
    c.ropeTheta = file.getFloat(key("rope.freq_base"), 10000.0);
    if (!(c.rmsNormEps > 0) || !(c.ropeTheta > 0))
        throw Error::inFile(file.path(), QStringLiteral("RMS norm epsilon and rope base must be positive"));
    const GgufTensor* embd = file.findTensor(QStringLiteral("token_embd.weight"));
    if (!embd)
        throw Error::inFile(file.path(), QStringLiteral("tensor 'token_embd.weight' is missing"));
    if (embd->dims.size() != 2)
        throw Error::inFile(file.path(), QStringLiteral("tensor 'token_embd.weight' is not a matrix"));
    c.vocabSize = int(file.getInt(key("vocab_size"), embd->dims[1]));
    c.tieWordEmbeddings = !file.findTensor(QStringLiteral("output.weight"));
    c.attentionBias = file.findTensor(QStringLiteral("blk.0.attn_q.bias")) != nullptr;
    c.oProjBias = file.findTensor(QStringLiteral("blk.0.attn_output.bias")) != nullptr;
    c.mlpBias = file.findTensor(QStringLiteral("blk.0.ffn_up.bias")) != nullptr;
    c.qkNorm = file.findTensor(QStringLiteral("blk.0.attn_q_norm.weight")) != nullptr;
    c.bosTokenId = int(file.getInt(QStringLiteral("tokenizer.ggml.bos_token_id"), -1));
    c.eosTokenId = int(file.getInt(QStringLiteral("tokenizer.ggml.eos_token_id"), -1));
    if (embd->type == GgmlType::F32 || embd->type == GgmlType::F16 || embd->type == GgmlType::BF16)
        c.torchDtype = ggmlTypeName(embd->type).toLower();
    return c;
}

std::vector<GgufTensorMapping> ggufHfTensors(const GgufFile& file, const ModelConfig& config)
{
    const ArchInfo& arch = archOf(file);
    static const QRegularExpression blockRe(QStringLiteral("^blk\\.(\\d+)\\.([a-z_]+)\\.(weight|bias)$"));
    struct Part
    {
        const char* gguf;
        const char* hf;
    };
    static constexpr Part kParts[] = {
        {"attn_norm", "input_layernorm"},    {"ffn_norm", "post_attention_layernorm"},
        {"attn_q", "self_attn.q_proj"},      {"attn_k", "self_attn.k_proj"},
        {"attn_v", "self_attn.v_proj"},      {"attn_output", "self_attn.o_proj"},
        {"attn_q_norm", "self_attn.q_norm"}, {"attn_k_norm", "self_attn.k_norm"},
        {"ffn_gate", "mlp.gate_proj"},       {"ffn_up", "mlp.up_proj"},
        {"ffn_down", "mlp.down_proj"},
    };
    std::vector<GgufTensorMapping> out;
    for (const GgufTensor& t : file.tensors()) {
        GgufTensorMapping m;
        m.tensor = &t;
        m.hfName = t.name; // names outside the architecture stay as they are (reported as unused)
        if (t.name == u"token_embd.weight") {
            m.hfName = QStringLiteral("model.embed_tokens.weight");
        } else if (t.name == u"output_norm.weight") {
            m.hfName = QStringLiteral("model.norm.weight");
        } else if (t.name == u"output.weight") {
            m.hfName = QStringLiteral("lm_head.weight");
        } else if (t.name == u"rope_freqs.weight") {
            continue;
        } else if (const QRegularExpressionMatch b = blockRe.match(t.name); b.hasMatch()) {
            for (const Part& p : kParts) {
                if (b.captured(2) != QLatin1String(p.gguf))
                    continue;
                m.hfName = QStringLiteral("model.layers.%1.%2.%3")
                               .arg(b.captured(1), QLatin1String(p.hf), b.captured(3));
                if (arch.permuteQk && b.captured(3) == u"weight") {
                    if (b.captured(2) == u"attn_q")
                        m.permuteHeads = config.numHeads;
                    else if (b.captured(2) == u"attn_k")
                        m.permuteHeads = config.numKvHeads;
                }
                if (arch.permuteQk && b.captured(3) == u"bias" &&
                    (b.captured(2) == u"attn_q" || b.captured(2) == u"attn_k"))
                    throw Error::inFile(
                        file.path(),
                        u"tensor '" + t.name +
                            u"': q/k biases in llama's interleaved RoPE layout are not supported");
            }
        }
        out.push_back(m);
    }
    return out;
}

std::vector<float> ggufRopeFreqFactors(const GgufFile& file, const ModelConfig& config)
{
    const GgufTensor* t = file.findTensor(QStringLiteral("rope_freqs.weight"));
    if (!t)
        return {};
    if (t->numel() != config.headDim / 2)
        throw Error::inFile(
            file.path(),
            QStringLiteral("tensor 'rope_freqs.weight' has %1 values, expected %2 (head size / 2)")
                .arg(t->numel())
                .arg(config.headDim / 2));
    std::vector<float> f = file.readF32(*t);
    for (float v : f) {
        if (!(v > 0))
            throw Error::inFile(
                file.path(),
                QStringLiteral("tensor 'rope_freqs.weight' holds a factor that is not positive"));
    }
    return f;
}

} // namespace qs
