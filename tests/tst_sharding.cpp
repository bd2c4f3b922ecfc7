// A sensitivity sweep split into shards and merged back (analysis/SweepShards.h): sharded then merged
// equals the unsharded sweep entry for entry, and merge refuses shards that do not belong together
// (naming the file).
#include "TestSupport.h"
#include "analysis/Sensitivity.h"
#include "analysis/SweepShards.h"
#include "model/Model.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

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
        res = qs::test::runCli({QStringLiteral("merge"), m_two[1], m_two[0], QStringLiteral("--out"), out});
        QVERIFY2(res.exitCode == 0, res.err.constData());
        QVERIFY2(res.out.contains("12 entries"), res.out.constData());
        QVERIFY(compareSweepEntries(SensitivityResult::load(out), m_whole).isEmpty());
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
        QVERIFY2(res.out.contains("shard 0/5: 6 units × 2 schemes = 3 evaluations"), res.out.constData());
        QVERIFY2(res.out.contains("shard 4/5: 6 units × 2 schemes = 2 evaluations"), res.out.constData());
        QVERIFY(res.out.contains("forward passes about"));
        QVERIFY(res.out.contains("in 5 shards run at once"));
    }
};

QTEST_GUILESS_MAIN(TestSharding)
#include "tst_sharding.moc"
