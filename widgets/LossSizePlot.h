#pragma once

#include "PlotWidget.h"
#include "results/RunResults.h"

#include <optional>

namespace qs {

/// Perplexity (or mean KLD) against bits per weight, megabytes, measured speed or memory: one scatter series
/// per method with ± error bars, the Pareto front over all runs as a line, and the float baseline's
/// perplexity as a horizontal line.
class LossSizePlot : public PlotWidget
{
    Q_OBJECT
public:
    enum class Loss { Perplexity, Kld };
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

    bool hasData() const override;
    /// run, method, size, loss, loss_error, pareto (1 on the front); the baseline last when shown.
    PlotTable table() const override;
    /// Indices into the runs of the Pareto front (size ascending).
    std::vector<std::size_t> front() const;

private:
    void rebuild();
    double sizeOf(const RunSummary& r) const;
    double lossOf(const RunSummary& r) const;
    double errorOf(const RunSummary& r) const;
    QString sizeLabel() const;
    bool higherIsBetter() const;
    QString lossLabel() const;

    std::vector<RunSummary> m_runs;
    std::optional<RunSummary> m_baseline;
    Loss m_loss = Loss::Perplexity;
    Size m_size = Size::BitsPerWeight;
    bool m_pareto = true;
};

} // namespace qs
