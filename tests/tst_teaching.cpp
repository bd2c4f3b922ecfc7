// The real window offscreen on a 1024×768 screen (a projector's): teaching mode (F11) scales every
// page and nothing is clipped; plots and marks follow the theme; the polish of issue 17 part 6
// (ETA of runs, expiring status messages, the budget spin box, sorted shortcuts, locale numbers).
#include "AppSettings.h"
#include "GuiTestSupport.h"
#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "PlanTableModel.h"
#include "PlaygroundPanel.h"
#include "PlotWidget.h"
#include "RunsPanel.h"
#include "ShortcutsDialog.h"
#include "TestSupport.h"
#include "ThemeColors.h"
#include "analysis/Sensitivity.h"
#include "model/Model.h"
#include "tokenizer/Tokenizer.h"

#include <QAbstractButton>
#include <QAbstractItemView>
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenuBar>
#include <QRegularExpression>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QSlider>
#include <QStatusBar>
#include <QTabBar>
#include <QTabWidget>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <memory>

using namespace qs;
using qs::test::loadInto;

namespace {

/// Where a widget is, in its window's coordinates.
QRect inWindow(const QWidget* w)
{
    return QRect(w->mapTo(w->window(), QPoint(0, 0)), w->size());
}

QString nameOf(const QWidget* w)
{
    QString text;
    if (auto* l = qobject_cast<const QLabel*>(w))
        text = l->text().left(40);
    else if (auto* b = qobject_cast<const QAbstractButton*>(w))
        text = b->text();
    else if (auto* p = qobject_cast<const PlotWidget*>(w))
        text = p->title();
    return QStringLiteral("%1 '%2' (%3)")
        .arg(w->objectName(), text, QString::fromLatin1(w->metaObject()->className()));
}

/// What is clipped in `window`: a visible label, button, plot, tab bar or menu bar that is cut
/// by its window or an ancestor (scrolled away, squeezed), whose text does not fit its widget, or
/// a plot whose title does not fit, whose data area is crushed or whose legend covers the data.
QStringList clipped(QWidget* window)
{
    QStringList problems;
    const QRect windowRect = window->rect();
    for (QWidget* w : window->findChildren<QWidget*>()) {
        if (!w->isVisible() || w->window() != window)
            continue;
        const bool checked = qobject_cast<QLabel*>(w) || qobject_cast<QAbstractButton*>(w) ||
                             qobject_cast<PlotWidget*>(w) || qobject_cast<QTabBar*>(w) ||
                             qobject_cast<QMenuBar*>(w);
        if (!checked)
            continue;
        bool inCell = false; // cell widgets (a job's Cancel) scroll with their table's rows
        for (QWidget* a = w->parentWidget(); a && !inCell; a = a->parentWidget())
            inCell = qobject_cast<QAbstractItemView*>(a) != nullptr;
        // A tab bar's scroll arrows and a scroll bar's buttons are part of their owner.
        if (inCell || qobject_cast<QTabBar*>(w->parentWidget()))
            continue;
        // Settings in a scroll area may scroll (that is what it is for); the rest must be in view.
        bool inScrollArea = false;
        for (QWidget* a = w->parentWidget(); a && !inScrollArea; a = a->parentWidget())
            inScrollArea = qobject_cast<QScrollArea*>(a) != nullptr;
        const QRect r = inWindow(w);
        QRect visible = r & windowRect;
        for (QWidget* a = w->parentWidget(); a && a != window; a = a->parentWidget())
            visible &= inWindow(a);
        if (visible != r && !inScrollArea)
            problems << QStringLiteral("%1 is cut: %2,%3 %4×%5 shows only %6×%7")
                            .arg(nameOf(w))
                            .arg(r.x())
                            .arg(r.y())
                            .arg(r.width())
                            .arg(r.height())
                            .arg(visible.width())
                            .arg(visible.height());
        if (auto* l = qobject_cast<QLabel*>(w); l && !l->text().isEmpty()) {
            const bool fits = l->wordWrap() ? l->heightForWidth(l->width()) <= l->height() + 1
                                            : l->sizeHint().width() <= l->width() + 1 &&
                                                  l->sizeHint().height() <= l->height() + 1;
            if (!fits)
                problems << QStringLiteral("%1: text needs %2×%3, has %4×%5")
                                .arg(nameOf(l))
                                .arg(l->sizeHint().width())
                                .arg(l->wordWrap() ? l->heightForWidth(l->width()) : l->sizeHint().height())
                                .arg(l->width())
                                .arg(l->height());
        }
        if (auto* b = qobject_cast<QAbstractButton*>(w); b && !b->text().isEmpty()) {
            if (b->sizeHint().width() > b->width() + 1 || b->minimumSizeHint().height() > b->height() + 1)
                problems << QStringLiteral("%1: needs %2×%3, has %4×%5")
                                .arg(nameOf(b))
                                .arg(b->sizeHint().width())
                                .arg(b->minimumSizeHint().height())
                                .arg(b->width())
                                .arg(b->height());
        }
        if (auto* bar = qobject_cast<QTabBar*>(w); bar && bar->sizeHint().width() > bar->width() + 1)
            problems << QStringLiteral("tab bar: tabs need %1 px, have %2")
                            .arg(bar->sizeHint().width())
                            .arg(bar->width());
        if (auto* menu = qobject_cast<QMenuBar*>(w); menu && menu->sizeHint().width() > menu->width() + 1)
            problems << QStringLiteral("menu bar: needs %1 px, has %2")
                            .arg(menu->sizeHint().width())
                            .arg(menu->width());
        if (auto* plot = qobject_cast<PlotWidget*>(w)) {
            plot->replot(QCustomPlot::rpImmediateRefresh);
            for (QCPTextElement* title : plot->findChildren<QCPTextElement*>()) {
                const QRect need = QFontMetrics(title->font()).boundingRect(QRect(), 0, title->text());
                const QRect has = title->outerRect();
                if (need.width() > has.width() || need.height() > has.height() || !plot->rect().contains(has))
                    problems << QStringLiteral("%1: title needs %2×%3 px, has %4×%5 at %6,%7")
                                    .arg(nameOf(plot))
                                    .arg(need.width())
                                    .arg(need.height())
                                    .arg(has.width())
                                    .arg(has.height())
                                    .arg(has.x())
                                    .arg(has.y());
            }
            const QRect data = plot->axisRect()->rect();
            if (data.width() < 80 || data.height() < 60)
                problems << QStringLiteral("%1: data area only %2×%3")
                                .arg(nameOf(plot))
                                .arg(data.width())
                                .arg(data.height());
            for (QCPAxis* axis : plot->axisRect()->axes()) {
                const int room = axis->orientation() == Qt::Vertical ? data.height() : data.width();
                const int need = QFontMetrics(axis->labelFont()).horizontalAdvance(axis->label());
                if (need > room + 1)
                    problems << QStringLiteral("%1: axis label '%2' needs %3 px, has %4")
                                    .arg(nameOf(plot), axis->label())
                                    .arg(need)
                                    .arg(room);
            }
            if (plot->legend->visible() && plot->legend->itemCount() > 0 &&
                !plot->rect().contains(plot->legend->outerRect()))
                problems << QStringLiteral("%1: legend cut by the plot's edge").arg(nameOf(plot));
            if (plot->legend->visible() && plot->legend->itemCount() > 0 &&
                plot->legend->outerRect().intersects(data))
                problems << QStringLiteral("%1: legend over the data").arg(nameOf(plot));
            // Each entry as wide as its name needs (a squeezed column cuts the name off).
            if (plot->legend->visible())
                for (int i = 0; i < plot->legend->itemCount(); ++i)
                    if (QCPAbstractLegendItem* item = plot->legend->item(i);
                        item && item->outerRect().width() + 1 < item->minimumOuterSizeHint().width())
                        problems << QStringLiteral("%1: legend entry %2 needs %3 px, has %4")
                                        .arg(nameOf(plot))
                                        .arg(i)
                                        .arg(item->minimumOuterSizeHint().width())
                                        .arg(item->outerRect().width());
        }
    }
    return problems;
}

} // namespace

class TestTeaching : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void teachingModeFitsEveryPage();
    void plotsFollowTheTheme();
    void marksReadableInBothThemes();
    void runShowsElapsedAndEta();
    void statusMessagesExpire();
    void budgetSpinBoxFollowsSlider();
    void shortcutListIsSorted();
};

void TestTeaching::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_teaching"));
    QSettings().clear();
    QCOMPARE(QGuiApplication::primaryScreen()->size(), QSize(1024, 768));
}

void TestTeaching::teachingModeFitsEveryPage()
{
    QS_REQUIRE_DATA(path, "stories260K");
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, path));
    const double appPoints = QApplication::font().pointSizeF();
    QAction* teaching = w.findChild<QAction*>(QStringLiteral("actionTeachingMode"));
    QVERIFY(teaching);
    QCOMPARE(teaching->shortcut(), QKeySequence(Qt::Key_F11));
    teaching->trigger();
    QVERIFY(w.teachingMode());
    QTRY_VERIFY(w.isFullScreen());
    QTRY_COMPARE(w.size(), QSize(1024, 768));
    // Every page's widgets, plots and table rows scaled, the Playground in its presentation mode.
    QVERIFY(std::abs(w.font().pointSizeF() - appPoints * MainWindow::kTeachingScale) < 0.01);
    for (auto* plot : w.findChildren<PlotWidget*>())
        if (plot->objectName() != u"playgroundValuesPlot" && plot->objectName() != u"playgroundErrorPlot")
            QVERIFY2(plot->displayScale() > 1.3, qPrintable(plot->objectName()));
    for (auto* view : w.findChildren<QTableView*>())
        QVERIFY2(view->verticalHeader()->defaultSectionSize() >= view->fontMetrics().height(),
                 qPrintable(view->objectName()));
    // The run and sweep settings folded to their titles, one tick away.
    for (const char* name : {"runSettings", "sweepSettings"}) {
        auto* box = w.findChild<QGroupBox*>(QLatin1String(name));
        QVERIFY2(box && box->isCheckable() && !box->isChecked(), name);
    }
    // The Playground with two methods compared: its legends have the most entries.
    w.playgroundPanel()->findChild<QCheckBox*>(QStringLiteral("playgroundCompare"))->setChecked(true);
    QTabWidget* tabs = w.tabs();
    QStringList problems;
    if (qEnvironmentVariableIsSet("QS_TEACHING_DEBUG"))
        for (int i = 0; i < tabs->count(); ++i) {
            QWidget* page = tabs->widget(i);
            qDebug() << page->objectName() << page->minimumSizeHint() << page->minimumSize();
            for (QWidget* c : page->findChildren<QWidget*>())
                if (c->minimumSizeHint().width() > 700 || c->minimumSizeHint().height() > 450 ||
                    c->minimumWidth() > 700 || c->minimumHeight() > 450)
                    qDebug() << "   " << c->metaObject()->className() << c->objectName()
                             << c->minimumSizeHint() << c->minimumSize();
        }
    for (int i = 0; i < tabs->count(); ++i) {
        tabs->setCurrentIndex(i);
        QTest::qWait(50); // layouts settle
        QApplication::processEvents();
        if (qEnvironmentVariableIsSet("QS_TEACHING_SHOTS")) // for a person to look at
            w.grab().save(QStringLiteral("%1/teaching-%2.png")
                              .arg(qEnvironmentVariable("QS_TEACHING_SHOTS"))
                              .arg(tabs->widget(i)->objectName()));
        if (w.size() != QSize(1024, 768))
            problems << QStringLiteral("%1: the window grew to %2×%3 (a page's minimum size)")
                            .arg(tabs->tabText(i))
                            .arg(w.width())
                            .arg(w.height());
        for (const QString& p : clipped(&w))
            problems << tabs->tabText(i) + QStringLiteral(": ") + p;
    }
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(u'\n')));
    // F11 again: the window and every page as before.
    teaching->trigger();
    QVERIFY(!w.teachingMode());
    QTRY_VERIFY(!w.isFullScreen());
    for (const char* name : {"runSettings", "sweepSettings"}) {
        auto* box = w.findChild<QGroupBox*>(QLatin1String(name));
        QVERIFY2(!box->isCheckable() && box->findChild<QLineEdit*>()->isVisibleTo(box), name); // open again
    }
    QCOMPARE(w.font().pointSizeF(), appPoints);
    for (auto* plot : w.findChildren<PlotWidget*>())
        QCOMPARE(plot->displayScale(), 1.0);
}

void TestTeaching::plotsFollowTheTheme()
{
    QS_REQUIRE_DATA(path, "stories260K");
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, path));
    w.showPage(QStringLiteral("runs"));
    auto* plot = w.findChild<PlotWidget*>(QStringLiteral("lossSizePlot"));
    QVERIFY(plot);
    for (AppSettings::Theme t : {AppSettings::Theme::Dark, AppSettings::Theme::Light}) {
        AppSettings s = w.settings();
        s.theme = t;
        w.applySettings(s);
        QApplication::processEvents();
        const QColor base = plot->palette().color(QPalette::Base),
                     text = plot->palette().color(QPalette::Text);
        QCOMPARE(theme::isDark(plot->palette()), t == AppSettings::Theme::Dark);
        plot->replot(QCustomPlot::rpImmediateRefresh);
        QCOMPARE(plot->xAxis->basePen().color(), text);
        QCOMPARE(plot->yAxis->tickLabelColor(), text);
        QCOMPARE(plot->xAxis->labelColor(), text);
        QCOMPARE(plot->legend->brush().color(), base);
        QCOMPARE(plot->legend->textColor(), text);
        // The drawn picture: the background in the corner is the palette's base.
        const QImage image = plot->toPixmap(400, 300).toImage();
        QCOMPARE(image.pixelColor(2, 2).rgb(), base.rgb());
        // A grid line is between text and base, never the white of the light theme on dark.
        const QColor grid = plot->xAxis->grid()->pen().color();
        QVERIFY(std::abs(grid.lightnessF() - base.lightnessF()) <
                std::abs(text.lightnessF() - base.lightnessF()));
    }
    AppSettings s = w.settings();
    s.theme = AppSettings::Theme::System;
    w.applySettings(s);
}

void TestTeaching::marksReadableInBothThemes()
{
    // Contrast of the palette's text on a mark (WCAG's ratio of relative luminances).
    const auto luminance = [](const QColor& c) {
        const auto lin = [](double v) {
            return v <= 0.03928 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4);
        };
        return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF());
    };
    const auto contrast = [&](const QColor& a, const QColor& b) {
        const double x = luminance(a), y = luminance(b);
        return (std::max(x, y) + 0.05) / (std::min(x, y) + 0.05);
    };
    QLabel hint(QStringLiteral("a hint"));
    theme::setTextTone(&hint, theme::Tone::Hint);
    QLabel warning(QStringLiteral("a warning"));
    theme::setTextTone(&warning, theme::Tone::Warning);
    QColor lightHint;
    for (AppSettings::Theme t : {AppSettings::Theme::Light, AppSettings::Theme::Dark}) {
        AppSettings s;
        s.theme = t;
        s.apply();
        QApplication::processEvents();
        const QPalette p = QApplication::palette();
        const QColor text = p.color(QPalette::Text);
        QVERIFY2(contrast(text, theme::matchTint(p)) >= 4.5, qPrintable(AppSettings::themeKey(t)));
        QVERIFY2(contrast(text, theme::fallbackTint(p)) >= 4.5, qPrintable(AppSettings::themeKey(t)));
        // Hint and warning text follow a theme switched at run time and stay readable on the window.
        const QColor window = p.color(QPalette::Window);
        QVERIFY2(contrast(hint.palette().color(QPalette::WindowText), window) >= 3.0,
                 qPrintable(AppSettings::themeKey(t)));
        QVERIFY2(contrast(warning.palette().color(QPalette::WindowText), window) >= 3.0,
                 qPrintable(AppSettings::themeKey(t)));
        if (t == AppSettings::Theme::Light)
            lightHint = hint.palette().color(QPalette::WindowText);
        else
            QVERIFY(hint.palette().color(QPalette::WindowText) != lightHint);
    }
    AppSettings s;
    s.apply(); // back to the system look
}

void TestTeaching::runShowsElapsedAndEta()
{
    // The text: elapsed, and the time left at the pace so far (30 s for a quarter: 1:30 left).
    QCOMPARE(RunsPanel::etaText(false, 5, -1), RunsPanel::tr("waiting %1").arg(QStringLiteral("0:05")));
    QVERIFY(RunsPanel::etaText(true, 30, 0.25).contains(u"0:30"));
    QVERIFY(RunsPanel::etaText(true, 30, 0.25).contains(u"1:30"));
    QVERIFY(!RunsPanel::etaText(true, 3, 0.001).contains(u"left")); // too early to say
    QVERIFY(RunsPanel::etaText(true, 3725, 0.5).contains(u"1:02:05"));
    // A real run: its row shows the elapsed time once it reports progress.
    QS_REQUIRE_DATA(path, "stories260K");
    QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, path));
    QVERIFY(w.runCurrentPlan() >= 0);
    auto* jobs = w.runsPanel()->findChild<QTableWidget*>(QStringLiteral("jobsTable"));
    QVERIFY(jobs && jobs->rowCount() == 1);
    const int eta = 4; // the ETA column
    QCOMPARE(jobs->horizontalHeaderItem(eta)->text(), RunsPanel::tr("ETA"));
    bool sawElapsed = false;
    QTRY_VERIFY_WITH_TIMEOUT((sawElapsed = sawElapsed || (jobs->rowCount() == 1 && jobs->item(0, eta) &&
                                                          jobs->item(0, eta)->text().contains(u"elapsed"))) ||
                                 w.runsPanel()->pendingJobs() == 0,
                             60000);
    QVERIFY2(sawElapsed, "the running job never showed its elapsed time");
    QTRY_VERIFY_WITH_TIMEOUT(w.runsPanel()->pendingJobs() == 0, 120000);
}

void TestTeaching::statusMessagesExpire()
{
    MainWindow w;
    w.show();
    w.showStatus(QStringLiteral("a notice"));
    QCOMPARE(w.statusBar()->currentMessage(), QStringLiteral("a notice"));
    QTRY_VERIFY_WITH_TIMEOUT(w.statusBar()->currentMessage().isEmpty(), MainWindow::kStatusTimeoutMs + 2000);
    w.showStatus(QStringLiteral("an error"), true);
    QTest::qWait(MainWindow::kStatusTimeoutMs + 300);
    QCOMPARE(w.statusBar()->currentMessage(), QStringLiteral("an error")); // errors stay longer
    QVERIFY(MainWindow::kErrorStatusTimeoutMs > MainWindow::kStatusTimeoutMs);
}

void TestTeaching::budgetSpinBoxFollowsSlider()
{
    QS_REQUIRE_DATA(path, "stories260K");
    QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, path));
    MixedPrecisionPanel* panel = w.mixedPrecisionPanel();
    panel->setResults(runSensitivity(w.model(), *Tokenizer::load(path), qs::test::smallRtnSweep(text, 2)));
    auto* spin = panel->findChild<QDoubleSpinBox*>(QStringLiteral("budgetSpin"));
    auto* slider = panel->findChild<QSlider*>(QStringLiteral("budgetSlider"));
    QVERIFY(spin && slider && spin->isEnabled());
    QCOMPARE(spin->singleStep(), 0.05);
    QVERIFY(spin->minimum() < spin->maximum());
    QVERIFY(spin->minimum() > 1.5 && spin->maximum() < 9); // from the plan's 2…8-bit schemes
    // The number places the slider, the slider moves the number, both change the proposal.
    spin->setValue(4.5);
    QCOMPARE(panel->proposal().has_value(), true);
    QVERIFY(panel->proposal()->bitsPerWeight <= 4.5 + 1e-9);
    const int at45 = slider->value();
    QVERIFY(at45 > slider->minimum() && at45 < slider->maximum());
    slider->setValue(slider->maximum());
    QCOMPARE(spin->value(), spin->maximum());
    slider->setValue(slider->minimum());
    QCOMPARE(spin->value(), spin->minimum());
    spin->setValue(4.5);
    QCOMPARE(slider->value(), at45);
    // Arrow keys step 0.05, Page Up 0.25.
    spin->setFocus();
    QTest::keyClick(spin, Qt::Key_Up);
    QCOMPARE(spin->value(), 4.55);
    QTest::keyClick(spin, Qt::Key_PageUp);
    QCOMPARE(spin->value(), 4.8);
    QVERIFY(slider->value() > at45);
    QVERIFY(panel->proposal()->bitsPerWeight <= 4.8 + 1e-9);
    // Numbers in the user's locale: German writes 4,800.
    const QLocale before;
    QLocale::setDefault(QLocale(QLocale::German, QLocale::Germany));
    panel->setBudget(4.8);
    const QString label = panel->findChild<QLabel*>(QStringLiteral("budgetLabel"))->text();
    QLocale::setDefault(before);
    QVERIFY2(label.contains(QRegularExpression(QStringLiteral("\\d,\\d{3} bpw"))), qPrintable(label));
}

void TestTeaching::shortcutListIsSorted()
{
    MainWindow w;
    ShortcutsDialog dialog(&w);
    auto* table = dialog.findChild<QTableWidget*>(QStringLiteral("shortcutsTable"));
    QVERIFY(table && table->rowCount() > 5);
    QStringList names;
    for (int r = 0; r < table->rowCount(); ++r)
        names << table->item(r, 0)->text();
    for (int r = 1; r < names.size(); ++r)
        QVERIFY2(QString::localeAwareCompare(names[r - 1], names[r]) <= 0,
                 qPrintable(names[r - 1] + u" before " + names[r]));
    const int teaching = int(names.indexOf(QStringLiteral("Teaching Mode")));
    QVERIFY2(teaching >= 0, qPrintable(names.join(u", ")));
    QCOMPARE(table->item(teaching, 1)->text(), QKeySequence(Qt::Key_F11).toString(QKeySequence::NativeText));
}

int main(int argc, char** argv)
{
    // A 1024×768 screen, as a projector's: the offscreen platform reads its screens from a file.
    QTemporaryDir dir;
    const QString config = dir.filePath(QStringLiteral("screens.json"));
    QFile f(config);
    if (!f.open(QIODevice::WriteOnly) ||
        f.write(R"({"screens": [{"name": "projector", "x": 0, "y": 0, "width": 1024, "height": 768,
                    "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]})") < 0)
        return 1;
    f.close();
    if (qEnvironmentVariable("QT_QPA_PLATFORM", QStringLiteral("offscreen")) == u"offscreen")
        qputenv("QT_QPA_PLATFORM", QStringLiteral("offscreen:configfile=%1").arg(config).toLocal8Bit());
    QApplication app(argc, argv);
    TestTeaching t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_teaching.moc"
