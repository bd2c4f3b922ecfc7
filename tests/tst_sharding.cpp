// A sensitivity sweep split into shards and merged back (analysis/SweepShards.h), and the Slurm job
// array around it (analysis/SlurmArray.h): sharded then merged equals the unsharded sweep entry for
// entry, merge refuses shards that do not belong together (naming the file), the sbatch script carries
// the options, and submit/status/merge run against fake sbatch/squeue/sacct scripts (no Slurm needed).
#include "TestSupport.h"
#include "analysis/RunBatch.h"
#include "analysis/Sensitivity.h"
#include "analysis/SlurmArray.h"
#include "analysis/SweepShards.h"
#include "model/Model.h"
#include "store/ResultsDb.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

using namespace qs;

namespace {

/// A small sweep with calibration (so the output proxy samples rows): 6 units × 2 schemes.
SensitivitySettings smallSweep(const QString& evalText, const QString& calibText)
{
    SensitivitySettings s;
    s.schemes = parseSchemes(QStringLiteral("rtn-w3-ch,rtn-w4-g32"));
    s.layerFilter = QStringLiteral("layers\\.[0-2]\\.(self_attn\\.o_proj|mlp\\.down_proj)$");
    s.evalText = evalText;
    s.eval.ctx = 64;
    s.eval.maxChunks = 4;
    s.calibration.text = calibText;
    s.calibration.samples = 24; // 768 tokens: more than the 512 rows sampled, so the sampling draws
    s.calibration.seqLen = 32;
    return s;
}

/// Runs every shard of `count` and saves it under `dir`; the file paths.
QStringList runShards(const std::shared_ptr<const Model>& model, const Tokenizer& tok, SensitivitySettings s,
                      int count, const QString& dir, const QString& stem = QStringLiteral("shard"))
{
    QStringList paths;
    for (int i = 0; i < count; ++i) {
        s.shard = {i, count};
        const QString path =
            QDir(dir).filePath(QStringLiteral("%1-%2-of-%3.json").arg(stem).arg(i).arg(count));
        runSensitivity(model, tok, s).save(path);
        paths << path;
    }
    return paths;
}

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// A shard file with one field of its JSON changed.
void editShard(const QString& from, const QString& to, const std::function<void(QJsonObject&)>& edit)
{
    QJsonObject o = QJsonDocument::fromJson(readAll(from)).object();
    edit(o);
    QVERIFY(qs::test::writeFile(to, QJsonDocument(o).toJson()));
}

/// An executable shell script at `path`.
void writeScript(const QString& path, const QByteArray& body)
{
    QVERIFY(qs::test::writeFile(path, "#!/bin/sh\n" + body));
    QFile::setPermissions(path, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
}

/// A batch file of stories260K runs (one per scheme) evaluated on `text`.
QByteArray batchJson(const QString& model, const QString& text, const QStringList& schemes, int chunks = 4)
{
    QByteArray runs;
    for (const QString& s : schemes)
        runs += (runs.isEmpty() ? "" : ", ") + QByteArray("{\"name\": \"") + s.toUtf8() +
                "\", \"scheme\": \"" + s.toUtf8() + "\"}";
    return "{\"format\": \"quantscope-batch\", \"version\": 1, \"model\": \"" + model.toUtf8() +
           "\", \"eval\": {\"text\": \"" + text.toUtf8() +
           "\", \"ctx\": 64, \"chunks\": " + QByteArray::number(chunks) + "}, \"runs\": [" + runs + "]}";
}

double runJsonPpl(const QString& folder)
{
    return QJsonDocument::fromJson(readAll(QDir(folder).filePath(QStringLiteral("run.json"))))
        .object()
        .value(u"eval")[u"perplexity"][u"ppl"]
        .toDouble();
}

} // namespace

class TestSharding : public QObject
{
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::shared_ptr<const Model> m_model;
    std::unique_ptr<Tokenizer> m_tok;
    SensitivitySettings m_settings;
    SensitivityResult m_whole;
    QStringList m_two; ///< the 2 shard files of m_whole's sweep

private Q_SLOTS:
    void initTestCase()
    {
        setComputeThreads(2); // the same for every run here (results do not depend on it anyway)
        const QString dir = qs::test::dataPath(QStringLiteral("stories260K"));
        const QString text = qs::test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
        const QString calib = qs::test::dataPath(QStringLiteral("kjv/train.txt"));
        if (dir.isEmpty() || text.isEmpty() || calib.isEmpty())
            return; // the tests that need them skip
        m_model = Model::open(dir);
        m_tok = Tokenizer::load(dir);
        m_settings = smallSweep(text, calib);
        m_whole = runSensitivity(m_model, *m_tok, m_settings);
        m_two = runShards(m_model, *m_tok, m_settings, 2, m_tmp.path());
    }

    void parseShard()
    {
        QCOMPARE(parseSweepShard(QStringLiteral("0/1")), (SweepShard{0, 1}));
        QCOMPARE(parseSweepShard(QStringLiteral(" 2 / 3 ")), (SweepShard{2, 3}));
        for (const char* bad : {"3/3", "1", "-1/2", "a/b", "0/0", "1/2/3", ""})
            QS_VERIFY_ERROR(qs::test::errorOf([&] { parseSweepShard(QString::fromLatin1(bad)); }),
                            {QStringLiteral("0-based")});
        // Round-robin: every entry in exactly one shard.
        for (int n = 1; n <= 4; ++n)
            for (std::size_t k = 0; k < 11; ++k) {
                int owners = 0;
                for (int i = 0; i < n; ++i)
                    owners += SweepShard{i, n}.owns(k) ? 1 : 0;
                QCOMPARE(owners, 1);
            }
    }

    void shardedThenMergedEqualsWhole_data()
    {
        QTest::addColumn<int>("count");
        QTest::newRow("2 shards") << 2;
        QTest::newRow("3 shards") << 3;
        QTest::newRow("5 shards") << 5;
    }

    void shardedThenMergedEqualsWhole()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        QFETCH(int, count);
        QCOMPARE(int(m_whole.entries.size()), 12);
        QTemporaryDir tmp;
        const QStringList paths =
            count == 2 ? m_two : runShards(m_model, *m_tok, m_settings, count, tmp.path());
        for (const QString& p : paths) {
            const SensitivityResult s = SensitivityResult::load(p);
            QVERIFY(s.complete);
            QCOMPARE(s.sweepId, m_whole.sweepId);
            QCOMPARE(s.basePpl, m_whole.basePpl);
            QVERIFY(int(s.entries.size()) <= (12 + count - 1) / count);
        }
        QStringList notes;
        const SensitivityResult merged = mergeSweepShards(paths, &notes);
        QVERIFY2(notes.isEmpty(), qPrintable(notes.join(u'\n')));
        QVERIFY(merged.complete);
        QVERIFY(!merged.shard.sharded());
        // Every value of every entry identical (doubles compared exactly; timings left out).
        const QStringList diffs = compareSweepEntries(merged, m_whole);
        QVERIFY2(diffs.isEmpty(), qPrintable(diffs.join(u'\n')));
        for (std::size_t i = 0; i < merged.entries.size(); ++i) { // and in the same order
            QCOMPARE(merged.entries[i].unit, m_whole.entries[i].unit);
            QCOMPARE(merged.entries[i].scheme, m_whole.entries[i].scheme);
            QVERIFY(merged.entries[i].outputRelMse > 0); // the sampled-row proxy is really compared
        }
        // The merged file is a normal sweep: it saves, loads and compares again.
        const QString out = tmp.filePath(QStringLiteral("merged.json"));
        merged.save(out);
        const SensitivityResult back = SensitivityResult::load(out);
        QVERIFY(!back.shard.sharded());
        QVERIFY(compareSweepEntries(back, m_whole).isEmpty());
        QVERIFY(back.mismatch(m_whole).isEmpty());
    }

    void resumeIsPerShard()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        SensitivitySettings s = m_settings;
        s.shard = {1, 2};
        JobContext job;
        job.progress = [&](const JobProgress& p) {
            if (p.stage == u"measuring")
                job.cancel->cancel();
        };
        std::optional<SensitivityResult> saved;
        QVERIFY_THROWS_EXCEPTION(Cancelled, runSensitivity(m_model, *m_tok, s, nullptr, job,
                                                           [&](const SensitivityResult& r) { saved = r; }));
        QVERIFY(saved && !saved->complete);
        QCOMPARE(int(saved->entries.size()), 1);
        const QString path = m_tmp.filePath(QStringLiteral("partial.json"));
        saved->save(path);
        const SensitivityResult partial = SensitivityResult::load(path);
        QCOMPARE(partial.shard, (SweepShard{1, 2}));
        QCOMPARE(estimateSensitivityCost(*m_model, *m_tok, s, &partial).evaluations, 5);
        // Merging the unfinished shard names it.
        QS_VERIFY_ERROR(qs::test::errorOf([&] {
                            mergeSweepShards(QStringList{m_two[0], path});
                        }),
                        {path, QStringLiteral("incomplete (1 of 6 entries)"), QStringLiteral("--resume")});
        const SensitivityResult resumed = runSensitivity(m_model, *m_tok, s, &partial);
        QVERIFY(resumed.complete);
        QVERIFY(compareSweepEntries(resumed, SensitivityResult::load(m_two[1])).isEmpty());
        // Another shard (or the whole sweep) cannot resume it.
        s.shard = {0, 2};
        QS_VERIFY_ERROR(qs::test::errorOf([&] { runSensitivity(m_model, *m_tok, s, &partial); }),
                        {QStringLiteral("cannot resume"), QStringLiteral("shard 1/2")});
    }

    void mergeRefusesWhatDoesNotBelong()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        const QString a = m_two[0], b = m_two[1];
        auto mergeError = [](const QStringList& files) {
            return qs::test::errorOf([&] { mergeSweepShards(files); });
        };
        QS_VERIFY_ERROR(mergeError({a}), {QStringLiteral("shard 1 of 2 is missing"), a});
        QS_VERIFY_ERROR(mergeError({a, a, b}), {a, QStringLiteral("shard 0/2 again")});
        // Truncated: the file is named, the JSON error given.
        const QString cut = m_tmp.filePath(QStringLiteral("truncated.json"));
        const QByteArray bytes = readAll(b);
        QVERIFY(qs::test::writeFile(cut, bytes.left(bytes.size() / 2)));
        QS_VERIFY_ERROR(mergeError({a, cut}), {cut, QStringLiteral("not valid JSON")});
        // Another tool version.
        const QString version = m_tmp.filePath(QStringLiteral("version.json"));
        editShard(b, version, [](QJsonObject& o) {
            o.insert(QStringLiteral("sweep"),
                     QJsonObject{{QStringLiteral("id"), o.value(u"sweep")[u"id"]},
                                 {QStringLiteral("tool_version"), QStringLiteral("0.0.1")}});
        });
        QS_VERIFY_ERROR(mergeError({a, version}),
                        {version, QStringLiteral("0.0.1"), QStringLiteral("tool version")});
        // A whole sweep is not a shard.
        const QString whole = m_tmp.filePath(QStringLiteral("whole.json"));
        m_whole.save(whole);
        QS_VERIFY_ERROR(mergeError({a, whole}), {whole, QStringLiteral("not a shard")});
        // Entries tampered with: one that belongs to the other shard.
        const QString foreign = m_tmp.filePath(QStringLiteral("foreign-entry.json"));
        editShard(b, foreign, [&](QJsonObject& o) {
            QJsonArray entries = o.value(u"entries").toArray();
            entries.append(QJsonDocument::fromJson(readAll(a)).object().value(u"entries").toArray().first());
            o.insert(QStringLiteral("entries"), entries);
        });
        QS_VERIFY_ERROR(mergeError({a, foreign}), {foreign, QStringLiteral("does not belong to shard 1/2")});
    }

    void mergeRefusesAnotherSweep_data()
    {
        QTest::addColumn<QString>("change");
        QTest::newRow("other schemes") << QStringLiteral("schemes");
        QTest::newRow("other seed") << QStringLiteral("seed");
        QTest::newRow("other shard count") << QStringLiteral("count");
    }

    void mergeRefusesAnotherSweep()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        QFETCH(QString, change);
        SensitivitySettings other = m_settings;
        int count = 2;
        if (change == u"schemes")
            other.schemes = parseSchemes(QStringLiteral("rtn-w3-ch,rtn-w2-ch"));
        else if (change == u"seed")
            other.calibration.seed += 1;
        else
            count = 3;
        QTemporaryDir tmp;
        other.shard = {1, count};
        const QString path = tmp.filePath(QStringLiteral("other.json"));
        runSensitivity(m_model, *m_tok, other).save(path);
        const QString msg = qs::test::errorOf([&] { mergeSweepShards(QStringList{m_two[0], path}); });
        QS_VERIFY_ERROR(
            msg, {path, m_two[0],
                  change == u"count" ? QStringLiteral("one of 2 shards") : QStringLiteral("another sweep")});
        if (change == u"seed")
            QS_VERIFY_ERROR(msg, {QStringLiteral("calibration settings differ")});
    }

    void cliMergeWritesNothingOnError()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("s.json"));
        auto res = qs::test::runCli({QStringLiteral("merge"), m_two[0], QStringLiteral("--out"), out});
        QCOMPARE(res.exitCode, 1);
        QVERIFY2(res.err.contains("shard 1 of 2 is missing"), res.err.constData());
        QVERIFY(!QFileInfo::exists(out));
        const QString runs = tmp.filePath(QStringLiteral("runs"));
        res = qs::test::runCli({QStringLiteral("merge"), m_two[1], m_two[0], QStringLiteral("--out"), out,
                                QStringLiteral("--runs"), runs});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY2(res.out.contains("12 entries"), res.out.constData());
        QVERIFY(compareSweepEntries(SensitivityResult::load(out), m_whole).isEmpty());
        // The merged sweep is in the results database (a shard alone is refused there).
        {
            ResultsDb db(ResultsDb::fileIn(runs));
            QCOMPARE(int(db.sweeps().size()), 1);
            QVERIFY(compareSweepEntries(db.sweep(db.sweeps().front().id), m_whole).isEmpty());
            QVERIFY2(qs::test::errorOf([&] {
                         db.putSweep(SensitivityResult::load(m_two[0]), m_two[0]);
                     }).contains(u"merge its shards first"),
                     "a shard was recorded");
        }
        // A merged sweep feeds allocation as any sweep does.
        res = qs::test::runCli(
            {QStringLiteral("allocate"), out, QStringLiteral("--bpw"), QStringLiteral("3.5")});
        QVERIFY2(res.exitCode == 0, res.err.constData());
    }

    void cliDryRunPerShard()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        const auto res = qs::test::runCli(
            {QStringLiteral("sensitivity"), m_model->path(), QStringLiteral("--schemes"),
             QStringLiteral("rtn-w3-ch,rtn-w4-g32"), QStringLiteral("--eval"), m_settings.evalText,
             QStringLiteral("--ctx"), QStringLiteral("64"), QStringLiteral("--chunks"), QStringLiteral("4"),
             QStringLiteral("--layers"), m_settings.layerFilter, QStringLiteral("--dry-run"),
             QStringLiteral("--shards"), QStringLiteral("5")});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        // 12 entries dealt to 5 shards: 3, 3, 2, 2, 2.
        QVERIFY2(
            res.out.contains("shard 0/5: 6 units × 2 schemes in 5 shards, this one's share 3 evaluations"),
            res.out.constData());
        QVERIFY2(
            res.out.contains("shard 4/5: 6 units × 2 schemes in 5 shards, this one's share 2 evaluations"),
            res.out.constData());
        QVERIFY(res.out.contains("forward passes about"));
        QVERIFY(res.out.contains("in 5 shards at once"));
    }

    void sbatchScript()
    {
        SlurmArrayRequest r;
        r.shards = 3;
        r.cpus = 4;
        r.memory = QStringLiteral("8G");
        r.time = QStringLiteral("01:00:00");
        r.partition = QStringLiteral("short");
        r.workdir = QStringLiteral("/scratch/sweep-1");
        r.program = QStringLiteral("/opt/qs/bin/quantscope-cli");
        r.chdir = QStringLiteral("/home/me");
        r.command = {QStringLiteral("sensitivity"), QStringLiteral("/models/8b"), QStringLiteral("--schemes"),
                     QStringLiteral("gguf-q4_k,gguf-q6_k")};
        const QString s = slurmArrayScript(r);
        for (const char* line :
             {"#!/bin/bash\n", "#SBATCH --array=0-2\n", "#SBATCH --cpus-per-task=4\n", "#SBATCH --mem=8G\n",
              "#SBATCH --time=01:00:00\n", "#SBATCH --partition=short\n", "#SBATCH --chdir=/home/me\n",
              "#SBATCH --output=/scratch/sweep-1/logs/shard-%a.log\n",
              "exec /opt/qs/bin/quantscope-cli sensitivity /models/8b --schemes gguf-q4_k,gguf-q6_k --shard "
              "\"${shard}/3\" --out /scratch/sweep-1/shard-\"${shard}\".json --resume --threads "
              "\"${SLURM_CPUS_PER_TASK:-4}\"\n"})
            QVERIFY2(s.contains(QString::fromUtf8(line)),
                     qPrintable(QString::fromUtf8(line) + u"\nnot in\n" + s));
        r.partition.clear();
        r.memory.clear();
        QVERIFY(!slurmArrayScript(r).contains(u"--partition"));
        QVERIFY(!slurmArrayScript(r).contains(u"--mem"));
        // What the array sets per task cannot be in the command; only sweeps are sharded.
        r.command << QStringLiteral("--out=x.json");
        QS_VERIFY_ERROR(qs::test::errorOf([&] { slurmArrayScript(r); }),
                        {QStringLiteral("--out is set by the array")});
        // A batch array: the runs folder is shared, each task resumes from its manifest.
        r.command = {QStringLiteral("batch"), QStringLiteral("/b/batch.json")};
        QVERIFY2(slurmArrayScript(r).contains(
                     u"exec /opt/qs/bin/quantscope-cli batch /b/batch.json --shard \"${shard}/3\" --out "
                     u"/scratch/sweep-1/runs --threads"),
                 qPrintable(slurmArrayScript(r)));
        QCOMPARE(r.shardFile(2), QStringLiteral("/scratch/sweep-1/runs/batch-shard-2-of-3.json"));
        r.command = {QStringLiteral("quantize"), QStringLiteral("/models/8b")};
        QS_VERIFY_ERROR(qs::test::errorOf([&] { slurmArrayScript(r); }),
                        {QStringLiteral("sensitivity MODEL")});
        r.command = {QStringLiteral("sensitivity")};
        r.workdir = QStringLiteral("relative/dir");
        QS_VERIFY_ERROR(qs::test::errorOf([&] { slurmArrayScript(r); }), {QStringLiteral("absolute")});
        r.workdir = QStringLiteral("/scratch/sweep one"); // #SBATCH lines are split at spaces
        QS_VERIFY_ERROR(qs::test::errorOf([&] { slurmArrayScript(r); }), {QStringLiteral("space")});
    }

    void slurmStateLines()
    {
        std::vector<QString> states;
        parseSlurmStates(QStringLiteral("77_0|COMPLETED\n77_0.batch|COMPLETED\n77_[2-3%1]|PENDING\n"
                                        "78_1|FAILED\n77_1|CANCELLED by 0\n77_9|RUNNING\n"),
                         QStringLiteral("77"), 4, states);
        QCOMPARE(states, (std::vector<QString>{QStringLiteral("COMPLETED"), QStringLiteral("CANCELLED"),
                                               QStringLiteral("PENDING"), QStringLiteral("PENDING")}));
    }

    void submitStatusMergeWithFakeSlurm()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        QTemporaryDir tmp;
        const QString bin = tmp.filePath(QStringLiteral("bin")), work = tmp.filePath(QStringLiteral("work"));
        QVERIFY(QDir().mkpath(bin));
        const QByteArray log = QFile::encodeName(tmp.filePath(QStringLiteral("calls.log")));
        writeScript(bin + QStringLiteral("/sbatch"),
                    "echo \"sbatch $*\" >> '" + log + "'\necho '4242;cluster'\n");
        writeScript(bin + QStringLiteral("/squeue"),
                    "echo \"squeue $*\" >> '" + log + "'\nprintf '4242_0|RUNNING\\n4242_1|PENDING\\n'\n");
        writeScript(bin + QStringLiteral("/sacct"),
                    "echo 'sacct: error: Slurm accounting storage is disabled' >&2\nexit 1\n");
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        const QString path = env.value(QStringLiteral("PATH"));
        const QStringList submit{QStringLiteral("slurm"),
                                 QStringLiteral("submit"),
                                 QStringLiteral("--shards"),
                                 QStringLiteral("2"),
                                 QStringLiteral("--cpus"),
                                 QStringLiteral("2"),
                                 QStringLiteral("--mem"),
                                 QStringLiteral("1G"),
                                 QStringLiteral("--workdir"),
                                 work,
                                 QStringLiteral("--"),
                                 QStringLiteral("sensitivity"),
                                 m_model->path(),
                                 QStringLiteral("--schemes"),
                                 QStringLiteral("rtn-w3-ch,rtn-w4-g32"),
                                 QStringLiteral("--eval"),
                                 m_settings.evalText};
        // Without Slurm on PATH: a clear error, nothing recorded.
        env.insert(QStringLiteral("PATH"), tmp.filePath(QStringLiteral("empty")));
        auto res = qs::test::runCli(submit, env);
        QCOMPARE(res.exitCode, 1);
        QVERIFY2(res.err.contains("sbatch is not on PATH"), res.err.constData());
        QVERIFY(!QFileInfo::exists(slurmManifestPath(work)));
        QVERIFY(QDir(work).removeRecursively());

        env.insert(QStringLiteral("PATH"), bin + u':' + path);
        res = qs::test::runCli(submit, env);
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY2(res.out.contains("submitted job array 4242 (2 tasks)"), res.out.constData());
        const SlurmSubmission sub = SlurmSubmission::load(work);
        QCOMPARE(sub.jobId, QStringLiteral("4242"));
        QCOMPARE(sub.shardFiles(), (QStringList{slurmShardPath(work, 0), slurmShardPath(work, 1)}));
        QVERIFY(readAll(sub.scriptPath).contains("#SBATCH --array=0-1\n"));
        QVERIFY(readAll(QString::fromLocal8Bit(log))
                    .contains(QByteArray("sbatch --parsable " + QFile::encodeName(sub.scriptPath))));
        // A second submit into the same folder is refused.
        res = qs::test::runCli(submit, env);
        QCOMPARE(res.exitCode, 1);
        QVERIFY2(res.err.contains("already holds a submitted array"), res.err.constData());

        res = qs::test::runCli({QStringLiteral("slurm"), QStringLiteral("status"), work}, env);
        QCOMPARE(res.exitCode, 3); // not done
        QVERIFY2(res.out.contains("task   0  RUNNING      shard-0.json: missing"), res.out.constData());
        QVERIFY2(res.out.contains("task   1  PENDING      shard-1.json: missing"), res.out.constData());
        QVERIFY2(res.err.contains("accounting storage is disabled"), res.err.constData());
        QVERIFY(readAll(QString::fromLocal8Bit(log)).contains("squeue -h -r -j 4242"));

        // The tasks "finish": their shard files appear; then status is done and merge takes the folder.
        QVERIFY(QFile::copy(m_two[0], slurmShardPath(work, 0)));
        QVERIFY(qs::test::writeFile(slurmShardPath(work, 1), readAll(m_two[1]).left(100)));
        res = qs::test::runCli({QStringLiteral("slurm"), QStringLiteral("status"), work}, env);
        QCOMPARE(res.exitCode, 3);
        QVERIFY2(res.out.contains("shard-0.json: complete"), res.out.constData());
        QVERIFY2(res.out.contains(QByteArray("shard-1.json: " + QFile::encodeName(slurmShardPath(work, 1)) +
                                             ": not valid JSON")),
                 res.out.constData());
        res = qs::test::runCli({QStringLiteral("slurm"), QStringLiteral("merge"), work}, env);
        QCOMPARE(res.exitCode, 1);
        QVERIFY2(res.err.contains("shard-1.json: not valid JSON"), res.err.constData());
        QVERIFY(!QFileInfo::exists(QDir(work).filePath(QStringLiteral("merged.json"))));
        QVERIFY(QFile::remove(slurmShardPath(work, 1)));
        QVERIFY(QFile::copy(m_two[1], slurmShardPath(work, 1)));
        res = qs::test::runCli({QStringLiteral("slurm"), QStringLiteral("status"), work}, env);
        QVERIFY2(res.exitCode == 0, res.out.constData());
        res = qs::test::runCli({QStringLiteral("slurm"), QStringLiteral("merge"), work}, env);
        QVERIFY2(res.exitCode == 0, res.err.constData());
        const SensitivityResult merged =
            SensitivityResult::load(QDir(work).filePath(QStringLiteral("merged.json")));
        QVERIFY(compareSweepEntries(merged, m_whole).isEmpty());
    }

    void batchShardsEqualWholeBatch()
    {
        if (!m_model)
            QSKIP("needs stories260K, wikitext-2-raw and kjv in the shared data");
        QTemporaryDir tmp;
        const QString batch = tmp.filePath(QStringLiteral("batch.json"));
        const QStringList schemes{QStringLiteral("rtn-w4-g32"), QStringLiteral("rtn-w8-ch"),
                                  QStringLiteral("rtn-w3-ch")};
        QVERIFY(qs::test::writeFile(batch, batchJson(m_model->path(), m_settings.evalText, schemes)));
        const QString out = tmp.filePath(QStringLiteral("out")),
                      whole = tmp.filePath(QStringLiteral("whole"));
        auto res = qs::test::runCli({QStringLiteral("batch"), batch, QStringLiteral("--dry-run"),
                                     QStringLiteral("--shards"), QStringLiteral("2")});
        QVERIFY2(res.out.contains("shard 0/2: 2 runs: rtn-w4-g32 (rtn-w4-g32), rtn-w3-ch (rtn-w3-ch)"),
                 res.out.constData());
        QVERIFY2(res.out.contains("shard 1/2: 1 runs: rtn-w8-ch"), res.out.constData());
        for (const char* shard : {"1/2", "0/2"}) {
            res = qs::test::runCli({QStringLiteral("batch"), batch, QStringLiteral("--shard"),
                                    QString::fromLatin1(shard), QStringLiteral("--out"), out});
            QVERIFY2(res.exitCode == 0, res.err.constData());
        }
        res = qs::test::runCli({QStringLiteral("batch"), batch, QStringLiteral("--out"), whole});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        // Missing a shard: named, nothing written.
        const QString merged = tmp.filePath(QStringLiteral("merged.json"));
        const QString m0 = batchManifestPath(out, {0, 2}), m1 = batchManifestPath(out, {1, 2});
        res = qs::test::runCli({QStringLiteral("merge"), m1, QStringLiteral("--out"), merged});
        QCOMPARE(res.exitCode, 1);
        QVERIFY2(res.err.contains("shard 0 of 2 is missing"), res.err.constData());
        QVERIFY(!QFileInfo::exists(merged));
        const QString store = tmp.filePath(QStringLiteral("runs"));
        res = qs::test::runCli({QStringLiteral("merge"), m1, m0, QStringLiteral("--out"), merged,
                                QStringLiteral("--runs"), store});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QCOMPARE(int(ResultsDb(ResultsDb::fileIn(store)).runs().size()), 3); // merge records the runs
        const std::vector<BatchRunRecord> runs = mergeBatchShards({m0, m1});
        QCOMPARE(int(runs.size()), 3);
        for (int k = 0; k < 3; ++k) { // batch order, each run's numbers those of the unsharded batch
            QCOMPARE(runs[std::size_t(k)].name, schemes[k]);
            QVERIFY(runs[std::size_t(k)].ppl > 1);
            QCOMPARE(runs[std::size_t(k)].ppl, runJsonPpl(QDir(out).filePath(schemes[k])));
            QCOMPARE(runs[std::size_t(k)].ppl, runJsonPpl(QDir(whole).filePath(schemes[k])));
        }
        QVERIFY(runs[1].ppl < runs[2].ppl); // 8-bit beats 3-bit: the runs are really different
        // Running a shard again keeps its finished runs.
        const QDateTime before =
            QFileInfo(QDir(out).filePath(QStringLiteral("rtn-w8-ch/run.json"))).lastModified();
        res = qs::test::runCli({QStringLiteral("batch"), batch, QStringLiteral("--shard"),
                                QStringLiteral("1/2"), QStringLiteral("--out"), out});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QCOMPARE(QFileInfo(QDir(out).filePath(QStringLiteral("rtn-w8-ch/run.json"))).lastModified(), before);

        // A manifest of another batch (other chunks), a truncated one, a failed run: named.
        const QString other = tmp.filePath(QStringLiteral("other.json")),
                      otherOut = tmp.filePath(QStringLiteral("o"));
        QVERIFY(qs::test::writeFile(other, batchJson(m_model->path(), m_settings.evalText, schemes, 3)));
        res = qs::test::runCli({QStringLiteral("batch"), other, QStringLiteral("--shard"),
                                QStringLiteral("1/2"), QStringLiteral("--out"), otherOut});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        const QString o1 = batchManifestPath(otherOut, {1, 2});
        QS_VERIFY_ERROR(qs::test::errorOf([&] {
                            mergeBatchShards({m0, o1});
                        }),
                        {o1, QStringLiteral("another batch")});
        const QString cut = tmp.filePath(QStringLiteral("cut.json"));
        QVERIFY(qs::test::writeFile(cut, readAll(m1).left(50)));
        QS_VERIFY_ERROR(qs::test::errorOf([&] {
                            mergeBatchShards({m0, cut});
                        }),
                        {cut, QStringLiteral("not valid JSON")});
        QS_VERIFY_ERROR(qs::test::errorOf([&] {
                            mergeBatchShards({m0, m0});
                        }),
                        {m0, QStringLiteral("again")});
        const QString bad = tmp.filePath(QStringLiteral("bad.json")),
                      badOut = tmp.filePath(QStringLiteral("b"));
        QVERIFY(qs::test::writeFile(
            bad, batchJson(m_model->path(), m_settings.evalText, {QStringLiteral("gguf-q8_0")})));
        res = qs::test::runCli({QStringLiteral("batch"), bad, QStringLiteral("--out"), badOut});
        QCOMPARE(res.exitCode, 1);
        const QString b0 = batchManifestPath(badOut, {});
        QS_VERIFY_ERROR(qs::test::errorOf([&] { mergeBatchShards({b0}); }),
                        {b0, QStringLiteral("run gguf-q8_0 is not done"), QStringLiteral("Q8_0")});
    }

    void badBatchFiles_data()
    {
        QTest::addColumn<QByteArray>("runs");
        QTest::addColumn<QString>("message");
        QTest::newRow("twice")
            << QByteArray(R"([{"name": "a", "scheme": "rtn-w4-ch"}, {"name": "a", "scheme": "rtn-w3-ch"}])")
            << QStringLiteral("runs[1]: the name a is used twice");
        QTest::newRow("both") << QByteArray(R"([{"name": "a", "scheme": "rtn-w4-ch", "recipe": "r.json"}])")
                              << QStringLiteral("exactly one of");
        QTest::newRow("folder name") << QByteArray(R"([{"name": "../a", "scheme": "rtn-w4-ch"}])")
                                     << QStringLiteral("not usable as a folder name");
        QTest::newRow("bad scheme") << QByteArray(R"([{"name": "a", "scheme": "rtn-w99-ch"}])")
                                    << QStringLiteral("runs[0] (a)");
        QTest::newRow("no recipe file")
            << QByteArray(R"([{"name": "a", "recipe": "missing.json"}])") << QStringLiteral("missing.json");
        QTest::newRow("empty") << QByteArray("[]") << QStringLiteral("\"runs\" is empty");
    }

    void badBatchFiles()
    {
        QFETCH(QByteArray, runs);
        QFETCH(QString, message);
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("batch.json"));
        QVERIFY(qs::test::writeFile(path, R"({"format": "quantscope-batch", "version": 1, "model": "m",
            "eval": {"text": "t.txt"}, "runs": )" +
                                              runs + "}"));
        QS_VERIFY_ERROR(qs::test::errorOf([&] { RunBatch::load(path); }), {path, message});
    }

    void gpusAreNotOffered()
    {
        const auto res = qs::test::runCli(
            {QStringLiteral("slurm"), QStringLiteral("submit"), QStringLiteral("--gpus"), QStringLiteral("1"),
             QStringLiteral("--workdir"), m_tmp.filePath(QStringLiteral("gpu")), QStringLiteral("--"),
             QStringLiteral("sensitivity"), QStringLiteral("m")});
        QCOMPARE(res.exitCode, 1);
        QVERIFY2(res.err.contains("no GPU backend yet"), res.err.constData());
    }
};

QTEST_GUILESS_MAIN(TestSharding)
#include "tst_sharding.moc"
