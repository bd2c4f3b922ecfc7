#include "LossSizePlot.h"

#include "results/PlotData.h"

#include <QFontMetrics>
#include <algorithm>
#include <cmath>
#include <limits>

namespace qs {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMarkerSize = 9;

QString sizeColumnName(LossSizePlot::Size size)
{
    switch (size) {
    case LossSizePlot::Size::BitsPerWeight:
        return QStringLiteral("bpw");
    case LossSizePlot::Size::Megabytes:
        return QStringLiteral("MB");
    case LossSizePlot::Size::DecodeSpeed:
        return QStringLiteral("decode_tokens_per_second");
    case LossSizePlot::Size::PrefillSpeed:
        return QStringLiteral("prefill_tokens_per_second");
    case LossSizePlot::Size::ResidentMegabytes:
        return QStringLiteral("resident_MB");
    }
    return QString();
}

QString lossColumnName(LossSizePlot::Loss loss)
{
    switch (loss) {
    case LossSizePlot::Loss::Perplexity:
        return QStringLiteral("ppl");
    case LossSizePlot::Loss::DeltaPerplexity:
        return QStringLiteral("delta_ppl");
    case LossSizePlot::Loss::Kld:
        return QStringLiteral("kld");
    case LossSizePlot::Loss::Top1:
        return QStringLiteral("top1_percent");
    }
    return QString();
}

/// A run's legend entry: its name and, when short enough to read there, what ran.
QString legendName(const RunSummary& r)
{
    if (r.recipeSummary.isEmpty() || r.recipeSummary == r.name)
        return r.name;
    const QString recipe =
        r.recipeSummary.size() > 28 ? r.recipeSummary.left(27) + QChar(0x2026) : r.recipeSummary;
    return QStringLiteral("%1: %2").arg(r.name, recipe);
}

} // namespace

LossSizePlot::LossSizePlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("lossSizePlot"));
    // The legend (one entry per run) beside the axes, top-aligned, never over a point.
    placeLegendBeside();
    legend->setVisible(true);
    // Pixel positions are known only once the layout ran (size, margins, tick labels).
    connect(this, &QCustomPlot::afterLayout, this, &LossSizePlot::placeBaselineLabel);
    rebuild();
}

void LossSizePlot::setRuns(std::vector<RunSummary> runs, std::optional<RunSummary> baseline)
{
    m_runs = std::move(runs);
    m_baseline = std::move(baseline);
    rebuild();
}

void LossSizePlot::setLoss(Loss loss)
{
    m_loss = loss;
    rebuild();
}

void LossSizePlot::setSize(Size size)
{
    m_size = size;
    rebuild();
}

void LossSizePlot::setParetoVisible(bool visible)
{
    m_pareto = visible;
    rebuild();
}

double LossSizePlot::sizeOf(const RunSummary& r, Size size)
{
    switch (size) {
    case Size::BitsPerWeight:
        return r.bitsPerWeight > 0 ? r.bitsPerWeight : kNaN;
    case Size::Megabytes:
        return r.modelBytes ? r.megabytes() : kNaN;
    case Size::DecodeSpeed:
        return r.decodeTokensPerSecond;
    case Size::PrefillSpeed:
        return r.prefillTokensPerSecond;
    case Size::ResidentMegabytes:
        return r.residentBytes ? double(r.residentBytes) / 1e6 : kNaN;
    }
    return kNaN;
}

double LossSizePlot::lossOf(const RunSummary& r, Loss loss)
{
    switch (loss) {
    case Loss::Perplexity:
        return r.ppl;
    case Loss::DeltaPerplexity:
        return r.deltaPpl;
    case Loss::Kld:
        return r.kldMean;
    case Loss::Top1:
        return r.top1Percent;
    }
    return kNaN;
}

double LossSizePlot::errorOf(const RunSummary& r, Loss loss)
{
    switch (loss) {
    case Loss::Perplexity:
        return r.pplError;
    case Loss::DeltaPerplexity:
        return r.deltaPplError;
    case Loss::Kld:
        return r.kldError;
    case Loss::Top1:
        return r.top1Error;
    }
    return kNaN;
}

QString LossSizePlot::sizeLabel(Size size)
{
    switch (size) {
    case Size::BitsPerWeight:
        return tr("bits per weight (whole model)");
    case Size::Megabytes:
        return tr("model size (MB)");
    case Size::DecodeSpeed:
        return tr("decode tokens/s (measured)");
    case Size::PrefillSpeed:
        return tr("prefill tokens/s (measured)");
    case Size::ResidentMegabytes:
        return tr("weights in memory while running (MB, measured)");
    }
    return QString();
}

QString LossSizePlot::lossLabel(Loss loss)
{
    switch (loss) {
    case Loss::Perplexity:
        return tr("perplexity");
    case Loss::DeltaPerplexity:
        return tr("Δ perplexity vs float (paired error)");
    case Loss::Kld:
        return tr("mean KLD to the float model");
    case Loss::Top1:
        return tr("top-1 agreement with float (%)");
    }
    return QString();
}

bool LossSizePlot::anyHas(const std::vector<RunSummary>& runs, Loss loss)
{
    return std::any_of(runs.begin(), runs.end(),
                       [loss](const RunSummary& r) { return std::isfinite(lossOf(r, loss)); });
}

bool LossSizePlot::anyHas(const std::vector<RunSummary>& runs, Size size)
{
    return std::any_of(runs.begin(), runs.end(),
                       [size](const RunSummary& r) { return std::isfinite(sizeOf(r, size)); });
}

bool LossSizePlot::higherIsBetter() const
{
    return m_size == Size::DecodeSpeed || m_size == Size::PrefillSpeed;
}

std::optional<double> LossSizePlot::baselineValue() const
{
    switch (m_loss) {
    case Loss::Perplexity:
        if (m_baseline && m_baseline->hasPerplexity())
            return m_baseline->ppl;
        return std::nullopt;
    case Loss::DeltaPerplexity:
    case Loss::Kld:
        return 0.0; // the float model against itself
    case Loss::Top1:
        return 100.0;
    }
    return std::nullopt;
}

bool LossSizePlot::hasData() const
{
    for (const RunSummary& r : m_runs) {
        if (std::isfinite(lossOf(r, m_loss)) && std::isfinite(sizeOf(r, m_size)))
            return true;
    }
    return false;
}

std::vector<std::size_t> LossSizePlot::front() const
{
    std::vector<SizeLossPoint> points;
    for (const RunSummary& r : m_runs) {
        const double x = sizeOf(r, m_size), y = lossOf(r, m_loss);
        points.push_back({higherIsBetter() ? -x : x, m_loss == Loss::Top1 ? -y : y});
    }
    return paretoFront(points);
}

PlotTable LossSizePlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("run"),  QStringLiteral("method"),     sizeColumnName(m_size),
                           lossColumnName(m_loss), QStringLiteral("loss_error"), QStringLiteral("pareto")};
    const std::vector<std::size_t> f = front();
    for (std::size_t i = 0; i < m_runs.size(); ++i) {
        const RunSummary& r = m_runs[i];
        if (!std::isfinite(lossOf(r, m_loss)))
            continue;
        const bool onFront = std::find(f.begin(), f.end(), i) != f.end();
        t.rows.push_back({r.name, r.method, number(sizeOf(r, m_size)), number(lossOf(r, m_loss)),
                          number(errorOf(r, m_loss)), onFront ? QStringLiteral("1") : QStringLiteral("0")});
    }
    if (m_baseline && baselineValue())
        t.rows.push_back({m_baseline->name, m_baseline->method, number(sizeOf(*m_baseline, m_size)),
                          number(*baselineValue()),
                          m_loss == Loss::Perplexity ? number(m_baseline->pplError) : QString(),
                          QStringLiteral("baseline")});
    return t;
}

void LossSizePlot::rebuild()
{
    m_runGraphs.clear();
    m_frontGraph = nullptr;
    m_baselineLabel = nullptr;
    clearPlot();
    xAxis->setLabel(sizeLabel(m_size));
    yAxis->setLabel(lossLabel(m_loss));
    if (!hasData()) {
        legend->setVisible(false);
        showEmptyMessage(
            m_runs.empty() ? tr("No evaluated runs to show")
                           : tr("No shown run has both %1 and %2").arg(lossLabel(m_loss), sizeLabel(m_size)));
        xAxis->setRange(0, 1);
        yAxis->setRange(0, 1);
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    // One series per run (its colour and legend entry); the marker's shape says the method.
    QStringList methods;
    const QCPScatterStyle::ScatterShape shapes[] = {QCPScatterStyle::ssDisc,    QCPScatterStyle::ssSquare,
                                                    QCPScatterStyle::ssDiamond, QCPScatterStyle::ssTriangle,
                                                    QCPScatterStyle::ssCircle,  QCPScatterStyle::ssCross};
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i = 0; i < m_runs.size(); ++i) {
        const RunSummary& r = m_runs[i];
        const double x = sizeOf(r, m_size), y = lossOf(r, m_loss), err = errorOf(r, m_loss);
        if (!std::isfinite(x) || !std::isfinite(y))
            continue;
        if (!methods.contains(r.method))
            methods << r.method;
        const double e = std::isfinite(err) ? err : 0.0;
        lo = std::min(lo, y - e);
        hi = std::max(hi, y + e);
        QString tip =
            QStringLiteral("%1\n%2\n%3: %4\n%5: %6")
                .arg(r.name, r.recipeSummary, sizeLabel(m_size), rounded(x), lossLabel(m_loss), rounded(y));
        if (std::isfinite(err))
            tip += QStringLiteral(" ± %1").arg(rounded(err, 2));
        addHoverPoint(x, y, tip);
        const QColor c = seriesColor(int(i));
        QCPGraph* g = addGraph();
        g->setName(legendName(r));
        g->setProperty("run", r.name);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(shapes[methods.indexOf(r.method) % 6], c, c, kMarkerSize));
        g->setPen(QPen(c));
        g->setData(QVector<double>{x}, QVector<double>{y});
        m_runGraphs.push_back(g);
        if (std::isfinite(err)) {
            auto* bars = new QCPErrorBars(xAxis, yAxis);
            bars->removeFromLegend();
            bars->setDataPlottable(g);
            bars->setData(QVector<double>{err});
            bars->setPen(QPen(c.lighter(130)));
        }
    }
    if (m_pareto) {
        QVector<double> keys, values;
        for (std::size_t i : front()) {
            keys << sizeOf(m_runs[i], m_size);
            values << lossOf(m_runs[i], m_loss);
        }
        if (keys.size() > 1) {
            QCPGraph* g = addGraph();
            m_frontGraph = g;
            g->setName(tr("Pareto front"));
            g->setPen(QPen(QColor(60, 60, 60), 1.5, Qt::DashLine));
            g->setData(keys, values, true);
        }
    }
    rescaleAxes();
    if (const std::optional<double> base = baselineValue()) {
        const double y = *base;
        auto* line = new QCPItemStraightLine(this);
        line->point1->setCoords(0, y);
        line->point2->setCoords(1, y);
        line->setPen(QPen(palette().color(QPalette::Text), 1, Qt::DotLine));
        m_baselineLabel = new QCPItemText(this);
        m_baselineLabel->setObjectName(QStringLiteral("baselineLabel"));
        m_baselineLabel->position->setType(QCPItemPosition::ptAbsolute);
        m_baselineLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        m_baselineLabel->setPadding(QMargins(3, 1, 3, 1));
        m_baselineLabel->setBrush(QBrush(QColor(255, 255, 255, 200))); // readable over the grid
        // "stories260K (float)"; a baseline named after its kind ("float", "f32") says it once.
        const bool named = m_baseline && !m_baseline->name.isEmpty() &&
                           m_baseline->name.compare(m_baseline->method, Qt::CaseInsensitive) != 0 &&
                           m_baseline->name.compare(QLatin1String("f32"), Qt::CaseInsensitive) != 0;
        const QString name = named ? tr("%1 (float)").arg(m_baseline->name) : tr("float model");
        m_baselineLabel->setText(m_loss == Loss::Perplexity
                                     ? tr("%1: %2").arg(name, rounded(y))
                                     : tr("%1: %2 by definition").arg(name, rounded(y)));
        lo = std::min(lo, y);
        hi = std::max(hi, y);
    }
    // Room above and below for the baseline label.
    const double pad = hi > lo ? 0.12 * (hi - lo) : std::max(1e-6, std::abs(hi) * 0.1);
    yAxis->setRange(lo - pad, hi + pad);
    const QCPRange x = xAxis->range();
    const double xpad = x.size() > 0 ? 0.08 * x.size() : std::max(0.1, std::abs(x.center()) * 0.1);
    xAxis->setRange(x.lower - xpad, x.upper + xpad);
    replot(QCustomPlot::rpQueuedReplot);
}

QRectF LossSizePlot::baselineLabelRect() const
{
    if (!m_baselineLabel)
        return {};
    const QFontMetrics fm(m_baselineLabel->font());
    const QRect text = fm.boundingRect(0, 0, 0, 0, Qt::TextDontClip | m_baselineLabel->textAlignment(),
                                       m_baselineLabel->text());
    const QMargins pad = m_baselineLabel->padding();
    return QRectF(m_baselineLabel->position->pixelPosition(),
                  QSizeF(text.width() + pad.left() + pad.right(), text.height() + pad.top() + pad.bottom()));
}

void LossSizePlot::placeBaselineLabel()
{
    if (!m_baselineLabel)
        return;
    const QRectF area = axisRect()->rect();
    const QSizeF size = baselineLabelRect().size();
    const double lineY = yAxis->coordToPixel(baselineValue().value_or(0));
    // What the label must not cover: each point's marker (with a margin); if it can, also the error
    // bars, the legend and the Pareto front.
    std::vector<QRectF> points, bars;
    for (const QCPGraph* g : m_runGraphs) {
        for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) {
            const QPointF p(xAxis->coordToPixel(it->key), yAxis->coordToPixel(it->value));
            const double r = kMarkerSize / 2 + 3;
            points.emplace_back(p.x() - r, p.y() - r, 2 * r, 2 * r);
        }
    }
    for (int i = 0; i < plottableCount(); ++i) {
        const auto* eb = qobject_cast<QCPErrorBars*>(plottable(i));
        if (!eb || !eb->dataPlottable())
            continue;
        const auto* g = qobject_cast<QCPGraph*>(eb->dataPlottable());
        if (!g || g->data()->isEmpty() || eb->data()->empty())
            continue;
        const double key = g->data()->constBegin()->key, value = g->data()->constBegin()->value;
        const double e = eb->data()->at(0).errorPlus;
        const double x = xAxis->coordToPixel(key);
        const double y1 = yAxis->coordToPixel(value + e), y2 = yAxis->coordToPixel(value - e);
        bars.emplace_back(x - 4, std::min(y1, y2), 8, std::abs(y2 - y1));
    }
    if (legend->visible())
        bars.push_back(legend->outerRect());
    if (m_frontGraph) { // the front's segments, as small squares every few pixels
        const QCPGraphDataContainer& d = *m_frontGraph->data();
        for (int i = 0; i + 1 < d.size(); ++i) {
            const QPointF a(xAxis->coordToPixel(d.at(i)->key), yAxis->coordToPixel(d.at(i)->value));
            const QPointF b(xAxis->coordToPixel(d.at(i + 1)->key), yAxis->coordToPixel(d.at(i + 1)->value));
            const int steps = std::clamp(int(QLineF(a, b).length() / 4), 1, 2000);
            for (int k = 0; k <= steps; ++k) {
                const QPointF p = a + (b - a) * (double(k) / steps);
                bars.emplace_back(p.x() - 2, p.y() - 2, 4, 4);
            }
        }
    }
    auto clear = [](const QRectF& rect, const std::vector<QRectF>& obstacles) {
        return std::none_of(obstacles.begin(), obstacles.end(),
                            [&](const QRectF& o) { return o.intersects(rect); });
    };
    // Candidates from the right edge leftwards, each just above the line, then just below.
    std::vector<QPointF> candidates;
    for (double left = area.right() - size.width() - 6; left >= area.left() + 2; left -= 8) {
        for (double top : {lineY - size.height() - 2, lineY + 2}) {
            if (top >= area.top() && top + size.height() <= area.bottom())
                candidates.emplace_back(left, top);
        }
    }
    QPointF chosen(area.right() - size.width() - 6, std::max(area.top(), lineY - size.height() - 2));
    bool found = false;
    for (const auto* obstacles : {&bars, &points}) { // clear of everything, else of the points
        for (const QPointF& c : candidates) {
            const QRectF rect(c, size);
            if (clear(rect, points) && clear(rect, *obstacles)) {
                chosen = c;
                found = true;
                break;
            }
        }
        if (found)
            break;
    }
    m_baselineLabel->position->setCoords(chosen);
}

} // namespace qs
