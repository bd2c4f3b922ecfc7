#include "TrainingPlots.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs {

namespace {

constexpr double kMarkerSize = 6;

/// [lo, hi] widened by a margin (a flat range around its value).
QCPRange padded(double lo, double hi)
{
    const double span = hi - lo;
    const double pad = span > 0 ? 0.06 * span : std::max(1e-6, 0.05 * std::abs(hi));
    return {lo - pad, hi + pad};
}

} // namespace

TrainingLossPlot::TrainingLossPlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("trainingLossPlot"));
    placeLegendBeside();
    m_emptyText = tr("The loss curve appears here once training starts");
    rebuild();
}

void TrainingLossPlot::setCurve(std::vector<TrainingPoint> curve)
{
    m_curve = std::move(curve);
    rebuild();
}

void TrainingLossPlot::setSteps(int steps)
{
    m_steps = std::max(0, steps);
    rebuild();
}

void TrainingLossPlot::setKeptStep(int step)
{
    m_keptStep = step;
    rebuild();
}

void TrainingLossPlot::setDistillation(bool on)
{
    m_distillation = on;
    rebuild();
}

void TrainingLossPlot::setEmptyText(const QString& text)
{
    m_emptyText = text;
    rebuild();
}

int TrainingLossPlot::trainingPoints() const
{
    return int(
        std::count_if(m_curve.begin(), m_curve.end(), [](const TrainingPoint& p) { return p.loss >= 0; }));
}

int TrainingLossPlot::heldOutPoints() const
{
    return int(
        std::count_if(m_curve.begin(), m_curve.end(), [](const TrainingPoint& p) { return p.heldOut >= 0; }));
}

bool TrainingLossPlot::hasData() const
{
    return trainingPoints() > 0 || heldOutPoints() > 0;
}

PlotTable TrainingLossPlot::table() const
{
    PlotTable t;
    t.header = {QStringLiteral("step"),          QStringLiteral("loss"),          QStringLiteral("held_out"),
                QStringLiteral("learning_rate"), QStringLiteral("gradient_norm"), QStringLiteral("seconds")};
    for (const TrainingPoint& p : m_curve)
        t.rows.push_back({QString::number(p.step), p.loss >= 0 ? number(p.loss) : QString(),
                          p.heldOut >= 0 ? number(p.heldOut) : QString(), number(p.learningRate),
                          number(p.gradientNorm), number(p.seconds)});
    return t;
}

void TrainingLossPlot::rebuild()
{
    clearPlot();
    xAxis->setLabel(tr("step"));
    yAxis->setLabel(m_distillation ? tr("KL divergence from the float model (nats per token)")
                                   : tr("cross-entropy (nats per token)"));
    if (!hasData()) {
        legend->setVisible(false);
        showEmptyMessage(m_emptyText);
        xAxis->setRange(0, std::max(1, m_steps));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    QVector<double> steps, losses, heldSteps, heldLosses;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    int lastStep = 0;
    for (const TrainingPoint& p : m_curve) {
        lastStep = std::max(lastStep, p.step);
        if (p.loss >= 0 && std::isfinite(p.loss)) {
            steps << p.step;
            losses << p.loss;
            lo = std::min(lo, p.loss);
            hi = std::max(hi, p.loss);
            addHoverPoint(p.step, p.loss, [p] {
                return tr("step %1\ntraining loss %2\nlearning rate %3")
                    .arg(p.step)
                    .arg(rounded(p.loss, 5), rounded(p.learningRate, 3));
            });
        }
        if (p.heldOut >= 0 && std::isfinite(p.heldOut)) {
            heldSteps << p.step;
            heldLosses << p.heldOut;
            lo = std::min(lo, p.heldOut);
            hi = std::max(hi, p.heldOut);
            addHoverPoint(p.step, p.heldOut,
                          tr("step %1\nheld-out loss %2").arg(p.step).arg(rounded(p.heldOut, 5)));
        }
    }
    auto* train = addGraph();
    train->setName(m_distillation ? tr("training KL") : tr("training loss"));
    const QColor trainColor = seriesColor(0);
    train->setPen(QPen(trainColor, 1.5));
    train->setScatterStyle(steps.size() <= 40
                               ? QCPScatterStyle(QCPScatterStyle::ssDisc, trainColor, trainColor, 4)
                               : QCPScatterStyle(QCPScatterStyle::ssNone));
    train->setData(steps, losses, true);
    auto* held = addGraph();
    held->setName(m_distillation ? tr("held-out KL") : tr("held-out loss"));
    const QColor heldColor = seriesColor(1);
    held->setPen(QPen(heldColor, 2));
    held->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, heldColor, heldColor, kMarkerSize));
    held->setData(heldSteps, heldLosses, true);
    if (heldSteps.isEmpty())
        held->removeFromLegend();
    if (steps.isEmpty())
        train->removeFromLegend();
    if (m_keptStep >= 0 && !heldSteps.isEmpty()) {
        auto* kept = new QCPItemStraightLine(this);
        kept->point1->setCoords(m_keptStep, 0);
        kept->point2->setCoords(m_keptStep, 1);
        QPen pen(heldColor, 1, Qt::DashLine);
        kept->setPen(pen);
        auto* label = new QCPItemText(this);
        label->position->setTypeX(QCPItemPosition::ptPlotCoords);
        label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        label->position->setCoords(m_keptStep, 0.02);
        label->setPositionAlignment(
            Qt::AlignTop | (m_keptStep > 0.7 * std::max(lastStep, m_steps) ? Qt::AlignRight : Qt::AlignLeft));
        label->setPadding(QMargins(4, 0, 4, 0));
        label->setText(tr("kept: step %1").arg(m_keptStep));
        label->setColor(heldColor.darker(120));
    }
    const double last = std::max({1, m_steps, lastStep});
    xAxis->setRange(0, last + std::max(0.3, 0.01 * last)); // the last point's marker whole
    yAxis->setRange(padded(lo, hi));
    replot(QCustomPlot::rpQueuedReplot);
}

LearningRatePlot::LearningRatePlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("learningRatePlot"));
    m_settings.steps = 0;
    m_stepLabel = tr("step");
    rebuild();
}

void LearningRatePlot::setSchedule(const OptimizerSettings& settings, const QString& stepLabel)
{
    m_settings = settings;
    m_stepLabel = stepLabel;
    m_current = 0;
    rebuild();
}

void LearningRatePlot::setCurrentStep(int step)
{
    if (step == m_current)
        return;
    m_current = std::clamp(step, 0, std::max(0, m_settings.steps));
    rebuild();
}

PlotTable LearningRatePlot::table() const
{
    PlotTable t;
    t.header = {QStringLiteral("step"), QStringLiteral("learning_rate")};
    for (int s = 0; s < m_settings.steps; ++s)
        t.rows.push_back({QString::number(s + 1), number(m_settings.learningRateAt(s))});
    return t;
}

void LearningRatePlot::rebuild()
{
    clearPlot();
    xAxis->setLabel(m_stepLabel);
    yAxis->setLabel(tr("learning rate"));
    if (!hasData()) {
        showEmptyMessage(tr("No schedule"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    // Step s + 1 (as the loss curve counts steps) runs at learningRateAt(s); a long run drawn at up to
    // 2000 points, its schedule being smooth.
    const int n = m_settings.steps;
    const int stride = std::max(1, n / 2000);
    QVector<double> steps, rates;
    double hi = 0;
    for (int s = 0; s < n; s += stride) {
        steps << s + 1;
        rates << m_settings.learningRateAt(s);
        hi = std::max(hi, rates.back());
    }
    if (int(steps.back()) != n) {
        steps << n;
        rates << m_settings.learningRateAt(n - 1);
    }
    auto* schedule = addGraph();
    schedule->setName(tr("schedule"));
    schedule->setPen(QPen(seriesColor(2), 2));
    schedule->setData(steps, rates, true);
    for (int i = 0; i < int(steps.size()); i += std::max(1, int(steps.size()) / 200))
        addHoverPoint(steps[i], rates[i],
                      tr("step %1\nlearning rate %2").arg(int(steps[i])).arg(rounded(rates[i], 3)));
    if (m_current > 0) {
        const double rate = m_settings.learningRateAt(m_current - 1);
        auto* now = addGraph();
        now->setName(tr("now"));
        now->setLineStyle(QCPGraph::lsNone);
        const QColor c = seriesColor(3);
        now->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, c, c, 9));
        now->setData(QVector<double>{double(m_current)}, QVector<double>{rate}, true);
        auto* rule = new QCPItemStraightLine(this);
        rule->point1->setCoords(m_current, 0);
        rule->point2->setCoords(m_current, 1);
        rule->setPen(QPen(c, 1, Qt::DashLine));
        addHoverPoint(m_current, rate,
                      tr("step %1 (now)\nlearning rate %2").arg(m_current).arg(rounded(rate, 3)));
    }
    xAxis->setRange(0, n + 0.5);
    yAxis->setRange(0, hi > 0 ? hi * 1.12 : 1);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
