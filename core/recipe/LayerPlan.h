#pragma once

#include "spec/QuantSpec.h"

#include <QJsonObject>
#include <QString>
#include <vector>

namespace qs {

class Model;

/// A spec as a run's recipe is named from what ran: "gptq w3 g64", "rtn w4 ch sym", "gguf Q4_K",
/// "f16" (QuantSpec::shortName's tokens, with ggml types in their own spelling).
QString schemeLabel(const QuantSpec& spec);
/// The schemes of several layers: one schemeLabel when they agree, else the schemes by how many
/// layers use them, most first: "gptq w4 g128 ×20 + gptq w8 g128 ×15" (at most three, then
/// "+ N more"). Empty for no specs.
QString schemesLabel(const std::vector<QuantSpec>& specs);

/// One QuantSpec per linear layer of a model: what Recipe::resolve produces and QuantizeJob
/// consumes. Entries follow Model::linears() order.
struct LayerPlanEntry
{
    int linearIndex = 0;
    QString name; ///< module name, e.g. "model.layers.0.self_attn.q_proj"
    QuantSpec spec;
    int matchedRule = -1; ///< index of the recipe rule that set the spec (-1: defaults)
    QString note;         ///< why the spec differs from what the rule asked (gguf row fallback)
};

struct LayerPlan
{
    std::vector<LayerPlanEntry> entries;

    /// A plan applying one spec to every linear layer (fitted to each layer's rows, see
    /// QuantSpec::fittedTo).
    static LayerPlan uniform(const Model& model, const QuantSpec& spec);
    /// Storage of the linear layers under this plan (bytes), and of the whole model with the
    /// non-linear tensors (embeddings, norms, tied head) at their stored size.
    std::uint64_t linearBytes(const Model& model) const;
    std::uint64_t modelBytes(const Model& model) const;
    double linearBitsPerWeight(const Model& model) const;
    bool needsCalibration() const;
    /// schemesLabel of the entries' specs (what a run of this plan quantizes with).
    QString label() const;
    QJsonObject toJson() const;
};

} // namespace qs
