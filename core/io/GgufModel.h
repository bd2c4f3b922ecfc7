#pragma once

#include "io/Gguf.h"
#include "io/ModelConfig.h"

#include <QString>
#include <vector>

namespace qs {

// Reading a llama.cpp GGUF model file as a Hugging Face-layout model: hyperparameters from the
// `<arch>.*` keys, tensors under their HF names, and q/k rows of `llama` files permuted back from
// llama.cpp's interleaved RoPE layout to HF's rotate-half one (the inverse of what
// convert_hf_to_gguf.py and our exporter do). Architectures: llama (also Mistral and SmolLM,
// which llama.cpp stores as llama), qwen2 and qwen3 (their rotate-half layout is stored as is).

/// The ModelConfig a GGUF file describes. Throws qs::Error naming the file and key for a missing
/// or invalid hyperparameter, an architecture we cannot run, partial rotary embeddings or a rope
/// scaling type other than none/llama3-style frequency factors.
ModelConfig ggufModelConfig(const GgufFile& file);

/// One GGUF tensor under its HF name.
struct GgufTensorMapping
{
    QString hfName;                     ///< "model.layers.3.self_attn.q_proj.weight"
    const GgufTensor* tensor = nullptr; ///< points into the GgufFile
    int permuteHeads = 0;               ///< > 0: rows are stored in llama.cpp's order for this many heads
};

/// The HF name of every tensor of `file` (in file order), for the config `ggufModelConfig`
/// returned. rope_freqs.weight is not a model tensor (see ggufRopeFreqFactors) and is left out.
/// Throws qs::Error naming the file and tensor for a name that is not part of the architecture.
std::vector<GgufTensorMapping> ggufHfTensors(const GgufFile& file, const ModelConfig& config);

/// llama3-style RoPE frequency factors (rope_freqs.weight, one per rotary pair), or empty.
std::vector<float> ggufRopeFreqFactors(const GgufFile& file, const ModelConfig& config);

/// The row of a llama.cpp-ordered q/k tensor that holds HF row `hfRow` (rows of `heads` heads).
inline std::int64_t ggufRowOfHfRow(std::int64_t hfRow, std::int64_t rows, int heads)
{
    const std::int64_t perHead = rows / heads, half = perHead / 2;
    const std::int64_t h = hfRow / perHead, rem = hfRow % perHead;
    return h * perHead + 2 * (rem % half) + rem / half;
}

} // namespace qs
