#include "HeatmapRangeBox.h"

#include "LayerErrorHeatmap.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>

namespace qs {

namespace {

constexpr int kLowestDecade = -12;
constexpr int kHighestDecade = 3;

} // namespace

HeatmapRangeBox::HeatmapRangeBox(LayerErrorHeatmap* heatmap, QWidget* parent)
    : QWidget(parent), m_heatmap(heatmap), m_low(new QSpinBox), m_high(new QSpinBox)
{
    m_low->setObjectName(QStringLiteral("heatmapLowDecade"));
    m_high->setObjectName(QStringLiteral("heatmapHighDecade"));
    const auto [low, high] = heatmap->decades();
    for (QSpinBox* box : {m_low, m_high}) {
        box->setPrefix(QStringLiteral("10^"));
        box->setToolTip(tr("The heatmap's colour scale (log): fixed, so a colour means the same value "
                           "whichever rows are shown; values beyond it take the end colours"));
    }
    m_low->setRange(kLowestDecade, high - 1);
    m_high->setRange(low + 1, kHighestDecade);
    m_low->setValue(low);
    m_high->setValue(high);
    connect(m_low, &QSpinBox::valueChanged, this, &HeatmapRangeBox::apply);
    connect(m_high, &QSpinBox::valueChanged, this, &HeatmapRangeBox::apply);

    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(new QLabel(tr("Colours from")));
    row->addWidget(m_low);
    row->addWidget(new QLabel(tr("to")));
    row->addWidget(m_high);
}

void HeatmapRangeBox::apply()
{
    // Each end's limit follows the other, so the pair is always a drawable range.
    m_low->setMaximum(m_high->value() - 1);
    m_high->setMinimum(m_low->value() + 1);
    m_heatmap->setDecades(m_low->value(), m_high->value());
}

} // namespace qs
