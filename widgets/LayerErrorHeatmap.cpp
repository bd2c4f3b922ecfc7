#include "LayerErrorHeatmap.h"

#include <QRegularExpression>
#include <cmath>
#include <limits>

namespace qs {

namespace {

/// Dark blue (small errors) through pale yellow to dark red (large ones): every stop is visible on
/// white and on a dark background, and the ends are the darkest, so neither extreme disappears.
QCPColorGradient errorGradient()
{
    QCPColorGradient g;
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    g.setColorStopAt(0.0, QColor(40, 40, 140));
    g.setColorStopAt(0.25, QColor(60, 130, 200));
    g.setColorStopAt(0.5, QColor(235, 200, 80));
    g.setColorStopAt(0.75, QColor(230, 100, 50));
    g.setColorStopAt(1.0, QColor(140, 0, 30));
    g.setNanHandling(QCPColorGradient::nhTransparent);
    g.setLevelCount(350);
    return g;
}

} // namespace

LayerErrorHeatmap::LayerErrorHeatmap(QWidget* parent) : PlotWidget(parent)
{
    setObjectName(QStringLiteral("layerErrorHeatmap"));
    setInteractions({});
    // The colour bar under the plot, as wide as it: room for the metric's name and unit.
    m_scale = new QCPColorScale(this);
    plotLayout()->addElement(1, 0, m_scale);
    m_scale->setType(QCPAxis::atBottom);
    m_scale->setBarWidth(12);
    m_scale->setDataScaleType(QCPAxis::stLogarithmic);
    m_scale->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    m_scale->axis()->setNumberFormat(QStringLiteral("eb"));
    m_scale->axis()->setNumberPrecision(0);
    m_scale->setGradient(errorGradient());
    m_scale->setDataRange(colorRange());
    auto* margins = new QCPMarginGroup(this);
    axisRect()->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    m_scale->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    rebuild();
}

void LayerErrorHeatmap::setDecades(int low, int high)
{
    if (low >= high)
        return;
    m_low = low;
    m_high = high;
    rebuild();
}

QCPRange LayerErrorHeatmap::colorRange() const
{
    return QCPRange(std::pow(10.0, m_low), std::pow(10.0, m_high));
}

QColor LayerErrorHeatmap::colorOf(double value) const
{
    if (!std::isfinite(value) || value <= 0)
        return Qt::transparent;
    return QColor::fromRgba(errorGradient().color(value, colorRange(), true));
}

QString LayerErrorHeatmap::metricUnit(LayerErrorMetric metric)
{
    switch (metric) {
    case LayerErrorMetric::WeightRelMse:
        return tr("relative MSE ‖W − Ŵ‖² / ‖W‖², no unit");
    case LayerErrorMetric::OutputRelMse:
        return tr("relative MSE ‖XWᵀ − XŴᵀ‖² / ‖XWᵀ‖² on calibration inputs, no unit");
    case LayerErrorMetric::KldContribution:
        return tr("mean KLD in nats with only this layer quantized, from the sensitivity sweep");
    }
    return QString();
}

QString LayerErrorHeatmap::scaleLabel() const
{
    const QString what = m_fixedMatrix ? m_valueName : tr("%1: %2").arg(valueName(), metricUnit(m_metric));
    return tr("%1 (log scale, fixed; beyond it: end colours)").arg(what);
}

void LayerErrorHeatmap::setMatrix(LayerErrorMatrix matrix, const QString& valueName)
{
    m_matrix = std::move(matrix);
    m_notes.clear();
    m_fixedMatrix = true;
    m_valueName = valueName;
    rebuild();
}

QString LayerErrorHeatmap::valueName() const
{
    return m_fixedMatrix ? m_valueName : LayerErrorHeatmap::metricName(m_metric);
}

void LayerErrorHeatmap::setRuns(std::vector<RunSummary> runs)
{
    m_fixedMatrix = false;
    m_notes.clear();
    m_runs = std::move(runs);
    rebuild();
}

void LayerErrorHeatmap::setCellNotes(std::vector<QString> notes)
{
    m_notes = std::move(notes);
    rebuild();
}

void LayerErrorHeatmap::setMetric(LayerErrorMetric metric)
{
    m_metric = metric;
    rebuild();
}

QString LayerErrorHeatmap::shortLayerName(const QString& name)
{
    static const QRegularExpression re(
        QStringLiteral("^(?:model\\.)?layers\\.(\\d+)\\.(?:self_attn|mlp)\\.(.+)$"));
    const QRegularExpressionMatch m = re.match(name);
    return m.hasMatch() ? m.captured(1) + u'.' + m.captured(2) : name;
}

QString LayerErrorHeatmap::metricName(LayerErrorMetric metric)
{
    switch (metric) {
    case LayerErrorMetric::WeightRelMse:
        return tr("weight error");
    case LayerErrorMetric::OutputRelMse:
        return tr("output error");
    case LayerErrorMetric::KldContribution:
        return tr("KLD contribution");
    }
    return QString();
}

bool LayerErrorHeatmap::hasData() const
{
    return m_matrix.hasValues();
}

PlotTable LayerErrorHeatmap::table() const
{
    PlotTable t;
    t.header << QStringLiteral("layer") << m_matrix.runs;
    for (int l = 0; l < int(m_matrix.layers.size()); ++l) {
        QStringList row{m_matrix.layers[l]};
        for (int r = 0; r < int(m_matrix.runs.size()); ++r)
            row << number(m_matrix.at(l, r));
        t.rows.push_back(row);
    }
    return t;
}

QString LayerErrorHeatmap::hoverText(const QPoint& pos) const
{
    if (!hasData() || !axisRect()->rect().contains(pos))
        return QString();
    const int l = int(std::lround(xAxis->pixelToCoord(pos.x())));
    const int r = int(std::lround(yAxis->pixelToCoord(pos.y())));
    if (l < 0 || r < 0 || l >= int(m_matrix.layers.size()) || r >= int(m_matrix.runs.size()))
        return QString();
    const double v = m_matrix.at(l, r);
    QString text =
        tr("%1\n%2\n%3: %4")
            .arg(m_matrix.layers[l], m_matrix.runs[r], valueName(), std::isfinite(v) ? number(v) : tr("n/a"));
    const std::size_t cell = std::size_t(l) * std::size_t(m_matrix.runs.size()) + std::size_t(r);
    if (cell < m_notes.size() && !m_notes[cell].isEmpty())
        text += u'\n' + m_notes[cell];
    return text;
}

void LayerErrorHeatmap::rebuild()
{
    clearPlot();
    m_map = nullptr;
    if (!m_fixedMatrix)
        m_matrix = layerErrorMatrix(m_runs, m_metric);
    m_scale->axis()->setLabel(scaleLabel());
    m_scale->setDataRange(colorRange());
    xAxis->setLabel(tr("layer"));
    yAxis->setLabel(QString());
    if (!hasData()) {
        showEmptyMessage(tr("No per-layer measurements to show"));
        m_scale->setVisible(false);
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    m_scale->setVisible(true);
    const int nl = int(m_matrix.layers.size()), nr = int(m_matrix.runs.size());
    m_map = new QCPColorMap(xAxis, yAxis);
    // Cells are centred on the range ends; a dimension of one cell is drawn as two half cells.
    const int kx = std::max(2, nl), ky = std::max(2, nr);
    m_map->data()->setSize(kx, ky);
    m_map->data()->setRange(nl == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, nl - 1),
                            nr == 1 ? QCPRange(-0.25, 0.25) : QCPRange(0, nr - 1));
    for (int x = 0; x < kx; ++x) {
        for (int y = 0; y < ky; ++y) {
            const double v = m_matrix.at(std::min(x, nl - 1), std::min(y, nr - 1));
            m_map->data()->setCell(x, y,
                                   std::isfinite(v) && v > 0 ? v : std::numeric_limits<double>::quiet_NaN());
        }
    }
    m_map->setInterpolate(false);
    m_map->setColorScale(m_scale); // takes the scale's gradient, log type and fixed range
    m_map->setDataScaleType(QCPAxis::stLogarithmic);
    m_map->setGradient(errorGradient());
    m_map->setDataRange(colorRange());
    if (m_notes.size() == m_matrix.values.size()) {
        // × on the noted cells, in a colour the error gradient does not use.
        QCPGraph* marks = addGraph(xAxis, yAxis);
        marks->setName(tr("× another type stored"));
        marks->setLineStyle(QCPGraph::lsNone);
        marks->setScatterStyle(
            QCPScatterStyle(QCPScatterStyle::ssCross, QPen(QColor(0, 170, 255), 2), Qt::NoBrush, 9));
        for (int l = 0; l < nl; ++l)
            for (int r = 0; r < nr; ++r)
                if (!m_notes[std::size_t(l) * std::size_t(nr) + std::size_t(r)].isEmpty())
                    marks->addData(l, r);
        if (marks->dataCount() == 0)
            removeGraph(marks);
    }

    auto xt = QSharedPointer<QCPAxisTickerText>::create();
    const int step = std::max(1, nl / 40); // keep labels readable on large models
    for (int l = 0; l < nl; l += step)
        xt->addTick(l, shortLayerName(m_matrix.layers[l]));
    xAxis->setTicker(xt);
    xAxis->setTickLabelRotation(nl > 8 ? 60 : 0);
    xAxis->setSubTicks(false);
    auto yt = QSharedPointer<QCPAxisTickerText>::create();
    for (int r = 0; r < nr; ++r)
        yt->addTick(r, m_matrix.runs[r]);
    yAxis->setTicker(yt);
    yAxis->setSubTicks(false);
    xAxis->setRange(-0.5, nl - 0.5);
    yAxis->setRange(-0.5, nr - 0.5);
    replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qs
