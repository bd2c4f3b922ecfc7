#pragma once

#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

namespace qs {

/// rope_scaling of config.json. Only the `llama3` type changes the frequencies today;
/// `default`/absent means plain RoPE.
struct RopeScaling
{
    QString type; ///< empty, "default" or "llama3"
    double factor = 1.0;
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    std::int64_t originalMaxPositionEmbeddings = 8192;
};

/// Hyperparameters of a Llama-family decoder (llama incl. SmolLM, mistral, qwen2, qwen3).
struct ModelConfig
{
    QString modelType;
    QString torchDtype;
    int hiddenSize = 0;
    int intermediateSize = 0;
    int numLayers = 0;
    int numHeads = 0;
    int numKvHeads = 0;
    int headDim = 0;
    int vocabSize = 0;
    std::int64_t maxPositionEmbeddings = 0;
    double rmsNormEps = 1e-6;
    double ropeTheta = 10000.0;
    RopeScaling ropeScaling;
    std::vector<float> ropeFreqFactors; ///< GGUF rope_freqs.weight: per-pair divisors of the frequency (empty: none)
    bool tieWordEmbeddings = false;
    bool attentionBias = false; ///< q/k/v bias (qwen2 always; llama when attention_bias)
    bool oProjBias = false;     ///< llama attention_bias also biases o_proj
    bool mlpBias = false;
    bool qkNorm = false;        ///< per-head RMSNorm of q and k (qwen3)
    int slidingWindow = 0;      ///< mistral; 0 = none
    int bosTokenId = -1;
    int eosTokenId = -1;

    static QStringList supportedModelTypes();
    /// Reads and validates config.json; errors name the file and the key.
    static ModelConfig fromFile(const QString& path);
    static ModelConfig fromJson(const QByteArray& json, const QString& pathForErrors);
};

} // namespace qs
