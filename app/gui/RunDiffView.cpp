#include "RunDiffView.h"

#include <QBoxLayout>
#include <QCheckBox>
#include <QHash>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QTabWidget>
#include <QTableWidget>
#include <algorithm>
#include <cmath>
#include <functional>

namespace qs {

namespace {

QString fixed(double v, int decimals)
{
    return std::isfinite(v) ? QLocale().toString(v, 'f', decimals) : QStringLiteral("–");
}

QString scientific(double v)
{
    return std::isfinite(v) ? QLocale().toString(v, 'e', 3) : QStringLiteral("–");
}

QString signedText(const QString& s, double v)
{
    return std::isfinite(v) && v > 0 ? u'+' + s : s;
}

QTableWidget* makeTable(const char* name)
{
    auto* t = new QTableWidget;
    t->setObjectName(QLatin1String(name));
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->verticalHeader()->hide();
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 8); // compact rows
    t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    t->setSelectionBehavior(QAbstractItemView::SelectRows);
    return t;
}

QTableWidgetItem* numberItem(const QString& text)
{
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
}

/// Marks a cell that differs between the runs: bold on an amber tint (readable on light and dark).
void markDiffering(QTableWidgetItem* item)
{
    QFont f = item->font();
    f.setBold(true);
    item->setFont(f);
    item->setBackground(QColor(255, 176, 0, 90));
    item->setData(Qt::UserRole, true);
}

} // namespace

QString RunDiffView::metricLabel(const RunMetricPair& m)
{
    static const QHash<QString, const char*> labels{
        {QStringLiteral("ppl"), QT_TR_NOOP("ppl")},
        {QStringLiteral("delta_ppl"), QT_TR_NOOP("Δppl")},
        {QStringLiteral("kld"), QT_TR_NOOP("KLD")},
        {QStringLiteral("top1_percent"), QT_TR_NOOP("top-1 %")},
        {QStringLiteral("bpw"), QT_TR_NOOP("bpw (model)")},
        {QStringLiteral("linear_bpw"), QT_TR_NOOP("bpw (linear)")},
        {QStringLiteral("MB"), QT_TR_NOOP("MB")},
        {QStringLiteral("prefill_tokens_per_second"), QT_TR_NOOP("prefill tok/s")},
        {QStringLiteral("decode_tokens_per_second"), QT_TR_NOOP("decode tok/s")},
        {QStringLiteral("resident_MB"), QT_TR_NOOP("resident MB")},
        {QStringLiteral("quantize_seconds"), QT_TR_NOOP("quantize s")}};
    const auto it = labels.constFind(m.key);
    return it == labels.constEnd() ? m.label : tr(*it);
}

QString RunDiffView::fieldLabel(SchemeField field)
{
    switch (field) {
    case SchemeField::Method:
        return tr("method");
    case SchemeField::Bits:
        return tr("bits");
    case SchemeField::Group:
        return tr("group");
    case SchemeField::Symmetry:
        return tr("sym");
    case SchemeField::Type:
    case SchemeField::Count:
        break;
    }
    return tr("type");
}

RunDiffView::RunDiffView(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("runDiffView"));
    m_title = new QLabel;
    m_title->setObjectName(QStringLiteral("diffTitle"));
    m_title->setWordWrap(true);
    m_title->setTextFormat(Qt::PlainText);
    m_summary = new QLabel;
    m_summary->setObjectName(QStringLiteral("diffSummary"));
    m_summary->setWordWrap(true);
    m_onlyDiffering = new QCheckBox(tr("Only layers whose scheme differs"));
    m_onlyDiffering->setObjectName(QStringLiteral("diffOnlyDiffering"));
    connect(m_onlyDiffering, &QCheckBox::toggled, this, &RunDiffView::rebuild);
    m_recipes = makeTable("diffRecipes");
    m_layers = makeTable("diffLayers");
    m_wholeRun = makeTable("diffWholeRun");
    m_tabs = new QTabWidget;
    m_tabs->addTab(m_wholeRun, tr("Whole run"));
    m_tabs->addTab(m_recipes, tr("Recipes"));
    m_tabs->addTab(m_layers, tr("Per-layer numbers"));
    m_tabs->setCurrentWidget(m_recipes);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addWidget(m_summary);
    layout->addWidget(m_onlyDiffering);
    layout->addWidget(m_tabs, 1);
}

void RunDiffView::setRuns(const RunSummary& a, const RunSummary& b)
{
    m_diff = diffRuns(a, b);
    m_metrics = runMetricPairs(a, b);
    m_title->setText(tr("A: %1 (%2)\nB: %3 (%4)").arg(a.name, a.recipeSummary, b.name, b.recipeSummary));
    rebuild();
}

QStringList RunDiffView::shownLayers() const
{
    QStringList out;
    for (int r = 0; r < m_recipes->rowCount(); ++r)
        out << m_recipes->item(r, 0)->text();
    return out;
}

void RunDiffView::rebuild()
{
    const QStringList differing = m_diff.differingLayers();
    m_summary->setText(
        differing.isEmpty()
            ? tr("The same scheme in all %n layer(s).", nullptr, int(m_diff.layers.size()))
            : tr("%1 of %n layer(s) quantized differently (highlighted).", nullptr, int(m_diff.layers.size()))
                  .arg(differing.size()));

    // Whole run: one column per metric; rows A, B and B − A (three rows fit beside the plots).
    m_wholeRun->clear();
    QStringList metricsHeader{tr("Run")};
    for (const RunMetricPair& m : m_metrics)
        metricsHeader << metricLabel(m);
    m_wholeRun->setColumnCount(int(metricsHeader.size()));
    m_wholeRun->setHorizontalHeaderLabels(metricsHeader);
    m_wholeRun->setRowCount(3);
    m_wholeRun->setItem(0, 0, new QTableWidgetItem(tr("A: %1").arg(m_diff.nameA)));
    m_wholeRun->setItem(1, 0, new QTableWidgetItem(tr("B: %1").arg(m_diff.nameB)));
    m_wholeRun->setItem(2, 0, new QTableWidgetItem(tr("B − A")));
    for (int i = 0; i < int(m_metrics.size()); ++i) {
        const RunMetricPair& m = m_metrics[std::size_t(i)];
        const double d = m.b - m.a;
        m_wholeRun->setItem(0, i + 1, numberItem(fixed(m.a, m.precision)));
        m_wholeRun->setItem(1, i + 1, numberItem(fixed(m.b, m.precision)));
        m_wholeRun->setItem(2, i + 1, numberItem(signedText(fixed(d, m.precision), d)));
    }

    std::vector<const RunLayerDiff*> rows;
    for (const RunLayerDiff& l : m_diff.layers)
        if (!m_onlyDiffering->isChecked() || l.schemeDiffers())
            rows.push_back(&l);

    // Recipes: each scheme field of A beside B's.
    QStringList header{tr("Layer")};
    for (int f = 0; f < int(SchemeField::Count); ++f) {
        const QString name = fieldLabel(SchemeField(f));
        header << tr("%1 A").arg(name) << tr("%1 B").arg(name);
    }
    m_recipes->clear();
    m_recipes->setColumnCount(int(header.size()));
    m_recipes->setHorizontalHeaderLabels(header);
    m_recipes->setRowCount(int(rows.size()));
    for (int r = 0; r < int(rows.size()); ++r) {
        const RunLayerDiff& l = *rows[std::size_t(r)];
        auto* name = new QTableWidgetItem(l.layer);
        if (l.schemeDiffers())
            markDiffering(name);
        m_recipes->setItem(r, 0, name);
        for (int f = 0; f < int(SchemeField::Count); ++f) {
            const bool differs =
                std::find(l.differing.begin(), l.differing.end(), SchemeField(f)) != l.differing.end();
            for (int side = 0; side < 2; ++side) {
                auto* item = new QTableWidgetItem(side == 0 ? l.fieldsA[f] : l.fieldsB[f]);
                if (differs)
                    markDiffering(item);
                m_recipes->setItem(r, 1 + 2 * f + side, item);
            }
        }
    }

    // Per-layer numbers: A, B and B − A of each measurement.
    bool anyKld = false;
    for (const RunLayerDiff& l : m_diff.layers)
        anyKld = anyKld || (l.a && std::isfinite(l.a->kldContribution)) ||
                 (l.b && std::isfinite(l.b->kldContribution));
    struct Measure
    {
        QString name;
        std::function<double(const LayerMetrics&)> value;
        bool scientific;
        int decimals;
    };
    std::vector<Measure> measures{
        {tr("weight rel. MSE"), [](const LayerMetrics& m) { return m.weightRelMse; }, true, 0},
        {tr("output rel. MSE"), [](const LayerMetrics& m) { return m.outputRelMse; }, true, 0}};
    if (anyKld)
        measures.push_back(
            {tr("KLD contribution"), [](const LayerMetrics& m) { return m.kldContribution; }, true, 0});
    measures.push_back({tr("bpw"), [](const LayerMetrics& m) { return m.bitsPerWeight; }, false, 3});
    measures.push_back({tr("bytes"),
                        [](const LayerMetrics& m) { return m.bytes ? double(m.bytes) : std::nan(""); }, false,
                        0});
    QStringList numbersHeader{tr("Layer")};
    for (const Measure& m : measures)
        numbersHeader << tr("%1 A").arg(m.name) << tr("%1 B").arg(m.name) << tr("%1 B − A").arg(m.name);
    m_layers->clear();
    m_layers->setColumnCount(int(numbersHeader.size()));
    m_layers->setHorizontalHeaderLabels(numbersHeader);
    m_layers->setRowCount(int(rows.size()));
    const double nan = std::nan("");
    for (int r = 0; r < int(rows.size()); ++r) {
        const RunLayerDiff& l = *rows[std::size_t(r)];
        auto* name = new QTableWidgetItem(l.layer);
        if (l.schemeDiffers())
            markDiffering(name);
        m_layers->setItem(r, 0, name);
        for (int k = 0; k < int(measures.size()); ++k) {
            const Measure& m = measures[std::size_t(k)];
            const double a = l.a ? m.value(*l.a) : nan, b = l.b ? m.value(*l.b) : nan;
            auto text = [&](double v) { return m.scientific ? scientific(v) : fixed(v, m.decimals); };
            m_layers->setItem(r, 1 + 3 * k, numberItem(text(a)));
            m_layers->setItem(r, 2 + 3 * k, numberItem(text(b)));
            auto* delta = numberItem(signedText(text(b - a), b - a));
            if (m.scientific && std::isfinite(a) && std::isfinite(b) && a > 0)
                delta->setToolTip(tr("B / A = %1").arg(fixed(b / a, 3)));
            m_layers->setItem(r, 3 + 3 * k, delta);
        }
    }
}

} // namespace qs
