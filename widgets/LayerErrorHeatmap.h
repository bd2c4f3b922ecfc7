#pragma once

#include "PlotWidget.h"
#include "results/RunResults.h"

namespace qs {

/// Per-layer error across runs as a heatmap: layers along x, runs along y, colour = log10 of
/// the relative MSE (weight or output), with a colour scale. Cells without a value stay empty.
class LayerErrorHeatmap : public PlotWidget
{
    Q_OBJECT
public:
    explicit LayerErrorHeatmap(QWidget* parent = nullptr);

    void setRuns(std::vector<RunSummary> runs);
    /// Shows a ready matrix instead of runs (e.g. a sensitivity sweep: layers × schemes), its
    /// values named `valueName` ("KLD"); setRuns() switches back.
    void setMatrix(LayerErrorMatrix matrix, const QString& valueName);
    void setMetric(LayerErrorMetric metric);
    LayerErrorMetric metric() const { return m_metric; }
    const LayerErrorMatrix& matrix() const { return m_matrix; }

    bool hasData() const override;
    /// layer, then one column per run (the metric, not its log).
    PlotTable table() const override;
    QString hoverText(const QPoint& pos) const override;

    /// "model.layers.3.mlp.down_proj" → "3.down_proj" (axis labels).
    static QString shortLayerName(const QString& name);
    static QString metricName(LayerErrorMetric metric);

private:
    void rebuild();
    QString valueName() const;

    std::vector<RunSummary> m_runs;
    LayerErrorMetric m_metric = LayerErrorMetric::WeightRelMse;
    LayerErrorMatrix m_matrix;
    bool m_fixedMatrix = false;
    QString m_valueName;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
};

} // namespace qs
