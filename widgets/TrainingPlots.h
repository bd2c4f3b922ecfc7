#pragma once

#include "PlotWidget.h"
#include "train/Optimizer.h"
#include "train/Training.h"

#include <vector>

namespace qs {

/// The loss curve of a training run (TrainingResult::curve, or the points received so far): the
/// training loss of every step as a line, the held-out loss where it was measured as markers on a line
/// of another colour, the step whose parameters were kept as a dashed rule; x = step, the axis spanning
/// the whole run from the start so that a live curve grows into it.
class TrainingLossPlot : public PlotWidget
{
    Q_OBJECT
public:
    explicit TrainingLossPlot(QWidget* parent = nullptr);

    /// The curve so far; rebuilds and queues one replot (callers batch points: replot on a timer).
    void setCurve(std::vector<TrainingPoint> curve);
    /// The steps the run will take (the x axis' extent); 0: the curve's own.
    void setSteps(int steps);
    /// The step whose parameters were kept (a dashed rule); -1: none.
    void setKeptStep(int step);
    /// Whether the loss is the KL divergence from the float model (distillation) rather than the text's
    /// cross-entropy: the axis and legend say which.
    void setDistillation(bool on);
    /// What the plot says while it has no curve (a block-wise run has none).
    void setEmptyText(const QString& text);

    const std::vector<TrainingPoint>& curve() const { return m_curve; }
    int trainingPoints() const;
    int heldOutPoints() const;
    bool hasData() const override;
    /// step, loss, held_out, learning_rate, gradient_norm, seconds (empty cells where not measured).
    PlotTable table() const override;

private:
    void rebuild();

    std::vector<TrainingPoint> m_curve;
    bool m_distillation = false;
    int m_steps = 0;
    int m_keptStep = -1;
    QString m_emptyText;
};

/// The learning-rate schedule of a run: OptimizerSettings::learningRateAt for every step, drawn
/// whole before the first step, with the step reached marked.
class LearningRatePlot : public PlotWidget
{
    Q_OBJECT
public:
    explicit LearningRatePlot(QWidget* parent = nullptr);

    /// The schedule; `stepLabel` names the x axis ("step", "step of each block").
    void setSchedule(const OptimizerSettings& settings, const QString& stepLabel);
    /// The steps done (1-based, as TrainingPoint::step counts them); 0: none marked.
    void setCurrentStep(int step);
    int currentStep() const { return m_current; }
    const OptimizerSettings& settings() const { return m_settings; }

    bool hasData() const override { return m_settings.steps > 0; }
    /// step, learning_rate.
    PlotTable table() const override;

private:
    void rebuild();

    OptimizerSettings m_settings;
    QString m_stepLabel;
    int m_current = 0;
};

} // namespace qs
