#pragma once

#include "analysis/Sensitivity.h"
#include "recipe/Recipe.h"

#include <QJsonObject>
#include <QString>
#include <vector>

namespace qs {

class Model;

/// Which measured loss the allocator adds up over units.
enum class LossMetric : std::uint8_t {
    Kld,      ///< mean KL divergence to the float model (smooth, non-negative)
    DeltaNll, ///< mean NLL increase = log(ppl / float ppl)
};
QString lossMetricName(LossMetric m);
/// "kld" / "nll"; throws qs::Error otherwise.
LossMetric lossMetricFromName(const QString& name);

/// One scheme per unit, with its size and the loss the additive model predicts.
struct AllocationPlan
{
    std::vector<int> choice;  ///< scheme index per unit (SensitivityResult::units order)
    std::uint64_t bytes = 0;  ///< exact storage of the allocated units
    double bitsPerWeight = 0; ///< over the allocated units' parameters
    double predictedLoss = 0; ///< Σ unit losses (the additive assumption)
    bool uniform = false;     ///< every unit has the same scheme
    QJsonObject toJson(const SensitivityResult& s) const;
};

/// Multiple-choice knapsack over the sensitivity table: minimise Σ loss(unit, scheme) subject to
/// Σ bytes(unit, scheme) <= budget. ASSUMPTION: the loss of quantizing several units is the sum of
/// the losses measured one unit at a time (first-order: interactions between layers are ignored;
/// `measure` checks how far that holds). Solved exactly by dynamic programming over the byte budget
/// discretised into `resolution` steps, each option's bytes rounded UP, so a plan never exceeds
/// its budget and is optimal on the rounded costs (slack at most units × step bytes).
class Allocator
{
public:
    /// `schemes`: names of the candidate schemes to use (empty = all in the results). Throws when
    /// the results are incomplete for these schemes, the list is empty or names an unknown scheme.
    Allocator(const SensitivityResult& results, LossMetric metric, const QStringList& schemes = {},
              int resolution = 100000);

    const SensitivityResult& results() const { return m_results; }
    LossMetric metric() const { return m_metric; }
    std::int64_t params() const { return m_params; }
    std::uint64_t minBytes() const { return m_minBytes; }
    std::uint64_t maxBytes() const { return m_maxBytes; }
    double minBitsPerWeight() const { return bpw(m_minBytes); }
    double maxBitsPerWeight() const { return bpw(m_maxBytes); }
    const std::vector<int>& schemeIndices() const { return m_schemes; }

    /// The best plan within `budget` bytes; throws when it is below the smallest plan or above the
    /// float model's storage.
    AllocationPlan forBytes(double budget) const;
    AllocationPlan forBitsPerWeight(double bpw) const;
    /// The smallest plan whose predicted loss is at most `maxLoss`; throws when no plan reaches it.
    AllocationPlan forLoss(double maxLoss) const;
    /// Every plan on the predicted Pareto front (bytes ascending, loss strictly descending).
    std::vector<AllocationPlan> paretoFront() const;
    /// The plan giving every unit candidate scheme `k` (index into schemeIndices()).
    AllocationPlan uniform(int k) const;
    AllocationPlan evaluate(std::vector<int> choice) const;

    /// A normal recipe realising the plan: defaults = the most used scheme, one anchored rule per
    /// layer that differs, float layers via keep_float, the sweep's calibration settings.
    /// Layers outside every unit stay float (f16). Throws when `model` is not the swept model.
    Recipe toRecipe(const AllocationPlan& plan, const Model& model, const QString& name) const;

private:
    double bpw(double bytes) const { return 8.0 * bytes / double(m_params); }
    void solve();
    AllocationPlan backtrack(int cell) const;

    const SensitivityResult& m_results;
    LossMetric m_metric;
    std::vector<int> m_schemes; ///< candidate scheme indices into results.schemes
    int m_resolution;
    std::int64_t m_params = 0;
    std::uint64_t m_minBytes = 0, m_maxBytes = 0, m_floatBytes = 0;
    double m_step = 1;
    std::vector<std::vector<std::uint64_t>> m_bytes; ///< [unit][candidate]
    std::vector<std::vector<double>> m_loss;         ///< [unit][candidate]
    std::vector<double> m_best;                      ///< min loss with rounded cost <= cell
    std::vector<std::vector<std::uint8_t>> m_pick;   ///< [unit][cell] candidate chosen
};

} // namespace qs
