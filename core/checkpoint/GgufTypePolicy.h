#pragma once

#include "io/Gguf.h"
#include "recipe/RecipeExport.h"
#include "tensor/GgmlTypes.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <cstdint>
#include <vector>

namespace qs {

class Model;
struct LayerPlan;

// Which ggml type each tensor of a GGUF export gets: llama-quantize's presets and its per-tensor
// rules (llama.cpp src/llama-quant.cpp), overrides by pattern, a layer plan, or the types a model
// already stores. general.file_type numbers come from the type table (tensor/GgmlTypes.h).

/// One ggml type per weight tensor (GGUF name), a default for the others; norms, biases and
/// rope_freqs are F32 whatever the plan says.
struct GgufExportPlan
{
    QString preset; ///< "Q4_K_M" … or empty for a hand-made plan
    std::uint32_t fileType = std::uint32_t(LlamaFType::MostlyF16); ///< general.file_type
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
/// "Q5_0", "Q5_1", "Q2_K", "Q3_K_S" … "Q6_K", "IQ4_NL", "IQ4_XS").
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
/// The types a layer plan is exported with (the GUI's Export GGUF, export-gguf --recipe without
/// --preset): each linear its planned type (ggufApplyLayerPlan), the token embeddings Q8_0 when
/// their rows (the hidden size) fit its block, every other weight F16. Throws qs::Error naming the
/// first layer GGUF cannot hold, so it also says whether a plan can be exported at all.
GgufExportPlan ggufPlanForLayerPlan(const Model& model, const LayerPlan& layers);
/// Where llama-quantize, given `baseType` as its positional type and the plan's
/// --tensor-type rules, would not give the plan's types: a tensor whose rows the mix's type does
/// not fit and that has no fallback stops it ("unsupported tensor size"); a tensor that needs
/// the row fallback ignores --tensor-type (llama_model_quantize_impl applies the rules only when
/// no fallback happened). One line per tensor, naming it.
QStringList llamaQuantizeDeviations(const Model& model, const LayerPlan& layers, const QString& baseType,
                                    bool withImportance = false);
/// exportLlamaCpp, with the positional type chosen among the plan's types and the types whose
/// fallback gives them (Q4_K for a plan holding Q5_0 on short rows) for the fewest deviations,
/// and those deviations appended to `problems`.
LlamaCppExport llamaQuantizeExport(const Model& model, const LayerPlan& layers, bool withImportance = false);
/// The token embeddings' type in ggufPlanForLayerPlan: Q8_0 when the hidden size is a multiple of
/// its block, else F16 (llama-quantize --token-embedding-type reproduces it).
GgmlType ggufTokenEmbeddingType(const Model& model);
/// Sets every weight the model already stores in a ggml type (the tensors of a GGUF model, the
/// layers of a gguf run) to that type, so exportGguf copies its blocks byte for byte. Returns
/// how many tensors it set.
int ggufKeepStoredTypes(const Model& model, GgufExportPlan& plan);

} // namespace qs
