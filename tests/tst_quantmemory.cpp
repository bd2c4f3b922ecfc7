// What a quantization run keeps in memory (issue 14): a finished layer holds its packed form only
// (no codes one per byte, no f32 working copy, no dequantized check), the up-front estimate covers
// what the run holds without being far above it, and the checkpoint is written from the result
// as it is. Checked by accounting (capacities, the live working-copy counter, residentBytes), not
// by timing or process RSS. Runs on a small synthetic bf16 model, no shared data needed.
#include "TestSupport.h"
#include "checkpoint/GgufExport.h"
#include "checkpoint/GgufTypePolicy.h"
#include "checkpoint/QuantizedModelIO.h"
#include "model/Model.h"
#include "model/QuantizedLinear.h"
#include "model/SyntheticModel.h"
#include "model/Transformer.h"
#include "quant/QuantizeJob.h"
#include "quant/Quantizer.h"
#include "recipe/LayerPlan.h"
#include "spec/QuantizedTensor.h"
#include "util/Threads.h"

#include <QJsonObject>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

Q_DECLARE_METATYPE(qs::QuantSpec)

using namespace qs;

namespace {

std::vector<float> randomMatrix(std::int64_t rows, std::int64_t cols, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.05f);
    std::vector<float> w(std::size_t(rows * cols));
    for (float& v : w)
        v = d(rng);
    return w;
}

QuantSpec intSpec(int bits, int group, bool sym = false)
{
    QuantSpec s;
    s.method = QuantMethod::Rtn;
    s.bits = bits;
    s.symmetric = sym;
    s.granularity = group > 0 ? Granularity::PerGroup : Granularity::PerChannel;
    s.groupSize = group > 0 ? group : 128;
    return s;
}

QuantSpec ggmlSpec(const char* type) // the type decides bits, groups and symmetry
{
    return QuantSpec::fromJson(QJsonObject{{QStringLiteral("method"), QStringLiteral("gguf")},
                                           {QStringLiteral("type"), QLatin1String(type)}},
                               QStringLiteral("<test>"));
}

QuantSpec floatSpec(DType type)
{
    QuantSpec s;
    s.method = QuantMethod::Float;
    s.floatType = type;
    return s;
}

/// Bytes a finished layer of `spec` may hold: its packed codes (rows padded to 16, groups to 32
/// columns) with f32 scales and zeros twice (the tensor's and the kernel's), gguf blocks, or a
/// float layer's f32 values plus the copy at its type.
double allowedBytes(const QuantSpec& spec, std::int64_t rows, std::int64_t cols)
{
    const double params = double(rows) * double(cols);
    if (spec.method == QuantMethod::Ggml)
        return double(spec.cost(rows, cols).total());
    if (spec.method == QuantMethod::Float)
        return params *
               (4.0 + (spec.floatType == DType::F32 ? 0.0 : double(dtypeInfo(spec.floatType).bytes)));
    const double paddedRows = std::ceil(double(rows) / 16) * 16;
    const double groups = double(spec.groupsPerRow(cols)),
                 groupCols = std::ceil(double(cols) / groups / 32) * 32;
    return paddedRows * groups * groupCols * spec.bits / 8.0 + paddedRows * groups * 16.0;
}

/// The suite's model: a small bf16 Llama (no tokenizer).
SyntheticModelSpec testShape()
{
    SyntheticModelSpec spec;
    spec.hidden = 256;
    spec.intermediate = 768; // rows of whole 256-value blocks: every gguf type fits every layer
    spec.layers = 2;
    spec.heads = 8;
    spec.kvHeads = 4;
    spec.vocab = 512;
    spec.dtype = DType::BF16;
    return spec;
}

} // namespace

class TestQuantMemory : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void releaseFreesCodes_data();
    void releaseFreesCodes();
    void streamedWeightErrorIsExact();
    void actOrderDequantizesByGroupIndex();
    void runKeepsPackedLayersOnly_data();
    void runKeepsPackedLayersOnly();
    void workingCopyReadFromTheFile();

private:
    QTemporaryDir m_dir;
    QString m_model;
};

void TestQuantMemory::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_model = m_dir.filePath(QStringLiteral("synth"));
    writeSyntheticModel(m_model, testShape());
}

void TestQuantMemory::releaseFreesCodes_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("group");
    QTest::addColumn<bool>("sym");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::newRow("int4 g128") << 4 << 128 << false << 96 << 512;
    QTest::newRow("int3 g64 sym, odd rows") << 3 << 64 << true << 37 << 320;
    QTest::newRow("int8 channel") << 8 << 0 << false << 64 << 200;
    QTest::newRow("int2 g32, 1 row") << 2 << 32 << false << 1 << 96;
    QTest::newRow("int5 g128, tail group") << 5 << 128 << false << 50 << 300;
}

void TestQuantMemory::releaseFreesCodes()
{
    QFETCH(int, bits);
    QFETCH(int, group);
    QFETCH(bool, sym);
    QFETCH(int, rows);
    QFETCH(int, cols);
    const std::vector<float> w = randomMatrix(rows, cols, 7);
    QuantizedTensor q = rtnQuantize(w.data(), rows, cols, intSpec(bits, group, sym));
    const std::vector<std::uint8_t> codes = q.codes;
    const std::vector<float> deq = q.dequantize();
    // Each value is (code − zero) · scale of its group, to the bit.
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t c = 0; c < cols; ++c) {
            const std::size_t i = std::size_t(r * cols + c), si = std::size_t(q.scaleIndex(r, c));
            QCOMPARE(deq[i], (float(codes[i]) - q.zeros[si]) * q.scales[si]);
        }
    QVERIFY(q.ownedBytes() >= codes.size());
    q.releaseCodesToPacked();
    // The byte-per-code buffer is gone, not just emptied (its capacity was the leak).
    QCOMPARE(q.codes.capacity(), std::size_t(0));
    QVERIFY(q.packed);
    QVERIFY2(double(q.ownedBytes()) <= allowedBytes(q.spec, rows, cols),
             qPrintable(QStringLiteral("%1 bytes held, %2 allowed")
                            .arg(q.ownedBytes())
                            .arg(allowedBytes(q.spec, rows, cols))));
    // Row ranges read back from the packed form (ranges of every size, a tail included).
    QVERIFY(q.unpackedCodes() == codes);
    QVERIFY(q.dequantize() == deq);
    for (const auto& [r0, r1] :
         std::vector<std::pair<int, int>>{{0, rows}, {rows / 2, rows}, {rows - 1, rows}}) {
        std::vector<std::uint8_t> part(std::size_t((r1 - r0) * cols));
        q.codeRows(r0, r1, part.data());
        QVERIFY(std::equal(part.begin(), part.end(), codes.begin() + std::ptrdiff_t(r0) * cols));
        std::vector<float> rowsDeq(std::size_t((r1 - r0) * cols));
        q.dequantizeRows(r0, r1, rowsDeq.data());
        QVERIFY(std::equal(rowsDeq.begin(), rowsDeq.end(), deq.begin() + std::ptrdiff_t(r0) * cols));
    }
    QVERIFY_THROWS_EXCEPTION(Error, q.codeRows(0, rows + 1, nullptr));
}

void TestQuantMemory::streamedWeightErrorIsExact()
{
    // More than one measuring block (2^20 weights) with a partial last one: the streamed error,
    // maximum and histogram equal the ones from a whole dequantized copy (sums of each row's sum in row
    // order), to the bit, on one thread and on two.
    const std::int64_t rows = 300, cols = 4000;
    const std::vector<float> w = randomMatrix(rows, cols, 11);
    QuantizedTensor q = rtnQuantize(w.data(), rows, cols, intSpec(3, 128));
    q.releaseCodesToPacked();
    const std::vector<float> wq = q.effectiveWeight();
    double num = 0, den = 0, mx = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        double rowNum = 0, rowDen = 0;
        for (std::int64_t c = 0; c < cols; ++c) {
            const std::size_t i = std::size_t(r * cols + c);
            const double e = double(w[i]) - double(wq[i]);
            rowNum += e * e;
            rowDen += double(w[i]) * double(w[i]);
            mx = std::max(mx, std::fabs(e));
        }
        num += rowNum;
        den += rowDen;
    }
    std::vector<double> bins(41, 0.0);
    for (std::size_t i = 0; i < wq.size(); ++i) {
        const double e = double(w[i]) - double(wq[i]);
        ++bins[std::size_t(std::clamp(int((e + mx) / (2 * mx) * 41), 0, 40))];
    }
    const int threadsBefore = computeThreads();
    const auto restore = qScopeGuard([&] { setComputeThreads(threadsBefore); });
    for (int threads : {1, 2}) {
        setComputeThreads(threads);
        LayerReport rep;
        measureWeightError(rep, w.data(), q);
        QVERIFY2(rep.weightRelMse == num / den, qPrintable(QString::number(threads)));
        QVERIFY(rep.weightSquaredNorm == den);
        QVERIFY(rep.maxAbsError == mx);
        QVERIFY(rep.errorHistogram == bins);
    }
}

void TestQuantMemory::actOrderDequantizesByGroupIndex()
{
    // GPTQ act-order: each column's group comes from g_idx (32 columns a group, scattered). The
    // reconstruction uses that group's parameters, from the codes and from the packed form alike.
    const std::int64_t rows = 20, cols = 96, groups = 3;
    std::mt19937 rng(5);
    std::vector<int> order(static_cast<std::size_t>(cols));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    QuantizedTensor q;
    q.spec = intSpec(4, 32);
    q.rows = rows;
    q.cols = cols;
    q.groupIndex.resize(std::size_t(cols));
    for (std::int64_t c = 0; c < cols; ++c)
        q.groupIndex[std::size_t(c)] = std::int32_t(order[std::size_t(c)] / 32);
    q.codes.resize(std::size_t(rows * cols));
    for (std::uint8_t& v : q.codes)
        v = std::uint8_t(rng() % 16);
    std::uniform_real_distribution<float> u(0.01f, 0.1f);
    for (std::int64_t i = 0; i < rows * groups; ++i) {
        q.scales.push_back(u(rng));
        q.zeros.push_back(float(rng() % 16));
    }
    const std::vector<std::uint8_t> codes = q.codes;
    auto expected = [&](std::int64_t r, std::int64_t c) {
        const std::size_t g = std::size_t(r * groups + q.groupIndex[std::size_t(c)]);
        return (float(codes[std::size_t(r * cols + c)]) - q.zeros[g]) * q.scales[g];
    };
    for (bool packed : {false, true}) {
        if (packed)
            q.releaseCodesToPacked();
        const std::vector<float> deq = q.dequantize();
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c)
                QVERIFY2(deq[std::size_t(r * cols + c)] == expected(r, c),
                         qPrintable(QStringLiteral("packed %1, [%2, %3]").arg(packed).arg(r).arg(c)));
    }
    QVERIFY(q.unpackedCodes() == codes);
}

void TestQuantMemory::runKeepsPackedLayersOnly_data()
{
    QTest::addColumn<QuantSpec>("spec");
    QTest::newRow("rtn int4 g128") << intSpec(4, 128);
    QTest::newRow("rtn int8 channel") << intSpec(8, 0);
    QTest::newRow("rtn int3 g64 sym") << intSpec(3, 64, true);
    QTest::newRow("gguf q4_0") << ggmlSpec("Q4_0");
    QTest::newRow("gguf q4_K") << ggmlSpec("Q4_K");
    QTest::newRow("float f16") << floatSpec(DType::F16);
}

void TestQuantMemory::runKeepsPackedLayersOnly()
{
    QFETCH(QuantSpec, spec);
    const auto model = Model::open(m_model);
    const LayerPlan plan = LayerPlan::uniform(*model, spec);
    const std::uint64_t before = liveWorkingCopyBytes();
    // After each layer (its report) no working copy is alive: the run holds one layer at a time.
    int layersDone = 0;
    std::uint64_t aliveAtReport = 0;
    JobContext job;
    job.progress = [&](const JobProgress& p) {
        if (p.stage != u"quantizing")
            return;
        ++layersDone;
        aliveAtReport = std::max(aliveAtReport, liveWorkingCopyBytes() - before);
    };
    const QuantizeResult r = runQuantization(model, plan, CalibrationSettings(), nullptr, job);
    QCOMPARE(layersDone, int(model->linears().size()));
    QCOMPARE(aliveAtReport, std::uint64_t(0));
    QCOMPARE(liveWorkingCopyBytes(), before);

    // Each finished layer holds its packed form and nothing else.
    double held = 0;
    for (std::size_t i = 0; i < model->linears().size(); ++i) {
        const LinearLayerInfo& l = model->linears()[i];
        const auto* ql = dynamic_cast<const QuantizedLinear*>(&r.model->linear(int(i)));
        QVERIFY(ql);
        QCOMPARE(ql->tensorPtr(), r.tensors[i]); // the result and the running layer share one tensor
        QCOMPARE(r.tensors[i]->codes.capacity(), std::size_t(0));
        const double allowed = allowedBytes(spec, l.outFeatures, l.inFeatures);
        QVERIFY2(double(ql->residentBytes()) <= allowed,
                 qPrintable(QStringLiteral("%1: %2 bytes held, %3 allowed")
                                .arg(l.name)
                                .arg(ql->residentBytes())
                                .arg(allowed)));
        held += double(ql->residentBytes());
    }
    // The estimate covers what the layers hold, and not by much more.
    const MemoryEstimate e = estimateQuantizationMemory(*model, plan, CalibrationSettings());
    QVERIFY2(e.quantizedLayers >= held && e.quantizedLayers <= 1.25 * held,
             qPrintable(QStringLiteral("estimated %1, held %2").arg(e.quantizedLayers).arg(held)));
    double largest = 0;
    for (const LinearLayerInfo& l : model->linears())
        largest = std::max(largest, double(l.params()));
    QVERIFY(e.layerCopy >= 4.0 * largest); // at least the largest layer's f32 working copy
    QCOMPARE(e.calibrationStates, 0.0);
    QCOMPARE(e.blockWorkingSet, 0.0);

    // The checkpoint, written from the result as it is, reloads to the same layers.
    const QString out = m_dir.filePath(QStringLiteral("out-") + QString::fromLatin1(QTest::currentDataTag()));
    saveQuantizedModel(out, *model, r, QJsonObject());
    const auto reloadedModel = Model::open(out);
    const Transformer reloaded(reloadedModel);
    // Loading it is estimated at the form its layers run in (not at the file's size).
    const double weightsNeed = modelRunMemory(*reloadedModel, 0, 0).parts.front().second;
    QVERIFY2(
        weightsNeed >= double(reloaded.residentBytes()) &&
            weightsNeed <= 1.25 * double(reloaded.residentBytes()),
        qPrintable(QStringLiteral("estimated %1, as run %2").arg(weightsNeed).arg(reloaded.residentBytes())));
    for (std::size_t i = 0; i < model->linears().size(); ++i) {
        const auto* ql = dynamic_cast<const QuantizedLinear*>(&reloaded.linear(int(i)));
        QVERIFY(ql);
        QVERIFY2(ql->tensor().dequantize() == r.tensors[i]->dequantize(),
                 qPrintable(model->linears()[i].name));
    }
}

// A layer read in place from the map gets its working copy from the file (pread, so its mapped pages stay
// out of the resident set): the same values as the layer's own conversion, for every layer that reads the map
// (all of the bf16 folder's, head included; a GGUF F16 file's layers too, its permuted q/k rows rewritten at
// load going by the layer's own conversion), and in any case the same values as before.
void TestQuantMemory::workingCopyReadFromTheFile()
{
    // The GGUF writer needs a tokenizer: the same shape again, with one.
    SyntheticModelSpec spec = testShape();
    spec.vocab = syntheticTokenizerSize();
    spec.tokenizer = true;
    const QString withTokenizer = m_dir.filePath(QStringLiteral("synth-tok"));
    writeSyntheticModel(withTokenizer, spec);
    const auto source = Model::open(withTokenizer);
    const QString gguf = m_dir.filePath(QStringLiteral("synth-f16.gguf"));
    exportGguf(*source, ggufPreset(*source, QStringLiteral("F16")), gguf, nullptr, JobContext());
    for (const QString& path : {m_model, gguf}) {
        const auto model = Model::open(path);
        const Transformer t(model);
        int fromFile = 0;
        for (int li = 0; li < int(model->linears().size()); ++li) {
            const QString& name = model->linears()[std::size_t(li)].name;
            const auto* dense = dynamic_cast<const DenseLinear*>(&t.linear(li));
            QVERIFY2(dense, qPrintable(name));
            fromFile += dense->mapped() ? 1 : 0;
            const QuantizeRequest req =
                floatLayerRequest(t, li, intSpec(4, 128), nullptr, QStringLiteral("quantized"));
            const std::vector<float> own = t.linear(li).floatWeight();
            QCOMPARE(req.weightCopy->size(), own.size());
            QVERIFY2(std::memcmp(req.weightCopy->data(), own.data(), own.size() * sizeof(float)) == 0,
                     qPrintable(path + u' ' + name));
        }
        if (path == m_model) // every layer of the folder reads the map
            QCOMPARE(fromFile, int(model->linears().size()));
        else
            QVERIFY2(fromFile > 0, "no layer of the GGUF file reads the map");
    }
}

QTEST_GUILESS_MAIN(TestQuantMemory)
#include "tst_quantmemory.moc"
