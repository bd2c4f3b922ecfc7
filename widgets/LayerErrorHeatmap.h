#pragma once

#include "PlotWidget.h"
#include "results/RunResults.h"

namespace qs {

/// Per-layer error across runs as a heatmap: layers along x, runs along y, colour = the chosen
/// per-layer metric (weight or output relative MSE, KLD contribution) on a fixed logarithmic scale,
/// with a labelled colour bar (metric and unit) under the plot. Cells without a value stay empty.
///
/// The colour scale is fixed (setDecades, default 10⁻⁶ … 10⁰): it never follows the data, so adding
/// or hiding a run does not recolour the others, and a colour means the same error on every page and
/// screenshot; values beyond it take the end colours (their hover text gives the number). Its
/// gradient runs from dark blue (small) to dark red (large): no end is white, so the worst cell
/// stays visible on a white page.
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
    /// The colour scale: 10^low … 10^high (low < high).
    void setDecades(int low, int high);
    std::pair<int, int> decades() const { return {m_low, m_high}; }
    /// The data range of the colours (10^low, 10^high).
    QCPRange colorRange() const;
    /// The colour a value is drawn in (values beyond the range: the end colours; NaN: transparent).
    QColor colorOf(double value) const;
    /// The colour bar's label: the metric and its unit.
    QString scaleLabel() const;
    LayerErrorMetric metric() const { return m_metric; }
    const LayerErrorMatrix& matrix() const { return m_matrix; }

    bool hasData() const override;
    /// layer, then one column per run (the metric, not its log).
    PlotTable table() const override;
    QString hoverText(const QPoint& pos) const override;

    /// "model.layers.3.mlp.down_proj" → "3.down_proj" (axis labels).
    static QString shortLayerName(const QString& name);
    static QString metricName(LayerErrorMetric metric);
    /// "relative MSE ‖W − Ŵ‖² / ‖W‖², no unit", …: what the metric is and its unit.
    static QString metricUnit(LayerErrorMetric metric);

private:
    void rebuild();
    QString valueName() const;

    std::vector<RunSummary> m_runs;
    LayerErrorMetric m_metric = LayerErrorMetric::WeightRelMse;
    LayerErrorMatrix m_matrix;
    std::vector<QString> m_notes;
    bool m_fixedMatrix = false;
    QString m_valueName;
    int m_low = -6, m_high = 0;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
};

} // namespace qs
