#include "PlotWidget.h"

#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QApplication>
#include <QBuffer>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMenu>
#include <QMessageBox>
#include <QMouseEvent>
#include <QRegularExpression>
#include <QSvgGenerator>
#include <QTemporaryFile>
#include <QTimer>
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

/// a and b mixed: t = 0 is a, 1 is b.
QColor mix(const QColor& a, const QColor& b, double t)
{
    return QColor::fromRgbF(float(a.redF() + (b.redF() - a.redF()) * t),
                            float(a.greenF() + (b.greenF() - a.greenF()) * t),
                            float(a.blueF() + (b.blueF() - a.blueF()) * t));
}

/// A pen's colour replaced, its width and style kept.
QPen recolored(QPen pen, const QColor& color)
{
    pen.setColor(color);
    return pen;
}

const char* const kBaseWidth = "qsBasePenWidth";
const char* const kBaseMarker = "qsBaseMarkerSize";
const char* const kThemedText = "qsThemedText";

/// A width drawn `scale` times larger (a cosmetic 0 pen becomes `scale` pixels once enlarged).
double scaledWidth(double base, double scale)
{
    return std::abs(scale - 1.0) < 0.01 ? base : std::max(base, 1.0) * scale;
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
    setMinimumSize(300, 160); // room for a 1024×768 projector's pages in teaching mode
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    // One paint buffer instead of two: nothing is drawn on the overlay layer (it holds the
    // selection rectangle, not used here), and each buffer is a plot-sized image to allocate and
    // clear on every size change and replot.
    if (QCPLayer* overlay = layer(QStringLiteral("overlay")))
        overlay->setMode(QCPLayer::lmLogical);
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
    connect(this, &QCustomPlot::beforeReplot, this, &PlotWidget::applyLook);
    connect(this, &QCustomPlot::afterLayout, this, &PlotWidget::fitAxisLabels);
    // QCustomPlot's constructor queued its first replot through its own meta-object (from a base
    // constructor the override is not found), so it would draw even on a hidden page: take it
    // back and queue it again, now through replot() above.
    QCoreApplication::removePostedEvents(this, QEvent::MetaCall);
    mReplotQueued = false;
    replot(QCustomPlot::rpQueuedReplot);
}

void PlotWidget::fitAxisLabels()
{
    // A title wider than the plot is broken into lines at spaces (laid out again once).
    if (m_title && !m_wholeTitle.isEmpty()) {
        const QFontMetrics fm(m_title->font());
        // The title's column: the plot less the columns beside the axes (a legend there).
        int room = width() - 12;
        for (int r = 0; r < plotLayout()->rowCount(); ++r)
            for (int c = 0; c < plotLayout()->columnCount(); ++c)
                if (plotLayout()->hasElement(r, c) && plotLayout()->element(r, c) == axisRect())
                    for (int other = 0; other < plotLayout()->columnCount(); ++other)
                        if (other != c && plotLayout()->hasElement(r, other))
                            room -= plotLayout()->element(r, other)->outerRect().width();
        room = std::max(40, room);
        // Pieces: the words, and a word too long for a line (a layer's name) after each '.', '_', '/'.
        std::vector<std::pair<QString, bool>> pieces; // text, a space before it
        static const QRegularExpression breaks(QStringLiteral("(?<=[._/])"));
        for (const QString& word : m_wholeTitle.split(u' ')) {
            const QStringList parts = fm.horizontalAdvance(word) > room
                                          ? word.split(breaks, Qt::SkipEmptyParts)
                                          : QStringList{word};
            for (int i = 0; i < parts.size(); ++i)
                pieces.emplace_back(parts[i], i == 0);
        }
        QStringList lines;
        QString line;
        for (const auto& [piece, spaced] : pieces) {
            const QString longer =
                line.isEmpty() ? piece : line + (spaced ? QStringLiteral(" ") : QString()) + piece;
            if (!line.isEmpty() && fm.horizontalAdvance(longer) > room) {
                lines << line;
                line = piece;
            } else {
                line = longer;
            }
        }
        lines << line;
        const QString wrapped = lines.join(u'\n');
        if (wrapped != m_title->text()) {
            m_title->setText(wrapped);
            replot(QCustomPlot::rpQueuedReplot); // the title's new height
        }
    }
    // In teaching mode (enlarged fonts on a small screen) an axis label longer than its axis is
    // shortened with "…" rather than cut at the widget's edge; the whole label comes back when
    // there is room or the mode ends (a label set anew is taken as whole).
    const bool shorten = m_followsFont && displayScale() > 1.01;
    const char* const whole = "qsWholeLabel";
    const char* const shown = "qsShownLabel";
    for (QCPAxisRect* rect : axisRects())
        for (QCPAxis* axis : rect->axes()) {
            QString full = axis->label();
            if (axis->property(shown).toString() == full && axis->property(whole).isValid())
                full = axis->property(whole).toString();
            const int room = axis->orientation() == Qt::Vertical ? rect->height() : rect->width();
            // A label a little too long is drawn smaller (down to 60 %) before anything is cut.
            if (const int need = QFontMetrics(axis->labelFont()).horizontalAdvance(full);
                m_followsFont && room > 0 && need > room) {
                QFont smaller = axis->labelFont();
                smaller.setPointSizeF(smaller.pointSizeF() * std::max(0.6, double(room) / need));
                axis->setLabelFont(smaller);
            }
            const QString fit = shorten && room > 0
                                    ? QFontMetrics(axis->labelFont()).elidedText(full, Qt::ElideRight, room)
                                    : full;
            axis->setProperty(whole, full);
            axis->setProperty(shown, fit);
            if (fit != axis->label())
                axis->setLabel(fit);
        }
}

double PlotWidget::displayScale() const
{
    const double app = QApplication::font().pointSizeF(), own = font().pointSizeF();
    return app > 0 && own > 0 ? std::clamp(own / app, 0.5, 4.0) : 1.0;
}

void PlotWidget::changeEvent(QEvent* event)
{
    QCustomPlot::changeEvent(event);
    if (event->type() == QEvent::PaletteChange || event->type() == QEvent::FontChange)
        replot(QCustomPlot::rpQueuedReplot);
}

void PlotWidget::applyLook()
{
    const QColor bg = palette().color(QPalette::Base), fg = palette().color(QPalette::Text);
    const QColor grid = mix(fg, bg, 0.78), subGrid = mix(fg, bg, 0.9);
    const double scale = m_followsFont ? displayScale() : 1.0;
    setBackground(bg);
    std::vector<QCPAxis*> axes;
    for (QCPAxisRect* rect : axisRects())
        for (QCPAxis* axis : rect->axes())
            axes.push_back(axis);
    for (QCPLayoutElement* e : plotLayout()->elements(true))
        if (auto* colorScale = qobject_cast<QCPColorScale*>(e))
            axes.push_back(colorScale->axis());
    const QFont f = font();
    for (QCPAxis* axis : axes) {
        QPen base = recolored(axis->basePen(), fg), tick = recolored(axis->tickPen(), fg),
             subTick = recolored(axis->subTickPen(), fg);
        if (m_followsFont) {
            base.setWidthF(scaledWidth(0, scale));
            tick.setWidthF(scaledWidth(0, scale));
            subTick.setWidthF(scaledWidth(0, scale));
            axis->setTickLabelFont(f);
            axis->setLabelFont(f);
        }
        axis->setBasePen(base);
        axis->setTickPen(tick);
        axis->setSubTickPen(subTick);
        axis->setTickLabelColor(fg);
        axis->setLabelColor(fg);
        axis->grid()->setPen(recolored(axis->grid()->pen(), grid));
        axis->grid()->setSubGridPen(recolored(axis->grid()->subGridPen(), subGrid));
        axis->grid()->setZeroLinePen(recolored(axis->grid()->zeroLinePen(), grid));
    }
    legend->setBrush(QBrush(bg));
    legend->setBorderPen(QPen(mix(fg, bg, 0.6)));
    legend->setTextColor(fg);
    if (m_title)
        m_title->setTextColor(fg);
    // Texts drawn in the default black (and lines marked as foreground) follow the palette;
    // coloured ones keep their colour.
    for (int i = 0; i < itemCount(); ++i) {
        QCPAbstractItem* it = item(i);
        if (auto* text = qobject_cast<QCPItemText*>(it)) {
            if (text->property(kThemedText).toBool() || text->color() == QColor(Qt::black)) {
                text->setProperty(kThemedText, true);
                text->setColor(fg);
            }
            if (text->brush().style() != Qt::NoBrush) {
                QColor backdrop = bg;
                backdrop.setAlpha(text->brush().color().alpha());
                text->setBrush(backdrop);
            }
        } else if (auto* line = qobject_cast<QCPItemStraightLine*>(it);
                   line && line->pen().color().hsvSaturationF() < 0.05) { // a neutral rule: the text's colour
            line->setPen(recolored(line->pen(), fg));
        }
    }
    // Neutral (grey) series, a front or a reference, between text and base: seen on both themes.
    const char* const neutral = "qsNeutralPen";
    for (int i = 0; i < plottableCount(); ++i) {
        QCPAbstractPlottable* p = plottable(i);
        if (!qobject_cast<QCPGraph*>(p)) // lines only: bars and maps keep their outlines
            continue;
        if (p->property(neutral).toBool() ||
            (p->pen().style() != Qt::NoPen && p->pen().color().hsvSaturationF() < 0.05 &&
             p->pen().color().alpha() == 255)) {
            p->setProperty(neutral, true);
            p->setPen(recolored(p->pen(), mix(fg, bg, 0.35)));
        }
    }
    if (!m_followsFont)
        return;
    QFont legendFont = f;
    legendFont.setPointSizeF(f.pointSizeF() * 0.9);
    legend->setFont(legendFont);
    if (m_title) {
        QFont t = f;
        t.setPointSizeF(f.pointSizeF() + 1);
        t.setBold(true);
        m_title->setFont(t);
    }
    // Lines and markers: each plottable's width as its subclass made it, times the scale.
    for (int i = 0; i < plottableCount(); ++i) {
        QCPAbstractPlottable* p = plottable(i);
        if (!p->property(kBaseWidth).isValid())
            p->setProperty(kBaseWidth, p->pen().widthF());
        QPen pen = p->pen();
        pen.setWidthF(scaledWidth(p->property(kBaseWidth).toDouble(), scale));
        p->setPen(pen);
        if (auto* g = qobject_cast<QCPGraph*>(p); g && g->scatterStyle().shape() != QCPScatterStyle::ssNone) {
            if (!g->property(kBaseMarker).isValid())
                g->setProperty(kBaseMarker, g->scatterStyle().size());
            QCPScatterStyle style = g->scatterStyle();
            style.setSize(g->property(kBaseMarker).toDouble() * scale);
            g->setScatterStyle(style);
        }
    }
}

void PlotWidget::replot(QCustomPlot::RefreshPriority refreshPriority)
{
    if (!isVisible() && window()->isVisible()) {
        m_replotWhenShown = true;
        return;
    }
    QCustomPlot::replot(refreshPriority);
}

void PlotWidget::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    setViewport(rect());
    replot(QCustomPlot::rpQueuedReplot);
}

void PlotWidget::showEvent(QShowEvent* event)
{
    QCustomPlot::showEvent(event);
    if (!m_replotWhenShown)
        return;
    // Drawn from a timer of its own, after the page's first paint. A queued replot would not do:
    // posted events run back to back, so a page shown for the first time laid itself out and
    // drew all its plots before the event loop saw input again (the Playground's two: 40-60 ms).
    m_replotWhenShown = false;
    mReplotQueued = true; // a replot asked for meanwhile is this one
    QTimer::singleShot(1, this, [this] {
        mReplotQueued = false;
        QCustomPlot::replot(QCustomPlot::rpQueuedRefresh);
    });
}

void PlotWidget::placeLegendBeside()
{
    int row = 0, column = 0;
    for (int r = 0; r < plotLayout()->rowCount(); ++r)
        for (int c = 0; c < plotLayout()->columnCount(); ++c)
            if (plotLayout()->hasElement(r, c) && plotLayout()->element(r, c) == axisRect()) {
                row = r;
                column = c;
            }
    if (legend->layout() != axisRect()->insetLayout())
        return; // already beside the axes
    axisRect()->insetLayout()->take(legend);
    auto* side = new QCPLayoutGrid;
    plotLayout()->addElement(row, column + 1, side);
    plotLayout()->setColumnStretchFactor(column + 1, 0.001);
    side->setMargins(QMargins(0, 12, 6, 0));
    side->addElement(0, 0, legend);
    side->addElement(1, 0, new QCPLayoutElement(this)); // takes the height below the legend
    side->setRowStretchFactor(0, 0.001);
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
    m_wholeTitle = title;
    m_title->setText(title);
}

QString PlotWidget::title() const
{
    return m_title ? m_wholeTitle : QString();
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
    return QLocale().toString(v, 'g', significant); // the user's decimal separator
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
    m_hover.push_back({key, value, text, {}, keyAxis ? keyAxis : xAxis, valueAxis ? valueAxis : yAxis});
}

void PlotWidget::addHoverPoint(double key, double value, std::function<QString()> text, QCPAxis* keyAxis,
                               QCPAxis* valueAxis)
{
    m_hover.push_back(
        {key, value, QString(), std::move(text), keyAxis ? keyAxis : xAxis, valueAxis ? valueAxis : yAxis});
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
    if (!nearest)
        return QString();
    return nearest->makeText ? nearest->makeText() : nearest->text;
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
    svg.setTitle(title());
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
