// Model loading on the real fixtures: structure, totals, dtype variants, CLI inspect.
#include "TestSupport.h"
#include "model/Model.h"
#include "model/ModelCheck.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstring>

using namespace qs;

class TestModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void structure_data();
    void structure();
    void variantsAgree_data();
    void variantsAgree();
    void cliInspect();
    void cliInspectErrors();
    void checkReadsEveryValue();
    void kjvUntiedHead();
};

void TestModel::structure_data()
{
    QTest::addColumn<QString>("folder");
    QTest::addColumn<QString>("dtype");
    QTest::addColumn<int>("files");
    QTest::newRow("f32") << QStringLiteral("stories260K") << QStringLiteral("f32") << 1;
    QTest::newRow("bf16") << QStringLiteral("stories260K-bf16") << QStringLiteral("bf16") << 1;
    QTest::newRow("sharded") << QStringLiteral("stories260K-sharded") << QStringLiteral("f32") << 2;
}

void TestModel::structure()
{
    QFETCH(QString, folder);
    QFETCH(QString, dtype);
    QFETCH(int, files);
    const QString path = test::dataPath(folder);
    if (path.isEmpty())
        QSKIP(qPrintable(test::skipMessage(folder)));
    const auto m = Model::open(path);
    QCOMPARE(m->config().modelType, QStringLiteral("llama"));
    QCOMPARE(int(m->blocks().size()), 5);
    QCOMPARE(int(m->linears().size()), 35);
    QCOMPARE(m->totals().params, std::int64_t(260032));
    QCOMPARE(m->totals().linearLayers, 35);
    QVERIFY(m->headTied());
    QCOMPARE(m->weightDtypeName(), dtype);
    QCOMPARE(int(m->tensors().files().size()), files);
    QCOMPARE(m->config().numKvHeads, 4);
    QCOMPARE(m->config().headDim, 8);
    const LinearLayerInfo* down = m->findLinear(QStringLiteral("model.layers.4.mlp.down_proj"));
    QVERIFY(down);
    QCOMPARE(down->inFeatures, std::int64_t(172));
    QCOMPARE(down->outFeatures, std::int64_t(64));
    QCOMPARE(down->kind, LinearKind::Down);
    const std::uint64_t bytesPerParam = dtype == u"bf16" ? 2 : 4;
    QCOMPARE(m->totals().bytes, std::uint64_t(260032) * bytesPerParam);
    QVERIFY(m->unusedTensors().isEmpty());
}

void TestModel::variantsAgree_data()
{
    QTest::addColumn<QString>("other");
    QTest::addColumn<double>("tolerance"); // relative: bf16 keeps 8 mantissa bits
    QTest::newRow("sharded") << QStringLiteral("stories260K-sharded") << 0.0;
    QTest::newRow("bf16") << QStringLiteral("stories260K-bf16") << 1.0 / 256.0;
}

void TestModel::variantsAgree()
{
    QFETCH(QString, other);
    QFETCH(double, tolerance);
    QS_REQUIRE_DATA(basePath, "stories260K");
    const QString otherPath = test::dataPath(other);
    if (otherPath.isEmpty())
        QSKIP(qPrintable(test::skipMessage(other)));
    const auto a = Model::open(basePath);
    const auto b = Model::open(otherPath);
    QCOMPARE(a->tensors().names().size(), b->tensors().names().size());
    for (const QString& name : a->tensors().names()) {
        QCOMPARE(b->tensors().info(name).shape, a->tensors().info(name).shape);
        const std::vector<float> x = a->tensors().readF32(name, FiniteCheck::Throw);
        const std::vector<float> y = b->tensors().readF32(name, FiniteCheck::Throw);
        QCOMPARE(x.size(), y.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            const double err = std::fabs(double(x[i]) - double(y[i]));
            if (err > tolerance * std::fabs(double(x[i])) + 1e-30)
                QFAIL(qPrintable(QStringLiteral("%1[%2]: %3 vs %4").arg(name).arg(i).arg(x[i]).arg(y[i])));
        }
    }
}

void TestModel::cliInspect()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const test::CliResult r = test::runCli({QStringLiteral("inspect"), path, QStringLiteral("--json")});
    QCOMPARE(r.exitCode, 0);
    const QJsonObject o = QJsonDocument::fromJson(r.out).object();
    QCOMPARE(o.value(u"blocks").toInt(), 5);
    QCOMPARE(o.value(u"linear_layers").toInt(), 35);
    QCOMPARE(o.value(u"totals").toObject().value(u"params").toInteger(), 260032);
    QCOMPARE(o.value(u"totals").toObject().value(u"bits_per_weight").toDouble(), 32.0);
    QCOMPARE(o.value(u"tensors").toArray().size(), 47); // embedding + 5 × 9 per block + final norm
    const test::CliResult text = test::runCli({QStringLiteral("inspect"), path});
    QCOMPARE(text.exitCode, 0);
    QVERIFY(text.out.contains("260,032"));
    QVERIFY(text.out.contains("model.layers.4.mlp.down_proj.weight"));
}

void TestModel::cliInspectErrors()
{
    const test::CliResult missing =
        test::runCli({QStringLiteral("inspect"), QStringLiteral("/nonexistent/model")});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY2(missing.err.contains("/nonexistent/model"), missing.err.constData());
    const test::CliResult usage = test::runCli({QStringLiteral("inspect")});
    QCOMPARE(usage.exitCode, 2);
    QVERIFY2(usage.err.startsWith("error: expected one MODEL, got 0 arguments\n"), usage.err.constData());
    // A usage error names what is missing (here two things), before the help text.
    const test::CliResult eval = test::runCli({QStringLiteral("eval")});
    QCOMPARE(eval.exitCode, 2);
    QVERIFY2(eval.err.startsWith("error: expected one MODEL, got 0 arguments; --text is required\n"),
             eval.err.constData());
    QVERIFY2(eval.err.contains("--text <FILE>"), eval.err.constData());
}

// inspect --check reads every value: a clean model passes; a NaN and an Inf written into one weight (and a
// row zeroed) are counted and located, with the file, and make the command fail.
void TestModel::checkReadsEveryValue()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const ModelValueCheck clean = checkModelValues(*model);
    QCOMPARE(clean.nan + clean.inf, std::int64_t(0));
    QCOMPARE(clean.values, model->totals().params); // every tensor, norms included
    QVERIFY(std::all_of(clean.tensors.begin(), clean.tensors.end(),
                        [](const TensorValueStats& t) { return t.read; }));

    QTemporaryDir tmp;
    const QDir src(path);
    for (const QString& f : src.entryList(QDir::Files))
        QVERIFY(QFile::copy(src.filePath(f), tmp.filePath(f)));
    const QString st = tmp.filePath(QStringLiteral("model.safetensors"));
    QFile file(st);
    QVERIFY(file.open(QIODevice::ReadWrite));
    QByteArray bytes = file.readAll();
    quint64 headerLen = 0;
    std::memcpy(&headerLen, bytes.constData(), 8);
    const QJsonObject header = QJsonDocument::fromJson(bytes.mid(8, qsizetype(headerLen))).object();
    const QString name = QStringLiteral("model.layers.2.mlp.up_proj.weight"); // [172, 64] f32
    const qint64 begin = header.value(name).toObject().value(u"data_offsets").toArray().at(0).toInteger();
    const qint64 base = 8 + qint64(headerLen) + begin;
    const quint32 nanBits = 0x7fc00000u, infBits = 0xff800000u;
    std::memcpy(bytes.data() + base + (5 * 64 + 7) * 4, &nanBits, 4); // row 5, column 7
    std::memcpy(bytes.data() + base + (9 * 64 + 1) * 4, &infBits, 4); // row 9, column 1
    std::memset(bytes.data() + base + 100 * 64 * 4, 0, 64 * 4);       // row 100 all zero
    QVERIFY(file.seek(0) && file.write(bytes) == bytes.size());
    file.close();

    const ModelValueCheck bad = checkModelValues(*Model::open(tmp.path()));
    QCOMPARE(bad.nan, std::int64_t(1));
    QCOMPARE(bad.inf, std::int64_t(1));
    QCOMPARE(bad.zeroRows, clean.zeroRows + 1);
    const auto it = std::find_if(bad.tensors.begin(), bad.tensors.end(),
                                 [&](const TensorValueStats& t) { return t.name == name; });
    QVERIFY(it != bad.tensors.end());
    QCOMPARE(it->firstBadRow, std::int64_t(5));
    QCOMPARE(it->firstBadCol, std::int64_t(7));
    QVERIFY(bad.toText().contains(st));

    const test::CliResult cli =
        test::runCli({QStringLiteral("inspect"), tmp.path(), QStringLiteral("--check")});
    QCOMPARE(cli.exitCode, 1);
    QVERIFY2(cli.out.contains("1 NaN, 1 Inf (first at row 5, column 7"), cli.out.constData());
    QVERIFY2(cli.err.contains("non-finite"), cli.err.constData());
    const test::CliResult ok =
        test::runCli({QStringLiteral("inspect"), path, QStringLiteral("--check"), QStringLiteral("--json")});
    QCOMPARE(ok.exitCode, 0);
    QCOMPARE(QJsonDocument::fromJson(ok.out).object().value(u"check").toObject().value(u"nan").toInteger(),
             0);
}

void TestModel::kjvUntiedHead()
{
    QS_REQUIRE_DATA(path, "kjv7M");
    const auto m = Model::open(path);
    QVERIFY(!m->headTied());
    QCOMPARE(m->weightDtypeName(), QStringLiteral("bf16"));
    QCOMPARE(int(m->linears().size()), 6 * 7 + 1);
    QCOMPARE(m->linears().back().kind, LinearKind::Head);
    QCOMPARE(m->totals().headParams, m->totals().embeddingParams);
}

QTEST_GUILESS_MAIN(TestModel)
#include "tst_model.moc"
