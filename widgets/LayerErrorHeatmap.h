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
    /// Notes on cells of the matrix shown, [layer · runs + run] (empty strings: none; cleared by
    /// setMatrix and setRuns). A cell with a note is marked × and its hover text adds the note:
    /// a sweep marks the cells where llama-quantize stores another type than the scheme's, so a
    /// fallback (F16 for rows no block divides) never passes for a robust layer.
    void setCellNotes(std::vector<QString> notes);
    const std::vector<QString>& cellNotes() const { return m_notes; }
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
    std::vector<QString> m_notes;
    bool m_fixedMatrix = false;
    QString m_valueName;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
};

} // namespace qs
