#include "PlaygroundPlots.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

namespace qs {

PlaygroundPlot::PlaygroundPlot(QWidget* parent) : PlotWidget(parent)
{
    setFollowsFont(false); // presentation mode sizes its fonts and lines itself
    m_basePointSize = font().pointSizeF() > 0 ? font().pointSizeF() : 9.0;
}

void PlaygroundPlot::setResult(std::shared_ptr<const PlaygroundResult> result)
{
    setResults(std::move(result), nullptr);
}

void PlaygroundPlot::setResults(std::shared_ptr<const PlaygroundResult> a,
                                std::shared_ptr<const PlaygroundResult> b, const QString& nameA,
                                const QString& nameB)
{
    m_result = std::move(a);
    m_comparison = m_result ? std::move(b) : nullptr;
    m_nameA = nameA;
    m_nameB = nameB;
    rebuild();
}

void PlaygroundPlot::setFixedRange(double lo, double hi)
{
    m_fixedLo = lo;
    m_fixedHi = hi;
    rebuild();
}

void PlaygroundPlot::setPresentationScale(double scale)
{
    m_scale = std::clamp(scale, 0.5, 4.0);
    rebuild();
}

namespace {

/// The marker of a graph of `points` points. Hundreds of antialiased ellipses cost ~20 µs each per
/// replot on the UI thread (a 2048-value row A vs B: 90 ms), so past a few hundred points the shape
/// is drawn once into a pixmap and stamped at each point (the same look at the same size); past
/// 4096 points the markers would only cover each other, and a dot each is what is readable.
QCPScatterStyle markerFor(QCPScatterStyle::ScatterShape shape, double size, const QPen& pen,
                          std::size_t points)
{
    if (points > 4096)
        return QCPScatterStyle(QCPScatterStyle::ssDot);
    const QCPScatterStyle vector(shape, size);
    if (points <= 256)
        return vector;
    const int side = int(std::ceil(size + pen.widthF())) + 2;
    QPixmap stamp(side, side);
    stamp.fill(Qt::transparent);
    QCPPainter painter(&stamp);
    painter.setRenderHint(QPainter::Antialiasing);
    vector.applyTo(&painter, pen);
    vector.drawShape(&painter, side / 2.0, side / 2.0);
    painter.end();
    return QCPScatterStyle(stamp);
}

/// Title, axis, tick and legend fonts and axis pens of `plot` at `scale` times `basePointSize`.
void scaleFonts(QCustomPlot& plot, double basePointSize, double scale)
{
    QFont f = plot.font();
    f.setPointSizeF(basePointSize * scale);
    QFont ticks = f;
    ticks.setPointSizeF(basePointSize * 0.9 * scale);
    for (QCPAxis* axis : {plot.xAxis, plot.yAxis}) {
        axis->setLabelFont(f);
        axis->setTickLabelFont(ticks);
        axis->setBasePen(QPen(Qt::black, scale));
        axis->setTickPen(QPen(Qt::black, scale));
    }
    plot.legend->setFont(ticks);
    if (plot.plotLayout()->rowCount() > 0) {
        if (auto* title = qobject_cast<QCPTextElement*>(plot.plotLayout()->element(0, 0))) {
            QFont t = f;
            t.setPointSizeF((basePointSize + 1) * scale);
            t.setBold(true);
            title->setFont(t);
        }
    }
}

/// The legend in a row of its own below the axes (entries side by side, three to a line), so it
/// never covers a point, whatever the font.
void legendBelow(QCustomPlot& plot)
{
    if (plot.legend->layout() != plot.axisRect()->insetLayout())
        return; // already below
    plot.axisRect()->insetLayout()->take(plot.legend);
    const int row = plot.plotLayout()->rowCount();
    // Beside an empty element that takes what the legend leaves: an empty legend (no data) has a
    // small maximum width, which on its own would narrow the whole column, axes included.
    auto* line = new QCPLayoutGrid;
    plot.plotLayout()->addElement(row, 0, line);
    plot.plotLayout()->setRowStretchFactor(row, 0.001);
    line->addElement(0, 0, plot.legend);
    line->addElement(0, 1, new QCPLayoutElement(&plot));
    line->setColumnStretchFactor(1, 0.001);
    plot.legend->setFillOrder(QCPLegend::foColumnsFirst);
    plot.legend->setWrap(3);
    plot.legend->setMargins(QMargins(4, 2, 4, 2));
    // As many entries to a line as fit whole (three at most): presentation mode's larger font or a
    // narrow window gives fewer, never a clipped name.
    QObject::connect(&plot, &QCustomPlot::afterLayout, &plot, [&plot] {
        QCPLegend& legend = *plot.legend;
        std::vector<int> itemWidths; // the grid's cells include empty ones: the entries, in order
        for (int i = 0; i < legend.itemCount(); ++i)
            if (QCPAbstractLegendItem* item = legend.item(i))
                itemWidths.push_back(item->minimumOuterSizeHint().width());
        const int n = int(itemWidths.size());
        const int room = plot.width() - legend.margins().left() - legend.margins().right() - 8;
        int wrap = 1;
        for (int k = std::min(3, std::max(n, 1)); k > 1; --k) {
            std::vector<int> widths(std::size_t(k), 0);
            for (int i = 0; i < n; ++i) {
                int& w = widths[std::size_t(i % k)];
                w = std::max(w, itemWidths[std::size_t(i)]);
            }
            const int total =
                std::accumulate(widths.begin(), widths.end(), 0) + (k - 1) * legend.columnSpacing();
            if (total <= room) {
                wrap = k;
                break;
            }
        }
        if (wrap != legend.wrap()) {
            legend.setWrap(wrap);
            legend.setFillOrder(QCPLegend::foColumnsFirst, true); // moves the entries to the new lines
            plot.replot(QCustomPlot::rpQueuedReplot);             // laid out again with the new lines
        }
    });
}

/// bin_lower, bin_upper, then each histogram's counts (all over the first one's bins) as `first`, `second`.
PlotTable histogramTable(const std::vector<Histogram>& hs, const QString& first, const QString& second)
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("bin_lower"), QStringLiteral("bin_upper"), first};
    if (hs.empty())
        return t;
    if (hs.size() > 1)
        t.header << second;
    const Histogram& h = hs.front();
    for (int i = 0; i < h.bins(); ++i) {
        QStringList row{PlotWidget::number(h.lower(i)), PlotWidget::number(h.upper(i)),
                        PlotWidget::number(h.counts[std::size_t(i)])};
        if (hs.size() > 1)
            row << PlotWidget::number(hs[1].counts[std::size_t(i)]);
        t.rows.push_back(row);
    }
    return t;
}

double basePointSizeOf(const QWidget& w)
{
    return w.font().pointSizeF() > 0 ? w.font().pointSizeF() : 9.0;
}

} // namespace

void PlaygroundPlot::applyFonts()
{
    scaleFonts(*this, m_basePointSize, m_scale);
}

PlaygroundValuesPlot::PlaygroundValuesPlot(QWidget* parent) : PlaygroundPlot(parent)
{
    setObjectName(QStringLiteral("playgroundValuesPlot"));
    legendBelow(*this);
    rebuild();
}

void PlaygroundValuesPlot::setSorted(bool sorted)
{
    m_sorted = sorted;
    rebuild();
}

void PlaygroundValuesPlot::setSelectedIndex(std::int64_t index, bool rebuildNow)
{
    m_selected = index;
    if (rebuildNow)
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
    if (m_sorted && m_result) { // within each group, so every group keeps its own columns
        const auto len = std::size_t(std::max<std::int64_t>(1, m_result->groupLength));
        const auto& v = m_result->original;
        for (std::size_t b = 0; b < idx.size(); b += len)
            std::stable_sort(idx.begin() + std::ptrdiff_t(b),
                             idx.begin() + std::ptrdiff_t(std::min(idx.size(), b + len)),
                             [&](std::size_t x, std::size_t y) { return v[x] < v[y]; });
    }
    return idx;
}

double PlaygroundValuesPlot::positionOf(std::int64_t index) const
{
    if (!m_sorted)
        return double(index);
    const std::vector<std::size_t> idx = order();
    const auto it = std::find(idx.begin(), idx.end(), std::size_t(index));
    return it == idx.end() ? -1.0 : double(it - idx.begin());
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

/// One segment per level over the group's columns [begin, end) only (the shown group's); the group
/// is kept as the item's "group" property (tests and exports read it).
void PlaygroundValuesPlot::addLevels(const QuantGrid& grid, std::int64_t group, const QPen& pen)
{
    for (double level : grid.levels) {
        auto* line = new QCPItemLine(this);
        line->start->setCoords(double(grid.begin) - 0.5, level);
        line->end->setCoords(double(grid.end) - 0.5, level);
        line->setPen(pen);
        line->setProperty("group", qlonglong(group));
        line->setProperty("level", level);
    }
}

void PlaygroundValuesPlot::rebuild()
{
    clearPlot();
    setTitle(!m_caption.isEmpty() ? m_caption
             : m_sorted           ? tr("Values (sorted within each group) and quantization levels")
                                  : tr("Values and quantization levels"));
    xAxis->setLabel(m_sorted ? tr("position (each group sorted by value)") : tr("index in the row"));
    yAxis->setLabel(tr("value"));
    applyFonts();
    if (!m_result) {
        legend->setVisible(false);
        showEmptyMessage(tr("No row to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const PlaygroundResult& r = *m_result;
    const PlaygroundResult* b = m_comparison.get();
    const std::vector<std::size_t> idx = order();
    // Tooltips for at most ~2000 points: formatting one per value of a 65,536-value row would
    // cost more than the quantization itself.
    const std::size_t hoverStep = std::max<std::size_t>(1, idx.size() / 2000);

    // The shown group's columns as a shaded band behind the points (sorting keeps groups in place).
    if (r.grid.end > r.grid.begin) {
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
    QVector<double> keys, orig, recon, reconB;
    keys.reserve(qsizetype(idx.size()));
    double lo = 0, hi = 0;
    for (std::size_t p = 0; p < idx.size(); ++p) {
        const std::size_t i = idx[p];
        keys << double(p);
        orig << double(r.original[i]);
        recon << double(r.reconstructed[i]);
        lo = std::min({lo, double(r.original[i]), double(r.reconstructed[i])});
        hi = std::max({hi, double(r.original[i]), double(r.reconstructed[i])});
        if (b) {
            reconB << double(b->reconstructed[i]);
            lo = std::min(lo, double(b->reconstructed[i]));
            hi = std::max(hi, double(b->reconstructed[i]));
        }
        if (p % hoverStep == 0) // the results are shared and kept with the plot: read on hover
            addHoverPoint(double(p), double(r.original[i]), [this, a = m_result, b = m_comparison, i] {
                const std::int64_t group = a->groupOf(std::int64_t(i));
                return b ? tr("#%1 (group %2)\nvalue %3\nA → %4 (error %5)\nB → %6 (error %7)")
                               .arg(i)
                               .arg(group)
                               .arg(rounded(double(a->original[i]), 5),
                                    rounded(double(a->reconstructed[i]), 5), rounded(double(a->errors[i]), 3),
                                    rounded(double(b->reconstructed[i]), 5), rounded(double(b->errors[i]), 3))
                         : tr("#%1 (group %2)\nvalue %3 → %4\nerror %5")
                               .arg(i)
                               .arg(group)
                               .arg(rounded(double(a->original[i]), 5),
                                    rounded(double(a->reconstructed[i]), 5),
                                    rounded(double(a->errors[i]), 3));
            });
    }
    // Levels: each group's over its own columns. The other groups' faintly, when there are few
    // enough segments to read (low bits, not too many groups).
    const QPen levelPen(QColor(208, 43, 43, 170), lineWidth(1.2), Qt::DashLine);
    const QPen otherPen(QColor(208, 43, 43, 60), lineWidth(1), Qt::DotLine);
    // A rotated row is quantized as V·w: its levels are that space's (the Codebooks view draws them there),
    // not values of this row, so none are drawn over it.
    const QuantGrid shownGrid = r.rotated.empty() ? r.grid : QuantGrid{};
    if (r.rotated.empty() && r.groups() > 1 && r.groups() * std::int64_t(r.grid.levels.size()) <= 1024) {
        // The other groups' segments as one curve broken by NaN (a thousand items, one per
        // segment, took 10 ms per rebuild on the UI thread); not in the legend.
        QVector<double> segmentKeys, segmentLevels;
        for (std::int64_t g = 0; g < r.groups(); ++g) {
            if (g == r.shownGroup)
                continue;
            const QuantGrid grid = groupGrid(r, g);
            for (double level : grid.levels) {
                segmentKeys << double(grid.begin) - 0.5 << double(grid.end) - 0.5 << double(grid.end) - 0.5;
                segmentLevels << level << level << std::numeric_limits<double>::quiet_NaN();
            }
        }
        auto* others = new QCPCurve(xAxis, yAxis); // drawn in the order given (a graph sorts by x)
        others->setObjectName(QStringLiteral("otherGroupLevels"));
        others->setPen(otherPen);
        others->setData(segmentKeys, segmentLevels);
        others->removeFromLegend();
    }
    addLevels(shownGrid, r.shownGroup, levelPen);
    for (double level : shownGrid.levels) {
        lo = std::min(lo, level);
        hi = std::max(hi, level);
    }
    if (!shownGrid.levels.empty()) {
        QCPGraph* legendOnly = addGraph();
        legendOnly->setName(tr("levels of group %1 (%2)").arg(r.shownGroup).arg(shownGrid.levels.size()));
        legendOnly->setPen(levelPen);
    }
    QCPGraph* o = addGraph();
    o->setName(tr("original"));
    o->setLineStyle(QCPGraph::lsNone);
    o->setPen(QPen(seriesColor(0), lineWidth(1.5)));
    o->setScatterStyle(markerFor(QCPScatterStyle::ssDisc, 4 * presentationScale(), o->pen(), idx.size()));
    o->setData(keys, orig, true);
    QCPGraph* q = addGraph();
    q->setName(b ? tr("reconstructed A: %1").arg(m_nameA) : tr("reconstructed"));
    q->setLineStyle(QCPGraph::lsNone);
    q->setPen(QPen(seriesColor(1), lineWidth(1.2)));
    q->setScatterStyle(markerFor(QCPScatterStyle::ssCircle, 7 * presentationScale(), q->pen(), idx.size()));
    q->setData(keys, recon, true);
    if (b) {
        QCPGraph* qb = addGraph();
        qb->setName(tr("reconstructed B: %1").arg(m_nameB));
        qb->setLineStyle(QCPGraph::lsNone);
        qb->setPen(QPen(seriesColor(2), lineWidth(1.4)));
        qb->setScatterStyle(
            markerFor(QCPScatterStyle::ssCross, 7 * presentationScale(), qb->pen(), idx.size()));
        qb->setData(keys, reconB, true);
    }
    if (!r.exactColumns.empty()) { // SqueezeLLM's sparse part: these weights bypass the codebook
        QVector<double> ex, ey;
        for (std::int64_t c : r.exactColumns) {
            ex << positionOf(c);
            ey << double(r.original[std::size_t(c)]);
        }
        QCPGraph* exact = addGraph();
        exact->setName(tr("kept exact (sparse, %1)").arg(r.exactColumns.size()));
        exact->setLineStyle(QCPGraph::lsNone);
        exact->setPen(QPen(QColor(120, 60, 170), lineWidth(1.8)));
        exact->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, 11 * presentationScale()));
        exact->setData(ex, ey);
    }
    if (m_selected >= 0 && m_selected < std::int64_t(r.original.size())) {
        const double x = positionOf(m_selected);
        QCPGraph* sel = addGraph();
        sel->setName(tr("weight #%1").arg(m_selected));
        sel->setLineStyle(QCPGraph::lsNone);
        sel->setPen(QPen(Qt::black, lineWidth(2)));
        sel->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 16 * presentationScale()));
        sel->setData(QVector<double>{x, x},
                     QVector<double>{double(r.original[std::size_t(m_selected)]),
                                     double(r.reconstructed[std::size_t(m_selected)])});
    }
    legend->setVisible(true);
    const double span = hi > lo ? hi - lo : 1.0;
    xAxis->setRange(-0.5, double(idx.size()) - 0.5);
    if (hasFixedRange())
        yAxis->setRange(m_fixedLo, m_fixedHi);
    else
        yAxis->setRange(lo - 0.05 * span, hi + 0.05 * span);
    replot(QCustomPlot::rpQueuedReplot);
}

PlaygroundErrorPlot::PlaygroundErrorPlot(QWidget* parent) : PlaygroundPlot(parent)
{
    setObjectName(QStringLiteral("playgroundErrorPlot"));
    legendBelow(*this);
    rebuild();
}

std::vector<Histogram> PlaygroundErrorPlot::histograms() const
{
    std::vector<Histogram> out;
    if (!m_result)
        return out;
    // One set of bins for both (and the fixed range when there is one), so they compare.
    double lo = std::numeric_limits<double>::quiet_NaN(), hi = lo;
    if (hasFixedRange()) {
        lo = m_fixedLo;
        hi = m_fixedHi;
    } else if (m_comparison) {
        lo = std::min(m_result->errorHistogram.edges.front(), m_comparison->errorHistogram.edges.front());
        hi = std::max(m_result->errorHistogram.edges.back(), m_comparison->errorHistogram.edges.back());
    }
    const int bins = std::max(1, m_result->errorHistogram.bins());
    if (!std::isfinite(lo)) {
        out.push_back(m_result->errorHistogram);
        return out;
    }
    for (const PlaygroundResult* r : {m_result.get(), m_comparison.get()})
        if (r) {
            std::vector<float> clipped(r->errors); // beyond a fixed range: the outer bins
            for (float& e : clipped)
                e = float(std::clamp(double(e), lo, hi));
            out.push_back(histogram(clipped.data(), clipped.size(), bins, BinScale::Linear, lo, hi));
        }
    return out;
}

PlotTable PlaygroundErrorPlot::table() const
{
    return histogramTable(histograms(), QStringLiteral("count"), QStringLiteral("count_b"));
}

void PlaygroundErrorPlot::rebuild()
{
    clearPlot();
    setTitle(!m_result      ? tr("Quantization error")
             : m_comparison ? tr("Error original − reconstructed (MSE A %1, B %2)")
                                  .arg(rounded(m_result->mse), rounded(m_comparison->mse))
                            : tr("Error original − reconstructed (MSE %1)").arg(rounded(m_result->mse)));
    xAxis->setLabel(tr("error"));
    yAxis->setLabel(tr("count"));
    applyFonts();
    const std::vector<Histogram> hs = histograms();
    if (hs.empty() || hs.front().bins() == 0) {
        legend->setVisible(false);
        showEmptyMessage(tr("No errors to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const Histogram& h = hs.front();
    auto* bars = new QCPBars(xAxis, yAxis);
    bars->setName(m_comparison ? tr("A: %1").arg(m_nameA) : tr("errors"));
    bars->setPen(QPen(seriesColor(3).darker(130), lineWidth(0.5)));
    bars->setBrush(m_comparison
                       ? QColor(seriesColor(3).red(), seriesColor(3).green(), seriesColor(3).blue(), 150)
                       : seriesColor(3));
    bars->setWidthType(QCPBars::wtPlotCoords);
    bars->setWidth(h.width(0));
    QVector<double> keys, values, valuesB;
    double top = 0;
    for (int i = 0; i < h.bins(); ++i) {
        const double n = h.counts[std::size_t(i)];
        keys << h.center(i);
        values << n;
        top = std::max(top, n);
        const double nb = hs.size() > 1 ? hs[1].counts[std::size_t(i)] : 0;
        if (hs.size() > 1) {
            valuesB << nb;
            top = std::max(top, nb);
        }
        if (n > 0 || nb > 0)
            addHoverPoint(
                h.center(i), std::max(n, nb),
                hs.size() > 1
                    ? tr("[%1, %2): A %3, B %4 values")
                          .arg(rounded(h.lower(i)), rounded(h.upper(i)), number(n), number(nb))
                    : tr("[%1, %2): %3 values").arg(rounded(h.lower(i)), rounded(h.upper(i)), number(n)));
    }
    bars->setData(keys, values, true);
    if (hs.size() > 1) { // B as an outline over the same bins
        QCPGraph* outline = addGraph();
        outline->setName(tr("B: %1").arg(m_nameB));
        outline->setLineStyle(QCPGraph::lsStepCenter);
        outline->setPen(QPen(seriesColor(2), lineWidth(2.2)));
        outline->setData(keys, valuesB, true);
        legend->setVisible(true);
    } else {
        legend->setVisible(false);
    }
    // Zero error as a reference line.
    auto* zero = new QCPItemStraightLine(this);
    zero->point1->setCoords(0, 0);
    zero->point2->setCoords(0, 1);
    zero->setPen(QPen(Qt::gray, lineWidth(1), Qt::DotLine));
    const double lo = h.edges.front(), hi = h.edges.back(), pad = 0.03 * (hi - lo);
    xAxis->setRange(std::min(lo - pad, -pad), std::max(hi + pad, pad));
    yAxis->setRange(0, top * 1.1);
    replot(QCustomPlot::rpQueuedReplot);
}

PlaygroundPairsPlot::PlaygroundPairsPlot(QWidget* parent) : PlaygroundPlot(parent)
{
    setObjectName(QStringLiteral("playgroundPairsPlot"));
    legendBelow(*this);
    rebuild();
}

PlotTable PlaygroundPairsPlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("kind"), QStringLiteral("x"), QStringLiteral("y")};
    if (!m_result)
        return t;
    const PlaygroundPairs& p = m_result->pairs;
    for (std::size_t i = 0; i < p.pointX.size(); ++i)
        t.rows.push_back({QStringLiteral("point"), number(p.pointX[i]), number(p.pointY[i])});
    for (std::size_t i = 0; i < p.weightX.size(); ++i) {
        t.rows.push_back({QStringLiteral("weight"), number(p.weightX[i]), number(p.weightY[i])});
        t.rows.push_back(
            {QStringLiteral("reconstructed"), number(p.reconstructedX[i]), number(p.reconstructedY[i])});
    }
    return t;
}

void PlaygroundPairsPlot::rebuild()
{
    clearPlot();
    const PlaygroundResult* r = m_result.get();
    setTitle(!r ? tr("Codebook points") : tr("Codebook points — %1: %2").arg(r->spec.label(), r->pairs.what));
    const bool rotated = r && !r->rotated.empty();
    xAxis->setLabel(rotated ? tr("first weight of the pair (rotated, V·w)") : tr("first weight of the pair"));
    yAxis->setLabel(rotated ? tr("second weight (rotated)") : tr("second weight"));
    applyFonts();
    if (!r || r->pairs.weightX.empty()) {
        legend->setVisible(false);
        showEmptyMessage(r ? tr("The row has no pair to show") : tr("No row to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const PlaygroundPairs& p = r->pairs;
    auto vec = [](const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); };
    // The axes around the row's pairs and their reconstructions (a lattice reaches far beyond them).
    double lo = 0, hi = 0;
    for (const std::vector<double>* v : {&p.weightX, &p.weightY, &p.reconstructedX, &p.reconstructedY})
        for (double x : *v) {
            lo = std::min(lo, x);
            hi = std::max(hi, x);
        }
    const double span = hi > lo ? hi - lo : 1.0;
    lo -= 0.08 * span;
    hi += 0.08 * span;
    auto* points = new QCPCurve(xAxis, yAxis); // a curve keeps the order given and draws no line
    points->setName(
        p.sampled ? tr("reachable points (%1 of %2 sums, sampled)").arg(p.pointX.size()).arg(p.reachable)
                  : tr("reachable points (%1)").arg(p.pointX.size()));
    points->setLineStyle(QCPCurve::lsNone);
    const QPen pointPen(QColor(120, 120, 120, 150), lineWidth(1));
    points->setPen(pointPen);
    points->setScatterStyle(
        markerFor(QCPScatterStyle::ssCircle, 3.5 * presentationScale(), pointPen, p.pointX.size()));
    points->setData(vec(p.pointX), vec(p.pointY));
    // Each pair joined to its reconstruction: one curve broken by NaN.
    QVector<double> lineX, lineY;
    const double gap = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = 0; i < p.weightX.size(); ++i) {
        lineX << p.weightX[i] << p.reconstructedX[i] << gap;
        lineY << p.weightY[i] << p.reconstructedY[i] << gap;
    }
    auto* errors = new QCPCurve(xAxis, yAxis);
    errors->setName(tr("error"));
    errors->setPen(QPen(QColor(208, 43, 43, 170), lineWidth(1)));
    errors->setData(lineX, lineY);
    auto* weights = new QCPCurve(xAxis, yAxis);
    weights->setName(tr("weight pairs (%1)").arg(p.weightX.size()));
    weights->setLineStyle(QCPCurve::lsNone);
    weights->setPen(QPen(seriesColor(0), lineWidth(1.5)));
    weights->setScatterStyle(
        markerFor(QCPScatterStyle::ssDisc, 5 * presentationScale(), weights->pen(), p.weightX.size()));
    weights->setData(vec(p.weightX), vec(p.weightY));
    auto* recon = new QCPCurve(xAxis, yAxis);
    recon->setName(tr("reconstructed"));
    recon->setLineStyle(QCPCurve::lsNone);
    recon->setPen(QPen(seriesColor(1), lineWidth(1.4)));
    recon->setScatterStyle(
        markerFor(QCPScatterStyle::ssCircle, 8 * presentationScale(), recon->pen(), p.weightX.size()));
    recon->setData(vec(p.reconstructedX), vec(p.reconstructedY));
    const std::size_t hoverStep = std::max<std::size_t>(1, p.weightX.size() / 2000);
    for (std::size_t i = 0; i < p.weightX.size(); i += hoverStep)
        addHoverPoint(p.weightX[i], p.weightY[i],
                      tr("pair %1: (%2, %3) → (%4, %5)")
                          .arg(i)
                          .arg(rounded(p.weightX[i]), rounded(p.weightY[i]), rounded(p.reconstructedX[i]),
                               rounded(p.reconstructedY[i])));
    if (p.shownPair >= 0 && p.shownPair < std::int64_t(p.weightX.size())) {
        const auto i = std::size_t(p.shownPair);
        QCPGraph* shown = addGraph(); // a graph: its neutral pen follows the theme
        shown->setName(tr("vector %1").arg(r->shownGroup));
        shown->setLineStyle(QCPGraph::lsNone);
        shown->setPen(QPen(Qt::black, lineWidth(2)));
        shown->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 16 * presentationScale()));
        shown->setData(QVector<double>{p.weightX[i], p.reconstructedX[i]},
                       QVector<double>{p.weightY[i], p.reconstructedY[i]});
    }
    legend->setVisible(true);
    xAxis->setRange(lo, hi);
    yAxis->setRange(lo, hi);
    replot(QCustomPlot::rpQueuedReplot);
}

PlaygroundRotationPlot::PlaygroundRotationPlot(QWidget* parent) : PlaygroundPlot(parent)
{
    setObjectName(QStringLiteral("playgroundRotationPlot"));
    legendBelow(*this);
    rebuild();
}

const PlaygroundResult* PlaygroundRotationPlot::rotatedResult() const
{
    for (const PlaygroundResult* r : {m_result.get(), m_comparison.get()})
        if (r && !r->rotated.empty())
            return r;
    return nullptr;
}

std::vector<Histogram> PlaygroundRotationPlot::histograms() const
{
    std::vector<Histogram> out;
    if (!m_result || m_result->original.empty())
        return out;
    const PlaygroundResult* rot = rotatedResult();
    double lo = 0, hi = 0;
    for (const std::vector<float>* v : {&m_result->original, rot ? &rot->rotated : nullptr})
        if (v)
            for (float x : *v) {
                lo = std::min(lo, double(x));
                hi = std::max(hi, double(x));
            }
    if (!(hi > lo))
        hi = lo + 1;
    const int bins = std::clamp(int(std::sqrt(double(m_result->original.size())) * 2), 20, 120);
    out.push_back(
        histogram(m_result->original.data(), m_result->original.size(), bins, BinScale::Linear, lo, hi));
    if (rot)
        out.push_back(histogram(rot->rotated.data(), rot->rotated.size(), bins, BinScale::Linear, lo, hi));
    return out;
}

PlotTable PlaygroundRotationPlot::table() const
{
    return histogramTable(histograms(), QStringLiteral("original"), QStringLiteral("rotated"));
}

void PlaygroundRotationPlot::rebuild()
{
    clearPlot();
    const PlaygroundResult* rot = rotatedResult();
    setTitle(!m_result ? tr("Distribution of the row")
             : rot     ? tr("The row before and after the Hadamard rotation (%1)").arg(rot->spec.label())
                       : tr("Distribution of the row (no rotation: choose Hadamard rotation, or QuIP#)"));
    xAxis->setLabel(tr("value"));
    yAxis->setLabel(tr("count"));
    applyFonts();
    const std::vector<Histogram> hs = histograms();
    if (hs.empty()) {
        legend->setVisible(false);
        showEmptyMessage(tr("No row to show"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const Histogram& h = hs.front();
    QVector<double> keys, orig, rotated;
    double top = 0;
    for (int i = 0; i < h.bins(); ++i) {
        keys << h.center(i);
        orig << h.counts[std::size_t(i)];
        top = std::max(top, h.counts[std::size_t(i)]);
        if (hs.size() > 1) {
            rotated << hs[1].counts[std::size_t(i)];
            top = std::max(top, hs[1].counts[std::size_t(i)]);
        }
    }
    auto* bars = new QCPBars(xAxis, yAxis);
    bars->setName(tr("original w (kurtosis %1)").arg(rounded(m_result->kurtosis, 3)));
    const QColor c = seriesColor(0);
    bars->setPen(QPen(c.darker(130), lineWidth(0.5)));
    bars->setBrush(QColor(c.red(), c.green(), c.blue(), hs.size() > 1 ? 120 : 220));
    bars->setWidthType(QCPBars::wtPlotCoords);
    bars->setWidth(h.width(0));
    bars->setData(keys, orig, true);
    if (hs.size() > 1) {
        QCPGraph* outline = addGraph();
        outline->setName(tr("rotated V·w (kurtosis %1)").arg(rounded(rot->rotatedKurtosis, 3)));
        outline->setLineStyle(QCPGraph::lsStepCenter);
        outline->setPen(QPen(seriesColor(2), lineWidth(2.2)));
        outline->setData(keys, rotated, true);
    }
    // The Gaussian of the row's standard deviation (a rotation keeps the norm, so the same σ for both).
    double mean = 0, sq = 0;
    for (float v : m_result->original) {
        mean += v;
        sq += double(v) * double(v);
    }
    const auto n = double(m_result->original.size());
    mean /= n;
    const double sigma = std::sqrt(std::max(0.0, sq / n - mean * mean));
    if (sigma > 0) {
        QVector<double> gx, gy;
        const double lo = h.edges.front(), hi = h.edges.back();
        for (int i = 0; i <= 200; ++i) {
            const double x = lo + (hi - lo) * i / 200.0, z = (x - mean) / sigma;
            gx << x;
            gy << n * h.width(0) * std::exp(-0.5 * z * z) / (sigma * std::sqrt(2 * std::numbers::pi));
        }
        QCPGraph* g = addGraph();
        g->setName(tr("Gaussian, same σ"));
        g->setPen(QPen(Qt::darkGray, lineWidth(1.2), Qt::DashLine));
        g->setData(gx, gy, true);
    }
    for (int i = 0; i < h.bins(); ++i)
        if (orig[i] > 0 || (hs.size() > 1 && rotated[i] > 0))
            addHoverPoint(
                keys[i], std::max(orig[i], hs.size() > 1 ? rotated[i] : 0.0),
                hs.size() > 1
                    ? tr("[%1, %2): %3 original, %4 rotated")
                          .arg(rounded(h.lower(i)), rounded(h.upper(i)), number(orig[i]), number(rotated[i]))
                    : tr("[%1, %2): %3 values")
                          .arg(rounded(h.lower(i)), rounded(h.upper(i)), number(orig[i])));
    legend->setVisible(true);
    xAxis->setRange(h.edges.front(), h.edges.back());
    yAxis->setRange(0, top * 1.1);
    replot(QCustomPlot::rpQueuedReplot);
}

PlaygroundGptqPlot::PlaygroundGptqPlot(QWidget* parent) : PlotWidget(parent)
{
    legendBelow(*this);
}

void PlaygroundGptqPlot::setDemo(std::shared_ptr<const GptqDemo> demo, std::int64_t step)
{
    m_demo = std::move(demo);
    m_step = step;
    rebuild();
}

void PlaygroundGptqPlot::setPresentationScale(double scale)
{
    m_scale = std::clamp(scale, 0.5, 4.0);
    rebuild();
}

PlaygroundGptqRowPlot::PlaygroundGptqRowPlot(QWidget* parent) : PlaygroundGptqPlot(parent)
{
    setObjectName(QStringLiteral("playgroundGptqRowPlot"));
    rebuild();
}

PlotTable PlaygroundGptqRowPlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("column"), QStringLiteral("original"), QStringLiteral("before"),
                           QStringLiteral("after"), QStringLiteral("quantized")};
    if (!m_demo)
        return t;
    const std::vector<double> before = m_demo->weightsAfter(m_step), after = m_demo->weightsAfter(m_step + 1);
    std::vector<bool> done(std::size_t(m_demo->columns()), false);
    for (std::int64_t i = 0; i <= std::min(m_step, m_demo->columns() - 1); ++i)
        done[std::size_t(m_demo->trace.order[std::size_t(i)])] = true;
    for (std::int64_t c = 0; c < m_demo->columns(); ++c)
        t.rows.push_back({number(double(c)), number(double(m_demo->original[std::size_t(c)])),
                          number(before[std::size_t(c)]), number(after[std::size_t(c)]),
                          done[std::size_t(c)] ? QStringLiteral("1") : QStringLiteral("0")});
    return t;
}

void PlaygroundGptqRowPlot::rebuild()
{
    clearPlot();
    setTitle(
        m_demo
            ? tr("GPTQ step %1 of %2").arg(std::min(m_step, m_demo->columns() - 1) + 1).arg(m_demo->columns())
            : tr("GPTQ column by column"));
    xAxis->setLabel(tr("column"));
    yAxis->setLabel(tr("weight"));
    yAxis2->setVisible(false);
    xAxis->ticker()->setTickCount(m_scale > 1.2 ? 4 : 6);
    legend->setWrap(m_scale > 1.2 ? 2 : 3);
    scaleFonts(*this, basePointSizeOf(*this), m_scale);
    if (!m_demo) {
        legend->setVisible(false);
        showEmptyMessage(tr("Compute the layer's calibration statistics to start"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const GptqDemo& d = *m_demo;
    const std::int64_t n = d.columns(), step = std::clamp<std::int64_t>(m_step, 0, n - 1);
    const std::vector<double> before = d.weightsAfter(step), after = d.weightsAfter(step + 1);
    std::vector<bool> quantized(std::size_t(n), false);
    for (std::int64_t i = 0; i <= step; ++i)
        quantized[std::size_t(d.trace.order[std::size_t(i)])] = true;
    QVector<double> keys, orig, qKeys, qValues, restKeys, restBefore, restAfter, change;
    double lo = 0, hi = 0, biggest = 0;
    for (std::int64_t c = 0; c < n; ++c) {
        const auto cs = std::size_t(c);
        keys << double(c);
        orig << double(d.original[cs]);
        lo = std::min({lo, double(d.original[cs]), before[cs], after[cs]});
        hi = std::max({hi, double(d.original[cs]), before[cs], after[cs]});
        if (quantized[cs]) {
            qKeys << double(c);
            qValues << after[cs];
        } else {
            restKeys << double(c);
            restBefore << before[cs];
            restAfter << after[cs];
            change << after[cs] - before[cs];
            biggest = std::max(biggest, std::fabs(after[cs] - before[cs]));
        }
        if (c % std::max<std::int64_t>(1, n / 2000) == 0)
            addHoverPoint(double(c), after[cs],
                          [c, original = double(d.original[cs]), from = before[cs], to = after[cs]] {
                              return tr("column %1\noriginal %2\nbefore %3 → after %4")
                                  .arg(c)
                                  .arg(rounded(original, 5), rounded(from, 5), rounded(to, 5));
                          });
    }
    auto scatter = [&](QCPScatterStyle::ScatterShape shape, double size, const QPen& pen) {
        return markerFor(shape, size * m_scale, pen, std::size_t(n));
    };
    QCPGraph* o = addGraph();
    o->setName(tr("original"));
    o->setLineStyle(QCPGraph::lsNone);
    o->setPen(QPen(QColor(150, 150, 150), m_scale));
    o->setScatterStyle(scatter(QCPScatterStyle::ssDisc, 3, o->pen()));
    o->setData(keys, orig, true);
    QCPGraph* rb = addGraph();
    rb->setName(tr("before this step"));
    rb->setLineStyle(QCPGraph::lsNone);
    rb->setPen(QPen(seriesColor(0).lighter(140), m_scale));
    rb->setScatterStyle(scatter(QCPScatterStyle::ssCircle, 6, rb->pen()));
    rb->setData(restKeys, restBefore, true);
    QCPGraph* ra = addGraph();
    ra->setName(tr("after (updated)"));
    ra->setLineStyle(QCPGraph::lsNone);
    ra->setPen(QPen(seriesColor(0), 1.5 * m_scale));
    ra->setScatterStyle(scatter(QCPScatterStyle::ssDisc, 5, ra->pen()));
    ra->setData(restKeys, restAfter, true);
    QCPGraph* q = addGraph();
    q->setName(tr("quantized"));
    q->setLineStyle(QCPGraph::lsNone);
    q->setPen(QPen(seriesColor(1), 1.5 * m_scale));
    q->setScatterStyle(scatter(QCPScatterStyle::ssSquare, 6, q->pen()));
    q->setData(qKeys, qValues, true);
    // This step's update of each remaining column, on its own axis (it is small next to the weights).
    auto* bars = new QCPBars(xAxis, yAxis2);
    bars->setName(tr("change (right axis)"));
    bars->setWidth(0.8);
    bars->setPen(Qt::NoPen);
    bars->setBrush(QColor(120, 60, 170, 110));
    bars->setData(restKeys, change);
    yAxis2->setVisible(true);
    yAxis2->setLabel(tr("change"));
    yAxis2->setLabelFont(yAxis->labelFont());
    yAxis2->setTickLabelFont(yAxis->tickLabelFont());
    const double b = biggest > 0 ? 1.05 * biggest : 1.0;
    yAxis2->setRange(-b, b);
    const std::int64_t col = d.trace.order[std::size_t(step)];
    QCPGraph* cur = addGraph();
    cur->setName(tr("column %1 (this step)").arg(col));
    cur->setLineStyle(QCPGraph::lsNone);
    cur->setPen(QPen(Qt::black, 2 * m_scale));
    cur->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 16 * m_scale));
    cur->setData(QVector<double>{double(col)}, QVector<double>{after[std::size_t(col)]});
    legend->setVisible(true);
    const double span = hi > lo ? hi - lo : 1.0;
    xAxis->setRange(-0.5, double(n) - 0.5);
    yAxis->setRange(lo - 0.05 * span,
                    hi + 0.05 * span); // from the whole demonstration's values: fixed while stepping
    replot(QCustomPlot::rpQueuedReplot);
}

PlaygroundGptqCurvePlot::PlaygroundGptqCurvePlot(QWidget* parent) : PlaygroundGptqPlot(parent)
{
    setObjectName(QStringLiteral("playgroundGptqCurvePlot"));
    rebuild();
}

PlotTable PlaygroundGptqCurvePlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("columns"), QStringLiteral("gptq"), QStringLiteral("rtn"),
                           QStringLiteral("signround_final")};
    if (!m_demo)
        return t;
    for (std::size_t k = 0; k < m_demo->curveSteps.size(); ++k)
        t.rows.push_back({number(double(m_demo->curveSteps[k])), number(m_demo->gptqCurve[k]),
                          number(m_demo->rtnCurve[k]), number(m_demo->learned.learnedError)});
    return t;
}

void PlaygroundGptqCurvePlot::rebuild()
{
    clearPlot();
    setTitle(tr("Output error"));
    xAxis->setLabel(tr("columns quantized"));
    yAxis->setLabel(tr("‖(w − ŵ)X‖² / n"));
    legend->setWrap(m_scale > 1.2 ? 1 : 2);
    xAxis->ticker()->setTickCount(m_scale > 1.2 ? 4 : 6); // large tick labels must not run together
    scaleFonts(*this, basePointSizeOf(*this), m_scale);
    if (!m_demo || m_demo->curveSteps.empty()) {
        legend->setVisible(false);
        showEmptyMessage(tr("No demonstration yet"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const GptqDemo& d = *m_demo;
    QVector<double> keys, g, r;
    double top = 0;
    for (std::size_t k = 0; k < d.curveSteps.size(); ++k) {
        keys << double(d.curveSteps[k]);
        g << d.gptqCurve[k];
        r << d.rtnCurve[k];
        top = std::max({top, d.gptqCurve[k], d.rtnCurve[k]});
        addHoverPoint(keys.back(), d.gptqCurve[k],
                      tr("%1 columns\nGPTQ %2\nRTN %3")
                          .arg(d.curveSteps[k])
                          .arg(rounded(d.gptqCurve[k]), rounded(d.rtnCurve[k])));
    }
    QCPGraph* rg = addGraph();
    rg->setName(tr("RTN (no feedback)"));
    rg->setPen(QPen(seriesColor(3), 2 * m_scale));
    rg->setData(keys, r, true);
    QCPGraph* gg = addGraph();
    gg->setName(tr("GPTQ (error fed back)"));
    gg->setPen(QPen(seriesColor(1), 2.5 * m_scale));
    gg->setData(keys, g, true);
    if (!d.learned.curve.empty()) { // SignRound's learned rounding ends at one error: a level line
        QCPGraph* lg = addGraph();
        lg->setName(tr("SignRound (learned rounding)"));
        lg->setPen(QPen(seriesColor(2), 2 * m_scale, Qt::DashDotLine));
        lg->setData(QVector<double>{0.0, double(d.columns())},
                    QVector<double>{d.learned.learnedError, d.learned.learnedError}, true);
        top = std::max(top, d.learned.learnedError);
    }
    auto* now = new QCPItemStraightLine(this);
    const double x = double(std::clamp<std::int64_t>(m_step + 1, 0, d.columns()));
    now->point1->setCoords(x, 0);
    now->point2->setCoords(x, 1);
    now->setPen(QPen(Qt::black, m_scale, Qt::DashLine));
    legend->setVisible(true);
    xAxis->setRange(0, double(d.columns()));
    yAxis->setRange(0, top > 0 ? top * 1.1 : 1.0);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
