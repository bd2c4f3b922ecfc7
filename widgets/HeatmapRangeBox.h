#pragma once

#include <QWidget>

class QSpinBox;

namespace qs {

class LayerErrorHeatmap;

/// "Colours from 10^a to 10^b": the fixed colour range of a LayerErrorHeatmap, in decades. Each
/// end bounds the other (the low end stays below the high end), so every state shown is a range
/// the heatmap draws; the heatmap follows at once.
class HeatmapRangeBox : public QWidget
{
    Q_OBJECT
public:
    explicit HeatmapRangeBox(LayerErrorHeatmap* heatmap, QWidget* parent = nullptr);

    QSpinBox* low() const { return m_low; }
    QSpinBox* high() const { return m_high; }

private:
    void apply();

    LayerErrorHeatmap* m_heatmap;
    QSpinBox* m_low;
    QSpinBox* m_high;
};

} // namespace qs
