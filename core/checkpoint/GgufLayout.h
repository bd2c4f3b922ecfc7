#pragma once

#include "io/ModelConfig.h"

#include <QString>
#include <cstdint>
#include <vector>

namespace qs {

class Model;

// The layout of a Llama-family model in a GGUF file: which tensors, under which llama.cpp names
// (io/GgufNames.h), in which order and shape, and the q/k row permutation between HF's
// rotate-half RoPE layout and llama.cpp's interleaved one.

/// What a GGUF file will hold: the tensors in file order and their shapes.
struct GgufExportTensor
{
    enum class Role {
        Weight,    ///< a 2-D weight (token_embd, a linear, output): takes the plan's type
        Norm,      ///< an RMSNorm weight (F32)
        Bias,      ///< a linear's bias (F32)
        RopeFreqs, ///< llama3 rope_freqs.weight, computed (F32)
    };
    QString name;                   ///< "blk.3.attn_q.weight"
    QString source;                 ///< HF tensor name (empty for RopeFreqs)
    std::vector<std::int64_t> dims; ///< ggml order: dims[0] is the row length
    Role role = Role::Weight;
    int permuteHeads = 0; ///< > 0: rows are permuted back from rotate-half with this many heads
    int linearIndex = -1; ///< index into Model::linears() (-1 for token_embd and non-linears)
    int block = -1;
    std::int64_t rowLength() const { return dims.front(); }
};
/// The tensors exportGguf writes for `model`, in file order. Throws qs::Error naming the model
/// for architectures llama.cpp's `llama` graph cannot run (qk-norm, MLP bias, quantized input).
std::vector<GgufExportTensor> ggufExportTensors(const Model& model);

/// llama.cpp's q/k row order from HF's: rows of each of `heads` heads go from [first half,
/// second half] to interleaved pairs (convert_hf_to_gguf.py LlamaModel.permute). `rows` × `cols`
/// row-major; `inverse` undoes it.
void ggufPermuteRows(const float* src, float* dst, std::int64_t rows, std::int64_t cols, int heads,
                     bool inverse = false);

/// The rotary dimensions of `c` (llama.rope.dimension_count): the head size.
int ggufRopeDims(const ModelConfig& c);
/// llama3-style rope_freqs.weight values for `dim` rotary dimensions (convert_hf_to_gguf.py
/// LlamaModel.generate_extra_tensors).
std::vector<float> ggufLlama3RopeFactors(const ModelConfig& c, int dim);

} // namespace qs
