#pragma once

#include "results/RunResults.h"

#include <QString>
#include <QStringList>
#include <optional>
#include <vector>

namespace qs {

// Two runs side by side: their per-layer schemes with the fields that differ, their per-layer
// measurements, and their whole-run metrics (the GUI's run diff and `compare --diff`).

/// The fields of a layer's scheme the diff compares, in column order.
enum class SchemeField { Method, Bits, Group, Symmetry, Type, Count };
/// "method", "bits", "group", "sym", "type".
QString schemeFieldName(SchemeField field);
/// The scheme's fields as text: "gptq", "4", "g128", "asym", "int act-order"; "gguf", "4", "g256",
/// "–", "Q4_K"; "float", "16", "–", "–", "f16". An unknown scheme is "?" in each field.
QStringList schemeFields(const std::optional<QuantSpec>& spec);

/// One layer of the diff; a run without the layer has no metrics and "—" fields.
struct RunLayerDiff
{
    QString layer;
    std::optional<LayerMetrics> a, b;
    QStringList fieldsA, fieldsB;       ///< schemeFields, one per SchemeField
    std::vector<SchemeField> differing; ///< the fields that differ
    bool schemeDiffers() const { return !differing.empty(); }
};

struct RunDiff
{
    QString nameA, nameB;
    std::vector<RunLayerDiff> layers; ///< A's layers in order, then those only B has
    /// The layers whose scheme differs (a layer only one run has counts as differing).
    QStringList differingLayers() const;
};
RunDiff diffRuns(const RunSummary& a, const RunSummary& b);

/// One whole-run metric of both runs (NaN where a run did not measure it).
struct RunMetricPair
{
    QString key;   ///< runMetricsJson's key: "ppl", "delta_ppl", "kld", "top1_percent", "bpw", …
    QString label; ///< English table label ("Δppl", "top-1 %")
    double a = 0, b = 0;
    int precision = 3; ///< decimals to print
};
/// ppl, Δppl, KLD, top-1 %, bpw (model), bpw (linear), MB, prefill and decode tok/s, resident MB,
/// quantize seconds.
std::vector<RunMetricPair> runMetricPairs(const RunSummary& a, const RunSummary& b);

} // namespace qs
