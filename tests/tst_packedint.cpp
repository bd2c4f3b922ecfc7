// Packed integer weights and their matrix products (kernels/PackedInt.h): packing round trips, the
// scalar twin against the dequantized weight in double within a named budget, every SIMD variant
// (and int8 dot product) against the scalar twin bit for bit, independence of the row split and of
// the token count, per-token int8 activations equal to fake quantization, and bad input.
#include "TestSupport.h"
#include "kernels/Convert.h"
#include "kernels/PackedInt.h"
#include "kernels/SimdVariant.h"

#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

using namespace qs;

namespace {

constexpr double kUnit = 1.0 / 16777216.0; // 2^-24, f32 rounding

/// Budgets, in units of 2^-24 times Σ_c s·(|q|+|z|)·|x_c| of the row (the size of the terms the
/// kernel adds, before the zero point cancels them): a group's FMA chain adds one rounding per
/// column (at most groupLength), the group sum and the two per-group FMAs three a group, the
/// reference's rounded weight (q − z)·s two, and a few spare.
double floatPathBudget(std::int64_t groupLength, std::int64_t groups)
{
    return double(groupLength + 3 * groups + 8);
}
/// The int8 path's sums are exact; only the per-group float steps and the last scaling round.
double int8PathBudget(std::int64_t groups)
{
    return double(3 * groups + 8);
}
/// Every variant performs the scalar twin's operations in its order: the same bits.
constexpr double kVariantBudget = 0;

/// A quantized layer as our quantizers hold it: codes one a byte, [rows, groups] parameters.
struct Layer
{
    int bits = 4;
    std::int64_t rows = 0, cols = 0, groupLength = 0; // 0 = per-tensor
    std::vector<std::uint8_t> codes;
    std::vector<float> scales, zeros;
    std::vector<std::int32_t> groupIndex;

    std::int64_t effectiveGroup() const { return groupLength == 0 ? cols : std::min(groupLength, cols); }
    std::int64_t groups() const { return (cols + effectiveGroup() - 1) / effectiveGroup(); }
    std::int64_t groupOf(std::int64_t c) const
    {
        return groupIndex.empty() ? c / effectiveGroup() : groupIndex[std::size_t(c)];
    }
    std::int64_t param(std::int64_t r, std::int64_t c) const
    {
        return groupLength == 0 ? 0 : r * groups() + groupOf(c);
    }
    PackedIntMatrix pack() const
    {
        return packIntMatrix(bits, rows, cols, groupLength, codes.data(), scales.data(), zeros.data(),
                             groupIndex.empty() ? nullptr : groupIndex.data());
    }
};

/// granularity: 0 per-tensor, -1 per-channel, else the group length.
Layer makeLayer(int bits, bool symmetric, int granularity, bool actOrder, bool floatZeros, bool f16Scales,
                std::int64_t rows, std::int64_t cols, unsigned seed)
{
    std::mt19937 g(seed);
    Layer l;
    l.bits = bits;
    l.rows = rows;
    l.cols = cols;
    l.groupLength = granularity == 0 ? 0 : granularity < 0 ? cols : granularity;
    const int qmax = (1 << bits) - 1;
    l.codes.resize(std::size_t(rows * cols));
    for (auto& q : l.codes)
        q = std::uint8_t(g() % unsigned(qmax + 1));
    const std::size_t nParams = granularity == 0 ? 1 : std::size_t(rows * l.groups());
    std::uniform_real_distribution<float> scale(1e-3f, 0.1f), fraction(0.0f, float(qmax));
    for (std::size_t i = 0; i < nParams; ++i) {
        float s = scale(g);
        if (f16Scales)
            s = ref::f16ToF32(ref::f32ToF16(s));
        l.scales.push_back(s);
        l.zeros.push_back(symmetric    ? float((qmax + 1) / 2)
                          : floatZeros ? fraction(g)
                                       : float(g() % unsigned(qmax + 1)));
    }
    if (actOrder && granularity != 0) {
        // GPTQ's dynamic groups: the i-th column in quantization order belongs to group i / G.
        std::vector<std::int32_t> perm(static_cast<std::size_t>(cols));
        std::iota(perm.begin(), perm.end(), 0);
        std::shuffle(perm.begin(), perm.end(), g);
        l.groupIndex.resize(std::size_t(cols));
        for (std::int64_t i = 0; i < cols; ++i)
            l.groupIndex[std::size_t(perm[std::size_t(i)])] = std::int32_t(i / l.effectiveGroup());
    }
    return l;
}

std::vector<float> inputs(std::int64_t n, std::int64_t cols, unsigned seed)
{
    std::mt19937 g(seed);
    std::normal_distribution<float> normal;
    std::vector<float> x(std::size_t(n * cols));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = i % 17 == 5 ? 0.0f : normal(g) * (i % 7 == 0 ? 8.0f : 1.0f);
    return x;
}

/// fakeQuantizeActivations (model/QuantizedLinear.cpp) with 8 bits, restated: the values int8
/// activations must reproduce.
void fakeQuantize8(float* x, std::int64_t n, std::int64_t cols, const char* skip)
{
    const float qmax = 127.0f;
    for (std::int64_t t = 0; t < n; ++t) {
        float* row = x + t * cols;
        float amax = 0;
        for (std::int64_t c = 0; c < cols; ++c)
            if (!skip || !skip[c])
                amax = std::max(amax, std::fabs(row[c]));
        if (amax == 0)
            continue;
        const float scale = amax / qmax, inv = 1.0f / scale;
        for (std::int64_t c = 0; c < cols; ++c)
            if (!skip || !skip[c])
                row[c] = std::nearbyint(row[c] * inv) * scale;
    }
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<SimdVariant> vectorVariants()
{
    std::vector<SimdVariant> out;
    for (SimdVariant v : supportedSimdVariants())
        if (v != SimdVariant::Scalar)
            out.push_back(v);
    return out;
}

/// The worst error of y against the double product, in units of the row's budget measure.
struct Deviation
{
    double worst = 0; ///< |y − ref| / (2^-24 · Σ s(|q|+|z|)|x|)
    QString where;
};
Deviation deviation(const Layer& l, const std::vector<float>& x, std::int64_t n, const std::vector<float>& y,
                    const std::vector<float>* xScale = nullptr)
{
    Deviation d;
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < l.rows; ++r) {
            double ref = 0, size = 0;
            for (std::int64_t c = 0; c < l.cols; ++c) {
                const std::int64_t p = l.param(r, c);
                const float s = l.scales[std::size_t(p)], z = l.zeros[std::size_t(p)];
                const float q = float(l.codes[std::size_t(r * l.cols + c)]);
                double xv = x[std::size_t(t * l.cols + c)];
                if (xScale)
                    xv *= double((*xScale)[std::size_t(t)]);
                ref += double((q - z) * s) * xv;
                size += double(s) * (double(q) + std::fabs(double(z))) * std::fabs(xv);
            }
            const double e =
                std::fabs(double(y[std::size_t(t * l.rows + r)]) - ref) / (kUnit * std::max(size, 1e-30));
            if (e > d.worst) {
                d.worst = e;
                d.where = QStringLiteral("row %1 token %2: %3 vs %4")
                              .arg(r)
                              .arg(t)
                              .arg(double(y[std::size_t(t * l.rows + r)]))
                              .arg(ref);
            }
        }
    return d;
}

QByteArray where(SimdVariant v, const char* what)
{
    return QByteArray(simdVariantName(v)) + ": " + what;
}

} // namespace

class TestPackedInt : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void layerCases_data();
    void layerCases();
    void oddGroupsAndZeros_data();
    void oddGroupsAndZeros();
    void decodeShapes_data();
    void decodeShapes();
    void bytesAreBitsPerWeight();
    void packedInRowRanges();
    void int8ActivationsMatchFakeQuantization();
    void outlierColumnsAreSkipped();
    void badInput();
};

void TestPackedInt::layerCases_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<bool>("symmetric");
    QTest::addColumn<int>("granularity");
    QTest::addColumn<bool>("actOrder");
    QTest::addColumn<bool>("floatZeros");
    const int granularities[] = {0, -1, 32, 64, 128};
    for (int bits = 2; bits <= 8; ++bits)
        for (bool symmetric : {true, false})
            for (int gran : granularities)
                for (bool act : {false, true})
                    for (bool fz : {false, true}) {
                        if ((act && gran == 0) || (fz && symmetric))
                            continue;
                        const QString gName = gran == 0  ? QStringLiteral("tensor")
                                              : gran < 0 ? QStringLiteral("channel")
                                                         : QStringLiteral("g%1").arg(gran);
                        QTest::addRow("int%d %s %s%s%s", bits, symmetric ? "sym" : "asym", qPrintable(gName),
                                      act ? " act" : "", fz ? " fzero" : "")
                            << bits << symmetric << gran << act << fz;
                    }
}

void TestPackedInt::layerCases()
{
    QFETCH(int, bits);
    QFETCH(bool, symmetric);
    QFETCH(int, granularity);
    QFETCH(bool, actOrder);
    QFETCH(bool, floatZeros);
    // Odd shapes: the tiny model's 172 and 64 columns, rows that are not a tile, 300 columns whose
    // last group is partial.
    const std::pair<std::int64_t, std::int64_t> shapes[] = {{7, 172}, {37, 64}, {33, 300}};
    unsigned seed = unsigned(bits * 1000 + granularity * 10 + int(actOrder) * 3 + int(floatZeros));
    for (const auto& [rows, cols] : shapes) {
        const Layer l =
            makeLayer(bits, symmetric, granularity, actOrder, floatZeros, bits % 2 == 0, rows, cols, ++seed);
        const PackedIntMatrix m = l.pack();
        // (a) the codes and parameters come back.
        QVERIFY(unpackIntCodes(m) == l.codes);
        const std::vector<float> scales = unpackIntScales(m), zeros = unpackIntZeros(m);
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) {
                const std::int64_t packed = r * m.groups() + l.groupOf(c); // per-tensor: one per row
                QCOMPARE(scales[std::size_t(packed)], l.scales[std::size_t(l.param(r, c))]);
                QCOMPARE(zeros[std::size_t(packed)], l.zeros[std::size_t(l.param(r, c))]);
            }

        // (b) the scalar twin against the dequantized weight in double.
        const std::int64_t n = 31; // token pieces of 16, 8, 4, 2, 1
        const std::vector<float> x = inputs(n, cols, seed * 7);
        std::vector<float> y(std::size_t(n * rows), -1.0f);
        packedIntMatMul(SimdVariant::Scalar, m, 0, rows, x.data(), n, y.data(), rows);
        const Deviation df = deviation(l, x, n, y);
        QVERIFY2(df.worst <= floatPathBudget(m.groupLength, m.groups()), qPrintable(df.where));

        Int8Activations xa;
        quantizeActivationsInt8(x.data(), n, cols, nullptr, xa);
        std::vector<float> xq(xa.q.begin(), xa.q.end());
        std::vector<float> y8(std::size_t(n * rows), -1.0f);
        packedIntMatMulInt8(SimdVariant::Scalar, m, 0, rows, xa, y8.data(), rows);
        const Deviation d8 = deviation(l, xq, n, y8, &xa.scale);
        QVERIFY2(d8.worst <= int8PathBudget(m.groups()), qPrintable(d8.where));

        // (c) every variant, and each int8 dot product it has, gives the twin's bits.
        for (SimdVariant v : vectorVariants()) {
            std::vector<float> yv(y.size(), -2.0f);
            packedIntMatMul(v, m, 0, rows, x.data(), n, yv.data(), rows);
            QVERIFY2(kVariantBudget == 0 && sameBits(yv, y), where(v, "f32 inputs").constData());
            for (Int8Dot dot : {Int8Dot::Auto, Int8Dot::Maddubs, Int8Dot::Vnni}) {
                if (!int8DotSupported(v, dot))
                    continue;
                std::fill(yv.begin(), yv.end(), -2.0f);
                packedIntMatMulInt8(v, dot, m, 0, rows, xa, yv.data(), rows);
                QVERIFY2(sameBits(yv, y8), where(v, dot == Int8Dot::Vnni ? "int8 vnni" : "int8").constData());
            }
        }

        // (d) the same bits for any split of rows and tokens, in every variant.
        for (SimdVariant v : supportedSimdVariants()) {
            std::vector<float> ys(y.size(), -3.0f), y8s(y.size(), -3.0f);
            const std::int64_t cuts[] = {0, 3, std::min<std::int64_t>(17, rows), rows};
            for (int i = 0; i + 1 < 4; ++i)
                for (std::int64_t t0 = 0; t0 < n; t0 += 5) {
                    const std::int64_t nt = std::min<std::int64_t>(5, n - t0);
                    packedIntMatMul(v, m, cuts[i], cuts[i + 1], x.data() + t0 * cols, nt,
                                    ys.data() + t0 * rows, rows);
                    Int8Activations part;
                    quantizeActivationsInt8(x.data() + t0 * cols, nt, cols, nullptr, part);
                    packedIntMatMulInt8(v, m, cuts[i], cuts[i + 1], part, y8s.data() + t0 * rows, rows);
                }
            QVERIFY2(sameBits(ys, y), where(v, "split f32").constData());
            QVERIFY2(sameBits(y8s, y8), where(v, "split int8").constData());
            // Inputs prepared once, then one call per range of rows (as threads would share them).
            const PackedIntInput in = preparePackedIntInput(v, m, x.data(), n),
                                 in8 = preparePackedIntInput(v, m, xa);
            std::fill(ys.begin(), ys.end(), -4.0f);
            std::fill(y8s.begin(), y8s.end(), -4.0f);
            for (int i = 0; i + 1 < 4; ++i) {
                packedIntMatMul(m, cuts[i], cuts[i + 1], in, ys.data(), rows);
                packedIntMatMul(m, cuts[i], cuts[i + 1], in8, y8s.data(), rows);
            }
            QVERIFY2(sameBits(ys, y), where(v, "prepared f32").constData());
            QVERIFY2(sameBits(y8s, y8), where(v, "prepared int8").constData());
        }
    }
}

void TestPackedInt::decodeShapes_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<bool>("floatZeros");
    for (int bits : {2, 3, 4, 8})
        for (bool fz : {false, true})
            QTest::addRow("int%d asym g128%s", bits, fz ? " fzero" : "") << bits << fz;
}

/// Decode (one token) on a layer with enough rows for the kernels' multi-row passes (avx512 takes
/// 64 rows a pass, and 4-bit codes through a table lookup), rows that end inside a pass and inside
/// a tile: every variant gives the scalar twin's bits, for any split of rows.
void TestPackedInt::decodeShapes()
{
    QFETCH(int, bits);
    QFETCH(bool, floatZeros);
    const std::int64_t rows = 200, cols = 1024;
    const Layer l =
        makeLayer(bits, false, 128, false, floatZeros, true, rows, cols, unsigned(bits * 17 + floatZeros));
    const PackedIntMatrix m = l.pack();
    const std::vector<float> x = inputs(1, cols, unsigned(bits));
    std::vector<float> y(std::size_t(rows), -1.0f);
    packedIntMatMul(SimdVariant::Scalar, m, 0, rows, x.data(), 1, y.data(), rows);
    const Deviation df = deviation(l, x, 1, y);
    QVERIFY2(df.worst <= floatPathBudget(m.groupLength, m.groups()), qPrintable(df.where));
    for (SimdVariant v : supportedSimdVariants()) {
        std::vector<float> yv(y.size(), -2.0f);
        packedIntMatMul(v, m, 0, rows, x.data(), 1, yv.data(), rows);
        QVERIFY2(sameBits(yv, y), where(v, "decode").constData());
        std::fill(yv.begin(), yv.end(), -3.0f);
        const std::int64_t cuts[] = {0, 16, 80, 131, rows};
        for (int i = 0; i + 1 < 5; ++i)
            packedIntMatMul(v, m, cuts[i], cuts[i + 1], x.data(), 1, yv.data(), rows);
        QVERIFY2(sameBits(yv, y), where(v, "decode split").constData());
    }
}

void TestPackedInt::oddGroupsAndZeros_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("groupLength");
    QTest::addColumn<float>("zeroShift"); // zero points moved off the code range
    QTest::newRow("int3 g20") << 3 << 19 << 100 << 20 << 0.0f;
    QTest::newRow("int4 g48 act") << 4 << 17 << 150 << 48 << 0.0f;
    QTest::newRow("int8 g100") << 8 << 5 << 333 << 100 << 0.0f;
    QTest::newRow("int2 g1") << 2 << 3 << 9 << 1 << 0.0f;
    QTest::newRow("int5 1x1") << 5 << 1 << 1 << 0 << 0.0f;
    QTest::newRow("int4 zeros below 0") << 4 << 20 << 96 << 32 << -21.3f;
    QTest::newRow("int6 zeros above qmax") << 6 << 20 << 96 << 32 << 77.7f;
    QTest::newRow("int8 zeros above qmax") << 8 << 20 << 96 << 32 << 300.5f;
}

void TestPackedInt::oddGroupsAndZeros()
{
    QFETCH(int, bits);
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, groupLength);
    QFETCH(float, zeroShift);
    const bool act = QByteArray(QTest::currentDataTag()).contains("act");
    Layer l = makeLayer(bits, false, groupLength == 0 ? -1 : groupLength, act, true, false, rows, cols, 77);
    for (float& z : l.zeros)
        z += zeroShift;
    const PackedIntMatrix m = l.pack();
    QVERIFY(unpackIntCodes(m) == l.codes);
    const std::int64_t n = 6;
    const std::vector<float> x = inputs(n, cols, 78);
    std::vector<float> y(std::size_t(n * rows)), y8(y.size()), yv(y.size());
    packedIntMatMul(SimdVariant::Scalar, m, 0, rows, x.data(), n, y.data(), rows);
    const Deviation df = deviation(l, x, n, y);
    QVERIFY2(df.worst <= floatPathBudget(m.groupLength, m.groups()), qPrintable(df.where));
    Int8Activations xa;
    quantizeActivationsInt8(x.data(), n, cols, nullptr, xa);
    packedIntMatMulInt8(SimdVariant::Scalar, m, 0, rows, xa, y8.data(), rows);
    const std::vector<float> xq(xa.q.begin(), xa.q.end());
    const Deviation d8 = deviation(l, xq, n, y8, &xa.scale);
    QVERIFY2(d8.worst <= int8PathBudget(m.groups()), qPrintable(d8.where));
    for (SimdVariant v : vectorVariants()) {
        packedIntMatMul(v, m, 0, rows, x.data(), n, yv.data(), rows);
        QVERIFY2(sameBits(yv, y), where(v, "f32 inputs").constData());
        for (Int8Dot dot : {Int8Dot::Maddubs, Int8Dot::Vnni}) {
            if (!int8DotSupported(v, dot))
                continue;
            packedIntMatMulInt8(v, dot, m, 0, rows, xa, yv.data(), rows);
            QVERIFY2(sameBits(yv, y8), where(v, "int8").constData());
        }
    }
}

// packIntLayout, then packIntCodeRows over row ranges in any order (as threads take them): the bytes of
// packIntMatrix, for every width, act-order and per-tensor parameters; a code too wide names its place.
void TestPackedInt::packedInRowRanges()
{
    struct Case
    {
        int bits, granularity;
        bool actOrder;
    };
    for (const Case& k : {Case{2, 32, false}, Case{3, 64, true}, Case{4, 128, false}, Case{5, -1, false},
                          Case{6, 48, true}, Case{7, 0, false}, Case{8, 32, false}}) {
        const std::int64_t rows = 37, cols = 200;
        const Layer l = makeLayer(k.bits, false, k.granularity, k.actOrder, true, false, rows, cols, 90);
        const PackedIntMatrix whole = l.pack();
        PackedIntMatrix m = packIntLayout(l.bits, rows, cols, l.groupLength, l.scales.data(), l.zeros.data(),
                                          l.groupIndex.empty() ? nullptr : l.groupIndex.data());
        for (const auto& [r0, r1] :
             std::vector<std::pair<std::int64_t, std::int64_t>>{{17, 37}, {0, 5}, {5, 17}})
            packIntCodeRows(m, r0, r1, l.codes.data() + r0 * cols);
        const QByteArray tag =
            QByteArray::number(k.bits) + " bits, granularity " + QByteArray::number(k.granularity);
        QVERIFY2(m.codes == whole.codes && m.scales == whole.scales && m.zeros == whole.zeros &&
                     m.columnOrder == whole.columnOrder && m.groupLength == whole.groupLength,
                 tag.constData());
        QVERIFY2(unpackIntCodes(m) == l.codes, tag.constData());
    }
    const Layer l = makeLayer(4, false, 32, false, true, false, 3, 64, 91);
    PackedIntMatrix m = packIntLayout(4, 3, 64, 32, l.scales.data(), l.zeros.data(), nullptr);
    std::vector<std::uint8_t> bad = l.codes;
    bad[std::size_t(2 * 64 + 9)] = 16;
    QS_VERIFY_ERROR(test::errorOf([&] { packIntCodeRows(m, 0, 3, bad.data()); }),
                    {QStringLiteral("code 16"), QStringLiteral("[2, 9]"), QStringLiteral("4 bits")});
    QS_VERIFY_ERROR(test::errorOf([&] { packIntCodeRows(m, 2, 4, l.codes.data()); }),
                    {QStringLiteral("packIntCodeRows"), QStringLiteral("outside")});
}

void TestPackedInt::bytesAreBitsPerWeight()
{
    // 4 bits a weight, f32 scale and zero per group of 128; no padding for 32 rows × 4096 columns.
    const Layer l = makeLayer(4, false, 128, true, false, false, 32, 4096, 5);
    const PackedIntMatrix m = l.pack();
    QCOMPARE(m.codes.size(), std::size_t(32 * 4096 / 2));
    QCOMPARE(m.bytes(), std::uint64_t(32 * 4096 / 2 + 32 * 32 * 8 + 4096 * 4));
    // 3 bits: exactly 3/8 byte a weight. Padding only at the tails (7 rows → 16, 172 → 192).
    QCOMPARE(makeLayer(3, true, -1, false, false, false, 32, 256, 6).pack().codes.size(),
             std::size_t(32 * 256 * 3 / 8));
    QCOMPARE(makeLayer(5, true, -1, false, false, false, 7, 172, 6).pack().codes.size(),
             std::size_t(16 * 192 * 5 / 8));
    // A trivial g_idx keeps the identity order.
    Layer trivial = makeLayer(4, true, 64, false, false, false, 16, 256, 7);
    trivial.groupIndex.resize(256);
    for (int c = 0; c < 256; ++c)
        trivial.groupIndex[std::size_t(c)] = c / 64;
    QVERIFY(trivial.pack().columnOrder.empty());
}

void TestPackedInt::int8ActivationsMatchFakeQuantization()
{
    const std::int64_t n = 9, cols = 172;
    std::vector<float> x = inputs(n, cols, 11);
    std::fill(x.begin() + 3 * cols, x.begin() + 4 * cols, 0.0f); // an all-zero token
    x[5 * cols + 7] = 1e-30f;                                    // tiny next to normal values
    std::vector<char> skip(std::size_t(cols), 0);
    skip[3] = skip[100] = 1;
    for (const char* s : {static_cast<const char*>(nullptr), static_cast<const char*>(skip.data())}) {
        std::vector<float> fake = x;
        fakeQuantize8(fake.data(), n, cols, s);
        Int8Activations a;
        quantizeActivationsInt8(x.data(), n, cols, s, a);
        QCOMPARE(a.n, n);
        QCOMPARE(a.cols, cols);
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t c = 0; c < cols; ++c) {
                const std::size_t i = std::size_t(t * cols + c);
                if (s && s[c]) {
                    QCOMPARE(int(a.q[i]), 0);
                    continue;
                }
                const float value =
                    a.scale[std::size_t(t)] == 0 ? x[i] : float(a.q[i]) * a.scale[std::size_t(t)];
                QVERIFY2(value == fake[i], qPrintable(QStringLiteral("token %1 column %2").arg(t).arg(c)));
            }
    }
    // A NaN gives 0 (fake quantization keeps it; int8 cannot).
    std::vector<float> bad(4, 1.0f);
    bad[2] = std::nanf("");
    Int8Activations a;
    quantizeActivationsInt8(bad.data(), 1, 4, nullptr, a);
    QCOMPARE(int(a.q[2]), 0);
    QCOMPARE(int(a.q[0]), 127);
}

void TestPackedInt::outlierColumnsAreSkipped()
{
    // LLM.int8: outlier columns are left out of the int8 product (the layer adds them in 16-bit).
    const Layer l = makeLayer(8, true, -1, false, false, true, 21, 96, 21);
    const PackedIntMatrix m = l.pack();
    std::vector<float> x = inputs(3, 96, 22);
    std::vector<char> skip(96, 0);
    skip[10] = skip[50] = 1;
    x[10] = 1e4f; // an outlier that would swamp amax
    Int8Activations a, b;
    quantizeActivationsInt8(x.data(), 3, 96, skip.data(), a);
    std::vector<float> zeroed = x;
    for (std::int64_t t = 0; t < 3; ++t)
        zeroed[std::size_t(t * 96 + 10)] = zeroed[std::size_t(t * 96 + 50)] = 0;
    quantizeActivationsInt8(zeroed.data(), 3, 96, nullptr, b);
    std::vector<float> ya(3 * 21), yb(3 * 21);
    packedIntMatMulInt8(m, 0, 21, a, ya.data(), 21);
    packedIntMatMulInt8(m, 0, 21, b, yb.data(), 21);
    QVERIFY(sameBits(ya, yb));
}

void TestPackedInt::badInput()
{
    const Layer l = makeLayer(4, false, 32, false, false, false, 5, 64, 31);
    const PackedIntMatrix m = l.pack();
    auto pack = [&](int bits, std::int64_t rows, std::int64_t cols, std::int64_t g, const std::uint8_t* codes,
                    const float* scales, const float* zeros, const std::int32_t* gi) {
        return [=] { packIntMatrix(bits, rows, cols, g, codes, scales, zeros, gi); };
    };
    const auto* c = l.codes.data();
    const auto* s = l.scales.data();
    const auto* z = l.zeros.data();
    QCOMPARE(
        test::checkMessage(test::errorOf(pack(1, 5, 64, 32, c, s, z, nullptr)), {QStringLiteral("1 bits")}),
        QString());
    QCOMPARE(
        test::checkMessage(test::errorOf(pack(9, 5, 64, 32, c, s, z, nullptr)), {QStringLiteral("9 bits")}),
        QString());
    QVERIFY(!test::errorOf(pack(4, 0, 64, 32, c, s, z, nullptr)).isEmpty());
    QVERIFY(!test::errorOf(pack(4, 5, -1, 32, c, s, z, nullptr)).isEmpty());
    QVERIFY(!test::errorOf(pack(4, 5, 64, -1, c, s, z, nullptr)).isEmpty());
    QVERIFY(!test::errorOf(pack(4, 5, 64, 32, nullptr, s, z, nullptr)).isEmpty());
    // A code out of range names where it is.
    std::vector<std::uint8_t> wide = l.codes;
    wide[std::size_t(2 * 64 + 9)] = 16;
    QCOMPARE(test::checkMessage(test::errorOf(pack(4, 5, 64, 32, wide.data(), s, z, nullptr)),
                                {QStringLiteral("code 16"), QStringLiteral("[2, 9]")}),
             QString());
    std::vector<float> nanScale = l.scales;
    nanScale[3] = std::nanf("");
    QVERIFY(!test::errorOf(pack(4, 5, 64, 32, c, nanScale.data(), z, nullptr)).isEmpty());
    // g_idx out of range, and with unequal groups.
    std::vector<std::int32_t> gi(64, 0);
    for (int i = 32; i < 64; ++i)
        gi[std::size_t(i)] = 1;
    gi[0] = 2;
    QCOMPARE(test::checkMessage(test::errorOf(pack(4, 5, 64, 32, c, s, z, gi.data())),
                                {QStringLiteral("g_idx[0]")}),
             QString());
    gi[0] = 1;
    QCOMPARE(test::checkMessage(test::errorOf(pack(4, 5, 64, 32, c, s, z, gi.data())),
                                {QStringLiteral("equal-sized")}),
             QString());

    // Products: bad ranges, strides, shapes; a matrix whose arrays were altered.
    std::vector<float> x(3 * 64, 1.0f), y(3 * 5);
    QVERIFY(!test::errorOf([&] { packedIntMatMul(m, 3, 2, x.data(), 1, y.data(), 5); }).isEmpty());
    QVERIFY(!test::errorOf([&] { packedIntMatMul(m, 0, 6, x.data(), 1, y.data(), 5); }).isEmpty());
    QVERIFY(!test::errorOf([&] { packedIntMatMul(m, 0, 5, x.data(), -1, y.data(), 5); }).isEmpty());
    QVERIFY(!test::errorOf([&] { packedIntMatMul(m, 0, 5, x.data(), 3, y.data(), 4); }).isEmpty());
    QVERIFY(!test::errorOf([&] { packedIntMatMul(m, 0, 5, nullptr, 3, y.data(), 5); }).isEmpty());
    PackedIntMatrix broken = m;
    broken.codes.pop_back();
    QVERIFY(!test::errorOf([&] { packedIntMatMul(broken, 0, 5, x.data(), 1, y.data(), 5); }).isEmpty());
    QVERIFY(!test::errorOf([&] { unpackIntCodes(broken); }).isEmpty());
    broken = m;
    broken.columnOrder.assign(64, 99);
    QVERIFY(!test::errorOf([&] { packedIntMatMul(broken, 0, 5, x.data(), 1, y.data(), 5); }).isEmpty());

    Int8Activations a;
    quantizeActivationsInt8(x.data(), 3, 63, nullptr, a); // one column short
    QVERIFY(!test::errorOf([&] { packedIntMatMulInt8(m, 0, 5, a, y.data(), 5); }).isEmpty());
    QVERIFY(!test::errorOf([&] { quantizeActivationsInt8(x.data(), -1, 64, nullptr, a); }).isEmpty());
    quantizeActivationsInt8(x.data(), 3, 64, nullptr, a);
    QVERIFY(!test::errorOf([&] {
                 packedIntMatMulInt8(SimdVariant::Vec128, Int8Dot::Vnni, m, 0, 5, a, y.data(), 5);
             }).isEmpty());
    // Per-channel groups beyond the int32 sums of the int8 path.
    const std::int64_t big = 70000;
    std::vector<std::uint8_t> bigCodes(big, 1);
    const float one = 1.0f;
    const PackedIntMatrix bigM = packIntMatrix(2, 1, big, big, bigCodes.data(), &one, nullptr, nullptr);
    std::vector<float> bigX(big, 1.0f);
    Int8Activations bigA;
    quantizeActivationsInt8(bigX.data(), 1, big, nullptr, bigA);
    float bigY = 0;
    QCOMPARE(test::checkMessage(test::errorOf([&] { packedIntMatMulInt8(bigM, 0, 1, bigA, &bigY, 1); }),
                                {QStringLiteral("70000 columns")}),
             QString());
    packedIntMatMul(bigM, 0, 1, bigX.data(), 1, &bigY, 1); // the f32 path has no such limit
    QCOMPARE(bigY, float(big));
    // Inputs prepared for another shape or column order.
    const PackedIntInput in = preparePackedIntInput(SimdVariant::Scalar, m, x.data(), 3);
    const Layer other = makeLayer(4, false, 64, false, false, false, 5, 64, 32);
    QCOMPARE(test::checkMessage(test::errorOf([&] { packedIntMatMul(other.pack(), 0, 5, in, y.data(), 5); }),
                                {QStringLiteral("prepared for another")}),
             QString());
    const Layer act = makeLayer(4, false, 32, true, false, false, 5, 64, 33);
    QVERIFY(!test::errorOf([&] { packedIntMatMul(act.pack(), 0, 5, in, y.data(), 5); }).isEmpty());
    QVERIFY(test::errorOf([&] { packedIntMatMul(m, 0, 5, in, y.data(), 5); }).isEmpty());
    // Nothing to do is fine.
    QVERIFY(test::errorOf([&] { packedIntMatMul(m, 2, 2, x.data(), 3, y.data(), 5); }).isEmpty());
    QVERIFY(test::errorOf([&] { packedIntMatMul(m, 0, 5, x.data(), 0, y.data(), 5); }).isEmpty());
}

QTEST_GUILESS_MAIN(TestPackedInt)
#include "tst_packedint.moc"
