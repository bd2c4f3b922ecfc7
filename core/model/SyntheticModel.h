#pragma once

#include "io/ModelConfig.h"
#include "jobs/Job.h"
#include "tensor/DType.h"

#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace qs {

/// Writes a Llama-family Hugging Face folder (config.json + model.safetensors) with random
/// weights, for benchmarks and tests that need a model of a given size. Weights are
/// N(0, 1/sqrt(fan_in)) from a seeded generator; norms are 1. With `sparse` the tensor data
/// is left as file holes (all zeros) so multi-gigabyte files cost no disk and no time.
struct SyntheticModelSpec
{
    QString modelType = QStringLiteral("llama");
    int hidden = 256;
    int intermediate = 688;
    int layers = 2;
    int heads = 8;
    int kvHeads = 4;
    int vocab = 512;
    int maxPositions = 2048;
    bool tied = false;
    /// model_type "qwen2" adds q/k/v biases, "qwen3" per-head q/k norms, "mistral" this window
    /// (0: none); "llama" has none of them.
    int slidingWindow = 0;
    DType dtype = DType::F32;
    bool sparse = false;
    /// Also write a byte-level BPE tokenizer.json and tokenizer_config.json (256 byte tokens, <unk>
    /// <s> </s>, letter-pair merges; the rest of the vocabulary stays unnamed), so GGUF export and
    /// llama.cpp accept the model. Needs vocab >= syntheticTokenizerSize().
    bool tokenizer = false;
    std::uint64_t seed = 1;
};

/// A named model shape (`quantscope-cli synth --shape`): one row per shape, the one list the CLI
/// help, the benchmarks and the tests read.
struct SyntheticShape
{
    const char* name;
    const char* summary;
    int hidden;
    int intermediate;
    int layers;
    int heads;
    int kvHeads;
    int vocab;
    bool tied;
};
const std::vector<SyntheticShape>& syntheticShapes();
QStringList syntheticShapeNames();
/// The spec of shape `name` (bf16, with tokenizer); throws qs::Error listing the shapes for an
/// unknown name.
SyntheticModelSpec syntheticSpec(const QString& name);

/// Tokens the synthetic tokenizer names (the vocabulary must be at least this large).
int syntheticTokenizerSize();

/// Bytes model.safetensors will hold for `spec` (data section, without the header).
std::uint64_t syntheticWeightBytes(const SyntheticModelSpec& spec);

/// Writes the folder, streaming: each tensor is generated and written in pieces of at most
/// SafetensorsWriter::kChunkBytes (one seeded stream per tensor, drawn in order: the values do
/// not depend on the piece size or the thread count). Reports progress on `ctx` and stops with qs::Cancelled
/// when cancelled (nothing is left at model.safetensors then). Throws qs::Error naming the folder or file on
/// failure.
void writeSyntheticModel(const QString& folder, const SyntheticModelSpec& spec, const JobContext& ctx = {});
/// The config.json text that writeSyntheticModel writes (usable on its own by tests).
QByteArray syntheticConfigJson(const SyntheticModelSpec& spec);
/// The tokenizer.json text that writeSyntheticModel writes with `tokenizer` set.
QByteArray syntheticTokenizerJson();

} // namespace qs
