// The Runs page as a first-time user meets it, offscreen in the real window: started from a
// foreign working directory it finds the default texts in the data folder and a run can be queued;
// a run whose texts cannot work is refused with a message naming what to set (no job); jobs that
// fail or are cancelled stay listed with why; runs are kept per model across model switches and
// restarts (a new window reading the run store), a changed model file does not get stale runs,
// an unreadable store file is kept aside; runs are named by the schemes that ran. The start page
// a model opens on: its picture (ModelProfile, also from `inspect --profile`) and its one-click
// starts (compare RTN/GPTQ/Q4_K, the sensitivity sweep, the playground). The quality plot: its
// metric and x selectors change what is plotted for each run, one colour and legend entry per run,
// the float baseline's label clear of the points. Two runs side by side in the Diff tab (from the
// runs table and from the history): exactly the layers whose scheme differs are highlighted; the
// per-layer metric (weight error, output error, KLD contribution greyed until a sweep has it) and
// the heatmap's colour range, which a third run does not change.
#include "AppSettings.h"
#include "GuiTestSupport.h"
#include "LayerErrorHeatmap.h"
#include "LossSizePlot.h"
#include "MainWindow.h"
#include "MixedPrecisionPanel.h"
#include "PlanDocument.h"
#include "PlotWidget.h"
#include "RunDiffView.h"
#include "RunHistoryPanel.h"
#include "RunsPanel.h"
#include "SessionController.h"
#include "StartPage.h"
#include "TestSupport.h"
#include "model/Model.h"
#include "model/ModelProfile.h"
#include "recipe/LayerPlan.h"
#include "store/RunStore.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QCommandLinkButton>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QTextBrowser>

using namespace qs;

Q_DECLARE_METATYPE(std::vector<qs::QuantSpec>)

namespace {

using qs::test::loadInto;

QLineEdit* field(MainWindow& w, const char* name)
{
    return w.runsPanel()->findChild<QLineEdit*>(QLatin1String(name));
}

QTableWidget* table(MainWindow& w, const char* name)
{
    return w.runsPanel()->findChild<QTableWidget*>(QLatin1String(name));
}

int column(QTableWidget* t, const QString& header)
{
    for (int c = 0; c < t->columnCount(); ++c)
        if (t->horizontalHeaderItem(c)->text() == header)
            return c;
    return -1;
}

Recipe recipe(const char* json)
{
    return Recipe::fromJson(json, QStringLiteral("<test>"));
}

SessionRun fakeRun(const QString& name)
{
    SessionRun r;
    r.summary.name = name;
    r.summary.method = QStringLiteral("RTN");
    r.summary.recipeSummary = QStringLiteral("rtn w4 g128");
    r.summary.modelBytes = 123456;
    r.summary.bitsPerWeight = 4.25;
    r.summary.linearBitsPerWeight = 4.125;
    r.summary.ppl = 12.5;
    r.summary.pplError = 0.25;
    return r;
}

QuantSpec spec(QuantMethod method, int bits, int group)
{
    QuantSpec s;
    s.method = method;
    s.bits = bits;
    s.groupSize = group;
    return s;
}

/// A run with per-layer numbers: four layers, `gptqLayers` of them GPTQ int4 g128, the others RTN.
SessionRun runWithLayers(const QString& name, const QList<int>& gptqLayers, double scale)
{
    SessionRun r = fakeRun(name);
    for (int i = 0; i < 4; ++i) {
        LayerMetrics l;
        l.name = QStringLiteral("model.layers.%1.mlp.down_proj").arg(i);
        l.kind = QStringLiteral("down_proj");
        l.block = i;
        QuantSpec s = spec(gptqLayers.contains(i) ? QuantMethod::Gptq : QuantMethod::Rtn, 4, 128);
        l.spec = s;
        l.label = s.label();
        l.method = quantMethodName(s.method);
        l.bitsPerWeight = 4.25;
        l.bytes = 1000 + 10 * i;
        l.weightRelMse = scale * 1e-3 * (i + 1);
        l.outputRelMse = scale * 5e-4 * (i + 1);
        r.summary.layers.push_back(l);
    }
    return r;
}

/// The window on `model`'s Runs page with two runs whose layers 1 and 3 differ (RTN vs GPTQ).
bool showTwoRuns(MainWindow& w, const QString& model)
{
    w.resize(1400, 900);
    w.show();
    if (!loadInto(w, model))
        return false;
    w.showPage(QStringLiteral("runs"));
    w.runsPanel()->restoreRuns({runWithLayers(QStringLiteral("all rtn"), {}, 1),
                                runWithLayers(QStringLiteral("gptq 1 and 3"), {1, 3}, 0.5)},
                               std::nullopt);
    return true;
}

/// With QS_SCREENSHOT_DIR set, saves the window there (to look at what a test saw).
void saveScreenshot(QWidget& w, const QString& name)
{
    const QString dir = qEnvironmentVariable("QS_SCREENSHOT_DIR");
    if (!dir.isEmpty())
        QVERIFY(w.grab().save(QDir(dir).filePath(name + QStringLiteral(".png"))));
}

/// Moves the working directory for one test and back.
struct WorkingDirectory
{
    QString before = QDir::currentPath();
    explicit WorkingDirectory(const QString& path) { QDir::setCurrent(path); }
    ~WorkingDirectory() { QDir::setCurrent(before); }
};

} // namespace

class TestRunsPage : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void historyAcrossModelsWithFiltersUndoAndPrune();
    void recipeNaming_data();
    void recipeNaming();
    void firstRunFromForeignDirectory();
    void modelProfileAddsUp();
    void startPageOneClickStarts();
    void badInputsAreRefused_data();
    void badInputsAreRefused();
    void sweepInputsAreChecked();
    void failedAndCancelledJobsStayListed();
    void runsKeptAcrossModelSwitchAndRestart();
    void newRunNamesDoNotRepeatKeptOnes();
    void runFinishingAfterSwitchJoinsItsModel();
    void changedModelFileGetsNoStaleRuns();
    void unreadableStoreIsKeptAside();
    void sessionAndStoreDoNotDuplicate();
    void qualityPlotFollowsSelection();
    void qualityChoiceRemembered();
    void runDiffFromTableAndHistory();
    void layerMetricChoices();

private:
    QString m_data; ///< the data folder as the tests found it (before any working-directory change)
};

void TestRunsPage::initTestCase()
{
    Q_INIT_RESOURCE(quantscope);
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_runspage"));
    QSettings().clear();
    m_data = test::dataDir();
}

void TestRunsPage::init()
{
    // Error dialogs of one test must not be found by the next.
    for (QWidget* w : QApplication::topLevelWidgets())
        if (qobject_cast<QMessageBox*>(w))
            w->deleteLater();
}

void TestRunsPage::recipeNaming_data()
{
    QTest::addColumn<std::vector<QuantSpec>>("specs");
    QTest::addColumn<QString>("label");
    QuantSpec sym = spec(QuantMethod::Rtn, 8, 128);
    sym.symmetric = true;
    sym.granularity = Granularity::PerChannel;
    QuantSpec f16;
    f16.method = QuantMethod::Float;
    const QuantSpec q4k = QuantSpec::ggml(GgmlType::Q4_K);
    const QuantSpec g3 = spec(QuantMethod::Gptq, 3, 64), r4 = spec(QuantMethod::Rtn, 4, 128);
    const QuantSpec g4 = spec(QuantMethod::Gptq, 4, 128), g8 = spec(QuantMethod::Gptq, 8, 128);
    QTest::newRow("gptq") << std::vector<QuantSpec>{g3, g3} << QStringLiteral("gptq w3 g64");
    QTest::newRow("rtn") << std::vector<QuantSpec>{r4} << QStringLiteral("rtn w4 g128");
    QTest::newRow("gguf") << std::vector<QuantSpec>{q4k, q4k} << QStringLiteral("gguf Q4_K");
    QTest::newRow("per-channel sym") << std::vector<QuantSpec>{sym} << QStringLiteral("rtn w8 ch sym");
    QTest::newRow("mixed, most used first") << std::vector<QuantSpec>{g8, g4, g4, f16}
                                            << QStringLiteral("gptq w4 g128 ×2 + gptq w8 g128 ×1 + f16 ×1");
    QTest::newRow("more than three") << std::vector<QuantSpec>{g4, g4, g8, g3, r4}
                                     << QStringLiteral(
                                            "gptq w4 g128 ×2 + gptq w8 g128 ×1 + gptq w3 g64 ×1 + 1 more");
}

void TestRunsPage::recipeNaming()
{
    QFETCH(std::vector<QuantSpec>, specs);
    QFETCH(QString, label);
    QCOMPARE(schemesLabel(specs), label);
}

void TestRunsPage::firstRunFromForeignDirectory()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(evalText, "wikitext-2-raw/wiki.test.raw");
    QS_REQUIRE_DATA(calibText, "kjv/train.txt");
    QTemporaryDir foreign;
    const WorkingDirectory cd(foreign.path());
    // Found from the executable and the source tree, not from where the program was started.
    const QByteArray env = qgetenv("QUANTSCOPE_DATA");
    qunsetenv("QUANTSCOPE_DATA");
    MainWindow w;
    qputenv("QUANTSCOPE_DATA", env);
    if (env.isEmpty())
        qunsetenv("QUANTSCOPE_DATA");
    w.show();
    QCOMPARE(QFileInfo(field(w, "runEvalText")->text()).canonicalFilePath(),
             QFileInfo(evalText).canonicalFilePath());
    QCOMPARE(QFileInfo(field(w, "runCalibText")->text()).canonicalFilePath(),
             QFileInfo(calibText).canonicalFilePath());
    for (const char* name : {"runEvalTextBrowse", "runCalibTextBrowse"})
        QVERIFY2(w.runsPanel()->findChild<QPushButton*>(QLatin1String(name)), name);
    auto* mixed = w.findChild<QLineEdit*>(QStringLiteral("sweepEvalText"));
    QCOMPARE(QFileInfo(mixed->text()).canonicalFilePath(), QFileInfo(evalText).canonicalFilePath());
    QVERIFY(w.findChild<QPushButton*>(QStringLiteral("sweepCalibTextBrowse")));

    QVERIFY(loadInto(w, modelPath));
    w.planDocument()->replaceRecipe(recipe(R"({"version": 1, "name": "uniform GPTQ int4 g128",
        "defaults": {"method": "gptq", "bits": 3, "group_size": 64}})"),
                                    QStringLiteral("preset"));
    w.runsPanel()->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(2);
    QSignalSpy finished(w.runsPanel(), &RunsPanel::runFinished);
    QVERIFY(w.runCurrentPlan() > 0);
    QCOMPARE(w.runsPanel()->pendingJobs(), 1);
    QVERIFY(finished.wait(120000));
    QVERIFY2(finished.front().front().toBool(), qPrintable(finished.front().at(1).toString()));
    QCOMPARE(int(w.runsPanel()->runs().size()), 1);
    const RunSummary& run = w.runsPanel()->runs().front();
    // Named from what ran, not from the recipe's (misleading) name.
    QCOMPARE(run.recipeSummary, QStringLiteral("gptq w3 g64"));
    QTableWidget* runs = table(w, "runsTable");
    const int recipeColumn = column(runs, QStringLiteral("Recipe"));
    const int modelBpw = column(runs, QStringLiteral("bpw (model)"));
    const int linearBpw = column(runs, QStringLiteral("bpw (linear)"));
    QVERIFY(recipeColumn >= 0 && modelBpw >= 0 && linearBpw >= 0);
    QCOMPARE(column(runs, QStringLiteral("bpw")), -1); // no unlabelled bpw
    QCOMPARE(runs->rowCount(), 2);                     // float baseline + the run
    QCOMPARE(runs->item(1, recipeColumn)->text(), QStringLiteral("gptq w3 g64"));
    QVERIFY(runs->item(1, recipeColumn)->toolTip().contains(u"uniform GPTQ int4 g128"));
    QCOMPARE(runs->item(1, modelBpw)->text(), QString::number(run.bitsPerWeight, 'f', 3));
    QCOMPARE(runs->item(1, linearBpw)->text(), QString::number(run.linearBitsPerWeight, 'f', 3));
    QVERIFY(run.linearBitsPerWeight > 3 && run.linearBitsPerWeight < 4); // codes + scales of w3 g64
    QVERIFY(std::abs(run.bitsPerWeight - run.linearBitsPerWeight) > 0.01);
    QVERIFY(!runs->horizontalHeaderItem(modelBpw)->toolTip().isEmpty());
}

void TestRunsPage::modelProfileAddsUp()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    const auto model = Model::open(modelPath);
    const ModelProfile p = profileModel(*model, 4);
    std::int64_t params = 0;
    std::uint64_t bytes = 0;
    for (const KindProfile& k : p.kinds) {
        params += k.params;
        bytes += k.bytes;
    }
    QCOMPARE(params, model->totals().params);
    QCOMPARE(bytes, model->totals().bytes);
    QCOMPARE(p.kinds.front().kind, QStringLiteral("embedding"));
    QCOMPARE(p.kinds.front().sampled, std::int64_t(16 * 64)); // 4 × 4 rows of 64
    const auto down = std::find_if(p.kinds.begin(), p.kinds.end(),
                                   [](const KindProfile& k) { return k.kind == u"down_proj"; });
    QVERIFY(down != p.kinds.end());
    QCOMPARE(down->tensors, 5);
    QCOMPARE(down->sampled, std::int64_t(5 * 4 * 172)); // 5 layers × 4 rows of 172
    QVERIFY(down->stddev > 0 && down->maxAbs >= 3 * down->stddev && std::isfinite(down->kurtosis));
    const ModelProfile structure = profileModel(*model, 0); // reads no weights
    QCOMPARE(structure.kinds.size(), p.kinds.size());
    QVERIFY(std::isnan(structure.kinds[1].stddev));
    QVERIFY(p.toText().contains(u"down_proj"));
    QCOMPARE(p.toJson().value(u"kinds").toArray().size(), qsizetype(p.kinds.size()));

    // The same picture headless.
    const test::CliResult r =
        test::runCli({QStringLiteral("inspect"), modelPath, QStringLiteral("--profile"),
                      QStringLiteral("--rows"), QStringLiteral("4"), QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject cli = QJsonDocument::fromJson(r.out).object().value(u"profile").toObject();
    QCOMPARE(cli, p.toJson());
    QCOMPARE(test::runCli({QStringLiteral("inspect"), modelPath, QStringLiteral("--profile"),
                           QStringLiteral("--rows"), QStringLiteral("-1")})
                 .exitCode,
             2);
}

void TestRunsPage::startPageOneClickStarts()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    MainWindow w;
    w.show();
    QSignalSpy profiled(w.startPage(), &StartPage::profileFinished);
    QVERIFY(loadInto(w, modelPath));
    QCOMPARE(w.tabs()->currentWidget(), w.startPage()); // a model opens on its picture
    QVERIFY(profiled.count() == 1 || profiled.wait(20000));
    QVERIFY(profiled.front().front().toBool());
    const QString picture =
        w.startPage()->findChild<QTextBrowser*>(QStringLiteral("parameterBreakdown"))->toPlainText();
    for (const char* part :
         {"embedding", "q_proj", "down_proj", "norms & biases", "32.00 bits per weight", "max|w|/σ"})
        QVERIFY2(picture.contains(QString::fromUtf8(part)), part);
    QVERIFY(w.startPage()->profile().kinds[1].sampled > 0);

    auto* playground = w.startPage()->findChild<QCommandLinkButton*>(QStringLiteral("startPlayground"));
    playground->click();
    QCOMPARE(w.tabs()->currentWidget()->objectName(), QStringLiteral("playgroundPanel"));

    // Compare: refused as a whole when the texts cannot work, three runs queued when they can.
    auto* compare = w.startPage()->findChild<QCommandLinkButton*>(QStringLiteral("startCompare"));
    QVERIFY(compare->isEnabled());
    const QString evalText = field(w, "runEvalText")->text();
    field(w, "runEvalText")->clear();
    compare->click();
    QCOMPARE(w.runsPanel()->pendingJobs(), 0);
    QCOMPARE(w.tabs()->currentWidget(), w.runsPanel());
    field(w, "runEvalText")->setText(evalText);
    w.runsPanel()->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(2);
    QSignalSpy finished(w.runsPanel(), &RunsPanel::runFinished);
    w.showPage(QStringLiteral("overview"));
    compare->click();
    QCOMPARE(w.runsPanel()->pendingJobs(), 3);
    QCOMPARE(w.tabs()->currentWidget(), w.runsPanel());
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 3, 240000);
    for (const QList<QVariant>& f : finished)
        QVERIFY2(f.front().toBool(), qPrintable(f.at(1).toString()));
    QCOMPARE(int(w.runsPanel()->runs().size()), 3);
    QCOMPARE(w.runsPanel()->runs()[0].recipeSummary, QStringLiteral("rtn w4 g128"));
    QCOMPARE(w.runsPanel()->runs()[1].recipeSummary, QStringLiteral("gptq w4 g128"));
    // Q4_K's 256-blocks fit none of these rows: the name says which fallbacks really ran.
    QVERIFY2(w.runsPanel()->runs()[2].recipeSummary.startsWith(u"gguf "),
             qPrintable(w.runsPanel()->runs()[2].recipeSummary));
    QVERIFY(!w.runsPanel()->runs()[2].recipeSummary.contains(u"Q4_K"));
    saveScreenshot(w, QStringLiteral("compare"));

    // Sensitivity: the sweep starts on its page (cancelled here).
    w.showPage(QStringLiteral("overview"));
    w.startPage()->findChild<QCommandLinkButton*>(QStringLiteral("startSensitivity"))->click();
    QCOMPARE(w.tabs()->currentWidget(), w.mixedPrecisionPanel());
    QVERIFY(w.mixedPrecisionPanel()->isRunning());
    QSignalSpy swept(w.mixedPrecisionPanel(), &MixedPrecisionPanel::sweepFinished);
    w.mixedPrecisionPanel()->cancelSweep();
    QVERIFY(swept.count() == 1 || swept.wait(60000));
}

void TestRunsPage::badInputsAreRefused_data()
{
    QTest::addColumn<QString>("fieldName");
    QTest::addColumn<QString>("value"); ///< "%1": a temporary folder
    QTest::addColumn<QString>("recipeJson");
    QTest::addColumn<QStringList>("expected"); ///< parts of the message ("%1" replaced)
    const QString rtn = QStringLiteral(R"({"version": 1, "defaults": {"method": "rtn", "bits": 4}})");
    const QString gptq = QStringLiteral(R"({"version": 1, "defaults": {"method": "gptq", "bits": 4}})");
    QTest::newRow("evaluation text not set")
        << "runEvalText" << QString() << rtn
        << QStringList{QStringLiteral("Evaluation text: not set"), QStringLiteral("Browse…"),
                       QStringLiteral("Preferences")};
    QTest::newRow("evaluation text missing")
        << "runEvalText" << QStringLiteral("%1/missing.txt") << rtn
        << QStringList{QStringLiteral("%1/missing.txt does not exist"), QStringLiteral("“Evaluation text”")};
    QTest::newRow("evaluation text is a folder")
        << "runEvalText" << QStringLiteral("%1") << rtn
        << QStringList{QStringLiteral("is a folder, not a text file")};
    QTest::newRow("evaluation text empty") << "runEvalText" << QStringLiteral("%1/empty.txt") << rtn
                                           << QStringList{QStringLiteral("%1/empty.txt is empty")};
    QTest::newRow("calibration text missing for gptq")
        << "runCalibText" << QStringLiteral("%1/nope.txt") << gptq
        << QStringList{QStringLiteral("Calibration text: %1/nope.txt does not exist"),
                       QStringLiteral("GPTQ")};
    QTest::newRow("calibration text not set for gptq")
        << "runCalibText" << QString() << gptq << QStringList{QStringLiteral("Calibration text: not set")};
    QTest::newRow("calibration text set but missing, rtn")
        << "runCalibText" << QStringLiteral("%1/gone.txt") << rtn
        << QStringList{QStringLiteral("gone.txt does not exist")};
}

void TestRunsPage::badInputsAreRefused()
{
    QFETCH(QString, fieldName);
    QFETCH(QString, value);
    QFETCH(QString, recipeJson);
    QFETCH(QStringList, expected);
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QTemporaryDir tmp;
    QVERIFY(test::writeFile(tmp.filePath(QStringLiteral("empty.txt")), QByteArray()));
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, modelPath));
    w.planDocument()->replaceRecipe(recipe(recipeJson.toUtf8().constData()), QStringLiteral("test"));
    w.showPage(QStringLiteral("plan"));
    QLineEdit* edit = field(w, fieldName.toLatin1().constData());
    edit->setText(value.arg(tmp.path()));
    QSignalSpy refused(w.runsPanel(), &RunsPanel::runRefused);
    QCOMPARE(w.runCurrentPlan(), -1);
    QCOMPARE(refused.count(), 1);
    QCOMPARE(w.runsPanel()->pendingJobs(), 0);
    QCOMPARE(table(w, "jobsTable")->rowCount(), 0); // no job, not even a failed one
    const QString message = refused.front().front().toString();
    for (const QString& part : expected)
        QVERIFY2(message.contains(part.arg(tmp.path())), qPrintable(message));
    // Said in a dialog and on the page, which is shown with the field to fix.
    auto* box = w.findChild<QMessageBox*>(QStringLiteral("errorDialog"));
    QVERIFY(box);
    QCOMPARE(box->text(), message);
    auto* label = w.runsPanel()->findChild<QLabel*>(QStringLiteral("runRefusal"));
    QVERIFY(label->isVisible());
    QCOMPARE(label->text(), message);
    QCOMPARE(w.tabs()->currentWidget(), w.runsPanel());
    QTRY_COMPARE(QApplication::focusWidget(), edit);
    edit->setText(edit->text() + u'x'); // another file: the message about the old one goes
    QVERIFY(!label->isVisible());
}

void TestRunsPage::sweepInputsAreChecked()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QTemporaryDir tmp;
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, modelPath));
    MixedPrecisionPanel* mixed = w.mixedPrecisionPanel();
    auto* calib = mixed->findChild<QLineEdit*>(QStringLiteral("sweepCalibText"));
    calib->setText(tmp.filePath(QStringLiteral("missing.txt"))); // the default schemes are GPTQ
    mixed->startSweep();
    QVERIFY(!mixed->isRunning());
    auto* box = w.findChild<QMessageBox*>(QStringLiteral("errorDialog"));
    QVERIFY(box);
    QVERIFY2(box->text().contains(u"Calibration text: " + tmp.filePath(QStringLiteral("missing.txt")) +
                                  u" does not exist") &&
                 box->text().contains(u"Mixed precision"),
             qPrintable(box->text()));
}

void TestRunsPage::failedAndCancelledJobsStayListed()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QTemporaryDir tmp;
    const QString shortText = tmp.filePath(QStringLiteral("short.txt"));
    QVERIFY(test::writeFile(shortText, "Too short to calibrate."));
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, modelPath));
    w.planDocument()->replaceRecipe(recipe(R"({"version": 1, "defaults": {"method": "gptq", "bits": 4}})"),
                                    QStringLiteral("test"));
    w.runsPanel()->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(2);
    const QString calibDefault = field(w, "runCalibText")->text();
    field(w, "runCalibText")->setText(shortText); // readable, but the job finds it too short
    QSignalSpy finished(w.runsPanel(), &RunsPanel::runFinished);
    QVERIFY(w.runCurrentPlan() > 0);
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.front().front().toBool(), false);
    QTableWidget* jobs = table(w, "jobsTable");
    QCOMPARE(jobs->rowCount(), 1);
    QCOMPARE(jobs->item(0, 2)->text(), QStringLiteral("failed"));
    QVERIFY2(jobs->item(0, 3)->text().contains(u"too short"), qPrintable(jobs->item(0, 3)->text()));
    QVERIFY(jobs->item(0, 3)->text().contains(shortText));
    QCOMPARE(w.runsPanel()->endedJobRows(), 1);
    QVERIFY(w.runsPanel()->runs().empty());

    // Cancelled at once (with texts that work, so only the cancel can end it): listed as
    // cancelled below the failed one.
    field(w, "runCalibText")->setText(calibDefault);
    finished.clear();
    const int id = w.runCurrentPlan();
    QVERIFY(id > 0);
    w.runsPanel()->cancelRun(id);
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.front().front().toBool(), false);
    QCOMPARE(jobs->rowCount(), 2);
    QCOMPARE(jobs->item(1, 2)->text(), QStringLiteral("cancelled"));
    QCOMPARE(w.runsPanel()->endedJobRows(), 2);
    QCOMPARE(w.runsPanel()->pendingJobs(), 0);
    w.showPage(QStringLiteral("runs"));
    saveScreenshot(w, QStringLiteral("ended-jobs"));

    // Remove takes a row away; the other stays.
    auto* remove = qobject_cast<QPushButton*>(jobs->cellWidget(0, 5));
    QVERIFY(remove);
    QCOMPARE(remove->objectName(), QStringLiteral("removeJob"));
    remove->click();
    QCOMPARE(jobs->rowCount(), 1);
    QCOMPARE(jobs->item(0, 2)->text(), QStringLiteral("cancelled"));
}

void TestRunsPage::runsKeptAcrossModelSwitchAndRestart()
{
    QS_REQUIRE_DATA(modelA, "stories260K");
    QS_REQUIRE_DATA(modelB, "stories260K-bf16");
    QTemporaryDir store;
    QString file;
    {
        MainWindow w;
        w.runsPanel()->setStoreFolder(store.path());
        w.show();
        QVERIFY(loadInto(w, modelA));
        QVERIFY(w.runsPanel()->runs().empty());
        w.runsPanel()->restoreRuns({fakeRun(QStringLiteral("kept run"))}, std::nullopt);
        file = w.runsPanel()->storeFile();
        QVERIFY(file.startsWith(store.path()));
        QVERIFY(QFile::exists(file)); // written at once, not only on close
        // Unticking a run is kept too.
        QTableWidget* runs = table(w, "runsTable");
        runs->item(0, 0)->setCheckState(Qt::Unchecked);

        QVERIFY(loadInto(w, modelB));
        QVERIFY(w.runsPanel()->runs().empty()); // another model: its own (no) runs
        QCOMPARE(table(w, "runsTable")->rowCount(), 0);
        QVERIFY(loadInto(w, modelA));
        QCOMPARE(int(w.runsPanel()->runs().size()), 1);
        QCOMPARE(w.runsPanel()->runs().front().name, QStringLiteral("kept run"));
        QVERIFY(!w.runsPanel()->sessionRuns().front().shown);
        QCOMPARE(table(w, "runsTable")->rowCount(), 1);
    }
    // A restart: a new window reading the same store.
    MainWindow w;
    w.runsPanel()->setStoreFolder(store.path());
    w.show();
    QVERIFY(loadInto(w, modelA));
    QCOMPARE(w.runsPanel()->storeFile(), file);
    QCOMPARE(int(w.runsPanel()->runs().size()), 1);
    const RunSummary& r = w.runsPanel()->runs().front();
    QCOMPARE(r.name, QStringLiteral("kept run"));
    QCOMPARE(r.ppl, 12.5);
    QCOMPARE(r.linearBitsPerWeight, 4.125);
    QVERIFY(!w.runsPanel()->sessionRuns().front().shown);
    QVERIFY(!w.findChild<QMessageBox*>(QStringLiteral("errorDialog")));
}

void TestRunsPage::newRunNamesDoNotRepeatKeptOnes()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    MainWindow w;
    w.show();
    QVERIFY(loadInto(w, modelPath));
    std::vector<SessionRun> kept;
    for (int i = 1; i <= 40; ++i) // whatever the window's counter has reached
        kept.push_back(fakeRun(QStringLiteral("run %1").arg(i)));
    w.runsPanel()->restoreRuns(kept, std::nullopt);
    w.runsPanel()->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(2);
    QSignalSpy finished(w.runsPanel(), &RunsPanel::runFinished);
    QVERIFY(w.runCurrentPlan() > 0);
    QVERIFY(finished.wait(120000));
    QVERIFY(finished.front().front().toBool());
    const QString name = w.runsPanel()->runs().back().name;
    QVERIFY2(name.startsWith(u"run ") && name.mid(4).toInt() > 40, qPrintable(name));
}

void TestRunsPage::runFinishingAfterSwitchJoinsItsModel()
{
    QS_REQUIRE_DATA(modelA, "stories260K");
    QS_REQUIRE_DATA(modelB, "stories260K-bf16");
    MainWindow w; // no store folder: runs are kept in memory for this window's life
    w.show();
    QVERIFY(loadInto(w, modelA));
    w.runsPanel()->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(2);
    QSignalSpy finished(w.runsPanel(), &RunsPanel::runFinished);
    QVERIFY(w.runCurrentPlan() > 0);
    QVERIFY(loadInto(w, modelB)); // while the run is queued or running
    QVERIFY(finished.count() == 1 || finished.wait(120000));
    QVERIFY2(finished.front().front().toBool(), qPrintable(finished.front().at(1).toString()));
    QVERIFY(w.runsPanel()->runs().empty()); // not B's
    QVERIFY(loadInto(w, modelA));
    QCOMPARE(int(w.runsPanel()->runs().size()), 1);
    QCOMPARE(w.runsPanel()->runs().front().recipeSummary, QStringLiteral("rtn w4 g128"));
}

void TestRunsPage::changedModelFileGetsNoStaleRuns()
{
    QS_REQUIRE_DATA(original, "stories260K");
    QTemporaryDir tmp, store;
    const QString copy = tmp.filePath(QStringLiteral("model"));
    QVERIFY(QDir().mkpath(copy));
    for (const QString& name : QDir(original).entryList(QDir::Files))
        QVERIFY(QFile::copy(QDir(original).filePath(name), QDir(copy).filePath(name)));
    QString file;
    {
        MainWindow w;
        w.runsPanel()->setStoreFolder(store.path());
        w.show();
        QVERIFY(loadInto(w, copy));
        w.runsPanel()->restoreRuns({fakeRun(QStringLiteral("old weights"))}, std::nullopt);
        file = w.runsPanel()->storeFile();
    }
    // The weights change (same size, newer time): the old runs are not shown for them, nor deleted.
    QFile weights(QDir(copy).filePath(QStringLiteral("model.safetensors")));
    QVERIFY(weights.open(QIODevice::ReadWrite));
    QVERIFY(weights.setFileTime(weights.fileTime(QFileDevice::FileModificationTime).addSecs(60),
                                QFileDevice::FileModificationTime));
    weights.close();
    MainWindow w;
    w.runsPanel()->setStoreFolder(store.path());
    w.show();
    QVERIFY(loadInto(w, copy));
    QVERIFY(w.runsPanel()->runs().empty());
    QCOMPARE(w.runsPanel()->storeFile(), file); // one database for every model
    // The old runs are still in the history, under the old files.
    RunFilter all;
    all.text = QStringLiteral("old weights");
    QCOMPARE(ResultsDb(file).runs(all).size(), std::size_t(1));
}

void TestRunsPage::historyAcrossModelsWithFiltersUndoAndPrune()
{
    QS_REQUIRE_DATA(modelA, "stories260K");
    QS_REQUIRE_DATA(modelB, "stories260K-bf16");
    QTemporaryDir store;
    MainWindow w;
    w.runsPanel()->setStoreFolder(store.path());
    w.resize(1400, 900);
    w.show();
    QVERIFY(loadInto(w, modelA));
    SessionRun a1 = fakeRun(QStringLiteral("A rtn4")), a2 = fakeRun(QStringLiteral("A gptq3"));
    a2.summary.method = QStringLiteral("GPTQ");
    a2.summary.bitsPerWeight = 3.3;
    a2.recipe.defaults.bits = 3;
    // a2 keeps a checkpoint in the runs folder (as a GUI run does).
    const QString ckpt = QDir(store.path()).filePath(QStringLiteral("checkpoints/a2"));
    QVERIFY(
        test::writeFile(QDir(ckpt).filePath(QStringLiteral("model.safetensors")), QByteArray(50000, 'x')));
    a2.summary.source = ckpt;
    w.runsPanel()->restoreRuns({a1, a2}, std::nullopt);
    QVERIFY(loadInto(w, modelB));
    w.runsPanel()->restoreRuns({fakeRun(QStringLiteral("B rtn4"))}, std::nullopt);
    QCOMPARE(int(w.runsPanel()->runs().size()), 1);

    auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("runTabs"));
    QVERIFY(tabs);
    w.showPage(QStringLiteral("runs"));
    tabs->setCurrentWidget(w.runsPanel()->history());
    RunHistoryPanel* history = w.runsPanel()->history();
    auto names = [&] {
        QStringList n;
        for (const StoredRun& r : history->shownRuns())
            n << r.run.summary.name;
        return n;
    };
    QCOMPARE(names(),
             (QStringList{QStringLiteral("A rtn4"), QStringLiteral("A gptq3"), QStringLiteral("B rtn4")}));
    auto* disk = w.findChild<QLabel*>(QStringLiteral("historyDisk"));
    QVERIFY2(disk->text().contains(u"1 run") && disk->text().contains(u"50"), qPrintable(disk->text()));
    w.findChild<QLineEdit*>(QStringLiteral("historySearch"))->setText(QStringLiteral("gptq"));
    QCOMPARE(names(), QStringList{QStringLiteral("A gptq3")});
    w.findChild<QLineEdit*>(QStringLiteral("historySearch"))->clear();
    auto* method = w.findChild<QComboBox*>(QStringLiteral("historyMethod"));
    QVERIFY(method->findData(QStringLiteral("GPTQ")) > 0);
    method->setCurrentIndex(method->findData(QStringLiteral("RTN")));
    QCOMPARE(names(), (QStringList{QStringLiteral("A rtn4"), QStringLiteral("B rtn4")}));
    method->setCurrentIndex(0);
    w.findChild<QSpinBox*>(QStringLiteral("historyBits"))->setValue(3);
    QCOMPARE(names(), QStringList{QStringLiteral("A gptq3")});
    w.findChild<QSpinBox*>(QStringLiteral("historyBits"))->setValue(0);
    w.findChild<QDoubleSpinBox*>(QStringLiteral("historyMaxBpw"))->setValue(4.0);
    QCOMPARE(names(), QStringList{QStringLiteral("A gptq3")});
    w.findChild<QDoubleSpinBox*>(QStringLiteral("historyMaxBpw"))->setValue(32);
    saveScreenshot(w, QStringLiteral("history"));

    // Compare a run of model A while B is open: it joins B's comparison.
    history->selectRows({1});
    w.findChild<QPushButton*>(QStringLiteral("historyCompare"))->click();
    QCOMPARE(int(w.runsPanel()->runs().size()), 2);
    QCOMPARE(w.runsPanel()->runs().back().name, QStringLiteral("A gptq3"));
    QCOMPARE(tabs->currentIndex(), 0);

    // Delete B's run, undo, delete again: the page's runs follow the history.
    tabs->setCurrentWidget(history);
    history->selectRows({2});
    w.findChild<QPushButton*>(QStringLiteral("historyDelete"))->click();
    QCOMPARE(names(), (QStringList{QStringLiteral("A rtn4"), QStringLiteral("A gptq3")}));
    auto* undo = w.findChild<QPushButton*>(QStringLiteral("historyUndo"));
    QVERIFY(undo->isVisible());
    QVERIFY(std::none_of(w.runsPanel()->runs().begin(), w.runsPanel()->runs().end(),
                         [](const RunSummary& r) { return r.name == u"B rtn4"; }));
    undo->click();
    QCOMPARE(names().size(), 3);
    QVERIFY(undo->isHidden());
    QVERIFY(std::any_of(w.runsPanel()->runs().begin(), w.runsPanel()->runs().end(),
                        [](const RunSummary& r) { return r.name == u"B rtn4"; }));

    // Prune the kept checkpoint: the folder goes, the numbers stay.
    history->selectRows({1});
    w.findChild<QPushButton*>(QStringLiteral("historyPrune"))->click();
    QVERIFY(!QFileInfo::exists(ckpt));
    QCOMPARE(names().size(), 3);
    QVERIFY(history->shownRuns()[1].checkpoint.isEmpty());
    QVERIFY2(disk->text().contains(u"0 run"), qPrintable(disk->text()));
    QVERIFY(!w.findChild<QMessageBox*>(QStringLiteral("errorDialog")));
}

void TestRunsPage::unreadableStoreIsKeptAside()
{
    // A damaged results database: moved aside (byte for byte), said so, and a new one started.
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QTemporaryDir store;
    RunStore probe;
    QVERIFY(probe.databaseFile().isEmpty()); // no folder: memory only
    probe.setFolder(store.path());
    const QString path = probe.databaseFile();
    QVERIFY(test::writeFile(path, QByteArray("not a database at all").repeated(200)));
    MainWindow w;
    w.runsPanel()->setStoreFolder(store.path());
    w.show();
    QVERIFY(loadInto(w, modelPath));
    QVERIFY(w.runsPanel()->runs().empty());
    auto* box = w.findChild<QMessageBox*>(QStringLiteral("errorDialog"));
    QVERIFY(box);
    QVERIFY2(box->text().contains(path) && box->text().contains(u"moved aside"), qPrintable(box->text()));
    const QStringList backups = QDir(store.path()).entryList({QStringLiteral("results.sqlite.corrupt-*")});
    QCOMPARE(backups.size(), 1);
    QVERIFY(box->text().contains(backups.front()));
    // New runs go to the new database; the backup is left alone.
    w.runsPanel()->restoreRuns({fakeRun(QStringLiteral("new"))}, std::nullopt);
    QCOMPARE(ResultsDb(path).runs().size(), std::size_t(1));
    QCOMPARE(QDir(store.path()).entryList({QStringLiteral("results.sqlite.corrupt-*")}).size(), 1);
}

void TestRunsPage::sessionAndStoreDoNotDuplicate()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QTemporaryDir dir;
    const QString session = dir.filePath(QStringLiteral("session.json"));
    const QString store = dir.filePath(QStringLiteral("runs"));
    {
        MainWindow w;
        w.runsPanel()->setStoreFolder(store);
        w.session()->setFile(session);
        w.show();
        QVERIFY(loadInto(w, modelPath));
        w.runsPanel()->restoreRuns({fakeRun(QStringLiteral("one")), fakeRun(QStringLiteral("two"))},
                                   std::nullopt);
        QVERIFY(w.session()->save());
    }
    MainWindow w;
    w.runsPanel()->setStoreFolder(store);
    w.session()->setFile(session);
    w.show();
    QSignalSpy restored(w.session(), &SessionController::restored);
    QVERIFY(w.session()->restore());
    QVERIFY(restored.wait(20000));
    QCOMPARE(int(w.runsPanel()->runs().size()), 2); // from the store and the session: once each
    QCOMPARE(w.runsPanel()->runs()[1].name, QStringLiteral("two"));
}

namespace {

/// A run with every quality number set, so that each metric plots a distinct value.
SessionRun qualityRun(const QString& name, double bpw, double ppl, double decode)
{
    SessionRun r = fakeRun(name);
    r.summary.bitsPerWeight = bpw;
    r.summary.modelBytes = std::uint64_t(bpw * 1e5);
    r.summary.ppl = ppl;
    r.summary.pplError = 0.2;
    r.summary.deltaPpl = ppl - 12.5;
    r.summary.deltaPplError = 0.01 * bpw;
    r.summary.kldMean = 0.1 / bpw;
    r.summary.kldError = 0.001;
    r.summary.top1Percent = 100 - 10 / bpw;
    r.summary.top1Error = 0.3;
    r.summary.decodeTokensPerSecond = decode;
    return r;
}

} // namespace

// The quality plot opens on mean KLD (which separates methods where perplexity's ± bars overlap) and
// afterwards on the user's last choice, in a new window too.
void TestRunsPage::qualityChoiceRemembered()
{
    QSettings().remove(QStringLiteral("runs"));
    using Loss = LossSizePlot::Loss;
    auto choices = [](MainWindow& w) {
        return std::pair{w.runsPanel()->findChild<QComboBox*>(QStringLiteral("qualityMetric")),
                         w.runsPanel()->findChild<QComboBox*>(QStringLiteral("qualityAxis"))};
    };
    {
        MainWindow w;
        const auto [metric, axis] = choices(w);
        QVERIFY(metric && axis);
        QCOMPARE(Loss(metric->currentData().toInt()), Loss::Kld);
        QCOMPARE(w.runsPanel()->findChild<LossSizePlot*>()->yAxis->label(),
                 LossSizePlot::lossLabel(Loss::Kld));
        metric->setCurrentIndex(metric->findData(int(Loss::Top1)));
        axis->setCurrentIndex(axis->findData(int(LossSizePlot::Size::Megabytes)));
    }
    waitForBackgroundSettings(); // the choices are written off the UI thread
    MainWindow again;
    const auto [metric, axis] = choices(again);
    QCOMPARE(Loss(metric->currentData().toInt()), Loss::Top1);
    QCOMPARE(LossSizePlot::Size(axis->currentData().toInt()), LossSizePlot::Size::Megabytes);
    QCOMPARE(again.runsPanel()->findChild<LossSizePlot*>()->yAxis->label(),
             LossSizePlot::lossLabel(Loss::Top1));
    QSettings().remove(QStringLiteral("runs"));
}

void TestRunsPage::qualityPlotFollowsSelection()
{
    QS_REQUIRE_DATA(model, "stories260K");
    MainWindow w;
    w.resize(1280, 900);
    w.show();
    QVERIFY(loadInto(w, model));
    RunSummary base = fakeRun(QStringLiteral("float")).summary;
    base.isBaseline = true;
    base.method = QStringLiteral("float");
    base.bitsPerWeight = 32;
    base.ppl = 12.5;
    // The 8-bit run sits on the baseline at the right edge, where the label used to go; two runs
    // share a method (one colour each all the same); one run has no speed measured.
    std::vector<SessionRun> runs{qualityRun(QStringLiteral("r3"), 3.5, 13.4, 900),
                                 qualityRun(QStringLiteral("r4"), 4.5, 12.8, 800),
                                 qualityRun(QStringLiteral("r5"), 5.5, 12.6, qQNaN()),
                                 qualityRun(QStringLiteral("r8"), 8.5, 12.5, 500)};
    runs[1].summary.method = QStringLiteral("GPTQ");
    w.runsPanel()->restoreRuns(runs, base);
    w.showPage(QStringLiteral("runs"));
    auto* plot = w.runsPanel()->findChild<LossSizePlot*>();
    auto* metric = w.runsPanel()->findChild<QComboBox*>(QStringLiteral("qualityMetric"));
    auto* axis = w.runsPanel()->findChild<QComboBox*>(QStringLiteral("qualityAxis"));
    QVERIFY(plot && metric && axis);
    QVERIFY(plot->isVisible());
    auto runNamed = [&](const QString& name) -> const RunSummary& {
        for (const SessionRun& r : runs)
            if (r.summary.name == name)
                return r.summary;
        return base;
    };

    // Each metric: every run's point is that run's value, the axis and the baseline follow.
    using Loss = LossSizePlot::Loss;
    const std::vector<std::pair<Loss, double>> metrics{
        {Loss::Perplexity, 12.5}, {Loss::DeltaPerplexity, 0}, {Loss::Kld, 0}, {Loss::Top1, 100}};
    for (const auto& [loss, baseY] : metrics) {
        metric->setCurrentIndex(metric->findData(int(loss)));
        QVERIFY(metric->model()->flags(metric->model()->index(metric->currentIndex(), 0)) &
                Qt::ItemIsEnabled);
        plot->replot();
        QCOMPARE(plot->yAxis->label(), LossSizePlot::lossLabel(loss));
        QCOMPARE(int(plot->runGraphs().size()), 4);
        for (QCPGraph* g : plot->runGraphs()) {
            const RunSummary& r = runNamed(g->property("run").toString());
            QCOMPARE(g->dataCount(), 1);
            QCOMPARE(g->data()->at(0)->value, LossSizePlot::lossOf(r, loss));
            QCOMPARE(g->data()->at(0)->key, r.bitsPerWeight);
        }
        QVERIFY(plot->baselineLabel());
        QVERIFY2(plot->baselineLabel()->text().contains(PlotWidget::rounded(baseY)),
                 qPrintable(plot->baselineLabel()->text()));
        // The label covers no point: each marker's square (radius + 1 px) is outside its rectangle.
        const QRectF label = plot->baselineLabelRect();
        QVERIFY(!label.isEmpty());
        QVERIFY2(QRectF(plot->axisRect()->rect()).contains(label), "the label is inside the plot");
        for (QCPGraph* g : plot->runGraphs()) {
            const QPointF p(plot->xAxis->coordToPixel(g->data()->at(0)->key),
                            plot->yAxis->coordToPixel(g->data()->at(0)->value));
            const double r = g->scatterStyle().size() / 2 + 1;
            QVERIFY2(!label.intersects(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r)),
                     qPrintable(QStringLiteral("%1 covers %2 at (%3, %4)")
                                    .arg(plot->baselineLabel()->text(), g->name())
                                    .arg(p.x())
                                    .arg(p.y())));
        }
        saveScreenshot(w, QStringLiteral("quality-%1").arg(int(loss)));
    }

    // The x selector: model size, then measured decode speed (the run without it has no point).
    metric->setCurrentIndex(metric->findData(int(Loss::Kld)));
    axis->setCurrentIndex(axis->findData(int(LossSizePlot::Size::Megabytes)));
    QCOMPARE(plot->xAxis->label(), LossSizePlot::sizeLabel(LossSizePlot::Size::Megabytes));
    for (QCPGraph* g : plot->runGraphs())
        QCOMPARE(g->data()->at(0)->key, runNamed(g->property("run").toString()).megabytes());
    axis->setCurrentIndex(axis->findData(int(LossSizePlot::Size::DecodeSpeed)));
    QCOMPARE(plot->xAxis->label(), LossSizePlot::sizeLabel(LossSizePlot::Size::DecodeSpeed));
    QCOMPARE(int(plot->runGraphs().size()), 3);
    for (QCPGraph* g : plot->runGraphs()) {
        const RunSummary& r = runNamed(g->property("run").toString());
        QVERIFY(r.name != u"r5");
        QCOMPARE(g->data()->at(0)->key, r.decodeTokensPerSecond);
        QCOMPARE(g->data()->at(0)->value, r.kldMean);
    }
    // Prefill and resident memory were measured by no run: offered greyed, with why.
    const int prefill = axis->findData(int(LossSizePlot::Size::PrefillSpeed));
    QVERIFY(!(axis->model()->flags(axis->model()->index(prefill, 0)) & Qt::ItemIsEnabled));
    QVERIFY(!axis->itemData(prefill, Qt::ToolTipRole).toString().isEmpty());

    // One colour and one legend entry per run, methods shared or not.
    axis->setCurrentIndex(axis->findData(int(LossSizePlot::Size::BitsPerWeight)));
    QSet<QRgb> colours;
    QStringList legendNames;
    for (QCPGraph* g : plot->runGraphs()) {
        colours.insert(g->scatterStyle().brush().color().rgb());
        QVERIFY(plot->legend->hasItemWithPlottable(g));
        legendNames << g->name();
        QVERIFY2(g->name().startsWith(g->property("run").toString()), qPrintable(g->name()));
    }
    QCOMPARE(colours.size(), 4);
    // The legend sits beside the axes, over no point.
    QVERIFY(!plot->legend->outerRect().intersects(plot->axisRect()->rect()));
    QCOMPARE(QSet<QString>(legendNames.begin(), legendNames.end()).size(), 4);

    // Tooltips round: four significant digits, not the double's seventeen.
    const RunSummary& r3 = runNamed(QStringLiteral("r3"));
    metric->setCurrentIndex(metric->findData(int(Loss::Kld)));
    plot->replot();
    const QString tip = plot->hoverText(
        QPoint(int(plot->xAxis->coordToPixel(r3.bitsPerWeight)), int(plot->yAxis->coordToPixel(r3.kldMean))));
    QVERIFY2(tip.contains(QStringLiteral("0.02857")) && !tip.contains(QStringLiteral("0.028571")),
             qPrintable(tip));
}

void TestRunsPage::runDiffFromTableAndHistory()
{
    QS_REQUIRE_DATA(model, "stories260K");
    QTemporaryDir store;
    MainWindow w;
    w.runsPanel()->setStoreFolder(store.path());
    QVERIFY(showTwoRuns(w, model));
    QTableWidget* runs = table(w, "runsTable");
    auto* diff = w.runsPanel()->findChild<QPushButton*>(QStringLiteral("diffRuns"));
    QVERIFY(diff && !diff->isEnabled());
    runs->selectRow(0);
    QVERIFY(!diff->isEnabled()); // one run: nothing to diff
    runs->selectionModel()->select(runs->model()->index(1, 0),
                                   QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QVERIFY(diff->isEnabled());
    diff->click();
    auto* tabs = w.findChild<QTabWidget*>(QStringLiteral("runTabs"));
    RunDiffView* view = w.runsPanel()->diffView();
    QCOMPARE(tabs->currentWidget(), view->parentWidget()->parentWidget()); // in its scroll area
    const QStringList expected{QStringLiteral("model.layers.1.mlp.down_proj"),
                               QStringLiteral("model.layers.3.mlp.down_proj")};
    QCOMPARE(view->diff().differingLayers(), expected);
    // The recipe table highlights exactly those layers, and in them the method only.
    auto* recipes = view->findChild<QTableWidget*>(QStringLiteral("diffRecipes"));
    QCOMPARE(recipes->rowCount(), 4);
    for (int r = 0; r < recipes->rowCount(); ++r) {
        const bool differs = expected.contains(recipes->item(r, 0)->text());
        QCOMPARE(recipes->item(r, 0)->data(Qt::UserRole).toBool(), differs);
        for (int c = 1; c < recipes->columnCount(); ++c) {
            const bool methodColumn = recipes->horizontalHeaderItem(c)->text().startsWith(u"method");
            QCOMPARE(recipes->item(r, c)->data(Qt::UserRole).toBool(), differs && methodColumn);
        }
    }
    // Per-layer numbers: A, B and B − A of the runs' own values.
    auto* layers = view->findChild<QTableWidget*>(QStringLiteral("diffLayers"));
    const int weightB = column(layers, QStringLiteral("weight rel. MSE B"));
    QVERIFY(weightB > 0);
    QCOMPARE(QLocale().toDouble(layers->item(2, weightB)->text()), 0.5 * 1e-3 * 3);
    QVERIFY(column(layers, QStringLiteral("output rel. MSE B − A")) > 0);
    QVERIFY(column(layers, QStringLiteral("bytes A")) > 0);
    auto* whole = view->findChild<QTableWidget*>(QStringLiteral("diffWholeRun"));
    QCOMPARE(whole->horizontalHeaderItem(1)->text(), QStringLiteral("ppl"));
    QCOMPARE(QLocale().toDouble(whole->item(0, 1)->text()), 12.5); // A
    QCOMPARE(QLocale().toDouble(whole->item(1, 1)->text()), 12.5); // B
    QCOMPARE(QLocale().toDouble(whole->item(2, 1)->text()), 0.0);  // B − A
    // Only the differing layers, when asked.
    view->findChild<QCheckBox*>(QStringLiteral("diffOnlyDiffering"))->setChecked(true);
    QCOMPARE(view->shownLayers(), expected);
    saveScreenshot(w, QStringLiteral("runs-diff"));
    auto* diffTabs = view->findChild<QTabWidget*>();
    diffTabs->setCurrentWidget(layers);
    saveScreenshot(w, QStringLiteral("runs-diff-numbers"));
    diffTabs->setCurrentWidget(whole);
    saveScreenshot(w, QStringLiteral("runs-diff-whole"));

    // From the history: two selected runs, in the table's order.
    tabs->setCurrentWidget(w.runsPanel()->history());
    RunHistoryPanel* history = w.runsPanel()->history();
    auto* historyDiff = history->findChild<QPushButton*>(QStringLiteral("historyDiff"));
    history->selectRows({0});
    QVERIFY(!historyDiff->isEnabled());
    history->selectRows({0, 1});
    QVERIFY(historyDiff->isEnabled());
    historyDiff->click();
    QCOMPARE(tabs->currentWidget(), view->parentWidget()->parentWidget()); // in its scroll area
    QCOMPARE(view->diff().differingLayers(), expected);
    QCOMPARE(QSet<QString>({view->diff().nameA, view->diff().nameB}),
             QSet<QString>({QStringLiteral("all rtn"), QStringLiteral("gptq 1 and 3")}));
}

void TestRunsPage::layerMetricChoices()
{
    QS_REQUIRE_DATA(model, "stories260K");
    MainWindow w;
    QVERIFY(showTwoRuns(w, model));
    auto* metric = w.runsPanel()->findChild<QComboBox*>(QStringLiteral("layerMetric"));
    auto* heatmap = w.runsPanel()->findChild<LayerErrorHeatmap*>(QStringLiteral("layerErrorHeatmap"));
    QVERIFY(metric && heatmap);
    auto item = [&](LayerErrorMetric m) {
        return qobject_cast<QStandardItemModel*>(metric->model())->item(metric->findData(int(m)));
    };
    // Output error: the runs' stored values. KLD contribution: greyed with why, until a sweep has it.
    QVERIFY(item(LayerErrorMetric::OutputRelMse)->isEnabled());
    QVERIFY(!item(LayerErrorMetric::KldContribution)->isEnabled());
    QVERIFY(item(LayerErrorMetric::KldContribution)->toolTip().contains(QStringLiteral("sensitivity sweep")));
    const QCPRange range = heatmap->colorRange();
    metric->setCurrentIndex(metric->findData(int(LayerErrorMetric::OutputRelMse)));
    QCOMPARE(heatmap->metric(), LayerErrorMetric::OutputRelMse);
    QCOMPARE(heatmap->matrix().at(2, 1), 0.5 * 5e-4 * 3);
    QCOMPARE(heatmap->colorRange().upper, range.upper); // the same fixed scale for every metric
    // A third run changes no colour range.
    w.runsPanel()->restoreRuns({runWithLayers(QStringLiteral("worse"), {}, 1000)}, std::nullopt);
    QCOMPARE(int(heatmap->matrix().runs.size()), 3);
    QCOMPARE(heatmap->colorRange().lower, range.lower);
    QCOMPARE(heatmap->colorRange().upper, range.upper);
    // The page with the heatmap's controls still fits a 1024-pixel-wide projector.
    w.runsPanel()->showView(QStringLiteral("heatmap:output"));
    QVERIFY2(w.runsPanel()->minimumSizeHint().width() < 1000,
             qPrintable(QString::number(w.runsPanel()->minimumSizeHint().width())));
    // The user's range is what the heatmap uses.
    w.runsPanel()->findChild<QSpinBox*>(QStringLiteral("heatmapLowDecade"))->setValue(-4);
    QCOMPARE(heatmap->colorRange().lower, 1e-4);
    saveScreenshot(w, QStringLiteral("runs-heatmap-output"));

    // A sweep that measured layer 1 with GPTQ int4 g128 alone: its KLD, for that run's layer only.
    SensitivityResult sweep;
    sweep.modelFingerprint = w.runsPanel()->runs().front().fingerprint;
    const QuantSpec gptq = spec(QuantMethod::Gptq, 4, 128);
    sweep.schemes.push_back({gptq.shortName(), gptq});
    SensitivityEntry e;
    e.unit = QStringLiteral("model.layers.1.mlp.down_proj");
    e.scheme = gptq.shortName();
    e.kld = 0.02;
    sweep.entries.push_back(e);
    w.runsPanel()->setSweep(sweep);
    QVERIFY(item(LayerErrorMetric::KldContribution)->isEnabled());
    metric->setCurrentIndex(metric->findData(int(LayerErrorMetric::KldContribution)));
    QCOMPARE(heatmap->matrix().at(1, 1), 0.02);
    QVERIFY(std::isnan(heatmap->matrix().at(1, 0))); // RTN's scheme was not swept
    QVERIFY(std::isnan(heatmap->matrix().at(0, 1)));

    // The weights plot names the run and the group its grid is from (the last run shown).
    auto* weights = w.runsPanel()->findChild<PlotWidget*>(QStringLiteral("distributionPlot"));
    QVERIFY(weights);
    // Read and binned on a worker: the plot follows once the read is done.
    QTRY_VERIFY2(weights->title().contains(QStringLiteral("grid of “worse”")) &&
                     weights->title().contains(QStringLiteral("row 0, group 0 (columns 0–")),
                 qPrintable(weights->title()));
    QSignalSpy shown(w.runsPanel(), &RunsPanel::distributionShown);
    table(w, "runsTable")->item(2, 0)->setCheckState(Qt::Unchecked);
    QVERIFY(shown.wait(20000)); // the read the uncheck started, not an earlier one
    QVERIFY2(weights->title().contains(QStringLiteral("grid of “gptq 1 and 3”")),
             qPrintable(weights->title()));
}

QTEST_MAIN(TestRunsPage)
#include "tst_runspage.moc"
