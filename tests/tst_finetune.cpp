// Fine-tuning from the Runs page (issue 16 item 6), offscreen in the real window on stories260K: a run
// quantized there (RTN int2) is fine-tuned by QAT from Fine-tune…; the loss curve and the learning-rate
// schedule follow the job while the window keeps answering; the tuned run is a run of its own right
// after its source (before and after tuning: two rows, two points of the quality plot), kept in the run
// store; Stop keeps a run, Cancel keeps none and writes nothing. Inputs that cannot work are refused
// before anything starts (a missing text, a folder that exists, a float model that is gone for the
// block-wise methods, with QAT offered instead); a job that fails says why and leaves nothing behind.
// The method box's presets are core's, the command line's.
#include "FineTuneDialog.h"
#include "GuiTestSupport.h"
#include "LossSizePlot.h"
#include "MainWindow.h"
#include "PlanDocument.h"
#include "RunsPanel.h"
#include "TestSupport.h"
#include "TrainingPlots.h"
#include "model/Model.h"
#include "recipe/Recipe.h"
#include "results/TrainJob.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

using namespace qs;

namespace {

using qs::test::loadInto;
using qs::test::StallProbe;

QTableWidget* runsTable(MainWindow& w)
{
    return w.runsPanel()->findChild<QTableWidget*>(QStringLiteral("runsTable"));
}

template <typename T>
T* child(QWidget* parent, const char* name)
{
    return parent->findChild<T*>(QLatin1String(name));
}

/// The dialog's fields for a short QAT run: `steps` steps of 2 windows of 32 tokens from WikiText-2,
/// the held-out loss on the KJV's validation text.
void setShortRun(FineTuneDialog* d, int steps)
{
    child<QSpinBox>(d, "fineTuneSteps")->setValue(steps);
    child<QSpinBox>(d, "fineTuneSamples")->setValue(8);
    child<QSpinBox>(d, "fineTuneSeqLen")->setValue(32);
    child<QSpinBox>(d, "fineTuneBatch")->setValue(2);
    child<QLineEdit>(d, "fineTuneLr")->setText(QStringLiteral("1e-3"));
    child<QLineEdit>(d, "fineTuneText")
        ->setText(test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw")));
    child<QLineEdit>(d, "fineTuneHeldOut")->setText(test::dataPath(QStringLiteral("kjv/valid.txt")));
}

/// With QS_SCREENSHOT_DIR set, saves the widget there (to look at what a test saw).
void saveScreenshot(QWidget& w, const QString& name)
{
    const QString dir = qEnvironmentVariable("QS_SCREENSHOT_DIR");
    if (!dir.isEmpty())
        QVERIFY(w.grab().save(QDir(dir).filePath(name + QStringLiteral(".png"))));
}

} // namespace

class TestFineTune : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();
    void presetsAreTheCommandLines_data();
    void presetsAreTheCommandLines();
    void qatFromTheRunsPage();
    void offeredOnlyForCheckpoints();
    void badInputIsRefused_data();
    void badInputIsRefused();
    void failedJobLeavesNothing();

private:
    /// stories260K quantized with RTN int2 g32 by the command line, once (empty: data missing).
    QString checkpoint();
    /// A window on stories260K whose Runs page shows the checkpoint's run, the dialog open on it.
    FineTuneDialog* openOnCheckpoint(MainWindow& w, const RunSummary& run);
    QTemporaryDir m_dir;
    QString m_checkpoint;
};

void TestFineTune::initTestCase()
{
    Q_INIT_RESOURCE(quantscope);
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("QuantScopeTest"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_finetune"));
    QSettings().clear();
}

void TestFineTune::init()
{
    for (QWidget* w : QApplication::topLevelWidgets()) // error dialogs of one test are not the next one's
        if (qobject_cast<QMessageBox*>(w))
            w->deleteLater();
}

QString TestFineTune::checkpoint()
{
    if (!m_checkpoint.isEmpty())
        return m_checkpoint;
    const QString model = test::dataPath(QStringLiteral("stories260K"));
    if (model.isEmpty())
        return {};
    m_checkpoint = test::quantizeRtn(model, m_dir.filePath(QStringLiteral("rtn-w2")), 2, 32);
    return m_checkpoint;
}

FineTuneDialog* TestFineTune::openOnCheckpoint(MainWindow& w, const RunSummary& run)
{
    w.show();
    if (!loadInto(w, test::dataPath(QStringLiteral("stories260K"))))
        return nullptr;
    SessionRun kept;
    kept.summary = run;
    w.runsPanel()->restoreRuns({kept}, std::nullopt);
    return w.runsPanel()->openFineTune(0);
}

// The method box offers core's presets, which are the command line's defaults (`quantscope-cli train
// --help`): one table for both.
void TestFineTune::presetsAreTheCommandLines_data()
{
    QTest::addColumn<QString>("mode");
    QTest::addColumn<int>("steps");
    QTest::addColumn<double>("lr");
    QTest::addColumn<double>("scaleMultiplier");
    QTest::addColumn<int>("warmup");
    QTest::addColumn<bool>("weights");
    QTest::addColumn<bool>("rounding");
    QTest::newRow("QAT") << QStringLiteral("e2e") << 200 << 1e-4 << 5.0 << 10 << true << false;
    QTest::newRow("Block-AP") << QStringLiteral("blockwise") << 300 << 2e-4 << 5.0 << 10 << true << false;
    QTest::newRow("SignRound") << QStringLiteral("signround") << 200 << 1.0 / 200 << 1e-4 * 200 << 0 << false
                               << true;
}

void TestFineTune::presetsAreTheCommandLines()
{
    QFETCH(QString, mode);
    QFETCH(int, steps);
    QFETCH(double, lr);
    QFETCH(double, scaleMultiplier);
    QFETCH(int, warmup);
    QFETCH(bool, weights);
    QFETCH(bool, rounding);
    const std::optional<TrainMethod> method = trainMethodFromKey(mode);
    QVERIFY(method);
    const TrainJobParams p = trainPreset(*method);
    const OptimizerSettings& o = p.training.optimizer;
    QCOMPARE(o.steps, steps);
    QCOMPARE(o.learningRate, lr);
    QCOMPARE(o.kindScale[std::size_t(ParamKind::Scale)], scaleMultiplier);
    QCOMPARE(o.kindScale[std::size_t(ParamKind::Zero)], scaleMultiplier);
    QCOMPARE(o.warmupSteps, warmup);
    QCOMPARE(o.signDescent[std::size_t(ParamKind::Rounding)], rounding);
    QCOMPARE(o.minLearningRateRatio, 0.1);
    QCOMPARE(p.trainable.weights, weights);
    QVERIFY(p.trainable.scales && p.trainable.zeros);
    QCOMPARE(p.trainable.rounding, rounding);
    QCOMPARE(p.mode == TrainJobParams::Mode::Blockwise, trainMethodInfo(*method).needsFloatModel);
    QCOMPARE(trainMethodOf(p), *method);
    // SignRound's scales keep 1e-4 absolute whatever its rate.
    if (rounding) {
        const OptimizerSettings fast = trainPreset(*method, 50).training.optimizer;
        QCOMPARE(fast.learningRate, 1.0 / 50);
        QCOMPARE(fast.learningRate * fast.kindScale[std::size_t(ParamKind::Scale)], 1e-4);
    }
    QVERIFY(p.training.optimizer.validate().isEmpty());
}

// The whole path from the Runs page: quantize, fine-tune, see the curve live, compare before and after.
void TestFineTune::qatFromTheRunsPage()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    QS_REQUIRE_DATA(valid, "kjv/valid.txt");
    QTemporaryDir store;
    MainWindow w;
    w.runsPanel()->setStoreFolder(store.path());
    w.resize(1400, 900);
    w.show();
    QVERIFY(loadInto(w, modelPath));
    w.showPage(QStringLiteral("runs"));
    w.planDocument()->replaceRecipe(
        Recipe::fromJson(R"({"version": 1, "defaults": {"method": "rtn", "bits": 2, "group_size": 32}})",
                         QStringLiteral("<test>")),
        QStringLiteral("test"));
    w.runsPanel()->findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(2);
    QSignalSpy runFinished(w.runsPanel(), &RunsPanel::runFinished);
    QVERIFY(w.runCurrentPlan() > 0);
    QVERIFY(runFinished.wait(120000));
    QVERIFY2(runFinished.front().front().toBool(), qPrintable(runFinished.front().at(1).toString()));
    QCOMPARE(int(w.runsPanel()->runs().size()), 1);
    const RunSummary source = w.runsPanel()->runs().front();
    QVERIFY(source.hasKld());

    // The float baseline cannot be fine-tuned; the quantized run can (button and context menu).
    QTableWidget* table = runsTable(w);
    QCOMPARE(table->rowCount(), 2);
    auto* button = w.runsPanel()->findChild<QPushButton*>(QStringLiteral("fineTuneRun"));
    QVERIFY(button);
    table->selectRow(0);
    QVERIFY(!button->isEnabled());
    QVERIFY2(button->toolTip().contains(u"float baseline"), qPrintable(button->toolTip()));
    std::unique_ptr<QMenu> baselineMenu(w.runsPanel()->createRunMenu(0, nullptr));
    QAction* baselineAction = baselineMenu->findChild<QAction*>(QStringLiteral("fineTuneAction"));
    QVERIFY(baselineAction && !baselineAction->isEnabled());
    QVERIFY(!baselineAction->toolTip().isEmpty());
    table->selectRow(1);
    QVERIFY(button->isEnabled());
    std::unique_ptr<QMenu> menu(w.runsPanel()->createRunMenu(1, nullptr));
    QVERIFY(menu->findChild<QAction*>(QStringLiteral("fineTuneAction"))->isEnabled());
    button->click();
    FineTuneDialog* d = w.runsPanel()->fineTuneDialog();
    QVERIFY(d && d->isVisible());
    QCOMPARE(d->method(), TrainMethod::Qat);
    const QString out = source.source + QStringLiteral("-qat");
    QCOMPARE(child<QLineEdit>(d, "fineTuneOut")->text(), out);
    // The training text starts as the page's calibration text, the held-out text as valid.txt beside it.
    QCOMPARE(child<QLineEdit>(d, "fineTuneText")->text(),
             w.runsPanel()->findChild<QLineEdit*>(QStringLiteral("runCalibText"))->text());
    QCOMPARE(QFileInfo(child<QLineEdit>(d, "fineTuneHeldOut")->text()).canonicalFilePath(),
             QFileInfo(valid).canonicalFilePath());
    child<QLineEdit>(d, "fineTuneText")->setText(wiki); // no valid.txt beside it: no held-out text
    QVERIFY(child<QLineEdit>(d, "fineTuneHeldOut")->text().isEmpty());
    setShortRun(d, 6);
    // The schedule is drawn before the first step.
    QCOMPARE(d->learningRatePlot()->settings().steps, 6);
    QCOMPARE(d->learningRatePlot()->settings().learningRate, 1e-3);

    QSignalSpy ended(w.runsPanel(), &RunsPanel::fineTuneEnded);
    QSignalSpy changed(w.runsPanel(), &RunsPanel::runsChanged);
    StallProbe probe;
    child<QPushButton>(d, "fineTuneStart")->click();
    QVERIFY2(d->isRunning(), qPrintable(d->refusal()));
    QVERIFY(!child<QPushButton>(d, "fineTuneStart")->isEnabled());
    QVERIFY(ended.wait(60000));
    QVERIFY2(probe.windowAnswered(), probe.report().constData());
    QVERIFY2(ended.front().front().toBool(), qPrintable(ended.front().at(1).toString()));
    QVERIFY(changed.count() >= 1);
    saveScreenshot(*d, QStringLiteral("finetune-qat"));
    saveScreenshot(w, QStringLiteral("finetune-runs"));

    // The curve: the start (held-out only) and six steps; held-out at the start and at the end at least.
    QCOMPARE(int(d->curve().size()), 7);
    QCOMPARE(d->lossPlot()->trainingPoints(), 6);
    QVERIFY(d->lossPlot()->heldOutPoints() >= 2);
    QCOMPARE(d->learningRatePlot()->currentStep(), 6);
    for (int i = 1; i < 7; ++i)
        QCOMPARE(d->curve()[std::size_t(i)].learningRate,
                 d->learningRatePlot()->settings().learningRateAt(i - 1));

    // Before and after: two rows, the tuned one right after its source, both in the quality plot.
    const std::vector<RunSummary>& runs = w.runsPanel()->runs();
    QCOMPARE(int(runs.size()), 2);
    const RunSummary& tuned = runs[1];
    QCOMPARE(tuned.name, source.name + QStringLiteral(" + QAT"));
    QCOMPARE(tuned.source, out);
    QCOMPARE(tuned.recipeSummary, source.recipeSummary + QStringLiteral(" + qat"));
    QVERIFY(QFileInfo::exists(out + QStringLiteral("/model.safetensors")));
    QVERIFY(QFileInfo::exists(out + QStringLiteral("/run.json")));
    QVERIFY(tuned.hasPerplexity());
    QVERIFY2(tuned.hasKld(), "evaluated against the page's KLD base");
    QCOMPARE(tuned.evalText, source.evalText);
    QCOMPARE(table->rowCount(), 3);
    QCOMPARE(table->item(2, 1)->text(), tuned.name);
    QCOMPARE(w.runsPanel()->findChild<LossSizePlot*>()->runGraphs().size(), std::size_t(2));
    QVERIFY(child<QLabel>(d, "fineTuneSummary")->text().contains(tuned.name));
    // Kept like the page's other runs: a new window on the same store shows both.
    {
        MainWindow again;
        again.runsPanel()->setStoreFolder(store.path());
        QVERIFY(loadInto(again, modelPath));
        QCOMPARE(int(again.runsPanel()->runs().size()), 2);
    }

    // Stop keeps a run: the steps so far, the best kept, next to the source again.
    table->selectRow(1);
    QVERIFY(w.runsPanel()->openFineTune(0) == d);
    setShortRun(d, 2000);
    ended.clear();
    QVERIFY(d->start());
    QTRY_VERIFY_WITH_TIMEOUT(d->curve().size() >= 3, 30000);
    child<QPushButton>(d, "fineTuneStop")->click();
    QVERIFY(ended.wait(60000));
    QVERIFY2(ended.front().front().toBool(), qPrintable(ended.front().at(1).toString()));
    QVERIFY(d->curve().back().step < 2000);
    QCOMPARE(int(w.runsPanel()->runs().size()), 3);
    QCOMPARE(w.runsPanel()->runs()[1].source, out + QStringLiteral("-2"));
    QVERIFY(QFileInfo::exists(out + QStringLiteral("-2/model.safetensors")));
    QCOMPARE(child<QLabel>(d, "fineTuneStage")->text(), QStringLiteral("stopped early; kept"));

    // Cancel keeps nothing: no run, no folder.
    QVERIFY(w.runsPanel()->openFineTune(0) == d);
    setShortRun(d, 2000);
    const QString cancelledOut = child<QLineEdit>(d, "fineTuneOut")->text();
    QCOMPARE(cancelledOut, out + QStringLiteral("-3"));
    ended.clear();
    QVERIFY(d->start());
    QTRY_VERIFY_WITH_TIMEOUT(d->curve().size() >= 2, 30000);
    child<QPushButton>(d, "fineTuneCancel")->click();
    QVERIFY(ended.wait(60000));
    QCOMPARE(ended.front().front().toBool(), false);
    QCOMPARE(int(w.runsPanel()->runs().size()), 3);
    QVERIFY(!QFileInfo::exists(cancelledOut));
    QVERIFY(child<QLabel>(d, "fineTuneSummary")->text().contains(u"nothing was written"));
    QVERIFY(!w.findChild<QMessageBox*>(QStringLiteral("errorDialog")));
}

void TestFineTune::offeredOnlyForCheckpoints()
{
    RunSummary baseline;
    baseline.isBaseline = true;
    QVERIFY(RunsPanel::fineTuneProblem(baseline).contains(u"float baseline"));
    RunSummary gone;
    gone.name = QStringLiteral("old");
    QVERIFY(RunsPanel::fineTuneProblem(gone).contains(u"checkpoint"));
    gone.source = m_dir.filePath(QStringLiteral("nothing-here"));
    QVERIFY(RunsPanel::fineTuneProblem(gone).contains(gone.source));
    const QString folder = checkpoint();
    if (folder.isEmpty())
        QSKIP("stories260K missing");
    QVERIFY(RunsPanel::fineTuneProblem(RunSummary::load(folder)).isEmpty());
    // A run without a checkpoint (a restored one whose session is gone): the button says why.
    MainWindow w;
    SessionRun old;
    old.summary.name = QStringLiteral("kept numbers");
    old.summary.recipeSummary = QStringLiteral("rtn w4 g128");
    w.show();
    QVERIFY(loadInto(w, test::dataPath(QStringLiteral("stories260K"))));
    w.runsPanel()->restoreRuns({old}, std::nullopt);
    runsTable(w)->selectRow(0);
    auto* button = w.runsPanel()->findChild<QPushButton*>(QStringLiteral("fineTuneRun"));
    QVERIFY(!button->isEnabled());
    QVERIFY2(button->toolTip().contains(u"checkpoint"), qPrintable(button->toolTip()));
    QVERIFY(!w.runsPanel()->openFineTune(0));
}

void TestFineTune::badInputIsRefused_data()
{
    QTest::addColumn<QString>("settings");
    QTest::addColumn<bool>("floatModelGone");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<QString>("focused");
    const QString missing = m_dir.filePath(QStringLiteral("missing.txt"));
    QTest::newRow("no training text") << QStringLiteral("text=") << false << QStringLiteral("Training text")
                                      << QStringLiteral("fineTuneText");
    QTest::newRow("missing training text")
        << QStringLiteral("text=%1").arg(missing) << false << missing << QStringLiteral("fineTuneText");
    QTest::newRow("missing held-out text") << QStringLiteral("held-out=%1").arg(missing) << false << missing
                                           << QStringLiteral("fineTuneHeldOut");
    QTest::newRow("learning rate") << QStringLiteral("lr=0") << false << QStringLiteral("Learning rate")
                                   << QStringLiteral("fineTuneLr");
    QTest::newRow("output folder exists")
        << QStringLiteral("out=%1").arg(m_dir.path()) << false << QStringLiteral("exists already")
        << QStringLiteral("fineTuneOut");
    QTest::newRow("no output folder") << QStringLiteral("out=") << false << QStringLiteral("Output folder")
                                      << QStringLiteral("fineTuneOut");
    QTest::newRow("Block-AP without the float model")
        << QStringLiteral("method=block-ap") << true << QStringLiteral("QAT")
        << QStringLiteral("fineTuneMethod");
    QTest::newRow("SignRound without the float model")
        << QStringLiteral("method=signround") << true << QStringLiteral("is gone")
        << QStringLiteral("fineTuneMethod");
}

void TestFineTune::badInputIsRefused()
{
    QFETCH(QString, settings);
    QFETCH(bool, floatModelGone);
    QFETCH(QString, expected);
    QFETCH(QString, focused);
    const QString folder = checkpoint();
    if (folder.isEmpty())
        QSKIP("stories260K missing");
    RunSummary run = RunSummary::load(folder);
    if (floatModelGone)
        run.modelPath = m_dir.filePath(QStringLiteral("deleted-float-model"));
    MainWindow w;
    FineTuneDialog* d = openOnCheckpoint(w, run);
    QVERIFY(d);
    // A learning rate out of range is reported by applySettings too (--fine-tune warns), and kept.
    const QString notApplied = d->applySettings(settings);
    QVERIFY2(notApplied.isEmpty() || (settings.startsWith(u"lr=") && notApplied == settings),
             qPrintable(notApplied));
    const QString out = child<QLineEdit>(d, "fineTuneOut")->text();
    QVERIFY(!d->start());
    QVERIFY(!d->isRunning());
    QVERIFY2(d->refusal().contains(expected), qPrintable(d->refusal()));
    QVERIFY(d->focusWidget());
    QCOMPARE(d->focusWidget()->objectName(), focused);       // the field to fix
    QVERIFY(out == m_dir.path() || !QFileInfo::exists(out)); // nothing written
    auto* useQat = child<QPushButton>(d, "fineTuneUseQat");
    QCOMPARE(!useQat->isHidden(), floatModelGone);
    if (floatModelGone) { // QAT needs no float model: one click, and it starts
        useQat->click();
        QCOMPARE(d->method(), TrainMethod::Qat);
        QVERIFY(d->refusal().isEmpty());
    }
}

// A job that fails (a training text too short for its windows): the message in the dialog and an error
// box, no run, no folder; the dialog can start again.
void TestFineTune::failedJobLeavesNothing()
{
    const QString folder = checkpoint();
    if (folder.isEmpty())
        QSKIP("stories260K missing");
    const QString shortText = m_dir.filePath(QStringLiteral("short.txt"));
    QVERIFY(test::writeFile(shortText, "Too short to train on."));
    MainWindow w;
    FineTuneDialog* d = openOnCheckpoint(w, RunSummary::load(folder));
    QVERIFY(d);
    setShortRun(d, 4);
    child<QLineEdit>(d, "fineTuneText")->setText(shortText);
    const QString out = child<QLineEdit>(d, "fineTuneOut")->text();
    QSignalSpy ended(w.runsPanel(), &RunsPanel::fineTuneEnded);
    QVERIFY(d->start());
    QVERIFY(ended.wait(60000));
    QCOMPARE(ended.front().front().toBool(), false);
    const QString summary = child<QLabel>(d, "fineTuneSummary")->text();
    QVERIFY2(summary.startsWith(u"Failed") && summary.contains(u"short"), qPrintable(summary));
    QVERIFY(w.findChild<QMessageBox*>(QStringLiteral("errorDialog")));
    QCOMPARE(int(w.runsPanel()->runs().size()), 1);
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY(child<QPushButton>(d, "fineTuneStart")->isEnabled());
}

QTEST_MAIN(TestFineTune)
#include "tst_finetune.moc"
