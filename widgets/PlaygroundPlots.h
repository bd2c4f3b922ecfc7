#pragma once

#include "PlotWidget.h"
#include "analysis/Playground.h"

#include <memory>

namespace qs {

/// The teaching playground's plots: thin adapters over a PlaygroundResult, with a presentation
/// scale that enlarges fonts and line widths for a projector.
class PlaygroundPlot : public PlotWidget
{
    Q_OBJECT
public:
    explicit PlaygroundPlot(QWidget* parent = nullptr);

    void setResult(std::shared_ptr<const PlaygroundResult> result);
    /// A result with a second one to compare (B; null: none), each named in the legend.
    void setResults(std::shared_ptr<const PlaygroundResult> a, std::shared_ptr<const PlaygroundResult> b,
                    const QString& nameA = {}, const QString& nameB = {});
    const PlaygroundResult* result() const { return m_result.get(); }
    const PlaygroundResult* comparison() const { return m_comparison.get(); }
    /// Fixed axes: the value range a class keeps seeing while settings change (the panel sets it
    /// from the row; empty (lo >= hi): fit to the data).
    void setFixedRange(double lo, double hi);
    double fixedLow() const { return m_fixedLo; }
    double fixedHigh() const { return m_fixedHi; }
    /// 1 = normal; 1.6 or so for a projector. Fonts of title, axes, ticks and legend and the
    /// width of lines scale with it.
    void setPresentationScale(double scale);
    double presentationScale() const { return m_scale; }
    bool hasData() const override { return m_result != nullptr; }

protected:
    virtual void rebuild() = 0;
    double lineWidth(double normal) const { return normal * m_scale; }
    /// Sets title, axis, tick and legend fonts for the presentation scale (after setTitle).
    void applyFonts();
    bool hasFixedRange() const { return m_fixedHi > m_fixedLo; }
    std::shared_ptr<const PlaygroundResult> m_result;
    std::shared_ptr<const PlaygroundResult> m_comparison;
    QString m_nameA, m_nameB;
    double m_fixedLo = 0, m_fixedHi = 0;

private:
    double m_scale = 1.0;
    double m_basePointSize = 0;
};

/// The row's values (in order, or sorted within each group), the reconstructed values over them
/// (and those of a second method to compare), and the quantization levels of each group drawn
/// over that group's columns only: the shown group's strongly (its columns shaded), the others
/// faintly when they are few. A selected weight (the step-through's) is ringed. The value axis
/// stays at the fixed range when one is set.
class PlaygroundValuesPlot : public PlaygroundPlot
{
    Q_OBJECT
public:
    explicit PlaygroundValuesPlot(QWidget* parent = nullptr);

    void setSorted(bool sorted);
    bool sorted() const { return m_sorted; }
    /// The weight to ring (-1: none); `rebuildNow` false when a setResults follows.
    void setSelectedIndex(std::int64_t index, bool rebuildNow = true);
    std::int64_t selectedIndex() const { return m_selected; }
    /// The x position of weight `index` in the current view (sorted view: its rank in its group).
    double positionOf(std::int64_t index) const;
    /// What the row is and how it is quantized, for the title (empty: a generic title).
    void setCaption(const QString& caption);
    /// kind ("value" or "level"), position, original, reconstructed, error, group.
    PlotTable table() const override;

protected:
    void rebuild() override;

private:
    std::vector<std::size_t> order() const;
    void addLevels(const QuantGrid& grid, std::int64_t group, const QPen& pen);
    bool m_sorted = false;
    QString m_caption;
    std::int64_t m_selected = -1;
};

/// The distribution of the errors original − reconstructed, with MSE in the title; with a second
/// result, both histograms over the same bins (bars and an outline). With a fixed range the bins
/// span it (errors beyond it fall into the outer bins), so the axis does not move.
class PlaygroundErrorPlot : public PlaygroundPlot
{
    Q_OBJECT
public:
    explicit PlaygroundErrorPlot(QWidget* parent = nullptr);
    /// bin_lower, bin_upper, count (and count_b with a comparison).
    PlotTable table() const override;

protected:
    void rebuild() override;

private:
    std::vector<Histogram> histograms() const;
};

/// Pairs of neighbouring weights as points in the plane, in the space the method quantizes in (after its
/// rotation), with the points such a pair can be reconstructed to (PlaygroundPairs): a square grid for a
/// scalar method, a non-uniform one for a row codebook, the projection of the E8P lattice or of AQLM's
/// sums of codebook entries for the vector methods; each pair joined to its reconstruction, the shown
/// group's pair ringed. A's result (B's while "Step through" follows B).
class PlaygroundPairsPlot : public PlaygroundPlot
{
    Q_OBJECT
public:
    explicit PlaygroundPairsPlot(QWidget* parent = nullptr);
    /// kind (point, weight, reconstructed), x, y.
    PlotTable table() const override;

protected:
    void rebuild() override;
};

/// The distribution of the row's values and, with incoherence processing, of the rotated row the method
/// quantizes (V·w), over the same bins, each with its excess kurtosis, and the Gaussian of the row's
/// standard deviation for reference: a heavy-tailed row with outliers becomes near-Gaussian. With a
/// comparison the rotated side is whichever result rotates.
class PlaygroundRotationPlot : public PlaygroundPlot
{
    Q_OBJECT
public:
    explicit PlaygroundRotationPlot(QWidget* parent = nullptr);
    /// bin_lower, bin_upper, original (and rotated).
    PlotTable table() const override;

protected:
    void rebuild() override;

private:
    const PlaygroundResult* rotatedResult() const;
    std::vector<Histogram> histograms() const;
};

/// What both plots of GPTQ's demonstration share: the demonstration, its step and the
/// presentation scale.
class PlaygroundGptqPlot : public PlotWidget
{
    Q_OBJECT
public:
    explicit PlaygroundGptqPlot(QWidget* parent = nullptr);
    /// `step`: 0-based, in quantization order.
    void setDemo(std::shared_ptr<const GptqDemo> demo, std::int64_t step);
    void setPresentationScale(double scale);
    bool hasData() const override { return m_demo != nullptr; }

protected:
    virtual void rebuild() = 0;
    std::shared_ptr<const GptqDemo> m_demo;
    std::int64_t m_step = 0;
    double m_scale = 1;
};

/// GPTQ's demonstration, the row: the original values, the row after the columns quantized so
/// far (quantized ones at their levels, the rest as the error feedback updated them) and, for the
/// remaining columns, their values before this step's update and the change (right axis); the
/// current column ringed.
class PlaygroundGptqRowPlot : public PlaygroundGptqPlot
{
    Q_OBJECT
public:
    explicit PlaygroundGptqRowPlot(QWidget* parent = nullptr);
    /// column, original, before, after, quantized (0/1).
    PlotTable table() const override;

protected:
    void rebuild() override;
};

/// GPTQ's demonstration, the output error ‖(w − ŵ)X‖²/tokens of the row as columns are quantized,
/// GPTQ's against RTN's, with the current step marked.
class PlaygroundGptqCurvePlot : public PlaygroundGptqPlot
{
    Q_OBJECT
public:
    explicit PlaygroundGptqCurvePlot(QWidget* parent = nullptr);
    /// columns, gptq, rtn.
    PlotTable table() const override;

protected:
    void rebuild() override;
};

} // namespace qs
