// Importance matrices: computed from calibration text as llama-imatrix does (chunks of ctx
// tokens, BOS first, Σx² per input column), deterministic over thread counts; both of
// llama.cpp's file formats round-trip byte for byte; damaged files and files for another model
// fail with messages naming the file and the entry.
#include "TestSupport.h"
#include "io/Gguf.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "quant/Imatrix.h"
#include "recipe/RecipeExport.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <cstring>

using namespace qs;
using qs::test::errorOf;

namespace {

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

template <typename T>
void appendLe(QByteArray& b, T v)
{
    b.append(reinterpret_cast<const char*>(&v), qsizetype(sizeof(T)));
}

/// A legacy .dat built by hand: entries as given (name, ncall, values), then the trailer.
QByteArray legacyBytes(const std::vector<std::tuple<QByteArray, int, std::vector<float>>>& entries,
                       int lastCall, const QByteArray& dataset)
{
    QByteArray b;
    appendLe(b, std::int32_t(entries.size()));
    for (const auto& [name, ncall, values] : entries) {
        appendLe(b, std::int32_t(name.size()));
        b.append(name);
        appendLe(b, std::int32_t(ncall));
        appendLe(b, std::int32_t(values.size()));
        for (const float v : values)
            appendLe(b, v);
    }
    appendLe(b, std::int32_t(lastCall));
    appendLe(b, std::int32_t(dataset.size()));
    b.append(dataset);
    return b;
}

} // namespace

class TestImatrix : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void computeOnStories();
    void deterministicAcrossThreads();
    void cancelAndShortText();
    void legacyRoundTrip();
    void legacyKeepsFileOrder();
    void ggufRoundTrip();
    void damagedLegacyFiles();
    void damagedGgufFiles();
    void anotherModel();
    void cli();

private:
    ImportanceMatrix compute(int threads);
    QString m_modelPath, m_textPath;
    std::shared_ptr<const Model> m_model;
    QTemporaryDir m_tmp;
    ImportanceMatrix m_im;
};

void TestImatrix::initTestCase()
{
    m_modelPath = qs::test::dataPath(QStringLiteral("stories260K"));
    const QString wiki = qs::test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
    if (m_modelPath.isEmpty() || wiki.isEmpty())
        return;
    m_model = Model::open(m_modelPath);
    // A small calibration text: the first 12 kB of wikitext-2.
    m_textPath = m_tmp.filePath(QStringLiteral("calib.txt"));
    QVERIFY(qs::test::writeFile(m_textPath, readAll(wiki).left(12000)));
    m_im = compute(1);
}

ImportanceMatrix TestImatrix::compute(int threads)
{
    setComputeThreads(threads);
    const Transformer t(m_model);
    const auto tok = Tokenizer::load(m_modelPath);
    ImatrixOptions opt;
    opt.ctx = 64;
    opt.chunks = 3;
    opt.dataset = QStringLiteral("calib.txt");
    ImportanceMatrix m = computeImportanceMatrix(t, *tok, m_textPath, opt);
    setComputeThreads(0);
    return m;
}

void TestImatrix::computeOnStories()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    const Model& model = *m_model;
    QCOMPARE(m_im.chunks, 3);
    QCOMPARE(m_im.chunkSize, 64);
    QCOMPARE(m_im.datasets, QStringList{QStringLiteral("calib.txt")});
    QCOMPARE(m_im.entries.size(), model.linears().size()); // tied head: no output.weight
    for (int i = 0; i < int(model.linears().size()); ++i) {
        const QString name = ggufTensorName(model, i);
        const ImportanceMatrix::Entry* e = m_im.find(name);
        QVERIFY2(e, qPrintable(name));
        QCOMPARE(std::int64_t(e->sumSquares.size()), model.linears()[std::size_t(i)].inFeatures);
        QCOMPARE(e->count, std::int64_t(3 * 64)); // every token of every chunk
        QCOMPARE(e->calls, 3);
        double total = 0;
        for (const float v : m_im.values(name)) {
            QVERIFY(std::isfinite(v) && v >= 0);
            total += v;
        }
        QVERIFY2(total > 0, qPrintable(name));
    }
    // q, k and v read the same input.
    const ImportanceMatrix::Entry* q = m_im.find(QStringLiteral("blk.2.attn_q.weight"));
    const ImportanceMatrix::Entry* k = m_im.find(QStringLiteral("blk.2.attn_k.weight"));
    QVERIFY(q && k);
    QVERIFY(q->sumSquares == k->sumSquares);
    QVERIFY_THROWS_EXCEPTION(Error, m_im.values(QStringLiteral("blk.99.attn_q.weight")));
}

void TestImatrix::deterministicAcrossThreads()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    const ImportanceMatrix four = compute(4);
    QCOMPARE(four.entries.size(), m_im.entries.size());
    for (const auto& [name, e] : m_im.entries) {
        const ImportanceMatrix::Entry& f = four.entries.at(name);
        QCOMPARE(f.count, e.count);
        QVERIFY2(std::memcmp(f.sumSquares.data(), e.sumSquares.data(), e.sumSquares.size() * sizeof(float)) ==
                     0,
                 qPrintable(name));
    }
}

void TestImatrix::cancelAndShortText()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    const Transformer t(m_model);
    const auto tok = Tokenizer::load(m_modelPath);
    ImatrixOptions opt;
    opt.ctx = 64;
    JobContext job;
    job.cancel->cancel();
    QVERIFY_THROWS_EXCEPTION(Cancelled, computeImportanceMatrix(t, *tok, m_textPath, opt, job));

    const QString shortText = m_tmp.filePath(QStringLiteral("short.txt"));
    QVERIFY(qs::test::writeFile(shortText, QByteArrayLiteral("Once upon a time.")));
    QS_VERIFY_ERROR(errorOf([&] { computeImportanceMatrix(t, *tok, shortText, opt); }),
                    {shortText, QStringLiteral("fewer than one chunk")});
}

void TestImatrix::legacyRoundTrip()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    const QString a = m_tmp.filePath(QStringLiteral("a.dat")), b = m_tmp.filePath(QStringLiteral("b.dat"));
    writeImatrix(m_im, a);
    const ImportanceMatrix r = readImatrix(a, *m_model);
    QCOMPARE(r.entries.size(), m_im.entries.size());
    QCOMPARE(r.chunks, 3);
    QCOMPARE(r.datasets, m_im.datasets);
    for (const auto& [name, e] : m_im.entries) {
        const ImportanceMatrix::Entry& g = r.entries.at(name);
        QCOMPARE(g.calls, 3);
        QCOMPARE(g.count, std::int64_t(3)); // the format keeps ncall, not tokens
        const std::vector<float> v0 = m_im.values(name), v1 = r.values(name);
        for (std::size_t j = 0; j < v0.size(); ++j)
            QVERIFY2(std::fabs(v0[j] - v1[j]) <= 1e-6f * std::max(1.0f, v0[j]), qPrintable(name));
    }
    writeImatrix(r, b);
    QCOMPARE(readAll(b), readAll(a));
    // Size: header + per entry (4 + name + 4 + 4 + 4·cols) + trailer.
    qsizetype expected = 4 + 4 + 4 + 9;
    for (const auto& [name, e] : m_im.entries)
        expected += 12 + name.size() + 4 * qsizetype(e.sumSquares.size());
    QCOMPARE(readAll(a).size(), expected);
}

void TestImatrix::legacyKeepsFileOrder()
{
    const QByteArray bytes = legacyBytes({{"blk.1.ffn_up.weight", 7, {1.5f, 2.25f}},
                                          {"blk.0.attn_q.weight", 7, {0.1f, 3.0f}},
                                          {"output.weight", 7, {9.0f, 0.0f}}},
                                         7, "wiki.train.raw");
    const QString in = m_tmp.filePath(QStringLiteral("order.dat")),
                  out = m_tmp.filePath(QStringLiteral("order2.dat"));
    QVERIFY(qs::test::writeFile(in, bytes));
    const ImportanceMatrix m = readImatrix(in);
    QCOMPARE(m.chunks, 7);
    QCOMPARE(m.datasets, QStringList{QStringLiteral("wiki.train.raw")});
    QCOMPARE(m.values(QStringLiteral("blk.1.ffn_up.weight"))[1], 2.25f / 7.0f);
    writeImatrixLegacy(m, out);
    QCOMPARE(readAll(out), bytes);
    // Without the optional trailer.
    QByteArray bare = bytes.left(bytes.size() - 4 - 4 - 14);
    QVERIFY(qs::test::writeFile(in, bare));
    const ImportanceMatrix noTrailer = readImatrix(in);
    QCOMPARE(noTrailer.chunks, 7);
    QVERIFY(noTrailer.datasets.isEmpty());
}

void TestImatrix::ggufRoundTrip()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    const QString a = m_tmp.filePath(QStringLiteral("a.gguf")), b = m_tmp.filePath(QStringLiteral("b.gguf"));
    writeImatrix(m_im, a);
    const auto f = GgufFile::open(a);
    QCOMPARE(f->getString(QStringLiteral("general.type")), QStringLiteral("imatrix"));
    QCOMPARE(f->getInt(QStringLiteral("imatrix.chunk_count")), std::int64_t(3));
    QCOMPARE(f->getInt(QStringLiteral("imatrix.chunk_size")), std::int64_t(64));
    QCOMPARE(f->getStrings(QStringLiteral("imatrix.datasets")), QStringList{QStringLiteral("calib.txt")});
    QCOMPARE(f->tensors().size(), 2 * m_im.entries.size());
    QCOMPARE(f->tensors().front().name, QStringLiteral("blk.0.attn_k.weight.in_sum2"));
    QCOMPARE(f->tensors()[1].name, QStringLiteral("blk.0.attn_k.weight.counts"));

    const ImportanceMatrix r = readImatrix(a, *m_model);
    QCOMPARE(r.chunks, 3);
    QCOMPARE(r.chunkSize, 64);
    for (const auto& [name, e] : m_im.entries) {
        const ImportanceMatrix::Entry& g = r.entries.at(name);
        QCOMPARE(g.count, e.count);
        QCOMPARE(g.calls, 3);
        QVERIFY(g.sumSquares == e.sumSquares);
    }
    writeImatrix(r, b);
    QCOMPARE(readAll(b), readAll(a));

    // legacy → GGUF → legacy keeps the values llama-quantize sees.
    const QString dat = m_tmp.filePath(QStringLiteral("c.dat")),
                  viaGguf = m_tmp.filePath(QStringLiteral("c.gguf")),
                  back = m_tmp.filePath(QStringLiteral("d.dat"));
    writeImatrixLegacy(m_im, dat);
    writeImatrixGguf(readImatrix(dat), viaGguf);
    writeImatrixLegacy(readImatrix(viaGguf), back);
    const ImportanceMatrix d0 = readImatrix(dat), d1 = readImatrix(back);
    for (const auto& [name, e] : d0.entries)
        QVERIFY(d1.values(name) == d0.values(name));
}

void TestImatrix::damagedLegacyFiles()
{
    const QByteArray good = legacyBytes(
        {{"blk.0.attn_q.weight", 2, {1.0f, 2.0f, 3.0f}}, {"blk.0.ffn_down.weight", 2, {4.0f, 5.0f}}}, 2,
        "t.txt");
    const QString p = m_tmp.filePath(QStringLiteral("bad.dat"));
    const auto errorFor = [&](const QByteArray& bytes) {
        if (!qs::test::writeFile(p, bytes))
            return QStringLiteral("cannot write test file");
        return errorOf([&] { readImatrix(p); });
    };
    // Cut inside the second entry's values.
    const qsizetype cut = good.indexOf("blk.0.ffn_down.weight") + 21 + 8 + 4;
    QS_VERIFY_ERROR(errorFor(good.left(cut)), {p, QStringLiteral("blk.0.ffn_down.weight")});
    // Cut inside the first entry's name.
    QS_VERIFY_ERROR(errorFor(good.left(10)), {p, QStringLiteral("truncated")});
    // Entry counts and lengths that overflow.
    QByteArray b = good;
    const std::int32_t huge = 0x7fffffff, negative = -5;
    std::memcpy(b.data(), &huge, 4);
    QS_VERIFY_ERROR(errorFor(b), {p, QStringLiteral("entry count")});
    b = good;
    std::memcpy(b.data() + 4, &huge, 4); // name length
    QS_VERIFY_ERROR(errorFor(b), {p, QStringLiteral("name length")});
    b = good;
    std::memcpy(b.data() + 8 + 19 + 4, &huge, 4); // nval of entry 1
    QS_VERIFY_ERROR(errorFor(b), {p, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral("value count")});
    std::memcpy(b.data() + 8 + 19 + 4, &negative, 4);
    QS_VERIFY_ERROR(errorFor(b), {p, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral("value count")});
    b = good;
    std::memcpy(b.data() + 8 + 19, &negative, 4); // ncall
    QS_VERIFY_ERROR(errorFor(b), {p, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral("ncall")});
    // A NaN value.
    b = good;
    const float nan = std::nanf("");
    std::memcpy(b.data() + 8 + 19 + 8 + 4, &nan, 4);
    QS_VERIFY_ERROR(errorFor(b), {p, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral("column 1")});
    // Duplicate entries, trailing garbage, an empty file.
    QS_VERIFY_ERROR(errorFor(legacyBytes({{"x", 1, {1.0f}}, {"x", 1, {1.0f}}}, 1, "")),
                    {p, QStringLiteral("twice")});
    QS_VERIFY_ERROR(errorFor(good + "zz"), {p, QStringLiteral("unexpected bytes")});
    QS_VERIFY_ERROR(errorFor(QByteArray()), {p, QStringLiteral("truncated")});
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(m_tmp.filePath(QStringLiteral("missing.dat"))); }),
                    {QStringLiteral("missing.dat"), QStringLiteral("cannot open")});
}

void TestImatrix::damagedGgufFiles()
{
    const QString p = m_tmp.filePath(QStringLiteral("bad.gguf"));
    const auto writeWith = [&](float count, bool withCounts) {
        GgufWriter w;
        w.set(QStringLiteral("general.type"), GgufValue("imatrix"));
        w.set(QStringLiteral("imatrix.chunk_count"), GgufValue(std::uint32_t(1)));
        w.set(QStringLiteral("imatrix.chunk_size"), GgufValue(std::uint32_t(64)));
        w.addTensorF32(QStringLiteral("blk.0.attn_q.weight.in_sum2"), GgmlType::F32, {3}, {1, 2, 3});
        if (withCounts)
            w.addTensorF32(QStringLiteral("blk.0.attn_q.weight.counts"), GgmlType::F32, {1}, {count});
        w.write(p);
    };
    writeWith(64, true);
    QCOMPARE(readImatrix(p).values(QStringLiteral("blk.0.attn_q.weight"))[2], 3.0f / 64.0f);
    writeWith(64, false);
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p); }),
                    {p, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral(".counts")});
    writeWith(std::nanf(""), true);
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p); }),
                    {p, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral("count")});
    writeWith(1e30f, true);
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p); }),
                    {p, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral("count")});
    // Found by fuzz_imatrix: an in_sum2 of 0 columns gave an entry without values.
    {
        GgufWriter w;
        w.set(QStringLiteral("general.type"), GgufValue("imatrix"));
        w.addTensorF32(QStringLiteral("blk.0.attn_q.weight.in_sum2"), GgmlType::F32, {0}, {});
        w.addTensorF32(QStringLiteral("blk.0.attn_q.weight.counts"), GgmlType::F32, {1}, {64});
        w.write(p);
    }
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p); }),
                    {p, QStringLiteral("blk.0.attn_q.weight.in_sum2"), QStringLiteral("holds no values")});
    // A model GGUF is not an imatrix.
    {
        GgufWriter w;
        w.set(QStringLiteral("general.type"), GgufValue("model"));
        w.addTensorF32(QStringLiteral("token_embd.weight"), GgmlType::F32, {2}, {1, 2});
        w.write(p);
    }
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p); }), {p, QStringLiteral("general.type")});
    // A truncated GGUF: the container's own checks name the file.
    writeWith(64, true);
    const QByteArray whole = readAll(p);
    const qsizetype dataStart = qsizetype(GgufFile::open(p)->dataOffset());
    QVERIFY(qs::test::writeFile(p, whole.left(dataStart + 6)));
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p); }), {p});
}

void TestImatrix::anotherModel()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    const QString p = m_tmp.filePath(QStringLiteral("other.dat"));
    ImportanceMatrix m = m_im;
    m.entries[QStringLiteral("blk.7.attn_q.weight")] = m.entries.at(QStringLiteral("blk.0.attn_q.weight"));
    writeImatrix(m, p);
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p, *m_model); }),
                    {p, QStringLiteral("imatrix for another model"), QStringLiteral("blk.7.attn_q.weight")});
    m = m_im;
    m.entries[QStringLiteral("blk.0.ffn_down.weight")].sumSquares.resize(256, 1.0f);
    writeImatrix(m, p);
    QS_VERIFY_ERROR(errorOf([&] { readImatrix(p, *m_model); }),
                    {p, QStringLiteral("imatrix for another model"), QStringLiteral("blk.0.ffn_down.weight"),
                     QStringLiteral("256")});
    const QString g = m_tmp.filePath(QStringLiteral("other.gguf"));
    writeImatrix(m, g);
    QS_VERIFY_ERROR(
        errorOf([&] { readImatrix(g, *m_model); }),
        {g, QStringLiteral("imatrix for another model"), QStringLiteral("blk.0.ffn_down.weight")});
}

void TestImatrix::cli()
{
    QS_REQUIRE_DATA(modelPath, "stories260K");
    QS_REQUIRE_DATA(wiki, "wikitext-2-raw/wiki.test.raw");
    const QString outPath = m_tmp.filePath(QStringLiteral("cli.gguf"));
    const auto r =
        qs::test::runCli({QStringLiteral("imatrix"), modelPath, QStringLiteral("--text"), m_textPath,
                          QStringLiteral("--ctx"), QStringLiteral("64"), QStringLiteral("--chunks"),
                          QStringLiteral("3"), QStringLiteral("--out"), outPath, QStringLiteral("--quiet")});
    if (r.err.contains("unknown command"))
        QSKIP("the imatrix command is not registered in app/cli/main.cpp yet");
    QVERIFY2(r.exitCode == 0, r.err.constData());
    const ImportanceMatrix m = readImatrix(outPath, *m_model);
    QCOMPARE(m.entries.size(), m_im.entries.size());
    for (const auto& [name, e] : m_im.entries)
        QVERIFY(m.entries.at(name).sumSquares == e.sumSquares);
    const auto show = qs::test::runCli({QStringLiteral("imatrix"), QStringLiteral("--show"), outPath});
    QCOMPARE(show.exitCode, 0);
    QVERIFY(show.out.contains("blk.4.ffn_down.weight"));
    QVERIFY(show.out.contains("entries:  35"));
    const auto bad = qs::test::runCli(
        {QStringLiteral("imatrix"), QStringLiteral("--show"), m_tmp.filePath(QStringLiteral("nothing.dat"))});
    QCOMPARE(bad.exitCode, 1);
}

QTEST_GUILESS_MAIN(TestImatrix)
#include "tst_imatrix.moc"
