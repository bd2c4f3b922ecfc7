#pragma once

#include "PlotWidget.h"
#include "results/PlotData.h"
#include "results/RunResults.h"

namespace qs {

/// Error distributions overlaid across runs. With the weight-error metric (the default): the
/// distribution of W − Ŵ of one layer, one step line per run as a density (runs bin over different
/// ranges), each run's legend entry giving that layer's weight and output relative MSE side by side.
/// With the output-error or KLD-contribution metric: how the layers spread over that metric (one
/// count per layer, quarter-decade bins on a log axis, the same bins for every run), so a method
/// whose outputs are closer sits further left. Linear or log y.
class ErrorHistogramPlot : public PlotWidget
{
    Q_OBJECT
public:
    explicit ErrorHistogramPlot(QWidget* parent = nullptr);

    void setRuns(std::vector<RunSummary> runs);
    /// The layer to show; empty: the first layer of the first run that has layers.
    void setLayer(const QString& layer);
    void setLogScale(bool log);
    void setMetric(LayerErrorMetric metric);
    LayerErrorMetric metric() const { return m_metric; }
    QString layer() const;
    bool logScale() const { return m_log; }
    /// Layers present in any run, in the first run's order.
    QStringList layerNames() const;

    bool hasData() const override;
    /// run, bin_lower, bin_upper, count, density: one row per bin of each run (the layer metrics:
    /// count is layers, density per decade).
    PlotTable table() const override;

private:
    void rebuild();
    std::vector<std::pair<const RunSummary*, Histogram>> histograms() const;
    /// The layer-metric histograms: log10 of each run's layer values in shared quarter-decade bins.
    std::vector<std::pair<const RunSummary*, Histogram>> layerHistograms() const;
    void rebuildLayerMetric();

    std::vector<RunSummary> m_runs;
    QString m_layer;
    bool m_log = false;
    LayerErrorMetric m_metric = LayerErrorMetric::WeightRelMse;
};

} // namespace qs
