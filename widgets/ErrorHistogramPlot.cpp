#include "ErrorHistogramPlot.h"

#include "LayerErrorHeatmap.h"

#include <algorithm>
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

void ErrorHistogramPlot::setMetric(LayerErrorMetric metric)
{
    m_metric = metric;
    rebuild();
}

std::vector<std::pair<const RunSummary*, Histogram>> ErrorHistogramPlot::layerHistograms() const
{
    // Quarter-decade bins over the values of all runs, so every run is binned alike.
    constexpr double kPerDecade = 4;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const RunSummary& r : m_runs)
        for (const LayerMetrics& l : r.layers)
            if (const double v = layerError(l, m_metric); std::isfinite(v) && v > 0) {
                lo = std::min(lo, std::floor(std::log10(v) * kPerDecade));
                hi = std::max(hi, std::floor(std::log10(v) * kPerDecade) + 1);
            }
    std::vector<std::pair<const RunSummary*, Histogram>> out;
    if (!(hi > lo))
        return out;
    for (const RunSummary& r : m_runs) {
        Histogram h;
        h.scale = BinScale::Log;
        for (double k = lo; k <= hi; ++k)
            h.edges.push_back(std::pow(10.0, k / kPerDecade));
        h.counts.assign(h.edges.size() - 1, 0.0);
        bool any = false;
        for (const LayerMetrics& l : r.layers)
            if (const double v = layerError(l, m_metric); std::isfinite(v) && v > 0) {
                const auto bin = std::size_t(std::floor(std::log10(v) * kPerDecade) - lo);
                h.counts[std::min(bin, h.counts.size() - 1)] += 1;
                any = true;
            }
        if (any)
            out.emplace_back(&r, std::move(h));
    }
    return out;
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
    if (m_metric != LayerErrorMetric::WeightRelMse)
        return !layerHistograms().empty();
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
    const bool layers = m_metric != LayerErrorMetric::WeightRelMse;
    for (const auto& [run, h] : layers ? layerHistograms() : histograms()) {
        for (int i = 0; i < h.bins(); ++i)
            t.rows.push_back({run->name, number(h.lower(i)), number(h.upper(i)),
                              number(h.counts[std::size_t(i)]),
                              // layers per decade: comparable however wide the bins
                              number(layers ? h.counts[std::size_t(i)] / std::log10(h.upper(i) / h.lower(i))
                                            : h.density(i))});
    }
    return t;
}

void ErrorHistogramPlot::rebuildLayerMetric()
{
    const QString name = LayerErrorHeatmap::metricName(m_metric);
    setTitle(tr("%1 across layers").arg(name));
    xAxis->setLabel(tr("%1 of a layer (%2)").arg(name, LayerErrorHeatmap::metricUnit(m_metric)));
    xAxis->setScaleType(QCPAxis::stLogarithmic);
    xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    yAxis->setLabel(m_log ? tr("layers (log)") : tr("layers"));
    const auto hists = layerHistograms();
    if (hists.empty()) {
        legend->setVisible(false);
        showEmptyMessage(m_metric == LayerErrorMetric::KldContribution
                             ? tr("No KLD contribution: it comes from a sensitivity sweep of this model that "
                                  "measured the shown runs' layer schemes")
                             : tr("No shown run measured its layers' output error"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    int series = 0;
    double ymax = 0;
    for (const auto& [run, h] : hists) {
        QVector<double> keys, values;
        for (int i = 0; i < h.bins(); ++i) {
            const double c = h.counts[std::size_t(i)];
            keys << h.lower(i);
            values << (m_log && c <= 0 ? std::numeric_limits<double>::quiet_NaN() : c);
            ymax = std::max(ymax, c);
            if (c > 0)
                addHoverPoint(h.center(i), c,
                              tr("%1\n[%2, %3): %n layer(s)", nullptr, int(c))
                                  .arg(run->name, number(h.lower(i)), number(h.upper(i))));
        }
        keys << h.upper(h.bins() - 1); // the last bin's right edge
        values << values.back();
        const QColor c = seriesColor(series++);
        QCPGraph* g = addGraph();
        g->setName(run->name);
        g->setLineStyle(QCPGraph::lsStepLeft);
        g->setPen(QPen(c, 1.6));
        g->setData(keys, values, true);
    }
    const Histogram& h = hists.front().second;
    xAxis->setRange(h.lower(0) / 1.5, h.upper(h.bins() - 1) * 1.5);
    if (m_log)
        yAxis->setRange(0.5, ymax * 2);
    else
        yAxis->setRange(0, ymax * 1.08 + 0.5);
    replot(QCustomPlot::rpQueuedReplot);
}

void ErrorHistogramPlot::rebuild()
{
    clearPlot();
    yAxis->setScaleType(m_log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_log)
        yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    if (m_metric != LayerErrorMetric::WeightRelMse) {
        rebuildLayerMetric();
        return;
    }
    xAxis->setScaleType(QCPAxis::stLinear);
    xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    xAxis->setLabel(tr("weight error W − Ŵ"));
    yAxis->setLabel(m_log ? tr("density (log)") : tr("density"));
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
        // This layer's two errors beside the distribution: GPTQ's weights may err more than RTN's
        // while its outputs are closer.
        const LayerMetrics* l = run->findLayer(layer());
        g->setName(tr("%1 — weight rel. MSE %2, output rel. MSE %3")
                       .arg(run->name, rounded(l->weightRelMse),
                            std::isfinite(l->outputRelMse) ? rounded(l->outputRelMse) : tr("not measured")));
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
