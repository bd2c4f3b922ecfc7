#include "ParetoFrontPlot.h"

#include <QLocale>
#include <algorithm>
#include <cmath>

namespace qs {

ParetoFrontPlot::ParetoFrontPlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("paretoPlot"));
    setTitle(tr("Predicted trade-off"));
    placeLegendBeside();
    rebuild();
}

void ParetoFrontPlot::setData(std::vector<Point> front, std::vector<Point> uniform, const QString& lossName)
{
    m_front = std::move(front);
    m_uniform = std::move(uniform);
    m_lossName = lossName;
    m_budget = -1;
    rebuild();
}

void ParetoFrontPlot::setProposal(double budgetBpw, const Point& proposal)
{
    m_budget = budgetBpw;
    m_proposal = proposal;
    rebuild();
}

void ParetoFrontPlot::setMeasured(std::vector<Point> measured)
{
    m_measured = std::move(measured);
    rebuild();
}

void ParetoFrontPlot::clear()
{
    m_front.clear();
    m_measured.clear();
    m_uniform.clear();
    m_budget = -1;
    rebuild();
}

PlotTable ParetoFrontPlot::table() const
{
    PlotTable t;
    t.header << QStringLiteral("series") << QStringLiteral("name") << QStringLiteral("bpw")
             << QStringLiteral("predicted_") + (m_lossName.isEmpty() ? QStringLiteral("loss") : m_lossName);
    for (const Point& p : m_front)
        t.rows.push_back({QStringLiteral("front"), p.name, number(p.bpw), number(p.loss)});
    for (const Point& p : m_uniform)
        t.rows.push_back({QStringLiteral("uniform"), p.name, number(p.bpw), number(p.loss)});
    if (m_budget > 0)
        t.rows.push_back(
            {QStringLiteral("proposal"), m_proposal.name, number(m_proposal.bpw), number(m_proposal.loss)});
    return t;
}

void ParetoFrontPlot::rebuild()
{
    clearPlot();
    xAxis->setLabel(tr("bits per weight (swept layers)"));
    yAxis->setLabel(tr("predicted %1 (sum over layers)").arg(m_lossName.isEmpty() ? tr("loss") : m_lossName));
    yAxis->setScaleType(QCPAxis::stLogarithmic);
    yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    if (!hasData()) {
        legend->setVisible(false);
        showEmptyMessage(tr("Run or load a sensitivity sweep to see the trade-off"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    auto positive = [](double v) { return std::max(v, 1e-9); }; // log axis
    QVector<double> fx, fy;
    for (const Point& p : m_front) {
        fx << p.bpw;
        fy << positive(p.loss);
        addHoverPoint(
            p.bpw, positive(p.loss),
            tr("mixed plan\n%1 bpw\npredicted %2").arg(QLocale().toString(p.bpw, 'f', 3), rounded(p.loss)));
    }
    QCPGraph* front = addGraph();
    front->setName(tr("mixed plans (Pareto front)"));
    front->setLineStyle(QCPGraph::lsStepRight);
    front->setPen(QPen(seriesColor(0), 2));
    front->setData(fx, fy, true);
    QVector<double> ux, uy;
    for (const Point& p : m_uniform) {
        ux << p.bpw;
        uy << positive(p.loss);
        addHoverPoint(p.bpw, positive(p.loss),
                      tr("uniform %1\n%2 bpw\npredicted %3")
                          .arg(p.name, QLocale().toString(p.bpw, 'f', 3), rounded(p.loss)));
    }
    QCPGraph* uniform = addGraph();
    uniform->setName(tr("uniform plans"));
    uniform->setLineStyle(QCPGraph::lsNone);
    uniform->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, seriesColor(1), seriesColor(1), 8));
    uniform->setData(ux, uy);
    QVector<double> mx, my;
    for (const Point& p : m_measured) {
        mx << p.bpw;
        my << positive(p.loss);
        addHoverPoint(
            p.bpw, positive(p.loss),
            tr("measured %1\n%2 bpw\n%3").arg(p.name, QLocale().toString(p.bpw, 'f', 3), rounded(p.loss)));
    }
    if (!m_measured.empty()) {
        QCPGraph* measured = addGraph();
        measured->setName(tr("measured (quantized and evaluated)"));
        measured->setLineStyle(QCPGraph::lsNone);
        measured->setScatterStyle(
            QCPScatterStyle(QCPScatterStyle::ssTriangle, seriesColor(2), seriesColor(2), 9));
        measured->setData(mx, my);
    }
    double lo = *std::min_element(fy.begin(), fy.end()), hi = *std::max_element(fy.begin(), fy.end());
    for (double v : my)
        lo = std::min(lo, v), hi = std::max(hi, v);
    for (double v : uy)
        lo = std::min(lo, v), hi = std::max(hi, v);
    double xlo = fx.front(), xhi = fx.back();
    for (double v : ux)
        xlo = std::min(xlo, v), xhi = std::max(xhi, v);
    if (m_budget > 0) {
        QCPGraph* chosen = addGraph();
        chosen->setName(tr("proposed at %1 bpw").arg(QLocale().toString(m_budget, 'f', 2)));
        chosen->setLineStyle(QCPGraph::lsNone);
        chosen->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, seriesColor(3), seriesColor(3), 11));
        chosen->setData({m_proposal.bpw}, {positive(m_proposal.loss)});
        auto* line = new QCPItemStraightLine(this);
        line->point1->setCoords(m_budget, 1);
        line->point2->setCoords(m_budget, 2);
        line->setPen(QPen(seriesColor(3), 1, Qt::DashLine));
    }
    xAxis->setRange(xlo - 0.1, xhi + 0.1);
    yAxis->setRange(lo / 1.5, hi * 1.5);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
