#include "io/ModelConfig.h"

#include "util/Error.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <cmath>
#include <limits>

namespace qs {

QStringList ModelConfig::supportedModelTypes()
{
    return {QStringLiteral("llama"), QStringLiteral("mistral"), QStringLiteral("qwen2"), QStringLiteral("qwen3")};
}

ModelConfig ModelConfig::fromFile(const QString& path)
{
    QFile f(path);
    if (!f.exists())
        throw Error::inFile(path, QStringLiteral("missing config.json: a Hugging Face model folder needs one"));
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, u"cannot open: " + f.errorString());
    return fromJson(f.readAll(), path);
}

ModelConfig ModelConfig::fromJson(const QByteArray& json, const QString& path)
{
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &perr);
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(path, QStringLiteral("invalid JSON: %1 at byte %2").arg(perr.errorString()).arg(perr.offset));
    if (!doc.isObject())
        throw Error::inFile(path, QStringLiteral("not a JSON object"));
    const QJsonObject o = doc.object();

    ModelConfig c;
    c.modelType = o.value(u"model_type").toString();
    if (c.modelType.isEmpty())
        throw Error::inFile(path, QStringLiteral("no \"model_type\""));
    if (!supportedModelTypes().contains(c.modelType))
        throw Error::inFile(path, u"unsupported model_type '" + c.modelType + u"' (supported: " +
                                      supportedModelTypes().join(u", ") + u')');

    // Sizes are ints everywhere downstream: a larger value must not wrap (to 0 or negative).
    auto checkRange = [&](const char* key, double v) {
        if (v > double(std::numeric_limits<int>::max()))
            throw Error::inFile(path, QStringLiteral("\"%1\" %2 is out of range (at most %3)")
                                          .arg(QLatin1String(key))
                                          .arg(v, 0, 'g', 17)
                                          .arg(std::numeric_limits<int>::max()));
    };
    auto requireInt = [&](const char* key) {
        const QJsonValue v = o.value(QLatin1String(key));
        if (!v.isDouble() || v.toDouble() != std::floor(v.toDouble()) || v.toDouble() <= 0)
            throw Error::inFile(path, QStringLiteral("\"%1\" must be a positive integer").arg(QLatin1String(key)));
        checkRange(key, v.toDouble());
        return v.toInteger();
    };
    auto optionalInt = [&](const char* key, std::int64_t def) -> qint64 {
        const QJsonValue v = o.value(QLatin1String(key));
        if (v.isUndefined() || v.isNull())
            return qint64(def);
        if (!v.isDouble() || v.toDouble() != std::floor(v.toDouble()) || v.toDouble() < 0)
            throw Error::inFile(path, QStringLiteral("\"%1\" must be a non-negative integer").arg(QLatin1String(key)));
        checkRange(key, v.toDouble());
        return v.toInteger();
    };
    c.hiddenSize = int(requireInt("hidden_size"));
    c.intermediateSize = int(requireInt("intermediate_size"));
    c.numLayers = int(requireInt("num_hidden_layers"));
    c.numHeads = int(requireInt("num_attention_heads"));
    c.numKvHeads = int(optionalInt("num_key_value_heads", c.numHeads));
    c.vocabSize = int(requireInt("vocab_size"));
    c.maxPositionEmbeddings = optionalInt("max_position_embeddings", 2048);
    c.headDim = int(optionalInt("head_dim", 0));
    if (c.headDim == 0) {
        if (c.hiddenSize % c.numHeads != 0)
            throw Error::inFile(path, QStringLiteral("hidden_size %1 is not divisible by num_attention_heads %2")
                                          .arg(c.hiddenSize)
                                          .arg(c.numHeads));
        c.headDim = c.hiddenSize / c.numHeads;
    }
    if (c.numKvHeads <= 0 || c.numHeads % c.numKvHeads != 0)
        throw Error::inFile(path, QStringLiteral("num_attention_heads %1 is not a multiple of num_key_value_heads %2")
                                      .arg(c.numHeads)
                                      .arg(c.numKvHeads));
    if (c.headDim % 2 != 0)
        throw Error::inFile(path, QStringLiteral("head_dim %1 must be even for RoPE").arg(c.headDim));
    c.rmsNormEps = o.value(u"rms_norm_eps").toDouble(1e-6);
    c.ropeTheta = o.value(u"rope_theta").toDouble(10000.0);
    if (!(c.rmsNormEps > 0) || !(c.ropeTheta > 0))
        throw Error::inFile(path, QStringLiteral("rms_norm_eps and rope_theta must be positive"));
    c.tieWordEmbeddings = o.value(u"tie_word_embeddings").toBool(false);
    c.torchDtype = o.value(u"torch_dtype").toString();
    c.bosTokenId = int(o.value(u"bos_token_id").toInteger(-1));
    c.eosTokenId = o.value(u"eos_token_id").isArray() ? int(o.value(u"eos_token_id").toArray().first().toInteger(-1))
                                                      : int(o.value(u"eos_token_id").toInteger(-1));
    c.mlpBias = o.value(u"mlp_bias").toBool(false);
    if (c.modelType == u"qwen2") {
        c.attentionBias = true; // Qwen2 always has q/k/v bias and no o_proj bias
    } else if (c.modelType == u"qwen3") {
        c.attentionBias = o.value(u"attention_bias").toBool(false);
        c.oProjBias = c.attentionBias;
        c.qkNorm = true;
    } else {
        c.attentionBias = o.value(u"attention_bias").toBool(false);
        c.oProjBias = c.attentionBias;
    }
    if (c.modelType == u"mistral" && o.value(u"sliding_window").isDouble())
        c.slidingWindow = int(optionalInt("sliding_window", 0));

    const QJsonValue rs = o.value(u"rope_scaling");
    if (rs.isObject()) {
        const QJsonObject r = rs.toObject();
        c.ropeScaling.type = r.value(u"rope_type").toString(r.value(u"type").toString());
        c.ropeScaling.factor = r.value(u"factor").toDouble(1.0);
        if (c.ropeScaling.type == u"llama3") {
            c.ropeScaling.lowFreqFactor = r.value(u"low_freq_factor").toDouble(1.0);
            c.ropeScaling.highFreqFactor = r.value(u"high_freq_factor").toDouble(4.0);
            c.ropeScaling.originalMaxPositionEmbeddings = r.value(u"original_max_position_embeddings").toInteger(8192);
            if (!(c.ropeScaling.factor > 0) || !(c.ropeScaling.highFreqFactor > c.ropeScaling.lowFreqFactor))
                throw Error::inFile(path, QStringLiteral("rope_scaling: llama3 needs factor > 0 and "
                                                         "high_freq_factor > low_freq_factor"));
        } else if (!c.ropeScaling.type.isEmpty() && c.ropeScaling.type != u"default") {
            throw Error::inFile(path, u"rope_scaling type '" + c.ropeScaling.type +
                                          u"' is not supported (supported: llama3, default)");
        }
    } else if (!rs.isNull() && !rs.isUndefined()) {
        throw Error::inFile(path, QStringLiteral("rope_scaling must be an object or null"));
    }
    return c;
}

} // namespace qs
