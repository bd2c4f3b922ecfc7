#pragma once

#include "PlotWidget.h"
#include "analysis/Allocation.h"

namespace qs {

/// The predicted trade-off of a sensitivity sweep: the Pareto front of mixed plans (predicted
/// loss vs bits per weight, log loss axis), the uniform plans of each candidate scheme for
/// reference, and the plan proposed at the current budget (marker + vertical budget line).
class ParetoFrontPlot : public PlotWidget
{
    Q_OBJECT
public:
    struct Point
    {
        QString name;
        double bpw = 0, loss = 0;
    };
    explicit ParetoFrontPlot(QWidget* parent = nullptr);

    void setData(std::vector<Point> front, std::vector<Point> uniform, const QString& lossName);
    void setProposal(double budgetBpw, const Point& proposal);
    /// Plans that were really quantized and evaluated: their measured loss next to the prediction.
    void setMeasured(std::vector<Point> measured);
    void clear();

    bool hasData() const override { return !m_front.empty(); }
    PlotTable table() const override;

private:
    void rebuild();
    std::vector<Point> m_front, m_uniform, m_measured;
    QString m_lossName;
    double m_budget = -1;
    Point m_proposal;
};

} // namespace qs
