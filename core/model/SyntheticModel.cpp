#include "model/SyntheticModel.h"

#include "io/SafetensorsWriter.h"
#include "kernels/Convert.h"
#include "util/Error.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <cmath>
#include <cstring>
#include <random>

namespace qs {

QByteArray syntheticConfigJson(const SyntheticModelSpec& s)
{
    QJsonObject o{
        {QStringLiteral("architectures"), QJsonArray{QStringLiteral("LlamaForCausalLM")}},
        {QStringLiteral("model_type"), s.modelType},
        {QStringLiteral("hidden_size"), s.hidden},
        {QStringLiteral("intermediate_size"), s.intermediate},
        {QStringLiteral("num_hidden_layers"), s.layers},
        {QStringLiteral("num_attention_heads"), s.heads},
        {QStringLiteral("num_key_value_heads"), s.kvHeads},
        {QStringLiteral("vocab_size"), s.vocab},
        {QStringLiteral("max_position_embeddings"), s.maxPositions},
        {QStringLiteral("rms_norm_eps"), 1e-5},
        {QStringLiteral("rope_theta"), 10000.0},
        {QStringLiteral("tie_word_embeddings"), s.tied},
        {QStringLiteral("bos_token_id"), 1},
        {QStringLiteral("eos_token_id"), 2},
        {QStringLiteral("torch_dtype"), s.dtype == DType::BF16  ? QStringLiteral("bfloat16")
                                        : s.dtype == DType::F16 ? QStringLiteral("float16")
                                                                : QStringLiteral("float32")},
    };
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

void writeSyntheticModel(const QString& folder, const SyntheticModelSpec& s)
{
    if (!QDir().mkpath(folder))
        throw Error::inFile(folder, QStringLiteral("cannot create folder"));
    const QString cfgPath = QDir(folder).filePath(QStringLiteral("config.json"));
    QSaveFile cfg(cfgPath);
    if (!cfg.open(QIODevice::WriteOnly) || cfg.write(syntheticConfigJson(s)) < 0 || !cfg.commit())
        throw Error::inFile(cfgPath, u"cannot write: " + cfg.errorString());

    SafetensorsWriter w;
    std::uint64_t tensorSeed = s.seed;
    auto add = [&](const QString& name, std::vector<std::int64_t> shape, bool isNorm) {
        if (s.sparse) {
            w.addTensor(name, s.dtype, std::move(shape));
            return;
        }
        const double fanIn = double(shape.back());
        const std::uint64_t seed = tensorSeed++;
        const DType dtype = s.dtype;
        w.addTensor(name, dtype, std::move(shape), [seed, fanIn, isNorm, dtype](unsigned char* dst, std::uint64_t bytes) {
            std::mt19937_64 rng(seed);
            std::normal_distribution<float> dist(0.0f, float(1.0 / std::sqrt(fanIn)));
            const int eb = dtypeInfo(dtype).bytes;
            for (std::uint64_t i = 0; i < bytes / std::uint64_t(eb); ++i) {
                const float v = isNorm ? 1.0f : dist(rng);
                if (dtype == DType::F32) {
                    std::memcpy(dst + 4 * i, &v, 4);
                } else {
                    const std::uint16_t h = dtype == DType::F16 ? ref::f32ToF16(v) : ref::f32ToBf16(v);
                    std::memcpy(dst + 2 * i, &h, 2);
                }
            }
        });
    };
    const int hd = s.hidden / s.heads;
    add(QStringLiteral("model.embed_tokens.weight"), {s.vocab, s.hidden}, false);
    for (int b = 0; b < s.layers; ++b) {
        const QString p = QStringLiteral("model.layers.%1.").arg(b);
        add(p + u"input_layernorm.weight", {s.hidden}, true);
        add(p + u"self_attn.q_proj.weight", {s.heads * hd, s.hidden}, false);
        add(p + u"self_attn.k_proj.weight", {s.kvHeads * hd, s.hidden}, false);
        add(p + u"self_attn.v_proj.weight", {s.kvHeads * hd, s.hidden}, false);
        add(p + u"self_attn.o_proj.weight", {s.hidden, s.heads * hd}, false);
        add(p + u"post_attention_layernorm.weight", {s.hidden}, true);
        add(p + u"mlp.gate_proj.weight", {s.intermediate, s.hidden}, false);
        add(p + u"mlp.up_proj.weight", {s.intermediate, s.hidden}, false);
        add(p + u"mlp.down_proj.weight", {s.hidden, s.intermediate}, false);
    }
    add(QStringLiteral("model.norm.weight"), {s.hidden}, true);
    if (!s.tied)
        add(QStringLiteral("lm_head.weight"), {s.vocab, s.hidden}, false);
    w.write(QDir(folder).filePath(QStringLiteral("model.safetensors")));
}

} // namespace qs
