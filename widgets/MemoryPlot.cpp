#include "MemoryPlot.h"

#include <QLocale>

namespace qs {

MemoryPlot::MemoryPlot(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("memoryPlot"));
    placeLegendBeside();
    rebuild();
}

void MemoryPlot::setRuns(std::vector<RunSummary> runs, std::optional<RunSummary> baseline)
{
    m_runs = std::move(runs);
    m_baseline = std::move(baseline);
    rebuild();
}

QString MemoryPlot::roleName(MemoryBreakdown::Role role)
{
    switch (role) {
    case MemoryBreakdown::Embeddings:
        return tr("embeddings");
    case MemoryBreakdown::Attention:
        return tr("attention");
    case MemoryBreakdown::Mlp:
        return tr("MLP");
    case MemoryBreakdown::Head:
        return tr("output head");
    case MemoryBreakdown::Norms:
        return tr("norms & other");
    case MemoryBreakdown::Overhead:
        return tr("scales/zeros/outliers");
    case MemoryBreakdown::RoleCount:
        break;
    }
    return QString();
}

std::vector<const RunSummary*> MemoryPlot::shown() const
{
    std::vector<const RunSummary*> s;
    if (m_baseline && !m_baseline->memory.isEmpty())
        s.push_back(&*m_baseline);
    for (const RunSummary& r : m_runs) {
        if (!r.memory.isEmpty())
            s.push_back(&r);
    }
    return s;
}

bool MemoryPlot::hasData() const
{
    return !shown().empty();
}

PlotTable MemoryPlot::table() const
{
    PlotTable t;
    t.header << QStringLiteral("run");
    for (int role = 0; role < MemoryBreakdown::RoleCount; ++role)
        t.header << QLatin1String(MemoryBreakdown::key(MemoryBreakdown::Role(role))) + QStringLiteral("_MB");
    t.header << QStringLiteral("total_MB");
    for (const RunSummary* r : shown()) {
        QStringList row{r->name};
        for (std::uint64_t b : r->memory.bytes)
            row << number(double(b) / 1e6);
        row << number(double(r->memory.total()) / 1e6);
        t.rows.push_back(row);
    }
    return t;
}

void MemoryPlot::rebuild()
{
    clearPlot();
    yAxis->setLabel(tr("memory (MB)"));
    const std::vector<const RunSummary*> runs = shown();
    if (runs.empty()) {
        legend->setVisible(false);
        showEmptyMessage(tr("No runs with a memory breakdown"));
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    legend->setVisible(true);
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    QVector<double> keys;
    for (int i = 0; i < int(runs.size()); ++i) {
        keys << i + 1;
        const QString name = runs[std::size_t(i)] == (m_baseline ? &*m_baseline : nullptr)
                                 ? tr("%1\n(float)").arg(runs[std::size_t(i)]->name)
                                 : runs[std::size_t(i)]->name;
        ticker->addTick(i + 1, name);
    }
    xAxis->setTicker(ticker);
    xAxis->setTickLabelRotation(runs.size() > 4 ? 30 : 0);
    xAxis->setSubTicks(false);
    xAxis->setTickLength(0, 4);
    QCPBars* below = nullptr;
    std::vector<double> top(runs.size(), 0.0);
    for (int role = 0; role < MemoryBreakdown::RoleCount; ++role) {
        QVector<double> values;
        bool any = false;
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const double mb = double(runs[i]->memory.bytes[std::size_t(role)]) / 1e6;
            values << mb;
            any = any || mb > 0;
            if (mb > 0) {
                const double total = double(runs[i]->memory.total()) / 1e6;
                addHoverPoint(double(i + 1), top[i] + mb / 2,
                              tr("%1\n%2: %3 MB (%4 %)")
                                  .arg(runs[i]->name, roleName(MemoryBreakdown::Role(role)), number(mb))
                                  .arg(QLocale().toString(100.0 * mb / total, 'f', 1)));
            }
            top[i] += mb;
        }
        if (!any)
            continue;
        auto* bars = new QCPBars(xAxis, yAxis);
        bars->setName(roleName(MemoryBreakdown::Role(role)));
        const QColor c = seriesColor(role);
        bars->setPen(QPen(c.darker(130)));
        bars->setBrush(c);
        bars->setWidth(0.6);
        bars->setData(keys, values, true);
        if (below)
            bars->moveAbove(below);
        below = bars;
    }
    xAxis->setRange(0.4, double(runs.size()) + 0.6);
    yAxis->setRange(0, *std::max_element(top.begin(), top.end()) * 1.08);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
