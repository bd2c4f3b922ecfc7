// The one experiment job (core/results/ExperimentJob) as its two front ends run it — the CLI's
// `quantize` and the GUI's Runs page — and the GUI's job runner (app/gui/JobRunner): progress,
// cancel and failure arrive as data on the UI thread, and nothing arrives once the guard is gone.

#include "JobRunner.h"
#include "RunsPanel.h"
#include "TestSupport.h"
#include "model/Model.h"
#include "quant/QuantizeEstimate.h"
#include "recipe/Recipe.h"
#include "results/ExperimentJob.h"
#include "tokenizer/Tokenizer.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <atomic>
#include <cmath>

using namespace qs;

namespace {

constexpr int kChunks = 8;

/// A GPTQ recipe (it uses calibration) with settings the Runs page keeps as they are.
QString writeRecipe(const QString& folder, const QString& calib)
{
    const QJsonObject recipe{
        {QStringLiteral("version"), 1},
        {QStringLiteral("name"), QStringLiteral("gptq4-test")},
        {QStringLiteral("defaults"), QJsonObject{{QStringLiteral("method"), QStringLiteral("gptq")},
                                                 {QStringLiteral("bits"), 4},
                                                 {QStringLiteral("group_size"), 32}}},
        {QStringLiteral("calibration"), QJsonObject{{QStringLiteral("text"), calib},
                                                    {QStringLiteral("samples"), 32},
                                                    {QStringLiteral("seq_len"), 128}}}};
    const QString path = QDir(folder).filePath(QStringLiteral("recipe.json"));
    return test::writeFile(path, QJsonDocument(recipe).toJson()) ? path : QString();
}

QJsonObject readJson(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QJsonDocument::fromJson(f.readAll()).object() : QJsonObject();
}

/// A folder that cannot be created (its parent is a file); empty when the file cannot be written.
QString folderUnderAFile(const QTemporaryDir& tmp)
{
    const QString file = tmp.filePath(QStringLiteral("a-file"));
    return test::writeFile(file, "not a folder") ? QDir(file).filePath(QStringLiteral("run")) : QString();
}

/// Params as the CLI builds them for `quantize MODEL --recipe R --eval T --ctx 128 --chunks N`.
ExperimentParams cliLikeParams(const std::shared_ptr<const Model>& model, const QString& recipePath,
                               const QString& evalText)
{
    ExperimentParams p;
    p.model = model;
    p.recipe = Recipe::fromFile(recipePath);
    p.plan = p.recipe.resolve(*model, &p.planWarnings);
    p.calibration = p.recipe.calibration;
    p.calibration.text = p.recipe.resolvedCalibrationText();
    p.name = p.recipe.name;
    p.evaluation.textPath = evalText;
    p.evaluation.perplexity.ctx = 128;
    p.evaluation.perplexity.maxChunks = kChunks;
    return p;
}

} // namespace

class TestExperiment : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void sameNumbersThroughCliAndGui();
    void warningsInsteadOfSilence();
    void cliFailsWhenItCannotSave();
    void dryRunMeasuresBlockZero();
    void runnerDeliversProgressAndValue();
    void runnerCancelAndFailureAreData();
    void runnerDropsOutcomeOfDeadGuard();
};

void TestExperiment::sameNumbersThroughCliAndGui()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
    QS_REQUIRE_DATA(calib, "kjv/train.txt");
    QTemporaryDir tmp;
    const QString recipePath = writeRecipe(tmp.path(), calib);
    QVERIFY(!recipePath.isEmpty());
    const QStringList evalArgs{QStringLiteral("--ctx"), QStringLiteral("128"), QStringLiteral("--chunks"),
                               QString::number(kChunks)};

    // CLI: the float model's KLD base, then quantize + evaluate against it.
    const QString base = tmp.filePath(QStringLiteral("base.qskld"));
    auto r = test::runCli(QStringList{QStringLiteral("eval"), modelPath, QStringLiteral("--text"), text,
                                      QStringLiteral("--save-base"), base} +
                          evalArgs);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QString cliOut = tmp.filePath(QStringLiteral("cli-run"));
    r = test::runCli(QStringList{QStringLiteral("quantize"), modelPath, QStringLiteral("--recipe"),
                                 recipePath, QStringLiteral("--eval"), text, QStringLiteral("--kld-base"),
                                 base, QStringLiteral("--out"), cliOut} +
                     evalArgs);
    QVERIFY2(r.exitCode == 0, r.err.constData());
    QVERIFY(r.out.contains("saved to"));
    const QJsonObject cli = readJson(QDir(cliOut).filePath(QStringLiteral("run.json")));
    const QJsonObject cliPpl = cli.value(u"eval").toObject().value(u"perplexity").toObject();
    const QJsonObject cliKld = cli.value(u"eval").toObject().value(u"kld").toObject();
    QVERIFY(cliPpl.value(u"ppl").toDouble() > 1);

    // The job called directly with the CLI's parameters.
    const auto model = Model::open(modelPath);
    ExperimentParams params = cliLikeParams(model, recipePath, text);
    params.evaluation.kldBasePath = base;
    const ExperimentResult direct = runExperiment(params);
    QCOMPARE(direct.run.value(u"model_bytes").toInteger(), cli.value(u"model_bytes").toInteger());
    QCOMPARE(direct.run.value(u"bpw").toDouble(), cli.value(u"bpw").toDouble());
    QCOMPARE(direct.summary.ppl, cliPpl.value(u"ppl").toDouble());
    QCOMPARE(direct.summary.kldMean, cliKld.value(u"mean_kld").toDouble());

    // GUI: the Runs page, its float baseline measured in the job and cached.
    RunsPanel panel;
    panel.setModel(model);
    panel.setCacheDirectory(tmp.filePath(QStringLiteral("cache")));
    panel.findChild<QLineEdit*>(QStringLiteral("runEvalText"))->setText(text);
    panel.findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(kChunks);
    QSignalSpy finished(&panel, &RunsPanel::runFinished);
    QVERIFY(panel.startRun(QStringLiteral("gui"), params.recipe, params.plan) > 0);
    QVERIFY(finished.wait(120000));
    QVERIFY2(finished.front().front().toBool(), qPrintable(finished.front().at(1).toString()));
    QVERIFY(panel.lastWarnings().isEmpty());
    const RunSummary& gui = panel.runs().front();
    QCOMPARE(qint64(gui.modelBytes), cli.value(u"model_bytes").toInteger());
    QCOMPARE(gui.bitsPerWeight, cli.value(u"bpw").toDouble());
    QCOMPARE(gui.linearBitsPerWeight, cli.value(u"linear_bpw").toDouble());
    QCOMPARE(gui.ppl, cliPpl.value(u"ppl").toDouble());
    QCOMPARE(gui.pplError, cliPpl.value(u"ppl_error").toDouble());
    QCOMPARE(gui.kldMean, cliKld.value(u"mean_kld").toDouble());
    QCOMPARE(gui.top1Percent, cliKld.value(u"same_top_percent").toDouble());
    QVERIFY(panel.baseline().has_value());
    QCOMPARE(panel.baseline()->ppl, cliKld.value(u"base_ppl").toDouble());
    // The GUI's checkpoint is the CLI's kind of folder: it reloads and has the same run.json numbers.
    QVERIFY(Model::open(gui.source)->isQuantized());
    QCOMPARE(
        readJson(QDir(gui.source).filePath(QStringLiteral("run.json"))).value(u"model_bytes").toInteger(),
        cli.value(u"model_bytes").toInteger());
}

void TestExperiment::warningsInsteadOfSilence()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
    QTemporaryDir tmp;
    const QString unwritable = folderUnderAFile(tmp);
    QVERIFY(!unwritable.isEmpty());
    const auto model = Model::open(modelPath);
    ExperimentParams params;
    params.model = model;
    params.recipe =
        Recipe::fromJson(R"({"version": 1, "name": "rtn4", "defaults": {"method": "rtn", "bits": 4}})",
                         QStringLiteral("<test>"));
    params.plan = params.recipe.resolve(*model);
    params.calibration.text = text; // the evaluation text: numbers look better than they are
    params.calibration.samples = 32;
    params.calibration.seqLen = 64;
    params.name = QStringLiteral("rtn4");
    params.evaluation.textPath = text;
    params.evaluation.perplexity.ctx = 128;
    params.evaluation.perplexity.maxChunks = 2;
    params.outDir = unwritable;
    QVERIFY(experimentPreflightWarnings(params).join(u'\n').contains(u"calibration-is-evaluation"));

    const ExperimentResult r = runExperiment(params);
    const QString all = r.warnings.join(u'\n');
    QVERIFY2(all.contains(u"calibration-is-evaluation"), qPrintable(all));
    QVERIFY2(all.contains(u"checkpoint-not-saved"), qPrintable(all));
    QVERIFY(r.checkpoint.isEmpty());
    QVERIFY(!r.checkpointError.isEmpty());
    QVERIFY(r.summary.hasPerplexity()); // the measurements stand
    QCOMPARE(r.summary.source, params.name);
    QVERIFY(r.quantize.warnings.join(u'\n').contains(u"calibration-is-evaluation")); // in the CLI's JSON too

    // The Runs page reports them with the finished run instead of dropping them.
    RunsPanel panel;
    panel.setModel(model);
    panel.setCacheDirectory(tmp.filePath(QStringLiteral("cache")));
    panel.findChild<QLineEdit*>(QStringLiteral("runEvalText"))->setText(text);
    panel.findChild<QLineEdit*>(QStringLiteral("runCalibText"))->setText(text);
    panel.findChild<QSpinBox*>(QStringLiteral("runChunks"))->setValue(2);
    QSignalSpy finished(&panel, &RunsPanel::runFinished);
    QVERIFY(panel.startRun(QStringLiteral("same text"), params.recipe, params.plan) > 0);
    QVERIFY(finished.wait(120000));
    QVERIFY(finished.front().front().toBool());
    QVERIFY(finished.front().at(1).toString().contains(u"calibration-is-evaluation"));
    QVERIFY(panel.lastWarnings().join(u'\n').contains(u"calibration-is-evaluation"));
}

// quantize --dry-run: block 0 is run for real (calibration and quantization, then the pipeline stops), the
// whole run extrapolated from it, memory estimated; nothing is written (no --out needed). How close the
// extrapolation comes is a measurement (docs/benchmarks.md), not a timed test.
void TestExperiment::dryRunMeasuresBlockZero()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(calib, "kjv/train.txt");
    QTemporaryDir tmp;
    const QString recipePath = writeRecipe(tmp.path(), calib);
    const auto model = Model::open(modelPath);
    const ExperimentParams params = cliLikeParams(model, recipePath, QString());
    const auto tokenizer = Tokenizer::load(modelPath);
    int reports = 0;
    JobContext job;
    job.progress = [&](const JobProgress&) { ++reports; };
    const QuantizeEstimate e =
        estimateQuantization(model, params.plan, params.calibration, tokenizer.get(), job);
    QCOMPARE(e.blocks, model->config().numLayers);
    QVERIFY(!e.measuredWholeRun);
    QVERIFY(reports > 7);
    QVERIFY(e.blockSeconds > 0 && e.blockCalibration > 0 && e.blockCalibration < e.blockSeconds);
    QVERIFY(e.memory.total() > 0);
    QCOMPARE(e.totalSeconds(), e.setupSeconds + e.blockSeconds * e.blocks + e.headSeconds);
    const auto r =
        test::runCli(QStringList{QStringLiteral("quantize"), modelPath, QStringLiteral("--recipe"),
                                 recipePath, QStringLiteral("--dry-run"), QStringLiteral("--json")});
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const QJsonObject j = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(j.value(u"blocks").toInt(), model->config().numLayers);
    QVERIFY(j.value(u"total_seconds").toDouble() > 0 && j.value(u"memory_bytes").toDouble() > 0);
    const auto usage = test::runCli(QStringList{QStringLiteral("quantize"), modelPath});
    QVERIFY(usage.exitCode != 0 && usage.err.contains("--out DIR is required"));
}

void TestExperiment::cliFailsWhenItCannotSave()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(text, "wikitext-2-raw/wiki.test.raw");
    QTemporaryDir tmp;
    const QString unwritable = folderUnderAFile(tmp);
    QVERIFY(!unwritable.isEmpty());
    // The CLI's whole purpose is the folder: a save that fails is still an error (exit 1).
    const auto r =
        test::runCli({QStringLiteral("quantize"), modelPath, QStringLiteral("--bits"), QStringLiteral("4"),
                      QStringLiteral("--calib"), text, QStringLiteral("--samples"), QStringLiteral("32"),
                      QStringLiteral("--seq-len"), QStringLiteral("64"), QStringLiteral("--eval"), text,
                      QStringLiteral("--ctx"), QStringLiteral("128"), QStringLiteral("--chunks"),
                      QStringLiteral("2"), QStringLiteral("--out"), unwritable});
    QCOMPARE(r.exitCode, 1);
    QVERIFY2(r.err.contains("warning: calibration-is-evaluation"), r.err.constData());
    QVERIFY2(r.err.contains("a-file"), r.err.constData());
    QVERIFY(!r.out.contains("saved to"));
}

void TestExperiment::runnerDeliversProgressAndValue()
{
    QObject guard;
    QList<double> fractions;
    bool onUiThread = true;
    std::optional<JobOutcome<int>> outcome;
    JobOptions options;
    options.progress = [&](const JobProgress& p) {
        onUiThread = onUiThread && QThread::currentThread() == guard.thread();
        fractions << p.fraction;
    };
    const JobHandle job = runJob<int>(
        &guard,
        [](int& out, const JobContext& ctx) {
            for (int i = 1; i <= 4; ++i) {
                ctx.report(i / 4.0, QStringLiteral("counting"), QString::number(i));
                out = i;
            }
        },
        [&](const JobOutcome<int>& o) {
            onUiThread = onUiThread && QThread::currentThread() == guard.thread();
            outcome = o;
        },
        options);
    QVERIFY(job.isRunning());
    QTRY_VERIFY_WITH_TIMEOUT(outcome.has_value(), 10000);
    QVERIFY(!job.isRunning());
    QVERIFY(outcome->succeeded());
    QCOMPARE(outcome->value, 4);
    QCOMPARE(fractions, (QList<double>{0.25, 0.5, 0.75, 1.0})); // all of them, in order, before done
    QVERIFY(onUiThread);
}

void TestExperiment::runnerCancelAndFailureAreData()
{
    QObject guard;
    std::atomic<bool> started{false};
    std::optional<JobOutcome<int>> cancelled;
    const JobHandle job = runJob<int>(
        &guard,
        [&started](int& out, const JobContext& ctx) {
            started = true;
            for (out = 0;; ++out) { // until cancelled; `out` keeps how far it got
                ctx.checkCancelled();
                QThread::msleep(1);
            }
        },
        [&](const JobOutcome<int>& o) { cancelled = o; });
    QTRY_VERIFY_WITH_TIMEOUT(started, 10000);
    job.cancel();
    QTRY_VERIFY_WITH_TIMEOUT(cancelled.has_value(), 10000);
    QVERIFY(cancelled->cancelled);
    QVERIFY(cancelled->error.isEmpty());
    QVERIFY(!cancelled->succeeded());

    std::optional<JobOutcome<QString>> failed;
    runJob<QString>(
        &guard,
        [](QString& out, const JobContext&) {
            out = QStringLiteral("partial");
            throw Error(QStringLiteral("model.gguf: truncated"));
        },
        [&](const JobOutcome<QString>& o) { failed = o; });
    QTRY_VERIFY_WITH_TIMEOUT(failed.has_value(), 10000);
    QVERIFY(!failed->cancelled);
    QCOMPARE(failed->error, QStringLiteral("model.gguf: truncated"));
    QCOMPARE(failed->value, QStringLiteral("partial"));
}

void TestExperiment::runnerDropsOutcomeOfDeadGuard()
{
    auto* guard = new QObject;
    std::atomic<bool> release{false};
    bool progressed = false, done = false;
    JobOptions options;
    options.progress = [&progressed](const JobProgress&) { progressed = true; };
    const JobHandle job = runJob<int>(
        guard,
        [&release](int& out, const JobContext& ctx) {
            while (!release)
                QThread::msleep(1);
            ctx.report(1.0, QStringLiteral("late"));
            out = 1;
        },
        [&done](const JobOutcome<int>&) { done = true; }, options);
    delete guard; // the receiver dies while the job runs
    release = true;
    job.waitForFinished();
    QTest::qWait(100); // any queued delivery would run now
    QVERIFY(!progressed);
    QVERIFY(!done);
    QVERIFY(!job.isRunning());

    // discard(): the receiver lives, but this outcome is no longer wanted.
    QObject alive;
    std::atomic<bool> go{false};
    bool delivered = false;
    const JobHandle dropped = runJob<int>(
        &alive,
        [&go](int&, const JobContext&) {
            while (!go)
                QThread::msleep(1);
        },
        [&delivered](const JobOutcome<int>&) { delivered = true; });
    dropped.discard();
    go = true;
    dropped.waitForFinished();
    QTest::qWait(100);
    QVERIFY(!delivered);
    QVERIFY(!dropped.isRunning());
}

QTEST_MAIN(TestExperiment)
#include "tst_experiment.moc"
