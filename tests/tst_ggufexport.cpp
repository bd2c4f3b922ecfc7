// GGUF export of Hugging Face models: names, shapes, per-tensor types, metadata and tokenizer of
// the written file; the q/k row permutation; llama-quantize's preset mixes; dequantized weights
// close to the source; errors that leave no file behind.
//
// The expected preset tables below are llama-quantize's own choices (llama.cpp c392e50,
// llama_tensor_get_type), measured by running `llama-quantize OURS-F32.gguf OUT.gguf <PRESET>` on
// our F32 export of each model and listing the result's tensor types: kjv7M (hidden 256, 6 layers,
// untied head) shows the use_more_bits bumps; stories260K (hidden 64, ffn 172, 5 layers, tied head)
// shows the fallback for rows that are not a multiple of 256 (and llama-quantize refusing Q8_0 and
// Q4_0 because 172 is not a multiple of 32).
#include "TestSupport.h"
#include "checkpoint/GgufExport.h"
#include "checkpoint/GgufSizeReport.h"
#include "io/Gguf.h"
#include "kernels/GgmlQuants.h"
#include "model/Model.h"
#include "model/SyntheticModel.h"
#include "recipe/Recipe.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>

using namespace qs;

namespace {

using qs::test::errorOf;

/// Expected types by tensor: `spec` is "token_embd=Q8_0 attn_q=Q5_0 attn_v=Q5_0,Q5_0,Q8_0,Q5_0,Q8_0 …",
/// one type for every block or one per block.
QHash<QString, QString> expandTable(const QString& spec, int layers)
{
    QHash<QString, QString> out;
    for (const QString& item : spec.split(u' ', Qt::SkipEmptyParts)) {
        const QString key = item.section(u'=', 0, 0);
        const QStringList types = item.section(u'=', 1).split(u',');
        if (key == u"token_embd" || key == u"output") {
            out.insert(key + u".weight", types.front());
            continue;
        }
        for (int b = 0; b < layers; ++b)
            out.insert(QStringLiteral("blk.%1.%2.weight").arg(b).arg(key),
                       types.size() == 1 ? types.front() : types.at(b));
    }
    return out;
}

const char* const kStoriesTables[][2] = {
    {"F16",
     "token_embd=F16 attn_q=F16 attn_k=F16 attn_v=F16 attn_output=F16 ffn_gate=F16 ffn_up=F16 ffn_down=F16"},
    {"F32",
     "token_embd=F32 attn_q=F32 attn_k=F32 attn_v=F32 attn_output=F32 ffn_gate=F32 ffn_up=F32 ffn_down=F32"},
    {"Q4_K_M", "token_embd=Q8_0 attn_q=Q5_0 attn_k=Q5_0 attn_v=Q5_0,Q5_0,Q8_0,Q5_0,Q8_0 attn_output=Q5_0 "
               "ffn_gate=Q5_0 ffn_up=Q5_0 ffn_down=F16"},
    {"Q5_K_M", "token_embd=Q8_0 attn_q=Q5_1 attn_k=Q5_1 attn_v=Q5_1,Q5_1,Q8_0,Q5_1,Q8_0 attn_output=Q5_1 "
               "ffn_gate=Q5_1 ffn_up=Q5_1 ffn_down=F16"},
    {"Q3_K_M", "token_embd=Q8_0 attn_q=IQ4_NL attn_k=IQ4_NL attn_v=Q5_1,Q5_1,Q5_0,Q5_0,Q5_0 attn_output=Q5_0 "
               "ffn_gate=IQ4_NL ffn_up=IQ4_NL ffn_down=F16"},
    {"Q6_K", "token_embd=Q8_0 attn_q=Q8_0 attn_k=Q8_0 attn_v=Q8_0 attn_output=Q8_0 ffn_gate=Q8_0 ffn_up=Q8_0 "
             "ffn_down=F16"},
    {"Q2_K", "token_embd=Q8_0 attn_q=IQ4_NL attn_k=IQ4_NL attn_v=IQ4_NL attn_output=IQ4_NL ffn_gate=IQ4_NL "
             "ffn_up=IQ4_NL ffn_down=F16"},
};

const char* const kKjvTables[][2] = {
    {"F16",
     "token_embd=F16 output=F16 attn_q=F16 attn_k=F16 attn_v=F16 attn_output=F16 ffn_gate=F16 ffn_up=F16 "
     "ffn_down=F16"},
    {"Q8_0", "token_embd=Q8_0 output=Q8_0 attn_q=Q8_0 attn_k=Q8_0 attn_v=Q8_0 attn_output=Q8_0 ffn_gate=Q8_0 "
             "ffn_up=Q8_0 ffn_down=Q8_0"},
    {"Q4_0", "token_embd=Q4_0 output=Q6_K attn_q=Q4_0 attn_k=Q4_0 attn_v=Q4_0 attn_output=Q4_0 ffn_gate=Q4_0 "
             "ffn_up=Q4_0 ffn_down=Q4_0"},
    {"Q4_K_M", "token_embd=Q4_K output=Q6_K attn_q=Q4_K attn_k=Q4_K attn_v=Q4_K,Q4_K,Q6_K,Q4_K,Q4_K,Q6_K "
               "attn_output=Q4_K ffn_gate=Q4_K ffn_up=Q4_K ffn_down=Q4_K,Q4_K,Q6_K,Q4_K,Q4_K,Q6_K"},
    {"Q5_K_M", "token_embd=Q5_K output=Q6_K attn_q=Q5_K attn_k=Q5_K attn_v=Q5_K,Q5_K,Q6_K,Q5_K,Q5_K,Q6_K "
               "attn_output=Q5_K ffn_gate=Q5_K ffn_up=Q5_K ffn_down=Q5_K,Q5_K,Q6_K,Q5_K,Q5_K,Q6_K"},
    {"Q3_K_M", "token_embd=Q3_K output=Q6_K attn_q=Q3_K attn_k=Q3_K attn_v=Q5_K,Q5_K,Q4_K,Q4_K,Q4_K,Q4_K "
               "attn_output=Q4_K ffn_gate=Q3_K ffn_up=Q3_K ffn_down=Q4_K"},
    {"Q6_K", "token_embd=Q6_K output=Q6_K attn_q=Q6_K attn_k=Q6_K attn_v=Q6_K attn_output=Q6_K ffn_gate=Q6_K "
             "ffn_up=Q6_K ffn_down=Q6_K"},
    {"Q2_K", "token_embd=Q2_K output=Q6_K attn_q=Q2_K attn_k=Q2_K attn_v=Q3_K attn_output=Q3_K ffn_gate=Q2_K "
             "ffn_up=Q2_K ffn_down=Q3_K"},
    // llama.cpp 34af94c (same rules as c392e50 for these); 2 query heads per kv head and 6 layers: no
    // attn_v or ffn_down bump (a 1B shape with 4 per kv head gets Q5_K attn_v, checked by hand).
    {"IQ4_XS", "token_embd=IQ4_XS output=Q6_K attn_q=IQ4_XS attn_k=IQ4_XS attn_v=IQ4_XS attn_output=IQ4_XS "
               "ffn_gate=IQ4_XS ffn_up=IQ4_XS ffn_down=IQ4_XS"},
    {"IQ4_NL", "token_embd=IQ4_NL output=Q6_K attn_q=IQ4_NL attn_k=IQ4_NL attn_v=IQ4_NL attn_output=IQ4_NL "
               "ffn_gate=IQ4_NL ffn_up=IQ4_NL ffn_down=IQ4_NL"},
};

std::vector<float> dequantize(const GgufFile& f, const GgufTensor& t)
{
    std::vector<float> out(std::size_t(t.numel()));
    const std::size_t rowBytes = ggmlRowBytes(t.type, t.rowLength());
    for (std::int64_t r = 0; r < t.rows(); ++r)
        ggmlDequantizeRow(t.type, f.data(t) + std::size_t(r) * rowBytes, out.data() + r * t.rowLength(),
                          t.rowLength());
    return out;
}

double relativeRms(const std::vector<float>& a, const std::vector<float>& b)
{
    double num = 0, den = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        num += double(a[i] - b[i]) * double(a[i] - b[i]);
        den += double(b[i]) * double(b[i]);
    }
    return std::sqrt(num / std::max(den, 1e-30));
}

} // namespace

class TestGgufExport : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void storiesPresets_data();
    void storiesPresets();
    void kjvPresetTable_data();
    void kjvPresetTable();
    void legacyPresetRefusedForRows172();
    void iq4Bumps_data();
    void iq4Bumps();
    void permutationRoundTrip();
    void permuteRowsInverse();
    void dequantizedCloseToSource();
    void bpeTokenizerMetadata();
    void overridesAndImportance();
    void errors();
    void sizeReportReconcilesWithPlan();
};

void TestGgufExport::storiesPresets_data()
{
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("table");
    for (const auto& row : kStoriesTables)
        QTest::newRow(row[0]) << QString::fromLatin1(row[0]) << QString::fromLatin1(row[1]);
}

void TestGgufExport::storiesPresets()
{
    QS_REQUIRE_DATA(dir, "stories260K");
    QFETCH(QString, preset);
    QFETCH(QString, table);
    const auto model = Model::open(dir);
    const GgufExportPlan plan = ggufPreset(*model, preset);
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("m.gguf"));
    exportGguf(*model, plan, out, nullptr, JobContext{});
    const auto f = GgufFile::open(out);

    const QHash<QString, QString> expected = expandTable(table, 5);
    // 1 embedding + 5 × (2 norms + 7 linears) + output_norm; tied head → no output.weight.
    QCOMPARE(int(f->tensors().size()), 1 + 5 * 9 + 1);
    QVERIFY(!f->findTensor(QStringLiteral("output.weight")));
    for (const GgufTensor& t : f->tensors()) {
        if (t.name.endsWith(u"_norm.weight")) {
            QCOMPARE(t.type, GgmlType::F32);
            QCOMPARE(t.dims, std::vector<std::int64_t>{64});
            continue;
        }
        QVERIFY2(expected.contains(t.name), qPrintable(t.name));
        QCOMPARE(ggmlTypeName(t.type), expected.value(t.name));
    }
    auto dims = [&](const char* name) { return f->findTensor(QLatin1String(name))->dims; };
    QCOMPARE(dims("token_embd.weight"), (std::vector<std::int64_t>{64, 512}));
    QCOMPARE(dims("blk.0.attn_q.weight"), (std::vector<std::int64_t>{64, 64}));
    QCOMPARE(dims("blk.0.attn_k.weight"), (std::vector<std::int64_t>{64, 32}));
    QCOMPARE(dims("blk.4.ffn_down.weight"), (std::vector<std::int64_t>{172, 64}));
    QCOMPARE(dims("blk.4.ffn_up.weight"), (std::vector<std::int64_t>{64, 172}));

    QCOMPARE(f->getString(QStringLiteral("general.architecture")), QStringLiteral("llama"));
    QCOMPARE(f->getInt(QStringLiteral("general.file_type")), std::int64_t(ggufPresetFileType(preset)));
    QCOMPARE(f->getInt(QStringLiteral("general.quantization_version")), 2);
    QCOMPARE(f->getInt(QStringLiteral("llama.context_length")), 512);
    QCOMPARE(f->getInt(QStringLiteral("llama.embedding_length")), 64);
    QCOMPARE(f->getInt(QStringLiteral("llama.block_count")), 5);
    QCOMPARE(f->getInt(QStringLiteral("llama.feed_forward_length")), 172);
    QCOMPARE(f->getInt(QStringLiteral("llama.attention.head_count")), 8);
    QCOMPARE(f->getInt(QStringLiteral("llama.attention.head_count_kv")), 4);
    QCOMPARE(f->getInt(QStringLiteral("llama.rope.dimension_count")), 8);
    QCOMPARE(f->getInt(QStringLiteral("llama.vocab_size")), 512);
    QCOMPARE(f->getFloat(QStringLiteral("llama.rope.freq_base")), 10000.0);
    QCOMPARE(float(f->getFloat(QStringLiteral("llama.attention.layer_norm_rms_epsilon"))), 1e-5f);
    // SentencePiece tokenizer.model → "llama" with scores and types.
    QCOMPARE(f->getString(QStringLiteral("tokenizer.ggml.model")), QStringLiteral("llama"));
    const QStringList tokens = f->getStrings(QStringLiteral("tokenizer.ggml.tokens"));
    QCOMPARE(tokens.size(), 512);
    QCOMPARE(tokens.at(1), QStringLiteral("<s>"));
    QCOMPARE(tokens.at(3), QStringLiteral("<0x00>"));
    QCOMPARE(int(f->getFloats(QStringLiteral("tokenizer.ggml.scores")).size()), 512);
    const std::vector<std::int64_t> types = f->getInts(QStringLiteral("tokenizer.ggml.token_type"));
    QCOMPARE(types.at(1), 3); // control
    QCOMPARE(types.at(3), 6); // byte
    QCOMPARE(types.at(300), 1);
    QCOMPARE(f->getInt(QStringLiteral("tokenizer.ggml.bos_token_id")), 1);
    QCOMPARE(f->getInt(QStringLiteral("tokenizer.ggml.eos_token_id")), 2);
    QCOMPARE(f->getInt(QStringLiteral("tokenizer.ggml.unknown_token_id")), 0);
    QCOMPARE(f->getBool(QStringLiteral("tokenizer.ggml.add_bos_token")), true);
}

void TestGgufExport::kjvPresetTable_data()
{
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("table");
    for (const auto& row : kKjvTables)
        QTest::newRow(row[0]) << QString::fromLatin1(row[0]) << QString::fromLatin1(row[1]);
}

void TestGgufExport::kjvPresetTable()
{
    QS_REQUIRE_DATA(dir, "kjv7M");
    QFETCH(QString, preset);
    QFETCH(QString, table);
    const auto model = Model::open(dir);
    const GgufExportPlan plan = ggufPreset(*model, preset);
    const QHash<QString, QString> expected = expandTable(table, 6);
    QCOMPARE(plan.types.size(), expected.size());
    for (auto it = expected.begin(); it != expected.end(); ++it)
        QVERIFY2(
            ggmlTypeName(plan.typeOf(it.key())) == it.value(),
            qPrintable(it.key() + u": " + ggmlTypeName(plan.typeOf(it.key())) + u" expected " + it.value()));
}

void TestGgufExport::iq4Bumps_data()
{
    QTest::addColumn<QString>("preset");
    QTest::addColumn<bool>("importance");
    QTest::addColumn<QString>("table");
    // 16 blocks, 4 query heads per kv head (llama_tensor_get_type, llama.cpp 34af94c): attn_v gets
    // Q5_K (n_gqa >= 4), ffn_down of the first n_layer/8 blocks Q5_K unless an imatrix is used.
    const QString bumped = QStringLiteral("ffn_down=Q5_K,Q5_K,X,X,X,X,X,X,X,X,X,X,X,X,X,X");
    for (const char* p : {"IQ4_XS", "IQ4_NL"}) {
        const QString t = QLatin1String(p);
        const QString common = QStringLiteral("token_embd=%1 output=Q6_K attn_q=%1 attn_k=%1 attn_v=Q5_K "
                                              "attn_output=%1 ffn_gate=%1 ffn_up=%1 ")
                                   .arg(t);
        QTest::newRow(p) << t << false << common + QString(bumped).replace(u'X', t);
        QTest::newRow(qPrintable(t + u" + imatrix")) << t << true << common + QStringLiteral("ffn_down=") + t;
    }
}

void TestGgufExport::iq4Bumps()
{
    QFETCH(QString, preset);
    QFETCH(bool, importance);
    QFETCH(QString, table);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    SyntheticModelSpec spec;
    spec.hidden = 256;
    spec.intermediate = 512;
    spec.layers = 16;
    spec.heads = 8;
    spec.kvHeads = 2;
    spec.vocab = 256;
    spec.sparse = true; // the plan reads shapes only
    writeSyntheticModel(tmp.path(), spec);
    const auto model = Model::open(tmp.path());
    const GgufExportPlan plan = ggufPreset(*model, preset, importance);
    QCOMPARE(plan.fileType, std::uint32_t(ggufPresetFileType(preset)));
    const QHash<QString, QString> expected = expandTable(table, 16);
    QCOMPARE(plan.types.size(), expected.size());
    for (auto it = expected.begin(); it != expected.end(); ++it)
        QVERIFY2(
            ggmlTypeName(plan.typeOf(it.key())) == it.value(),
            qPrintable(it.key() + u": " + ggmlTypeName(plan.typeOf(it.key())) + u" expected " + it.value()));
}

void TestGgufExport::legacyPresetRefusedForRows172()
{
    QS_REQUIRE_DATA(dir, "stories260K");
    const auto model = Model::open(dir);
    for (const QString& preset : {QStringLiteral("Q8_0"), QStringLiteral("Q4_0")})
        QS_VERIFY_ERROR(errorOf([&] { ggufPreset(*model, preset); }),
                        {preset, QStringLiteral("blk.0.ffn_down.weight"), QStringLiteral("172")});
}

void TestGgufExport::permutationRoundTrip()
{
    QS_REQUIRE_DATA(dir, "stories260K");
    const auto model = Model::open(dir);
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("f32.gguf"));
    exportGguf(*model, ggufPreset(*model, QStringLiteral("F32")), out, nullptr, JobContext{});
    const auto f = GgufFile::open(out);
    for (int b = 0; b < 5; ++b) {
        const struct
        {
            const char* gguf;
            const char* hf;
            int heads;
        } cases[] = {{"attn_q", "q_proj", 8}, {"attn_k", "k_proj", 4}, {"attn_v", "v_proj", 0}};
        for (const auto& c : cases) {
            const std::vector<float> stored =
                f->readF32(QStringLiteral("blk.%1.%2.weight").arg(b).arg(QLatin1String(c.gguf)));
            const std::vector<float> hf = model->tensors().readF32(
                QStringLiteral("model.layers.%1.self_attn.%2.weight").arg(b).arg(QLatin1String(c.hf)));
            QCOMPARE(stored.size(), hf.size());
            std::vector<float> back(stored.size());
            if (c.heads > 0) {
                QVERIFY(stored != hf); // really permuted
                ggufPermuteRows(stored.data(), back.data(), std::int64_t(stored.size()) / 64, 64, c.heads,
                                true);
            } else {
                back = stored;
            }
            QVERIFY2(back == hf, c.gguf);
        }
    }
    // The embedding and norms are copied unchanged.
    QVERIFY(f->readF32(QStringLiteral("token_embd.weight")) ==
            model->tensors().readF32(model->embeddingTensor()));
    QVERIFY(f->readF32(QStringLiteral("output_norm.weight")) ==
            model->tensors().readF32(model->finalNormTensor()));
}

void TestGgufExport::permuteRowsInverse()
{
    // 2 heads of 4 rows, 1 column: HF halves [a0 a1 | b0 b1] → interleaved [a0 b0 a1 b1].
    const std::vector<float> hf{0, 1, 2, 3, 10, 11, 12, 13};
    std::vector<float> gguf(8), back(8);
    ggufPermuteRows(hf.data(), gguf.data(), 8, 1, 2);
    QCOMPARE(gguf, (std::vector<float>{0, 2, 1, 3, 10, 12, 11, 13}));
    ggufPermuteRows(gguf.data(), back.data(), 8, 1, 2, true);
    QCOMPARE(back, hf);
    QVERIFY(!errorOf([&] { ggufPermuteRows(hf.data(), gguf.data(), 8, 1, 3); }).isEmpty());
}

void TestGgufExport::dequantizedCloseToSource()
{
    QS_REQUIRE_DATA(dir, "kjv7M");
    const auto model = Model::open(dir);
    const struct
    {
        const char* preset;
        double tolerance;
    } cases[] = {{"Q8_0", 0.01}, {"Q4_K_M", 0.12}, {"Q2_K", 0.45}};
    for (const auto& c : cases) {
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("m.gguf"));
        exportGguf(*model, ggufPreset(*model, QLatin1String(c.preset)), out, nullptr, JobContext{});
        const auto f = GgufFile::open(out);
        for (const GgufExportTensor& t : ggufExportTensors(*model)) {
            if (t.role != GgufExportTensor::Role::Weight)
                continue;
            const GgufTensor* g = f->findTensor(t.name);
            QVERIFY2(g, qPrintable(t.name));
            std::vector<float> src = model->tensors().readF32(t.source);
            if (t.permuteHeads > 0) {
                std::vector<float> p(src.size());
                ggufPermuteRows(src.data(), p.data(), t.dims[1], t.dims[0], t.permuteHeads);
                src.swap(p);
            }
            const double err = relativeRms(dequantize(*f, *g), src);
            QVERIFY2(err < c.tolerance,
                     qPrintable(QStringLiteral("%1 %2 (%3): relative RMS error %4")
                                    .arg(QLatin1String(c.preset), t.name, ggmlTypeName(g->type))
                                    .arg(err)));
        }
    }
}

void TestGgufExport::bpeTokenizerMetadata()
{
    QS_REQUIRE_DATA(dir, "kjv7M");
    const auto model = Model::open(dir);
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("m.gguf"));
    exportGguf(*model, ggufPreset(*model, QStringLiteral("Q8_0")), out, nullptr, JobContext{});
    const auto f = GgufFile::open(out);
    QCOMPARE(f->getString(QStringLiteral("tokenizer.ggml.model")), QStringLiteral("gpt2"));
    QCOMPARE(f->getString(QStringLiteral("tokenizer.ggml.pre")), QStringLiteral("llama-bpe"));
    const QStringList tokens = f->getStrings(QStringLiteral("tokenizer.ggml.tokens"));
    QCOMPARE(tokens.size(), 4096);
    QCOMPARE(tokens.at(4094), QStringLiteral("<|begin_of_text|>"));
    const std::vector<std::int64_t> types = f->getInts(QStringLiteral("tokenizer.ggml.token_type"));
    QCOMPARE(types.at(4095), 3);
    QCOMPARE(types.at(100), 1);
    const QStringList merges = f->getStrings(QStringLiteral("tokenizer.ggml.merges"));
    QCOMPARE(merges.size(), 3838);
    QCOMPARE(merges.front(), QStringLiteral("t h"));
    QCOMPARE(f->getInt(QStringLiteral("tokenizer.ggml.bos_token_id")), 4094);
    QCOMPARE(f->getInt(QStringLiteral("tokenizer.ggml.eos_token_id")), 4095);
    QVERIFY(!f->contains(QStringLiteral("tokenizer.ggml.scores")));
    QVERIFY(f->findTensor(QStringLiteral("output.weight")));
    QCOMPARE(f->findTensor(QStringLiteral("output.weight"))->dims, (std::vector<std::int64_t>{256, 4096}));
}

void TestGgufExport::overridesAndImportance()
{
    QS_REQUIRE_DATA(dir, "kjv7M");
    const auto model = Model::open(dir);
    GgufExportPlan plan = ggufPreset(*model, QStringLiteral("Q4_K_M"));
    QCOMPARE(ggufOverrideTypes(*model, plan, QStringLiteral("attn_(q|k)\\.weight$"), GgmlType::Q8_0), 12);
    QCOMPARE(plan.typeOf(QStringLiteral("blk.3.attn_k.weight")), GgmlType::Q8_0);
    QCOMPARE(plan.typeOf(QStringLiteral("blk.3.attn_v.weight")), GgmlType::Q4_K);
    QCOMPARE(ggufFileTypeFor(GgmlType::Q4_K), 15u); // llama_ftype MOSTLY_Q4_K_M
    QCOMPARE(ggufFileTypeFor(GgmlType::Q8_0), 7u);
    QS_VERIFY_ERROR(errorOf([&] { ggufOverrideTypes(*model, plan, QStringLiteral("("), GgmlType::Q8_0); }),
                    {QStringLiteral("(")});

    // An importance vector changes the bytes of an importance-aware type; a wrong length is refused.
    GgufExportPlan small;
    small.defaultType = GgmlType::F16;
    small.types.insert(QStringLiteral("blk.0.attn_q.weight"), GgmlType::Q4_K);
    QTemporaryDir tmp;
    GgufImportance imp;
    std::vector<float> w(256);
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = float(1 + (i * 37) % 11);
    imp.insert(QStringLiteral("blk.0.attn_q.weight"), w);
    const QString a = tmp.filePath(QStringLiteral("a.gguf")), b = tmp.filePath(QStringLiteral("b.gguf"));
    exportGguf(*model, small, a, nullptr, JobContext{});
    exportGguf(*model, small, b, &imp, JobContext{});
    const auto fa = GgufFile::open(a), fb = GgufFile::open(b);
    const GgufTensor* ta = fa->findTensor(QStringLiteral("blk.0.attn_q.weight"));
    const GgufTensor* tb = fb->findTensor(QStringLiteral("blk.0.attn_q.weight"));
    QCOMPARE(ta->type, GgmlType::Q4_K);
    QVERIFY(std::memcmp(fa->data(*ta), fb->data(*tb), ta->bytes) != 0);
    imp[QStringLiteral("blk.0.attn_q.weight")].resize(100);
    const QString c = tmp.filePath(QStringLiteral("c.gguf"));
    QS_VERIFY_ERROR(errorOf([&] { exportGguf(*model, small, c, &imp, JobContext{}); }),
                    {c, QStringLiteral("blk.0.attn_q.weight"), QStringLiteral("100")});
    QVERIFY(!QFile::exists(c));
}

void TestGgufExport::errors()
{
    QS_REQUIRE_DATA(dir, "stories260K");
    const auto model = Model::open(dir);
    QS_VERIFY_ERROR(errorOf([&] { ggufPreset(*model, QStringLiteral("Q9_Z")); }),
                    {QStringLiteral("Q9_Z"), QStringLiteral("Q4_K_M")});

    QTemporaryDir tmp;
    const QString missing = tmp.filePath(QStringLiteral("no/such/folder/m.gguf"));
    QS_VERIFY_ERROR(errorOf([&] {
                        exportGguf(*model, ggufPreset(*model, QStringLiteral("F16")), missing, nullptr,
                                   JobContext{});
                    }),
                    {missing, QStringLiteral("does not exist")});
    QVERIFY(!QFile::exists(missing));

    // A plan type whose block does not divide the rows: refused before anything is written.
    GgufExportPlan bad = ggufPreset(*model, QStringLiteral("F16"));
    bad.types.insert(QStringLiteral("blk.1.ffn_down.weight"), GgmlType::Q8_0);
    const QString out = tmp.filePath(QStringLiteral("bad.gguf"));
    QS_VERIFY_ERROR(errorOf([&] { exportGguf(*model, bad, out, nullptr, JobContext{}); }),
                    {out, QStringLiteral("blk.1.ffn_down.weight"), QStringLiteral("Q8_0")});
    QVERIFY(!QFile::exists(out));

    // Cancelled mid-way: no file (the writer's temporary is discarded).
    JobContext ctx;
    int calls = 0;
    ctx.progress = [&](const JobProgress&) {
        if (++calls == 3)
            ctx.cancel->cancel();
    };
    bool cancelled = false;
    try {
        exportGguf(*model, ggufPreset(*model, QStringLiteral("F16")), out, nullptr, ctx);
    } catch (const Cancelled&) {
        cancelled = true;
    }
    QVERIFY(cancelled);
    QVERIFY(!QFile::exists(out));
    QCOMPARE(QDir(tmp.path()).entryList(QDir::Files | QDir::Hidden), QStringList());
}

void TestGgufExport::sizeReportReconcilesWithPlan()
{
    QS_REQUIRE_DATA(path, "stories260K");
    const auto model = Model::open(path);
    const LayerPlan layers =
        Recipe::fromJson(R"({"version": 1, "defaults": {"method": "gguf", "type": "Q4_K"}})",
                         QStringLiteral("t.json"))
            .resolve(*model);
    const GgufExportPlan plan = ggufPlanForLayerPlan(*model, layers);
    QCOMPARE(plan.typeOf(QStringLiteral("token_embd.weight")), GgmlType::Q8_0); // hidden 64
    const GgufSizeReport planned = ggufSizeReport(*model, layers, plan);
    QCOMPARE(planned.fileBytes, std::uint64_t(0));
    QCOMPARE(planned.estimateBytes, layers.modelBytes(*model));
    QTemporaryDir tmp;
    const QString out = tmp.filePath(QStringLiteral("plan.gguf"));
    exportGguf(*model, plan, out, nullptr, JobContext{});
    const GgufSizeReport r = ggufSizeReport(*model, layers, plan, out);
    QCOMPARE(r.fileBytes, std::uint64_t(QFileInfo(out).size()));
    QCOMPARE(r.tensorBytes, planned.tensorBytes); // what the plan types is what the file holds
    QCOMPARE(r.headerBytes + r.tensorBytes + r.paddingBytes, r.fileBytes);
    QVERIFY(r.headerBytes > 0);
    // The estimate is the sum of what it counts per tensor and what a GGUF file leaves out.
    std::uint64_t estimated = 0;
    for (const GgufSizeReport::Tensor& t : r.tensors)
        estimated += t.estimatedBytes;
    QCOMPARE(estimated + r.notExported, r.estimateBytes);
    // The linear layers are counted exactly (fallbacks included); the token embeddings are what
    // differs: Q8_0 in the file (34 bytes per 32 values), F32 as the model stores them.
    const std::vector<GgufSizeReport::Tensor> differing = r.differing();
    QCOMPARE(int(differing.size()), 1);
    const GgufSizeReport::Tensor& embd = differing.front();
    QCOMPARE(embd.name, QStringLiteral("token_embd.weight"));
    QCOMPARE(embd.type, GgmlType::Q8_0);
    const std::uint64_t values =
        std::uint64_t(model->config().vocabSize) * std::uint64_t(model->config().hiddenSize);
    QCOMPARE(embd.bytes, values / 32 * 34);
    QCOMPARE(embd.estimatedBytes, values * 4);
    const QStringList lines = r.lines();
    QVERIFY2(lines.front().startsWith(QStringLiteral("File: ") + formatBytes(double(r.fileBytes))),
             qPrintable(lines.join(u'\n')));
    QVERIFY2(lines.filter(QStringLiteral("token_embd.weight: Q8_0")).size() == 1,
             qPrintable(lines.join(u'\n')));
    // A file that is not there: an error naming it.
    const QString missing = tmp.filePath(QStringLiteral("missing.gguf"));
    QS_VERIFY_ERROR(errorOf([&] { ggufSizeReport(*model, layers, plan, missing); }), {missing});
}

QTEST_GUILESS_MAIN(TestGgufExport)
#include "tst_ggufexport.moc"
