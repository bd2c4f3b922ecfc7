// Hugging Face GPTQ / AWQ checkpoints: packing against hand-computed words, export + import round
// trips on kjv7M (dequantized weights bit for bit, perplexity), AWQ folding, bad input.
#include "TestSupport.h"
#include "checkpoint/HfQuantExport.h"
#include "checkpoint/QuantizedModelIO.h"
#include "eval/Evaluation.h"
#include "kernels/BitPacking.h"
#include "model/Model.h"
#include "model/SyntheticModel.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <cstring>

using namespace qs;

namespace {

QuantSpec makeSpec(QuantMethod m, int bits, int group, bool sym)
{
    QuantSpec s;
    s.method = m;
    s.bits = bits;
    s.symmetric = sym;
    s.granularity = group > 0 ? Granularity::PerGroup : Granularity::PerChannel;
    s.groupSize = group > 0 ? group : 128;
    return s;
}

QuantSpec floatSpec()
{
    QuantSpec s;
    s.method = QuantMethod::Float;
    s.floatType = DType::F16;
    return s;
}

double perplexity(const Transformer& t, const Tokenizer& tok, const QString& text)
{
    EvaluationParams p;
    p.textPath = text;
    p.perplexity.ctx = 128;
    p.perplexity.maxChunks = 8;
    return runEvaluation(t, tok, p).perplexity.ppl;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::int32_t w32(std::uint32_t v)
{
    return std::int32_t(v);
}

} // namespace

class TestHfQuant : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void packGptqHandComputed();
    void packAwqHandComputed();
    void packRoundTrip();
    void gptqRoundTrip_data();
    void gptqRoundTrip();
    void gptqMixedPrecision();
    void awqRoundTrip();
    void awqFoldIntoValueProjection();
    void badInput();
    void cli();

private:
    QString m_kjv, m_stories, m_calib, m_eval;
    std::unique_ptr<Tokenizer> m_tok;
    CalibrationSettings m_cal;
};

void TestHfQuant::initTestCase()
{
    m_kjv = test::dataPath(QStringLiteral("kjv7M"));
    m_stories = test::dataPath(QStringLiteral("stories260K"));
    m_calib = test::dataPath(QStringLiteral("kjv/valid.txt"));
    m_eval = test::dataPath(QStringLiteral("kjv/test.txt"));
    if (!m_kjv.isEmpty())
        m_tok = Tokenizer::load(m_kjv);
    m_cal.text = m_calib;
    m_cal.samples = 32;
    m_cal.seqLen = 128;
}

void TestHfQuant::packGptqHandComputed()
{
    // 4-bit: 8 values per word along the input, first value in the lowest nibble.
    QCOMPARE(gptqPackRows({1, 2, 3, 4, 5, 6, 7, 8}, 8, 1, 4), std::vector<std::int32_t>{w32(0x87654321u)});
    // Two output columns interleaved in memory ([in, out] row-major): each column its own word.
    QCOMPARE(gptqPackRows({1, 8, 2, 7, 3, 6, 4, 5, 5, 4, 6, 3, 7, 2, 8, 1}, 8, 2, 4),
             (std::vector<std::int32_t>{w32(0x87654321u), w32(0x12345678u)}));
    // 2-bit: 16 per word; 0,1,2,3 repeated → 0b11100100 per byte.
    std::vector<std::uint32_t> v2(16);
    for (int i = 0; i < 16; ++i)
        v2[std::size_t(i)] = std::uint32_t(i % 4);
    QCOMPARE(gptqPackRows(v2, 16, 1, 2), std::vector<std::int32_t>{w32(0xE4E4E4E4u)});
    // 8-bit: 4 per word.
    QCOMPARE(gptqPackRows({0x01, 0x02, 0x03, 0xFF}, 4, 1, 8), std::vector<std::int32_t>{w32(0xFF030201u)});
    // 3-bit: 32 values in 3 words; value 10 straddles words 0/1 (bits 30..32), value 21 words 1/2
    // (bits 63..65), exactly as AutoGPTQ's pack loop places them.
    std::vector<std::uint32_t> v3(32, 0);
    v3[10] = 5; // 0b101: bits 30 (1), 31 (0) of word 0, bit 0 (1) of word 1
    v3[11] = 1; // bit 33 → word 1 bit 1
    v3[21] = 6; // 0b110: bit 31 of word 1 (0), bits 0..1 of word 2 (0b11)
    v3[31] = 7; // bits 93..95 → word 2 bits 29..31
    QCOMPARE(gptqPackRows(v3, 32, 1, 3),
             (std::vector<std::int32_t>{w32(0x40000000u), w32(0x00000003u), w32(0xE0000003u)}));
    // qzeros pack along the output dimension (columns of a [groups, out] matrix).
    QCOMPARE(gptqPackCols({1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 15}, 2, 8, 4),
             (std::vector<std::int32_t>{w32(0x87654321u), w32(0xF0000000u)}));
    QVERIFY_THROWS_EXCEPTION(Error, gptqPackRows(std::vector<std::uint32_t>(12, 0), 12, 1, 4));
}

void TestHfQuant::packAwqHandComputed()
{
    // Nibble i holds output kAwqOrder[i] = 0, 2, 4, 6, 1, 3, 5, 7 (output 9 = word 1, output 1 → nibble 4).
    QCOMPARE(awqPack({0, 1, 2, 3, 4, 5, 6, 7}, 1, 8), std::vector<std::int32_t>{w32(0x75316420u)});
    QCOMPARE(awqPack({1, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0}, 1, 16),
             (std::vector<std::int32_t>{w32(0x00000001u), w32(0x000F0000u)}));
    const std::int32_t word = w32(0x75316420u);
    QCOMPARE(awqUnpack(&word, 1, 8), (std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

void TestHfQuant::packRoundTrip()
{
    QRandomGenerator rng(7);
    for (int bits : {2, 3, 4, 8}) {
        const std::int64_t n = 96, m = 64;
        std::vector<std::uint32_t> v(std::size_t(n * m));
        for (auto& x : v)
            x = rng.bounded(1u << bits);
        QCOMPARE(gptqUnpackRows(gptqPackRows(v, n, m, bits).data(), n, m, bits), v);
        QCOMPARE(gptqUnpackCols(gptqPackCols(v, n, m, bits).data(), n, m, bits), v);
        if (bits == 4)
            QCOMPARE(awqUnpack(awqPack(v, n, m).data(), n, m), v);
    }
}

void TestHfQuant::gptqRoundTrip_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("group");
    QTest::addColumn<bool>("sym");
    QTest::addColumn<bool>("actOrder");
    QTest::addColumn<bool>("v2");
    QTest::addColumn<bool>("viaRunDir");
    QTest::newRow("w4 g128 sym") << 4 << 128 << true << false << false << true;
    QTest::newRow("w3 g128 sym") << 3 << 128 << true << false << false << false;
    QTest::newRow("w8 channel sym") << 8 << 0 << true << false << false << false;
    QTest::newRow("w4 g128 act-order") << 4 << 128 << true << true << false << false;
    QTest::newRow("w4 g128 asym gptq_v2") << 4 << 128 << false << false << true << false;
}

void TestHfQuant::gptqRoundTrip()
{
    QFETCH(int, bits);
    QFETCH(int, group);
    QFETCH(bool, sym);
    QFETCH(bool, actOrder);
    QFETCH(bool, v2);
    QFETCH(bool, viaRunDir);
    QS_REQUIRE_DATA(kjv, "kjv7M");
    QS_REQUIRE_DATA(calib, "kjv/valid.txt");
    const auto model = Model::open(kjv);
    QuantSpec s = makeSpec(QuantMethod::Gptq, bits, group, sym);
    s.actOrder = actOrder;
    LayerPlan plan = LayerPlan::uniform(*model, s);
    plan.entries.back().spec = floatSpec(); // lm_head stays 16-bit
    const QuantizeResult r = runQuantization(model, plan, m_cal, m_tok.get());

    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("gptq"));
    HfExportOptions o;
    o.format = HfQuantFormat::Gptq;
    o.checkpointFormat = v2 ? GptqCheckpointFormat::GptqV2 : GptqCheckpointFormat::Gptq;
    HfExportReport rep;
    if (viaRunDir) { // the CLI's path: our packed folder → readModelQuantizedTensors → export
        const QString run = tmp.filePath(QStringLiteral("run"));
        saveQuantizedModel(run, *model, r, QJsonObject());
        const auto runModel = Model::open(run);
        rep = exportHfQuantized(out, *runModel, readModelQuantizedTensors(*runModel), o);
    } else {
        rep = exportHfQuantized(out, *model, r, o);
    }
    QCOMPARE(rep.quantizedLayers, 42);
    QCOMPARE(rep.floatLayers, 1);

    QFile cf(QDir(out).filePath(QStringLiteral("config.json")));
    QVERIFY(cf.open(QIODevice::ReadOnly));
    const QJsonObject qc = QJsonDocument::fromJson(cf.readAll())
                               .object()
                               .value(QStringLiteral("quantization_config"))
                               .toObject();
    QCOMPARE(qc.value(QStringLiteral("quant_method")).toString(), QStringLiteral("gptq"));
    QCOMPARE(qc.value(QStringLiteral("bits")).toInt(), bits);
    QCOMPARE(qc.value(QStringLiteral("group_size")).toInt(), group > 0 ? group : -1);
    QCOMPARE(qc.value(QStringLiteral("sym")).toBool(), sym);
    QCOMPARE(qc.value(QStringLiteral("desc_act")).toBool(), actOrder);
    QCOMPARE(qc.value(QStringLiteral("checkpoint_format")).toString(),
             v2 ? QStringLiteral("gptq_v2") : QStringLiteral("gptq"));

    const auto imported = Model::open(out);
    QVERIFY(imported->isQuantized());
    const TensorStore& ts = imported->tensors();
    const std::int64_t groups = group > 0 ? 256 / group : 1;
    QCOMPARE(ts.info(QStringLiteral("model.layers.0.self_attn.q_proj.qweight")).shape,
             (std::vector<std::int64_t>{256 / 32 * bits, 256}));
    QCOMPARE(ts.info(QStringLiteral("model.layers.0.self_attn.q_proj.qzeros")).shape,
             (std::vector<std::int64_t>{groups, 256 / 32 * bits}));
    QCOMPARE(ts.info(QStringLiteral("model.layers.0.self_attn.q_proj.scales")).dtype, DType::F16);
    QCOMPARE(ts.info(QStringLiteral("model.layers.0.self_attn.q_proj.g_idx")).shape,
             std::vector<std::int64_t>{256});
    QVERIFY(imported->unusedTensors().isEmpty());
    const Transformer t(imported);
    for (std::size_t i = 0; i < model->linears().size(); ++i) {
        const LinearLayerInfo& l = imported->linears()[i];
        const QuantizedTensor& ours = *r.tensors[i];
        if (ours.spec.method == QuantMethod::Float) {
            QVERIFY(!l.quant);
            QVERIFY(sameBits(ts.readF32(l.weight), ours.floatWeights));
            continue;
        }
        QVERIFY2(l.quant && l.quant->method == QuantMethod::Gptq, qPrintable(l.name));
        const QuantizedTensor back = readQuantizedTensor(ts, l.name, *l.quant, l.outFeatures, l.inFeatures);
        QVERIFY2(back.codes == ours.unpackedCodes(), qPrintable(l.name));
        QVERIFY2(sameBits(back.dequantize(), ours.dequantize()), qPrintable(l.name));
    }
    if (v2) { // a zero point of 0 has no legacy "gptq" (zero - 1) form
        std::vector<std::shared_ptr<const QuantizedTensor>> zero0 = r.tensors;
        auto k = std::make_shared<QuantizedTensor>(*zero0[1]);
        k->zeros[0] = 0;
        zero0[1] = k;
        HfExportOptions v1 = o;
        v1.checkpointFormat = GptqCheckpointFormat::Gptq;
        QS_VERIFY_ERROR(
            test::errorOf([&] { exportHfQuantized(tmp.filePath(QStringLiteral("v1")), *model, zero0, v1); }),
            {QStringLiteral("model.layers.0.self_attn.k_proj"), QStringLiteral("gptq_v2")});
        exportHfQuantized(tmp.filePath(QStringLiteral("v2")), *model, zero0, o);
        const auto m2 = Model::open(tmp.filePath(QStringLiteral("v2")));
        const LinearLayerInfo& kl = m2->linears()[1];
        QVERIFY(sameBits(readQuantizedTensor(m2->tensors(), kl.name, *kl.quant, kl.outFeatures, kl.inFeatures)
                             .dequantize(),
                         k->dequantize()));
    }
    QS_REQUIRE_DATA(eval, "kjv/test.txt");
    const double pOurs = perplexity(*r.model, *m_tok, eval), pBack = perplexity(t, *m_tok, eval);
    QVERIFY2(std::abs(pOurs - pBack) <= 1e-6 * pOurs,
             qPrintable(QStringLiteral("ppl %1 vs %2").arg(pOurs).arg(pBack)));
}

void TestHfQuant::gptqMixedPrecision()
{
    // A mixed-precision GPTQ plan: most layers w4 g128 sym, every down_proj w8 per channel, block
    // 0's q_proj w3 g64 asym, lm_head float. quantization_config holds the w4 settings and
    // GPTQModel's `dynamic` the others; reading it back gives every layer its own spec and codes.
    QS_REQUIRE_DATA(kjv, "kjv7M");
    QS_REQUIRE_DATA(calib, "kjv/valid.txt");
    const auto model = Model::open(kjv);
    LayerPlan plan = LayerPlan::uniform(*model, makeSpec(QuantMethod::Gptq, 4, 128, true));
    for (LayerPlanEntry& e : plan.entries) {
        if (e.name.endsWith(u"mlp.down_proj"))
            e.spec = makeSpec(QuantMethod::Gptq, 8, 0, true);
        else if (e.name == u"model.layers.0.self_attn.q_proj")
            e.spec = makeSpec(QuantMethod::Gptq, 3, 64, false);
    }
    plan.entries.back().spec = floatSpec();
    const QuantizeResult r = runQuantization(model, plan, m_cal, m_tok.get());
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("mixed"));
    HfExportOptions o;
    o.format = HfQuantFormat::Gptq;
    o.checkpointFormat = GptqCheckpointFormat::GptqV2;
    const HfExportReport rep = exportHfQuantized(out, *model, r, o);
    QCOMPARE(rep.quantizedLayers, 42);

    QFile cf(QDir(out).filePath(QStringLiteral("config.json")));
    QVERIFY(cf.open(QIODevice::ReadOnly));
    const QJsonObject qc = QJsonDocument::fromJson(cf.readAll())
                               .object()
                               .value(QStringLiteral("quantization_config"))
                               .toObject();
    QCOMPARE(qc.value(QStringLiteral("bits")).toInt(), 4);
    QCOMPARE(qc.value(QStringLiteral("group_size")).toInt(), 128);
    const QJsonObject dyn = qc.value(QStringLiteral("dynamic")).toObject();
    int positive = 0, negative = 0;
    for (auto it = dyn.begin(); it != dyn.end(); ++it) {
        if (it.key().startsWith(u"+:")) {
            ++positive;
            const int bits = it.value().toObject().value(QStringLiteral("bits")).toInt();
            QVERIFY2(bits == 8 || bits == 3, qPrintable(it.key()));
        } else {
            QVERIFY(it.key().startsWith(u"-:"));
            ++negative;
        }
    }
    QVERIFY(positive >= 2 && positive <= 7); // the six down_proj share one grouped pattern or a few
    QCOMPARE(negative, 0);                   // lm_head is not a dynamic module (config "lm_head": false)

    const auto imported = Model::open(out);
    for (std::size_t i = 0; i + 1 < model->linears().size(); ++i) {
        const LinearLayerInfo& l = imported->linears()[i];
        const QuantizedTensor& ours = *r.tensors[i];
        QVERIFY2(l.quant, qPrintable(l.name));
        QCOMPARE(l.quant->bits, ours.spec.bits);
        QCOMPARE(l.quant->symmetric, ours.spec.symmetric);
        QCOMPARE(l.quant->granularity, ours.spec.granularity);
        if (ours.spec.granularity == Granularity::PerGroup)
            QCOMPARE(l.quant->groupSize, ours.spec.groupSize);
        const QuantizedTensor back =
            readQuantizedTensor(imported->tensors(), l.name, *l.quant, l.outFeatures, l.inFeatures);
        QVERIFY2(back.codes == ours.unpackedCodes(), qPrintable(l.name));
        QVERIFY2(sameBits(back.dequantize(), ours.dequantize()), qPrintable(l.name));
    }
    // A bad override is an error naming config.json.
    HfQuantConfig c = *readHfQuantConfig(out);
    QJsonObject bad = c.raw;
    bad.insert(QStringLiteral("dynamic"), QJsonObject{{QStringLiteral("+:model\\.layers\\.0\\."),
                                                       QJsonObject{{QStringLiteral("bits"), 5}}}});
    c.raw = bad;
    QS_VERIFY_ERROR(test::errorOf([&] { hfLayerConfig(c, QStringLiteral("model.layers.0.mlp.up_proj")); }),
                    {QStringLiteral("config.json"), QStringLiteral("bits 5")});
    QCOMPARE(hfLayerConfig(c, QStringLiteral("model.layers.1.mlp.up_proj")).bits, 4);
}

void TestHfQuant::awqRoundTrip()
{
    QS_REQUIRE_DATA(kjv, "kjv7M");
    QS_REQUIRE_DATA(calib, "kjv/valid.txt");
    QS_REQUIRE_DATA(eval, "kjv/test.txt");
    const auto model = Model::open(kjv);
    // kjv7M uses grouped-query attention (v_proj 128 outputs, o_proj 256 inputs): o_proj's AWQ scales
    // could not be folded, so o_proj gets plain RTN as AutoAWQ leaves it unscaled.
    LayerPlan plan = LayerPlan::uniform(*model, makeSpec(QuantMethod::Awq, 4, 128, false));
    for (LayerPlanEntry& e : plan.entries)
        if (e.name.endsWith(u"o_proj"))
            e.spec = makeSpec(QuantMethod::Rtn, 4, 128, false);
    plan.entries.back().spec = floatSpec();
    const QuantizeResult r = runQuantization(model, plan, m_cal, m_tok.get());

    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("awq"));
    HfExportOptions o;
    o.format = HfQuantFormat::Awq;
    const HfExportReport rep = exportHfQuantized(out, *model, r, o);
    QCOMPARE(rep.quantizedLayers, 42);
    QCOMPARE(rep.quantizationConfig.value(QStringLiteral("version")).toString(), QStringLiteral("gemm"));
    QCOMPARE(rep.quantizationConfig.value(QStringLiteral("zero_point")).toBool(), true);
    QVERIFY(rep.foldedTensors.contains(QStringLiteral("model.layers.0.input_layernorm.weight")));
    QVERIFY(rep.foldedTensors.contains(QStringLiteral("model.layers.0.mlp.up_proj")));

    const auto imported = Model::open(out);
    const TensorStore& ts = imported->tensors();
    QCOMPARE(ts.info(QStringLiteral("model.layers.0.mlp.down_proj.qweight")).shape,
             (std::vector<std::int64_t>{768, 256 / 8}));
    QCOMPARE(ts.info(QStringLiteral("model.layers.0.mlp.down_proj.qzeros")).shape,
             (std::vector<std::int64_t>{6, 256 / 8}));
    const double f16Eps = std::ldexp(1.0, -11); // f16 round-to-nearest: relative error <= 2^-11
    for (const DecoderBlockInfo& b : model->blocks()) {
        auto tensor = [&](LinearKind k) -> const QuantizedTensor& {
            return *r.tensors[std::size_t(b.linears[std::size_t(k)])];
        };
        auto back = [&](LinearKind k) {
            const LinearLayerInfo& l = imported->linears()[std::size_t(b.linears[std::size_t(k)])];
            return readQuantizedTensor(ts, l.name, *l.quant, l.outFeatures, l.inFeatures);
        };
        // Layers whose rows were not rescaled: codes, zeros, scales — the dequantized weight — bit for bit.
        for (LinearKind k : {LinearKind::Q, LinearKind::K, LinearKind::V, LinearKind::O, LinearKind::Gate,
                             LinearKind::Down}) {
            const QuantizedTensor q = back(k);
            QVERIFY(q.inputScales.empty());
            QVERIFY(sameBits(q.dequantize(), tensor(k).dequantize()));
        }
        // up_proj carries down_proj's 1/s in its f16 scales.
        const QuantizedTensor up = back(LinearKind::Up);
        const QuantizedTensor& upOurs = tensor(LinearKind::Up);
        const std::vector<float>& sDown = tensor(LinearKind::Down).inputScales;
        QCOMPARE(up.codes, upOurs.unpackedCodes());
        QCOMPARE(up.zeros, upOurs.zeros);
        const std::int64_t g = 2;
        for (std::int64_t row = 0; row < up.rows; ++row)
            for (std::int64_t j = 0; j < g; ++j) {
                const double exact =
                    double(upOurs.scales[std::size_t(row * g + j)]) / sDown[std::size_t(row)];
                QVERIFY(std::abs(up.scales[std::size_t(row * g + j)] - exact) <= f16Eps * std::abs(exact));
            }
        // Norms: g/s rounded to f16.
        for (auto [norm, k] :
             {std::pair{b.inputNorm, LinearKind::Q}, std::pair{b.postAttentionNorm, LinearKind::Gate}}) {
            const std::vector<float> gBase = model->tensors().readF32(norm), gBack = ts.readF32(norm);
            const std::vector<float>& s = tensor(k).inputScales;
            QCOMPARE(ts.info(norm).dtype, DType::F16);
            for (std::size_t j = 0; j < gBase.size(); ++j) {
                const double exact = double(gBase[j]) / s[j];
                QVERIFY(std::abs(gBack[j] - exact) <= f16Eps * std::abs(exact));
            }
        }
    }
    const Transformer t(imported);
    const double pOurs = perplexity(*r.model, *m_tok, eval), pBack = perplexity(t, *m_tok, eval);
    qInfo("AWQ ppl ours %.6f, imported (folded, f16) %.6f, rel diff %.2e", pOurs, pBack,
          std::abs(pOurs - pBack) / pOurs);
    QVERIFY2(std::abs(pOurs - pBack) <= 1e-4 * pOurs,
             qPrintable(QStringLiteral("ppl %1 vs %2").arg(pOurs).arg(pBack)));

    // Scales that cannot be folded: o_proj with AWQ scales under GQA; k_proj with its own scales.
    std::vector<std::shared_ptr<const QuantizedTensor>> bad = r.tensors;
    const DecoderBlockInfo& b0 = model->blocks().front();
    auto withScales = [&](LinearKind k, float v) {
        auto q = std::make_shared<QuantizedTensor>(*r.tensors[std::size_t(b0.linears[std::size_t(k)])]);
        q->inputScales.assign(std::size_t(q->cols), v);
        return q;
    };
    bad[std::size_t(b0.linears[std::size_t(LinearKind::O)])] = withScales(LinearKind::O, 2.0f);
    QS_VERIFY_ERROR(
        test::errorOf([&] { exportHfQuantized(tmp.filePath(QStringLiteral("bad")), *model, bad, o); }),
        {QStringLiteral("model.layers.0.self_attn.o_proj"), QStringLiteral("grouped-query")});
    bad = r.tensors;
    bad[std::size_t(b0.linears[std::size_t(LinearKind::K)])] = withScales(LinearKind::K, 3.0f);
    QS_VERIFY_ERROR(
        test::errorOf([&] { exportHfQuantized(tmp.filePath(QStringLiteral("bad")), *model, bad, o); }),
        {QStringLiteral("model.layers.0.self_attn.k_proj"), QStringLiteral("input_layernorm")});
    QVERIFY(!QFileInfo::exists(tmp.filePath(QStringLiteral("bad"))));
}

void TestHfQuant::awqFoldIntoValueProjection()
{
    // Multi-head attention (v_proj outputs = o_proj inputs): o_proj's scales fold into v_proj.
    QS_REQUIRE_DATA(stories, "stories260K");
    QS_REQUIRE_DATA(calib, "kjv/valid.txt");
    QTemporaryDir tmp;
    SyntheticModelSpec ss;
    ss.hidden = 256;
    ss.intermediate = 256;
    ss.layers = 1;
    ss.heads = 8;
    ss.kvHeads = 8;
    ss.vocab = 512;
    const QString dir = tmp.filePath(QStringLiteral("mha"));
    writeSyntheticModel(dir, ss);
    for (const char* f : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json"})
        QFile::copy(QDir(stories).filePath(QLatin1String(f)), QDir(dir).filePath(QLatin1String(f)));
    const auto model = Model::open(dir);
    const auto tok = Tokenizer::load(stories);
    LayerPlan plan = LayerPlan::uniform(*model, makeSpec(QuantMethod::Awq, 4, 128, false));
    plan.entries.back().spec = floatSpec();
    const QuantizeResult r = runQuantization(model, plan, m_cal, tok.get());
    HfExportOptions o;
    o.format = HfQuantFormat::Awq;
    const QString out = tmp.filePath(QStringLiteral("awq"));
    const HfExportReport rep = exportHfQuantized(out, *model, r, o);
    QVERIFY(rep.foldedTensors.contains(QStringLiteral("model.layers.0.self_attn.v_proj")));
    const auto imported = Model::open(out);
    const DecoderBlockInfo& b = model->blocks().front();
    const std::size_t vi = std::size_t(b.linears[std::size_t(LinearKind::V)]),
                      oi = std::size_t(b.linears[std::size_t(LinearKind::O)]);
    const LinearLayerInfo& vl = imported->linears()[vi];
    const QuantizedTensor v =
        readQuantizedTensor(imported->tensors(), vl.name, *vl.quant, vl.outFeatures, vl.inFeatures);
    const std::vector<float> vOurs = r.tensors[vi]->dequantize(), vBack = v.dequantize();
    const std::vector<float>& sO = r.tensors[oi]->inputScales;
    QVERIFY(!sO.empty());
    double worst = 0;
    for (std::int64_t row = 0; row < v.rows; ++row)
        for (std::int64_t c = 0; c < v.cols; ++c) {
            const double exact = double(vOurs[std::size_t(row * v.cols + c)]) / sO[std::size_t(row)];
            const double d = std::abs(vBack[std::size_t(row * v.cols + c)] - exact);
            worst = std::max(worst, d / std::max(std::abs(exact), 1e-30));
            QVERIFY(d <= std::ldexp(1.0, -11) * std::abs(exact) * 1.0001 + 1e-12);
        }
    qInfo("v_proj folded: max relative deviation %.2e (bound 2^-11 = %.2e)", worst, std::ldexp(1.0, -11));
}

void TestHfQuant::badInput()
{
    QS_REQUIRE_DATA(stories, "stories260K");
    const auto model = Model::open(stories);
    const auto tok = Tokenizer::load(stories);
    CalibrationSettings none;
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("out"));
    HfExportOptions awq;
    awq.format = HfQuantFormat::Awq;
    HfExportOptions gptq;

    // 8-bit codes in an AWQ checkpoint.
    const QuantizeResult r8 = runQuantization(
        model, LayerPlan::uniform(*model, makeSpec(QuantMethod::Rtn, 8, 32, false)), none, tok.get());
    QS_VERIFY_ERROR(
        test::errorOf([&] { exportHfQuantized(out, *model, r8, awq); }),
        {QStringLiteral("model.layers.0.self_attn.q_proj"), QStringLiteral("8-bit"), QStringLiteral("AWQ")});
    // Per-tensor granularity.
    QuantSpec pt = makeSpec(QuantMethod::Rtn, 4, 32, true);
    pt.granularity = Granularity::PerTensor;
    const QuantizeResult rpt = runQuantization(model, LayerPlan::uniform(*model, pt), none, tok.get());
    QS_VERIFY_ERROR(test::errorOf([&] { exportHfQuantized(out, *model, rpt, gptq); }),
                    {QStringLiteral("model.layers.0.self_attn.q_proj"), QStringLiteral("per-tensor")});
    // stories260K's MLP width 172 cannot be packed in whole int32 words.
    const QuantizeResult r4 = runQuantization(
        model, LayerPlan::uniform(*model, makeSpec(QuantMethod::Rtn, 4, 32, true)), none, tok.get());
    QS_VERIFY_ERROR(test::errorOf([&] { exportHfQuantized(out, *model, r4, gptq); }),
                    {QStringLiteral("model.layers.0.mlp.gate_proj"), QStringLiteral("172")});
    // Mixed bits: GPTQ writes GPTQModel `dynamic` overrides (gptqMixedPrecision), so here the
    // first layer it cannot pack is what fails.
    std::vector<std::shared_ptr<const QuantizedTensor>> mixed = r4.tensors;
    mixed[1] = r8.tensors[1];
    QS_VERIFY_ERROR(test::errorOf([&] { exportHfQuantized(out, *model, mixed, gptq); }),
                    {QStringLiteral("model.layers.0.mlp.gate_proj"), QStringLiteral("172")});
    // Activation quantization has no weight-only form.
    QuantSpec dyn = makeSpec(QuantMethod::Dynamic, 8, 0, true);
    const QuantizeResult rd = runQuantization(model, LayerPlan::uniform(*model, dyn), none, tok.get());
    QS_VERIFY_ERROR(test::errorOf([&] { exportHfQuantized(out, *model, rd, gptq); }),
                    {QStringLiteral("model.layers.0.self_attn.q_proj"), QStringLiteral("activations")});
    QVERIFY(!QFileInfo::exists(out));

    // A checkpoint whose config claims AWQ 3-bit is refused naming config.json.
    QTemporaryDir dir;
    QVERIFY(
        test::writeFile(dir.filePath(QStringLiteral("config.json")),
                        R"({"quantization_config": {"quant_method": "awq", "bits": 3, "group_size": 128}})"));
    QS_VERIFY_ERROR(test::errorOf([&] { readHfQuantConfig(dir.path()); }),
                    {QStringLiteral("config.json"), QStringLiteral("4-bit")});
}

void TestHfQuant::cli()
{
    QS_REQUIRE_DATA(stories, "stories260K");
    const test::CliResult help = test::runCli({QStringLiteral("export-hf"), QStringLiteral("--help")}, 60000);
    if (help.exitCode != 0)
        QSKIP("export-hf is not registered in app/cli/main.cpp yet");
    const auto model = Model::open(stories);
    const auto tok = Tokenizer::load(stories);
    // Quantize only attention q/k/v/o (64-wide) so the GPTQ packing fits; MLP stays float.
    LayerPlan plan = LayerPlan::uniform(*model, makeSpec(QuantMethod::Rtn, 4, 32, true));
    for (LayerPlanEntry& e : plan.entries)
        if (!e.name.contains(u"self_attn") || e.name.endsWith(u"k_proj") || e.name.endsWith(u"v_proj"))
            e.spec = floatSpec();
    const QuantizeResult r = runQuantization(model, plan, CalibrationSettings(), tok.get());
    QTemporaryDir tmp;
    const QString run = tmp.filePath(QStringLiteral("run")), out = tmp.filePath(QStringLiteral("hf"));
    saveQuantizedModel(run, *model, r, QJsonObject());
    const test::CliResult res = test::runCli({QStringLiteral("export-hf"), run, QStringLiteral("--format"),
                                              QStringLiteral("gptq"), QStringLiteral("--out"), out});
    QVERIFY2(res.exitCode == 0, res.err.constData());
    const auto imported = Model::open(out);
    for (std::size_t i = 0; i < r.tensors.size(); ++i) {
        const LinearLayerInfo& l = imported->linears()[i];
        if (!l.quant)
            continue;
        const QuantizedTensor q =
            readQuantizedTensor(imported->tensors(), l.name, *l.quant, l.outFeatures, l.inFeatures);
        QVERIFY(sameBits(q.dequantize(), r.tensors[i]->dequantize()));
    }
    const test::CliResult usage = test::runCli({QStringLiteral("export-hf"), run, QStringLiteral("--format"),
                                                QStringLiteral("exl2"), QStringLiteral("--out"), out + u"2"});
    QCOMPARE(usage.exitCode, 2);
    const test::CliResult missing = test::runCli(
        {QStringLiteral("export-hf"), tmp.filePath(QStringLiteral("nope")), QStringLiteral("--format"),
         QStringLiteral("awq"), QStringLiteral("--out"), out + u"2"});
    QCOMPARE(missing.exitCode, 1);
    QVERIFY(missing.err.contains("nope"));
}

QTEST_GUILESS_MAIN(TestHfQuant)
#include "tst_hfquant.moc"
