// Fuzz target for config.json (io/ModelConfig): ModelConfig::fromJson on any bytes either gives a
// config or a qs::Error. Seeds: syntheticConfigJson for each model family, plus the shared
// fixtures' config.json files when present.
#include "FuzzTarget.h"
#include "io/ModelConfig.h"
#include "model/SyntheticModel.h"

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const qs::ModelConfig c = qs::ModelConfig::fromJson(
        QByteArray::fromRawData(reinterpret_cast<const char*>(data), qsizetype(size)),
        QStringLiteral("config.json"));
    if (c.hiddenSize <= 0 || c.numLayers <= 0 || c.numHeads <= 0 || c.numKvHeads <= 0 || c.vocabSize <= 0 ||
        c.headDim <= 0)
        qs::fuzz::broken(QStringLiteral("accepted a config with a non-positive size"));
}

std::vector<qs::fuzz::Seed> seeds()
{
    std::vector<qs::fuzz::Seed> out;
    for (const QString& type : qs::ModelConfig::supportedModelTypes()) {
        qs::SyntheticModelSpec s;
        s.modelType = type;
        s.tied = type == u"qwen3";
        out.push_back({type + QStringLiteral(".json"), qs::syntheticConfigJson(s)});
    }
    for (const char* fixture : {"stories260K/config.json", "kjv7M/config.json"})
        if (const QByteArray b = qs::fuzz::dataFileIfPresent(QLatin1String(fixture)); !b.isEmpty())
            out.push_back({QString::fromLatin1(fixture).replace(u'/', u'-'), b});
    return out;
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k :
         {"\"model_type\"", "\"hidden_size\"", "\"num_attention_heads\"", "\"num_key_value_heads\"",
          "\"head_dim\"", "\"rope_scaling\"", "\"rope_type\"", "\"llama3\"", "\"vocab_size\"",
          "\"sliding_window\"", "\"num_hidden_layers\"", "\"intermediate_size\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"config", one, seeds, dictionary};
    return t;
}
