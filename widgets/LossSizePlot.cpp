#include "LossSizePlot.h"

#include "results/PlotData.h"

#include <cmath>
#include <limits>

namespace qs {

LossSizePlot::LossSizePlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("lossSizePlot"));
    legend->setVisible(true);
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

namespace {

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

} // namespace

double LossSizePlot::sizeOf(const RunSummary& r) const
{
    switch (m_size) {
    case Size::BitsPerWeight:
        return r.bitsPerWeight;
    case Size::Megabytes:
        return r.megabytes();
    case Size::DecodeSpeed:
        return r.decodeTokensPerSecond;
    case Size::PrefillSpeed:
        return r.prefillTokensPerSecond;
    case Size::ResidentMegabytes:
        return r.residentBytes ? double(r.residentBytes) / 1e6 : std::numeric_limits<double>::quiet_NaN();
    }
    return 0;
}

bool LossSizePlot::higherIsBetter() const
{
    return m_size == Size::DecodeSpeed || m_size == Size::PrefillSpeed;
}

double LossSizePlot::lossOf(const RunSummary& r) const
{
    return m_loss == Loss::Perplexity ? r.ppl : r.kldMean;
}

double LossSizePlot::errorOf(const RunSummary& r) const
{
    return m_loss == Loss::Perplexity ? r.pplError : r.kldError;
}

QString LossSizePlot::sizeLabel() const
{
    switch (m_size) {
    case Size::BitsPerWeight:
        return tr("bits per weight");
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

QString LossSizePlot::lossLabel() const
{
    return m_loss == Loss::Perplexity ? tr("perplexity") : tr("mean KLD to the float model");
}

bool LossSizePlot::hasData() const
{
    for (const RunSummary& r : m_runs) {
        if (std::isfinite(lossOf(r)) && std::isfinite(sizeOf(r)))
            return true;
    }
    return false;
}

std::vector<std::size_t> LossSizePlot::front() const
{
    std::vector<SizeLossPoint> points;
    for (const RunSummary& r : m_runs)
        points.push_back({higherIsBetter() ? -sizeOf(r) : sizeOf(r), lossOf(r)});
    return paretoFront(points);
}

PlotTable LossSizePlot::table() const
{
    PlotTable t;
    t.header = QStringList{QStringLiteral("run"),
                           QStringLiteral("method"),
                           sizeColumnName(m_size),
                           m_loss == Loss::Perplexity ? QStringLiteral("ppl") : QStringLiteral("kld"),
                           QStringLiteral("loss_error"),
                           QStringLiteral("pareto")};
    const std::vector<std::size_t> f = front();
    for (std::size_t i = 0; i < m_runs.size(); ++i) {
        const RunSummary& r = m_runs[i];
        if (!std::isfinite(lossOf(r)))
            continue;
        const bool onFront = std::find(f.begin(), f.end(), i) != f.end();
        t.rows.push_back({r.name, r.method, number(sizeOf(r)), number(lossOf(r)), number(errorOf(r)),
                          onFront ? QStringLiteral("1") : QStringLiteral("0")});
    }
    if (m_baseline && m_loss == Loss::Perplexity && m_baseline->hasPerplexity())
        t.rows.push_back({m_baseline->name, m_baseline->method, number(sizeOf(*m_baseline)),
                          number(m_baseline->ppl), number(m_baseline->pplError), QStringLiteral("baseline")});
    return t;
}

void LossSizePlot::rebuild()
{
    clearPlot();
    xAxis->setLabel(sizeLabel());
    yAxis->setLabel(lossLabel());
    if (!hasData()) {
        legend->setVisible(false);
        showEmptyMessage(tr("No evaluated runs to show"));
        xAxis->setRange(0, 1);
        yAxis->setRange(0, 1);
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    // One series per method, in order of first appearance.
    QStringList methods;
    for (const RunSummary& r : m_runs) {
        if (std::isfinite(lossOf(r)) && !methods.contains(r.method))
            methods << r.method;
    }
    const QCPScatterStyle::ScatterShape shapes[] = {QCPScatterStyle::ssDisc,    QCPScatterStyle::ssSquare,
                                                    QCPScatterStyle::ssDiamond, QCPScatterStyle::ssTriangle,
                                                    QCPScatterStyle::ssCircle,  QCPScatterStyle::ssCross};
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int m = 0; m < int(methods.size()); ++m) {
        QVector<double> keys, values, errors;
        for (const RunSummary& r : m_runs) {
            if (r.method != methods[m] || !std::isfinite(lossOf(r)))
                continue;
            const double e = std::isfinite(errorOf(r)) ? errorOf(r) : 0.0;
            keys << sizeOf(r);
            values << lossOf(r);
            errors << e;
            lo = std::min(lo, lossOf(r) - e);
            hi = std::max(hi, lossOf(r) + e);
            QString tip = QStringLiteral("%1\n%2\n%3: %4\n%5: %6")
                              .arg(r.name, r.recipeSummary, sizeLabel(), number(sizeOf(r)), lossLabel(),
                                   number(lossOf(r)));
            if (std::isfinite(errorOf(r)))
                tip += QStringLiteral(" ± %1").arg(number(errorOf(r)));
            addHoverPoint(sizeOf(r), lossOf(r), tip);
        }
        const QColor c = seriesColor(m);
        QCPGraph* g = addGraph();
        g->setName(methods[m]);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(shapes[m % 6], c, c, 8));
        g->setPen(QPen(c));
        g->setData(keys, values);
        auto* bars = new QCPErrorBars(xAxis, yAxis);
        bars->removeFromLegend();
        bars->setDataPlottable(g);
        bars->setData(errors);
        bars->setPen(QPen(c.lighter(130)));
    }
    if (m_pareto) {
        QVector<double> keys, values;
        for (std::size_t i : front()) {
            keys << sizeOf(m_runs[i]);
            values << lossOf(m_runs[i]);
        }
        if (keys.size() > 1) {
            QCPGraph* g = addGraph();
            g->setName(tr("Pareto front"));
            g->setPen(QPen(QColor(60, 60, 60), 1.5, Qt::DashLine));
            g->setData(keys, values, true);
        }
    }
    rescaleAxes();
    if (m_baseline && m_loss == Loss::Perplexity && m_baseline->hasPerplexity()) {
        const double y = m_baseline->ppl;
        auto* line = new QCPItemStraightLine(this);
        line->point1->setCoords(0, y);
        line->point2->setCoords(1, y);
        line->setPen(QPen(QColor(40, 40, 40), 1, Qt::DotLine));
        auto* label = new QCPItemText(this);
        label->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        label->position->setTypeY(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(0.99, y);
        label->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
        label->setText(tr("%1 (float): %2").arg(m_baseline->name, number(std::round(y * 1e4) / 1e4)));
        lo = std::min(lo, y);
        hi = std::max(hi, y);
    }
    const double pad = hi > lo ? 0.08 * (hi - lo) : std::max(1e-6, std::abs(hi) * 0.1);
    yAxis->setRange(lo - pad, hi + pad);
    const QCPRange x = xAxis->range();
    const double xpad = x.size() > 0 ? 0.08 * x.size() : std::max(0.1, std::abs(x.center()) * 0.1);
    xAxis->setRange(x.lower - xpad, x.upper + xpad);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
