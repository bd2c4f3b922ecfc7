#pragma once

#include "PlotWidget.h"
#include "results/RunResults.h"

#include <optional>

namespace qs {

/// A quality metric against size, measured speed or memory: one scatter series per run (its own
/// colour and legend entry; the marker's shape says the method) with ± error bars, the Pareto
/// front over all runs as a line, and the float baseline as a horizontal line whose label is
/// placed clear of the points.
class LossSizePlot : public PlotWidget
{
    Q_OBJECT
public:
    /// The y axis. Perplexity and Δ perplexity (against the float model, with the paired per-chunk
    /// error) and mean KLD are minimised; top-1 agreement with the float model is maximised.
    enum class Loss { Perplexity, DeltaPerplexity, Kld, Top1 };
    /// The x axis: stored size, or what was measured on the model as it runs (eval/Speed.h) —
    /// decode or prefill tokens/s (higher is better: the front runs the other way) or the resident
    /// weight bytes.
    enum class Size { BitsPerWeight, Megabytes, DecodeSpeed, PrefillSpeed, ResidentMegabytes };

    explicit LossSizePlot(QWidget* parent = nullptr);

    void setRuns(std::vector<RunSummary> runs, std::optional<RunSummary> baseline = std::nullopt);
    void setLoss(Loss loss);
    void setSize(Size size);
    void setParetoVisible(bool visible);
    Loss loss() const { return m_loss; }
    Size size() const { return m_size; }

    /// A run's value on either axis (NaN when the run has none).
    static double lossOf(const RunSummary& r, Loss loss);
    static double errorOf(const RunSummary& r, Loss loss);
    static double sizeOf(const RunSummary& r, Size size);
    /// Axis titles, as the plot shows them.
    static QString lossLabel(Loss loss);
    static QString sizeLabel(Size size);
    /// Whether any of the runs has a value for this metric / x (a selector offers only these).
    static bool anyHas(const std::vector<RunSummary>& runs, Loss loss);
    static bool anyHas(const std::vector<RunSummary>& runs, Size size);

    bool hasData() const override;
    /// run, method, x, y, y_error, pareto (1 on the front); the baseline last when shown.
    PlotTable table() const override;
    /// Indices into the runs of the Pareto front (x from the better end).
    std::vector<std::size_t> front() const;
    /// The graph of each run shown (runs without a value for the axes have none), in run order;
    /// its "run" property names the run.
    std::vector<QCPGraph*> runGraphs() const { return m_runGraphs; }
    /// The float baseline's label (null when no baseline line is drawn) and its rectangle in
    /// widget pixels as placed at the last replot.
    QCPItemText* baselineLabel() const { return m_baselineLabel; }
    QRectF baselineLabelRect() const;

private:
    void rebuild();
    /// After each layout (size, ranges): moves the baseline label to where it covers no point
    /// (and, where there is room, no error bar, legend or front).
    void placeBaselineLabel();
    bool higherIsBetter() const;
    /// The baseline's y on the current metric (its perplexity, 0 for Δ and KLD, 100 % top-1).
    std::optional<double> baselineValue() const;

    std::vector<RunSummary> m_runs;
    std::optional<RunSummary> m_baseline;
    Loss m_loss = Loss::Perplexity;
    Size m_size = Size::BitsPerWeight;
    bool m_pareto = true;
    std::vector<QCPGraph*> m_runGraphs;
    QCPGraph* m_frontGraph = nullptr;
    QCPItemText* m_baselineLabel = nullptr;
};

} // namespace qs
