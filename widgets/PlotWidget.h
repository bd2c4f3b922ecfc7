#pragma once

#include <QString>
#include <QStringList>
// qcustomplot.h spells Qt's keywords (signals, slots, emit, foreach), which the build policy
// turns off (QT_NO_KEYWORDS): lend them to that one header.
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
#include <functional>
#include <vector>

namespace qs {

/// The numbers a plot shows, as a table (its CSV export): a header and rows of cells.
struct PlotTable
{
    QStringList header;
    std::vector<QStringList> rows;
    QString toCsv() const;
};

/// What every plot adapter shares: a title, hover tooltips (mouse move → nearest point),
/// export as PNG, PDF, SVG and CSV (each written atomically: temp file, then rename; offered on
/// right-click), and the question whether there is anything to show. Subclasses rebuild their
/// plottables from core data and call addHoverPoint for what a tooltip should name.
class PlotWidget : public QCustomPlot
{
    Q_OBJECT
public:
    explicit PlotWidget(QWidget* parent = nullptr);

    virtual bool hasData() const = 0;
    /// The plotted numbers (one row per point, bar or bin), exported by exportCsv.
    virtual PlotTable table() const = 0;

    void setTitle(const QString& title);
    QString title() const;

    /// Saves a picture (width/height 0: the widget's size, or 800×500 when it has none).
    /// Each throws qs::Error naming the file when it cannot be written.
    void exportPng(const QString& path, int width = 0, int height = 0, double scale = 1.0);
    void exportPdf(const QString& path, int width = 0, int height = 0);
    void exportSvg(const QString& path, int width = 0, int height = 0);
    void exportCsv(const QString& path) const;
    /// Asks for a file (PNG, PDF, SVG or CSV by its suffix) and exports; errors in a message box.
    void exportWithDialog();
    /// By the file's suffix: .png, .pdf or .csv (else qs::Error).
    void exportFile(const QString& path, int width = 0, int height = 0);

    /// The tooltip text at a widget position (empty when nothing is within reach).
    virtual QString hoverText(const QPoint& pos) const;

    /// A number as CSV and tooltips write it: the shortest text that reads back to the same double.
    static QString number(double v);
    /// A number as tooltips and labels show it: `significant` digits (4: "12.35", "0.001523") in
    /// the user's locale (German: "12,35"); CSV keeps number().
    static QString rounded(double v, int significant = 4);
    /// The i-th colour of the series palette (qualitative, distinguishable on white); past the
    /// palette, hues spaced by the golden angle, so that every index has its own colour.
    static QColor seriesColor(int i);

    /// How much larger than the application's font this plot's font is (teaching mode enlarges
    /// the window's font): fonts, line widths and markers are drawn that much larger.
    double displayScale() const;

public Q_SLOTS:
    /// QCustomPlot::replot, put off while the plot sits on a page of a shown window that is not
    /// itself shown (another tab): it is drawn when it appears. A window holds dozens of plots;
    /// drawing the hidden ones allocated and filled their full-size paint buffers on the UI thread
    /// (90 ms at the first paint). Also the slot QCustomPlot's queued replot calls (by name, so the
    /// override is found); a plot outside any shown window (export, CLI, tests) replots as before.
    void replot(QCustomPlot::RefreshPriority refreshPriority = QCustomPlot::rpRefreshHint);

protected:
    void showEvent(QShowEvent* event) override;
    /// QCustomPlot redraws at once on every resize; a page shown for the first time resizes its
    /// plots several times while its layouts settle, each a full redraw with new paint buffers
    /// (a Playground visit: 60 ms in one event). Here the viewport follows at once and the redraw
    /// is queued: one per plot, each in its own event.
    void resizeEvent(QResizeEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    /// A new palette (the theme changed) or font (teaching mode): restyle and redraw.
    void changeEvent(QEvent* event) override;
    /// Off for a plot that sizes its fonts and lines itself (the Playground's presentation mode);
    /// its colours still follow the palette.
    void setFollowsFont(bool follows) { m_followsFont = follows; }
    /// Moves the legend out of the data: beside the axes, top-aligned (the legend keeps its
    /// visibility; a hidden one takes no room).
    void placeLegendBeside();
    void clearHoverPoints() { m_hover.clear(); }
    void addHoverPoint(double key, double value, const QString& text, QCPAxis* keyAxis = nullptr,
                       QCPAxis* valueAxis = nullptr);
    /// The same with the text made only when the point is hovered: thousands of points (a
    /// 2048-value row) would otherwise format thousands of strings on every rebuild.
    void addHoverPoint(double key, double value, std::function<QString()> text, QCPAxis* keyAxis = nullptr,
                       QCPAxis* valueAxis = nullptr);
    /// Removes every plottable and item, keeps the axes, legend and title.
    void clearPlot();
    /// Placeholder text shown when there is no data.
    void showEmptyMessage(const QString& text);
    QSize exportSize(int width, int height) const;

private:
    struct HoverPoint
    {
        double key, value;
        QString text;
        std::function<QString()> makeText; ///< when set, the text (made on hover)
        QCPAxis* keyAxis;
        QCPAxis* valueAxis;
    };
    /// Before each replot: axes, grid, text and legend in the palette's colours, and fonts, pens
    /// and markers at displayScale() (each plottable's own width kept as its base).
    void applyLook();
    /// After each layout: a title too wide for the plot broken into lines, axis labels too long
    /// for their axis shortened with "…".
    void fitAxisLabels();

    std::vector<HoverPoint> m_hover;
    QCPTextElement* m_title = nullptr;
    QString m_wholeTitle; ///< the title as set; the element shows it broken into lines to fit
    bool m_followsFont = true;
    bool m_replotWhenShown = false; ///< a replot was put off while the plot was hidden
};

} // namespace qs
