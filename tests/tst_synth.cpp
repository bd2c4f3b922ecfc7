// Synthetic Llama models (`quantscope-cli synth`): the shape table, the streamed writer (values
// independent of the thread count), the byte-level tokenizer that makes them exportable to GGUF,
// and the command's errors.
#include "TestSupport.h"
#include "checkpoint/GgufExport.h"
#include "model/Model.h"
#include "model/SyntheticModel.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

using namespace qs;

namespace {

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestSynth : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void shapeTable_data();
    void shapeTable();
    void unknownShape();
    void open_data();
    void open();
    void sameValuesAnyThreads();
    void exportsToGguf();
    void cli_data();
    void cli();
};

void TestSynth::shapeTable_data()
{
    QTest::addColumn<QString>("shape");
    QTest::addColumn<int>("hidden");
    QTest::addColumn<int>("layers");
    QTest::addColumn<int>("vocab");
    QTest::addColumn<double>("gib"); // bf16 weights
    QTest::newRow("1b") << QStringLiteral("1b") << 2048 << 16 << 32000 << 2.06;
    QTest::newRow("3b") << QStringLiteral("3b") << 3072 << 28 << 128256 << 5.98;
    QTest::newRow("8b") << QStringLiteral("8B") << 4096 << 32 << 128256 << 14.96;
    QTest::newRow("tiny") << QStringLiteral("tiny") << 256 << 2 << 1024 << 0.0;
}

void TestSynth::shapeTable()
{
    QFETCH(QString, shape);
    QFETCH(int, hidden);
    QFETCH(int, layers);
    QFETCH(int, vocab);
    QFETCH(double, gib);
    const SyntheticModelSpec s = syntheticSpec(shape);
    QCOMPARE(s.hidden, hidden);
    QCOMPARE(s.layers, layers);
    QCOMPARE(s.vocab, vocab);
    QCOMPARE(s.dtype, DType::BF16);
    QVERIFY(s.tokenizer);
    QVERIFY(s.vocab >= syntheticTokenizerSize());
    QCOMPARE(qRound(double(syntheticWeightBytes(s)) / double(1 << 30) * 100) / 100.0, gib);
}

void TestSynth::unknownShape()
{
    const QString msg = test::errorOf([] { syntheticSpec(QStringLiteral("2b")); });
    const QString diff = test::checkMessage(msg, {QStringLiteral("2b"), QStringLiteral("tiny, 1b, 3b, 8b")});
    QVERIFY2(diff.isEmpty(), qPrintable(diff));
}

void TestSynth::open_data()
{
    QTest::addColumn<int>("layers");
    QTest::addColumn<int>("dtype");
    QTest::newRow("tiny bf16") << 2 << int(DType::BF16);
    QTest::newRow("tiny f16, 1 block") << 1 << int(DType::F16);
    QTest::newRow("tiny f32, 3 blocks") << 3 << int(DType::F32);
}

void TestSynth::open()
{
    QFETCH(int, layers);
    QFETCH(int, dtype);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    SyntheticModelSpec spec = syntheticSpec(QStringLiteral("tiny"));
    spec.layers = layers;
    spec.dtype = DType(dtype);
    const QString folder = dir.filePath(QStringLiteral("m"));
    double lastFraction = -1;
    JobContext ctx;
    ctx.progress = [&](const JobProgress& p) { lastFraction = p.fraction; };
    writeSyntheticModel(folder, spec, ctx);
    QCOMPARE(lastFraction, 1.0);

    const auto model = Model::open(folder);
    const ModelConfig& c = model->config();
    QCOMPARE(c.hiddenSize, spec.hidden);
    QCOMPARE(c.numLayers, layers);
    QCOMPARE(c.numHeads, spec.heads);
    QCOMPARE(c.numKvHeads, spec.kvHeads);
    QCOMPARE(c.vocabSize, spec.vocab);
    QCOMPARE(model->totals().bytes, syntheticWeightBytes(spec));
    QCOMPARE(std::uint64_t(model->totals().params) * std::uint64_t(dtypeInfo(spec.dtype).bytes),
             syntheticWeightBytes(spec));
    // The file is the 8-byte header length, the header and exactly the weights.
    const QString weights = QDir(folder).filePath(QStringLiteral("model.safetensors"));
    const QByteArray head = readAll(weights).left(8);
    QCOMPARE(head.size(), 8);
    std::uint64_t headerBytes = 0;
    for (int i = 7; i >= 0; --i)
        headerBytes = (headerBytes << 8) | std::uint8_t(head[i]);
    QCOMPARE(std::uint64_t(QFileInfo(weights).size()), 8 + headerBytes + syntheticWeightBytes(spec));

    const auto tok = Tokenizer::load(folder);
    QCOMPARE(tok->bosId(), 1);
    QCOMPARE(tok->eosId(), 2);
    const std::vector<int> ids = tok->encode("hello world, synthetic!", false);
    QVERIFY(ids.size() < 23); // letter-pair merges apply
    QCOMPARE(tok->decode(ids), std::string("hello world, synthetic!"));
}

void TestSynth::sameValuesAnyThreads()
{
    // The same bytes with 1 and 2 threads; another seed gives other bytes.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    SyntheticModelSpec spec = syntheticSpec(QStringLiteral("tiny"));
    spec.layers = 1;
    QByteArray files[3];
    const int threads[3] = {1, 2, 2};
    for (int i = 0; i < 3; ++i) {
        setComputeThreads(threads[i]);
        if (i == 2)
            spec.seed = 2;
        const QString folder = dir.filePath(QString::number(i));
        writeSyntheticModel(folder, spec);
        files[i] = readAll(QDir(folder).filePath(QStringLiteral("model.safetensors")));
    }
    setComputeThreads(0);
    QVERIFY(!files[0].isEmpty());
    QVERIFY(files[0] == files[1]);
    QVERIFY(files[0] != files[2]);
}

void TestSynth::exportsToGguf()
{
    // The tokenizer is what GGUF export needs: the exported file carries a gpt2 vocabulary.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString folder = dir.filePath(QStringLiteral("m"));
    writeSyntheticModel(folder, syntheticSpec(QStringLiteral("tiny")));
    const auto model = Model::open(folder);
    const QString out = dir.filePath(QStringLiteral("m.gguf"));
    exportGguf(*model, ggufPreset(*model, QStringLiteral("Q4_0"), false), out, nullptr, JobContext{});
    const auto gguf = Model::open(out);
    QCOMPARE(gguf->config().vocabSize, model->config().vocabSize);
    const auto tok = Tokenizer::load(out);
    QCOMPARE(tok->decode(tok->encode("abc def", false)), std::string("abc def"));
}

void TestSynth::cli_data()
{
    QTest::addColumn<QStringList>("args"); // OUT is appended
    QTest::addColumn<bool>("makeNonEmpty");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message"); // in stderr (error) or stdout (success)
    QTest::newRow("tiny, 1 block") << QStringList{QStringLiteral("--shape"), QStringLiteral("tiny"),
                                                  QStringLiteral("--layers"), QStringLiteral("1")}
                                   << false << 0 << QStringLiteral("1 blocks, bf16");
    QTest::newRow("bad shape") << QStringList{QStringLiteral("--shape"), QStringLiteral("13b")} << false << 1
                               << QStringLiteral("unknown model shape \"13b\" (shapes: tiny, 1b, 3b, 8b)");
    QTest::newRow("non-empty OUT") << QStringList{QStringLiteral("--shape"), QStringLiteral("tiny")} << true
                                   << 1 << QStringLiteral("exists and is not empty");
    QTest::newRow("bad dtype") << QStringList{QStringLiteral("--shape"), QStringLiteral("tiny"),
                                              QStringLiteral("--dtype"), QStringLiteral("q4")}
                               << false << 1 << QStringLiteral("--dtype q4");
    QTest::newRow("no shape") << QStringList{} << false << 2 << QStringLiteral("--shape");
}

void TestSynth::cli()
{
    QFETCH(QStringList, args);
    QFETCH(bool, makeNonEmpty);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString out = dir.filePath(QStringLiteral("out"));
    if (makeNonEmpty)
        QVERIFY(test::writeFile(QDir(out).filePath(QStringLiteral("keep.txt")), "x"));
    const test::CliResult r = test::runCli(QStringList{QStringLiteral("synth")} + args + QStringList{out});
    QCOMPARE(r.exitCode, exitCode);
    const QByteArray text = exitCode == 0 ? r.out : r.err;
    QVERIFY2(text.contains(message.toUtf8()), text.constData());
    if (exitCode == 0)
        QCOMPARE(Model::open(out)->config().numLayers, 1);
    if (makeNonEmpty)
        QCOMPARE(QDir(out).entryList(QDir::Files), QStringList{QStringLiteral("keep.txt")});
}

QTEST_GUILESS_MAIN(TestSynth)
#include "tst_synth.moc"
