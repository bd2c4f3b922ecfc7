#pragma once

#include "checkpoint/GgufLayout.h"
#include "checkpoint/GgufTokenizerMetadata.h"
#include "checkpoint/GgufTypePolicy.h"
#include "jobs/Job.h"

#include <QHash>
#include <QString>
#include <vector>

namespace qs {

class Model;

// Export of a Hugging Face Llama-family model (model_type llama or mistral) to a GGUF file that
// llama.cpp loads: llama.cpp's tensor names, q/k rows permuted back to llama.cpp's interleaved
// RoPE layout, `llama.*` hyperparameters, tokenizer metadata as convert_hf_to_gguf.py writes it,
// and one ggml type per weight tensor (norms and biases always F32). The pieces live apart:
// GgufLayout (which tensors), GgufTypePolicy (which types), GgufTokenizerMetadata (the
// tokenizer keys); this file is the export job that writes them.

/// Importance vectors by GGUF tensor name (llama.cpp imatrix entries), one weight per input column.
using GgufImportance = QHash<QString, std::vector<float>>;

/// Writes `model` as GGUF to outPath (atomically: nothing is left at outPath on failure or
/// cancel). Tensors are converted one at a time while writing (memory: one tensor). Throws
/// qs::Error naming the file (and tensor) for a missing output folder, a plan type we cannot
/// produce or whose block does not divide a row, an importance vector of the wrong length, or a
/// tokenizer it cannot describe; qs::Cancelled when cancelled.
void exportGguf(const Model& model, const GgufExportPlan& plan, const QString& outPath,
                const GgufImportance* importance, const JobContext& ctx);

} // namespace qs
