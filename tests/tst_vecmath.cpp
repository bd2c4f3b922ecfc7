// kernels/VecMath.h: the forward pass's exponential within 2 ulp of the exact value over its whole range
// (subnormal results, overflow, infinities and NaN included), and every variant giving the scalar twin's
// bytes for softmax rows, shifted exponentials with their double sums and SiLU, whatever the length (whole
// vectors, tails) and wherever an element falls; bad arguments refused.
#include "TestSupport.h"
#include "kernels/SimdVariant.h"
#include "kernels/VecMath.h"

#include <QTest>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace qs;

namespace {

/// The spacing of floats at |v| (v finite, normal or subnormal).
double ulpAt(double v)
{
    const float f = std::fabs(float(v));
    return double(std::nextafter(f, std::numeric_limits<float>::infinity())) - double(f);
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<float> randomValues(std::size_t n, float lo, float hi, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v)
        x = d(rng);
    return v;
}

const int kLengths[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 257, 1000, 1037};

} // namespace

class TestVecMath : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void expWithinTwoUlp();
    void expSpecialValues();
    void expShiftedSumMatchesTwin();
    void softmaxMatchesTwinAndReference();
    void siluMatchesTwinAndReference();
    void refusesBadArguments();
};

// A dense sweep of [−104, 89] (every 2⁻¹² and random points) against exp in double: 2 ulp of the result for
// normal results, 2 ulp of the smallest subnormal below FLT_MIN.
void TestVecMath::expWithinTwoUlp()
{
    std::vector<float> xs;
    for (double x = -104.0; x <= 89.0; x += 1.0 / 4096)
        xs.push_back(float(x));
    const std::vector<float> extra = randomValues(200000, -104.0f, 89.0f, 5u);
    xs.insert(xs.end(), extra.begin(), extra.end());
    double worst = 0;
    for (float x : xs) {
        const double exact = std::exp(double(x));
        const float got = expRef(x);
        if (exact > double(std::numeric_limits<float>::max())) {
            QVERIFY2(std::isinf(got), qPrintable(QStringLiteral("exp(%1) = %2, not inf").arg(x).arg(got)));
            continue;
        }
        const double unit = exact < double(std::numeric_limits<float>::min())
                                ? double(std::numeric_limits<float>::denorm_min())
                                : ulpAt(exact);
        const double err = std::fabs(double(got) - exact) / unit;
        worst = std::max(worst, err);
        QVERIFY2(err <= 2.0, qPrintable(QStringLiteral("exp(%1) = %2 vs %3: %4 ulp")
                                            .arg(double(x), 0, 'g', 9)
                                            .arg(double(got), 0, 'g', 9)
                                            .arg(exact, 0, 'g', 12)
                                            .arg(err)));
    }
    qInfo("worst error %.3f ulp over %zu points", worst, xs.size());
}

void TestVecMath::expSpecialValues()
{
    QCOMPARE(expRef(0.0f), 1.0f);
    QCOMPARE(expRef(-0.0f), 1.0f);
    QCOMPARE(expRef(-std::numeric_limits<float>::infinity()), 0.0f);
    QCOMPARE(expRef(-1000.0f), 0.0f);
    QVERIFY(std::isinf(expRef(std::numeric_limits<float>::infinity())));
    QVERIFY(std::isinf(expRef(89.0f)));
    QVERIFY(std::isinf(expRef(1000.0f)));
    QVERIFY(std::isfinite(expRef(88.72f)));
    QVERIFY(std::isnan(expRef(std::numeric_limits<float>::quiet_NaN())));
    QVERIFY(expRef(-103.0f) > 0.0f); // a subnormal result, not flushed
}

// Each element exactly expRef(x − shift) in every variant (so no element depends on where it falls), and the
// sum the same bytes in every variant and within 1e-12 of a sequential double sum.
void TestVecMath::expShiftedSumMatchesTwin()
{
    for (int n : kLengths) {
        std::vector<float> x = randomValues(std::size_t(n), -30.0f, 5.0f, unsigned(n));
        if (n > 3)
            x[2] = -std::numeric_limits<float>::infinity(); // a masked score
        const float shift = 4.5f;
        std::vector<float> want(x.size());
        double sequential = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            want[i] = expRef(x[i] - shift);
            sequential += double(want[i]);
        }
        std::vector<float> scalar = x;
        const double scalarSum = expShiftedSum(SimdVariant::Scalar, scalar.data(), n, shift);
        QVERIFY2(sameBits(scalar, want), qPrintable(QStringLiteral("scalar, n %1").arg(n)));
        QVERIFY(std::fabs(scalarSum - sequential) <= 1e-12 * sequential);
        for (SimdVariant v : supportedSimdVariants()) {
            std::vector<float> y = x;
            const double sum = expShiftedSum(v, y.data(), n, shift);
            const QByteArray where = QByteArray(simdVariantName(v)) + ", n " + QByteArray::number(n);
            QVERIFY2(sameBits(y, want), where.constData());
            QVERIFY2(std::memcmp(&sum, &scalarSum, sizeof sum) == 0, where.constData());
        }
    }
}

// Softmax rows: every variant the scalar twin's bytes; each probability within 4 ulp (plus 1e-12 absolute)
// of the double softmax of the shifted scores, the row summing to 1 within 1e-5.
void TestVecMath::softmaxMatchesTwinAndReference()
{
    for (int n : kLengths) {
        std::vector<float> x = randomValues(std::size_t(n), -8.0f, 8.0f, 100u + unsigned(n));
        std::vector<float> twin = x;
        softmaxInPlace(SimdVariant::Scalar, twin.data(), n);
        // The reference takes the scores less their maximum as the kernel does (a float subtraction, which
        // may round), then works in double.
        float mx = -INFINITY;
        for (float v : x)
            mx = std::max(mx, v);
        double total = 0;
        for (float v : x)
            total += std::exp(double(v - mx));
        double sum = 0;
        for (int i = 0; i < n; ++i) {
            const double exact = std::exp(double(x[std::size_t(i)] - mx)) / total;
            const float got = twin[std::size_t(i)];
            QVERIFY2(
                std::fabs(double(got) - exact) <= 4 * ulpAt(exact) + 1e-12,
                qPrintable(QStringLiteral("n %1, element %2: %3 vs %4").arg(n).arg(i).arg(got).arg(exact)));
            sum += double(got);
        }
        QVERIFY(std::fabs(sum - 1.0) <= 1e-5);
        for (SimdVariant v : supportedSimdVariants()) {
            std::vector<float> y = x;
            softmaxInPlace(v, y.data(), n);
            QVERIFY2(sameBits(y, twin),
                     QByteArray(QByteArray(simdVariantName(v)) + ", n " + QByteArray::number(n)).constData());
        }
    }
    // A NaN score is ignored by the maximum and turns the row into NaNs (it is not hidden).
    std::vector<float> bad = {1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f};
    softmaxInPlace(bad.data(), 3);
    QVERIFY(std::isnan(bad[0]) && std::isnan(bad[1]) && std::isnan(bad[2]));
}

// SiLU(g)·u: the variants' bytes equal the twin's for every length; the twin within 4 ulp of the double
// value; the extremes (large |g|, infinities, NaN) as the formula gives them.
void TestVecMath::siluMatchesTwinAndReference()
{
    for (int n : kLengths) {
        const std::vector<float> g = randomValues(std::size_t(n), -20.0f, 20.0f, 200u + unsigned(n)),
                                 u = randomValues(std::size_t(n), -3.0f, 3.0f, 300u + unsigned(n));
        std::vector<float> twin = g;
        siluMul(SimdVariant::Scalar, twin.data(), u.data(), n);
        for (int i = 0; i < n; ++i) {
            const double gi = g[std::size_t(i)], exact = gi / (1.0 + std::exp(-gi)) * u[std::size_t(i)];
            QVERIFY2(std::fabs(double(twin[std::size_t(i)]) - exact) <= 4 * ulpAt(exact) + 1e-30,
                     qPrintable(QStringLiteral("g %1 u %2: %3 vs %4")
                                    .arg(gi)
                                    .arg(u[std::size_t(i)])
                                    .arg(twin[std::size_t(i)])
                                    .arg(exact)));
        }
        for (SimdVariant v : supportedSimdVariants()) {
            std::vector<float> y = g;
            siluMul(v, y.data(), u.data(), n);
            QVERIFY2(sameBits(y, twin),
                     QByteArray(QByteArray(simdVariantName(v)) + ", n " + QByteArray::number(n)).constData());
        }
    }
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> g = {100.0f, -100.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 0.0f},
                       u(g.size(), 2.0f);
    siluMul(g.data(), u.data(), std::int64_t(g.size()));
    QCOMPARE(g[0], 200.0f);
    QCOMPARE(g[1], 0.0f);
    QVERIFY(std::isinf(g[2]) && g[2] > 0);
    QVERIFY(std::isnan(g[3])); // −inf / (1 + inf): the formula's NaN, as std::exp gives it
    QVERIFY(std::isnan(g[4]));
    QCOMPARE(g[5], 0.0f);
}

void TestVecMath::refusesBadArguments()
{
    float x = 1.0f;
    QS_VERIFY_ERROR(test::errorOf([&] { softmaxInPlace(SimdVariant::Scalar, &x, -1); }),
                    {QStringLiteral("softmaxInPlace"), QStringLiteral("-1 elements")});
    QS_VERIFY_ERROR(test::errorOf([&] { siluMul(SimdVariant::Scalar, &x, nullptr, 1); }),
                    {QStringLiteral("siluMul"), QStringLiteral("null pointer")});
    QS_VERIFY_ERROR(test::errorOf([&] { expShiftedSum(SimdVariant::Scalar, nullptr, 2, 0.0f); }),
                    {QStringLiteral("expShiftedSum"), QStringLiteral("null pointer")});
    softmaxInPlace(SimdVariant::Scalar, nullptr, 0); // nothing to do
}

QTEST_GUILESS_MAIN(TestVecMath)
#include "tst_vecmath.moc"
