#include "DistributionPlot.h"

#include <cmath>
#include <limits>

namespace qs {

DistributionPlot::DistributionPlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("distributionPlot"));
    placeLegendBeside();
    rebuild();
}

void DistributionPlot::setDistribution(const QString& what, const Histogram& values, const QuantGrid& grid)
{
    m_what = what;
    m_hist = values;
    m_grid = grid;
    rebuild();
}

void DistributionPlot::setValues(const QString& what, const std::vector<float>& values, const QuantGrid& grid,
                                 int bins)
{
    setDistribution(what, qs::histogram(values, bins), grid);
}

void DistributionPlot::setLogScale(bool log)
{
    m_log = log;
    rebuild();
}

bool DistributionPlot::hasData() const
{
    return m_hist.total() > 0;
}

PlotTable DistributionPlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("kind"), QStringLiteral("x_lower"), QStringLiteral("x_upper"),
                           QStringLiteral("count")};
    for (int i = 0; i < m_hist.bins(); ++i)
        t.rows.push_back({QStringLiteral("bin"), number(m_hist.lower(i)), number(m_hist.upper(i)),
                          number(m_hist.counts[std::size_t(i)])});
    for (double level : m_grid.levels)
        t.rows.push_back({QStringLiteral("level"), number(level), number(level), QString()});
    return t;
}

void DistributionPlot::rebuild()
{
    clearPlot();
    setTitle(m_what.isEmpty() ? tr("Value distribution") : m_what);
    xAxis->setLabel(tr("value"));
    yAxis->setLabel(m_log ? tr("count (log)") : tr("count"));
    yAxis->setScaleType(m_log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (m_log)
        yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    else
        yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    if (!hasData()) {
        legend->setVisible(false);
        showEmptyMessage(tr("No values to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(!m_grid.levels.empty());
    auto* bars = new QCPBars(xAxis, yAxis);
    bars->setName(tr("values"));
    const QColor c = seriesColor(0);
    bars->setPen(Qt::NoPen);
    bars->setBrush(c);
    bars->setWidthType(QCPBars::wtPlotCoords);
    bars->setWidth(m_hist.bins() ? m_hist.width(0) : 1);
    if (m_log)
        bars->setBaseValue(0.5);
    QVector<double> keys, values;
    double top = 0;
    for (int i = 0; i < m_hist.bins(); ++i) {
        const double n = m_hist.counts[std::size_t(i)];
        keys << m_hist.center(i);
        values << n;
        top = std::max(top, n);
        if (n > 0)
            addHoverPoint(
                m_hist.center(i), n,
                tr("[%1, %2): %3").arg(number(m_hist.lower(i)), number(m_hist.upper(i)), number(n)));
    }
    bars->setData(keys, values, true);
    double lo = m_hist.edges.front(), hi = m_hist.edges.back();
    if (!m_grid.levels.empty()) {
        // The levels as one impulse graph (a legend entry) rather than one item per level.
        QCPGraph* g = addGraph();
        g->setName(tr("quantization levels (%1)").arg(m_grid.levels.size()));
        g->setLineStyle(QCPGraph::lsImpulse);
        g->setPen(QPen(seriesColor(3), 1.2));
        QVector<double> lk, lv;
        const double height = top * 1.05;
        for (double level : m_grid.levels) {
            lk << level;
            lv << height;
            addHoverPoint(level, height, tr("level %1").arg(number(level)));
        }
        g->setData(lk, lv, true);
        lo = std::min(lo, m_grid.levels.front());
        hi = std::max(hi, m_grid.levels.back());
    }
    const double pad = 0.03 * (hi - lo);
    xAxis->setRange(lo - pad, hi + pad);
    yAxis->setRange(m_log ? 0.5 : 0, m_log ? top * 2 : top * 1.1);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
