#pragma once

#include "PlotWidget.h"
#include "results/RunResults.h"

#include <optional>

namespace qs {

/// Where each run's bytes go: one stacked bar per run (embeddings, attention, MLP, head, norms,
/// scales/zeros/outliers overhead), the float baseline first.
class MemoryPlot : public PlotWidget
{
    Q_OBJECT
public:
    explicit MemoryPlot(QWidget* parent = nullptr);

    void setRuns(std::vector<RunSummary> runs, std::optional<RunSummary> baseline = std::nullopt);
    /// The user-visible name of a role.
    static QString roleName(MemoryBreakdown::Role role);

    bool hasData() const override;
    /// run, then one column of MB per role, then total_MB; the baseline first when shown.
    PlotTable table() const override;

private:
    void rebuild();
    std::vector<const RunSummary*> shown() const;

    std::vector<RunSummary> m_runs;
    std::optional<RunSummary> m_baseline;
};

} // namespace qs
