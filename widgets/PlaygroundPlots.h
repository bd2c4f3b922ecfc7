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
    const PlaygroundResult* result() const { return m_result.get(); }
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
    std::shared_ptr<const PlaygroundResult> m_result;

private:
    double m_scale = 1.0;
    double m_basePointSize = 0;
};

/// The row's values (in order or sorted), the reconstructed values over them and the
/// quantization levels of the shown group as horizontal lines (its columns shaded in order view).
class PlaygroundValuesPlot : public PlaygroundPlot
{
    Q_OBJECT
public:
    explicit PlaygroundValuesPlot(QWidget* parent = nullptr);

    void setSorted(bool sorted);
    bool sorted() const { return m_sorted; }
    /// What the row is and how it is quantized, for the title (empty: a generic title).
    void setCaption(const QString& caption);
    /// kind ("value" or "level"), position, original, reconstructed, error, group.
    PlotTable table() const override;

protected:
    void rebuild() override;

private:
    std::vector<std::size_t> order() const;
    bool m_sorted = false;
    QString m_caption;
};

/// The distribution of the errors original − reconstructed, with MSE in the title.
class PlaygroundErrorPlot : public PlaygroundPlot
{
    Q_OBJECT
public:
    explicit PlaygroundErrorPlot(QWidget* parent = nullptr);
    /// bin_lower, bin_upper, count.
    PlotTable table() const override;

protected:
    void rebuild() override;
};

} // namespace qs
