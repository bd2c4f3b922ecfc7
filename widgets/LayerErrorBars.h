#pragma once

#include "PlotWidget.h"
#include "results/RunResults.h"

namespace qs {

/// Per-layer error across runs as grouped bars (one bar per run in each layer's group),
/// optionally sorted so the layers that suffer most come first; log or linear y.
class LayerErrorBars : public PlotWidget
{
    Q_OBJECT
public:
    explicit LayerErrorBars(QWidget* parent = nullptr);

    void setRuns(std::vector<RunSummary> runs);
    /// Shows a ready matrix instead of runs (e.g. a sensitivity sweep: layers × schemes), its
    /// values named `valueName` ("KLD"); setRuns() switches back.
    void setMatrix(LayerErrorMatrix matrix, const QString& valueName);
    void setMetric(LayerErrorMetric metric);
    void setSorted(bool sorted);
    void setLogScale(bool log);
    /// Show at most this many layers (the first ones in the current order); 0: all.
    void setMaxLayers(int n);
    /// Layer indices (into matrix().layers) in the order shown.
    std::vector<int> layerOrder() const;
    const LayerErrorMatrix& matrix() const { return m_matrix; }

    bool hasData() const override;
    /// layer, then one column per run, in the order shown.
    PlotTable table() const override;

private:
    void rebuild();
    QString valueName() const;

    std::vector<RunSummary> m_runs;
    LayerErrorMetric m_metric = LayerErrorMetric::WeightRelMse;
    LayerErrorMatrix m_matrix;
    bool m_fixedMatrix = false;
    QString m_valueName;
    bool m_sorted = false;
    bool m_log = true;
    int m_maxLayers = 0;
};

} // namespace qs
