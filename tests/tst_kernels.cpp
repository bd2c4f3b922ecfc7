// The SIMD variants of the kernels: which one runs (QUANTSCOPE_KERNELS, CPU features), and each
// lane-parallel scale search against its scalar twin, bit for bit, on random and adversarial
// groups. tst_ggmlquants holds the whole formats to the same standard and to llama.cpp's bytes.
#include "TestSupport.h"
#include "kernels/CpuFeatures.h"
#include "kernels/GgmlScaleSearch.h"
#include "kernels/SimdVariant.h"

#include <QTest>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace qs;

namespace {

/// Groups of n values: Gaussian at random magnitudes, then the adversarial kinds (zeros, one
/// outlier, subnormals, a constant, exact ties, all negative, huge values).
std::vector<std::vector<float>> groups(int n, int count)
{
    std::mt19937 g(1234u + unsigned(n));
    std::normal_distribution<float> normal;
    std::vector<std::vector<float>> out;
    for (int c = 0; c < count; ++c) {
        std::vector<float> x(static_cast<std::size_t>(n));
        const float magnitude = std::ldexp(1.f, int(g() % 30) - 15);
        for (int i = 0; i < n; ++i) {
            const float v = normal(g) * magnitude;
            switch (c % 8) {
            case 0:
                x[i] = 0.f;
                break;
            case 1:
                x[i] = i == n / 3 ? 1e4f * magnitude : v * 1e-3f;
                break;
            case 2:
                x[i] = v * 1e-40f;
                break;
            case 3:
                x[i] = 0.25f;
                break;
            case 4:
                x[i] = float(int(g() % 5) - 2) * 0.5f;
                break;
            case 5:
                x[i] = -std::fabs(v);
                break;
            case 6:
                x[i] = v * 1e30f;
                break;
            default:
                x[i] = v;
                break;
            }
        }
        out.push_back(std::move(x));
    }
    return out;
}

std::vector<float> weights(int n, unsigned seed, bool withZeros)
{
    std::mt19937 g(seed);
    std::vector<float> w(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
        w[i] = withZeros && i % 5 == 2 ? 0.f : float(1 + g() % 1000) * 0.01f;
    return w;
}

bool sameBits(float a, float b)
{
    return std::memcmp(&a, &b, 4) == 0;
}

QByteArray where(SimdVariant v, int group)
{
    return QByteArray(simdVariantName(v)) + " group " + QByteArray::number(group);
}

} // namespace

class TestKernels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void variantChoice();
    void fitSignedScaleTwins_data();
    void fitSignedScaleTwins();
    void fitAffineTwins_data();
    void fitAffineTwins();
    void refineIq4Twins();
};

void TestKernels::variantChoice()
{
    CpuFeatures none, avx2, avx512;
    avx2.avx2 = avx2.fma = avx2.f16c = true;
    avx512 = avx2;
    avx512.avx512f = avx512.avx512bw = avx512.avx512vl = avx512.avx512dq = true;
    QCOMPARE(chooseSimdVariant({}, none), SimdVariant::Vec128);
#if defined(__x86_64__)
    QCOMPARE(chooseSimdVariant({}, avx2), SimdVariant::Avx2);
    QCOMPARE(chooseSimdVariant({}, avx512), SimdVariant::Avx2); // 16 lanes do not pay (SimdVariant.cpp)
    QCOMPARE(chooseSimdVariant("avx512", avx512), SimdVariant::Avx512);
    QCOMPARE(chooseSimdVariant("avx2", avx512), SimdVariant::Avx2);
#endif
    QCOMPARE(chooseSimdVariant("scalar", avx512), SimdVariant::Scalar);
    // A forced variant the CPU lacks, or an unknown one, is a clear error, not a crash.
    QString msg = test::errorOf([&] { chooseSimdVariant("avx512", avx2); });
    QCOMPARE(
        test::checkMessage(msg, {QStringLiteral("QUANTSCOPE_KERNELS=avx512"), QStringLiteral("cannot run")}),
        QString());
    msg = test::errorOf([&] { chooseSimdVariant("avx9", avx512); });
    QCOMPARE(
        test::checkMessage(msg, {QStringLiteral("avx9"), QStringLiteral("scalar"), QStringLiteral("avx512")}),
        QString());
    // This CPU runs the scalar reference and the active variant, and every supported one is listed.
    QVERIFY(simdVariantSupported(SimdVariant::Scalar));
    QVERIFY(simdVariantSupported(activeSimdVariant()));
    qInfo("active kernel variant: %s", simdVariantName(activeSimdVariant()));
    for (SimdVariant v : kSimdVariants)
        if (!simdVariantSupported(v)) {
            std::vector<float> x(16, 1.f);
            std::vector<std::int8_t> codes(16);
            msg = test::errorOf([&] { ggmlFitSignedScale(v, 16, 4, x.data(), codes.data(), nullptr); });
            QCOMPARE(test::checkMessage(msg, {QLatin1String(simdVariantName(v))}), QString());
        }
}

void TestKernels::fitSignedScaleTwins_data()
{
    // The (n, nmax) pairs the formats use: Q3_K/Q6_K groups and scales, legacy blocks.
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("nmax");
    QTest::addColumn<bool>("withWeights");
    for (auto [n, nmax] : {std::pair{16, 4}, std::pair{16, 32}, std::pair{32, 8}, std::pair{32, 16}})
        for (bool w : {false, true})
            QTest::addRow("n=%d nmax=%d%s", n, nmax, w ? " weighted" : "") << n << nmax << w;
}

void TestKernels::fitSignedScaleTwins()
{
    QFETCH(int, n);
    QFETCH(int, nmax);
    QFETCH(bool, withWeights);
    const auto xs = groups(n, 400);
    const std::vector<float> w = weights(n, 7u, true);
    for (std::size_t c = 0; c < xs.size(); ++c) {
        std::vector<std::int8_t> ref(static_cast<std::size_t>(n));
        const float scale = ggmlFitSignedScale(SimdVariant::Scalar, n, nmax, xs[c].data(), ref.data(),
                                               withWeights ? w.data() : nullptr);
        for (SimdVariant v : supportedSimdVariants()) {
            std::vector<std::int8_t> codes(std::size_t(n), -1);
            const float s =
                ggmlFitSignedScale(v, n, nmax, xs[c].data(), codes.data(), withWeights ? w.data() : nullptr);
            QVERIFY2(sameBits(s, scale) && codes == ref, where(v, int(c)).constData());
        }
    }
}

void TestKernels::fitAffineTwins_data()
{
    // The settings the formats use: Q2_K (both errors), Q4_K/Q5_K, the legacy formats' imatrix.
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("nmax");
    QTest::addColumn<bool>("absError");
    QTest::addColumn<float>("rmin");
    QTest::addColumn<float>("rdelta");
    QTest::addColumn<int>("nstep");
    QTest::newRow("Q2_K") << 16 << 3 << true << -0.5f << 0.1f << 15;
    QTest::newRow("Q2_K imatrix") << 16 << 3 << false << -0.9f << 0.05f << 36;
    QTest::newRow("Q4_K") << 32 << 15 << false << -1.f << 0.1f << 20;
    QTest::newRow("Q5_K") << 32 << 31 << false << -0.5f << 0.1f << 15;
    QTest::newRow("Q4_1 imatrix") << 32 << 15 << false << -0.9f << 0.05f << 36;
    QTest::newRow("no search") << 32 << 15 << false << -0.9f << 0.05f << 0;
}

void TestKernels::fitAffineTwins()
{
    QFETCH(int, n);
    QFETCH(int, nmax);
    QFETCH(bool, absError);
    QFETCH(float, rmin);
    QFETCH(float, rdelta);
    QFETCH(int, nstep);
    const auto xs = groups(n, 400);
    for (std::size_t c = 0; c < xs.size(); ++c) {
        // Weights as the formats make them: |x|, or importance with some zeros.
        std::vector<float> w = weights(n, unsigned(c), c % 3 == 0);
        if (c % 2 == 0)
            for (int i = 0; i < n; ++i)
                w[i] = std::fabs(xs[c][i]);
        std::vector<std::uint8_t> ref(static_cast<std::size_t>(n));
        float refOffset = 0;
        const float scale = ggmlFitAffine(SimdVariant::Scalar, absError, n, nmax, xs[c].data(), w.data(),
                                          ref.data(), &refOffset, rmin, rdelta, nstep);
        for (SimdVariant v : supportedSimdVariants()) {
            std::vector<std::uint8_t> codes(std::size_t(n), 0xff);
            float offset = -1;
            const float s = ggmlFitAffine(v, absError, n, nmax, xs[c].data(), w.data(), codes.data(), &offset,
                                          rmin, rdelta, nstep);
            QVERIFY2(sameBits(s, scale) && sameBits(offset, refOffset) && codes == ref,
                     where(v, int(c)).constData());
        }
    }
}

void TestKernels::refineIq4Twins()
{
    const auto xs = groups(32, 600);
    for (std::size_t c = 0; c < xs.size(); ++c) {
        const std::vector<float>& x = xs[c];
        float peak = 0;
        for (float v : x)
            peak = std::fabs(v) > std::fabs(peak) ? v : peak;
        if (std::fabs(peak) < 1e-15f)
            continue; // the formats skip such groups before the search
        std::vector<float> w = weights(32, unsigned(c), c % 2 == 0);
        if (c % 3 == 0)
            for (int i = 0; i < 32; ++i)
                w[i] = x[i] * x[i];
        const float d0 = -peak / 127.f * (1.f + 0.01f * float(c % 5));
        const float best0 = c % 4 == 0 ? 0.f : std::fabs(d0) * 10.f;
        const float ref = ggmlRefineIq4Scale(SimdVariant::Scalar, x.data(), w.data(), peak, d0, best0);
        for (SimdVariant v : supportedSimdVariants())
            QVERIFY2(sameBits(ggmlRefineIq4Scale(v, x.data(), w.data(), peak, d0, best0), ref),
                     where(v, int(c)).constData());
    }
}

QTEST_GUILESS_MAIN(TestKernels)
#include "tst_kernels.moc"
