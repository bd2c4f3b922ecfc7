#pragma once

#include "io/ModelConfig.h"
#include "tensor/DType.h"

#include <QString>

#include <cstdint>

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
    DType dtype = DType::F32;
    bool sparse = false;
    std::uint64_t seed = 1;
};

void writeSyntheticModel(const QString& folder, const SyntheticModelSpec& spec);
/// The config.json text that writeSyntheticModel writes (usable on its own by tests).
QByteArray syntheticConfigJson(const SyntheticModelSpec& spec);

} // namespace qs
