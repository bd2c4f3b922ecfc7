// The execution engine: every layer runs in the form it is stored in. Float checkpoints are read
// in place from the map (no f32 copy), quantized layers run packed (PackedIntLinear, GgmlLinear),
// and each gives what the format computes: the product of the input (scaled, activation-quantized
// as the method says) with the reconstructed weight, within a named float-rounding budget. Results
// do not depend on the thread count; a job that would not fit in memory says so before it starts.

#include "TestSupport.h"
#include "checkpoint/GgufExport.h"
#include "checkpoint/GgufTypePolicy.h"
#include "eval/Speed.h"
#include "kernels/Convert.h"
#include "kernels/FloatMatMul.h"
#include "kernels/GgmlMatMul.h"
#include "model/LinearLayer.h"
#include "model/Model.h"
#include "model/PackedLinear.h"
#include "model/QuantizedLinear.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "recipe/LayerPlan.h"
#include "tensor/GgmlTypes.h"
#include "tokenizer/Tokenizer.h"
#include "util/Error.h"
#include "util/StreamBuffer.h"
#include "util/Threads.h"

#include <QFile>
#include <QFileInfo>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

using namespace qs;

namespace {

/// Budget for a packed product against the f64 product of the same (rounded) inputs with the
/// reconstructed weight: only the summation order and f32 accumulation differ.
constexpr double kProductBudget = 2e-5;

std::vector<float> randomRows(std::int64_t n, std::int64_t cols, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.f, 1.f);
    std::vector<float> x(std::size_t(n * cols));
    for (float& v : x)
        v = d(rng);
    x[0] = 9.5f; // an outlier feature for LLM.int8
    return x;
}

/// What the format computes, spelled out in f64: inputs divided by the input scales, quantized
/// per token as the method says (outlier columns kept), times the reconstructed weight.
std::vector<double> referenceProduct(const QuantizedTensor& q, const std::vector<float>& xIn, std::int64_t n)
{
    const std::int64_t cols = q.cols, rows = q.rows;
    std::vector<float> x = xIn;
    for (std::int64_t t = 0; t < n; ++t)
        for (std::size_t c = 0; c < q.inputScales.size(); ++c)
            x[std::size_t(t * cols) + c] /= q.inputScales[c];
    if (quantMethodInfo(q.spec.method).quantizesActivations) {
        std::vector<char> skip(std::size_t(cols), 0);
        for (std::int32_t c : q.outlierColumns)
            skip[std::size_t(c)] = 1;
        fakeQuantizeActivations(x.data(), n, cols, q.spec.activationBits, skip.data());
    }
    const std::vector<float> w = q.dequantize();
    std::vector<double> y(std::size_t(n * rows));
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < rows; ++r) {
            double s = 0;
            for (std::int64_t c = 0; c < cols; ++c)
                s += double(x[std::size_t(t * cols + c)]) * double(w[std::size_t(r * cols + c)]);
            y[std::size_t(t * rows + r)] = s;
        }
    return y;
}

double relativeError(const std::vector<float>& y, const std::vector<double>& ref)
{
    double num = 0, den = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        num += (double(y[i]) - ref[i]) * (double(y[i]) - ref[i]);
        den += ref[i] * ref[i];
    }
    return std::sqrt(num / std::max(den, 1e-30));
}

std::vector<float> logitsOf(const Transformer& t, const std::vector<int>& tokens)
{
    KvCache cache = t.makeCache(int(tokens.size()));
    std::vector<float> logits(tokens.size() * std::size_t(t.vocabSize()));
    t.forward(cache, tokens.data(), int(tokens.size()), logits.data());
    return logits;
}

const std::vector<int> kTokens{1, 403, 29, 87, 310, 12, 55, 400, 3, 17, 250, 99};

} // namespace

class TestEngine : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void floatWeightsStayMapped_data();
    void floatWeightsStayMapped();
    void packedLayersComputeTheirFormat_data();
    void packedLayersComputeTheirFormat();
    void ggufLayersRunIntegerKernels_data();
    void ggufLayersRunIntegerKernels();
    void bf16LayerWithRoundedInputsUsesDotKernel();
    void threadCountDoesNotChangeResults();
    void forwardBuffersKeptAcrossCalls();
    void piecesGiveTheSameLogits_data();
    void piecesGiveTheSameLogits();
    void embeddingRowsReadFromTheFile();
    void readsLeaveTheMapUntouched();
    void streamBuffers();
    void memoryCheckRefusesUpFront();
    void memoryLimitTakesUnits();
    void speedIsMeasured();

private:
    QString m_model, m_calib;
    std::unique_ptr<Tokenizer> m_tok;
    QTemporaryDir m_dir;
};

void TestEngine::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_model = test::dataPath(QStringLiteral("stories260K"));
    m_calib = test::dataPath(QStringLiteral("kjv/valid.txt"));
    if (m_model.isEmpty() || m_calib.isEmpty())
        QSKIP(qPrintable(test::skipMessage(QStringLiteral("stories260K, kjv"))));
    m_tok = Tokenizer::load(m_model);
}

void TestEngine::floatWeightsStayMapped_data()
{
    QTest::addColumn<QString>("variant");
    QTest::newRow("f32") << QStringLiteral("stories260K");
    QTest::newRow("bf16") << QStringLiteral("stories260K-bf16");
    QTest::newRow("sharded") << QStringLiteral("stories260K-sharded");
}

void TestEngine::floatWeightsStayMapped()
{
    QFETCH(QString, variant);
    const QString path = test::dataPath(variant);
    if (path.isEmpty())
        QSKIP(qPrintable(test::skipMessage(variant)));
    const auto model = Model::open(path);
    const Transformer t(model);
    std::uint64_t linearBytes = 0;
    for (std::size_t i = 0; i < model->linears().size(); ++i) {
        const auto* dense = dynamic_cast<const DenseLinear*>(&t.linear(int(i)));
        QVERIFY2(dense, qPrintable(model->linears()[i].name));
        QVERIFY2(dense->kernelName().contains(u"mapped"), qPrintable(dense->kernelName()));
        QCOMPARE(dense->dtype(), model->linears()[i].dtype);
        linearBytes += dense->residentBytes();
    }
    QCOMPARE(linearBytes, std::uint64_t([&] {
                 std::uint64_t b = 0;
                 for (const LinearLayerInfo& l : model->linears())
                     b += l.bytes();
                 return b;
             }()));
    // The in-place product equals one on an owned f32 copy of the same weights.
    Transformer copy(model);
    for (std::size_t i = 0; i < model->linears().size(); ++i) {
        const LinearLayer& l = t.linear(int(i));
        copy.setLinear(int(i), std::make_shared<DenseLinear>(l.inFeatures(), l.outFeatures(), l.floatWeight(),
                                                             l.bias()));
    }
    const std::vector<float> a = logitsOf(t, kTokens), b = logitsOf(copy, kTokens);
    double maxDiff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        maxDiff = std::max(maxDiff, double(std::fabs(a[i] - b[i])));
    QVERIFY2(maxDiff < 1e-3, qPrintable(QString::number(maxDiff)));
}

void TestEngine::packedLayersComputeTheirFormat_data()
{
    QTest::addColumn<QString>("scheme");
    for (const char* s :
         {"rtn-w4-g32", "rtn-w4-g32-sym", "rtn-w2-g32", "rtn-w3-ch", "rtn-w8-ch-sym", "rtn-w5-tensor",
          "rtn-w6-g64", "rtn-w7-ch", "gptq-w4-g32-act", "gptq-w3-g32", "awq-w4-g32", "smoothquant-w8-ch",
          "llm.int8-w8-ch", "dynamic-w8-ch", "dynamic-w4-g32", "gguf-q4_k", "gguf-q6_k", "f16", "bf16"})
        QTest::newRow(s) << QString::fromLatin1(s);
}

void TestEngine::packedLayersComputeTheirFormat()
{
    QFETCH(QString, scheme);
    QuantSpec spec;
    try {
        spec = QuantSpec::fromShortName(scheme);
    } catch (const Error& e) {
        QFAIL(qPrintable(e.message()));
    }
    const auto model = Model::open(m_model);
    const LayerPlan plan = LayerPlan::uniform(*model, spec);
    CalibrationSettings cal;
    cal.text = m_calib;
    cal.samples = 8;
    cal.seqLen = 64;
    const QuantizeResult r = runQuantization(model, plan, cal, m_tok.get());
    for (std::size_t i = 0; i < model->linears().size(); ++i) {
        const auto* ql = dynamic_cast<const QuantizedLinear*>(&r.model->linear(int(i)));
        QVERIFY(ql);
        const QuantizedTensor& q = ql->tensor();
        if (q.spec.method == QuantMethod::Ggml)
            QVERIFY(dynamic_cast<const GgmlLinear*>(&ql->packed()));
        else if (q.spec.method == QuantMethod::Float)
            QVERIFY(dynamic_cast<const DenseLinear*>(&ql->packed()));
        else
            QVERIFY(dynamic_cast<const PackedIntLinear*>(&ql->packed()));
        QVERIFY(ql->packed().residentBytes() <
                std::uint64_t(q.rows * q.cols) * 4); // runs without an f32 copy
        // What the layer holds in all: integer and gguf layers their packed form only; a float-kept
        // f16/bf16 layer also its tensor's f32 values (kept for saving; counted, not hidden).
        QVERIFY(ql->residentBytes() <=
                ql->packed().residentBytes() +
                    (q.spec.method == QuantMethod::Float
                         ? std::uint64_t(q.rows * q.cols) * 4
                         : q.scales.capacity() * 4 + q.zeros.capacity() * 4 + q.groupIndex.capacity() * 4 +
                               q.inputScales.capacity() * 4 + q.outlierColumns.capacity() * 4 +
                               q.outlierWeights.capacity() * 4));
        if (q.spec.method == QuantMethod::Ggml)
            continue; // its inputs are rounded to Q8 blocks: see ggufLayersRunIntegerKernels
        for (std::int64_t n : {1, 5}) {
            const std::vector<float> x = randomRows(n, q.cols, unsigned(i * 7 + std::size_t(n)));
            std::vector<float> y(std::size_t(n * q.rows));
            ql->forward(x.data(), n, y.data());
            const double err = relativeError(y, referenceProduct(q, x, n));
            QVERIFY2(err < kProductBudget, qPrintable(QStringLiteral("%1 n=%2: %3 (%4)")
                                                          .arg(model->linears()[i].name)
                                                          .arg(n)
                                                          .arg(err)
                                                          .arg(ql->kernelName())));
        }
    }
}

void TestEngine::ggufLayersRunIntegerKernels_data()
{
    QTest::addColumn<QString>("preset");
    QTest::addColumn<QString>("override"); // a ggml type set on every weight, or empty
    for (const char* p : {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_S",
                          "Q6_K", "F16", "BF16"})
        QTest::newRow(p) << QString::fromLatin1(p) << QString();
    QTest::newRow("IQ4_XS") << QStringLiteral("Q8_0") << QStringLiteral("IQ4_XS");
    QTest::newRow("IQ4_NL") << QStringLiteral("Q8_0") << QStringLiteral("IQ4_NL");
}

void TestEngine::ggufLayersRunIntegerKernels()
{
    QFETCH(QString, preset);
    QFETCH(QString, override);
    QS_REQUIRE_DATA(kjv, "kjv7M");
    const auto model = Model::open(kjv);
    const QString path =
        m_dir.filePath(QString::fromLatin1(QTest::currentDataTag()) + QStringLiteral(".gguf"));
    GgufExportPlan plan = ggufPreset(*model, preset);
    if (!override.isEmpty())
        ggufOverrideTypes(*model, plan, QStringLiteral("weight"), *ggmlTypeFromName(override));
    exportGguf(*model, plan, path, nullptr, JobContext());
    const auto gguf = Model::open(path);
    const Transformer t(gguf);
    int ggml = 0;
    for (std::size_t i = 0; i < gguf->linears().size(); ++i) {
        const LinearLayer& l = t.linear(int(i));
        const auto* g = dynamic_cast<const GgmlLinear*>(&l);
        if (!g) { // a float layer: read in place, except q/k, whose rows GGUF stores permuted
            QVERIFY(dynamic_cast<const DenseLinear*>(&l));
            const LinearKind kind = gguf->linears()[i].kind;
            QCOMPARE(l.kernelName().contains(u"mapped"), kind != LinearKind::Q && kind != LinearKind::K);
            continue;
        }
        ++ggml;
        QVERIFY2(g->kernelName().contains(ggmlTypeName(g->type()) + QStringLiteral("·Q8_")),
                 qPrintable(g->kernelName()));
        // Against the imitation it replaces: inputs rounded to the activation type, f32 product
        // with the dequantized weight.
        const auto dense = std::make_shared<DenseLinear>(l.inFeatures(), l.outFeatures(),
                                                         gguf->tensors().readF32(gguf->linears()[i].weight));
        const GgmlVecDotLinear imitation(dense, g->type());
        for (std::int64_t n : {1, 7}) {
            const std::vector<float> x = randomRows(n, l.inFeatures(), unsigned(i));
            std::vector<float> a(std::size_t(n * l.outFeatures())), b(a.size());
            l.forward(x.data(), n, a.data());
            imitation.forward(x.data(), n, b.data());
            const std::vector<double> bd(b.begin(), b.end());
            // Q8_1 (the activations of Q4_1/Q5_1) stores d·Σq as f16 and ggml's dot uses it for the
            // weight minimum's term; the imitation takes the exact sum, so those two types differ by
            // that f16 rounding (about 2^-11 of the min term).
            const bool q81 = ggmlActivationType(g->type()) == GgmlType::Q8_1;
            const double err = relativeError(a, bd);
            QVERIFY2(err < (q81 ? 5e-3 : kProductBudget),
                     qPrintable(
                         QStringLiteral("%1 %2: %3").arg(gguf->linears()[i].name, g->kernelName()).arg(err)));
        }
    }
    QVERIFY(ggml > 0 || preset.startsWith(u'F') || preset.startsWith(u'B'));
}

// llama.cpp numerics on a BF16 layer: inputs rounded to bf16, then (where the CPU has AVX512-BF16) the exact
// products summed by the vdpbf16ps kernel — the bytes of its scalar twin; elsewhere the f32 kernel on the
// rounded inputs. Either way within the float budget of the f32 product, bias added.
void TestEngine::bf16LayerWithRoundedInputsUsesDotKernel()
{
    const std::int64_t in = 300, out = 454; // eight row tiles, the last one short
    const std::vector<float> values = randomRows(out, in, 3);
    auto stored = std::make_shared<std::vector<std::uint16_t>>(values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
        (*stored)[i] = ref::f32ToBf16(values[i]);
    std::vector<float> bias(static_cast<std::size_t>(out));
    for (std::int64_t r = 0; r < out; ++r)
        bias[std::size_t(r)] = 0.01f * float(r);
    const auto dense = std::make_shared<DenseLinear>(in, out, DType::BF16, stored->data(), stored, bias,
                                                     stored->size() * 2, QStringLiteral("bf16"), false);
    const GgmlVecDotLinear wrapped(dense, GgmlType::BF16);
    // 9 and 20 tokens: enough multiply-adds for the row tiles to run on two threads, some on a worker that
    // must read the inputs the caller packed.
    const int threadsBefore = computeThreads();
    setComputeThreads(2);
    const auto restore = qScopeGuard([&] { setComputeThreads(threadsBefore); });
    for (std::int64_t n : {1, 9, 20}) {
        std::vector<float> x = randomRows(n, in, 4);
        std::vector<float> got(std::size_t(n * out)), want(got.size()), f32(got.size());
        wrapped.forward(x.data(), n, got.data());
        dense->forward(x.data(), n, f32.data());
        for (float& v : x)
            v = ref::bf16ToF32(ref::f32ToBf16(v));
        if (n >= kTileMinTokens && floatMatMulTilesFast()) { // AMX tiles, the inputs as one bf16 plane
            TileInputs packed;
            packTileInputs(x.data(), n, in, 1, packed);
            floatMatMulTiles(DType::BF16, stored->data(), 0, out, packed, want.data(), out);
            addBias(want.data(), n, out, bias);
        } else if (floatMatMulBf16InputsFast()) {
            floatMatMulBf16Inputs(SimdVariant::Scalar, stored->data(), in, 0, out, x.data(), n, want.data(),
                                  out);
            addBias(want.data(), n, out, bias);
        } else {
            dense->forward(x.data(), n, want.data());
        }
        QVERIFY(std::memcmp(got.data(), want.data(), got.size() * 4) == 0);
        const std::vector<double> f32d(f32.begin(), f32.end());
        QVERIFY2(relativeError(got, f32d) < 1e-2, "inputs rounded to bf16: about 2^-9 relative per product");
    }
}

void TestEngine::threadCountDoesNotChangeResults()
{
    const auto model = Model::open(m_model);
    const QuantizeResult r = runQuantization(
        model, LayerPlan::uniform(*model, QuantSpec::fromShortName(QStringLiteral("rtn-w4-g32"))), {},
        nullptr);
    const int before = computeThreads();
    setComputeThreads(1);
    const std::vector<float> one = logitsOf(*r.model, kTokens);
    setComputeThreads(2);
    const std::vector<float> two = logitsOf(*r.model, kTokens);
    setComputeThreads(before);
    QVERIFY(one == two);
}

// forward() keeps its activations from call to call: a call after a longer or a shorter one, and calls
// from four threads at once on the same model (all but one of them, at any moment, on buffers of their
// own), give the logits a fresh model gives.
void TestEngine::forwardBuffersKeptAcrossCalls()
{
    const auto model = Model::open(m_model);
    const std::vector<float> want = logitsOf(Transformer(model), kTokens);
    const std::vector<int> longer(40, 7), shorter(kTokens.begin(), kTokens.begin() + 3);
    const Transformer t(model);
    logitsOf(t, longer);
    QVERIFY(logitsOf(t, kTokens) == want);
    logitsOf(t, shorter);
    QVERIFY(logitsOf(t, kTokens) == want);
    std::vector<std::vector<float>> got(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i)
        threads.emplace_back([&, i] {
            for (int round = 0; round < 20; ++round)
                got[i] = logitsOf(t, kTokens);
        });
    for (std::thread& th : threads)
        th.join();
    for (const std::vector<float>& g : got)
        QVERIFY(g == want);
}

void TestEngine::piecesGiveTheSameLogits_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("f32 mapped") << QStringLiteral("f32");
    QTest::newRow("int4 g32 packed") << QStringLiteral("rtn");
    QTest::newRow("gguf Q4_K_M") << QStringLiteral("Q4_K_M");
    QTest::newRow("gguf BF16, llama.cpp numerics") << QStringLiteral("BF16");
    QTest::newRow("gguf F16") << QStringLiteral("F16"); // AMX tiles with exact f32 inputs where there are
}

// A long forward runs as consecutive pieces (Transformer::forwardPieceTokens): every logit must be
// the one a single call gives, bit for bit, also when the first logit row falls inside a piece.
// (Pieces of 32 would not be: attention's query blocks, and Eigen's sums over their keys, would change.)
void TestEngine::piecesGiveTheSameLogits()
{
    QFETCH(QString, kind);
    std::shared_ptr<const Model> model = Model::open(m_model);
    std::shared_ptr<Transformer> t;
    if (kind == u"f32") {
        t = std::make_shared<Transformer>(model);
    } else if (kind == u"rtn") {
        t = runQuantization(
                model, LayerPlan::uniform(*model, QuantSpec::fromShortName(QStringLiteral("rtn-w4-g32"))), {},
                nullptr)
                .model;
    } else {
        QS_REQUIRE_DATA(kjv, "kjv7M");
        const auto source = Model::open(kjv);
        const QString path = m_dir.filePath(QStringLiteral("pieces-%1.gguf").arg(kind));
        exportGguf(*source, ggufPreset(*source, kind), path, nullptr, JobContext());
        model = Model::open(path);
        t = std::make_shared<Transformer>(model);
        if (kind == u"BF16")
            t->setLlamaCppNumerics();
    }
    std::mt19937 rng(5);
    std::vector<int> tokens(200);
    for (int& id : tokens)
        id = int(rng() % std::uint32_t(t->vocabSize()));
    const std::size_t vocab = std::size_t(t->vocabSize());
    QVERIFY(t->forwardPieceTokens() >= 200);
    for (const int first : {0, 17, 100}) {
        std::vector<float> whole((tokens.size() - std::size_t(first)) * vocab), pieces(whole.size());
        KvCache a = t->makeCache(int(tokens.size())), b = t->makeCache(int(tokens.size()));
        t->forward(a, tokens.data(), int(tokens.size()), whole.data(), first); // one piece
        t->setForwardPieceTokens(50); // rounded up to 64: pieces of 64, 64, 72 (the rest of 8 joins)
        QCOMPARE(t->forwardPieceTokens(), 64);
        t->forward(b, tokens.data(), int(tokens.size()), pieces.data(), first);
        t->setForwardPieceTokens(0);
        QCOMPARE(b.length(), a.length());
        QVERIFY(std::memcmp(whole.data(), pieces.data(), whole.size() * sizeof(float)) == 0);
    }
    // What a later piece would refuse (a bad id in the third piece, too small a cache) is refused
    // before the first piece fills the cache.
    t->setForwardPieceTokens(64);
    std::vector<float> logits(tokens.size() * vocab);
    std::vector<int> bad = tokens;
    bad[150] = t->vocabSize();
    KvCache cache = t->makeCache(int(tokens.size()));
    QS_VERIFY_ERROR(test::errorOf([&] { t->forward(cache, bad.data(), int(bad.size()), logits.data()); }),
                    {QStringLiteral("token id %1 at position 150").arg(t->vocabSize())});
    QCOMPARE(cache.length(), 0);
    KvCache small = t->makeCache(int(tokens.size()) - 1);
    QS_VERIFY_ERROR(
        test::errorOf([&] { t->forward(small, tokens.data(), int(tokens.size()), logits.data()); }),
        {QStringLiteral("exceeds the KV cache")});
    QCOMPARE(small.length(), 0);
    t->setForwardPieceTokens(0);
}

// Embedding rows are read from the file, not through the map; they must be the mapped rows'
// values, q/k rows of a GGUF (stored permuted) included, and a row out of range is refused.
void TestEngine::embeddingRowsReadFromTheFile()
{
    QS_REQUIRE_DATA(kjv, "kjv7M");
    const auto source = Model::open(kjv);
    const QString path = m_dir.filePath(QStringLiteral("rows.gguf"));
    exportGguf(*source, ggufPreset(*source, QStringLiteral("Q4_K_M")), path, nullptr, JobContext());
    for (const QString& file : {kjv, path}) {
        const auto model = Model::open(file);
        const TensorStore& ts = model->tensors();
        QString q;
        for (const LinearLayerInfo& l : model->linears())
            if (q.isEmpty() && l.kind == LinearKind::Q)
                q = l.weight;
        for (const QString& name : {model->embeddingTensor(), q}) {
            const TensorInfo& info = ts.info(name);
            std::vector<float> mapped(std::size_t(info.cols())), read(mapped.size());
            for (const std::int64_t row : {std::int64_t(0), info.rows() / 3, info.rows() - 1}) {
                ts.readRowsF32(name, row, 1, mapped.data());
                ts.readRowF32FromFile(name, row, read.data());
                QVERIFY2(mapped == read, qPrintable(name));
            }
            const QString msg = test::errorOf([&] { ts.readRowF32FromFile(name, info.rows(), read.data()); });
            QS_VERIFY_ERROR(msg, {name, QStringLiteral("out of range")});
        }
    }
}

namespace {

/// Resident bytes of this process's mappings of `file` (/proc/self/smaps); -1 where there is none.
qint64 mappedResidentBytes(const QString& file)
{
    QFile smaps(QStringLiteral("/proc/self/smaps"));
    if (!smaps.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray path = QFileInfo(file).canonicalFilePath().toUtf8();
    qint64 total = -1;
    bool inFile = false;
    for (const QByteArray& line : smaps.readAll().split('\n')) {
        const QList<QByteArray> f = line.simplified().split(' ');
        if (f.size() >= 5 && f[0].contains('-') && !f[0].endsWith(':')) { // "start-end perms … path"
            inFile = f.size() >= 6 && f.back() == path;
            if (inFile && total < 0)
                total = 0;
        } else if (inFile && f.size() >= 2 && f[0] == "Rss:") {
            total += f[1].toLongLong() * 1024;
        }
    }
    return total;
}

} // namespace

void TestEngine::readsLeaveTheMapUntouched()
{
    // Tensors read as f32 or as raw rows come from the file (pread), not through the map: reading a
    // whole model leaves its map with no more resident than the header the parser read through it
    // (and the 2 MiB page cache folio that may hold it). Through the map, all 13.6 MB would stay.
#if !defined(__linux__)
    QSKIP("reads /proc/self/smaps");
#endif
    QS_REQUIRE_DATA(kjv, "kjv7M");
    const QString gguf = m_dir.filePath(QStringLiteral("untouched.gguf"));
    exportGguf(*Model::open(kjv), ggufPreset(*Model::open(kjv), QStringLiteral("Q8_0")), gguf, nullptr,
               JobContext());
    for (const QString& path : {kjv, gguf}) {
        const auto model = Model::open(path);
        const TensorStore& ts = model->tensors();
        const QString file = ts.fileOf(ts.names().front());
        std::uint64_t bytes = 0;
        for (const QString& name : ts.names())
            bytes += ts.info(name).bytes();
        QVERIFY2(bytes > (std::uint64_t(6) << 20), qPrintable(path)); // more than the limit below
        const auto check = [&](const char* what) {
            const qint64 resident = mappedResidentBytes(file);
            QVERIFY2(resident >= 0, qPrintable(file));
            QVERIFY2(resident <= (qint64(2) << 20) + (qint64(1) << 20),
                     qPrintable(QStringLiteral("%1 after %2: %3 bytes of the map resident")
                                    .arg(file, QLatin1String(what))
                                    .arg(resident)));
        };
        for (const QString& name : ts.names())
            (void)ts.readF32(name);
        check("readF32");
        for (const QString& name : ts.names())
            (void)ts.readRawRows(name);
        check("readRawRows");
    }
}

void TestEngine::memoryCheckRefusesUpFront()
{
    const auto model = Model::open(m_model);
    qputenv("QUANTSCOPE_MEMORY_LIMIT", "100000"); // 100 kB: less than the 1 MB of weights
    const QString msg = test::errorOf([&] { Transformer t(model); });
    qunsetenv("QUANTSCOPE_MEMORY_LIMIT");
    QS_VERIFY_ERROR(
        msg, {QStringLiteral("not enough memory"), QStringLiteral("weights"), QStringLiteral("available")});
}

void TestEngine::memoryLimitTakesUnits()
{
    const auto model = Model::open(m_model);
    qputenv("QUANTSCOPE_MEMORY_LIMIT", "97K"); // 97 KiB: refused as above
    const QString small = test::errorOf([&] { Transformer t(model); });
    qputenv("QUANTSCOPE_MEMORY_LIMIT", "1.5GiB");
    const QString large = test::errorOf([&] { Transformer t(model); });
    qputenv("QUANTSCOPE_MEMORY_LIMIT", "12x"); // not a size: an error, never ignored
    const QString bad = test::errorOf([&] { Transformer t(model); });
    qunsetenv("QUANTSCOPE_MEMORY_LIMIT");
    QS_VERIFY_ERROR(small, {QStringLiteral("not enough memory"), QStringLiteral("available")});
    QVERIFY2(large.isEmpty(), qPrintable(large));
    QS_VERIFY_ERROR(bad,
                    {QStringLiteral("QUANTSCOPE_MEMORY_LIMIT=12x"), QStringLiteral("not a memory size")});
}

void TestEngine::speedIsMeasured()
{
    const auto model = Model::open(m_model);
    const Transformer t(model);
    const SpeedMeasurement s = measureSpeed(t, 32, 8);
    QVERIFY(s.valid());
    QVERIFY(s.prefillTokensPerSecond > 0 && s.decodeTokensPerSecond > 0);
    QCOMPARE(s.weightBytes, t.residentBytes());
    QVERIFY(s.weightBytes >= model->tensors().totalBytes() / 2);
    QVERIFY(!s.kernels.isEmpty());
    const SpeedMeasurement back = SpeedMeasurement::fromJson(s.toJson());
    QCOMPARE(back.decodeTokensPerSecond, s.decodeTokensPerSecond);
    QCOMPARE(back.kernels, s.kernels);
}

void TestEngine::streamBuffers()
{
    // The buffers repacked weights go to: every byte of a small (heap) and a large (anonymous map,
    // huge pages where granted) buffer is ours to write and read back; the large one starts on a
    // 2 MiB boundary (Linux), so that whole huge pages can back it.
    for (const std::size_t bytes : {std::size_t(1000), kStreamBufferHugePage * 2 + 123}) {
        const std::shared_ptr<std::uint8_t> b = allocateStreamBuffer(bytes);
        QVERIFY(b);
        for (std::size_t i = 0; i < bytes; ++i)
            b.get()[i] = std::uint8_t(i * 131 + 7);
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < bytes; ++i)
            wrong += b.get()[i] != std::uint8_t(i * 131 + 7);
        QCOMPARE(wrong, std::size_t(0));
#if defined(__linux__)
        if (bytes >= kStreamBufferHugePage)
            QCOMPARE(reinterpret_cast<std::uintptr_t>(b.get()) % kStreamBufferHugePage, std::uintptr_t(0));
#endif
    }
}

QTEST_GUILESS_MAIN(TestEngine)
#include "tst_engine.moc"
