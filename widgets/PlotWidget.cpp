#include "PlotWidget.h"

#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QBuffer>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMenu>
#include <QMessageBox>
#include <QMouseEvent>
#include <QSvgGenerator>
#include <QTemporaryFile>
#include <QToolTip>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace qs {

namespace {

QString csvCell(const QString& s)
{
    if (!s.contains(u',') && !s.contains(u'"') && !s.contains(u'\n'))
        return s;
    QString q = s;
    q.replace(u'"', QStringLiteral("\"\""));
    return u'"' + q + u'"';
}

} // namespace

QString PlotTable::toCsv() const
{
    auto line = [](const QStringList& cells) -> QString {
        QStringList out;
        for (const QString& c : cells)
            out << csvCell(c);
        return out.join(u',') + u'\n';
    };
    QString s = line(header);
    for (const QStringList& r : rows)
        s += line(r);
    return s;
}

PlotWidget::PlotWidget(QWidget* parent) : QCustomPlot(parent)
{
    setMouseTracking(true);
    setMinimumSize(320, 220);
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    legend->setVisible(false);
    QFont f = legend->font();
    f.setPointSizeF(f.pointSizeF() * 0.9);
    legend->setFont(f);
    // Right-click: export the picture or the numbers (every plot, wherever it is shown).
    setContextMenuPolicy(Qt::CustomContextMenu);
    connect(this, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QMenu menu;
        QAction* exportAction = menu.addAction(tr("Export Plot…"));
        exportAction->setObjectName(QStringLiteral("plotExportAction"));
        if (menu.exec(mapToGlobal(pos)) == exportAction)
            exportWithDialog();
    });
}

void PlotWidget::exportWithDialog()
{
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Plot"), QString(),
        tr("PNG image (*.png);;PDF (*.pdf);;SVG image (*.svg);;CSV data (*.csv)"));
    if (path.isEmpty())
        return;
    try {
        exportFile(path);
    } catch (const Error& e) {
        QMessageBox::warning(this, tr("Cannot export the plot"), e.message());
    }
}

void PlotWidget::setTitle(const QString& title)
{
    if (!m_title) {
        plotLayout()->insertRow(0);
        m_title =
            new QCPTextElement(this, title, QFont(font().family(), font().pointSize() + 1, QFont::Bold));
        plotLayout()->addElement(0, 0, m_title);
    }
    m_title->setText(title);
}

QString PlotWidget::title() const
{
    return m_title ? m_title->text() : QString();
}

QString PlotWidget::number(double v)
{
    if (std::isnan(v))
        return QString();
    return QString::number(v, 'g', QLocale::FloatingPointShortest);
}

QString PlotWidget::rounded(double v, int significant)
{
    if (!std::isfinite(v))
        return QString();
    return QString::number(v, 'g', significant);
}

QColor PlotWidget::seriesColor(int i)
{
    static constexpr std::array<QRgb, 10> palette{0x1f6fb4, 0xe8741a, 0x2a9d3a, 0xd02b2b, 0x8a5cc2,
                                                  0x8c564b, 0xd9509f, 0x6b6b6b, 0xa8a51c, 0x16b0c4};
    if (i >= 0 && std::size_t(i) < palette.size())
        return QColor::fromRgb(palette[std::size_t(i)]);
    const double hue = std::fmod(0.07 + 0.618033988749895 * double(std::max(0, i)), 1.0);
    return QColor::fromHsvF(float(hue), 0.75f, i % 2 ? 0.62f : 0.8f);
}

void PlotWidget::addHoverPoint(double key, double value, const QString& text, QCPAxis* keyAxis,
                               QCPAxis* valueAxis)
{
    m_hover.push_back({key, value, text, keyAxis ? keyAxis : xAxis, valueAxis ? valueAxis : yAxis});
}

QString PlotWidget::hoverText(const QPoint& pos) const
{
    constexpr double reach = 16; // pixels
    double best = reach * reach;
    const HoverPoint* nearest = nullptr;
    for (const HoverPoint& h : m_hover) {
        if (!std::isfinite(h.key) || !std::isfinite(h.value))
            continue;
        const double px = h.keyAxis->coordToPixel(h.key), py = h.valueAxis->coordToPixel(h.value);
        const double d = (px - pos.x()) * (px - pos.x()) + (py - pos.y()) * (py - pos.y());
        if (d <= best) {
            best = d;
            nearest = &h;
        }
    }
    return nearest ? nearest->text : QString();
}

void PlotWidget::mouseMoveEvent(QMouseEvent* event)
{
    QCustomPlot::mouseMoveEvent(event);
    if (event->buttons() != Qt::NoButton)
        return;
    const QString text = hoverText(event->position().toPoint());
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
}

void PlotWidget::clearPlot()
{
    clearPlottables();
    clearItems();
    clearGraphs();
    clearHoverPoints();
}

void PlotWidget::showEmptyMessage(const QString& text)
{
    auto* label = new QCPItemText(this);
    label->setPositionAlignment(Qt::AlignCenter);
    label->position->setType(QCPItemPosition::ptAxisRectRatio);
    label->position->setCoords(0.5, 0.5);
    label->setText(text);
    label->setColor(Qt::gray);
}

QSize PlotWidget::exportSize(int width, int height) const
{
    if (width <= 0)
        width = this->width() > 100 && isVisible() ? this->width() : 800;
    if (height <= 0)
        height = this->height() > 100 && isVisible() ? this->height() : 500;
    return {width, height};
}

void PlotWidget::exportPng(const QString& path, int width, int height, double scale)
{
    const QSize size = exportSize(width, height);
    const QImage image = toPixmap(size.width(), size.height(), scale).toImage();
    if (image.isNull())
        throw Error::inFile(path, tr("cannot write the PNG: the plot could not be drawn"));
    AtomicFile f(path);
    if (!image.save(&f.device(), "PNG"))
        throw Error::inFile(path, tr("cannot write the PNG: %1").arg(f.device().errorString()));
    f.commit();
}

void PlotWidget::exportPdf(const QString& path, int width, int height)
{
    const QSize size = exportSize(width, height);
    // The PDF writer needs a file name: write beside the target, then rename over it (atomic).
    QTemporaryFile tmp(QFileInfo(path).absoluteDir().filePath(
        QStringLiteral(".%1.XXXXXX.pdf").arg(QFileInfo(path).fileName())));
    if (!tmp.open())
        throw Error::inFile(path, tr("cannot write the PDF: %1").arg(tmp.errorString()));
    const QString tmpName = tmp.fileName();
    tmp.close();
    if (!savePdf(tmpName, size.width(), size.height()) || QFileInfo(tmpName).size() == 0)
        throw Error::inFile(path, tr("cannot write the PDF"));
    if (std::rename(QFile::encodeName(tmpName).constData(), QFile::encodeName(path).constData()) != 0)
        throw Error::inFile(path, tr("cannot write the PDF: rename failed"));
    tmp.setAutoRemove(false); // renamed away
}

void PlotWidget::exportSvg(const QString& path, int width, int height)
{
    const QSize size = exportSize(width, height);
    QBuffer buffer;
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setTitle(m_title ? m_title->text() : QString());
    QCPPainter painter;
    if (!painter.begin(&svg))
        throw Error::inFile(path, tr("cannot write the SVG"));
    toPainter(&painter, size.width(), size.height());
    painter.end();
    writeFileAtomically(path, buffer.data());
}

void PlotWidget::exportCsv(const QString& path) const
{
    writeFileAtomically(path, table().toCsv().toUtf8());
}

void PlotWidget::exportFile(const QString& path, int width, int height)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == u"png")
        exportPng(path, width, height);
    else if (suffix == u"pdf")
        exportPdf(path, width, height);
    else if (suffix == u"svg")
        exportSvg(path, width, height);
    else if (suffix == u"csv")
        exportCsv(path);
    else
        throw Error::inFile(path, tr("unknown export format '%1' (png, pdf, svg or csv)").arg(suffix));
}

} // namespace qs
