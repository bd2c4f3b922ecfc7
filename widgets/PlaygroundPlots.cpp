#include "PlaygroundPlots.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace qs {

PlaygroundPlot::PlaygroundPlot(QWidget* parent) : PlotWidget(parent)
{
    setFollowsFont(false); // presentation mode sizes its fonts and lines itself
    placeLegendBeside();
    m_basePointSize = font().pointSizeF() > 0 ? font().pointSizeF() : 9.0;
}

void PlaygroundPlot::setResult(std::shared_ptr<const PlaygroundResult> result)
{
    m_result = std::move(result);
    rebuild();
}

void PlaygroundPlot::setPresentationScale(double scale)
{
    m_scale = std::clamp(scale, 0.5, 4.0);
    rebuild();
}

void PlaygroundPlot::applyFonts()
{
    QFont f = font();
    f.setPointSizeF(m_basePointSize * m_scale);
    QFont ticks = f;
    ticks.setPointSizeF(m_basePointSize * 0.9 * m_scale);
    for (QCPAxis* axis : {xAxis, yAxis}) {
        axis->setLabelFont(f);
        axis->setTickLabelFont(ticks);
        axis->setBasePen(QPen(Qt::black, lineWidth(1)));
        axis->setTickPen(QPen(Qt::black, lineWidth(1)));
    }
    QFont small = f;
    small.setPointSizeF(m_basePointSize * 0.9 * m_scale);
    legend->setFont(small);
    if (plotLayout()->rowCount() > 0) {
        if (auto* title = qobject_cast<QCPTextElement*>(plotLayout()->element(0, 0))) {
            QFont t = f;
            t.setPointSizeF((m_basePointSize + 1) * m_scale);
            t.setBold(true);
            title->setFont(t);
        }
    }
}

PlaygroundValuesPlot::PlaygroundValuesPlot(QWidget* parent) : PlaygroundPlot(parent)
{
    setObjectName(QStringLiteral("playgroundValuesPlot"));
    rebuild();
}

void PlaygroundValuesPlot::setSorted(bool sorted)
{
    m_sorted = sorted;
    rebuild();
}

void PlaygroundValuesPlot::setCaption(const QString& caption)
{
    m_caption = caption;
    if (!caption.isEmpty()) {
        setTitle(caption); // the title alone: no need to rebuild the points
        replot(QCustomPlot::rpQueuedReplot);
    }
}

std::vector<std::size_t> PlaygroundValuesPlot::order() const
{
    std::vector<std::size_t> idx(m_result ? m_result->original.size() : 0);
    std::iota(idx.begin(), idx.end(), std::size_t(0));
    if (m_sorted && m_result)
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
            return m_result->original[a] < m_result->original[b];
        });
    return idx;
}

PlotTable PlaygroundValuesPlot::table() const
{
    PlotTable t;
    t.header =
        QStringList{QStringLiteral("kind"),          QStringLiteral("position"), QStringLiteral("original"),
                    QStringLiteral("reconstructed"), QStringLiteral("error"),    QStringLiteral("group")};
    if (!m_result)
        return t;
    const PlaygroundResult& r = *m_result;
    const std::vector<std::size_t> idx = order();
    for (std::size_t p = 0; p < idx.size(); ++p) {
        const std::size_t i = idx[p];
        t.rows.push_back({QStringLiteral("value"), number(double(p)), number(double(r.original[i])),
                          number(double(r.reconstructed[i])), number(double(r.errors[i])),
                          number(double(r.groupOf(std::int64_t(i))))});
    }
    for (double level : r.grid.levels)
        t.rows.push_back({QStringLiteral("level"), QString(), number(level), QString(), QString(),
                          number(double(r.shownGroup))});
    return t;
}

void PlaygroundValuesPlot::rebuild()
{
    clearPlot();
    setTitle(!m_caption.isEmpty() ? m_caption
             : m_sorted           ? tr("Values (sorted) and quantization levels")
                                  : tr("Values and quantization levels"));
    xAxis->setLabel(m_sorted ? tr("rank (sorted by value)") : tr("index in the row"));
    yAxis->setLabel(tr("value"));
    applyFonts();
    if (!m_result) {
        legend->setVisible(false);
        showEmptyMessage(tr("No row to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const PlaygroundResult& r = *m_result;
    const std::vector<std::size_t> idx = order();
    const bool many = idx.size() > 2048; // dots instead of markers when the row is long
    // Tooltips for at most ~2000 points: formatting one per value of a 65,536-value row would
    // cost more than the quantization itself.
    const std::size_t hoverStep = std::max<std::size_t>(1, idx.size() / 2000);

    // The shown group's columns (in order view) as a shaded band behind the points.
    if (!m_sorted && r.grid.end > r.grid.begin) {
        auto* band = new QCPItemRect(this);
        band->topLeft->setTypeX(QCPItemPosition::ptPlotCoords);
        band->topLeft->setTypeY(QCPItemPosition::ptAxisRectRatio);
        band->bottomRight->setTypeX(QCPItemPosition::ptPlotCoords);
        band->bottomRight->setTypeY(QCPItemPosition::ptAxisRectRatio);
        band->topLeft->setCoords(double(r.grid.begin) - 0.5, 0);
        band->bottomRight->setCoords(double(r.grid.end) - 0.5, 1);
        band->setPen(Qt::NoPen);
        band->setBrush(QColor(255, 200, 60, 45));
        band->setLayer(QStringLiteral("background"));
    }
    QVector<double> keys, orig, recon;
    keys.reserve(qsizetype(idx.size()));
    double lo = 0, hi = 0;
    for (std::size_t p = 0; p < idx.size(); ++p) {
        const std::size_t i = idx[p];
        keys << double(p);
        orig << double(r.original[i]);
        recon << double(r.reconstructed[i]);
        lo = std::min({lo, double(r.original[i]), double(r.reconstructed[i])});
        hi = std::max({hi, double(r.original[i]), double(r.reconstructed[i])});
        if (p % hoverStep == 0)
            addHoverPoint(double(p), double(r.original[i]),
                          tr("#%1 (group %2)\nvalue %3 → %4\nerror %5")
                              .arg(i)
                              .arg(r.groupOf(std::int64_t(i)))
                              .arg(number(double(r.original[i])), number(double(r.reconstructed[i])),
                                   number(double(r.errors[i]))));
    }
    // Levels: one straight line each, plus an (invisible) graph that gives them a legend entry.
    const QPen levelPen(QColor(208, 43, 43, 150), lineWidth(1), Qt::DashLine);
    for (double level : r.grid.levels) {
        auto* line = new QCPItemStraightLine(this);
        line->point1->setCoords(0, level);
        line->point2->setCoords(1, level);
        line->setPen(levelPen);
        lo = std::min(lo, level);
        hi = std::max(hi, level);
    }
    if (!r.grid.levels.empty()) {
        QCPGraph* legendOnly = addGraph();
        legendOnly->setName(tr("levels of group %1 (%2)").arg(r.shownGroup).arg(r.grid.levels.size()));
        legendOnly->setPen(levelPen);
    }
    QCPGraph* o = addGraph();
    o->setName(tr("original"));
    o->setLineStyle(m_sorted ? QCPGraph::lsLine : QCPGraph::lsNone);
    o->setPen(QPen(seriesColor(0), lineWidth(1.5)));
    o->setScatterStyle(m_sorted ? QCPScatterStyle(QCPScatterStyle::ssNone)
                       : many   ? QCPScatterStyle(QCPScatterStyle::ssDot)
                                : QCPScatterStyle(QCPScatterStyle::ssDisc, 4 * presentationScale()));
    o->setData(keys, orig, true);
    QCPGraph* q = addGraph();
    q->setName(tr("reconstructed"));
    q->setLineStyle(m_sorted ? QCPGraph::lsStepCenter : QCPGraph::lsNone);
    q->setPen(QPen(seriesColor(1), lineWidth(m_sorted ? 2.0 : 1.2)));
    q->setScatterStyle(m_sorted ? QCPScatterStyle(QCPScatterStyle::ssNone)
                       : many   ? QCPScatterStyle(QCPScatterStyle::ssDot)
                                : QCPScatterStyle(QCPScatterStyle::ssCircle, 7 * presentationScale()));
    q->setData(keys, recon, true);
    legend->setVisible(true);
    const double span = hi > lo ? hi - lo : 1.0;
    xAxis->setRange(-0.5, double(idx.size()) - 0.5);
    yAxis->setRange(lo - 0.05 * span, hi + 0.05 * span);
    replot(QCustomPlot::rpQueuedReplot);
}

PlaygroundErrorPlot::PlaygroundErrorPlot(QWidget* parent) : PlaygroundPlot(parent)
{
    setObjectName(QStringLiteral("playgroundErrorPlot"));
    rebuild();
}

PlotTable PlaygroundErrorPlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("bin_lower"), QStringLiteral("bin_upper"), QStringLiteral("count")};
    if (!m_result)
        return t;
    const Histogram& h = m_result->errorHistogram;
    for (int i = 0; i < h.bins(); ++i)
        t.rows.push_back({number(h.lower(i)), number(h.upper(i)), number(h.counts[std::size_t(i)])});
    return t;
}

void PlaygroundErrorPlot::rebuild()
{
    clearPlot();
    setTitle(m_result ? tr("Error original − reconstructed (MSE %1)").arg(m_result->mse, 0, 'g', 4)
                      : tr("Quantization error"));
    xAxis->setLabel(tr("error"));
    yAxis->setLabel(tr("count"));
    applyFonts();
    if (!m_result || m_result->errorHistogram.bins() == 0) {
        legend->setVisible(false);
        showEmptyMessage(tr("No errors to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const Histogram& h = m_result->errorHistogram;
    auto* bars = new QCPBars(xAxis, yAxis);
    bars->setPen(QPen(seriesColor(3).darker(130), lineWidth(0.5)));
    bars->setBrush(seriesColor(3));
    bars->setWidthType(QCPBars::wtPlotCoords);
    bars->setWidth(h.width(0));
    QVector<double> keys, values;
    double top = 0;
    for (int i = 0; i < h.bins(); ++i) {
        const double n = h.counts[std::size_t(i)];
        keys << h.center(i);
        values << n;
        top = std::max(top, n);
        if (n > 0)
            addHoverPoint(h.center(i), n,
                          tr("[%1, %2): %3 values").arg(number(h.lower(i)), number(h.upper(i)), number(n)));
    }
    bars->setData(keys, values, true);
    // Zero error as a reference line.
    auto* zero = new QCPItemStraightLine(this);
    zero->point1->setCoords(0, 0);
    zero->point2->setCoords(0, 1);
    zero->setPen(QPen(Qt::gray, lineWidth(1), Qt::DotLine));
    legend->setVisible(false);
    const double lo = h.edges.front(), hi = h.edges.back(), pad = 0.03 * (hi - lo);
    xAxis->setRange(std::min(lo - pad, -pad), std::max(hi + pad, pad));
    yAxis->setRange(0, top * 1.1);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
