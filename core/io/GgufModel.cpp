#include "io/GgufModel.h"

#include "io/GgufNames.h"
#include "util/Error.h"

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
    const QString arch = file.getString(ggufKey(gguf_key::kArchitecture));
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
    auto key = [&](const char* k) { return ggufArchKey(a, k); };
    auto positive = [&](const char* k) {
        const std::int64_t v = file.getInt(key(k));
        if (v <= 0 || v > (std::int64_t(1) << 30))
            throw Error::inFile(file.path(),
                                QStringLiteral("%1 = %2 is not a valid size").arg(key(k)).arg(v));
        return int(v);
    };
    ModelConfig c;
    c.modelType = QLatin1String(arch.modelType);
    c.hiddenSize = positive(gguf_key::kEmbeddingLength);
    c.intermediateSize = positive(gguf_key::kFeedForwardLength);
    c.numLayers = positive(gguf_key::kBlockCount);
    c.numHeads = positive(gguf_key::kHeadCount);
    c.numKvHeads = file.contains(key(gguf_key::kHeadCountKv)) ? positive(gguf_key::kHeadCountKv) : c.numHeads;
    if (c.numHeads % c.numKvHeads != 0)
        throw Error::inFile(file.path(), QStringLiteral("%1 = %2 is not a multiple of %3 = %4")
                                             .arg(key(gguf_key::kHeadCount))
                                             .arg(c.numHeads)
                                             .arg(key(gguf_key::kHeadCountKv))
                                             .arg(c.numKvHeads));
    c.headDim =
        file.contains(key(gguf_key::kKeyLength)) ? positive(gguf_key::kKeyLength) : c.hiddenSize / c.numHeads;
    if (file.contains(key(gguf_key::kValueLength)) && positive(gguf_key::kValueLength) != c.headDim)
        throw Error::inFile(file.path(), key(gguf_key::kValueLength) + u" differs from the key length");
    if (c.headDim % 2 != 0)
        throw Error::inFile(file.path(), QStringLiteral("head size %1 must be even for RoPE").arg(c.headDim));
    const std::int64_t ropeDims = file.getInt(key(gguf_key::kRopeDimensionCount), c.headDim);
    if (ropeDims != c.headDim)
        throw Error::inFile(file.path(),
                            QStringLiteral("%1 = %2: partial rotary embeddings (head size %3) are not "
                                           "supported")
                                .arg(key(gguf_key::kRopeDimensionCount))
                                .arg(ropeDims)
                                .arg(c.headDim));
    const QString scaling = file.getString(key(gguf_key::kRopeScalingType), QStringLiteral("none"));
    if (scaling != u"none")
        throw Error::inFile(file.path(),
                            key(gguf_key::kRopeScalingType) + u" '" + scaling + u"' is not supported");
    c.maxPositionEmbeddings = file.getInt(key(gguf_key::kContextLength), 2048);
    c.rmsNormEps = file.getFloat(key(gguf_key::kRmsNormEps), 1e-5);
    c.ropeTheta = file.getFloat(key(gguf_key::kRopeFreqBase), 10000.0);
    if (!(c.rmsNormEps > 0) || !(c.ropeTheta > 0))
        throw Error::inFile(file.path(), QStringLiteral("RMS norm epsilon and rope base must be positive"));
    const GgufTensor* embd = file.findTensor(ggufTensorName(ModelTensor::TokenEmbd));
    if (!embd)
        throw Error::inFile(file.path(), QStringLiteral("tensor 'token_embd.weight' is missing"));
    if (embd->dims.size() != 2)
        throw Error::inFile(file.path(), QStringLiteral("tensor 'token_embd.weight' is not a matrix"));
    c.vocabSize = int(file.getInt(key(gguf_key::kVocabSize), embd->dims[1]));
    c.tieWordEmbeddings = !file.findTensor(ggufLinearTensorName(LinearKind::Head, -1));
    c.attentionBias = file.findTensor(ggufLinearTensorName(LinearKind::Q, 0, "bias")) != nullptr;
    c.oProjBias = file.findTensor(ggufLinearTensorName(LinearKind::O, 0, "bias")) != nullptr;
    c.mlpBias = file.findTensor(ggufLinearTensorName(LinearKind::Up, 0, "bias")) != nullptr;
    c.qkNorm = file.findTensor(ggufBlockNormName(BlockNorm::QNorm, 0)) != nullptr;
    c.bosTokenId = int(file.getInt(ggufKey(gguf_key::kBosTokenId), -1));
    c.eosTokenId = int(file.getInt(ggufKey(gguf_key::kEosTokenId), -1));
    if (const std::optional<DType> d = ggmlFloatDType(embd->type))
        c.torchDtype = dtypeName(*d);
    return c;
}

std::vector<GgufTensorMapping> ggufHfTensors(const GgufFile& file, const ModelConfig& config)
{
    const ArchInfo& arch = archOf(file);
    const QString ropeFreqs = ggufTensorName(ModelTensor::RopeFreqs);
    std::vector<GgufTensorMapping> out;
    for (const GgufTensor& t : file.tensors()) {
        if (t.name == ropeFreqs)
            continue;
        GgufTensorMapping m;
        m.tensor = &t;
        m.hfName = t.name; // names outside the architecture stay as they are (reported as unused)
        const std::optional<HfTensorName> hf = hfTensorOfGguf(t.name);
        if (hf) {
            m.hfName = hf->name;
            const bool qk = hf->linear == LinearKind::Q || hf->linear == LinearKind::K;
            if (arch.permuteQk && qk && hf->bias)
                throw Error::inFile(
                    file.path(), u"tensor '" + t.name +
                                     u"': q/k biases in llama's interleaved RoPE layout are not supported");
            if (arch.permuteQk && qk)
                m.permuteHeads = hf->linear == LinearKind::Q ? config.numHeads : config.numKvHeads;
        }
        out.push_back(m);
    }
    return out;
}

std::vector<float> ggufRopeFreqFactors(const GgufFile& file, const ModelConfig& config)
{
    const GgufTensor* t = file.findTensor(ggufTensorName(ModelTensor::RopeFreqs));
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
