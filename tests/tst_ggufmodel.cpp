// GGUF files opened as models, and the gguf quantization method.
//
// Import: a GGUF written at run time from kjv7M (and stories260K) opens as a model with the HF
// structure, its layers' ggml types shown as gguf specs, q/k rows un-permuted (an F32 export
// reads back bit-identical to the HF tensors and gives the same logits), quantized tensors
// dequantized exactly as ggml does, and its tokenizer from the metadata. Re-exporting a GGUF
// without a preset copies every tensor byte for byte.
//
// Method: QuantSpec gguf specs (names, JSON, cost, llama.cpp's row fallback in plans), the
// quantizer producing ggml's bytes, a run saved and read back, and a run exported to GGUF
// byte-identical to exporting the float model with the same per-tensor types.
//
// Bad input: truncated files, another architecture, a type we cannot read, a plan mixing GPTQ
// into a GGUF export.
#include "TestSupport.h"
#include "io/Gguf.h"
#include "checkpoint/GgufExport.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "kernels/GgmlQuants.h"
#include "quant/QuantizeJob.h"
#include "model/QuantizedLinear.h"
#include "checkpoint/QuantizedModelIO.h"
#include "quant/Quantizer.h"
#include "recipe/Recipe.h"
#include "recipe/RecipeExport.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"

#include <QCryptographicHash>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace qs;
using qs::test::errorOf;

namespace {

/// SHA-256 of each tensor's data, by name.
QHash<QString, QByteArray> tensorDigests(const GgufFile& f)
{
    QHash<QString, QByteArray> out;
    for (const GgufTensor& t : f.tensors())
        out.insert(t.name, QCryptographicHash::hash(
                               QByteArrayView(reinterpret_cast<const char*>(f.data(t)), qsizetype(t.bytes)),
                               QCryptographicHash::Sha256));
    return out;
}

std::vector<float> logitsOf(std::shared_ptr<const Model> m, const std::vector<int>& tokens)
{
    Transformer t(std::move(m));
    KvCache cache = t.makeCache(int(tokens.size()));
    std::vector<float> logits(tokens.size() * std::size_t(t.vocabSize()));
    t.forward(cache, tokens.data(), int(tokens.size()), logits.data());
    return logits;
}

void exportTo(const Model& m, const GgufExportPlan& plan, const QString& path)
{
    exportGguf(m, plan, path, nullptr, JobContext());
}

} // namespace

class TestGgufModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_kjvPath = qs::test::dataPath(QStringLiteral("kjv7M"));
        m_storiesPath = qs::test::dataPath(QStringLiteral("stories260K"));
        if (!m_kjvPath.isEmpty())
            m_kjv = Model::open(m_kjvPath);
    }

    void specNamesAndCost()
    {
        const QuantSpec q4k = QuantSpec::ggml(GgmlType::Q4_K);
        QCOMPARE(q4k.bits, 4);
        QCOMPARE(q4k.groupSize, 256);
        QVERIFY(!q4k.symmetric); // Q4_K stores a minimum
        QVERIFY(QuantSpec::ggml(GgmlType::Q6_K).symmetric);
        QCOMPARE(q4k.shortName(), QStringLiteral("gguf-q4_k"));
        QCOMPARE(QuantSpec::ggml(GgmlType::Q3_K, true).shortName(), QStringLiteral("gguf-q3_k-imat"));
        QCOMPARE(QuantSpec::fromShortName(QStringLiteral("gguf-q5_0")), QuantSpec::ggml(GgmlType::Q5_0));
        QCOMPARE(QuantSpec::fromShortName(QStringLiteral("gguf-iq4_xs-imat")),
                 QuantSpec::ggml(GgmlType::IQ4_XS, true));
        QCOMPARE(q4k.label(), QStringLiteral("gguf Q4_K"));
        QVERIFY(q4k.validate().isEmpty());
        QVERIFY(!q4k.needsCalibration());
        QVERIFY(QuantSpec::ggml(GgmlType::Q4_K, true).needsCalibration());
        // 256 × 1024 Q4_K: 4 blocks of 144 bytes per row.
        QCOMPARE(q4k.cost(256, 1024).total(), std::uint64_t(256 * 4 * 144));
        QCOMPARE(QuantSpec::ggml(GgmlType::Q8_0).cost(10, 64).total(), std::uint64_t(10 * 2 * 34));
        // JSON round trip, and the type deciding bits and groups.
        const QuantSpec back =
            QuantSpec::fromJson(QuantSpec::ggml(GgmlType::Q2_K, true).toJson(), QStringLiteral("t"));
        QCOMPARE(back, QuantSpec::ggml(GgmlType::Q2_K, true));
        QS_VERIFY_ERROR(errorOf([] {
                            QuantSpec::fromJson(
                                QJsonObject{{QStringLiteral("method"), QStringLiteral("gguf")},
                                            {QStringLiteral("type"), QStringLiteral("Q4_K")},
                                            {QStringLiteral("bits"), 3}},
                                QStringLiteral("r.json: rules[0]"));
                        }),
                        {QStringLiteral("r.json: rules[0]"), QStringLiteral("bits"), QStringLiteral("type")});
        QS_VERIFY_ERROR(errorOf([] {
                            QuantSpec::fromJson(
                                QJsonObject{{QStringLiteral("method"), QStringLiteral("gguf")},
                                            {QStringLiteral("type"), QStringLiteral("Q7_K")}},
                                QStringLiteral("r.json: defaults"));
                        }),
                        {QStringLiteral("Q7_K"), QStringLiteral("Q4_K")});
        QS_VERIFY_ERROR(errorOf([] { QuantSpec::fromShortName(QStringLiteral("gguf-q8_k")); }),
                        {QStringLiteral("Q8_K"), QStringLiteral("cannot be produced")});
        QS_VERIFY_ERROR(errorOf([] { QuantSpec::fromShortName(QStringLiteral("gguf")); }),
                        {QStringLiteral("gguf-TYPE")});
    }

    void rowFallbackInPlans()
    {
        QS_REQUIRE_DATA(stories, "stories260K");
        const auto model = Model::open(stories);
        // stories260K: rows of 64 (attention, gate/up) and 172 (down). Q4_K → Q5_0 for 64, and
        // Q5_0's 32-block does not divide 172 either: F16, as llama-quantize's fallback does.
        const Recipe r = Recipe::fromJson(R"({"version": 1, "defaults": {"method": "gguf", "type": "Q4_K"}})",
                                          QStringLiteral("q4k.json"));
        const LayerPlan plan = r.resolve(*model);
        for (const LayerPlanEntry& e : plan.entries) {
            const LinearLayerInfo& l = model->linears()[std::size_t(e.linearIndex)];
            if (l.inFeatures == 172) {
                QCOMPARE(e.spec.method, QuantMethod::Float);
                QCOMPARE(e.spec.floatType, DType::F16);
            } else {
                QCOMPARE(e.spec, QuantSpec::ggml(GgmlType::Q5_0));
            }
            QVERIFY2(e.note.contains(QStringLiteral("fallback")), qPrintable(e.note));
        }
        // A legacy type has no fallback: the error names the layer and the row length.
        const Recipe bad = Recipe::fromJson(
            R"({"version": 1, "defaults": {"method": "gguf", "type": "Q4_0"}})", QStringLiteral("q40.json"));
        QS_VERIFY_ERROR(errorOf([&] { bad.resolve(*model); }),
                        {QStringLiteral("q40.json"), QStringLiteral("down_proj"), QStringLiteral("172")});
        // Uniform plans (the sensitivity sweep's path) fit the same way.
        const LayerPlan uni = LayerPlan::uniform(*model, QuantSpec::ggml(GgmlType::Q6_K));
        QCOMPARE(uni.entries.front().spec, QuantSpec::ggml(GgmlType::Q8_0));
    }

    void quantizerMatchesGgml()
    {
        if (!m_kjv)
            QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral("kjv7M"))));
        const LinearLayerInfo& l = m_kjv->linears()[4]; // gate_proj of block 0
        const std::vector<float> w = m_kjv->tensors().readF32(l.weight);
        for (const GgmlType type : {GgmlType::Q4_K, GgmlType::Q2_K, GgmlType::Q5_0, GgmlType::IQ4_XS}) {
            QuantizeRequest req;
            req.layerName = l.name;
            req.weight = w.data();
            req.rows = l.outFeatures;
            req.cols = l.inFeatures;
            req.spec = QuantSpec::ggml(type);
            const QuantizedTensor q = quantizeWeight(req);
            std::vector<std::uint8_t> expected(std::size_t(l.outFeatures) * ggmlRowBytes(type, l.inFeatures));
            ggmlQuantizeRows(type, w.data(), expected.data(), l.outFeatures, l.inFeatures);
            QVERIFY(q.ggmlData == expected);
            QCOMPARE(q.storageBytes(), std::uint64_t(expected.size()));
            std::vector<float> deq(w.size());
            for (std::int64_t r = 0; r < l.outFeatures; ++r)
                ggmlDequantizeRow(type, expected.data() + std::size_t(r) * ggmlRowBytes(type, l.inFeatures),
                                  deq.data() + r * l.inFeatures, l.inFeatures);
            QVERIFY(q.dequantize() == deq);
        }
        // With importance: needs statistics, and they change the bytes of an imatrix-sensitive type.
        QuantizeRequest req;
        req.layerName = l.name;
        req.weight = w.data();
        req.rows = l.outFeatures;
        req.cols = l.inFeatures;
        req.spec = QuantSpec::ggml(GgmlType::Q3_K, true);
        QS_VERIFY_ERROR(errorOf([&] { quantizeWeight(req); }), {l.name, QStringLiteral("calibration")});
    }

    void f32ExportReadsBackExactly()
    {
        if (!m_kjv)
            QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral("kjv7M"))));
        const QString path = m_dir.filePath(QStringLiteral("kjv-f32.gguf"));
        exportTo(*m_kjv, ggufPreset(*m_kjv, QStringLiteral("F32")), path);
        const auto g = Model::open(path);
        QVERIFY(g->ggufFile());
        QVERIFY(!g->isQuantized());
        QCOMPARE(g->config().hiddenSize, m_kjv->config().hiddenSize);
        QCOMPARE(g->config().numKvHeads, m_kjv->config().numKvHeads);
        QCOMPARE(g->config().headDim, m_kjv->config().headDim);
        QCOMPARE(g->config().ropeTheta, m_kjv->config().ropeTheta);
        QCOMPARE(g->config().tieWordEmbeddings, m_kjv->config().tieWordEmbeddings);
        QCOMPARE(g->linears().size(), m_kjv->linears().size());
        QVERIFY(g->unusedTensors().isEmpty());
        QCOMPARE(g->totals().params, m_kjv->totals().params);
        // Every tensor, q/k included (permuted in the file), reads back bit-identical.
        for (const QString& name : m_kjv->tensors().names())
            QVERIFY2(g->tensors().readF32(name) == m_kjv->tensors().readF32(name), qPrintable(name));
        // Rows read one at a time follow the un-permuted order too.
        const QString q = QStringLiteral("model.layers.2.self_attn.q_proj.weight");
        const std::vector<float> all = m_kjv->tensors().readF32(q);
        const std::int64_t cols = m_kjv->tensors().info(q).cols();
        std::vector<float> row(static_cast<std::size_t>(cols));
        g->tensors().readRowsF32(q, 37, 1, row.data());
        QVERIFY(std::equal(row.begin(), row.end(), all.begin() + 37 * cols));
        // Same logits, and the tokenizer from the metadata gives the tokenizer.json ids.
        const auto tokHf = Tokenizer::load(m_kjvPath);
        const auto tokGguf = Tokenizer::load(path);
        const std::string text = "In the beginning God created the heaven and the earth.";
        const std::vector<int> ids = tokHf->encode(text, true);
        QCOMPARE(tokGguf->encode(text, true), ids);
        QVERIFY(logitsOf(g, ids) == logitsOf(m_kjv, ids));
        QCOMPARE(g->architectureFingerprint(), Model::open(path)->architectureFingerprint());
    }

    void quantizedGgufImport()
    {
        if (!m_kjv)
            QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral("kjv7M"))));
        const QString path = m_dir.filePath(QStringLiteral("kjv-q4km.gguf"));
        const GgufExportPlan plan = ggufPreset(*m_kjv, QStringLiteral("Q4_K_M"));
        exportTo(*m_kjv, plan, path);
        const auto g = Model::open(path);
        QVERIFY(g->isQuantized());
        const auto file = GgufFile::open(path);
        for (std::size_t i = 0; i < g->linears().size(); ++i) {
            const LinearLayerInfo& l = g->linears()[i];
            const GgmlType type = plan.typeOf(ggufTensorName(*m_kjv, int(i)));
            QVERIFY2(l.quant.has_value(), qPrintable(l.name));
            QCOMPARE(l.quant->method, QuantMethod::Ggml);
            QCOMPARE(l.quant->ggmlType, type);
            QCOMPARE(l.bytes(), std::uint64_t(file->findTensor(ggufTensorName(*m_kjv, int(i)))->bytes));
        }
        QCOMPARE(g->tensors().info(g->embeddingTensor()).typeName(), QStringLiteral("Q4_K"));
        // The layer's dequantized weight is ggml's dequantization of ggml's quantization of the HF
        // rows (q/k: rows un-permuted back).
        for (const int li : {1, 4, 6}) {
            const LinearLayerInfo& l = m_kjv->linears()[std::size_t(li)];
            const GgmlType type = g->linears()[std::size_t(li)].quant->ggmlType;
            const std::vector<float> w = m_kjv->tensors().readF32(l.weight);
            std::vector<std::uint8_t> blocks(std::size_t(l.outFeatures) * ggmlRowBytes(type, l.inFeatures));
            ggmlQuantizeRows(type, w.data(), blocks.data(), l.outFeatures, l.inFeatures);
            std::vector<float> expected(w.size());
            ggmlDequantizeRow(type, blocks.data(), expected.data(), std::int64_t(w.size()));
            QVERIFY2(g->tensors().readF32(l.weight) == expected, qPrintable(l.name));
            const QuantizedTensor q = readQuantizedTensor(
                g->tensors(), l.name, *g->linears()[std::size_t(li)].quant, l.outFeatures, l.inFeatures);
            QVERIFY(q.ggmlData == blocks);
        }
        // It runs: logits close to the float model's, not equal.
        const auto tok = Tokenizer::load(path);
        const std::vector<int> ids =
            tok->encode("And God said, Let there be light: and there was light.", true);
        const std::vector<float> a = logitsOf(g, ids), b = logitsOf(m_kjv, ids);
        double num = 0, den = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
            den += double(b[i]) * b[i];
        }
        QVERIFY(num > 0);
        QVERIFY2(num / den < 1e-2, qPrintable(QString::number(num / den)));

        // The plan the workbench starts from for this file resolves to exactly the stored types.
        const Recipe stored = recipeForStoredModel(*g, QStringLiteral("stored"));
        QVERIFY(!stored.rules.empty()); // Q4_K_M mixes Q4_K with Q6_K
        const LayerPlan storedPlan = stored.resolve(*g);
        for (std::size_t i = 0; i < g->linears().size(); ++i)
            QCOMPARE(storedPlan.entries[i].spec, *g->linears()[i].quant);
        QVERIFY(recipeForStoredModel(*m_kjv, QStringLiteral("x")).rules.empty());

        // Re-exporting without a preset keeps every stored type and copies the blocks.
        GgufExportPlan keep = ggufPreset(*g, QStringLiteral("F16"));
        QCOMPARE(ggufKeepStoredTypes(*g, keep), 1 + int(g->linears().size()));
        const QString again = m_dir.filePath(QStringLiteral("kjv-q4km-again.gguf"));
        exportTo(*g, keep, again);
        QCOMPARE(tensorDigests(*GgufFile::open(again)), tensorDigests(*file));
        QCOMPARE(GgufFile::open(again)->getStrings(QStringLiteral("tokenizer.ggml.tokens")),
                 file->getStrings(QStringLiteral("tokenizer.ggml.tokens")));
    }

    void ggufRunExportsItsBlocks()
    {
        if (!m_kjv)
            QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral("kjv7M"))));
        // A run with gguf layers (mixed types, a float layer) saved as a QuantScope checkpoint …
        const Recipe r = Recipe::fromJson(R"({"version": 1, "defaults": {"method": "gguf", "type": "Q4_K"},
            "rules": [{"match": "mlp\\.down_proj$", "method": "gguf", "type": "Q6_K"},
                      {"match": "layers\\.0\\.self_attn\\.v_proj$", "method": "float", "dtype": "f16"},
                      {"match": "layers\\.1\\.", "method": "gguf", "type": "Q5_0"}]})",
                                          QStringLiteral("mixed.json"));
        const LayerPlan plan = r.resolve(*m_kjv);
        const QuantizeResult res = runQuantization(m_kjv, plan, CalibrationSettings(), nullptr);
        const QString runDir = m_dir.filePath(QStringLiteral("run-mixed"));
        saveQuantizedModel(runDir, *m_kjv, res, QJsonObject(), QJsonObject());
        const auto run = Model::open(runDir);
        for (std::size_t i = 0; i < run->linears().size(); ++i) {
            const QuantSpec& planned = plan.entries[i].spec;
            QCOMPARE(run->linears()[i].quant->toJson(), planned.toJson());
            const QuantizedTensor back = readQuantizedTensor(run->tensors(), run->linears()[i].name, planned,
                                                             res.tensors[i]->rows, res.tensors[i]->cols);
            QVERIFY(back.ggmlData == res.tensors[i]->ggmlData);
        }
        // … exports to the same bytes as the float model exported with the same per-tensor types.
        GgufExportPlan fromRun = ggufPreset(*run, QStringLiteral("Q8_0"));
        QCOMPARE(ggufKeepStoredTypes(*run, fromRun), int(run->linears().size()));
        const QString a = m_dir.filePath(QStringLiteral("from-run.gguf"));
        exportTo(*run, fromRun, a);
        GgufExportPlan direct = ggufPreset(*m_kjv, QStringLiteral("Q8_0"));
        ggufApplyLayerPlan(*m_kjv, direct, plan);
        const QString b = m_dir.filePath(QStringLiteral("direct.gguf"));
        exportTo(*m_kjv, direct, b);
        const auto fa = GgufFile::open(a), fb = GgufFile::open(b);
        QCOMPARE(tensorDigests(*fa), tensorDigests(*fb));
        QCOMPARE(fa->findTensor(QStringLiteral("blk.0.attn_v.weight"))->type, GgmlType::F16);
        QCOMPARE(fa->findTensor(QStringLiteral("blk.1.attn_q.weight"))->type, GgmlType::Q5_0);
        QCOMPARE(fa->findTensor(QStringLiteral("blk.3.ffn_down.weight"))->type, GgmlType::Q6_K);
        QCOMPARE(fa->findTensor(QStringLiteral("token_embd.weight"))->type, GgmlType::Q8_0);

        // GPTQ layers have no GGUF type: the plan is refused, naming the layer.
        const Recipe g = Recipe::fromJson(R"({"version": 1, "defaults": {"method": "gguf", "type": "Q4_K"},
            "rules": [{"match": "layers\\.2\\.mlp\\.up_proj$", "method": "rtn", "bits": 4}]})",
                                          QStringLiteral("g.json"));
        GgufExportPlan bad = ggufPreset(*m_kjv, QStringLiteral("Q8_0"));
        QS_VERIFY_ERROR(errorOf([&] { ggufApplyLayerPlan(*m_kjv, bad, g.resolve(*m_kjv)); }),
                        {QStringLiteral("model.layers.2.mlp.up_proj"), QStringLiteral("rtn")});
    }

    void badFiles()
    {
        if (!m_kjv)
            QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral("kjv7M"))));
        const QString good = m_dir.filePath(QStringLiteral("kjv-f32.gguf"));
        if (!QFile::exists(good))
            exportTo(*m_kjv, ggufPreset(*m_kjv, QStringLiteral("F32")), good);
        QFile f(good);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray bytes = f.readAll();

        const QString truncated = m_dir.filePath(QStringLiteral("truncated.gguf"));
        QVERIFY(qs::test::writeFile(truncated, bytes.left(bytes.size() / 2)));
        QS_VERIFY_ERROR(errorOf([&] { Model::open(truncated); }), {QStringLiteral("truncated.gguf")});

        const QString notModel = m_dir.filePath(QStringLiteral("notes.txt"));
        QVERIFY(qs::test::writeFile(notModel, "hello"));
        QS_VERIFY_ERROR(errorOf([&] { Model::open(notModel); }),
                        {QStringLiteral("notes.txt"), QStringLiteral("GGUF")});

        // Another architecture, and a tensor type we can only name.
        const auto src = GgufFile::open(good);
        auto rewrite = [&](const QString& name, const std::function<void(GgufWriter&)>& edit, bool iq2) {
            GgufWriter w;
            for (const GgufKeyValue& kv : src->metadata())
                w.set(kv.key, kv.value);
            edit(w);
            for (const GgufTensor& t : src->tensors()) {
                const bool swap = iq2 && t.name == u"blk.0.ffn_up.weight";
                const GgmlType type = swap ? GgmlType::IQ2_XXS : t.type;
                const std::uint64_t bytes = *ggufTensorBytes(type, t.dims);
                const unsigned char* data = src->data(t);
                w.addTensor(t.name, type, t.dims, [=](const GgufWriter::Sink& sink) {
                    if (swap) {
                        const std::vector<unsigned char> zeros(bytes, 0);
                        sink(zeros.data(), zeros.size());
                    } else {
                        sink(data, bytes);
                    }
                });
            }
            const QString path = m_dir.filePath(name);
            w.write(path);
            return path;
        };
        const QString gpt = rewrite(
            QStringLiteral("gpt2arch.gguf"),
            [](GgufWriter& w) { w.set(QStringLiteral("general.architecture"), GgufValue("gpt2")); }, false);
        QS_VERIFY_ERROR(errorOf([&] { Model::open(gpt); }),
                        {QStringLiteral("gpt2arch.gguf"), QStringLiteral("gpt2")});
        const QString iq2 = rewrite(
            QStringLiteral("iq2.gguf"), [](GgufWriter&) {}, true);
        QS_VERIFY_ERROR(errorOf([&] { Model::open(iq2); }),
                        {QStringLiteral("iq2.gguf"), QStringLiteral("IQ2_XXS"), QStringLiteral("up_proj")});
        const QString noHeads = rewrite(
            QStringLiteral("noheads.gguf"),
            [](GgufWriter& w) {
                w.set(QStringLiteral("llama.attention.head_count"), GgufValue(std::uint32_t(0)));
            },
            false);
        QS_VERIFY_ERROR(errorOf([&] { Model::open(noHeads); }),
                        {QStringLiteral("noheads.gguf"), QStringLiteral("llama.attention.head_count")});
        // A quantized copy of a GGUF model cannot be saved as an HF folder (no config.json to copy).
        const auto g = Model::open(good);
        QS_VERIFY_ERROR(errorOf([&] {
                            saveQuantizedModel(m_dir.filePath(QStringLiteral("x")), *g, QuantizeResult(), {},
                                               {});
                        }),
                        {QStringLiteral("kjv-f32.gguf"), QStringLiteral("GGUF")});
    }

    void llamaCppNumerics()
    {
        if (!m_kjv)
            QSKIP(qPrintable(qs::test::skipMessage(QStringLiteral("kjv7M"))));
        // The input rounding of a Q8_0 weight's dot product: ggml's Q8_0 of each input row.
        const std::int64_t in = 64, out = 5, n = 3;
        std::vector<float> w(std::size_t(in * out)), x(std::size_t(in * n));
        for (std::size_t i = 0; i < w.size(); ++i)
            w[i] = float(std::sin(0.37 * double(i)));
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = float(std::cos(0.11 * double(i)) * (1.0 + double(i % 7)));
        auto dense = std::make_shared<DenseLinear>(in, out, w);
        const GgmlVecDotLinear wrapped(dense, GgmlType::Q8_0);
        std::vector<std::uint8_t> blocks(std::size_t(n) * ggmlRowBytes(GgmlType::Q8_0, in));
        ggmlQuantizeRows(GgmlType::Q8_0, x.data(), blocks.data(), n, in);
        std::vector<float> rounded(x.size()), expected(std::size_t(n * out)), got(expected.size());
        ggmlDequantizeRow(GgmlType::Q8_0, blocks.data(), rounded.data(), n * in);
        QVERIFY(rounded != x);
        dense->forward(rounded.data(), n, expected.data());
        wrapped.forward(x.data(), n, got.data());
        QVERIFY(got == expected);
        // A whole GGUF model: close to the plain computation, not equal (activations, f16 KV).
        const QString path = m_dir.filePath(QStringLiteral("kjv-numerics.gguf"));
        exportTo(*m_kjv, ggufPreset(*m_kjv, QStringLiteral("Q4_K_M")), path);
        const auto g = Model::open(path);
        const std::vector<int> ids =
            Tokenizer::load(path)->encode("Blessed are the meek: for they shall inherit the earth.", true);
        Transformer plain(g), imitated(g);
        imitated.setLlamaCppNumerics();
        QVERIFY(imitated.llamaCppNumerics());
        auto run = [&](const Transformer& t) {
            KvCache cache = t.makeCache(int(ids.size()));
            std::vector<float> logits(ids.size() * std::size_t(t.vocabSize()));
            t.forward(cache, ids.data(), int(ids.size()), logits.data());
            return logits;
        };
        const std::vector<float> a = run(plain), b = run(imitated);
        double num = 0, den = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
            den += double(a[i]) * a[i];
        }
        QVERIFY(num > 0);
        QVERIFY2(num / den < 1e-4, qPrintable(QString::number(num / den)));
    }

    void storiesEvaluatesLikeTheHfModel()
    {
        QS_REQUIRE_DATA(stories, "stories260K");
        const auto hf = Model::open(stories);
        const QString path = m_dir.filePath(QStringLiteral("stories-f32.gguf"));
        exportTo(*hf, ggufPreset(*hf, QStringLiteral("F32")), path);
        const auto g = Model::open(path);
        QVERIFY(g->headTied());
        const auto tok = Tokenizer::load(path);
        const std::vector<int> ids =
            tok->encode("Once upon a time, there was a little girl named Lily.", true);
        QCOMPARE(ids, Tokenizer::load(stories)->encode(
                          "Once upon a time, there was a little girl named Lily.", true));
        QVERIFY(logitsOf(g, ids) == logitsOf(hf, ids));
    }

private:
    QTemporaryDir m_dir;
    QString m_kjvPath, m_storiesPath;
    std::shared_ptr<const Model> m_kjv;
};

QTEST_GUILESS_MAIN(TestGgufModel)
#include "tst_ggufmodel.moc"
