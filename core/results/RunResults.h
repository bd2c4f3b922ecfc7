#pragma once

#include "spec/QuantSpec.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace qs {

class Model;
struct LayerReport;
struct EvaluationResult;

/// Where a model's bytes go, by role. Quantized linears count their codes under their role and
/// their scales, zeros and extras (outlier columns, g_idx, input scales) as overhead.
struct MemoryBreakdown
{
    enum Role { Embeddings, Attention, Mlp, Head, Norms, Overhead, RoleCount };
    std::array<std::uint64_t, RoleCount> bytes{};
    std::uint64_t total() const;
    bool isEmpty() const { return total() == 0; }
    /// JSON/CSV key of a role: "embeddings", "attention", "mlp", "head", "norms", "overhead".
    static const char* key(Role r);
    QJsonObject toJson() const;
    static MemoryBreakdown fromJson(const QJsonObject& o);
};

/// The breakdown of a model as stored (float or a QuantScope quantized checkpoint). "Norms"
/// also holds biases and anything else that is neither embeddings nor a linear layer.
MemoryBreakdown memoryBreakdown(const Model& model);
/// The breakdown of `base` with its linears replaced as `layers` report them (a run in memory).
MemoryBreakdown memoryBreakdown(const Model& base, const std::vector<LayerReport>& layers);

/// What a run measured for one linear layer (from LayerReport).
struct LayerMetrics
{
    QString name;
    QString kind; ///< "q_proj", …, "lm_head"
    int block = -1;
    QString label;  ///< the spec's label, e.g. "gptq int3 g128 asym"
    QString method; ///< the spec's method name, e.g. "gptq"
    double bitsPerWeight = 0;
    std::uint64_t bytes = 0;       ///< its storage (0: not recorded, a run kept before bytes were)
    std::optional<QuantSpec> spec; ///< the scheme it ran with (absent in runs kept before: see scheme())
    double weightRelMse = 0;
    double outputRelMse = std::numeric_limits<double>::quiet_NaN(); ///< NaN when not measured
    /// Mean KLD of the model with only this layer quantized with this scheme, from a sensitivity sweep
    /// of the same model (analysis/SweepKld.h); NaN when no sweep measured it. Never stored with the run.
    double kldContribution = std::numeric_limits<double>::quiet_NaN();
    double maxAbsError = 0;
    double histogramMin = 0, histogramMax = 0;
    std::vector<double> errorHistogram; ///< counts of W − Ŵ over [min, max] in equal bins
    /// The scheme: `spec`, else parsed from the label (runs kept before specs were; fields the label
    /// does not name keep QuantSpec's defaults); nullopt when the label is not one QuantSpec writes.
    std::optional<QuantSpec> scheme() const;
    /// A stored "spec" object; nullopt when absent or not one this version reads (the label still names it).
    static std::optional<QuantSpec> specFromJson(const QJsonValue& v);
    static LayerMetrics fromJson(const QJsonObject& o);
};

/// One row of a comparison: a quantize run (its run.json and checkpoint) or a float baseline
/// (an eval JSON). Loss fields are NaN when the run was not evaluated (or has no KLD base).
struct RunSummary
{
    QString id; ///< stable identity in the results database (store/ResultsDb); empty until recorded
    QString name;
    QString method;        ///< series label: the method's display name, "mixed", or "float"
    QString recipeSummary; ///< recipe name / spec label
    QString source;        ///< the file or folder it was read from
    QString modelPath;     ///< the base model the run started from
    QString fingerprint;   ///< Model::architectureFingerprint (empty when unknown)
    std::int64_t params = 0;
    bool isBaseline = false;
    double bitsPerWeight = 0;
    double linearBitsPerWeight = 0;
    std::uint64_t modelBytes = 0;
    std::uint64_t linearBytes = 0;
    double ppl = std::numeric_limits<double>::quiet_NaN();
    double pplError = std::numeric_limits<double>::quiet_NaN();
    double kldMean = std::numeric_limits<double>::quiet_NaN();
    double kldError = std::numeric_limits<double>::quiet_NaN();
    double top1Percent = std::numeric_limits<double>::quiet_NaN();
    double top1Error = std::numeric_limits<double>::quiet_NaN(); ///< its standard error (percentage points)
    /// PPL − PPL(float) on the same tokens with the paired per-chunk error (eval/Kld.h KldStats);
    /// NaN when not measured (no KLD base, or a run evaluated before it was recorded).
    double deltaPpl = std::numeric_limits<double>::quiet_NaN();
    double deltaPplError = std::numeric_limits<double>::quiet_NaN();
    double quantizeSeconds = std::numeric_limits<double>::quiet_NaN();
    /// Measured on the model as it runs (eval/Speed.h); NaN/0 when not measured.
    double prefillTokensPerSecond = std::numeric_limits<double>::quiet_NaN();
    double decodeTokensPerSecond = std::numeric_limits<double>::quiet_NaN();
    int speedThreads = 0;
    std::uint64_t residentBytes = 0; ///< the weights as the model holds them while it runs
    QString evalText;                ///< the evaluation text path
    QString evalProtocol;            ///< protocol, n_ctx and chunks, e.g. "llamacpp ctx 128 × 20"
    QString tokenizer;               ///< the tokenizer the evaluation used (its file and kind)
    QStringList warnings;            ///< the evaluation's warnings (a tokenizer fallback first)
    MemoryBreakdown memory;
    std::vector<LayerMetrics> layers;

    double megabytes() const { return double(modelBytes) / 1e6; }
    bool hasPerplexity() const { return std::isfinite(ppl); }
    bool hasKld() const { return std::isfinite(kldMean); }
    bool hasDeltaPpl() const { return std::isfinite(deltaPpl); }
    bool hasSpeed() const { return std::isfinite(decodeTokensPerSecond); }
    const LayerMetrics* findLayer(const QString& name) const;

    /// A quantize output folder (run.json + the checkpoint's metadata), a run.json file, or an
    /// eval JSON file (`eval --json`, a float baseline). Throws qs::Error naming the file.
    static RunSummary load(const QString& path);
    /// A float model without evaluation: sizes and memory only (baseline for memory plots).
    static RunSummary fromModel(const Model& model);
    /// A run held in memory (GUI): the base model, its quantize result's layers, its evaluation.
    static RunSummary fromResult(const QString& name, const QString& recipeSummary, const Model& base,
                                 const std::vector<LayerReport>& layers, double quantizeSeconds,
                                 const EvaluationResult* eval);
    /// Fills the loss and size fields from an EvaluationResult::toJson object.
    void readEvaluation(const QJsonObject& eval);
};

/// Throws qs::Error when the runs (and the baseline, when given) come from different models
/// (parameter counts or architecture fingerprints differ), naming both sources; returns
/// warnings when their losses are not comparable (different evaluation text or protocol).
QStringList checkComparable(const std::vector<RunSummary>& runs, const RunSummary* baseline = nullptr);

/// Per-layer measurements the layer plots show: the weight error, the output error on the calibration
/// sample, and the layer's KLD contribution (from a sensitivity sweep, LayerMetrics::kldContribution).
enum class LayerErrorMetric { WeightRelMse, OutputRelMse, KldContribution };
double layerError(const LayerMetrics& layer, LayerErrorMetric metric);

/// One error metric per layer × run (NaN where a run lacks the layer or the measurement);
/// layers in order of first appearance across the runs.
struct LayerErrorMatrix
{
    QStringList layers;
    QStringList runs;
    std::vector<double> values; ///< [layer · runs.size() + run]
    double at(int layer, int run) const
    {
        return values[std::size_t(layer) * std::size_t(runs.size()) + std::size_t(run)];
    }
    bool hasValues() const;
    /// Layer indices by their mean error over the runs that have it, worst first (stable).
    std::vector<int> layersByMeanError() const;
};
LayerErrorMatrix layerErrorMatrix(const std::vector<RunSummary>& runs, LayerErrorMetric metric);

/// The series label of a set of specs' methods: one method's display name, or "mixed".
QString methodLabel(const std::vector<LayerMetrics>& layers);

/// The float weight [out, in] of a linear layer (dequantized when the checkpoint stores it
/// quantized). Throws qs::Error when the model has no such layer.
std::vector<float> readLinearWeight(const Model& model, const QString& layer, std::int64_t* rows = nullptr,
                                    std::int64_t* cols = nullptr);

} // namespace qs
