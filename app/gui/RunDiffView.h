#pragma once

#include "results/RunDiff.h"

#include <QWidget>

class QCheckBox;
class QLabel;
class QTabWidget;
class QTableWidget;

namespace qs {

/// Two runs side by side (the Runs page's Diff): their per-layer schemes (method, bits, group, sym,
/// type; the fields that differ highlighted), their per-layer numbers (weight error, output error,
/// KLD contribution when a sweep measured it, bpw, bytes; B − A), and their whole-run metrics (ppl,
/// Δppl, KLD, top-1, bpw, size, speeds; B − A). "Only layers whose scheme differs" hides the rest.
class RunDiffView : public QWidget
{
    Q_OBJECT
public:
    explicit RunDiffView(QWidget* parent = nullptr);

    void setRuns(const RunSummary& a, const RunSummary& b);
    const RunDiff& diff() const { return m_diff; }
    /// The layers the tables show now, in order.
    QStringList shownLayers() const;

    /// The table labels, translated: "Δppl", "bpw (model)", …; "method", "bits", ….
    static QString metricLabel(const RunMetricPair& m);
    static QString fieldLabel(SchemeField field);

private:
    void rebuild();

    RunDiff m_diff;
    std::vector<RunMetricPair> m_metrics;
    QLabel* m_title = nullptr;
    QLabel* m_summary = nullptr;
    QCheckBox* m_onlyDiffering = nullptr;
    QTabWidget* m_tabs = nullptr;
    QTableWidget* m_recipes = nullptr;
    QTableWidget* m_layers = nullptr;
    QTableWidget* m_wholeRun = nullptr;
};

} // namespace qs
