#pragma once

#include "io/Gguf.h"
#include "jobs/Job.h"
#include "tensor/GgmlTypes.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace qs {

class GgufWriter;
class Model;
struct LayerPlan;

// Export of a Hugging Face Llama-family model (model_type llama or mistral) to a GGUF file that
// llama.cpp loads: llama.cpp's tensor names, q/k rows permuted back to llama.cpp's interleaved
// RoPE layout, `llama.*` hyperparameters, tokenizer metadata as convert_hf_to_gguf.py writes it,
// and one ggml type per weight tensor (norms and biases always F32).

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

/// One ggml type per weight tensor (GGUF name), a default for the others; norms, biases and
/// rope_freqs are F32 whatever the plan says.
struct GgufExportPlan
{
    QString preset;             ///< "Q4_K_M" … or empty for a hand-made plan
    std::uint32_t fileType = 1; ///< general.file_type (llama_ftype)
    GgmlType defaultType = GgmlType::F16;
    QHash<QString, GgmlType> types; ///< by GGUF tensor name ("blk.0.attn_v.weight")
    /// Written after the model's keys (e.g. llama-quantize's quantize.imatrix.* provenance).
    std::vector<GgufKeyValue> extraMetadata;

    GgmlType typeOf(const QString& tensorName) const { return types.value(tensorName, defaultType); }
    /// Sets the type of a linear layer (by its index in Model::linears()).
    void setLinear(const Model& model, int linearIndex, GgmlType type);
};

/// general.file_type (llama_ftype) for a hand-made plan whose dominant type is `t` (k-quants map to
/// their _M mix: Q4_K → Q4_K_M); MOSTLY_F16 for types without an ftype.
std::uint32_t ggufFileTypeFor(GgmlType t);

/// The presets ggufPreset knows, in display order ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1",
/// "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K").
QStringList ggufPresetNames();
/// llama_ftype number of a preset name (case-insensitive); -1 when unknown.
int ggufPresetFileType(const QString& name);

/// The per-tensor types llama-quantize chooses for `model` with the named ftype (no --pure, no
/// --tensor-type/--output-tensor-type/--token-embedding-type options), following
/// llama_tensor_get_type of llama.cpp c392e50: output.weight (or token_embd when the head is
/// tied) Q6_K unless the type is Q8_0 or the row length is not a multiple of the type's block
/// (then Q8_0); attn_v / ffn_down / attn_output bumps by ftype and layer (use_more_bits); the
/// 70B attn_v bump; and the fallback for row lengths that are not a multiple of 256
/// (Q2_K/Q3_K → IQ4_NL, Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16 when even that block
/// does not divide the row). `withImportance` is whether an importance matrix will be used
/// (llama.cpp's Q4_0/Q5_0 ffn_down guard depends on it). Throws qs::Error for an unknown preset
/// (listing the known ones) and, as llama-quantize does, when a legacy-type tensor's row length
/// is not a multiple of 32 ("Unsupported tensor size"), naming the tensor.
GgufExportPlan ggufPreset(const Model& model, const QString& name, bool withImportance = false);

/// Sets every weight tensor whose GGUF name matches `regex` (unanchored search, as
/// llama-quantize's --tensor-type) to `type`; returns how many matched. Throws qs::Error for an
/// invalid regex, a type we cannot produce, or a row length the type's block does not divide
/// (naming the tensor).
int ggufOverrideTypes(const Model& model, GgufExportPlan& plan, const QString& regex, GgmlType type);

/// Sets each linear's type from a layer plan (a resolved recipe): gguf layers their ggml type,
/// float layers F32/F16/BF16. Throws qs::Error naming the layer for other methods (GPTQ, AWQ, …:
/// GGUF has no such types) and for a type whose block does not divide the layer's rows.
void ggufApplyLayerPlan(const Model& model, GgufExportPlan& plan, const LayerPlan& layers);
/// Sets every weight the model already stores in a ggml type (the tensors of a GGUF model, the
/// layers of a gguf run) to that type, so exportGguf copies its blocks byte for byte. Returns
/// how many tensors it set.
int ggufKeepStoredTypes(const Model& model, GgufExportPlan& plan);

/// Importance vectors by GGUF tensor name (llama.cpp imatrix entries), one weight per input column.
using GgufImportance = QHash<QString, std::vector<float>>;

/// Writes `model` as GGUF to outPath (atomically: nothing is left at outPath on failure or
/// cancel). Tensors are converted one at a time while writing (memory: one tensor). Throws
/// qs::Error naming the file (and tensor) for a missing output folder, a plan type we cannot
/// produce or whose block does not divide a row, an importance vector of the wrong length, or a
/// tokenizer it cannot describe; qs::Cancelled when cancelled.
void exportGguf(const Model& model, const GgufExportPlan& plan, const QString& outPath,
                const GgufImportance* importance, const JobContext& ctx);

/// Sets the tokenizer.ggml.* metadata exportGguf writes for `model` (as convert_hf_to_gguf.py
/// does: tokenizer.model as "llama" with scores, a byte-level BPE tokenizer.json as "gpt2" with
/// merges, special ids and add_bos/eos flags). Throws qs::Error naming the tokenizer file when it
/// cannot be described.
void ggufWriteTokenizer(GgufWriter& writer, const Model& model);

/// llama.cpp's q/k row order from HF's: rows of each of `heads` heads go from [first half,
/// second half] to interleaved pairs (convert_hf_to_gguf.py LlamaModel.permute). `rows` × `cols`
/// row-major; `inverse` undoes it.
void ggufPermuteRows(const float* src, float* dst, std::int64_t rows, std::int64_t cols, int heads,
                     bool inverse = false);

} // namespace qs
