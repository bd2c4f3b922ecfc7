// The ggml matrix products (kernels/GgmlMatMul.h): every SIMD variant against the scalar twin
// (integer parts exact, float order within a named budget per type), the scalar twin against the
// dequantized product in double, the activation rows against ggml's quantizers, independence of
// the row split and the token count, odd shapes and errors.
#include "TestSupport.h"
#include "kernels/Convert.h"
#include "kernels/GgmlMatMul.h"
#include "kernels/GgmlMatMulKernels.h"
#include "kernels/GgmlQuants.h"
#include "kernels/SimdVariant.h"
#include "tensor/GgmlBlocks.h"

#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace qs;

namespace {

const GgmlType kTypes[] = {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,   GgmlType::Q5_1,
                           GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,
                           GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};

/// Rows of Gaussian values at varied magnitudes with a few outliers (as weights and activations
/// of a transformer look); row `zeroRow` (if any) all zero.
std::vector<float> randomRows(std::int64_t rows, std::int64_t cols, unsigned seed, std::int64_t zeroRow = -1)
{
    std::mt19937 g(seed);
    std::normal_distribution<float> normal;
    std::vector<float> x(std::size_t(rows * cols));
    for (std::int64_t r = 0; r < rows; ++r) {
        const float scale = std::ldexp(1.f, int(g() % 8) - 4);
        for (std::int64_t c = 0; c < cols; ++c) {
            float v = normal(g) * scale;
            if (g() % 97 == 0)
                v *= 20.f;
            x[std::size_t(r * cols + c)] = r == zeroRow ? 0.f : v;
        }
    }
    return x;
}

struct Problem
{
    GgmlType type;
    std::int64_t rows, cols, n;
    std::vector<std::uint8_t> w, xq;
    std::size_t rowBytes, xRowBytes;
};

Problem makeProblem(GgmlType type, std::int64_t rows, std::int64_t cols, std::int64_t n, unsigned seed)
{
    Problem p{type, rows, cols, n, {}, {}, ggmlRowBytes(type, cols), ggmlActivationRowBytes(type, cols)};
    const std::vector<float> w = randomRows(rows, cols, seed);
    const std::vector<float> x = randomRows(n, cols, seed + 1, n > 2 ? 1 : -1);
    p.w.resize(p.rowBytes * std::size_t(rows));
    p.xq.resize(p.xRowBytes * std::size_t(n));
    ggmlQuantizeRows(type, w.data(), p.w.data(), rows, cols);
    ggmlQuantizeActivations(type, x.data(), 0, n, cols, p.xq.data());
    return p;
}

std::vector<float> run(SimdVariant v, const Problem& p)
{
    std::vector<float> y(std::size_t(p.rows * p.n), std::nanf(""));
    ggmlMatMul(v, p.type, p.w.data(), p.cols, 0, p.rows, p.xq.data(), p.n, y.data(), p.rows);
    return y;
}

/// Activation row t dequantized (Q8_1 by hand: ggml has no to_float for it).
std::vector<double> activationValues(const Problem& p, std::int64_t t)
{
    const std::uint8_t* row = p.xq.data() + std::size_t(t) * p.xRowBytes;
    std::vector<double> out(std::size_t(p.cols));
    const GgmlType act = ggmlActivationType(p.type);
    if (act == GgmlType::Q8_1) {
        const auto* b = reinterpret_cast<const ggml::BlockQ8_1*>(row);
        for (std::int64_t c = 0; c < p.cols; ++c)
            out[std::size_t(c)] = double(ref::f16ToF32(b[c / 32].d)) * b[c / 32].qs[c % 32];
        return out;
    }
    std::vector<float> f(std::size_t(p.cols));
    ggmlDequantizeRow(act, row, f.data(), p.cols);
    for (std::size_t c = 0; c < f.size(); ++c)
        out[c] = f[c];
    return out;
}

/// Σ|terms| of each (row, token) dot product, the scale of the float error budgets: Σ|w·x| over the
/// dequantized values, plus Σ|m·s| of the block minimums for the Q8_1 formats.
struct Exact
{
    std::vector<double> value, magnitude; // [t·rows + r]
};

Exact exactProducts(const Problem& p)
{
    Exact e;
    e.value.assign(std::size_t(p.rows * p.n), 0.);
    e.magnitude.assign(std::size_t(p.rows * p.n), 0.);
    std::vector<float> w(std::size_t(p.cols));
    const bool q81 = ggmlActivationType(p.type) == GgmlType::Q8_1;
    for (std::int64_t t = 0; t < p.n; ++t) {
        const std::vector<double> x = activationValues(p, t);
        const std::uint8_t* xrow = p.xq.data() + std::size_t(t) * p.xRowBytes;
        for (std::int64_t r = 0; r < p.rows; ++r) {
            const std::uint8_t* wrow = p.w.data() + std::size_t(r) * p.rowBytes;
            ggmlDequantizeRow(p.type, wrow, w.data(), p.cols);
            double v = 0, m = 0;
            for (std::int64_t c = 0; c < p.cols; ++c) {
                v += double(w[std::size_t(c)]) * x[std::size_t(c)];
                m += std::fabs(double(w[std::size_t(c)]) * x[std::size_t(c)]);
            }
            if (q81) { // the min field sits after d in Q4_1/Q5_1, s after d in Q8_1
                const std::size_t wb = ggmlTypeInfo(p.type).typeSize;
                for (std::int64_t b = 0; b < p.cols / 32; ++b) {
                    std::uint16_t mh, sh;
                    std::memcpy(&mh, wrow + std::size_t(b) * wb + 2, 2);
                    std::memcpy(&sh, xrow + std::size_t(b) * 36 + 2, 2);
                    m += std::fabs(double(ref::f16ToF32(mh)) * ref::f16ToF32(sh));
                }
            }
            e.value[std::size_t(t * p.rows + r)] = v;
            e.magnitude[std::size_t(t * p.rows + r)] = m;
        }
    }
    return e;
}

/// Relative budget (of Σ|terms|) for a SIMD variant against the scalar twin: both sum the same exact
/// integer block products, scaled by the same float scale products, in a different order. The
/// legacy formats add one rounded term per block of 32 (a 4096-wide row: 128 terms), the super-block
/// formats one per 256 (the SIMD variants) against 8 lanes or 8 groups (scalar).
double variantBudget(GgmlType type)
{
    // Measured worst on these rows: 3e-7 (legacy), 5.4e-7 (super-block formats); one code off by one
    // costs 1e-5 on a 4096-wide row and 1e-3 on one block.
    return ggmlTypeInfo(type).blockSize == 32 ? 2e-6 : 3e-6;
}

/// Relative budget (of Σ|terms|) for the scalar twin against the exact product of the dequantized
/// values: single-precision rounding of the scale products and the running sum, plus, for the Q8_1
/// formats, the block sum s that ggml stores in binary16 (2⁻¹¹ relative).
double exactBudget(GgmlType type)
{
    // Measured worst on these rows: 5.8e-7 (Q5_K, one block), 1.9e-4 (Q4_1/Q5_1: the binary16 s).
    return ggmlActivationType(type) == GgmlType::Q8_1 ? 1e-3 : 4e-6;
}

} // namespace

class TestGgmlMatMul : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void typeTable();
    void variantsMatchScalar_data();
    void variantsMatchScalar();
    void scalarMatchesDequantized_data();
    void scalarMatchesDequantized();
    void activationsMatchQuantizers_data();
    void activationsMatchQuantizers();
    void activationRounding();
    void independentOfSplitAndTokens_data();
    void independentOfSplitAndTokens();
    void interleaved_data();
    void interleaved();
    void errors();
};

void TestGgmlMatMul::typeTable()
{
    int withKernel = 0;
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        if (!ggmlHasMatMul(info.type))
            continue;
        ++withKernel;
        QVERIFY(info.vecDotType.has_value());
        QCOMPARE(ggmlActivationType(info.type), *info.vecDotType);
        QCOMPARE(ggmlActivationRowBytes(info.type, 512), ggmlRowBytes(*info.vecDotType, 512));
    }
    QCOMPARE(withKernel, int(std::size(kTypes)));
    QVERIFY(simdVariantSupported(ggmlMatMulVariant()));
    for (GgmlType t : kTypes)
        QVERIFY(ggmlHasMatMul(t));
}

namespace {
void addShapes(bool big)
{
    QTest::addColumn<GgmlType>("type");
    QTest::addColumn<qint64>("rows");
    QTest::addColumn<qint64>("cols");
    QTest::addColumn<qint64>("n");
    for (GgmlType t : kTypes) {
        const qint64 block = ggmlTypeInfo(t).blockSize;
        const QByteArray name = ggmlTypeInfo(t).name;
        // One block per row, rows and tokens off every tile size; a GEMV; a prefill-sized tile.
        QTest::newRow(QByteArray(name + " one block").constData()) << t << qint64(7) << block << qint64(5);
        QTest::newRow(QByteArray(name + " gemv").constData()) << t << qint64(37) << qint64(2048) << qint64(1);
        QTest::newRow(QByteArray(name + " odd blocks").constData())
            << t << qint64(9) << block * 9 << qint64(3);
        if (big)
            QTest::newRow(QByteArray(name + " prefill").constData())
                << t << qint64(70) << qint64(4096) << qint64(11);
    }
}
} // namespace

void TestGgmlMatMul::variantsMatchScalar_data()
{
    addShapes(true);
}

void TestGgmlMatMul::variantsMatchScalar()
{
    QFETCH(GgmlType, type);
    QFETCH(qint64, rows);
    QFETCH(qint64, cols);
    QFETCH(qint64, n);
    const Problem p = makeProblem(type, rows, cols, n, unsigned(rows * 31 + cols + n));
    const Exact e = exactProducts(p);
    const std::vector<float> ref = run(SimdVariant::Scalar, p);
    const double budget = variantBudget(type);
    for (SimdVariant v : supportedSimdVariants()) {
        if (v == SimdVariant::Scalar)
            continue;
        const std::vector<float> y = run(v, p);
        double worst = 0;
        for (std::size_t k = 0; k < y.size(); ++k) {
            const double err = std::fabs(double(y[k]) - ref[k]);
            const double rel = e.magnitude[k] > 0 ? err / e.magnitude[k] : err;
            QVERIFY2(
                std::isfinite(y[k]) && rel <= budget,
                qPrintable(QStringLiteral("%1 %2 at %3: %4 vs scalar %5 (error %6 of Σ|terms| %7, budget %8)")
                               .arg(QLatin1String(simdVariantName(v)), ggmlTypeName(type))
                               .arg(k)
                               .arg(double(y[k]), 0, 'g', 9)
                               .arg(double(ref[k]), 0, 'g', 9)
                               .arg(rel, 0, 'g', 3)
                               .arg(e.magnitude[k], 0, 'g', 4)
                               .arg(budget)));
            worst = std::max(worst, rel);
        }
        if (qEnvironmentVariableIsSet("QS_TEST_VERBOSE"))
            qInfo("%s %s: worst %.3g of Σ|terms|", simdVariantName(v), ggmlTypeInfo(type).name, worst);
    }
}

void TestGgmlMatMul::scalarMatchesDequantized_data()
{
    addShapes(false);
}

void TestGgmlMatMul::scalarMatchesDequantized()
{
    QFETCH(GgmlType, type);
    QFETCH(qint64, rows);
    QFETCH(qint64, cols);
    QFETCH(qint64, n);
    const Problem p = makeProblem(type, rows, cols, n, unsigned(rows * 17 + cols + n));
    const Exact e = exactProducts(p);
    const std::vector<float> y = run(SimdVariant::Scalar, p);
    const double budget = exactBudget(type);
    double worst = 0;
    for (std::size_t k = 0; k < y.size(); ++k) {
        const double rel = std::fabs(double(y[k]) - e.value[k]) / std::max(e.magnitude[k], 1e-30);
        if (e.magnitude[k] > 0)
            worst = std::max(worst, rel);
        QVERIFY2(rel <= budget || (e.magnitude[k] == 0 && y[k] == 0.f),
                 qPrintable(QStringLiteral("%1 at %2: %3 vs exact %4 (error %5 of Σ|terms|, budget %6)")
                                .arg(ggmlTypeName(type))
                                .arg(k)
                                .arg(double(y[k]), 0, 'g', 9)
                                .arg(e.value[k], 0, 'g', 9)
                                .arg(rel, 0, 'g', 3)
                                .arg(budget)));
    }
    if (qEnvironmentVariableIsSet("QS_TEST_VERBOSE"))
        qInfo("scalar %s: worst %.3g of Σ|terms| against the exact product", ggmlTypeInfo(type).name, worst);
}

void TestGgmlMatMul::activationsMatchQuantizers_data()
{
    QTest::addColumn<GgmlType>("weight");
    QTest::addColumn<bool>("clean"); // values that are exact multiples of amax/127: no rounding ties
    QTest::newRow("Q8_K random") << GgmlType::Q4_K << false;
    QTest::newRow("Q8_0 random") << GgmlType::Q8_0 << false;
    QTest::newRow("Q8_0 clean") << GgmlType::Q4_0 << true;
    QTest::newRow("Q8_1 random") << GgmlType::Q4_1 << false;
    QTest::newRow("Q8_1 clean") << GgmlType::Q5_1 << true;
}

void TestGgmlMatMul::activationsMatchQuantizers()
{
    QFETCH(GgmlType, weight);
    QFETCH(bool, clean);
    const std::int64_t n = 6, cols = 1024;
    std::vector<float> x = randomRows(n, cols, 99, 2);
    if (clean) {
        std::mt19937 g(5);
        for (std::int64_t b = 0; b < n * cols / 32; ++b) {
            const float unit = std::ldexp(1.f, int(g() % 20) - 10);
            for (int j = 0; j < 32; ++j)
                x[std::size_t(b * 32 + j)] = float(int(g() % 255) - 127) * unit;
            x[std::size_t(b * 32 + int(g() % 32))] = 127.f * unit * (g() % 2 ? 1.f : -1.f);
        }
    }
    const GgmlType act = ggmlActivationType(weight);
    const std::size_t rowBytes = ggmlActivationRowBytes(weight, cols);
    std::vector<std::uint8_t> mine(rowBytes * n),
        theirs(ggmlRowBytes(act == GgmlType::Q8_K ? act : GgmlType::Q8_0, cols) * n);
    // Two calls over token ranges give the same bytes as one.
    ggmlQuantizeActivations(weight, x.data(), 0, 2, cols, mine.data());
    ggmlQuantizeActivations(weight, x.data(), 2, n, cols, mine.data());
    ggmlQuantizeRows(act == GgmlType::Q8_K ? act : GgmlType::Q8_0, x.data(), theirs.data(), n, cols);
    // Every variant writes the scalar loop's bytes.
    for (SimdVariant v : supportedSimdVariants()) {
        std::vector<std::uint8_t> scalar(mine.size()), simd(mine.size());
        ggmlQuantizeActivations(SimdVariant::Scalar, weight, x.data(), 0, n, cols, scalar.data());
        ggmlQuantizeActivations(v, weight, x.data(), 0, n, cols, simd.data());
        QVERIFY2(simd == scalar, simdVariantName(v));
        QVERIFY(scalar == mine);
    }
    if (act == GgmlType::Q8_K) {
        QVERIFY(mine == theirs);
        return;
    }
    // Q8_0/Q8_1 against the reference quantize_row_q8_0: same scales; codes equal on clean values,
    // else off by one step at most, and only rarely (127/amax against 1/(amax/127), ties to even).
    const std::size_t stride = act == GgmlType::Q8_1 ? 36 : 34, qOff = act == GgmlType::Q8_1 ? 4 : 2;
    std::int64_t differ = 0;
    for (std::int64_t b = 0; b < n * cols / 32; ++b) {
        const std::uint8_t* a = mine.data() + std::size_t(b) * stride;
        const std::uint8_t* r = theirs.data() + std::size_t(b) * 34;
        QCOMPARE(std::memcmp(a, r, 2), 0);
        int sum = 0;
        for (int j = 0; j < 32; ++j) {
            const int qa = std::int8_t(a[qOff + j]), qr = std::int8_t(r[2 + j]);
            QVERIFY(std::abs(qa - qr) <= 1);
            differ += qa != qr;
            sum += qa;
        }
        if (act == GgmlType::Q8_1) { // s = d·Σq in binary16, d the unrounded amax/127
            float amax = 0;
            for (int j = 0; j < 32; ++j)
                amax = std::max(amax, std::fabs(x[std::size_t(b * 32 + j)]));
            std::uint16_t s;
            std::memcpy(&s, a + 2, 2);
            QCOMPARE(s, ref::f32ToF16(amax / 127.f * float(sum)));
        }
    }
    if (clean)
        QCOMPARE(differ, std::int64_t(0));
    else
        QVERIFY2(differ * 1000 <= n * cols, qPrintable(QStringLiteral("%1 codes differ").arg(differ)));
}

void TestGgmlMatMul::activationRounding()
{
    // amax 127 makes 127/amax = 1 and 1/(amax/127) = 1: 2.5 is a tie. ggml's x86 quantize_row_q8_0
    // rounds it to even (2), the reference quantize_row_q8_0_ref away from zero (3).
    std::vector<float> x(32, 0.f);
    x[0] = 127.f;
    x[1] = 2.5f;
    x[2] = -3.5f;
    std::vector<std::uint8_t> mine(34), theirs(34);
    ggmlQuantizeActivations(GgmlType::Q8_0, x.data(), 0, 1, 32, mine.data());
    ggmlQuantizeRows(GgmlType::Q8_0, x.data(), theirs.data(), 1, 32);
    QCOMPARE(int(std::int8_t(mine[2 + 1])), 2);
    QCOMPARE(int(std::int8_t(mine[2 + 2])), -4);
    QCOMPARE(int(std::int8_t(theirs[2 + 1])), 3);
    QCOMPARE(int(std::int8_t(theirs[2 + 2])), -4);
    // An all-zero block: scale 0, codes 0 (and sum 0 for Q8_1).
    std::vector<std::uint8_t> q81(36, 0xAB);
    std::fill(x.begin(), x.end(), 0.f);
    ggmlQuantizeActivations(GgmlType::Q4_1, x.data(), 0, 1, 32, q81.data());
    QVERIFY(std::all_of(q81.begin(), q81.end(), [](std::uint8_t v) { return v == 0; }));
}

void TestGgmlMatMul::independentOfSplitAndTokens_data()
{
    QTest::addColumn<GgmlType>("type");
    for (GgmlType t : kTypes)
        QTest::newRow(ggmlTypeInfo(t).name) << t;
}

void TestGgmlMatMul::independentOfSplitAndTokens()
{
    QFETCH(GgmlType, type);
    const std::int64_t rows = 75, n = 8, cols = 2 * ggmlTypeInfo(type).blockSize * 3;
    const Problem p = makeProblem(type, rows, cols, n, 4321u);
    for (SimdVariant v : supportedSimdVariants()) {
        const std::vector<float> whole = run(v, p);
        // Rows in uneven chunks, one token at a time, into a wider output.
        const std::int64_t ldy = rows + 3;
        std::vector<float> y(std::size_t(ldy * n), -1.f);
        const std::int64_t cuts[] = {0, 1, 6, 7, 40, 66, rows};
        for (std::int64_t t = 0; t < n; ++t)
            for (std::size_t c = 0; c + 1 < std::size(cuts); ++c)
                ggmlMatMul(v, type, p.w.data(), cols, cuts[c], cuts[c + 1],
                           p.xq.data() + std::size_t(t) * p.xRowBytes, 1, y.data() + t * ldy, ldy);
        // Tokens 3..7 in one call over rows 5..70.
        std::vector<float> part(std::size_t(ldy * n), -1.f);
        ggmlMatMul(v, type, p.w.data(), cols, 5, 70, p.xq.data() + 3 * p.xRowBytes, 5, part.data(), ldy);
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t r = 0; r < rows; ++r) {
                const float a = whole[std::size_t(t * rows + r)], b = y[std::size_t(t * ldy + r)];
                QVERIFY2(std::memcmp(&a, &b, 4) == 0,
                         qPrintable(QStringLiteral("%1 row %2 token %3: %4 whole, %5 split")
                                        .arg(QLatin1String(simdVariantName(v)))
                                        .arg(r)
                                        .arg(t)
                                        .arg(double(a), 0, 'g', 9)
                                        .arg(double(b), 0, 'g', 9)));
                if (t >= 3 && r >= 5 && r < 70) {
                    const float c = part[std::size_t((t - 3) * ldy + r)];
                    QVERIFY(std::memcmp(&a, &c, 4) == 0);
                }
            }
        // Nothing written outside the rows asked for.
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t r = rows; r < ldy; ++r)
                QCOMPARE(y[std::size_t(t * ldy + r)], -1.f);
        QCOMPARE(part[4], -1.f);
    }
}

void TestGgmlMatMul::interleaved_data()
{
    QTest::addColumn<GgmlType>("type");
    QTest::addColumn<qint64>("rows");
    QTest::addColumn<qint64>("cols");
    QTest::addColumn<qint64>("n");
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::Q4_K, GgmlType::Q6_K,
                       GgmlType::IQ4_XS}) {
        const QByteArray name = ggmlTypeInfo(t).name;
        const qint64 block = ggmlTypeInfo(t).blockSize;
        // Full groups only; a partial last group; one block; a GEMV; token tiles of 8, 4 and 1.
        QTest::newRow(QByteArray(name + " one group").constData()) << t << qint64(16) << block << qint64(5);
        QTest::newRow(QByteArray(name + " gemv").constData()) << t << qint64(37) << qint64(2048) << qint64(1);
        // Decode of groups side by side (runs of the format's group count, the rest one by one; the cuts
        // below start inside a group) and a partial last group.
        QTest::newRow(QByteArray(name + " gemv, groups side by side").constData())
            << t << qint64(16 * (2 * ggmlmm::kIlDecodeGroups + 3) + 5) << 4 * block << qint64(1);
        QTest::newRow(QByteArray(name + " tail rows").constData())
            << t << qint64(75) << 3 * block << qint64(8);
        QTest::newRow(QByteArray(name + " prefill").constData())
            << t << qint64(80) << qint64(4096) << qint64(13);
        // Token tiles of 16 (AMX where the CPU has it) and a rest of 5.
        QTest::newRow(QByteArray(name + " prefill, tiles of 16").constData())
            << t << qint64(75) << qint64(2048) << qint64(37);
    }
}

void TestGgmlMatMul::interleaved()
{
    // The interleaved layout: a byte-exact round trip; every variant bit-identical to the scalar
    // twin, whatever the row split and token count; within the variant budget of the row layout.
    QFETCH(GgmlType, type);
    QFETCH(qint64, rows);
    QFETCH(qint64, cols);
    QFETCH(qint64, n);
    QVERIFY(ggmlHasInterleavedMatMul(type));
    const Problem p = makeProblem(type, rows, cols, n, unsigned(rows * 7 + cols + n));
    std::vector<std::uint8_t> il(p.w.size()), back(p.w.size());
    ggmlInterleaveRows(type, p.w.data(), rows, cols, il.data());
    ggmlDeinterleaveRows(type, il.data(), rows, cols, back.data());
    QVERIFY(back == p.w);
    back = p.w;
    ggmlInterleaveRows(type, back.data(), rows, cols, back.data()); // in place
    QVERIFY(back == il);
    if (rows >= 32) // a group's rows no longer lie where the row layout has them
        QVERIFY(std::memcmp(il.data(), p.w.data(), p.rowBytes * 16) != 0);

    auto runIl = [&](SimdVariant v) {
        std::vector<float> y(std::size_t(rows * n), std::nanf(""));
        ggmlMatMulInterleaved(v, type, il.data(), rows, cols, 0, rows, p.xq.data(), n, y.data(), rows);
        return y;
    };
    const std::vector<float> ref = runIl(SimdVariant::Scalar);
    const std::vector<float> rowLayout = run(SimdVariant::Scalar, p);
    const Exact e = exactProducts(p);
    for (std::size_t k = 0; k < ref.size(); ++k) {
        const double rel = std::fabs(double(ref[k]) - rowLayout[k]) / std::max(e.magnitude[k], 1e-30);
        QVERIFY2(std::isfinite(ref[k]) && (rel <= variantBudget(type) || ref[k] == rowLayout[k]),
                 qPrintable(QStringLiteral("%1 at %2: interleaved %3, rows %4")
                                .arg(ggmlTypeName(type))
                                .arg(k)
                                .arg(double(ref[k]), 0, 'g', 9)
                                .arg(double(rowLayout[k]), 0, 'g', 9)));
    }
    for (SimdVariant v : supportedSimdVariants()) {
        // Rows of full groups bit-identical to the scalar twin; those of a last, partial group are
        // the row kernel's of the same variant.
        const std::vector<float> whole = runIl(v), rowsOfV = run(v, p);
        const std::int64_t full = rows / kGgmlInterleaveRows * kGgmlInterleaveRows;
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t r = 0; r < rows; ++r) {
                const std::size_t k = std::size_t(t * rows + r);
                const float expected = r < full ? ref[k] : rowsOfV[k];
                QVERIFY2(std::memcmp(&whole[k], &expected, 4) == 0,
                         qPrintable(QStringLiteral("%1 row %2 token %3: %4, expected %5")
                                        .arg(QLatin1String(simdVariantName(v)))
                                        .arg(r)
                                        .arg(t)
                                        .arg(double(whole[k]), 0, 'g', 9)
                                        .arg(double(expected), 0, 'g', 9)));
            }
        // Rows in uneven chunks (cutting groups), one token at a time, into a wider output; and
        // tokens 2.. in one call over rows 5..end−3.
        const std::int64_t ldy = rows + 3;
        std::vector<float> y(std::size_t(ldy * n), -1.f), part(std::size_t(ldy * n), -1.f);
        const std::int64_t cuts[] = {0,
                                     1,
                                     std::min<std::int64_t>(6, rows),
                                     std::min<std::int64_t>(17, rows),
                                     std::min<std::int64_t>(40, rows),
                                     rows};
        for (std::int64_t t = 0; t < n; ++t)
            for (std::size_t c = 0; c + 1 < std::size(cuts); ++c)
                if (cuts[c] < cuts[c + 1])
                    ggmlMatMulInterleaved(v, type, il.data(), rows, cols, cuts[c], cuts[c + 1],
                                          p.xq.data() + std::size_t(t) * p.xRowBytes, 1, y.data() + t * ldy,
                                          ldy);
        const std::int64_t t0 = std::min<std::int64_t>(2, n - 1), pr0 = 5, pr1 = rows - 3;
        ggmlMatMulInterleaved(v, type, il.data(), rows, cols, pr0, pr1,
                              p.xq.data() + std::size_t(t0) * p.xRowBytes, n - t0, part.data(), ldy);
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t r = 0; r < ldy; ++r) {
                const float a = r < rows ? whole[std::size_t(t * rows + r)] : -1.f;
                QVERIFY2(std::memcmp(&a, &y[std::size_t(t * ldy + r)], 4) == 0,
                         qPrintable(QStringLiteral("%1 row %2 token %3: split differs")
                                        .arg(QLatin1String(simdVariantName(v)))
                                        .arg(r)
                                        .arg(t)));
                if (t < t0)
                    continue;
                const float b = r >= pr0 && r < pr1 ? a : -1.f;
                QVERIFY2(std::memcmp(&b, &part[std::size_t((t - t0) * ldy + r)], 4) == 0,
                         qPrintable(QStringLiteral("%1 row %2 token %3: part call differs")
                                        .arg(QLatin1String(simdVariantName(v)))
                                        .arg(r)
                                        .arg(t)));
            }
    }
}

void TestGgmlMatMul::errors()
{
    using test::errorOf;
    float y[64] = {};
    std::vector<std::uint8_t> w(4096), x(4096);
    QS_VERIFY_ERROR(errorOf([&] { ggmlActivationType(GgmlType::F16); }), {QStringLiteral("F16")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlActivationType(GgmlType::Q8_K); }), {QStringLiteral("Q8_K")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlActivationType(GgmlType::IQ2_XXS); }), {QStringLiteral("IQ2_XXS")});
    QVERIFY(!ggmlHasMatMul(GgmlType::F32));
    QVERIFY(!ggmlHasMatMul(GgmlType::Q8_1));
    QS_VERIFY_ERROR(errorOf([&] { ggmlMatMul(GgmlType::BF16, w.data(), 32, 0, 1, x.data(), 1, y, 1); }),
                    {QStringLiteral("BF16")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlMatMul(GgmlType::Q4_K, w.data(), 96, 0, 1, x.data(), 1, y, 1); }),
                    {QStringLiteral("Q4_K"), QStringLiteral("96")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlMatMul(GgmlType::Q4_0, w.data(), 32, 3, 2, x.data(), 1, y, 1); }),
                    {QStringLiteral("row range")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlMatMul(GgmlType::Q4_0, w.data(), 32, 0, 4, x.data(), 2, y, 3); }),
                    {QStringLiteral("stride")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlMatMul(GgmlType::Q4_0, w.data(), 32, 0, 4, x.data(), -1, y, 4); }),
                    {QStringLiteral("token")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlMatMul(GgmlType::Q4_0, nullptr, 32, 0, 4, x.data(), 1, y, 4); }),
                    {QStringLiteral("null")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlQuantizeActivations(GgmlType::Q4_K, y, 0, 1, 32, x.data()); }),
                    {QStringLiteral("Q4_K"), QStringLiteral("32")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlQuantizeActivations(GgmlType::Q8_K, y, 0, 1, 256, x.data()); }),
                    {QStringLiteral("Q8_K")});
    QVERIFY(!ggmlHasInterleavedMatMul(GgmlType::Q5_K));
    QS_VERIFY_ERROR(errorOf([&] { ggmlInterleaveRows(GgmlType::Q5_K, w.data(), 1, 256, w.data()); }),
                    {QStringLiteral("Q5_K")});
    QS_VERIFY_ERROR(errorOf([&] { ggmlInterleaveRows(GgmlType::Q4_0, w.data(), 1, 48, w.data()); }),
                    {QStringLiteral("48")});
    QS_VERIFY_ERROR(
        errorOf([&] { ggmlMatMulInterleaved(GgmlType::Q5_K, w.data(), 1, 256, 0, 1, x.data(), 1, y, 1); }),
        {QStringLiteral("Q5_K")});
    QS_VERIFY_ERROR(
        errorOf([&] { ggmlMatMulInterleaved(GgmlType::Q4_0, w.data(), 16, 32, 0, 17, x.data(), 1, y, 17); }),
        {QStringLiteral("row range")});
    QS_VERIFY_ERROR(
        errorOf([&] { ggmlMatMulInterleaved(GgmlType::Q4_0, w.data(), 32, 32, 0, 32, x.data(), 2, y, 16); }),
        {QStringLiteral("stride")});
    // Empty ranges do nothing, even with null pointers.
    ggmlMatMul(GgmlType::Q4_0, nullptr, 32, 2, 2, nullptr, 1, nullptr, 0);
    ggmlMatMul(GgmlType::Q4_0, nullptr, 32, 0, 2, nullptr, 0, nullptr, 0);
}

QTEST_GUILESS_MAIN(TestGgmlMatMul)
#include "tst_ggmlmatmul.moc"
