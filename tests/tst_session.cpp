// Desktop conventions of the real main window, offscreen: the preferences dialog (stored and
// applied), session autosave and restore (atomic writes; a corrupt session is kept aside and the
// window starts clean with a message), the status bar's memory readout, the About and shortcuts
// dialogs, and the page shortcuts. Runs with QStandardPaths' test mode under a temporary HOME,
// so it never touches the user's settings, cache or session.
#include "AboutDialog.h"
#include "AppSettings.h"
#include "GuiTestSupport.h"
#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "RunsPanel.h"
#include "SessionController.h"
#include "SettingsDialog.h"
#include "TestSupport.h"
#include "model/Model.h"
#include "session/Session.h"
#include "store/RunStore.h"
#include "util/Threads.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLockFile>
#include <QMessageBox>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>
#include <cmath>
#include <memory>
#include <sys/stat.h>

using namespace qs;

namespace {

using qs::test::loadInto;

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// The inode of a file: a rename over the path gives a new one, an in-place rewrite does not.
quint64 inodeOf(const QString& path)
{
    struct stat st
    {};
    return ::stat(QFile::encodeName(path).constData(), &st) == 0 ? quint64(st.st_ino) : 0;
}

int pageIndex(QTabWidget* tabs, const QString& objectName)
{
    for (int i = 0; i < tabs->count(); ++i)
        if (tabs->widget(i)->objectName() == objectName)
            return i;
    return -1;
}

SessionRun fakeRun(const QString& name, bool shown)
{
    SessionRun r;
    r.summary.name = name;
    r.summary.method = QStringLiteral("RTN");
    r.summary.recipeSummary = QStringLiteral("test recipe");
    r.summary.modelBytes = 123456;
    r.summary.bitsPerWeight = 4.25;
    r.summary.ppl = 12.5;
    r.summary.pplError = 0.25; // kldMean stays NaN: must come back as NaN
    LayerMetrics l;
    l.name = QStringLiteral("model.layers.0.mlp.down_proj");
    l.errorHistogram = {1, 2, 3};
    r.summary.layers.push_back(l);
    r.recipe.name = QStringLiteral("r-") + name;
    r.shown = shown;
    return r;
}

} // namespace

class TestSession : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void sessionFileRoundTrip();
    void moveAsideKeepsEveryBackup();
    void settingsDialogStoresAndApplies();
    void sessionRestoresModelPlanPageRuns();
    void closeSavesSession();
    void corruptSessionIsKeptAside_data();
    void corruptSessionIsKeptAside();
    void autosaveIsDebouncedAndAtomic();
    void statusBarShowsMemory();
    void aboutAndShortcutsDialogs();
    void pageShortcutsSwitchTabs();
};

void TestSession::initTestCase()
{
    Q_INIT_RESOURCE(quantscope);
    QVERIFY(QStandardPaths::isTestModeEnabled());
    // main() moved HOME into a temporary folder: settings, cache and data all live there.
    QVERIFY2(QSettings().fileName().startsWith(QDir::homePath()), qPrintable(QSettings().fileName()));
    QVERIFY(AppSettings::defaultCacheDirectory().startsWith(QDir::homePath()));
    QSettings().clear();
}

void TestSession::sessionFileRoundTrip()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    Session s;
    s.modelPath = QStringLiteral("/models/x");
    Recipe r;
    r.name = QStringLiteral("plan");
    r.rules.push_back({QStringLiteral("mlp"), QJsonObject{{QStringLiteral("bits"), 8}}});
    s.recipe = r;
    s.page = QStringLiteral("planPage");
    s.runs.push_back(fakeRun(QStringLiteral("a"), false));
    s.baseline = fakeRun(QStringLiteral("float"), true).summary;
    const QString path = dir.filePath(QStringLiteral("s.json"));
    s.save(path);
    const Session back = Session::load(path);
    QCOMPARE(back.modelPath, s.modelPath);
    QVERIFY(back.recipe && *back.recipe == r);
    QCOMPARE(back.page, s.page);
    QCOMPARE(back.runs.size(), std::size_t(1));
    QCOMPARE(back.runs[0].summary.name, QStringLiteral("a"));
    QCOMPARE(back.runs[0].summary.modelBytes, std::uint64_t(123456));
    QCOMPARE(back.runs[0].summary.ppl, 12.5);
    QVERIFY(std::isnan(back.runs[0].summary.kldMean));
    QCOMPARE(back.runs[0].summary.layers.size(), std::size_t(1));
    QVERIFY(back.runs[0].summary.layers[0].errorHistogram == (std::vector<double>{1, 2, 3}));
    QCOMPARE(back.runs[0].recipe.name, QStringLiteral("r-a"));
    QVERIFY(!back.runs[0].shown);
    QVERIFY(back.baseline && back.baseline->name == u"float");
    QVERIFY(!back.sensitivity);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{QStringLiteral("s.json")});

    // Errors name the file and what is wrong.
    QS_VERIFY_ERROR(test::errorOf([&] { Session::fromJson("{\"format\": \"quantscope-session\"", path); }),
                    {path, QStringLiteral("invalid JSON")});
    QS_VERIFY_ERROR(
        test::errorOf([&] { Session::fromJson(R"({"format": "quantscope-session", "version": 7})", path); }),
        {path, QStringLiteral("version 7")});
    QS_VERIFY_ERROR(test::errorOf([&] { Session::fromJson(R"({"version": 1})", path); }),
                    {path, QStringLiteral("not a QuantScope session")});
    QS_VERIFY_ERROR(test::errorOf([&] {
                        Session::fromJson(
                            R"({"format": "quantscope-session", "version": 1, "runs": [{"name": 3}]})", path);
                    }),
                    {path, QStringLiteral("runs[0]")});
}

void TestSession::moveAsideKeepsEveryBackup()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("session.json"));
    const QDateTime when(QDate(2024, 5, 6), QTime(7, 8, 9));
    QVERIFY(test::writeFile(path, "first"));
    const QString a = Session::moveAside(path, when);
    QCOMPARE(QFileInfo(a).fileName(), QStringLiteral("session.corrupt-20240506-070809.json"));
    QVERIFY(test::writeFile(path, "second"));
    const QString b = Session::moveAside(path, when); // same second: a new name, the first kept
    QVERIFY(a != b);
    QCOMPARE(readAll(a), QByteArray("first"));
    QCOMPARE(readAll(b), QByteArray("second"));
    QVERIFY(!QFile::exists(path));
    QS_VERIFY_ERROR(test::errorOf([&] { Session::moveAside(path, when); }), {path});
}

void TestSession::settingsDialogStoresAndApplies()
{
    MainWindow w;
    w.show();
    QAction* prefs = w.findChild<QAction*>(QStringLiteral("actionPreferences"));
    QVERIFY(prefs);
    QVERIFY(prefs->shortcuts().contains(QKeySequence(QStringLiteral("Ctrl+,"))));
    prefs->trigger();
    auto* dialog = w.findChild<SettingsDialog*>(QStringLiteral("settingsDialog"));
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());

    auto* threads = dialog->findChild<QSpinBox*>(QStringLiteral("settingsThreads"));
    auto* theme = dialog->findChild<QComboBox*>(QStringLiteral("settingsTheme"));
    auto* language = dialog->findChild<QComboBox*>(QStringLiteral("settingsLanguage"));
    auto* cache = dialog->findChild<QLineEdit*>(QStringLiteral("settingsCacheFolder"));
    QVERIFY(threads && theme && language && cache);
    QCOMPARE(threads->value(), 0);
    QCOMPARE(language->itemData(0).toString(), QString()); // English, with or without translations
    QCOMPARE(language->count(), 1 + int(AppSettings::availableLanguages().size()));
    QTemporaryDir cacheDir;
    threads->setValue(3);
    theme->setCurrentIndex(theme->findData(QStringLiteral("dark")));
    cache->setText(cacheDir.path());
    dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->click();
    QTRY_VERIFY(!w.findChild<SettingsDialog*>()); // closed and deleted

    QCOMPARE(computeThreads(), 3);
    QCOMPARE(w.settings().threads, 3);
    const AppSettings stored = AppSettings::load();
    QCOMPARE(stored.threads, 3);
    QVERIFY(stored.theme == AppSettings::Theme::Dark);
    QCOMPARE(stored.cacheDirectory, cacheDir.path());
    QCOMPARE(QSettings().value(QStringLiteral("threads")).toInt(), 3);
    QCOMPARE(QApplication::style()->name().toLower(), QStringLiteral("fusion"));
    QVERIFY(QApplication::palette().color(QPalette::Window).lightness() < 100);
    QVERIFY(w.runsPanel()->cacheDirectory().startsWith(cacheDir.path())); // KLD bases go there

    // Reopening shows what was stored; Cancel changes nothing.
    prefs->trigger();
    QTRY_VERIFY(w.findChild<SettingsDialog*>(QStringLiteral("settingsDialog")));
    dialog = w.findChild<SettingsDialog*>(QStringLiteral("settingsDialog"));
    QCOMPARE(dialog->findChild<QSpinBox*>(QStringLiteral("settingsThreads"))->value(), 3);
    dialog->findChild<QSpinBox*>(QStringLiteral("settingsThreads"))->setValue(5);
    dialog->reject();
    QCOMPARE(AppSettings::load().threads, 3);
    QCOMPARE(computeThreads(), 3);

    // Back to defaults for the other tests.
    AppSettings defaults;
    defaults.save();
    w.applySettings(defaults);
    QCOMPARE(AppSettings::load().threads, 0);
}

void TestSession::sessionRestoresModelPlanPageRuns()
{
    QS_REQUIRE_DATA(path, "stories260K");
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("session.json"));
    Recipe edited;
    {
        MainWindow w;
        w.session()->setFile(file);
        w.show();
        QVERIFY(loadInto(w, path));
        w.planDocument()->addRule(
            {QStringLiteral("mlp\\.down_proj$"), QJsonObject{{QStringLiteral("bits"), 8}}});
        edited = w.planDocument()->recipe();
        QCOMPARE(edited.rules.size(), std::size_t(1));
        w.runsPanel()->restoreRuns({fakeRun(QStringLiteral("kept run"), false)}, std::nullopt);
        w.tabs()->setCurrentIndex(pageIndex(w.tabs(), QStringLiteral("mixedPrecisionPanel")));
        QVERIFY(w.session()->save());
    }
    MainWindow w;
    w.session()->setFile(file);
    w.show();
    QSignalSpy restored(w.session(), &SessionController::restored);
    QVERIFY(w.session()->restore());
    QVERIFY(w.session()->isRestoring());
    QVERIFY(restored.wait(20000));
    QVERIFY(w.model());
    QCOMPARE(QDir(w.model()->path()).canonicalPath(), QDir(path).canonicalPath());
    QVERIFY(w.planDocument()->recipe() == edited);
    QCOMPARE(w.planDocument()->plan().entries.size(), w.model()->linears().size());
    QCOMPARE(w.tabs()->currentWidget()->objectName(), QStringLiteral("mixedPrecisionPanel"));
    QCOMPARE(w.runsPanel()->runs().size(), std::size_t(1));
    QCOMPARE(w.runsPanel()->runs()[0].name, QStringLiteral("kept run"));
    QCOMPARE(w.runsPanel()->runs()[0].ppl, 12.5);
    QVERIFY(!w.runsPanel()->sessionRuns()[0].shown);
    QVERIFY(!w.findChild<QMessageBox*>(QStringLiteral("sessionMessage")));
    QVERIFY(w.session()->lastBackup().isEmpty());
    // The restored plan is the starting point, not an undoable edit.
    QCOMPARE(w.planDocument()->undoStack()->count(), 0);
}

void TestSession::closeSavesSession()
{
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("sub/session.json")); // folder made on save
    MainWindow w;
    w.session()->setFile(file);
    w.show();
    QSignalSpy saved(w.session(), &SessionController::saved);
    w.close();
    QCOMPARE(saved.count(), 1);
    const Session s = Session::load(file);
    QVERIFY(s.modelPath.isEmpty());
    QVERIFY(s.runs.empty());
}

void TestSession::corruptSessionIsKeptAside_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("reason");
    QTest::newRow("truncated JSON") << QByteArray(
                                           R"({"format": "quantscope-session", "version": 1, "model": )")
                                    << QStringLiteral("invalid JSON");
    QTest::newRow("binary garbage") << QByteArray("\x00\xff\x13garbage", 10)
                                    << QStringLiteral("invalid JSON");
    QTest::newRow("newer version") << QByteArray(R"({"format": "quantscope-session", "version": 42})")
                                   << QStringLiteral("version 42");
    QTest::newRow("another file") << QByteArray(R"({"layers": []})")
                                  << QStringLiteral("not a QuantScope session");
    QTest::newRow("model gone")
        << QByteArray(R"({"format": "quantscope-session", "version": 1, "model": "/nonexistent/qs-model"})")
        << QStringLiteral("/nonexistent/qs-model");
    QTest::newRow("bad recipe")
        << QByteArray(
               R"({"format": "quantscope-session", "version": 1, "recipe": {"defaults": {"bits": 99}}})")
        << QStringLiteral("recipe");
}

void TestSession::corruptSessionIsKeptAside()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, reason);
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("session.json"));
    QVERIFY(test::writeFile(file, bytes));

    MainWindow w;
    w.session()->setFile(file);
    w.show();
    QSignalSpy failed(w.session(), &SessionController::restoreFailed);
    QVERIFY(!w.session()->restore()); // no crash, no exception
    QCOMPARE(failed.count(), 1);

    const QString backup = w.session()->lastBackup();
    QVERIFY(!backup.isEmpty());
    QVERIFY(QFileInfo(backup).fileName().startsWith(QStringLiteral("session.corrupt-")));
    QVERIFY(backup.endsWith(QStringLiteral(".json")));
    QCOMPARE(readAll(backup), bytes); // the old bytes, untouched
    QVERIFY(!QFile::exists(file));

    // A non-modal message names the file, the backup and the reason; the window starts clean.
    auto* box = w.findChild<QMessageBox*>(QStringLiteral("sessionMessage"));
    QVERIFY(box);
    QTRY_VERIFY(box->isVisible());
    QCOMPARE(box->windowModality(), Qt::NonModal);
    QVERIFY2(box->text().contains(file) && box->text().contains(backup) && box->text().contains(reason),
             qPrintable(box->text()));
    QVERIFY(!w.model());
    QVERIFY(w.findChild<QLabel*>(QStringLiteral("welcomeLabel"))->isVisible());

    // The window stays usable: the next save writes a fresh session beside the backup.
    QVERIFY(w.session()->save());
    QVERIFY(Session::load(file).modelPath.isEmpty());
    QCOMPARE(readAll(backup), bytes);
}

void TestSession::autosaveIsDebouncedAndAtomic()
{
    QS_REQUIRE_DATA(path, "stories260K");
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("session.json"));
    MainWindow w;
    w.session()->setFile(file);
    w.session()->setAutosaveDelay(150);
    w.show();
    QSignalSpy saved(w.session(), &SessionController::saved);
    QVERIFY(loadInto(w, path));
    QVERIFY(saved.wait(5000)); // a new model schedules a save
    const quint64 firstInode = inodeOf(file);
    QVERIFY(firstInode != 0);
    saved.clear();

    // A burst of edits: the file at the path is always a whole, valid session.
    const int edits = 12;
    for (int i = 0; i < edits; ++i) {
        w.planDocument()->addRule(
            {QStringLiteral("layers\\.%1\\.").arg(i % 2), QJsonObject{{QStringLiteral("bits"), 2 + i % 7}}});
        QTest::qWait(20);
        QVERIFY(QFile::exists(file));
        QVERIFY_THROWS_NO_EXCEPTION(Session::load(file));
    }
    QVERIFY(saved.count() < edits); // debounced: not one write per edit
    QTRY_VERIFY_WITH_TIMEOUT(saved.count() >= 1, 5000);
    QTest::qWait(300);
    const Session last = Session::load(file);
    QVERIFY(last.recipe && *last.recipe == w.planDocument()->recipe());
    // Replaced by rename (QSaveFile), never rewritten in place; no temporary files left behind.
    QVERIFY(inodeOf(file) != firstInode);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
             QStringList{QStringLiteral("session.json")});
}

void TestSession::statusBarShowsMemory()
{
    MainWindow w;
    w.show();
    auto* memory = w.findChild<QLabel*>(QStringLiteral("memoryLabel"));
    QVERIFY(memory);
    QVERIFY(memory->isVisible());
#ifdef Q_OS_LINUX
    QVERIFY2(memory->text().contains(QRegularExpression(QStringLiteral("\\d+(\\.\\d+)? [kMGT]?B used"))),
             qPrintable(memory->text()));
    QVERIFY(memory->text().contains(QStringLiteral("free")));
#endif
}

void TestSession::aboutAndShortcutsDialogs()
{
    MainWindow w;
    w.show();
    QAction* about = w.findChild<QAction*>(QStringLiteral("actionAbout"));
    QVERIFY(about);
    about->trigger();
    auto* dialog = w.findChild<AboutDialog*>(QStringLiteral("aboutDialog"));
    QVERIFY(dialog);
    QTRY_VERIFY(dialog->isVisible());
    const QString text = dialog->findChild<QTextBrowser*>(QStringLiteral("aboutText"))->toPlainText();
    for (const QString& part :
         {QStringLiteral(QUANTSCOPE_VERSION), QStringLiteral("Qt"), QStringLiteral("CUDA"),
          QStringLiteral("SIMD"), QStringLiteral("QCustomPlot"), QStringLiteral("MPL 2.0"),
          QStringLiteral("Apache 2.0"), QStringLiteral("Cache folder")})
        QVERIFY2(text.contains(part), qPrintable(part));
    QVERIFY(w.findChild<QAction*>(QStringLiteral("actionAboutQt")));
    dialog->reject();
    QTRY_VERIFY(!w.findChild<AboutDialog*>(QStringLiteral("aboutDialog"))); // deleted on close

    QAction* keys = w.findChild<QAction*>(QStringLiteral("actionShortcuts"));
    QVERIFY(keys);
    QCOMPARE(keys->shortcut(), QKeySequence(QKeySequence::HelpContents));
    keys->trigger();
    QTRY_VERIFY(w.findChild<QDialog*>(QStringLiteral("shortcutsDialog")));
    auto* table = w.findChild<QTableWidget*>(QStringLiteral("shortcutsTable"));
    QVERIFY(table);
    QStringList listed;
    for (int r = 0; r < table->rowCount(); ++r)
        listed << table->item(r, 1)->text();
    for (const QKeySequence& k :
         {QKeySequence(QKeySequence::Open), QKeySequence(QKeySequence::Save),
          QKeySequence(QKeySequence::Quit), QKeySequence(QKeySequence::Undo),
          QKeySequence(QStringLiteral("Ctrl+R")), QKeySequence(QStringLiteral("Ctrl+1")),
          QKeySequence(QStringLiteral("Ctrl+,"))}) {
        const QString native = k.toString(QKeySequence::NativeText);
        QVERIFY2(listed.join(u'|').contains(native), qPrintable(native + u" not in " + listed.join(u'|')));
    }
}

void TestSession::pageShortcutsSwitchTabs()
{
    QS_REQUIRE_DATA(path, "stories260K");
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, path));
    w.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&w));
    QTabWidget* tabs = w.tabs();
    QVERIFY(tabs->count() >= 4);
    QTest::keyClick(&w, Qt::Key_2, Qt::ControlModifier);
    QCOMPARE(tabs->currentIndex(), 1);
    QTest::keyClick(&w, Qt::Key_4, Qt::ControlModifier);
    QCOMPARE(tabs->currentIndex(), 3);
    QTest::keyClick(&w, Qt::Key_1, Qt::ControlModifier);
    QCOMPARE(tabs->currentIndex(), 0);
    // A page that does not exist: nothing happens.
    if (tabs->count() < 9) {
        QTest::keyClick(&w, Qt::Key_9, Qt::ControlModifier);
        QCOMPARE(tabs->currentIndex(), 0);
    }
    // Ctrl+R runs the current plan (not started here: a run needs evaluation texts).
    QAction* run = w.findChild<QAction*>(QStringLiteral("actionRun"));
    QVERIFY(run);
    QCOMPARE(run->shortcut(), QKeySequence(QStringLiteral("Ctrl+R")));
}

// A temporary HOME (and XDG folders) before QApplication exists, plus QStandardPaths' test mode:
// nothing this test writes can reach the user's real settings, cache or session.
int main(int argc, char** argv)
{
    QTemporaryDir home;
    if (!home.isValid())
        return 1;
    qputenv("HOME", QFile::encodeName(home.path()));
    for (const char* var : {"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"})
        qunsetenv(var);
    QStandardPaths::setTestModeEnabled(true);
    qputenv("QT_QPA_PLATFORM",
            qgetenv("QT_QPA_PLATFORM").isEmpty() ? QByteArray("offscreen") : qgetenv("QT_QPA_PLATFORM"));
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
    QApplication::setApplicationName(QStringLiteral("tst_session"));
    TestSession t;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&t, argc, argv);
}

#include "tst_session.moc"
