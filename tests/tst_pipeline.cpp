// The layer-by-layer quantization pipeline on the real fixture: plans, determinism, cancel,
// save/reload, and the quality bar for 8-bit.
#include "TestSupport.h"
#include "checkpoint/QuantizedModelIO.h"
#include "eval/Evaluation.h"
#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"
#include "model/QuantizedLinear.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QDir>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <tuple>

using namespace qs;

namespace {

QuantSpec spec(QuantMethod m, int bits, int group, bool sym = false)
{
    QuantSpec s;
    s.method = m;
    s.bits = bits;
    s.symmetric = sym;
    s.granularity = group > 0 ? Granularity::PerGroup : Granularity::PerChannel;
    s.groupSize = group > 0 ? group : 128;
    if (m == QuantMethod::SmoothQuant || m == QuantMethod::LlmInt8 || m == QuantMethod::Dynamic)
        s.symmetric = true;
    s.floatZeros = m == QuantMethod::Hqq;
    return m == QuantMethod::QuipSharp ? quipSharpDefaults(s) : m == QuantMethod::Aqlm ? aqlmDefaults(s) : s;
}

double perplexity(const Transformer& t, const Tokenizer& tok, const QString& text)
{
    EvaluationParams p;
    p.textPath = text;
    p.perplexity.ctx = 128;
    p.perplexity.maxChunks = 10;
    return runEvaluation(t, tok, p).perplexity.ppl;
}

} // namespace

class TestPipeline : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void methods_data();
    void methods();
    void deterministicAcrossThreads();
    void cancelLeavesNothing();
    void saveAndReload();
    void badInput();

private:
    QString m_model, m_calib, m_eval;
    std::unique_ptr<Tokenizer> m_tok;
    CalibrationSettings m_cal;
};

void TestPipeline::initTestCase()
{
    m_model = test::dataPath(QStringLiteral("stories260K"));
    m_calib = test::dataPath(QStringLiteral("kjv/valid.txt"));
    m_eval = test::dataPath(QStringLiteral("wikitext-2-raw/wiki.test.raw"));
    if (m_model.isEmpty() || m_calib.isEmpty() || m_eval.isEmpty())
        QSKIP(qPrintable(test::skipMessage(QStringLiteral("stories260K, kjv, wikitext-2-raw"))));
    m_tok = Tokenizer::load(m_model);
    m_cal.text = m_calib;
    m_cal.samples = 32;
    m_cal.seqLen = 128;
}

void TestPipeline::methods_data()
{
    QTest::addColumn<int>("method");
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("group");
    QTest::addColumn<double>("maxPplRatio"); // bound on ppl / f32 ppl
    QTest::newRow("rtn int8 channel") << int(QuantMethod::Rtn) << 8 << 0 << 1.005;
    QTest::newRow("rtn int4 g32") << int(QuantMethod::Rtn) << 4 << 32 << 2.0;
    QTest::newRow("gptq int4 g32") << int(QuantMethod::Gptq) << 4 << 32 << 2.0;
    QTest::newRow("awq int4 g32") << int(QuantMethod::Awq) << 4 << 32 << 2.0;
    QTest::newRow("smoothquant w8a8") << int(QuantMethod::SmoothQuant) << 8 << 0 << 1.05;
    QTest::newRow("llm.int8") << int(QuantMethod::LlmInt8) << 8 << 0 << 1.05;
    QTest::newRow("dynamic int8") << int(QuantMethod::Dynamic) << 8 << 0 << 1.05;
    QTest::newRow("hqq int4 g32") << int(QuantMethod::Hqq) << 4 << 32 << 2.0;
    QTest::newRow("squeezellm int4") << int(QuantMethod::SqueezeLlm) << 4 << 0 << 2.0;
    QTest::newRow("quip# int4") << int(QuantMethod::QuipSharp) << 4 << 0 << 2.0;
    QTest::newRow("aqlm int2 2x8") << int(QuantMethod::Aqlm) << 2 << 0 << 2.0;
}

void TestPipeline::methods()
{
    QFETCH(int, method);
    QFETCH(int, bits);
    QFETCH(int, group);
    QFETCH(double, maxPplRatio);
    const auto model = Model::open(m_model);
    const LayerPlan plan = LayerPlan::uniform(*model, spec(QuantMethod(method), bits, group));
    int reports = 0;
    JobContext job;
    job.progress = [&](const JobProgress&) { ++reports; };
    const QuantizeResult r = runQuantization(model, plan, m_cal, m_tok.get(), job);
    QVERIFY(reports > 35);
    QCOMPARE(int(r.layers.size()), 35);
    QCOMPARE(r.linearBytes, plan.linearBytes(*model));
    for (const LayerReport& l : r.layers) {
        QVERIFY(l.weightRelMse >= 0 && l.weightRelMse < 0.5);
        QVERIFY(std::isfinite(l.outputRelMse));
        QCOMPARE(int(l.errorHistogram.size()), 41);
        QVERIFY(dynamic_cast<const QuantizedLinear*>(&r.model->linear(l.linearIndex)));
    }
    const double base = perplexity(Transformer(model), *m_tok, m_eval);
    const double q = perplexity(*r.model, *m_tok, m_eval);
    QVERIFY2(q / base <= maxPplRatio, qPrintable(QStringLiteral("ppl %1 vs f32 %2").arg(q).arg(base)));
    QVERIFY2(q > base * 0.98, qPrintable(QStringLiteral("ppl %1 vs f32 %2").arg(q).arg(base)));
}

void TestPipeline::deterministicAcrossThreads()
{
    const auto model = Model::open(m_model);
    QuantSpec s = spec(QuantMethod::Gptq, 3, 32);
    s.actOrder = true;
    const LayerPlan plan = LayerPlan::uniform(*model, s);
    setComputeThreads(1);
    const QuantizeResult a = runQuantization(model, plan, m_cal, m_tok.get());
    setComputeThreads(2);
    const QuantizeResult b = runQuantization(model, plan, m_cal, m_tok.get());
    setComputeThreads(0);
    for (std::size_t i = 0; i < a.tensors.size(); ++i) {
        QVERIFY(a.tensors[i]->unpackedCodes() == b.tensors[i]->unpackedCodes());
        QVERIFY(a.tensors[i]->scales == b.tensors[i]->scales);
    }
}

void TestPipeline::cancelLeavesNothing()
{
    const auto model = Model::open(m_model);
    const LayerPlan plan = LayerPlan::uniform(*model, spec(QuantMethod::Gptq, 4, 32));
    for (int cancelAt : {1, 5, 20, 34}) {
        JobContext job;
        int seen = 0;
        job.progress = [&](const JobProgress& p) {
            if (p.stage == u"quantizing" && ++seen == cancelAt)
                job.cancel->cancel();
        };
        QVERIFY_THROWS_EXCEPTION(Cancelled, runQuantization(model, plan, m_cal, m_tok.get(), job));
    }
}

void TestPipeline::saveAndReload()
{
    const auto model = Model::open(m_model);
    LayerPlan plan = LayerPlan::uniform(*model, spec(QuantMethod::Gptq, 4, 32));
    plan.entries[3].spec = spec(QuantMethod::Awq, 3, 32); // mixed plan: every storage path
    plan.entries[6].spec = spec(QuantMethod::LlmInt8, 8, 0);
    plan.entries[7].spec = spec(QuantMethod::SmoothQuant, 8, 0);
    plan.entries[8].spec.method = QuantMethod::Float;
    plan.entries[9].spec = spec(QuantMethod::Rtn, 2, 0, true);
    plan.entries[10].spec.actOrder = true;
    plan.entries[11].spec.floatZeros = true;
    plan.entries[12].spec.granularity = Granularity::PerTensor;
    plan.entries[13].spec = spec(QuantMethod::Rtn, 4, 0); // incoherence: a down_proj (172 = 4·43 inputs)
    plan.entries[13].spec.incoherence = Incoherence::Hadamard;
    plan.entries[14].spec = spec(QuantMethod::Hqq, 3, 32); // … and a 64-input q_proj, HQQ and GPTQ
    plan.entries[14].spec.incoherence = Incoherence::Hadamard;
    plan.entries[15].spec.incoherence = Incoherence::Hadamard;
    plan.entries[16].spec = QuantSpec::fromShortName(QStringLiteral("squeezellm-w3")); // codebooks, sparse
    plan.entries[17].spec = QuantSpec::fromShortName(QStringLiteral("squeezellm-w2-sp0"));
    plan.entries[18].spec = QuantSpec::fromShortName(QStringLiteral("quipsharp-w2")); // lattice codes
    plan.entries[19].spec = QuantSpec::fromShortName(QStringLiteral("quipsharp-w4"));
    plan.entries[20].spec = QuantSpec::fromShortName(QStringLiteral("quipsharp-w3")); // 172 = 21·8 + 4
    plan.entries[21].spec = QuantSpec::fromShortName(QStringLiteral("aqlm-w2-2x8"));  // additive codebooks
    plan.entries[22].spec = QuantSpec::fromShortName(QStringLiteral("aqlm-w3-6x4-beam2"));
    plan.entries[27].spec =
        QuantSpec::fromShortName(QStringLiteral("aqlm-w2-4x4-had")); // 172 inputs, rotated
    const QuantizeResult r = runQuantization(model, plan, m_cal, m_tok.get());
    for (int i : {13, 14, 15, 18, 19, 20, 27})
        QVERIFY(r.tensors[std::size_t(i)]->rotation);
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("q"));
    saveQuantizedModel(out, *model, r, QJsonObject{{QStringLiteral("name"), QStringLiteral("test")}});
    QVERIFY(QFileInfo(QDir(out).filePath(QStringLiteral("model.safetensors"))).size() <
            QFileInfo(QDir(m_model).filePath(QStringLiteral("model.safetensors"))).size() / 3);
    QVERIFY(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot) ==
            QStringList{QStringLiteral("q")});
    const auto reloaded = Model::open(out);
    QVERIFY(reloaded->isQuantized());
    QCOMPARE(reloaded->totals().params, model->totals().params);
    QCOMPARE(int(reloaded->linears().size()), 35);
    const Transformer t(reloaded);
    QCOMPARE(t.storageBytes(), r.model->storageBytes());
    for (std::size_t i = 0; i < r.tensors.size(); ++i) {
        const std::vector<float> a = r.tensors[i]->effectiveWeight();
        const auto* ql = dynamic_cast<const QuantizedLinear*>(&t.linear(int(i)));
        QVERIFY(ql);
        QVERIFY2(ql->tensor().effectiveWeight() == a, qPrintable(model->linears()[i].name));
    }
    QCOMPARE(perplexity(t, *m_tok, m_eval), perplexity(*r.model, *m_tok, m_eval));

    // A SqueezeLLM layer whose codebook lost a row, or whose sparse matrix lost a part, a QuIP# layer without
    // its rotation, an AQLM layer whose codebooks lost an entry or are missing: the model is refused with the
    // file and the layer named, never run with a wrong weight.
    const QString layer16 = model->linears()[16].name, layer18 = model->linears()[18].name,
                  layer21 = model->linears()[21].name;
    const TensorStore saved = TensorStore::open(QDir(out).filePath(QStringLiteral("model.safetensors")));
    QTemporaryDir badDirs;
    auto corrupted = [&](const QString& dropTensor, const QString& truncateCodebookOf) {
        const QString dir = badDirs.filePath(QStringLiteral("bad-") + truncateCodebookOf + dropTensor);
        QDir().mkpath(dir);
        QFile::copy(QDir(out).filePath(QStringLiteral("config.json")),
                    QDir(dir).filePath(QStringLiteral("config.json")));
        SafetensorsWriter w;
        for (const QString& name : saved.names()) {
            if (name == dropTensor)
                continue;
            const TensorInfo& info = saved.info(name);
            std::vector<std::int64_t> shape = info.shape;
            std::uint64_t bytes = info.bytes();
            if (!truncateCodebookOf.isEmpty() && name == truncateCodebookOf + u".codebook") {
                shape.front() -= 1;
                bytes -= std::uint64_t(shape.back()) * 2;
            }
            const unsigned char* src = saved.rawData(name);
            w.addTensorBytes(name, info.dtype, shape, std::vector<std::uint8_t>(src, src + bytes));
        }
        for (auto [key, value] : saved.metadata().asKeyValueRange())
            w.setMetadata(key, value);
        w.write(QDir(dir).filePath(QStringLiteral("model.safetensors")));
        return test::errorOf([&] { Transformer(Model::open(dir)); });
    };
    for (const auto& [drop, truncate, layer, expected] :
         {std::tuple{QString(), layer16, layer16, QStringLiteral("codebook holds")},
          std::tuple{QString(layer16 + u".codebook"), QString(), layer16,
                     QStringLiteral(".codebook is missing")},
          std::tuple{QString(layer16 + u".sparse_cols"), QString(), layer16,
                     QStringLiteral(".sparse_cols is missing")},
          std::tuple{QString(layer18 + u".rotation_signs"), QString(), layer18,
                     QStringLiteral(".rotation_signs is missing")},
          std::tuple{QString(), layer21, layer21, QStringLiteral("codebooks hold")},
          std::tuple{QString(layer21 + u".codebook"), QString(), layer21,
                     QStringLiteral(".codebook is missing")}}) {
        const QString msg = corrupted(drop, truncate);
        QVERIFY2(msg.contains(layer) && msg.contains(u"model.safetensors") && msg.contains(expected),
                 qPrintable(msg));
    }

    // A destination that cannot be written: a clear error naming it, and nothing left behind.
    QVERIFY(test::writeFile(tmp.filePath(QStringLiteral("file")), "x"));
    const QString bad = tmp.filePath(QStringLiteral("file/out"));
    const QString msg = test::errorOf([&] { saveQuantizedModel(bad, *model, r, QJsonObject()); });
    QVERIFY2(msg.contains(tmp.filePath(QStringLiteral("file"))), qPrintable(msg));
    QCOMPARE(QDir(tmp.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
             (QStringList{QStringLiteral("file"), QStringLiteral("q")}));
}

void TestPipeline::badInput()
{
    const auto model = Model::open(m_model);
    const LayerPlan gptq = LayerPlan::uniform(*model, spec(QuantMethod::Gptq, 4, 32));
    CalibrationSettings none = m_cal;
    none.text.clear();
    QVERIFY_THROWS_EXCEPTION(Error, runQuantization(model, gptq, none, m_tok.get()));
    QTemporaryDir tmp;
    const QString shortText = tmp.filePath(QStringLiteral("short.txt"));
    QVERIFY(test::writeFile(shortText, "Once upon a time there was a cat."));
    CalibrationSettings tiny = m_cal;
    tiny.text = shortText;
    try {
        runQuantization(model, gptq, tiny, m_tok.get());
        QFAIL("expected an error");
    } catch (const Error& e) {
        QVERIFY2(e.message().contains(shortText) && e.message().contains(u"too short"),
                 qPrintable(e.message()));
    }
    // A run that does not fit is refused before it starts, with the estimate in the message.
    qputenv("QUANTSCOPE_MEMORY_LIMIT", "100000");
    const QString mem = test::errorOf([&] { runQuantization(model, gptq, m_cal, m_tok.get()); });
    qunsetenv("QUANTSCOPE_MEMORY_LIMIT");
    QVERIFY2(mem.contains(u"not enough memory"), qPrintable(mem));
    QVERIFY(estimateQuantizationMemory(*model, gptq, m_cal).total() > 100000);
    LayerPlan bad = LayerPlan::uniform(*model, spec(QuantMethod::Rtn, 4, 32));
    bad.entries[0].spec.bits = 9;
    QVERIFY_THROWS_EXCEPTION(Error, runQuantization(model, bad, m_cal, m_tok.get()));
    bad.entries.pop_back();
    QVERIFY_THROWS_EXCEPTION(Error, runQuantization(model, bad, m_cal, m_tok.get()));
}

QTEST_GUILESS_MAIN(TestPipeline)
#include "tst_pipeline.moc"
