#include "ErrorHistogramPlot.h"

#include <cmath>
#include <limits>

namespace qs {

ErrorHistogramPlot::ErrorHistogramPlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("errorHistogramPlot"));
    placeLegendBeside();
    rebuild();
}

void ErrorHistogramPlot::setRuns(std::vector<RunSummary> runs)
{
    m_runs = std::move(runs);
    rebuild();
}

void ErrorHistogramPlot::setLayer(const QString& layer)
{
    m_layer = layer;
    rebuild();
}

void ErrorHistogramPlot::setLogScale(bool log)
{
    m_log = log;
    rebuild();
}

QStringList ErrorHistogramPlot::layerNames() const
{
    QStringList names;
    for (const RunSummary& r : m_runs) {
        for (const LayerMetrics& l : r.layers) {
            if (!names.contains(l.name))
                names << l.name;
        }
    }
    return names;
}

QString ErrorHistogramPlot::layer() const
{
    if (!m_layer.isEmpty())
        return m_layer;
    const QStringList names = layerNames();
    return names.isEmpty() ? QString() : names.front();
}

std::vector<std::pair<const RunSummary*, Histogram>> ErrorHistogramPlot::histograms() const
{
    std::vector<std::pair<const RunSummary*, Histogram>> out;
    const QString name = layer();
    for (const RunSummary& r : m_runs) {
        const LayerMetrics* l = r.findLayer(name);
        if (l && !l->errorHistogram.empty())
            out.emplace_back(&r, Histogram::fromCounts(l->histogramMin, l->histogramMax, l->errorHistogram));
    }
    return out;
}

bool ErrorHistogramPlot::hasData() const
{
    for (const auto& [run, h] : histograms()) {
        if (h.total() > 0)
            return true;
    }
    return false;
}

PlotTable ErrorHistogramPlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("run"), QStringLiteral("bin_lower"), QStringLiteral("bin_upper"),
                           QStringLiteral("count"), QStringLiteral("density")};
    for (const auto& [run, h] : histograms()) {
        for (int i = 0; i < h.bins(); ++i)
            t.rows.push_back({run->name, number(h.lower(i)), number(h.upper(i)),
                              number(h.counts[std::size_t(i)]), number(h.density(i))});
    }
    return t;
}

void ErrorHistogramPlot::rebuild()
{
    clearPlot();
    xAxis->setLabel(tr("weight error W − Ŵ"));
    yAxis->setLabel(m_log ? tr("density (log)") : tr("density"));
    yAxis->setScaleType(m_log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_log)
        yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    setTitle(layer().isEmpty() ? tr("Error histogram") : tr("Error histogram: %1").arg(layer()));
    if (!hasData()) {
        legend->setVisible(false);
        showEmptyMessage(tr("No error histogram for this layer"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    int series = 0;
    double ymin = std::numeric_limits<double>::infinity(), ymax = 0;
    for (const auto& [run, h] : histograms()) {
        QVector<double> keys, values;
        for (int i = 0; i < h.bins(); ++i) {
            const double d = h.density(i);
            keys << h.center(i);
            // A log axis cannot show zero: empty bins become gaps.
            values << (m_log && d <= 0 ? std::numeric_limits<double>::quiet_NaN() : d);
            if (d > 0) {
                ymin = std::min(ymin, d);
                ymax = std::max(ymax, d);
                addHoverPoint(h.center(i), d,
                              tr("%1\n[%2, %3): %4 weights")
                                  .arg(run->name, number(h.lower(i)), number(h.upper(i)),
                                       number(h.counts[std::size_t(i)])));
            }
        }
        const QColor c = seriesColor(series++);
        QCPGraph* g = addGraph();
        g->setName(run->name);
        g->setLineStyle(QCPGraph::lsStepCenter);
        g->setPen(QPen(c, 1.6));
        QColor fill = c;
        fill.setAlpha(40);
        if (!m_log)
            g->setBrush(fill);
        g->setData(keys, values, true);
    }
    xAxis->rescale();
    const QCPRange x = xAxis->range();
    xAxis->setRange(x.lower - 0.03 * x.size(), x.upper + 0.03 * x.size());
    if (m_log)
        yAxis->setRange(ymin / 2, ymax * 2);
    else
        yAxis->setRange(0, ymax * 1.08);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
