// Quantizers on synthetic layers: exact storage cost, RTN round-trip bounds, code packing, GPTQ / AWQ /
// SmoothQuant / LLM.int8 against plain rounding on the output error, argument errors, cancellation.
// All data is generated here from fixed seeds; statistics are filled directly (no model needed).
#include "TestSupport.h"
#include "eval/Calibration.h"
#include "kernels/AdditiveCodes.h"
#include "kernels/BitPacking.h"
#include "kernels/E8Lattice.h"
#include "kernels/PackedInt.h"
#include "model/PackedLinear.h"
#include "model/QuantizedLinear.h"
#include "quant/AqlmQuantizer.h"
#include "quant/AwqQuantizer.h"
#include "quant/Gptq.h"
#include "quant/Quantizer.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <QJsonObject>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

using namespace qs;

Q_DECLARE_METATYPE(qs::QuantSpec)

namespace {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::vector<float> gaussianWeight(std::int64_t rows, std::int64_t cols, unsigned seed, float sigma = 0.02f)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.f, sigma);
    std::vector<float> w(static_cast<std::size_t>(rows * cols));
    for (float& v : w)
        v = n(rng);
    return w;
}

MatrixF gaussian(std::int64_t rows, std::int64_t cols, std::mt19937& rng, float sigma = 1.0f)
{
    std::normal_distribution<float> n(0.f, sigma);
    MatrixF m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i)
        m.data()[i] = n(rng);
    return m;
}

/// Correlated calibration inputs: X = Z·A (rank cols/4, so XᵀX is far from diagonal) plus a little
/// independent noise, per-channel log-normal scales and a few high-variance channels (×8).
MatrixF correlatedInputs(std::int64_t n, std::int64_t cols, unsigned seed)
{
    std::mt19937 rng(seed);
    const std::int64_t rank = std::max<std::int64_t>(4, cols / 4);
    const MatrixF Z = gaussian(n, rank, rng), A = gaussian(rank, cols, rng);
    MatrixF X = (Z * A) / std::sqrt(float(rank)) + 0.1f * gaussian(n, cols, rng);
    std::lognormal_distribution<float> ln(0.f, 0.5f);
    for (std::int64_t c = 0; c < cols; ++c)
        X.col(c) *= ln(rng) * (c % 61 == 7 ? 8.0f : 1.0f);
    return X;
}

/// What CalibrationCollector would gather for these inputs (first `sampleRows` rows as the sample).
LinearInputStats statsFor(const MatrixF& X, std::int64_t outFeatures, const std::vector<float>& w,
                          std::int64_t sampleRows = 512)
{
    LinearInputStats s;
    const std::int64_t n = X.rows(), cols = X.cols();
    s.inFeatures = cols;
    s.outFeatures = outFeatures;
    s.tokens = n;
    const Eigen::MatrixXd Xd = X.cast<double>();
    s.xtx = Xd.transpose() * Xd;
    s.sumAbs.assign(static_cast<std::size_t>(cols), 0.0);
    s.maxAbs.assign(static_cast<std::size_t>(cols), 0.0);
    s.sumSquares.assign(static_cast<std::size_t>(cols), 0.0);
    for (std::int64_t t = 0; t < n; ++t) {
        for (std::int64_t c = 0; c < cols; ++c) {
            const double v = X(t, c), a = std::fabs(v);
            s.sumAbs[std::size_t(c)] += a;
            s.sumSquares[std::size_t(c)] += v * v;
            s.maxAbs[std::size_t(c)] = std::max(s.maxAbs[std::size_t(c)], a);
        }
    }
    s.sampleRows = std::min(sampleRows, n);
    s.sampleInputs.assign(X.data(), X.data() + s.sampleRows * cols);
    s.sampleOutputs.resize(static_cast<std::size_t>(s.sampleRows * outFeatures));
    gemmXWt(s.sampleInputs.data(), s.sampleRows, cols, w.data(), outFeatures, s.sampleOutputs.data());
    return s;
}

/// ‖X Wᵀ − X Ŵᵀ‖² / ‖X Wᵀ‖² in double; `colsOnly` restricts both to those input columns.
double relOutputError(const MatrixF& X, const std::vector<float>& w, const std::vector<float>& wq,
                      std::int64_t rows, const std::vector<int>& colsOnly = {})
{
    const std::int64_t cols = X.cols();
    Eigen::MatrixXd W = Eigen::Map<const MatrixF>(w.data(), rows, cols).cast<double>();
    Eigen::MatrixXd D = W - Eigen::Map<const MatrixF>(wq.data(), rows, cols).cast<double>();
    Eigen::MatrixXd Xd = X.cast<double>();
    if (!colsOnly.empty()) {
        Eigen::MatrixXd mask = Eigen::MatrixXd::Zero(cols, cols);
        for (int c : colsOnly)
            mask(c, c) = 1;
        Xd = Xd * mask;
    }
    return (Xd * D.transpose()).squaredNorm() / (Xd * W.transpose()).squaredNorm();
}

/// Relative error of a layer's forward pass against the float product X Wᵀ.
double relForwardError(const LinearLayer& layer, const MatrixF& X, const std::vector<float>& w)
{
    const std::int64_t n = X.rows(), rows = layer.outFeatures();
    std::vector<float> y(static_cast<std::size_t>(n * rows));
    layer.forward(X.data(), n, y.data());
    const Eigen::MatrixXd ref =
        X.cast<double>() * Eigen::Map<const MatrixF>(w.data(), rows, X.cols()).cast<double>().transpose();
    const Eigen::MatrixXd got = Eigen::Map<const MatrixF>(y.data(), n, rows).cast<double>();
    return (got - ref).squaredNorm() / ref.squaredNorm();
}

QuantSpec makeSpec(QuantMethod m, int bits, bool sym, Granularity g, int group = 128)
{
    QuantSpec s;
    s.method = m;
    s.bits = bits;
    s.symmetric = sym;
    s.granularity = g;
    s.groupSize = group;
    return s;
}

QuantizeRequest makeRequest(const std::vector<float>& w, std::int64_t rows, std::int64_t cols,
                            const QuantSpec& spec, const LinearInputStats* stats)
{
    QuantizeRequest r;
    r.layerName = QStringLiteral("model.layers.0.mlp.down_proj");
    r.weight = w.data();
    r.rows = rows;
    r.cols = cols;
    r.stats = stats;
    r.spec = spec;
    return r;
}

QuantizedTensor runQuant(const std::vector<float>& w, std::int64_t rows, std::int64_t cols,
                         const QuantSpec& spec, const LinearInputStats* stats, const JobContext& job = {})
{
    return quantizeWeight(makeRequest(w, rows, cols, spec, stats), job);
}

bool allFinite(const std::vector<float>& v)
{
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

/// A shared GPTQ layer: 96 outputs (one full and one partial row tile), 256 inputs, 2048 tokens.
struct GptqLayer
{
    std::int64_t rows = 96, cols = 256, tokens = 2048;
    MatrixF X;
    std::vector<float> w;
    LinearInputStats stats;
};

const GptqLayer& gptqLayer()
{
    static const GptqLayer l = [] {
        GptqLayer g;
        g.X = correlatedInputs(g.tokens, g.cols, 11);
        g.w = gaussianWeight(g.rows, g.cols, 12);
        g.stats = statsFor(g.X, g.rows, g.w);
        return g;
    }();
    return l;
}

} // namespace

class TestQuant : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void cleanup();
    void specCost_data();
    void specCost();
    void tensorBitsMatchCost();
    void rtnRoundTrip_data();
    void rtnRoundTrip();
    void clipSearchNeverWorse_data();
    void clipSearchNeverWorse();
    void hqqLowersLpError_data();
    void hqqLowersLpError();
    void hqqSpec();
    void squeezeLlmSpec();
    void squeezeLlmKeepsSparseExact();
    void squeezeLlmBeatsRtn_data();
    void squeezeLlmBeatsRtn();
    void e8pCodesAreLatticePoints();
    void e8pEncoderFindsTheNearestPoint();
    void quipSharpSpec();
    void quipSharpBeatsGptq_data();
    void quipSharpBeatsGptq();
    void quipSharpFeedbackLowersOutputError();
    void quipSharpRowTail();
    void aqlmSpec();
    void aqlmCodesRoundTrip();
    void aqlmNeverRaisesObjective_data();
    void aqlmNeverRaisesObjective();
    void aqlmBeatsGptq_data();
    void aqlmBeatsGptq();
    void aqlmRowTailAndRotation();
    void tableKernelsFusedEqualTiles_data();
    void tableKernelsFusedEqualTiles();
    void rotationIsOrthogonal_data();
    void rotationIsOrthogonal();
    void incoherenceSpreadsOutliers_data();
    void incoherenceSpreadsOutliers();
    void incoherenceSpec();
    void packRoundTrip_data();
    void packRoundTrip();
    void packLayout();
    void gptqBeatsRtn_data();
    void gptqBeatsRtn();
    void gptqMatchesReference_data();
    void gptqMatchesReference();
    void gptqDeadInput();
    void gptqThreadDeterministic();
    void gptqDegenerateHessian();
    void gptqIndefiniteHessian();
    void gptqInverseFactorPanels();
    void awqProtectsSalient_data();
    void awqProtectsSalient();
    void smoothQuantOutliers();
    void llmInt8Outliers();
    void quantizeErrors_data();
    void quantizeErrors();
    void cancellation();
};

void TestQuant::cleanup()
{
    setComputeThreads(0);
}

// ---- storage cost ----------------------------------------------------------------------------

void TestQuant::specCost_data()
{
    QTest::addColumn<QuantSpec>("spec");
    QTest::addColumn<qint64>("rows");
    QTest::addColumn<qint64>("cols");
    QTest::addColumn<qint64>("outliers");
    QTest::addColumn<qint64>("codeBytes");
    QTest::addColumn<qint64>("scaleBytes");
    QTest::addColumn<qint64>("zeroBytes");
    QTest::addColumn<qint64>("extraBytes");
    QTest::addColumn<double>("bpw");

    const QuantSpec g128 = makeSpec(QuantMethod::Rtn, 4, false, Granularity::PerGroup, 128);
    // 4096² int4 g128 asym: codes 4096·4096·4/8; 32 groups/row → 131072 f16 scales and 4-bit zeros.
    QTest::newRow("rtn int4 g128 asym f16") << g128 << 4096LL << 4096LL << 0LL << 8388608LL << 262144LL
                                            << 65536LL << 0LL << 8.0 * 8716288 / 16777216;
    QuantSpec s = g128;
    s.symmetric = true;
    QTest::newRow("rtn int4 g128 sym f16")
        << s << 4096LL << 4096LL << 0LL << 8388608LL << 262144LL << 0LL << 0LL << 4.125;
    s = g128;
    s.scaleType = DType::F32;
    s.floatZeros = true;
    QTest::newRow("rtn int4 g128 asym f32 float zeros")
        << s << 4096LL << 4096LL << 0LL << 8388608LL << 524288LL << 524288LL << 0LL << 4.5;
    s = g128;
    s.floatZeros = true;
    QTest::newRow("rtn int4 g128 asym f16 float zeros")
        << s << 4096LL << 4096LL << 0LL << 8388608LL << 262144LL << 262144LL << 0LL << 4.25;
    QTest::newRow("rtn int8 channel sym f16")
        << makeSpec(QuantMethod::Rtn, 8, true, Granularity::PerChannel) << 4096LL << 4096LL << 0LL
        << 16777216LL << 8192LL << 0LL << 0LL << 8.0 * 16785408 / 16777216;
    s = makeSpec(QuantMethod::Rtn, 8, false, Granularity::PerTensor);
    s.scaleType = DType::F32;
    // One f32 scale (4 bytes) and one 8-bit zero (1 byte).
    QTest::newRow("rtn int8 tensor asym f32")
        << s << 4096LL << 4096LL << 0LL << 16777216LL << 4LL << 1LL << 0LL << 8.0 * 16777221 / 16777216;
    // 172 columns, g128: groups of 128 and 44 → 2 per row; 10 rows: codes (10·172·4+7)/8 = 860,
    // 20 f16 scales = 40 bytes, 20 4-bit zeros = 10 bytes.
    QTest::newRow("rtn int4 g128 cols172")
        << g128 << 10LL << 172LL << 0LL << 860LL << 40LL << 10LL << 0LL << 8.0 * 910 / 1720;
    // 3-bit per channel asym 3×5: codes ceil(45/8) = 6, 3 f16 scales, 3 3-bit zeros in 2 bytes.
    QTest::newRow("rtn int3 channel 3x5") << makeSpec(QuantMethod::Rtn, 3, false, Granularity::PerChannel)
                                          << 3LL << 5LL << 0LL << 6LL << 6LL << 2LL << 0LL << 8.0 * 14 / 15;
    // 2-bit g32 on 7×100: 4 groups/row (32,32,32,4) → 28 scales; codes ceil(1400/8) = 175, zeros ceil(56/8)
    // = 7.
    QTest::newRow("rtn int2 g32 7x100")
        << makeSpec(QuantMethod::Rtn, 2, false, Granularity::PerGroup, 32) << 7LL << 100LL << 0LL << 175LL
        << 56LL << 7LL << 0LL << 8.0 * 238 / 700;
    // Group longer than the row: one group per row.
    QTest::newRow("rtn int4 g128 cols64")
        << g128 << 2LL << 64LL << 0LL << 64LL << 4LL << 1LL << 0LL << 8.0 * 69 / 128;
    // GPTQ down_proj 4096×11008 g128 (86 groups/row); act-order adds an int32 g_idx per input column.
    s = makeSpec(QuantMethod::Gptq, 4, true, Granularity::PerGroup, 128);
    QTest::newRow("gptq int4 g128 sym")
        << s << 4096LL << 11008LL << 0LL << 22544384LL << 704512LL << 0LL << 0LL << 8.0 * 23248896 / 45088768;
    s.actOrder = true;
    QTest::newRow("gptq int4 g128 sym act-order") << s << 4096LL << 11008LL << 0LL << 22544384LL << 704512LL
                                                  << 0LL << 44032LL << 8.0 * 23292928 / 45088768;
    s.symmetric = false;
    QTest::newRow("gptq int4 g128 asym act-order") << s << 4096LL << 11008LL << 0LL << 22544384LL << 704512LL
                                                   << 176128LL << 44032LL << 8.0 * 23469056 / 45088768;
    // AWQ / SmoothQuant keep an f16 input scale per column.
    QTest::newRow("awq int4 g128 asym")
        << makeSpec(QuantMethod::Awq, 4, false, Granularity::PerGroup) << 4096LL << 4096LL << 0LL << 8388608LL
        << 262144LL << 65536LL << 8192LL << 8.0 * 8724480 / 16777216;
    QTest::newRow("smoothquant w8 channel sym")
        << makeSpec(QuantMethod::SmoothQuant, 8, true, Granularity::PerChannel) << 4096LL << 4096LL << 0LL
        << 16777216LL << 8192LL << 0LL << 8192LL << 8.0 * 16793600 / 16777216;
    // LLM.int8 with 20 outlier columns: 4076 int8 columns, outliers in f16 (4096·2 bytes) + int32 index each.
    QTest::newRow("llm.int8 20 outliers")
        << makeSpec(QuantMethod::LlmInt8, 8, true, Granularity::PerChannel) << 4096LL << 4096LL << 20LL
        << 16695296LL << 8192LL << 0LL << 163920LL << 8.0 * 16867408 / 16777216;
    s = QuantSpec();
    s.method = QuantMethod::Float;
    s.floatType = DType::F16;
    QTest::newRow("float f16") << s << 4096LL << 4096LL << 0LL << 33554432LL << 0LL << 0LL << 0LL << 16.0;
    s.floatType = DType::BF16;
    QTest::newRow("float bf16") << s << 4096LL << 4096LL << 0LL << 33554432LL << 0LL << 0LL << 0LL << 16.0;
    s.floatType = DType::F32;
    QTest::newRow("float f32") << s << 3LL << 5LL << 0LL << 60LL << 0LL << 0LL << 0LL << 32.0;
}

void TestQuant::specCost()
{
    QFETCH(QuantSpec, spec);
    QFETCH(qint64, rows);
    QFETCH(qint64, cols);
    QFETCH(qint64, outliers);
    QFETCH(qint64, codeBytes);
    QFETCH(qint64, scaleBytes);
    QFETCH(qint64, zeroBytes);
    QFETCH(qint64, extraBytes);
    QFETCH(double, bpw);
    QVERIFY2(spec.validate().isEmpty(), qPrintable(spec.validate()));
    const QuantSpec::Cost c = spec.cost(rows, cols, outliers);
    QCOMPARE(qint64(c.codeBytes), codeBytes);
    QCOMPARE(qint64(c.scaleBytes), scaleBytes);
    QCOMPARE(qint64(c.zeroBytes), zeroBytes);
    QCOMPARE(qint64(c.extraBytes), extraBytes);
    QCOMPARE(qint64(c.total()), codeBytes + scaleBytes + zeroBytes + extraBytes);
    QVERIFY2(
        std::fabs(c.bitsPerWeight(rows * cols) - bpw) < 1e-12,
        qPrintable(QStringLiteral("%1 bits/weight, expected %2").arg(c.bitsPerWeight(rows * cols)).arg(bpw)));
}

void TestQuant::tensorBitsMatchCost()
{
    const std::vector<float> w = gaussianWeight(10, 172, 3);
    const QuantSpec spec = makeSpec(QuantMethod::Rtn, 4, false, Granularity::PerGroup, 128);
    const QuantizedTensor t = runQuant(w, 10, 172, spec, nullptr);
    QCOMPARE(t.scales.size(), std::size_t(20));
    QCOMPARE(t.storageBytes(), std::uint64_t(910));
    QCOMPARE(t.bitsPerWeight(), 8.0 * 910 / 1720);
    QCOMPARE(t.spec.label(), QStringLiteral("rtn int4 g128 asym"));
}

// ---- RTN -------------------------------------------------------------------------------------

void TestQuant::rtnRoundTrip_data()
{
    QTest::addColumn<QuantSpec>("spec");
    QTest::addColumn<int>("cols");
    struct G
    {
        const char* name;
        Granularity g;
        int size;
    };
    const G grans[] = {{"g32", Granularity::PerGroup, 32},
                       {"g64", Granularity::PerGroup, 64},
                       {"g128", Granularity::PerGroup, 128},
                       {"channel", Granularity::PerChannel, 128},
                       {"tensor", Granularity::PerTensor, 128}};
    for (int bits = 2; bits <= 8; ++bits) {
        for (int mode = 0; mode < 3; ++mode) { // sym, asym int zeros, asym float zeros
            for (const G& g : grans) {
                for (int cols : {172, 256}) {
                    for (DType st : {DType::F16, DType::F32}) {
                        QuantSpec s = makeSpec(QuantMethod::Rtn, bits, mode == 0, g.g, g.size);
                        s.floatZeros = mode == 2;
                        s.scaleType = st;
                        QTest::addRow("int%d %s %s c%d %s", bits,
                                      mode == 0   ? "sym"
                                      : mode == 1 ? "asym"
                                                  : "asym-fz",
                                      g.name, cols, st == DType::F16 ? "f16" : "f32")
                            << s << cols;
                    }
                }
            }
        }
    }
}

void TestQuant::rtnRoundTrip()
{
    QFETCH(QuantSpec, spec);
    QFETCH(int, cols);
    const std::int64_t rows = 6;
    std::vector<float> w = gaussianWeight(rows, cols, unsigned(spec.bits * 1000 + cols));
    w[5] = 0.3f; // one outlier, and one row that is all positive (the grid still contains 0)
    for (std::int64_t c = 0; c < cols; ++c)
        w[std::size_t(3 * cols + c)] = std::fabs(w[std::size_t(3 * cols + c)]) + 0.01f;
    const QuantizedTensor t = runQuant(w, rows, cols, spec, nullptr);
    const std::int64_t groups =
        spec.granularity == Granularity::PerTensor ? 1 : rows * spec.groupsPerRow(cols);
    QCOMPARE(std::int64_t(t.scales.size()), groups);
    QCOMPARE(t.zeros.size(), t.scales.size());
    QCOMPARE(std::int64_t(t.codes.size()), rows * cols);
    const std::vector<float> deq = t.dequantize();
    // Bound: half a step inside the range, plus what rounding the scale (and a float zero) to its
    // storage type can move the end of the grid: qmax·|Δscale| ≤ qmax·scale·2^-11 for f16.
    const double rel = spec.scaleType == DType::F16 ? std::ldexp(1.0, -10) : std::ldexp(1.0, -22);
    double worst = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = 0; c < cols; ++c) {
            const std::size_t i = std::size_t(r * cols + c), si = std::size_t(t.scaleIndex(r, c));
            const float scale = t.scales[si], zero = t.zeros[si];
            QVERIFY(scale > 0);
            QCOMPARE(scale, roundToStorage(scale, spec.scaleType));
            QVERIFY(t.codes[i] <= spec.qmax());
            if (spec.symmetric)
                QCOMPARE(zero, float(1 << (spec.bits - 1)));
            else if (!spec.floatZeros)
                QVERIFY(zero == std::nearbyint(zero) && zero >= 0 && zero <= float(spec.qmax()));
            QCOMPARE(deq[i], (float(t.codes[i]) - zero) * scale);
            const double err = std::fabs(double(w[i]) - double(deq[i]));
            const double bound = double(scale) * (0.5 + spec.qmax() * rel) + 1e-7;
            worst = std::max(worst, err / double(scale));
            if (err > bound)
                QFAIL(qPrintable(
                    QStringLiteral("row %1 col %2: w %3 → %4 (code %5, scale %6, zero %7): error %8 > %9")
                        .arg(r)
                        .arg(c)
                        .arg(double(w[i]))
                        .arg(double(deq[i]))
                        .arg(t.codes[i])
                        .arg(double(scale))
                        .arg(double(zero))
                        .arg(err)
                        .arg(bound)));
        }
    }
    QVERIFY(worst > 0.2); // the bound is tight: some value sits near half a step
}

void TestQuant::clipSearchNeverWorse_data()
{
    QTest::addColumn<QuantSpec>("spec");
    for (int bits = 2; bits <= 8; ++bits) {
        for (bool sym : {false, true}) {
            QTest::addRow("int%d %s g128", bits, sym ? "sym" : "asym")
                << makeSpec(QuantMethod::Rtn, bits, sym, Granularity::PerGroup, 128);
            QTest::addRow("int%d %s g32", bits, sym ? "sym" : "asym")
                << makeSpec(QuantMethod::Rtn, bits, sym, Granularity::PerGroup, 32);
            QTest::addRow("int%d %s channel", bits, sym ? "sym" : "asym")
                << makeSpec(QuantMethod::Rtn, bits, sym, Granularity::PerChannel);
        }
    }
}

void TestQuant::clipSearchNeverWorse()
{
    QFETCH(QuantSpec, spec);
    const std::int64_t rows = 16, cols = 300;
    // Heavy-tailed weights (Student-t, 3 dof): clipping pays off on them.
    std::mt19937 rng(unsigned(spec.bits));
    std::student_t_distribution<float> st(3.f);
    std::vector<float> w(static_cast<std::size_t>(rows * cols));
    for (float& v : w)
        v = 0.01f * st(rng);
    const QuantizedTensor plain = rtnQuantize(w.data(), rows, cols, spec);
    QuantSpec clip = spec;
    clip.clipSearch = true;
    const QuantizedTensor clipped = rtnQuantize(w.data(), rows, cols, clip);
    const std::vector<float> a = plain.dequantize(), b = clipped.dequantize();
    const std::int64_t g = spec.groupLength(cols);
    double totalPlain = 0, totalClip = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c0 = 0; c0 < cols; c0 += g) {
            double ea = 0, eb = 0;
            for (std::int64_t c = c0; c < std::min(cols, c0 + g); ++c) {
                const std::size_t i = std::size_t(r * cols + c);
                ea += (double(w[i]) - a[i]) * (double(w[i]) - a[i]);
                eb += (double(w[i]) - b[i]) * (double(w[i]) - b[i]);
            }
            QVERIFY2(
                eb <= ea * (1 + 1e-9),
                qPrintable(QStringLiteral("row %1 group at %2: %3 > %4").arg(r).arg(c0).arg(eb).arg(ea)));
            totalPlain += ea;
            totalClip += eb;
        }
    }
    if (spec.bits <= 4) // at low bits the search finds a better range for the heavy tails
        QVERIFY2(totalClip < (spec.bits <= 3 ? 0.95 : 1.0) * totalPlain,
                 qPrintable(QStringLiteral("clip %1 vs plain %2").arg(totalClip).arg(totalPlain)));
}

void TestQuant::hqqLowersLpError_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("group"); // 0: per channel
    for (int bits : {2, 3, 4, 8})
        for (int group : {0, 64})
            QTest::addRow("int%d %s", bits, group ? "g64" : "channel") << bits << group;
}

// HQQ minimises Σ|w − ŵ|^p (p = 0.7) over each group's zero, starting from RTN's min–max zero with the same
// scale: per group it is never worse than that start (up to the f16 rounding of the stored zero), and over
// heavy-tailed weights it is better in total; its codes reconstruct what its scales and zeros say.
void TestQuant::hqqLowersLpError()
{
    QFETCH(int, bits);
    QFETCH(int, group);
    const std::int64_t rows = 24, cols = 320;
    std::mt19937 rng(unsigned(bits * 100 + group));
    std::student_t_distribution<float> st(3.f);
    std::vector<float> w(static_cast<std::size_t>(rows * cols));
    for (float& v : w)
        v = 0.01f * st(rng);
    QuantSpec hqq = makeSpec(QuantMethod::Hqq, bits, false,
                             group ? Granularity::PerGroup : Granularity::PerChannel, group);
    hqq.floatZeros = true;
    QuantSpec rtn = hqq;
    rtn.method = QuantMethod::Rtn;
    const QuantizedTensor a = runQuant(w, rows, cols, rtn, nullptr),
                          b = runQuant(w, rows, cols, hqq, nullptr);
    QCOMPARE(b.scales, a.scales); // HQQ moves the zero only
    const std::vector<float> ra = a.dequantize(), rb = b.dequantize();
    const std::int64_t g = hqq.groupLength(cols);
    double lpA = 0, lpB = 0, mseA = 0, mseB = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c0 = 0; c0 < cols; c0 += g) {
            double ea = 0, eb = 0;
            for (std::int64_t c = c0; c < std::min(cols, c0 + g); ++c) {
                const std::size_t i = std::size_t(r * cols + c);
                ea += std::pow(std::fabs(double(w[i]) - ra[i]), 0.7);
                eb += std::pow(std::fabs(double(w[i]) - rb[i]), 0.7);
                mseA += (double(w[i]) - ra[i]) * (double(w[i]) - ra[i]);
                mseB += (double(w[i]) - rb[i]) * (double(w[i]) - rb[i]);
            }
            QVERIFY2(
                eb <= ea * 1.002,
                qPrintable(QStringLiteral("row %1 group at %2: l_p %3 > %4").arg(r).arg(c0).arg(eb).arg(ea)));
            lpA += ea;
            lpB += eb;
        }
    }
    qInfo("int%d g%d: l_0.7 error HQQ/RTN %.4f, squared error HQQ/RTN %.4f", bits, group, lpB / lpA,
          mseB / mseA);
    if (bits <= 4) { // heavy tails: the sparsity-promoting fit also lowers the squared error here
        QVERIFY2(lpB < 0.99 * lpA, qPrintable(QStringLiteral("HQQ %1 vs RTN %2").arg(lpB).arg(lpA)));
        QVERIFY2(mseB < mseA, qPrintable(QStringLiteral("HQQ %1 vs RTN %2 (squared)").arg(mseB).arg(mseA)));
    }
    // The codes are those of the stored scale and zero (what the kernels and exports read).
    const std::vector<std::uint8_t> codes = b.unpackedCodes();
    for (std::int64_t i = 0; i < rows * cols; i += 37) {
        const std::int64_t k = b.scaleIndex(i / cols, i % cols);
        const GroupParams p{b.scales[std::size_t(k)], b.zeros[std::size_t(k)]};
        QCOMPARE(codes[std::size_t(i)], quantizeValue(w[std::size_t(i)], p, hqq.qmax()));
    }
}

// HQQ specs: real-valued zeros by default from every spelling, asymmetric only, parameters checked, costed
// with an f16 zero per group.
void TestQuant::hqqSpec()
{
    const QuantSpec s = QuantSpec::fromShortName(QStringLiteral("hqq-w3-g64"));
    QCOMPARE(s.method, QuantMethod::Hqq);
    QVERIFY(s.floatZeros && !s.symmetric);
    QCOMPARE(s.shortName(), QStringLiteral("hqq-w3-g64"));
    QuantSpec rtn = QuantSpec::fromShortName(QStringLiteral("rtn-w3-g64"));
    const QuantSpec j = QuantSpec::fromJson(QJsonObject{{QStringLiteral("method"), QStringLiteral("hqq")}},
                                            QStringLiteral("x"), rtn);
    QVERIFY(j.floatZeros && j.method == QuantMethod::Hqq);
    QCOMPARE(QuantSpec::fromJson(j.toJson(), QStringLiteral("x")), j);
    QCOMPARE(s.cost(10, 128).zeroBytes, std::uint64_t(10 * 2 * 2));
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("hqq-w4-g64-sym")); }),
                    {QStringLiteral("hqq-w4-g64-sym"), QStringLiteral("asymmetric")});
    QuantSpec bad = s;
    bad.hqqLpNorm = 1.5;
    QVERIFY(bad.validate().contains(QStringLiteral("(0, 1]")));
    bad = s;
    bad.hqqIterations = 0;
    QVERIFY(bad.validate().contains(QStringLiteral("iterations")));
}

// ---- SqueezeLLM ------------------------------------------------------------------------------

namespace {

/// A layer with heavy-tailed weights: Gaussian, plus 0.3 % of the weights ten times larger (the shape
/// of gptqLayer()).
using HeavyTailedLayer = GptqLayer;

const HeavyTailedLayer& heavyTailedLayer()
{
    static const HeavyTailedLayer l = [] {
        HeavyTailedLayer h;
        h.X = correlatedInputs(h.tokens, h.cols, 81);
        h.w = gaussianWeight(h.rows, h.cols, 82);
        std::mt19937 rng(83);
        std::uniform_int_distribution<std::size_t> at(0, h.w.size() - 1);
        for (std::size_t k = 0; k < h.w.size() * 3 / 1000; ++k)
            h.w[at(rng)] *= 10.0f;
        h.stats = statsFor(h.X, h.rows, h.w);
        return h;
    }();
    return l;
}

QuantSpec squeezeSpec(int bits, double sparsePercent = 0.45)
{
    QuantSpec s = QuantSpec::fromShortName(QStringLiteral("squeezellm-w%1").arg(bits));
    s.sparsePercent = sparsePercent;
    return s;
}

} // namespace

void TestQuant::squeezeLlmSpec()
{
    const QuantSpec s = QuantSpec::fromShortName(QStringLiteral("squeezellm-w3"));
    QCOMPARE(s.method, QuantMethod::SqueezeLlm);
    QCOMPARE(s.granularity, Granularity::PerChannel);
    QCOMPARE(s.sparsePercent, 0.45);
    QCOMPARE(s.shortName(), QStringLiteral("squeezellm-w3-ch"));
    QVERIFY(s.needsCalibration());
    const QuantSpec t = QuantSpec::fromShortName(QStringLiteral("squeezellm-w4-sp0.1"));
    QCOMPARE(t.sparsePercent, 0.1);
    QCOMPARE(QuantSpec::fromShortName(t.shortName()), t);
    QCOMPARE(t.label(), QStringLiteral("squeezellm int4 lut + 0.1% sparse"));
    // A recipe rule naming only the method takes one codebook per row whatever the default's groups.
    const QuantSpec j = QuantSpec::fromJson(
        QJsonObject{{QStringLiteral("method"), QStringLiteral("squeezellm")}, {QStringLiteral("bits"), 3}},
        QStringLiteral("x"), QuantSpec::fromShortName(QStringLiteral("gptq-w4-g128")));
    QCOMPARE(j, s);
    QCOMPARE(QuantSpec::fromJson(j.toJson(), QStringLiteral("x")), j);
    // Storage: codes, an f16 codebook per row, the sparse matrix as f16 values, int32 columns and row starts.
    const QuantSpec::Cost c = s.cost(100, 1000);
    QCOMPARE(s.sparseCount(100, 1000), std::int64_t(450));
    QCOMPARE(c.codeBytes, std::uint64_t(100 * 1000 * 3 / 8));
    QCOMPARE(c.scaleBytes, std::uint64_t(100 * 8 * 2));
    QCOMPARE(c.extraBytes, std::uint64_t(450 * 6 + 101 * 4));
    QCOMPARE(t.cost(100, 1000, 0, 0).extraBytes, std::uint64_t(0));
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("squeezellm-w5")); }),
                    {QStringLiteral("squeezellm-w5"), QStringLiteral("2–4")});
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("squeezellm-w3-g64")); }),
                    {QStringLiteral("squeezellm-w3-g64"), QStringLiteral("one codebook per output row")});
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("squeezellm-w3-sp20")); }),
                    {QStringLiteral("squeezellm-w3-sp20"), QStringLiteral("0–10 %")});
    QCOMPARE(quantGroupChoices(QuantMethod::SqueezeLlm), QStringList{QStringLiteral("channel")});
    // Front ends read the table's names as Latin-1: they must be ASCII (a "≈" showed as mojibake).
    for (const QuantMethodInfo& m : kQuantMethods)
        for (const char* text : {m.name, m.displayName})
            for (const char* c = text; *c; ++c)
                QVERIFY2(static_cast<unsigned char>(*c) < 128, text);
}

void TestQuant::squeezeLlmKeepsSparseExact()
{
    const HeavyTailedLayer& l = heavyTailedLayer();
    const QuantSpec spec = squeezeSpec(3);
    const QuantizedTensor t = runQuant(l.w, l.rows, l.cols, spec, &l.stats);
    const std::int64_t nnz = spec.sparseCount(l.rows, l.cols);
    QCOMPARE(std::int64_t(t.sparseValues.size()), nnz);
    QCOMPARE(t.storageBytes(), spec.cost(l.rows, l.cols).total());
    QVERIFY(t.scales.empty() && t.zeros.empty());
    t.checkCodebook(QStringLiteral("test"));
    // Each row's codebook: 8 ascending f16 values.
    QCOMPARE(t.codebook.size(), std::size_t(l.rows * 8));
    for (std::int64_t r = 0; r < l.rows; ++r)
        QVERIFY(std::is_sorted(t.codebook.begin() + r * 8, t.codebook.begin() + (r + 1) * 8));
    for (float v : t.codebook)
        QCOMPARE(roundToStorage(v, DType::F16), v);
    // The sparse weights are exact to f16: codebook value plus the stored f16 of what it misses.
    const std::vector<float> deq = t.dequantize();
    std::set<std::int64_t> kept;
    for (std::int64_t r = 0; r < l.rows; ++r)
        for (std::int32_t k = t.sparseRowStart[std::size_t(r)]; k < t.sparseRowStart[std::size_t(r) + 1];
             ++k) {
            const std::int64_t i = r * l.cols + t.sparseColumns[std::size_t(k)];
            kept.insert(i);
            const float dense = t.codebook[std::size_t(r * 8 + t.codes[std::size_t(i)])];
            QCOMPARE(deq[std::size_t(i)], dense + roundToStorage(l.w[std::size_t(i)] - dense, DType::F16));
            QVERIFY(std::fabs(deq[std::size_t(i)] - l.w[std::size_t(i)]) <=
                    std::fabs(l.w[std::size_t(i)] - dense) / 1024.0f);
        }
    // The largest |w| of the layer (8/9 of the sparse part) are all among them.
    std::vector<std::int64_t> order(l.w.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
        return std::fabs(l.w[std::size_t(a)]) > std::fabs(l.w[std::size_t(b)]);
    });
    const std::int64_t byMagnitude = std::llround(double(nnz) * 0.40 / 0.45);
    for (std::int64_t j = 0; j < byMagnitude; ++j)
        QVERIFY(kept.count(order[std::size_t(j)]));
    // Every other weight takes the nearest entry of its row's codebook.
    for (std::int64_t r = 0; r < l.rows; ++r)
        for (std::int64_t c = 0; c < l.cols; ++c) {
            const std::size_t i = std::size_t(r * l.cols + c);
            if (kept.count(std::int64_t(i)))
                continue;
            const float* book = t.codebook.data() + r * 8;
            float best = 1e30f;
            for (int k = 0; k < 8; ++k)
                best = std::min(best, std::fabs(l.w[i] - book[k]));
            QCOMPARE(std::fabs(l.w[i] - deq[i]), best);
        }
}

void TestQuant::squeezeLlmBeatsRtn_data()
{
    QTest::addColumn<int>("bits");
    QTest::newRow("3 bits") << 3;
    QTest::newRow("4 bits") << 4;
}

void TestQuant::squeezeLlmBeatsRtn()
{
    // On heavy-tailed weights a per-row codebook fitted to the weights that matter, with the outliers
    // taken out, beats a uniform per-row grid of the same code bits; the sparse part is a large share of
    // the gain. The layer runs packed (CodebookLinear) and gives the dequantized weight's product.
    QFETCH(int, bits);
    const HeavyTailedLayer& l = heavyTailedLayer();
    const auto squeeze =
        std::make_shared<QuantizedTensor>(runQuant(l.w, l.rows, l.cols, squeezeSpec(bits), &l.stats));
    const QuantizedTensor dense = runQuant(l.w, l.rows, l.cols, squeezeSpec(bits, 0), &l.stats);
    QVERIFY(dense.sparseRowStart.empty());
    const QuantizedTensor rtn = runQuant(
        l.w, l.rows, l.cols, makeSpec(QuantMethod::Rtn, bits, false, Granularity::PerChannel), nullptr);
    const double eSqueeze = relOutputError(l.X, l.w, squeeze->dequantize(), l.rows);
    const double eDense = relOutputError(l.X, l.w, dense.dequantize(), l.rows);
    const double eRtn = relOutputError(l.X, l.w, rtn.dequantize(), l.rows);
    qInfo("int%d per row, relative output error: SqueezeLLM %.3e, without the sparse part %.3e, RTN %.3e",
          bits, eSqueeze, eDense, eRtn);
    QVERIFY(eSqueeze < 0.5 * eRtn);
    QVERIFY(eSqueeze < 0.7 * eDense);
    QVERIFY(eDense < eRtn);

    const QuantizedLinear layer(squeeze);
    QVERIFY(layer.kernelName().contains(QStringLiteral("codebook")));
    QVERIFY(relForwardError(layer, l.X, squeeze->dequantize()) < 1e-10);
    QuantizedTensor released = *squeeze; // the codes packed, the one-per-byte copy freed
    released.releaseCodesToPacked();
    QVERIFY(released.codes.empty());
    QVERIFY(released.dequantize() == squeeze->dequantize());
    QVERIFY(released.ownedBytes() < squeeze->ownedBytes());
}

// ---- QuIP# -----------------------------------------------------------------------------------

namespace {

/// Whether y lies in E8: all coordinates integers or all half-integers, with an even sum.
bool inE8(const double* y)
{
    bool integers = true, halves = true;
    double sum = 0;
    for (int i = 0; i < 8; ++i) {
        integers = integers && y[i] == std::nearbyint(y[i]);
        halves = halves && y[i] - 0.5 == std::nearbyint(y[i] - 0.5);
        sum += y[i];
    }
    return (integers || halves) && std::fmod(sum, 2.0) == 0;
}

double squaredDistance(const float* a, const float* b)
{
    double d = 0;
    for (int i = 0; i < 8; ++i)
        d += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return d;
}

} // namespace

// Every E8P code decodes to a distinct point of E8 + ¼ whose unshifted part has norm² ≤ 12 (227 patterns
// ≤ 10, 29 at 12), and encodes back to itself; the 256 shell points are distinct points of E8 with norm²
// 0, 2 or 4.
void TestQuant::e8pCodesAreLatticePoints()
{
    std::set<std::array<float, 8>> seen;
    std::array<int, 13> byNorm{};
    for (int code = 0; code < 65536; ++code) {
        std::array<float, 8> x{};
        e8::decodeE8P(std::uint16_t(code), x.data());
        const double shift = (code & 0x8000) ? -0.25 : 0.25;
        double y[8], sq = 0;
        for (int i = 0; i < 8; ++i) {
            y[i] = double(x[std::size_t(i)]) - 0.25;
            sq += (x[std::size_t(i)] - shift) * (x[std::size_t(i)] - shift);
        }
        QVERIFY2(inE8(y), qPrintable(QString::number(code)));
        QVERIFY(sq <= 12.0);
        if ((code & 0x7f00) == 0 && (code & 0x8000) == 0)
            ++byNorm[std::size_t(std::lround(sq))];
        QVERIFY2(seen.insert(x).second, qPrintable(QStringLiteral("code %1 repeats a point").arg(code)));
        QCOMPARE(e8::encodeE8P(x.data()), std::uint16_t(code));
    }
    QCOMPARE(byNorm[2] + byNorm[4] + byNorm[6] + byNorm[8] + byNorm[10], 227);
    QCOMPARE(byNorm[12], 29);
    std::set<std::array<float, 8>> shell;
    for (int code = 0; code < 256; ++code) {
        std::array<float, 8> x{};
        e8::decodeShell(std::uint8_t(code), x.data());
        double y[8], sq = 0;
        for (int i = 0; i < 8; ++i) {
            y[i] = x[std::size_t(i)];
            sq += y[i] * y[i];
        }
        QVERIFY(inE8(y));
        QVERIFY(sq == 0 || sq == 2 || sq == 4);
        QVERIFY(shell.insert(x).second);
        QCOMPARE(e8::encodeShell(x.data()), std::uint8_t(code));
    }
}

// The encoders return the nearest point: checked against every code on random vectors at the scales a row
// takes (unit Gaussian, half, double).
void TestQuant::e8pEncoderFindsTheNearestPoint()
{
    std::mt19937 rng(21);
    std::normal_distribution<float> n(0.f, 1.f);
    std::vector<std::array<float, 8>> points(65536);
    for (int code = 0; code < 65536; ++code)
        e8::decodeE8P(std::uint16_t(code), points[std::size_t(code)].data());
    for (int trial = 0; trial < 120; ++trial) {
        const float sigma = trial % 3 == 0 ? 0.5f : (trial % 3 == 1 ? 1.0f : 2.0f);
        float v[8], p[8], s[8];
        for (float& x : v)
            x = sigma * n(rng);
        e8::encodeE8P(v, p);
        double best = 1e300;
        for (const auto& q : points)
            best = std::min(best, squaredDistance(v, q.data()));
        QVERIFY2(squaredDistance(v, p) <= best * (1 + 1e-5) + 1e-9,
                 qPrintable(QStringLiteral("%1 vs %2").arg(squaredDistance(v, p)).arg(best)));
        e8::encodeShell(v, s);
        double bestShell = 1e300;
        for (int code = 0; code < 256; ++code) {
            float q[8];
            e8::decodeShell(std::uint8_t(code), q);
            bestShell = std::min(bestShell, squaredDistance(v, q));
        }
        QVERIFY(squaredDistance(v, s) <= bestShell * (1 + 1e-5) + 1e-9);
    }
    // encodeQuip's chunks decode to the point it reports, at every width.
    for (int bits = 2; bits <= 4; ++bits)
        for (int len : {8, 5, 1}) {
            float v[8], p[8], d[8];
            std::uint8_t codes[8];
            for (float& x : v)
                x = n(rng);
            e8::encodeQuip(bits, v, len, codes, p);
            e8::decodeQuip(bits, codes, len, d);
            for (int i = 0; i < len; ++i) {
                QVERIFY(codes[i] < (1 << bits));
                QCOMPARE(d[i], p[i]);
            }
        }
}

// QuIP# specs: per row, symmetric and rotated from every spelling; the rest refused; costed as codes, an f16
// scale per row and the rotation.
void TestQuant::quipSharpSpec()
{
    const QuantSpec s = QuantSpec::fromShortName(QStringLiteral("quipsharp-w2"));
    QCOMPARE(s.method, QuantMethod::QuipSharp);
    QVERIFY(s.symmetric && s.granularity == Granularity::PerChannel &&
            s.incoherence == Incoherence::Hadamard);
    QVERIFY(s.needsCalibration() && s.needsHessian() && s.usesLattice() && s.decodesCodes());
    QCOMPARE(s.shortName(), QStringLiteral("quipsharp-w2"));
    QCOMPARE(s.label(), QStringLiteral("quipsharp int2 e8p"));
    QCOMPARE(QuantSpec::fromShortName(QStringLiteral("quipsharp-w4")).label(),
             QStringLiteral("quipsharp int4 e8p+e8p"));
    const QuantSpec j = QuantSpec::fromJson(
        QJsonObject{{QStringLiteral("method"), QStringLiteral("quipsharp")}, {QStringLiteral("bits"), 2}},
        QStringLiteral("x"), QuantSpec::fromShortName(QStringLiteral("gptq-w4-g128")));
    QCOMPARE(j, s);
    QCOMPARE(QuantSpec::fromJson(j.toJson(), QStringLiteral("x")), j);
    const QuantSpec::Cost c = s.cost(96, 256);
    QCOMPARE(c.codeBytes, std::uint64_t(96 * 256 * 2 / 8));
    QCOMPARE(c.scaleBytes, std::uint64_t(96 * 2));
    QCOMPARE(c.zeroBytes, std::uint64_t(0));
    QCOMPARE(c.extraBytes, Rotation::storedBytes(256));
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("quipsharp-w5")); }),
                    {QStringLiteral("quipsharp-w5"), QStringLiteral("2–4")});
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("quipsharp-w2-g64")); }),
                    {QStringLiteral("quipsharp-w2-g64"), QStringLiteral("granularity channel")});
    QS_VERIFY_ERROR(test::errorOf([] {
                        QuantSpec::fromJson(
                            QJsonObject{{QStringLiteral("method"), QStringLiteral("quipsharp")},
                                        {QStringLiteral("incoherence"), QStringLiteral("none")}},
                            QStringLiteral("rules[0]"));
                    }),
                    {QStringLiteral("rules[0]"), QStringLiteral("incoherence hadamard")});
    QuantSpec odd = s;
    odd.blockSize = 100;
    QVERIFY(odd.validate().contains(QStringLiteral("multiple of 8")));
    QCOMPARE(quantGroupChoices(QuantMethod::QuipSharp), QStringList{QStringLiteral("channel")});
    // A layer a recipe keeps float over QuIP# defaults (keep_float: the method changes, the rest stays)
    // keeps its weight as it is, unrotated (it once ran as a rotated integer layer and failed).
    QuantSpec kept = s;
    kept.method = QuantMethod::Float;
    kept.floatType = DType::BF16;
    const std::vector<float> w = gaussianWeight(4, 64, 3);
    const QuantizedTensor f = runQuant(w, 4, 64, kept, nullptr);
    QVERIFY(!f.rotation);
    QCOMPARE(f.floatWeights[5], roundToStorage(w[5], DType::BF16));
    QVERIFY(
        QuantizedLinear(std::make_shared<QuantizedTensor>(f)).kernelName().contains(QStringLiteral("bf16")));
}

void TestQuant::quipSharpBeatsGptq_data()
{
    QTest::addColumn<int>("bits");
    QTest::newRow("2 bits") << 2;
    QTest::newRow("3 bits") << 3;
    QTest::newRow("4 bits") << 4;
}

// On the shared GPTQ layer (Gaussian weights, correlated inputs) QuIP#'s vectors beat GPTQ per row at the
// same code bits (its extra is one f16 scale per row and the rotation, GPTQ's a scale and a zero per row).
// The layer runs packed (lattice tiles behind the input rotation) and gives the dequantized weight's
// product.
void TestQuant::quipSharpBeatsGptq()
{
    QFETCH(int, bits);
    const GptqLayer& l = gptqLayer();
    const auto quip = std::make_shared<QuantizedTensor>(runQuant(
        l.w, l.rows, l.cols, QuantSpec::fromShortName(QStringLiteral("quipsharp-w%1").arg(bits)), &l.stats));
    QVERIFY(quip->rotation);
    QCOMPARE(std::int64_t(quip->scales.size()), l.rows);
    for (std::uint8_t c : quip->codes)
        QVERIFY(c < (1 << bits));
    QCOMPARE(quip->storageBytes(), quip->spec.cost(l.rows, l.cols).total());
    const QuantizedTensor gptq = runQuant(
        l.w, l.rows, l.cols, makeSpec(QuantMethod::Gptq, bits, false, Granularity::PerChannel), &l.stats);
    const QuantizedTensor rtn = runQuant(
        l.w, l.rows, l.cols, makeSpec(QuantMethod::Rtn, bits, false, Granularity::PerChannel), nullptr);
    const double eQuip = relOutputError(l.X, l.w, quip->dequantize(), l.rows);
    const double eGptq = relOutputError(l.X, l.w, gptq.dequantize(), l.rows);
    const double eRtn = relOutputError(l.X, l.w, rtn.dequantize(), l.rows);
    qInfo("int%d per row, relative output error: QuIP# %.3e, GPTQ %.3e, RTN %.3e", bits, eQuip, eGptq, eRtn);
    QVERIFY(eQuip < 0.8 * eGptq);
    QVERIFY(eQuip < 0.5 * eRtn);

    const QuantizedLinear layer(quip);
    QVERIFY(layer.kernelName().contains(QStringLiteral("e8 lattice")));
    QVERIFY(layer.kernelName().startsWith(QStringLiteral("hadamard")));
    QVERIFY(relForwardError(layer, l.X.topRows(64), quip->dequantize()) < 1e-9);
    QuantizedTensor released = *quip;
    released.releaseCodesToPacked();
    QVERIFY(released.codes.empty());
    QVERIFY(released.dequantize() == quip->dequantize());
}

// LDLQ's feedback in isolation: the same lattice rounding given an isotropic XᵀX (c·I, which the rotation
// keeps isotropic: U is diagonal, so no error is pushed and each vector rounds to its nearest point) has a
// clearly higher output error on correlated inputs.
void TestQuant::quipSharpFeedbackLowersOutputError()
{
    const GptqLayer& l = gptqLayer();
    LinearInputStats isotropic = l.stats;
    isotropic.xtx = Eigen::MatrixXd::Identity(l.cols, l.cols) * (l.stats.xtx.trace() / double(l.cols));
    const QuantSpec spec = QuantSpec::fromShortName(QStringLiteral("quipsharp-w2"));
    const QuantizedTensor fed = runQuant(l.w, l.rows, l.cols, spec, &l.stats);
    const QuantizedTensor plain = runQuant(l.w, l.rows, l.cols, spec, &isotropic);
    const double eFed = relOutputError(l.X, l.w, fed.dequantize(), l.rows);
    const double ePlain = relOutputError(l.X, l.w, plain.dequantize(), l.rows);
    qInfo("int2 QuIP#, relative output error: LDLQ %.3e, without feedback %.3e", eFed, ePlain);
    QVERIFY(eFed < 0.7 * ePlain);
}

// A row length that is not a multiple of 8 (stories260K's 172) ends in a piece rounded value by value; the
// result still beats RTN, and the checkpoint-facing parts are whole.
void TestQuant::quipSharpRowTail()
{
    const std::int64_t rows = 40, cols = 172;
    const MatrixF X = correlatedInputs(1024, cols, 31);
    const std::vector<float> w = gaussianWeight(rows, cols, 32);
    const LinearInputStats stats = statsFor(X, rows, w);
    const QuantizedTensor q =
        runQuant(w, rows, cols, QuantSpec::fromShortName(QStringLiteral("quipsharp-w3")), &stats);
    const QuantizedTensor rtn =
        runQuant(w, rows, cols, makeSpec(QuantMethod::Rtn, 3, false, Granularity::PerChannel), nullptr);
    const double eQuip = relOutputError(X, w, q.dequantize(), rows);
    const double eRtn = relOutputError(X, w, rtn.dequantize(), rows);
    QVERIFY2(eQuip < 0.5 * eRtn, qPrintable(QStringLiteral("%1 vs %2").arg(eQuip).arg(eRtn)));
    q.checkCodebook(QStringLiteral("test"));
    QuantizedTensor broken = q;
    broken.rotation = nullptr;
    QS_VERIFY_ERROR(test::errorOf([&] { broken.checkCodebook(QStringLiteral("layer 'x'")); }),
                    {QStringLiteral("layer 'x'"), QStringLiteral("rotation")});
    broken = q;
    broken.scales[3] = 0;
    QS_VERIFY_ERROR(test::errorOf([&] { broken.checkCodebook(QStringLiteral("layer 'x'")); }),
                    {QStringLiteral("layer 'x'"), QStringLiteral("row scale")});
}

// AQLM specs: one scale per row; MxB spelled out and checked against the bits; costed as codes, an f16 scale
// per row and the codebooks (f16); everything a method cannot take refused with the reason.
void TestQuant::aqlmSpec()
{
    const QuantSpec s = QuantSpec::fromShortName(QStringLiteral("aqlm-w2-2x8"));
    QCOMPARE(s.method, QuantMethod::Aqlm);
    QVERIFY(s.symmetric && s.granularity == Granularity::PerChannel && s.incoherence == Incoherence::None);
    QVERIFY(s.needsCalibration() && s.needsHessian() && s.usesAdditive() && s.decodesCodes());
    QCOMPARE(s.codebookBits, 8);
    QCOMPARE(s.additiveCodebooks(), 2);
    QCOMPARE(s.shortName(), QStringLiteral("aqlm-w2-2x8"));
    QCOMPARE(s.label(), QStringLiteral("aqlm int2 2x8"));
    QCOMPARE(QuantSpec::fromShortName(QStringLiteral("aqlm-w2")), s); // 8-bit codebooks by default
    const QuantSpec big = QuantSpec::fromShortName(QStringLiteral("aqlm-w4-2x16-beam4-r2-had"));
    QCOMPARE(big.additiveCodebooks(), 2);
    QCOMPARE(big.beamSize, 4);
    QCOMPARE(big.rounds, 2);
    QCOMPARE(big.incoherence, Incoherence::Hadamard);
    QCOMPARE(QuantSpec::fromShortName(big.shortName()), big);
    QCOMPARE(big.label(), QStringLiteral("aqlm int4 2x16 hadamard"));
    const QuantSpec j =
        QuantSpec::fromJson(QJsonObject{{QStringLiteral("method"), QStringLiteral("aqlm")},
                                        {QStringLiteral("bits"), 2},
                                        {QStringLiteral("codebook_bits"), 16}},
                            QStringLiteral("x"), QuantSpec::fromShortName(QStringLiteral("gptq-w4-g128")));
    QCOMPARE(j.additiveCodebooks(), 1);
    QCOMPARE(j.shortName(), QStringLiteral("aqlm-w2-1x16"));
    QCOMPARE(QuantSpec::fromJson(j.toJson(), QStringLiteral("x")), j);
    QCOMPARE(QuantSpec::fromJson(big.toJson(), QStringLiteral("x")), big);
    for (QuantSpec f32 :
         {big, QuantSpec::fromShortName(QStringLiteral("quipsharp-w3"))}) { // row scales in f32
        f32.scaleType = DType::F32;
        QCOMPARE(QuantSpec::fromJson(f32.toJson(), QStringLiteral("x")), f32);
    }
    // 96 × 256 at 2x8: 2-bit codes, an f16 scale per row, 2 codebooks of 256 entries of 8 f16 values.
    QuantSpec::Cost c = s.cost(96, 256);
    QCOMPARE(c.codeBytes, std::uint64_t(96 * 256 * 2 / 8));
    QCOMPARE(c.scaleBytes, std::uint64_t(96 * 2 + 2 * 256 * 8 * 2));
    QCOMPARE(c.zeroBytes, std::uint64_t(0));
    QCOMPARE(c.extraBytes, std::uint64_t(0));
    c = j.cost(4096, 4096); // 1x16 on a 7B-sized layer: the paper's 2.0x bits a weight
    QVERIFY(std::fabs(c.bitsPerWeight(4096 * 4096) -
                      (2.0 + 16.0 / 4096 + 65536.0 * 8 * 16 / (4096.0 * 4096))) < 1e-9);
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("aqlm-w3-1x16")); }),
                    {QStringLiteral("aqlm-w3-1x16"), QStringLiteral("16 bits")});
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("aqlm-w2-3x8")); }),
                    {QStringLiteral("aqlm-w2-3x8"), QStringLiteral("3 codebooks of 8 bits")});
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("aqlm-w2-2x8-g64")); }),
                    {QStringLiteral("aqlm-w2-2x8-g64"), QStringLiteral("granularity channel")});
    QS_VERIFY_ERROR(test::errorOf([] {
                        QuantSpec::fromJson(QJsonObject{{QStringLiteral("method"), QStringLiteral("aqlm")},
                                                        {QStringLiteral("codebook_bits"), 7}},
                                            QStringLiteral("rules[0]"));
                    }),
                    {QStringLiteral("rules[0]"), QStringLiteral("even number")});
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("aqlm-w2-2x12")); }),
                    {QStringLiteral("aqlm-w2-2x12"), QStringLiteral("not the 16 of w2")});
    QCOMPARE(QuantSpec::fromShortName(QStringLiteral("aqlm-w2-4x4")).cost(96, 256).scaleBytes,
             std::uint64_t(96 * 2 + 4 * 16 * 8 * 2));
    QS_VERIFY_ERROR(test::errorOf([] {
                        QuantSpec::fromJson(QJsonObject{{QStringLiteral("method"), QStringLiteral("aqlm")},
                                                        {QStringLiteral("beam_size"), 0}},
                                            QStringLiteral("rules[1]"));
                    }),
                    {QStringLiteral("rules[1]"), QStringLiteral("beam size")});
    QCOMPARE(quantGroupChoices(QuantMethod::Aqlm), QStringList{QStringLiteral("channel")});
}

// The chunks of a group hold its M codes bit for bit in every configuration (2x8, 3x8, 4x8, 1x16, 2x16).
void TestQuant::aqlmCodesRoundTrip()
{
    std::mt19937 rng(5);
    for (const auto& [bits, B] : std::vector<std::pair<int, int>>{
             {2, 4}, {2, 8}, {3, 8}, {3, 12}, {4, 4}, {4, 8}, {2, 16}, {4, 16}}) {
        const int M = 8 * bits / B;
        for (int trial = 0; trial < 200; ++trial) {
            std::uint32_t codes[8] = {}, back[8] = {};
            for (int m = 0; m < M; ++m)
                codes[m] = std::uint32_t(rng()) & ((1u << B) - 1);
            std::uint8_t chunks[8];
            aq::packGroup(bits, B, M, codes, chunks);
            for (std::uint8_t ch : chunks)
                QVERIFY(ch < (1 << bits));
            aq::unpackGroup(bits, B, M, chunks, back);
            QVERIFY(std::equal(codes, codes + M, back));
        }
    }
}

void TestQuant::aqlmNeverRaisesObjective_data()
{
    QTest::addColumn<QString>("scheme");
    QTest::newRow("2x8 beam 8") << QStringLiteral("aqlm-w2-2x8");
    QTest::newRow("2x8 beam 1") << QStringLiteral("aqlm-w2-2x8-beam1");
    QTest::newRow("3x8") << QStringLiteral("aqlm-w3-3x8-beam4");
    QTest::newRow("4x4") << QStringLiteral("aqlm-w2-4x4");
    QTest::newRow("2x12") << QStringLiteral("aqlm-w3-2x12-beam2-r2");
    QTest::newRow("1x16") << QStringLiteral("aqlm-w2-1x16-beam1-r2");
}

// Each phase of AQLM (beam search, codebook refit, scale refit) lowers the layer's objective or keeps it;
// the rounds take it well below where residual k-means started, and the objective the trace reports is the
// output error measured directly.
void TestQuant::aqlmNeverRaisesObjective()
{
    QFETCH(QString, scheme);
    const std::int64_t rows = 64, cols = 128;
    const MatrixF X = correlatedInputs(1024, cols, 41);
    const std::vector<float> w = gaussianWeight(rows, cols, 42);
    const LinearInputStats stats = statsFor(X, rows, w);
    QuantizeRequest r = makeRequest(w, rows, cols, QuantSpec::fromShortName(scheme), &stats);
    r.spec.dampPercent = 1e-6; // so the traced objective is (nearly) the undamped output error
    AqlmTrace trace;
    const QuantizedTensor q = aqlmQuantize(r, {}, &trace);
    QCOMPARE(int(trace.steps.size()), 1 + 3 * r.spec.rounds);
    QString steps;
    for (const AqlmTrace::Step& s : trace.steps)
        steps += QStringLiteral("%1 %2; ").arg(s.phase).arg(s.objective, 0, 'g', 4);
    qInfo("%s: %s", qPrintable(scheme), qPrintable(steps));
    for (std::size_t i = 1; i < trace.steps.size(); ++i)
        QVERIFY2(trace.steps[i].objective <= trace.steps[i - 1].objective * (1 + 1e-5), qPrintable(steps));
    QVERIFY2(trace.steps.back().objective < 0.8 * trace.steps.front().objective, qPrintable(steps));
    const double measured = relOutputError(X, w, q.dequantize(), rows);
    QVERIFY2(std::fabs(measured - trace.steps.back().objective) < 0.02 * measured,
             qPrintable(QStringLiteral("%1 vs %2").arg(measured).arg(trace.steps.back().objective)));
}

void TestQuant::aqlmBeatsGptq_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<QString>("scheme");
    QTest::newRow("2 bits 4x4") << 2 << QStringLiteral("aqlm-w2-4x4");
    QTest::newRow("3 bits 6x4") << 3 << QStringLiteral("aqlm-w3-6x4-beam4");
}

// AQLM against GPTQ at no more total bits: on a 256 × 512 layer (Gaussian weights, correlated inputs) 4x4 at
// 2 bits stores 2.09 bits a weight with its codebooks and scales, GPTQ w2 g128 2.14. The layer runs packed
// (additive tiles) and gives the dequantized weight's product.
void TestQuant::aqlmBeatsGptq()
{
    QFETCH(int, bits);
    QFETCH(QString, scheme);
    const std::int64_t rows = 256, cols = 512;
    const MatrixF X = correlatedInputs(2048, cols, 51);
    const std::vector<float> w = gaussianWeight(rows, cols, 52);
    const LinearInputStats stats = statsFor(X, rows, w);
    const auto aqlm =
        std::make_shared<QuantizedTensor>(runQuant(w, rows, cols, QuantSpec::fromShortName(scheme), &stats));
    QCOMPARE(std::int64_t(aqlm->scales.size()), rows);
    for (std::uint8_t c : aqlm->codes)
        QVERIFY(c < (1 << bits));
    QCOMPARE(aqlm->storageBytes(), aqlm->spec.cost(rows, cols).total());
    aqlm->checkCodebook(QStringLiteral("test"));
    const QuantizedTensor gptq =
        runQuant(w, rows, cols, makeSpec(QuantMethod::Gptq, bits, false, Granularity::PerGroup, 128), &stats);
    QVERIFY(aqlm->bitsPerWeight() <= gptq.bitsPerWeight());
    const double eAqlm = relOutputError(X, w, aqlm->dequantize(), rows);
    const double eGptq = relOutputError(X, w, gptq.dequantize(), rows);
    qInfo("%s (%.3f bits a weight), relative output error %.3e; GPTQ w%d g128 (%.3f) %.3e",
          qPrintable(scheme), aqlm->bitsPerWeight(), eAqlm, bits, gptq.bitsPerWeight(), eGptq);
    QVERIFY(eAqlm < 0.8 * eGptq);

    const QuantizedLinear layer(aqlm);
    QVERIFY(layer.kernelName().contains(QStringLiteral("additive")));
    QVERIFY(relForwardError(layer, X.topRows(64), aqlm->dequantize()) < 1e-9);
    QuantizedTensor released = *aqlm;
    released.releaseCodesToPacked();
    QVERIFY(released.codes.empty());
    QVERIFY(released.dequantize() == aqlm->dequantize());
}

// A row length that is not a multiple of 8 (stories260K's 172) ends in a piece rounded value by value; with
// incoherence the layer runs behind its rotation; broken codebooks, scales or a missing rotation are refused.
void TestQuant::tableKernelsFusedEqualTiles_data()
{
    QTest::addColumn<QString>("scheme");
    QTest::addColumn<int>("cols");
    QTest::newRow("quip# 2 bits") << "quipsharp-w2" << 256;
    QTest::newRow("quip# 3 bits, tail") << "quipsharp-w3" << 172;
    QTest::newRow("quip# 4 bits") << "quipsharp-w4" << 64;
    QTest::newRow("aqlm 2x8") << "aqlm-w2-2x8" << 256;
    QTest::newRow("aqlm 1x16, tail") << "aqlm-w2-1x16" << 60;
    QTest::newRow("aqlm 1x16") << "aqlm-w2-1x16" << 64;
    QTest::newRow("aqlm 4x4, 2 bits") << "aqlm-w2-4x4" << 200;
    QTest::newRow("aqlm 3x8") << "aqlm-w3-3x8" << 128;
    QTest::newRow("aqlm 8x4, tail") << "aqlm-w4-8x4" << 173;
    QTest::newRow("squeezellm 3 bits + sparse") << "squeezellm-w3-ch" << 200;
    QTest::newRow("squeezellm 4 bits") << "squeezellm-w4-ch-sp0" << 96;
}

void TestQuant::tableKernelsFusedEqualTiles()
{
    // The decode path (each row's codes dotted with a few tokens directly, points and codebook sums formed
    // in registers) computes what the decoded tiles through the GEMM compute, for every table format, tails
    // and sparse parts included, at 1 to 8 tokens; random codes and tables reach every table entry.
    QFETCH(QString, scheme);
    QFETCH(int, cols);
    const QuantizedTensor q = syntheticTableTensor(QuantSpec::fromShortName(scheme), 37, cols, 5);
    QCOMPARE(q.sparseValues.empty(), !q.spec.usesCodebook() || q.spec.sparsePercent == 0);
    std::mt19937 g(6);
    std::normal_distribution<float> normal;
    const std::shared_ptr<const PackedIntMatrix> packed = q.packedCodes();
    // The decoded tiles (vectorised) hold exactly the values of the element-by-element decode.
    {
        std::vector<float> tile(std::size_t(q.rows * cols));
        q.decodeCodeRows(0, q.rows, q.codes.data(), tile.data());
        const std::int64_t entries = std::int64_t(1)
                                     << (q.spec.usesAdditive() ? q.spec.codebookBits : q.spec.bits);
        for (std::int64_t r = 0; r < q.rows; ++r)
            for (std::int64_t j = 0; j < cols; j += 8) {
                const int len = int(std::min<std::int64_t>(8, cols - j));
                const std::uint8_t* c = q.codes.data() + r * cols + j;
                float ref[8] = {};
                if (q.spec.usesLattice()) {
                    e8::decodeQuip(q.spec.bits, c, len, ref);
                    for (int k = 0; k < len; ++k)
                        ref[k] *= q.scales[std::size_t(r)];
                } else if (q.spec.usesAdditive()) {
                    if (len == 8) {
                        std::uint32_t codes[8];
                        aq::unpackGroup(q.spec.bits, q.spec.codebookBits, q.spec.additiveCodebooks(), c,
                                        codes);
                        for (int m = 0; m < q.spec.additiveCodebooks(); ++m)
                            for (int k = 0; k < 8; ++k)
                                ref[k] += q.codebook[std::size_t((m * entries + codes[m]) * 8 + k)];
                    } else {
                        for (int k = 0; k < len; ++k)
                            ref[k] = aq::gaussianLevelValue(q.spec.bits,
                                                            aq::kGaussianUniformStep[q.spec.bits], c[k]);
                    }
                    for (int k = 0; k < len; ++k)
                        ref[k] *= q.scales[std::size_t(r)];
                } else {
                    for (int k = 0; k < len; ++k)
                        ref[k] = q.codebook[std::size_t(r * entries + c[k])];
                    for (std::int32_t s = q.sparseRowStart.empty() ? 0 : q.sparseRowStart[std::size_t(r)];
                         !q.sparseRowStart.empty() && s < q.sparseRowStart[std::size_t(r) + 1]; ++s)
                        if (q.sparseColumns[std::size_t(s)] >= j && q.sparseColumns[std::size_t(s)] < j + len)
                            ref[q.sparseColumns[std::size_t(s)] - j] += q.sparseValues[std::size_t(s)];
                }
                for (int k = 0; k < len; ++k)
                    QCOMPARE(tile[std::size_t(r * cols + j + k)], ref[k]);
            }
    }
    for (std::int64_t n : {1, 3, 8, 11}) { // 11: the dot routines take blocks of 8 tokens
        std::vector<float> x(std::size_t(n * cols));
        for (float& v : x)
            v = normal(g);
        std::vector<float> fused(std::size_t(n * q.rows)), tiles(fused.size());
        tableMatMul(q, *packed, 0, q.rows, x.data(), n, fused.data(), q.rows, true);
        tableMatMul(q, *packed, 0, q.rows, x.data(), n, tiles.data(), q.rows, false);
        double worst = 0, norm = 0;
        for (std::size_t i = 0; i < fused.size(); ++i) {
            worst = std::max(worst, double(std::fabs(fused[i] - tiles[i])));
            norm = std::max(norm, double(std::fabs(tiles[i])));
        }
        QVERIFY2(norm > 0 && worst <= 1e-5 * norm,
                 qPrintable(QStringLiteral("n = %1: %2 off at a scale of %3").arg(n).arg(worst).arg(norm)));
        // 2 bits in whole vectors: the vectors' words read from the packed form (what the decode path uses)
        // are the codes, and both their SIMD and portable products equal the tiles.
        if (hasVectorWords2(*packed) && !q.spec.usesCodebook()) {
            std::vector<std::uint16_t> words(std::size_t(cols / 8));
            for (std::int64_t r = 0; r < q.rows; ++r) {
                vectorWords2(*packed, r, words.data());
                for (std::int64_t v = 0; v < cols / 8; ++v) {
                    unsigned expected = 0;
                    for (int k = 0; k < 8; ++k)
                        expected |= unsigned(q.codes[std::size_t(r * cols + v * 8 + k)]) << (2 * k);
                    QCOMPARE(unsigned(words[std::size_t(v)]), expected);
                }
                for (bool portable : {false, true}) {
                    float acc[11] = {};
                    if (q.spec.usesLattice())
                        e8::dotE8PWords(words.data(), cols / 8, x.data(), n, cols, acc, portable);
                    else if (q.spec.additiveCodebooks() * q.spec.codebookBits == 16)
                        aq::dotWords(q.spec.codebookBits, q.spec.additiveCodebooks(), q.codebook.data(),
                                     words.data(), cols / 8, x.data(), n, cols, acc, portable);
                    else
                        break;
                    for (std::int64_t t = 0; t < n; ++t)
                        QVERIFY(std::fabs(acc[t] * q.scales[std::size_t(r)] -
                                          tiles[std::size_t(t * q.rows + r)]) <= 1e-5 * norm);
                }
            }
        }
        // The path other CPUs take (no SIMD intrinsics) computes the same, row by row.
        if (!q.spec.usesCodebook()) {
            const std::vector<std::uint8_t> codes = unpackIntCodes(*packed);
            for (std::int64_t r = 0; r < q.rows; ++r) {
                float acc[11] = {};
                const std::uint8_t* c = codes.data() + r * cols;
                if (q.spec.usesLattice())
                    e8::dotQuipRow(q.spec.bits, c, cols, x.data(), n, cols, acc, true);
                else
                    aq::dotRow(q.spec.bits, q.spec.codebookBits, q.spec.additiveCodebooks(),
                               q.codebook.data(), c, cols, x.data(), n, cols, acc, true);
                for (std::int64_t t = 0; t < n; ++t)
                    QVERIFY(std::fabs(acc[t] * q.scales[std::size_t(r)] -
                                      tiles[std::size_t(t * q.rows + r)]) <= 1e-5 * norm);
            }
        }
        // Rows of a tile from the middle of the weight land in their own places.
        std::vector<float> part(fused.size(), -7.0f);
        tableMatMul(q, *packed, 10, 20, x.data(), n, part.data(), q.rows, true);
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t r = 0; r < q.rows; ++r) {
                const float v = part[std::size_t(t * q.rows + r)];
                QCOMPARE(v, r >= 10 && r < 20 ? fused[std::size_t(t * q.rows + r)] : -7.0f);
            }
    }
}

void TestQuant::aqlmRowTailAndRotation()
{
    const std::int64_t rows = 40, cols = 172;
    const MatrixF X = correlatedInputs(1024, cols, 31);
    const std::vector<float> w = gaussianWeight(rows, cols, 32);
    const LinearInputStats stats = statsFor(X, rows, w);
    const auto q = std::make_shared<QuantizedTensor>(
        runQuant(w, rows, cols, QuantSpec::fromShortName(QStringLiteral("aqlm-w3-3x8-beam4-had")), &stats));
    QVERIFY(q->rotation);
    const QuantizedTensor rtn =
        runQuant(w, rows, cols, makeSpec(QuantMethod::Rtn, 3, false, Granularity::PerChannel), nullptr);
    const double eAqlm = relOutputError(X, w, q->effectiveWeight(), rows);
    const double eRtn = relOutputError(X, w, rtn.dequantize(), rows);
    QVERIFY2(eAqlm < 0.5 * eRtn, qPrintable(QStringLiteral("%1 vs %2").arg(eAqlm).arg(eRtn)));
    const QuantizedLinear layer(q);
    QVERIFY(layer.kernelName().startsWith(QStringLiteral("hadamard")));
    q->checkCodebook(QStringLiteral("test"));
    QuantizedTensor broken = *q;
    broken.rotation = nullptr;
    QS_VERIFY_ERROR(test::errorOf([&] { broken.checkCodebook(QStringLiteral("layer 'x'")); }),
                    {QStringLiteral("layer 'x'"), QStringLiteral("rotation")});
    broken = *q;
    broken.codebook.pop_back();
    QS_VERIFY_ERROR(test::errorOf([&] { broken.checkCodebook(QStringLiteral("layer 'x'")); }),
                    {QStringLiteral("layer 'x'"), QStringLiteral("codebooks hold")});
    broken = *q;
    broken.scales[3] = -1;
    QS_VERIFY_ERROR(test::errorOf([&] { broken.checkCodebook(QStringLiteral("layer 'x'")); }),
                    {QStringLiteral("layer 'x'"), QStringLiteral("row scale")});
}

void TestQuant::rotationIsOrthogonal_data()
{
    QTest::addColumn<int>("n");
    for (int n : {1, 3, 64, 96, 172, 256, 4096, 11008})
        QTest::addRow("n=%d", n) << n;
}

// The incoherence transform is orthogonal (norms kept, Vᵀ undoes V), depends on its seed only, and its
// stored parts rebuild it.
void TestQuant::rotationIsOrthogonal()
{
    QFETCH(int, n);
    const Rotation r = Rotation::make(n, 42);
    QCOMPARE(r.p * r.m, std::int64_t(n));
    QVERIFY(r.m % 2 == 1);
    const std::vector<float> x = gaussianWeight(3, n, 7, 1.0f);
    std::vector<float> y = x;
    r.apply(y.data(), 3, n);
    for (int v = 0; v < 3; ++v) {
        double a = 0, b = 0;
        for (int i = 0; i < n; ++i) {
            a += double(x[std::size_t(v * n + i)]) * x[std::size_t(v * n + i)];
            b += double(y[std::size_t(v * n + i)]) * y[std::size_t(v * n + i)];
        }
        QVERIFY2(std::fabs(a - b) <= 1e-5 * a, qPrintable(QStringLiteral("norm %1 -> %2").arg(a).arg(b)));
    }
    std::vector<float> back = y;
    r.applyTransposed(back.data(), 3, n);
    for (std::size_t i = 0; i < x.size(); ++i)
        QVERIFY(std::fabs(back[i] - x[i]) <= 1e-5f * (1 + std::fabs(x[i])));
    std::vector<double> yd(x.begin(), x.end());
    r.apply(yd.data(), 3, n);
    for (std::size_t i = 0; i < x.size(); ++i)
        QVERIFY(std::fabs(yd[i] - y[i]) <= 1e-5 * (1 + std::fabs(yd[i])));
    const Rotation again = Rotation::make(n, 42), other = Rotation::make(n, 43);
    QVERIFY(again.signs == r.signs && again.small == r.small);
    if (n >= 64)
        QVERIFY(other.signs != r.signs);
    const Rotation rebuilt = Rotation::fromParts(n, r.signs, r.small, "test");
    std::vector<float> z = x;
    rebuilt.apply(z.data(), 3, n);
    QVERIFY(z == y);
    if (r.m > 1) {
        std::vector<float> skewed = r.small;
        skewed[0] += 0.1f;
        QS_VERIFY_ERROR(test::errorOf([&] { Rotation::fromParts(n, r.signs, skewed, "layer x"); }),
                        {QStringLiteral("layer x"), QStringLiteral("orthogonal")});
    }
    std::vector<float> badSigns = r.signs;
    badSigns[0] = 0.5f;
    QS_VERIFY_ERROR(test::errorOf([&] { Rotation::fromParts(n, badSigns, r.small, "layer x"); }),
                    {QStringLiteral("layer x"), QStringLiteral("±1")});
}

void TestQuant::incoherenceSpreadsOutliers_data()
{
    QTest::addColumn<int>("method");
    QTest::addColumn<int>("cols");
    QTest::newRow("rtn, 256 inputs") << int(QuantMethod::Rtn) << 256;
    QTest::newRow("rtn, 172 inputs (4·43)") << int(QuantMethod::Rtn) << 172;
    QTest::newRow("hqq, 256 inputs") << int(QuantMethod::Hqq) << 256;
    QTest::newRow("gptq, 256 inputs") << int(QuantMethod::Gptq) << 256;
}

// Weights with a few huge outliers per row: per-channel int4 with incoherence processing has a much lower
// weight error (the outliers no longer set each row's range), and the layer that runs the rotated codes
// computes exactly what dequantize() says (Q·V applied to x).
void TestQuant::incoherenceSpreadsOutliers()
{
    QFETCH(int, method);
    QFETCH(int, cols);
    const std::int64_t rows = 48;
    std::vector<float> w = gaussianWeight(rows, cols, 5);
    std::mt19937 rng(9);
    for (std::int64_t r = 0; r < rows; ++r)
        for (int k = 0; k < 2; ++k)
            w[std::size_t(r * cols + std::int64_t(rng() % std::uint32_t(cols)))] *= 60.0f;
    QuantSpec plain = makeSpec(QuantMethod(method), 4, false, Granularity::PerChannel);
    plain.floatZeros = plain.method == QuantMethod::Hqq;
    QuantSpec rotated = plain;
    rotated.incoherence = Incoherence::Hadamard;
    const MatrixF X = correlatedInputs(1024, cols, 3);
    const LinearInputStats stats = statsFor(X, rows, w);
    const LinearInputStats* st = plain.method == QuantMethod::Gptq ? &stats : nullptr;
    const QuantizedTensor a = runQuant(w, rows, cols, plain, st), b = runQuant(w, rows, cols, rotated, st);
    QVERIFY(!a.rotation && b.rotation);
    auto relError = [&](const std::vector<float>& q) {
        double e = 0, s = 0;
        for (std::size_t i = 0; i < w.size(); ++i) {
            e += (double(w[i]) - q[i]) * (double(w[i]) - q[i]);
            s += double(w[i]) * w[i];
        }
        return e / s;
    };
    const std::vector<float> da = a.dequantize(), db = b.dequantize();
    const double ea = relError(da), eb = relError(db);
    qInfo("relative weight error: plain %.5f, hadamard %.5f", ea, eb);
    QVERIFY2(eb < 0.5 * ea, qPrintable(QStringLiteral("hadamard %1 vs plain %2").arg(eb).arg(ea)));
    // The running layer (inputs rotated, codes packed) against X·dequantize()ᵀ.
    auto tensor = std::make_shared<QuantizedTensor>(b);
    tensor->releaseCodesToPacked();
    const QuantizedLinear layer(tensor);
    QVERIFY(layer.kernelName().startsWith(QStringLiteral("hadamard")));
    QVERIFY2(relForwardError(layer, X.topRows(64), db) < 1e-9,
             qPrintable(QString::number(relForwardError(layer, X.topRows(64), db))));
    QCOMPARE(tensor->dequantize(), db);
}

// Spellings, validation and cost of incoherence processing.
void TestQuant::incoherenceSpec()
{
    const QuantSpec s = QuantSpec::fromShortName(QStringLiteral("gptq-w4-g128-had"));
    QCOMPARE(s.incoherence, Incoherence::Hadamard);
    QCOMPARE(s.shortName(), QStringLiteral("gptq-w4-g128-had"));
    QVERIFY(s.label().endsWith(QStringLiteral("hadamard")));
    QCOMPARE(QuantSpec::fromJson(s.toJson(), QStringLiteral("x")), s);
    QuantSpec plain = s;
    plain.incoherence = Incoherence::None;
    QCOMPARE(s.cost(8, 4096).extraBytes - plain.cost(8, 4096).extraBytes, std::uint64_t(4096 / 8));
    QCOMPARE(s.cost(8, 172).extraBytes - plain.cost(8, 172).extraBytes, std::uint64_t(22 + 43 * 43 * 4));
    // A width with a large odd factor is refused, naming the layer (R_m would cost m multiply-adds a value).
    const std::vector<float> w = gaussianWeight(4, 257 * 2, 3);
    QS_VERIFY_ERROR(test::errorOf([&] {
                        runQuant(w, 4, 257 * 2, QuantSpec::fromShortName(QStringLiteral("rtn-w4-g128-had")),
                                 nullptr);
                    }),
                    {QStringLiteral("down_proj"), QStringLiteral("514 = 2 × 257")});
    QS_VERIFY_ERROR(test::errorOf([] { QuantSpec::fromShortName(QStringLiteral("awq-w4-g128-had")); }),
                    {QStringLiteral("incoherence"), QStringLiteral("awq")});
    QS_VERIFY_ERROR(test::errorOf([] {
                        QuantSpec::fromJson(
                            QJsonObject{{QStringLiteral("incoherence"), QStringLiteral("spin")}},
                            QStringLiteral("rules[0]"));
                    }),
                    {QStringLiteral("rules[0].incoherence"), QStringLiteral("hadamard")});
}

void TestQuant::packRoundTrip_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("count");
    for (int bits = 1; bits <= 8; ++bits)
        for (int count : {1, 7, 13, 1001, 4097})
            QTest::addRow("%d bits x %d", bits, count) << bits << count;
}

void TestQuant::packRoundTrip()
{
    QFETCH(int, bits);
    QFETCH(int, count);
    std::mt19937 rng(unsigned(bits * 7 + count));
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(count));
    for (std::uint8_t& c : codes)
        c = std::uint8_t(rng() & ((1u << bits) - 1));
    codes.back() = std::uint8_t((1u << bits) - 1); // the last code's top bit lands in the last byte
    const std::vector<std::uint8_t> packed = packCodes(codes, bits);
    QCOMPARE(packed.size(), (std::size_t(count) * std::size_t(bits) + 7) / 8);
    QCOMPARE(unpackCodes(packed, bits, codes.size()), codes);
    // A stream one byte short is an error, never a read past its end.
    std::vector<std::uint8_t> shorter(packed.begin(), packed.end() - 1);
    QString message;
    try {
        unpackCodes(shorter, bits, codes.size());
    } catch (const Error& e) {
        message = e.message();
    }
    QVERIFY2(message.contains(QStringLiteral("needs")), qPrintable(message));
}

void TestQuant::packLayout()
{
    // Little-endian bit stream: the first code takes the low bits of the first byte.
    QCOMPARE(packCodes({1, 2}, 4), (std::vector<std::uint8_t>{0x21}));
    QCOMPARE(packCodes({5, 3, 7}, 3), (std::vector<std::uint8_t>{0xDD, 0x01})); // 0b111'011'101
    QCOMPARE(packCodes({0xAB}, 8), (std::vector<std::uint8_t>{0xAB}));
    QCOMPARE(packCodes({1, 2, 3, 0}, 2), (std::vector<std::uint8_t>{0x39}));
    // Bits above a code's width are not part of it.
    QCOMPARE(packCodes({0xF1, 0x32}, 4), (std::vector<std::uint8_t>{0x21}));
    // Pieces that start at multiples of 8 codes start on whole bytes: packed one by one into their
    // places they give the whole stream, for every width.
    std::mt19937 rng(9);
    std::vector<std::uint8_t> codes(203);
    for (std::uint8_t& c : codes)
        c = std::uint8_t(rng());
    for (int bits = 1; bits <= 8; ++bits) {
        const std::vector<std::uint8_t> whole = packCodes(codes, bits);
        std::vector<std::uint8_t> pieces(whole.size(), 0xEE);
        for (std::size_t first : {std::size_t(0), std::size_t(64), std::size_t(200)}) {
            const std::size_t end = first == 0 ? 64 : first == 64 ? 200 : codes.size();
            packCodesInto(codes.data() + first, end - first, bits,
                          pieces.data() + first * std::size_t(bits) / 8);
        }
        QVERIFY2(pieces == whole, qPrintable(QString::number(bits)));
        std::vector<std::uint8_t> back(codes.size(), 0xEE); // unpacked piece by piece, into place
        for (std::size_t first : {std::size_t(0), std::size_t(64), std::size_t(200)}) {
            const std::size_t end = first == 0 ? 64 : first == 64 ? 200 : codes.size();
            unpackCodesInto(whole.data() + first * std::size_t(bits) / 8, end - first, bits,
                            back.data() + first);
        }
        QVERIFY(back == unpackCodes(whole, bits, codes.size()));
        for (std::size_t i = 0; i < codes.size(); ++i) // each code where the bit-by-bit layout puts it
            QCOMPARE(back[i], std::uint8_t(codes[i] & ((1u << bits) - 1u)));
        for (std::size_t i = 0; i < codes.size() * std::size_t(bits); ++i) { // bit i of the stream
            const std::size_t code = i / std::size_t(bits), bit = i % std::size_t(bits);
            QCOMPARE((whole[i / 8] >> (i % 8)) & 1, (codes[code] >> bit) & 1);
        }
    }
}

// ---- GPTQ ------------------------------------------------------------------------------------

void TestQuant::gptqBeatsRtn_data()
{
    QTest::addColumn<QuantSpec>("spec");
    QTest::addColumn<double>("maxRatio"); // GPTQ error / RTN error must stay below this
    for (int bits : {2, 3, 4}) {
        for (int group : {32, 128}) {
            for (int order = 0; order < 4; ++order) { // column order or act-order × dynamic or static
                QuantSpec s = makeSpec(QuantMethod::Gptq, bits, false, Granularity::PerGroup, group);
                s.actOrder = order >= 2;
                s.staticGroups = order % 2 == 1;
                const char* names[] = {"plain dynamic", "plain static", "act-order dynamic",
                                       "act-order static"};
                QTest::addRow("int%d g%d %s", bits, group, names[order]) << s << 0.9;
            }
        }
    }
    QuantSpec s = makeSpec(QuantMethod::Gptq, 4, true, Granularity::PerChannel);
    QTest::newRow("int4 channel sym") << s << 0.9;
    s.actOrder = true;
    QTest::newRow("int4 channel sym act-order") << s << 0.9;
    s = makeSpec(QuantMethod::Gptq, 3, false, Granularity::PerGroup, 100); // short last group
    s.blockSize = 48;                                                      // blocks cut across groups
    QTest::newRow("int3 g100 block48") << s << 0.9;
    s.actOrder = true;
    QTest::newRow("int3 g100 block48 act-order dynamic") << s << 0.9;
    s = makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup, 64);
    s.floatZeros = true;
    QTest::newRow("int4 g64 float zeros") << s << 0.9;
    s = makeSpec(QuantMethod::Gptq, 8, false, Granularity::PerTensor);
    QTest::newRow("int8 tensor") << s << 0.9;
}

void TestQuant::gptqBeatsRtn()
{
    QFETCH(QuantSpec, spec);
    QFETCH(double, maxRatio);
    const GptqLayer& l = gptqLayer();
    const QuantizedTensor g = runQuant(l.w, l.rows, l.cols, spec, &l.stats);
    QuantSpec rtnSpec = spec;
    rtnSpec.method = QuantMethod::Rtn;
    const QuantizedTensor r = runQuant(l.w, l.rows, l.cols, rtnSpec, nullptr);
    const std::vector<float> gw = g.dequantize(), rw = r.dequantize();
    QVERIFY(allFinite(gw));
    QCOMPARE(g.scales.size(), r.scales.size());
    if (spec.actOrder && spec.granularity != Granularity::PerTensor) {
        QCOMPARE(std::int64_t(g.groupIndex.size()), l.cols);
        std::vector<int> members(g.scales.size() / std::size_t(l.rows), 0);
        for (std::int32_t gi : g.groupIndex) {
            QVERIFY(gi >= 0 && gi < std::int32_t(members.size()));
            ++members[std::size_t(gi)];
        }
        for (std::size_t gi = 0; gi < members.size(); ++gi) // every group as long as in column order
            QCOMPARE(
                std::int64_t(members[gi]),
                std::min(spec.groupLength(l.cols), l.cols - std::int64_t(gi) * spec.groupLength(l.cols)));
    } else {
        QVERIFY(g.groupIndex.empty());
    }
    if (spec.staticGroups || spec.granularity != Granularity::PerGroup) // from the original weights: RTN's
        QVERIFY(g.scales == r.scales && g.zeros == r.zeros);
    else // from the updated weights: all but the first group of each row differ
        QVERIFY(g.scales != r.scales);
    const double eg = relOutputError(l.X, l.w, gw, l.rows), er = relOutputError(l.X, l.w, rw, l.rows);
    qInfo("%s: relative output error GPTQ %.3e, RTN %.3e (ratio %.3f)", QTest::currentDataTag(), eg, er,
          eg / er);
    QVERIFY2(eg < maxRatio * er, qPrintable(QStringLiteral("GPTQ %1 vs RTN %2").arg(eg).arg(er)));
}

void TestQuant::gptqMatchesReference_data()
{
    QTest::addColumn<bool>("staticGroups");
    QTest::newRow("static groups") << true;
    QTest::newRow("dynamic groups") << false;
}

void TestQuant::gptqMatchesReference()
{
    // The textbook algorithm in double: H⁻¹ by a solve, its upper Cholesky factor, and after every
    // column an immediate update of all later columns (no lazy batches, no triangular tricks).
    // Groups of 64 with lazy batches of 48: group starts fall inside batches.
    QFETCH(bool, staticGroups);
    const GptqLayer& l = gptqLayer();
    QuantSpec spec = makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup, 64);
    spec.blockSize = 48;
    spec.staticGroups = staticGroups;
    const QuantizedTensor g = runQuant(l.w, l.rows, l.cols, spec, &l.stats);
    Eigen::MatrixXd H = l.stats.hessian();
    H.diagonal().array() += spec.dampPercent * H.diagonal().mean();
    const Eigen::MatrixXd Hinv = H.llt().solve(Eigen::MatrixXd::Identity(l.cols, l.cols));
    const Eigen::MatrixXd U = Hinv.llt().matrixU();
    Eigen::MatrixXd W = Eigen::Map<const MatrixF>(l.w.data(), l.rows, l.cols).cast<double>();
    const Eigen::MatrixXd original = W;
    std::vector<std::uint8_t> codes(static_cast<std::size_t>(l.rows * l.cols));
    std::vector<float> ref(codes.size());
    const std::int64_t gLen = spec.groupLength(l.cols);
    std::vector<GroupParams> params(std::size_t(l.rows));
    for (std::int64_t i = 0; i < l.cols; ++i) {
        for (std::int64_t r = 0; r < l.rows; ++r) {
            if (i % gLen == 0) { // a group starts: its scale and zero from the original weights
                // (static) or from the weights as updated so far (dynamic)
                const Eigen::MatrixXd& from = staticGroups ? original : W;
                const std::int64_t len = std::min(gLen, l.cols - i);
                std::vector<float> group(static_cast<std::size_t>(len));
                for (std::int64_t c = 0; c < len; ++c)
                    group[std::size_t(c)] = float(from(r, i + c));
                params[std::size_t(r)] = groupParams(group.data(), len, 1, spec);
            }
            const GroupParams p = params[std::size_t(r)];
            const std::uint8_t q = quantizeValue(float(W(r, i)), p, spec.qmax());
            codes[std::size_t(r * l.cols + i)] = q;
            ref[std::size_t(r * l.cols + i)] = dequantizeValue(q, p);
            const double e = (W(r, i) - double(dequantizeValue(q, p))) / U(i, i);
            W.row(r).tail(l.cols - i - 1) -= e * U.row(i).tail(l.cols - i - 1);
        }
    }
    std::size_t same = 0;
    for (std::size_t k = 0; k < codes.size(); ++k)
        same += codes[k] == g.codes[k];
    const double agree = double(same) / double(codes.size());
    const double eg = relOutputError(l.X, l.w, g.dequantize(), l.rows),
                 er = relOutputError(l.X, l.w, ref, l.rows);
    qInfo("lazy-batch f32 GPTQ vs per-column f64 reference (%s): %.2f%% codes equal, errors %.4e vs %.4e",
          QTest::currentDataTag(), 100 * agree, eg, er);
    QVERIFY(agree > 0.97);
    QVERIFY(std::fabs(eg - er) < 0.03 * er);
}

void TestQuant::gptqDeadInput()
{
    const GptqLayer& l = gptqLayer();
    MatrixF X = l.X;
    const std::vector<int> dead{0, 5, 77, 255};
    for (int c : dead)
        X.col(c).setZero();
    const LinearInputStats stats = statsFor(X, l.rows, l.w);
    for (bool actOrder : {false, true}) {
        QuantSpec spec = makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup, 32);
        spec.actOrder = actOrder;
        const QuantizedTensor g = runQuant(l.w, l.rows, l.cols, spec, &stats);
        const std::vector<float> gw = g.dequantize();
        QVERIFY(allFinite(gw));
        for (std::int64_t r = 0; r < l.rows; ++r)
            for (int c : dead)
                QCOMPARE(gw[std::size_t(r * l.cols + c)], 0.0f); // dead inputs: weight dropped, as GPTQ does
        QuantSpec rtnSpec = spec;
        rtnSpec.method = QuantMethod::Rtn;
        const double eg = relOutputError(X, l.w, gw, l.rows);
        const double er =
            relOutputError(X, l.w, runQuant(l.w, l.rows, l.cols, rtnSpec, nullptr).dequantize(), l.rows);
        qInfo("dead inputs, act-order %d: GPTQ %.3e, RTN %.3e", int(actOrder), eg, er);
        QVERIFY(eg < er);
    }
}

void TestQuant::gptqThreadDeterministic()
{
    // 200 rows: four row tiles (the last one partial) spread over the threads.
    const std::int64_t rows = 200, cols = 256;
    const MatrixF X = correlatedInputs(1024, cols, 21);
    const std::vector<float> w = gaussianWeight(rows, cols, 22);
    const LinearInputStats stats = statsFor(X, rows, w);
    for (bool actOrder : {false, true}) {
        QuantSpec spec = makeSpec(QuantMethod::Gptq, 3, false, Granularity::PerGroup, 64);
        spec.actOrder = actOrder;
        setComputeThreads(1);
        const QuantizedTensor a = runQuant(w, rows, cols, spec, &stats);
        setComputeThreads(2);
        const QuantizedTensor b = runQuant(w, rows, cols, spec, &stats);
        QVERIFY(a.codes == b.codes);
        QVERIFY(a.scales == b.scales);
        QVERIFY(a.zeros == b.zeros);
        QVERIFY(a.groupIndex == b.groupIndex);
    }
}

void TestQuant::gptqDegenerateHessian()
{
    // Every input column the same signal: XᵀX has rank 1; only the dampening makes it invertible.
    const std::int64_t rows = 64, cols = 128, n = 512;
    std::mt19937 rng(31);
    const MatrixF z = gaussian(n, 1, rng);
    const MatrixF X = z.replicate(1, cols);
    const std::vector<float> w = gaussianWeight(rows, cols, 32);
    const LinearInputStats stats = statsFor(X, rows, w);
    for (bool actOrder : {false, true}) {
        QuantSpec spec = makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup, 32);
        spec.actOrder = actOrder;
        const QuantizedTensor g = runQuant(w, rows, cols, spec, &stats);
        const std::vector<float> gw = g.dequantize();
        QVERIFY(allFinite(gw));
        QuantSpec rtnSpec = spec;
        rtnSpec.method = QuantMethod::Rtn;
        const double eg = relOutputError(X, w, gw, rows);
        const double er = relOutputError(X, w, runQuant(w, rows, cols, rtnSpec, nullptr).dequantize(), rows);
        qInfo("identical inputs, act-order %d: GPTQ %.3e, RTN %.3e", int(actOrder), eg, er);
        QVERIFY(std::isfinite(eg));
        QVERIFY(eg < er);
    }
    // No activity at all: every column is dead; the result is the zero weight, not a failure.
    LinearInputStats zero = stats;
    zero.xtx.setZero();
    const std::vector<float> gw =
        runQuant(w, rows, cols, makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup), &zero)
            .dequantize();
    QVERIFY(std::all_of(gw.begin(), gw.end(), [](float v) { return v == 0; }));
}

void TestQuant::gptqIndefiniteHessian()
{
    // Not a Gram matrix (|off-diagonal| ≫ diagonal): no dampening up to 100·mean(diag) fixes it.
    const std::vector<float> w{0.1f, -0.2f, 0.3f, 0.4f};
    LinearInputStats s;
    s.inFeatures = 2;
    s.outFeatures = 2;
    s.tokens = 1;
    s.xtx = Eigen::MatrixXd{{1.0, 1e6}, {1e6, 1.0}};
    s.sumAbs = {1, 1};
    s.maxAbs = {1, 1};
    s.sumSquares = {1, 1};
    try {
        runQuant(w, 2, 2, makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerChannel), &s);
        QFAIL("expected an error");
    } catch (const Error& e) {
        QVERIFY2(e.message().contains(u"down_proj") && e.message().contains(u"singular"),
                 qPrintable(e.message()));
    }
    // A Hessian of the wrong size (statistics from another layer).
    s.xtx = Eigen::MatrixXd::Identity(3, 3);
    QVERIFY_THROWS_EXCEPTION(
        Error, runQuant(w, 2, 2, makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerChannel), &s));
}

void TestQuant::gptqInverseFactorPanels()
{
    // 700 inputs: the factorisation runs in three panels of 256 columns (the last one partial).
    const std::int64_t cols = 700, rows = 4;
    const MatrixF X = correlatedInputs(2048, cols, 41);
    const std::vector<float> w = gaussianWeight(rows, cols, 42);
    LinearInputStats stats = statsFor(X, rows, w);
    QuantizeRequest r =
        makeRequest(w, rows, cols, makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup), &stats);
    MatrixF W = Eigen::Map<const MatrixF>(w.data(), rows, cols);
    const std::vector<double> diag = hessianDiagonal(r, "GPTQ", W);
    std::vector<std::int64_t> perm(static_cast<std::size_t>(cols));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), std::mt19937(43));
    double damp1 = 0, damp2 = 0;
    setComputeThreads(1);
    const Eigen::MatrixXf U1 = dampedInverseFactor(r, perm, diag, damp1, {});
    setComputeThreads(2);
    const Eigen::MatrixXf U2 = dampedInverseFactor(r, perm, diag, damp2, {});
    setComputeThreads(0);
    QCOMPARE(damp1, damp2);
    QVERIFY(U1 == U2); // the same numbers on any thread count
    QVERIFY(U1.isUpperTriangular());
    // UᵀU = H⁻¹ for H = 2·XᵀX/n in the order `perm`, dampened: (UᵀU)·H = I.
    Eigen::MatrixXd H(cols, cols);
    for (std::int64_t i = 0; i < cols; ++i)
        for (std::int64_t j = 0; j < cols; ++j)
            H(i, j) = stats.xtx(perm[std::size_t(i)], perm[std::size_t(j)]) * 2.0 / double(stats.tokens);
    H.diagonal().array() += damp1;
    const Eigen::MatrixXd Ud = U1.cast<double>();
    const double residual =
        ((Ud.transpose() * Ud) * H - Eigen::MatrixXd::Identity(cols, cols)).cwiseAbs().maxCoeff();
    qInfo("700 × 700 inverse factor: max |UᵀU·H − I| = %.3e, λ = %.3e", residual, damp1);
    QVERIFY2(residual < 1e-2, qPrintable(QString::number(residual)));
    // Not positive definite only in the last panel's rows (the factor runs on the reversed order):
    // found there too, and no dampening mends it.
    stats.xtx(10, 40) = stats.xtx(40, 10) = 1e6 * stats.xtx(10, 10);
    std::iota(perm.begin(), perm.end(), 0);
    QVERIFY_THROWS_EXCEPTION(Error, dampedInverseFactor(r, perm, diag, damp1, {}));
}

// ---- AWQ -------------------------------------------------------------------------------------

void TestQuant::awqProtectsSalient_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<bool>("clip");
    for (int bits : {3, 4})
        for (bool clip : {false, true})
            QTest::addRow("int%d g128%s", bits, clip ? " clip" : "") << bits << clip;
}

void TestQuant::awqProtectsSalient()
{
    QFETCH(int, bits);
    QFETCH(bool, clip);
    const std::int64_t rows = 128, cols = 256, n = 2048;
    std::mt19937 rng(41);
    MatrixF X = gaussian(n, cols, rng);
    const std::vector<int> salient{17, 130, 201}; // ≈1% of the channels, 10–50× the others
    const float boost[] = {10.f, 25.f, 50.f};
    for (std::size_t k = 0; k < salient.size(); ++k)
        X.col(salient[k]) *= boost[k];
    const std::vector<float> w = gaussianWeight(rows, cols, 42);
    const LinearInputStats stats = statsFor(X, rows, w, 512);
    const MatrixF sample = X.topRows(stats.sampleRows);

    QuantSpec spec = makeSpec(QuantMethod::Awq, bits, false, Granularity::PerGroup, 128);
    spec.clipSearch = clip;
    const QuantizedTensor a = runQuant(w, rows, cols, spec, &stats);
    QCOMPARE(std::int64_t(a.inputScales.size()), cols);
    QuantSpec rtnSpec = spec;
    rtnSpec.method = QuantMethod::Rtn;
    rtnSpec.clipSearch = false;
    const QuantizedTensor r = runQuant(w, rows, cols, rtnSpec, nullptr);
    const std::vector<float> aw = a.effectiveWeight(), rw = r.dequantize();
    QVERIFY(allFinite(aw));
    // The salient channels get the largest scales.
    const float minSalient = std::min({a.inputScales[17], a.inputScales[130], a.inputScales[201]});
    const float maxOther = [&] {
        float m = 0;
        for (std::int64_t c = 0; c < cols; ++c)
            if (std::find(salient.begin(), salient.end(), int(c)) == salient.end())
                m = std::max(m, a.inputScales[std::size_t(c)]);
        return m;
    }();
    QVERIFY2(minSalient > maxOther, qPrintable(QStringLiteral("%1 vs %2").arg(minSalient).arg(maxOther)));

    const double ea = relOutputError(sample, w, aw, rows), er = relOutputError(sample, w, rw, rows);
    const double eaS = relOutputError(sample, w, aw, rows, salient),
                 erS = relOutputError(sample, w, rw, rows, salient);
    const double eaAll = relOutputError(X, w, aw, rows), erAll = relOutputError(X, w, rw, rows);
    qInfo("%s: output error AWQ %.3e vs RTN %.3e (ratio %.3f); salient channels AWQ %.3e vs RTN %.3e; "
          "all tokens AWQ %.3e vs RTN %.3e",
          QTest::currentDataTag(), ea, er, ea / er, eaS, erS, eaAll, erAll);
    QVERIFY(ea < 0.9 * er);
    QVERIFY(eaS < 0.5 * erS);
    QVERIFY(eaAll < 0.9 * erAll); // holds beyond the sample the search saw

    // The search's own report agrees: the chosen α beats α = 0 (plain RTN).
    const AwqSearchResult s = awqSearchScales({{w.data(), rows}}, cols, stats, spec);
    QVERIFY(s.alpha > 0);
    QVERIFY(s.loss < s.lossNoScale);
}

// ---- activation quantization -------------------------------------------------------------------

void TestQuant::smoothQuantOutliers()
{
    const std::int64_t rows = 128, cols = 256, n = 1024;
    std::mt19937 rng(51);
    MatrixF X = gaussian(n, cols, rng);
    for (int c : {3, 99, 180, 240}) // systematic outlier features, as in LLM activations
        X.col(c) = X.col(c) * 5.f + MatrixF::Constant(n, 1, 40.f);
    const std::vector<float> w = gaussianWeight(rows, cols, 52);
    const LinearInputStats stats = statsFor(X, rows, w);
    auto errorWith = [&](QuantMethod m, double alpha) {
        QuantSpec s = makeSpec(m, 8, true, Granularity::PerChannel);
        s.smoothAlpha = alpha;
        const QuantizedLinear layer(std::make_shared<QuantizedTensor>(runQuant(w, rows, cols, s, &stats)));
        return relForwardError(layer, X, w);
    };
    const double smooth = errorWith(QuantMethod::SmoothQuant, 0.5),
                 alpha0 = errorWith(QuantMethod::SmoothQuant, 0.0);
    const double plain = errorWith(QuantMethod::Dynamic, 0.5); // W8A8 per token, no smoothing
    qInfo("W8A8 relative output error: SmoothQuant α=0.5 %.3e, α=0 %.3e, no smoothing %.3e", smooth, alpha0,
          plain);
    QVERIFY(smooth < 0.5 * alpha0);
    QVERIFY(smooth < 0.5 * plain);
}

void TestQuant::llmInt8Outliers()
{
    const std::int64_t rows = 128, cols = 256, n = 1024;
    std::mt19937 rng(61);
    MatrixF X = gaussian(n, cols, rng).cwiseMax(-4.f).cwiseMin(4.f); // ordinary features stay below 6
    const std::vector<int> outliers{10, 64, 65, 200};
    for (int c : outliers)
        X.col(c) *= 15.f;
    const std::vector<float> w = gaussianWeight(rows, cols, 62);
    const LinearInputStats stats = statsFor(X, rows, w);
    const QuantSpec spec = makeSpec(QuantMethod::LlmInt8, 8, true, Granularity::PerChannel);
    const auto t = std::make_shared<QuantizedTensor>(runQuant(w, rows, cols, spec, &stats));
    QCOMPARE(t->outlierColumns, (std::vector<std::int32_t>{10, 64, 65, 200}));
    QCOMPARE(t->outlierWeights.size(), std::size_t(rows) * outliers.size());
    const std::vector<float> deq = t->dequantize();
    for (std::int64_t r = 0; r < rows; ++r) {
        for (int c : outliers) {
            const float expected = roundToStorage(w[std::size_t(r * cols + c)], DType::F16);
            QCOMPARE(deq[std::size_t(r * cols + c)], expected);
        }
    }
    QCOMPARE(t->storageBytes(), spec.cost(rows, cols, 4).total());
    const double int8 = relForwardError(QuantizedLinear(t), X, w);
    const QuantizedLinear plain(std::make_shared<QuantizedTensor>(
        runQuant(w, rows, cols, makeSpec(QuantMethod::Dynamic, 8, true, Granularity::PerChannel), nullptr)));
    const double w8a8 = relForwardError(plain, X, w);
    qInfo("relative output error: LLM.int8 %.3e, plain W8A8 %.3e", int8, w8a8);
    QVERIFY(int8 < 0.1 * w8a8);
}

// ---- errors and cancellation -------------------------------------------------------------------

void TestQuant::quantizeErrors_data()
{
    QTest::addColumn<QuantSpec>("spec");
    QTest::addColumn<int>("stats"); // 0 none, 1 empty (no tokens), 2 real
    QTest::addColumn<bool>("nan");
    QTest::addColumn<QString>("expected");
    QTest::newRow("bits 9") << makeSpec(QuantMethod::Rtn, 9, false, Granularity::PerGroup) << 0 << false
                            << QStringLiteral("bits 9");
    QTest::newRow("bits 1") << makeSpec(QuantMethod::Gptq, 1, false, Granularity::PerGroup) << 2 << false
                            << QStringLiteral("bits 1");
    QTest::newRow("group 0") << makeSpec(QuantMethod::Rtn, 4, false, Granularity::PerGroup, 0) << 0 << false
                             << QStringLiteral("group size");
    QTest::newRow("smoothquant 4 bits")
        << makeSpec(QuantMethod::SmoothQuant, 4, true, Granularity::PerChannel) << 2 << false
        << QStringLiteral("bits 4");
    QTest::newRow("gptq without stats") << makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup) << 0
                                        << false << QStringLiteral("calibration");
    QTest::newRow("awq with empty stats") << makeSpec(QuantMethod::Awq, 4, false, Granularity::PerGroup) << 1
                                          << false << QStringLiteral("calibration");
    QTest::newRow("llm.int8 without stats")
        << makeSpec(QuantMethod::LlmInt8, 8, true, Granularity::PerChannel) << 0 << false
        << QStringLiteral("calibration");
    QTest::newRow("squeezellm without stats") << QuantSpec::fromShortName(QStringLiteral("squeezellm-w3"))
                                              << 0 << false << QStringLiteral("calibration");
    QTest::newRow("NaN weight rtn") << makeSpec(QuantMethod::Rtn, 4, false, Granularity::PerGroup) << 0
                                    << true << QStringLiteral("row 1, column 2");
    QTest::newRow("NaN weight gptq") << makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup) << 2
                                     << true << QStringLiteral("non-finite");
}

void TestQuant::quantizeErrors()
{
    QFETCH(QuantSpec, spec);
    QFETCH(int, stats);
    QFETCH(bool, nan);
    QFETCH(QString, expected);
    const std::int64_t rows = 4, cols = 8;
    std::vector<float> w = gaussianWeight(rows, cols, 71);
    if (nan)
        w[std::size_t(1 * cols + 2)] = std::nanf("");
    std::mt19937 rng(72);
    LinearInputStats real = statsFor(gaussian(64, cols, rng), rows, gaussianWeight(rows, cols, 71));
    LinearInputStats empty;
    const LinearInputStats* s = stats == 0 ? nullptr : stats == 1 ? &empty : &real;
    try {
        runQuant(w, rows, cols, spec, s);
        QFAIL("expected qs::Error");
    } catch (const Error& e) {
        QVERIFY2(e.message().startsWith(u"model.layers.0.mlp.down_proj: "), qPrintable(e.message()));
        QVERIFY2(e.message().contains(expected), qPrintable(e.message()));
    }
}

void TestQuant::cancellation()
{
    const GptqLayer& l = gptqLayer();
    JobContext job;
    job.cancel->cancel();
    const QuantSpec spec = makeSpec(QuantMethod::Gptq, 4, false, Granularity::PerGroup);
    QVERIFY_THROWS_EXCEPTION(Cancelled, runQuant(l.w, l.rows, l.cols, spec, &l.stats, job));
    // The quantizer itself honours the token (callers that skip quantizeWeight).
    QuantizeRequest r;
    r.layerName = QStringLiteral("layer");
    r.weight = l.w.data();
    r.rows = l.rows;
    r.cols = l.cols;
    r.stats = &l.stats;
    r.spec = spec;
    QVERIFY_THROWS_EXCEPTION(Cancelled, quantizerFor(QuantMethod::Gptq).quantize(r, job));
    // An uncancelled context goes through.
    QVERIFY(!quantizerFor(QuantMethod::Gptq).quantize(r, JobContext{}).codes.empty());
}

QTEST_GUILESS_MAIN(TestQuant)
#include "tst_quant.moc"
