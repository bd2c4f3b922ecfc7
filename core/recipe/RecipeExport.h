#pragma once

#include "recipe/LayerPlan.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <utility>
#include <vector>

namespace qs {

struct Recipe;

class Model;

/// A plan as llama.cpp's `llama-quantize` options. Only honest mappings are made (the GGUF block
/// type stores the same scheme: 32-wide groups along the input, f16 scales):
///   int4 g32 sym → q4_0, int4 g32 asym → q4_1, int5 g32 sym → q5_0, int5 g32 asym → q5_1,
///   int8 g32 sym → q8_0 (weight-only methods RTN, GPTQ without unordered act-order groups, AWQ),
///   float f32/f16/bf16 → f32/f16/bf16.
/// Everything else (other bits or group sizes, per-channel, f32 scales, float zeros, activation
/// quantization, rows not a multiple of 32) is listed in `problems` and left out of `args`.
/// Note that llama-quantize quantizes the float weights itself: the export chooses types, it does
/// not carry GPTQ/AWQ-refined weights over.
struct LlamaCppExport
{
    /// "--tensor-type", "PATTERN=TYPE", … (argv items). Patterns are anchored regexes on GGUF
    /// tensor names ("^blk\\.\\d+\\.(attn_q|attn_k)\\.weight$"); they never overlap, so it does
    /// not matter whether a llama.cpp version lets the first or the last matching pattern win.
    QStringList args;
    /// The positional type for llama-quantize: the most common quantized type of the plan (or its
    /// most common type when nothing is quantized). It also applies to tensors that are not
    /// linear layers of the plan (token_embd), and llama.cpp only honours --tensor-type when it
    /// is a quantized type. Empty when no layer maps.
    QString baseType;
    QStringList problems;
};
LlamaCppExport exportLlamaCpp(const LayerPlan& plan, const Model& model);
/// The files and options of a complete llama-quantize command line.
struct LlamaQuantizeInvocation
{
    QString binary = QStringLiteral("llama-quantize");
    QString input;              ///< the F16/F32 GGUF llama-quantize reads
    QString output;             ///< the GGUF it writes
    QString imatrix;            ///< --imatrix FILE (empty: none)
    QString tokenEmbeddingType; ///< --token-embedding-type (empty: llama-quantize's choice)
};
/// Input and output beside the model: a GGUF model itself as input, else MODEL-F16.gguf (what
/// `quantscope-cli export-gguf MODEL --preset F16` writes); the output MODEL-BASETYPE.gguf.
LlamaQuantizeInvocation llamaQuantizeDefaults(const Model& model, const QString& baseType);
/// llama-quantize's argv for `e` (binary, --imatrix, --token-embedding-type, the --tensor-type
/// pairs, input, output, base type); empty when no layer maps (e.baseType empty). Join it with
/// shellCommandLine (util/ShellQuote.h) for a shell.
QStringList llamaQuantizeArgv(const LlamaCppExport& e, const LlamaQuantizeInvocation& how);
/// llamaQuantizeArgv as shell text: every option on its own continued line, the files and type on
/// the last; each argument quoted, so it pastes into a shell as one command.
QString llamaQuantizeCommandText(const QStringList& argv);
/// exportLlamaCpp(plan, model).args; problems appended to `problems` when given.
QStringList toLlamaCppTensorTypeArgs(const LayerPlan& plan, const Model& model,
                                     QStringList* problems = nullptr);
/// Anchored, non-overlapping regexes on HF module names covering exactly the given (linear
/// index, value) pairs, blocks merged where a value covers them ("^model\\.layers\\.\\d+\\.mlp\\.down_proj$"
/// when every block's down_proj has it), in first-seen order.
std::vector<std::pair<QString, QString>>
layerPatterns(const Model& model, const std::vector<std::pair<int, QString>>& layerValues);
/// The recipe that resolves to what a quantized checkpoint stores (a GGUF file's types, a run's
/// specs, a GPTQ/AWQ checkpoint's settings): the defaults are the spec holding the most weights,
/// rules (grouped anchored patterns) cover the layers that differ, keep_float the float layers.
/// For a float model: an empty recipe named `name`.
Recipe recipeForStoredModel(const Model& model, const QString& name);
/// The GGUF tensor name of a linear layer ("blk.3.ffn_down.weight", "output.weight").
QString ggufTensorName(const Model& model, int linearIndex);

/// A plan as GPTQModel's QuantizeConfig: {"base": {bits, group_size, desc_act, sym, damp_percent,
/// static_groups[, lm_head]}, "dynamic": {"+:<regex>": {bits, group_size, desc_act, sym, …}, "-:<regex>":
/// {}}}. The base is the most common GPTQ spec of the plan; "+:" entries cover GPTQ layers that differ from
/// it, "-:" entries the float layers (skipped). Patterns are anchored regexes on the HF module names
/// ("^model\\.layers\\.(0|3)\\.mlp\\.down_proj$") and never overlap (GPTQModel takes the first match with
/// re.match). Layers with other methods, per-tensor scales, float zeros, f32 scales or bits other than
/// 2/3/4/8 are listed in `problems`.
QJsonObject toGptqModelDynamic(const LayerPlan& plan, const Model& model, QStringList* problems);

} // namespace qs
