#include "LayerErrorBars.h"

#include "LayerErrorHeatmap.h"

#include <cmath>
#include <limits>
#include <numeric>

namespace qs {

LayerErrorBars::LayerErrorBars(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("layerErrorBars"));
    placeLegendBeside();
    rebuild();
}

void LayerErrorBars::setMatrix(LayerErrorMatrix matrix, const QString& valueName)
{
    m_matrix = std::move(matrix);
    m_fixedMatrix = true;
    m_valueName = valueName;
    rebuild();
}

QString LayerErrorBars::valueName() const
{
    return m_fixedMatrix ? m_valueName : LayerErrorHeatmap::metricName(m_metric);
}

void LayerErrorBars::setRuns(std::vector<RunSummary> runs)
{
    m_fixedMatrix = false;
    m_runs = std::move(runs);
    rebuild();
}

void LayerErrorBars::setMetric(LayerErrorMetric metric)
{
    m_metric = metric;
    rebuild();
}

void LayerErrorBars::setSorted(bool sorted)
{
    m_sorted = sorted;
    rebuild();
}

void LayerErrorBars::setLogScale(bool log)
{
    m_log = log;
    rebuild();
}

void LayerErrorBars::setMaxLayers(int n)
{
    m_maxLayers = std::max(0, n);
    rebuild();
}

std::vector<int> LayerErrorBars::layerOrder() const
{
    std::vector<int> order;
    if (m_sorted) {
        order = m_matrix.layersByMeanError();
    } else {
        order.resize(std::size_t(m_matrix.layers.size()));
        std::iota(order.begin(), order.end(), 0);
    }
    if (m_maxLayers > 0 && int(order.size()) > m_maxLayers)
        order.resize(std::size_t(m_maxLayers));
    return order;
}

bool LayerErrorBars::hasData() const
{
    return m_matrix.hasValues();
}

PlotTable LayerErrorBars::table() const
{
    PlotTable t;
    t.header << QStringLiteral("layer") << m_matrix.runs;
    for (int l : layerOrder()) {
        QStringList row{m_matrix.layers[l]};
        for (int r = 0; r < int(m_matrix.runs.size()); ++r)
            row << number(m_matrix.at(l, r));
        t.rows.push_back(row);
    }
    return t;
}

void LayerErrorBars::rebuild()
{
    clearPlot();
    if (!m_fixedMatrix)
        m_matrix = layerErrorMatrix(m_runs, m_metric);
    yAxis->setLabel(valueName());
    yAxis->setScaleType(m_log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_log)
        yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    if (!hasData()) {
        legend->setVisible(false);
        showEmptyMessage(tr("No per-layer measurements to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    const std::vector<int> order = layerOrder();
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    for (int i = 0; i < int(order.size()); ++i)
        ticker->addTick(i, LayerErrorHeatmap::shortLayerName(m_matrix.layers[order[std::size_t(i)]]));
    xAxis->setTicker(ticker);
    xAxis->setTickLabelRotation(order.size() > 8 ? 60 : 0);
    xAxis->setSubTicks(false);
    const int nr = int(m_matrix.runs.size());
    auto* group = new QCPBarsGroup(this);
    group->setSpacing(0);
    const double width = 0.8 / std::max(1, nr);
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (int r = 0; r < nr; ++r) {
        QVector<double> keys, values;
        for (int i = 0; i < int(order.size()); ++i) {
            const double v = m_matrix.at(order[std::size_t(i)], r);
            if (!std::isfinite(v) || (m_log && v <= 0))
                continue;
            keys << i;
            values << v;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            // Bars of a group sit side by side: the hover point is the bar's own centre.
            addHoverPoint(
                i - 0.4 + width * (r + 0.5), v,
                tr("%1\n%2\n%3: %4")
                    .arg(m_matrix.layers[order[std::size_t(i)]], m_matrix.runs[r], valueName(), number(v)));
        }
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setName(m_matrix.runs[r]);
        const QColor c = seriesColor(r);
        bars->setPen(QPen(c.darker(130)));
        bars->setBrush(c);
        bars->setWidth(width);
        bars->setBarsGroup(group);
        bars->setData(keys, values, true);
    }
    if (m_log) {
        const double base = std::isfinite(lo) && lo > 0 ? lo / 10 : 1e-12;
        for (int i = 0; i < plottableCount(); ++i) {
            if (auto* b = qobject_cast<QCPBars*>(plottable(i)))
                b->setBaseValue(base);
        }
        yAxis->setRange(base, hi * 10); // a decade of headroom for the legend
    } else {
        yAxis->setRange(0, hi * 1.08);
    }
    xAxis->setRange(-0.6, double(order.size()) - 0.4);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
