#pragma once

#include "PlotWidget.h"
#include "results/PlotData.h"
#include "results/RunResults.h"

namespace qs {

/// The distribution of weight quantization error (W − Ŵ) of one layer, overlaid across runs:
/// one step line per run as a density (runs bin over different ranges), linear or log y.
class ErrorHistogramPlot : public PlotWidget
{
    Q_OBJECT
public:
    explicit ErrorHistogramPlot(QWidget* parent = nullptr);

    void setRuns(std::vector<RunSummary> runs);
    /// The layer to show; empty: the first layer of the first run that has layers.
    void setLayer(const QString& layer);
    void setLogScale(bool log);
    QString layer() const;
    bool logScale() const { return m_log; }
    /// Layers present in any run, in the first run's order.
    QStringList layerNames() const;

    bool hasData() const override;
    /// run, bin_lower, bin_upper, count, density: one row per bin of each run.
    PlotTable table() const override;

private:
    void rebuild();
    std::vector<std::pair<const RunSummary*, Histogram>> histograms() const;

    std::vector<RunSummary> m_runs;
    QString m_layer;
    bool m_log = false;
};

} // namespace qs
