#pragma once

#include "analysis/SensitivityResult.h"
#include "results/RunResults.h"

#include <vector>

namespace qs {

/// Fills LayerMetrics::kldContribution of the runs' layers from a sensitivity sweep: the mean KLD the
/// sweep measured with only that layer quantized, with the scheme the run gave it (a unit named as
/// the layer, a scheme whose spec has the layer's label). Layers the sweep did not measure that way,
/// and every layer of a run of another model (architecture fingerprints differ), keep NaN: nothing is
/// estimated. Returns how many layers got a value.
int attachSweepKld(std::vector<RunSummary>& runs, const SensitivityResult& sweep);

} // namespace qs
