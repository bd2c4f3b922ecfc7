// Write failures injected into every save (tests/faults/FaultFs.cpp): disk full (ENOSPC) and I/O
// errors (EIO) on the first byte, in the middle of the file, and on fsync. Each save fails with an
// error that says what went wrong, the previous file or folder stays byte for byte, and nothing
// partial is left beside it. The command-line saves run quantscope-cli with the library preloaded
// (LD_PRELOAD); the GUI's saves (session, run store) and the recipe file are called in process,
// where the library is linked ahead of libc and steered with qs_fault_configure().
#include "TestSupport.h"
#include "analysis/Sensitivity.h"
#include "analysis/SensitivityResult.h"
#include "checkpoint/GgufExport.h"
#include "checkpoint/GgufTypePolicy.h"
#include "jobs/Job.h"
#include "model/Model.h"
#include "recipe/Recipe.h"
#include "results/ExperimentJob.h"
#include "session/Session.h"
#include "store/RunStore.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>
#include <cerrno>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <thread>

extern "C" {
void qs_fault_configure(const char* match, int error, long long afterBytes, int syncFails);
long long qs_fault_failures();
}

using namespace qs;

namespace {

struct Fault
{
    const char* name;
    int error;
    long long after; ///< bytes let through before the first failure; -1: half the previous output
    bool sync;       ///< fail fsync/fdatasync instead of the writes
};

constexpr Fault kFaults[] = {{"ENOSPC at once", ENOSPC, 0, false},
                             {"ENOSPC mid-file", ENOSPC, -1, false},
                             {"EIO at once", EIO, 0, false},
                             {"EIO on fsync", EIO, 0, true}};

/// Every file under `dir` (hidden ones too) with a hash of its bytes: the state a failed save must
/// leave untouched.
std::map<QString, QByteArray> snapshot(const QString& dir)
{
    std::map<QString, QByteArray> files;
    QDirIterator it(dir, QDir::Files | QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        QByteArray hash = "dir";
        if (it.fileInfo().isFile()) {
            QFile f(path);
            if (f.open(QIODevice::ReadOnly))
                hash = QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
        }
        files.emplace(QDir(dir).relativeFilePath(path), hash);
    }
    return files;
}

/// The bytes of every file under `dir`.
long long totalBytes(const QString& dir)
{
    long long n = 0;
    QDirIterator it(dir, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        n += it.fileInfo().size();
    }
    return n;
}

QString describe(const std::map<QString, QByteArray>& before, const std::map<QString, QByteArray>& after)
{
    QStringList d;
    for (const auto& [name, hash] : after) {
        const auto it = before.find(name);
        if (it == before.end())
            d << u"new: " + name;
        else if (it->second != hash)
            d << u"changed: " + name;
    }
    for (const auto& [name, hash] : before) {
        if (!after.count(name))
            d << u"gone: " + name;
    }
    return d.join(u", ");
}

test::CliResult runCliWithFault(const QStringList& args, const QString& match, const Fault& fault,
                                long long after)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("LD_PRELOAD"), QStringLiteral(QS_FAULTFS_PATH));
    env.insert(QStringLiteral("QS_FAULT_MATCH"), match);
    env.insert(QStringLiteral("QS_FAULT_ERRNO"),
               fault.error == EIO ? QStringLiteral("EIO") : QStringLiteral("ENOSPC"));
    env.insert(QStringLiteral("QS_FAULT_AFTER"), QString::number(after));
    env.insert(QStringLiteral("QS_FAULT_SYNC"), fault.sync ? QStringLiteral("1") : QStringLiteral("0"));
    // A sanitized build: the preloaded library comes before the sanitizer runtime, which is fine here.
    env.insert(QStringLiteral("ASAN_OPTIONS"),
               env.value(QStringLiteral("ASAN_OPTIONS")) + QStringLiteral(":verify_asan_link_order=0"));
    return test::runCli(args, env);
}

} // namespace

class TestFaults : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void commandLineSaves_data();
    void commandLineSaves();
    void inProcessSaves_data();
    void inProcessSaves();
    void randomCancels_data();
    void randomCancels();
    void cleanup() { qs_fault_configure(nullptr, 0, 0, 0); }

private:
    QString m_model, m_text;
    QTemporaryDir m_work;
    QStringList m_hfRuns; ///< kjv7M quantized RTN w4 and w8 g32
};

void TestFaults::initTestCase()
{
    QVERIFY(m_work.isValid());
    m_model = test::dataPath(QStringLiteral("stories260K"));
    m_text = test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
    if (m_model.isEmpty() || m_text.isEmpty())
        QSKIP("stories260K or wikitext-2-raw not found");
    // export-hf needs rows that pack by 32, which stories260K's 172-wide MLP does not have.
    const QString kjv = test::dataPath(QStringLiteral("kjv7M"));
    if (kjv.isEmpty())
        QSKIP("kjv7M not found");
    for (const char* bits : {"4", "8"}) {
        const QString run = m_work.filePath(QStringLiteral("hf-run-w%1").arg(QLatin1String(bits)));
        m_hfRuns << run;
        const test::CliResult r =
            test::runCli({QStringLiteral("quantize"), kjv, QStringLiteral("--method"), QStringLiteral("rtn"),
                          QStringLiteral("--bits"), QLatin1String(bits), QStringLiteral("--group"),
                          QStringLiteral("32"), QStringLiteral("--out"), run});
        QVERIFY2(r.exitCode == 0, r.err.constData());
    }
}

void TestFaults::commandLineSaves_data()
{
    QTest::addColumn<QStringList>("oldArgs");
    QTest::addColumn<QStringList>("newArgs");
    QTest::addColumn<QString>("output"); // relative to the case's folder
    QTest::addColumn<int>("fault");      // index into kFaults
    // A checkpoint rewritten after every unit may be left at any complete state: the old one or
    // one of the new run's; what it must never be is a file that does not load.
    QTest::addColumn<bool>("checkpointed");
    if (m_model.isEmpty())
        QSKIP("no data");
    const QString model = m_model, text = m_text;
    auto add = [](const char* what, const QStringList& oldArgs, const QStringList& newArgs,
                  const char* output) {
        for (int f = 0; f < int(std::size(kFaults)); ++f)
            QTest::addRow("%s, %s", what, kFaults[f].name)
                << oldArgs << newArgs << QString::fromLatin1(output) << f
                << (QByteArrayView(what) == "sweep checkpoint");
    };
    const QString out = QStringLiteral("@OUT@");
    add("run checkpoint",
        {QStringLiteral("quantize"), model, QStringLiteral("--method"), QStringLiteral("rtn"),
         QStringLiteral("--bits"), QStringLiteral("4"), QStringLiteral("--out"), out},
        {QStringLiteral("quantize"), model, QStringLiteral("--method"), QStringLiteral("rtn"),
         QStringLiteral("--bits"), QStringLiteral("8"), QStringLiteral("--out"), out},
        "run");
    add("GGUF export",
        {QStringLiteral("export-gguf"), model, QStringLiteral("--preset"), QStringLiteral("F16"),
         QStringLiteral("--out"), out},
        {QStringLiteral("export-gguf"), model, QStringLiteral("--preset"), QStringLiteral("Q4_K_M"),
         QStringLiteral("--out"), out},
        "model.gguf");
    add("HF export",
        {QStringLiteral("export-hf"), m_hfRuns[0], QStringLiteral("--format"), QStringLiteral("gptq"),
         QStringLiteral("--out"), out},
        {QStringLiteral("export-hf"), m_hfRuns[1], QStringLiteral("--format"), QStringLiteral("gptq"),
         QStringLiteral("--out"), out},
        "hf");
    const QStringList sweep{QStringLiteral("sensitivity"), model,
                            QStringLiteral("--eval"),      text,
                            QStringLiteral("--ctx"),       QStringLiteral("64"),
                            QStringLiteral("--chunks"),    QStringLiteral("2"),
                            QStringLiteral("--layers"),    QStringLiteral("layers\\.0\\.")};
    add("sweep checkpoint",
        sweep + QStringList{QStringLiteral("--schemes"), QStringLiteral("rtn-w4-g32"),
                            QStringLiteral("--out"), out},
        sweep + QStringList{QStringLiteral("--schemes"), QStringLiteral("rtn-w3-g32"),
                            QStringLiteral("--out"), out},
        "sweep.json");
    const QStringList imatrix{QStringLiteral("imatrix"), model,
                              QStringLiteral("--text"),  text,
                              QStringLiteral("--ctx"),   QStringLiteral("64")};
    add("imatrix",
        imatrix + QStringList{QStringLiteral("--chunks"), QStringLiteral("2"), QStringLiteral("--out"), out},
        imatrix + QStringList{QStringLiteral("--chunks"), QStringLiteral("3"), QStringLiteral("--out"), out},
        "imatrix.dat");
    const QStringList base{QStringLiteral("eval"),   model,
                           QStringLiteral("--text"), text,
                           QStringLiteral("--ctx"),  QStringLiteral("64")};
    add("KLD base",
        base +
            QStringList{QStringLiteral("--chunks"), QStringLiteral("2"), QStringLiteral("--save-base"), out},
        base +
            QStringList{QStringLiteral("--chunks"), QStringLiteral("3"), QStringLiteral("--save-base"), out},
        "base.qskld");
}

void TestFaults::commandLineSaves()
{
    QFETCH(QStringList, oldArgs);
    QFETCH(QStringList, newArgs);
    QFETCH(QString, output);
    QFETCH(int, fault);
    QFETCH(bool, checkpointed);
    // Each case in a folder of its own, holding only the output: the fault hits only its writes.
    const QString dir =
        m_work.filePath(QString::fromLatin1(QTest::currentDataTag()).replace(u' ', u'_').remove(u','));
    QVERIFY(QDir().mkpath(dir));
    const QString out = QDir(dir).filePath(output);
    oldArgs.replaceInStrings(QStringLiteral("@OUT@"), out);
    newArgs.replaceInStrings(QStringLiteral("@OUT@"), out);
    const test::CliResult first = test::runCli(oldArgs);
    QVERIFY2(first.exitCode == 0, first.err.constData());
    const auto before = snapshot(dir);
    QVERIFY(!before.empty());

    const long long after = kFaults[fault].after >= 0 ? kFaults[fault].after : totalBytes(dir) / 2;
    const test::CliResult r = runCliWithFault(newArgs, dir, kFaults[fault], after);
    QVERIFY2(r.exitCode != 0,
             qPrintable(u"the save succeeded under the fault: " + QString::fromLocal8Bit(r.out)));
    QVERIFY2(r.err.contains("qs-faultfs: injected"), r.err.constData()); // the fault was hit
    const QString problem =
        kFaults[fault].error == EIO ? QStringLiteral("Input/output error") : QStringLiteral("No space left");
    QVERIFY2(QString::fromLocal8Bit(r.err).contains(problem), r.err.constData());
    const auto now = snapshot(dir);
    if (checkpointed && now != before) {
        QCOMPARE(now.size(), before.size()); // the same file, nothing beside it
        QVERIFY2(test::errorOf([&] { SensitivityResult::load(out); }).isEmpty(),
                 "the checkpoint does not load");
        return;
    }
    QVERIFY2(now == before, qPrintable(describe(before, now)));
}

void TestFaults::inProcessSaves_data()
{
    QTest::addColumn<int>("target"); // 0 recipe, 1 session, 2 run store
    QTest::addColumn<int>("fault");
    const char* targets[] = {"recipe", "session", "run store"};
    for (int t = 0; t < 3; ++t) {
        for (int f = 0; f < int(std::size(kFaults)); ++f)
            QTest::addRow("%s, %s", targets[t], kFaults[f].name) << t << f;
    }
}

void TestFaults::inProcessSaves()
{
    QFETCH(int, target);
    QFETCH(int, fault);
    const Fault& f = kFaults[fault];
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    Recipe recipe;
    recipe.name = QStringLiteral("old");
    recipe.defaults.bits = 4;
    RunSummary run;
    run.name = QStringLiteral("a run");
    run.modelBytes = 1000;
    const QString modelPath = dir.filePath(QStringLiteral("model"));
    QVERIFY(test::writeFile(QDir(modelPath).filePath(QStringLiteral("config.json")), "{}"));
    const ModelIdentity model = ModelIdentity::of(modelPath);
    RunStore store;
    store.setFolder(dir.filePath(QStringLiteral("runs")));
    const QString recipeFile = dir.filePath(QStringLiteral("r.json")),
                  sessionFile = dir.filePath(QStringLiteral("s.qssession"));

    std::function<void(int)> save; // writes version n
    switch (target) {
    case 0:
        save = [&](int n) {
            recipe.defaults.bits = 2 + n;
            recipe.saveFile(recipeFile);
        };
        break;
    case 1:
        save = [&](int n) {
            Session s;
            s.modelPath = modelPath;
            s.page = QStringLiteral("page%1").arg(n);
            s.save(sessionFile);
        };
        break;
    default:
        save = [&](int n) {
            StoredRuns runs;
            for (int i = 0; i <= n; ++i) {
                runs.runs.push_back({run, recipe, true});
                runs.runs.back().summary.name = QStringLiteral("run %1").arg(i);
            }
            store.save(model, runs);
        };
    }
    // The results database (SQLite): what a reader finds is the state to keep — its WAL may hold
    // the frames of a failed transaction, which no reader ever sees.
    auto kept = [&]() -> QString {
        RunStore fresh;
        fresh.setFolder(dir.filePath(QStringLiteral("runs")));
        QStringList names;
        for (const SessionRun& r : fresh.load(model).runs)
            names << r.summary.name;
        return names.join(u',') + u'|' + fresh.database().integrityCheck();
    };
    save(1);
    const auto before = snapshot(dir.path());
    const QString keptBefore = target == 2 ? kept() : QString();
    // Mid-file for the database: the save's transaction fails after its first pages reached the WAL.
    const long long midFile = target == 2 ? 5000 : totalBytes(dir.path()) / 2;
    qs_fault_configure(qPrintable(dir.path()), f.error, f.after >= 0 ? f.after : midFile, f.sync);
    const QString error = test::errorOf([&] { save(2); });
    const long long failures = qs_fault_failures();
    qs_fault_configure(nullptr, 0, 0, 0);
    QVERIFY2(failures > 0, "the fault was not hit");
    QVERIFY2(!error.isEmpty(), "the save succeeded under the fault");
    if (target == 2) {
        // SQLite names the failure in its own words ("database or disk is full", "disk I/O error").
        QVERIFY2(error.contains(u"not recorded") &&
                     (error.contains(u"disk is full") || error.contains(u"disk I/O error")),
                 qPrintable(error));
        QCOMPARE(kept(), keptBefore);
        QVERIFY(keptBefore.endsWith(u"|ok"));
        save(3); // and the next save, with the disk back, works
        QCOMPARE(kept(), QStringLiteral("run 0,run 1,run 2,run 3|ok"));
        return;
    }
    QVERIFY2(error.contains(f.error == EIO ? QStringLiteral("Input/output error")
                                           : QStringLiteral("No space left")),
             qPrintable(error));
    const auto after = snapshot(dir.path());
    QVERIFY2(after == before, qPrintable(describe(before, after)));
    save(3); // and the next save, with the disk back, works
    QVERIFY(snapshot(dir.path()) != before);
}

void TestFaults::randomCancels_data()
{
    QTest::addColumn<int>("job"); // 0 experiment (quantize + evaluate + save), 1 sweep, 2 GGUF export
    QTest::newRow("experiment") << 0;
    QTest::newRow("sweep") << 1;
    QTest::newRow("GGUF export") << 2;
}

void TestFaults::randomCancels()
{
    // Cancels at random moments of a job's run (its measured duration), 20 per job: each run ends
    // finished or Cancelled — no other exception, no crash (nor a leak, under the sanitizers) — and
    // leaves the output complete or absent, nothing partial beside it.
    QFETCH(int, job);
    if (m_model.isEmpty())
        QSKIP("no data");
    const auto model = Model::open(m_model);
    const auto tokenizer = Tokenizer::load(m_model);
    QTemporaryDir dir, texts;
    QVERIFY(dir.isValid() && texts.isValid());
    const QString out = dir.filePath(job == 2 ? QStringLiteral("model.gguf") : QStringLiteral("out"));
    // The first 40 kB of the text: enough for the chunks below, and quick to tokenize (under the
    // sanitizers too).
    QFile full(m_text);
    QVERIFY(full.open(QIODevice::ReadOnly));
    const QString text = texts.filePath(QStringLiteral("head.txt"));
    QVERIFY(test::writeFile(text, full.read(40000)));
    std::function<void(const JobContext&)> run;
    if (job == 0) {
        run = [&](const JobContext& ctx) {
            ExperimentParams p;
            p.model = model;
            p.recipe.defaults.method = QuantMethod::Gptq;
            p.recipe.defaults.bits = 4;
            p.recipe.defaults.groupSize = 32;
            p.plan = p.recipe.resolve(*model);
            p.calibration.text = text;
            p.calibration.samples = 16;
            p.calibration.seqLen = 64;
            p.name = QStringLiteral("cancelled");
            p.evaluation.textPath = text;
            p.evaluation.perplexity.ctx = 64;
            p.evaluation.perplexity.maxChunks = 4;
            p.evaluation.speedPrefillTokens = 0;
            p.outDir = out;
            runExperiment(p, ctx);
        };
    } else if (job == 1) {
        run = [&](const JobContext& ctx) {
            SensitivitySettings s;
            s.schemes = parseSchemes(QStringLiteral("rtn-w3-ch,rtn-w4-ch"));
            s.layerFilter = QStringLiteral("layers\\.[01]\\.");
            s.evalText = text;
            s.eval.ctx = 64;
            s.eval.maxChunks = 4;
            runSensitivity(model, *tokenizer, s, nullptr, ctx,
                           [&](const SensitivityResult& r) { r.save(out); });
        };
    } else {
        run = [&](const JobContext& ctx) {
            exportGguf(*model, ggufPreset(*model, QStringLiteral("Q4_K_M")), out, nullptr, ctx);
        };
    }
    // The shortest of three runs (the first is slowed by cold caches): a GGUF export of the tiny
    // model takes a few ms, so cancels drawn over a cold run's time mostly came after the end.
    qint64 fullMs = std::numeric_limits<qint64>::max();
    for (int i = 0; i < 3; ++i) {
        QElapsedTimer timer;
        timer.start();
        run(JobContext{});
        fullMs = std::min<qint64>(fullMs, std::max<qint64>(timer.elapsed(), 1));
    }
    QRandomGenerator rng(1234 + quint32(job));
    int finished = 0, cancelled = 0;
    for (int trial = 0; trial < 20; ++trial) {
        JobContext ctx;
        const auto token = ctx.cancel;
        // Trial 0 is cancelled before it starts (a job cancelled while queued); the rest at a
        // random moment of the first three quarters of a run.
        const int delayMs = trial == 0 ? -1 : int(rng.bounded(int(std::max<qint64>(1, fullMs * 3 / 4))));
        if (delayMs < 0)
            token->cancel();
        std::thread canceller([token, delayMs] {
            if (delayMs < 0)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
            token->cancel();
        });
        try {
            run(ctx);
            ++finished;
        } catch (const Cancelled&) {
            ++cancelled;
        } catch (const std::exception& e) {
            canceller.join();
            QFAIL(qPrintable(QStringLiteral("trial %1 (cancel after %2 ms): %3")
                                 .arg(trial)
                                 .arg(delayMs)
                                 .arg(QString::fromUtf8(e.what()))));
        }
        canceller.join();
        // Nothing partial: only the output itself (complete, from this or an earlier trial).
        const QStringList left =
            QDir(dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
        QVERIFY2(left.isEmpty() || left == QStringList{QFileInfo(out).fileName()},
                 qPrintable(left.join(u", ")));
        if (!left.isEmpty() && job != 1)
            QVERIFY2(test::errorOf([&] { Model::open(out); }).isEmpty(), "the output does not open");
        if (!left.isEmpty() && job == 1)
            QVERIFY2(test::errorOf([&] { SensitivityResult::load(out); }).isEmpty(),
                     "the sweep does not load");
    }
    qInfo("%d trials finished, %d cancelled (a full run takes %lld ms)", finished, cancelled, fullMs);
    QVERIFY(cancelled > 0);
}

QTEST_GUILESS_MAIN(TestFaults)
#include "tst_faults.moc"
