#pragma once

#include "PlotWidget.h"
#include "results/PlotData.h"

namespace qs {

/// The distribution of one layer's weights (or activations) as a histogram, with the levels of
/// a quantization grid drawn over it as vertical lines.
class DistributionPlot : public PlotWidget
{
    Q_OBJECT
public:
    static constexpr int kBins = 120; ///< bins of a distribution binned elsewhere too (on a worker)

    explicit DistributionPlot(QWidget* parent = nullptr);

    /// `what` names the data (e.g. "model.layers.0.mlp.down_proj weights, row 3").
    void setDistribution(const QString& what, const Histogram& values, const QuantGrid& grid = {});
    /// Bins `values` (linear, over their range) and shows them with the grid.
    void setValues(const QString& what, const std::vector<float>& values, const QuantGrid& grid = {},
                   int bins = kBins);
    void setLogScale(bool log);
    const Histogram& histogram() const { return m_hist; }
    const QuantGrid& grid() const { return m_grid; }

    bool hasData() const override;
    /// kind ("bin" or "level"), x_lower, x_upper, count: the bins, then the grid levels.
    PlotTable table() const override;

private:
    void rebuild();

    QString m_what;
    Histogram m_hist;
    QuantGrid m_grid;
    bool m_log = false;
};

} // namespace qs
