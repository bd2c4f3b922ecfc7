#pragma once

#include "analysis/Allocation.h"
#include "eval/Evaluation.h"

#include <QJsonObject>
#include <QString>
#include <memory>
#include <vector>

namespace qs {

class Model;
class Tokenizer;

/// One plan, really quantized (the whole layer-by-layer pipeline, true-sequential calibration)
/// and evaluated on held-out text, next to what the allocator predicted for it.
struct MeasuredPlan
{
    QString name;         ///< "mixed@3.5", "uniform gptq-w3-ch", "front 4/10"
    QString kind;         ///< "budget", "uniform", "iso" (mixed at a uniform plan's size) or "front"
    double budgetBpw = 0; ///< the budget asked for (budget plans)
    AllocationPlan plan;
    double ppl = 0, pplError = 0;
    double nll = 0; ///< mean NLL on the held-out text
    double kld = 0, top1 = 0;
    double measuredLoss = 0; ///< in the allocator's metric: KLD, or nll − base nll
    double seconds = 0;
    QJsonObject toJson(const SensitivityResult& s) const;
};

struct AllocationStudy
{
    LossMetric metric = LossMetric::Kld;
    QString evalText;
    PerplexityOptions eval;
    double basePpl = 0, basePplError = 0, baseNll = 0;
    std::vector<MeasuredPlan> plans;
    double spearman = 0; ///< rank correlation of predicted vs measured loss over all measured plans
    /// Per budget: the mixed plan against the best uniform plan no larger than the budget and the
    /// smallest uniform plan at least as large (what the acceptance criterion compares).
    QJsonObject toJson(const SensitivityResult& s) const;
    QString toText() const;
};

/// Spearman rank correlation (average ranks for ties); 0 when fewer than 3 points.
double spearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b);

/// Measures the allocator's plans at `budgetsBpw`, every uniform candidate plan, the allocator's
/// plan at each uniform plan's exact size (same-size comparison), and
/// `frontPoints` plans spread along the predicted Pareto front. The evaluation text/options
/// should be held out from the sweep's sample (e.g. firstChunk past the chunks it used).
AllocationStudy measureAllocation(std::shared_ptr<const Model> model, const Tokenizer& tokenizer,
                                  const Allocator& allocator, const std::vector<double>& budgetsBpw,
                                  int frontPoints, const EvaluationParams& eval, const JobContext& job = {});

} // namespace qs
