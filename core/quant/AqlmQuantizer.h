#pragma once

#include "quant/Quantizer.h"

#include <QString>
#include <vector>

namespace qs {

/// What AQLM's optimisation did to one layer: the objective after each phase, so a caller (the tests, the
/// playground) can see that no phase raised it.
struct AqlmTrace
{
    struct Step
    {
        QString phase;    ///< "k-means", "beam search 1", "codebooks 1", "scales 1", …
        double objective; ///< Σ_rows (w − ŵ)·H·(w − ŵ)ᵀ / Σ_rows w·H·wᵀ, H the damped 2·XᵀX/n
    };
    std::vector<Step> steps;
};

/// AQLM on the weight as it arrives (quantizeWeight adds the input rotation when the spec asks for it),
/// recording each phase's objective into `trace` when given. Validates the spec and the statistics.
QuantizedTensor aqlmQuantize(const QuantizeRequest& request, const JobContext& job, AqlmTrace* trace);

} // namespace qs
