// floatMatMul (kernels/FloatMatMul.h): every variant against the scalar twin and a double reference within
// kFloatMatMulBudget, for f32, f16 and bf16 weights used where they lie (unaligned included); results that do
// not depend on the row split, on n or on the other tokens (bit for bit); bad dtypes and sizes refused. The
// BF16-input kernel (vdpbf16ps) against its scalar twin, bit for bit, and the same independence.
#include "TestSupport.h"
#include "kernels/Convert.h"
#include "kernels/FloatMatMul.h"
#include "kernels/SimdVariant.h"

#include <QTest>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace qs;

namespace {

constexpr DType kWeightTypes[] = {DType::F32, DType::F16, DType::BF16};

/// A random [rows, cols] weight in `dtype` (stored from byte `offset` of the buffer, to test unaligned
/// rows), and its values as floats.
struct Weight
{
    DType dtype;
    std::int64_t rows, cols;
    std::vector<char> bytes;
    std::size_t offset = 0;
    std::vector<float> values;

    const void* data() const { return bytes.data() + offset; }
};

Weight makeWeight(DType dtype, std::int64_t rows, std::int64_t cols, unsigned seed, std::size_t offset = 0)
{
    std::mt19937 g(seed);
    std::normal_distribution<float> normal(0.f, 0.05f);
    Weight w{dtype, rows, cols, {}, offset, {}};
    const std::size_t count = std::size_t(rows * cols), eb = std::size_t(dtypeInfo(dtype).bytes);
    w.bytes.assign(offset + count * eb, 0);
    w.values.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
        const float v = i % 37 == 5 ? 0.f : normal(g);
        char* dst = w.bytes.data() + offset + i * eb;
        if (dtype == DType::F32) {
            std::memcpy(dst, &v, 4);
            w.values[i] = v;
        } else {
            const std::uint16_t h = dtype == DType::F16 ? ref::f32ToF16(v) : ref::f32ToBf16(v);
            std::memcpy(dst, &h, 2);
            w.values[i] = dtype == DType::F16 ? ref::f16ToF32(h) : ref::bf16ToF32(h);
        }
    }
    return w;
}

std::vector<float> makeInput(std::int64_t n, std::int64_t cols, unsigned seed)
{
    std::mt19937 g(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> x(std::size_t(n * cols));
    for (float& v : x)
        v = normal(g);
    return x;
}

/// y [n, rows] (ldy = rows) for the whole weight, with variant v.
std::vector<float> multiply(SimdVariant v, const Weight& w, const std::vector<float>& x, std::int64_t n)
{
    std::vector<float> y(std::size_t(n * w.rows), NAN);
    floatMatMul(v, w.dtype, w.data(), w.cols, 0, w.rows, x.data(), n, y.data(), w.rows);
    return y;
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

QByteArray name(SimdVariant v, DType d)
{
    return QByteArray(simdVariantName(v)) + " " + dtypeInfo(d).name;
}

} // namespace

class TestFloatMatMul : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void matchesReference_data();
    void matchesReference();
    void independentOfSplit_data();
    void independentOfSplit();
    void independentOfTokens_data();
    void independentOfTokens();
    void unalignedWeights();
    void outputStride();
    void refusesBadArguments();
    void defaultVariant();
    void bf16InputsMatchTwin_data();
    void bf16InputsMatchTwin();
    void bf16InputsIndependentOfSplitAndTokens();
    void tilesMatchTwin_data();
    void tilesMatchTwin();
    void tilesIndependentOfSplitAndTokens();
    void tileInputPlanesSumExactly();
    void tilesRefuseBadArguments();
};

void TestFloatMatMul::matchesReference_data()
{
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("n");
    // The last three go past one column chunk (2048 f16/bf16 columns, 1024 f32) and one token block (96).
    const int shapes[][3] = {{7, 172, 1},    {7, 172, 3},   {7, 172, 65},   {7, 64, 1},     {7, 64, 3},
                             {7, 64, 65},    {9, 1, 4},     {5, 3, 2},      {70, 600, 9},   {3, 513, 1},
                             {130, 300, 50}, {66, 40, 250}, {20, 2100, 13}, {9, 4500, 100}, {17, 1030, 7}};
    for (const auto& s : shapes)
        QTest::addRow("rows %d cols %d n %d", s[0], s[1], s[2]) << s[0] << s[1] << s[2];
}

// Each variant within the named budget of the scalar twin, and both within half of it of a double reference.
void TestFloatMatMul::matchesReference()
{
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, n);
    const std::vector<float> x = makeInput(n, cols, 11u + unsigned(cols));
    for (DType d : kWeightTypes) {
        const Weight w = makeWeight(d, rows, cols, 7u + unsigned(rows));
        const std::vector<float> scalar = multiply(SimdVariant::Scalar, w, x, n);
        for (SimdVariant v : supportedSimdVariants()) {
            const std::vector<float> y = multiply(v, w, x, n);
            for (int t = 0; t < n; ++t) {
                for (int r = 0; r < rows; ++r) {
                    double exact = 0, magnitude = 0;
                    for (int c = 0; c < cols; ++c) {
                        const double p =
                            double(w.values[std::size_t(r * cols + c)]) * x[std::size_t(t * cols + c)];
                        exact += p;
                        magnitude += std::fabs(p);
                    }
                    const double budget = kFloatMatMulBudget * (cols + 1) * magnitude;
                    const float got = y[std::size_t(t * rows + r)], want = scalar[std::size_t(t * rows + r)];
                    const QByteArray where = name(v, d) + " token " + QByteArray::number(t) + " row " +
                                             QByteArray::number(r) + ": " + QByteArray::number(got, 'g', 9) +
                                             " vs scalar " + QByteArray::number(want, 'g', 9) + " vs exact " +
                                             QByteArray::number(exact, 'g', 12);
                    QVERIFY2(std::fabs(double(got) - double(want)) <= budget, where.constData());
                    QVERIFY2(std::fabs(double(got) - exact) <= budget / 2, where.constData());
                    QVERIFY2(std::fabs(double(want) - exact) <= budget / 2, where.constData());
                }
            }
        }
    }
}

void TestFloatMatMul::independentOfSplit_data()
{
    QTest::addColumn<int>("n");
    for (int n : {1, 2, 5, 65})
        QTest::addRow("n %d", n) << n;
}

// Rows computed in pieces (cut at kFloatMatMulRowTile multiples, and anywhere) give the same bytes as in one
// call.
void TestFloatMatMul::independentOfSplit()
{
    QFETCH(int, n);
    const std::int64_t rows = 200, cols = 300;
    const std::vector<float> x = makeInput(n, cols, 3);
    for (DType d : kWeightTypes) {
        const Weight w = makeWeight(d, rows, cols, 5);
        for (SimdVariant v : supportedSimdVariants()) {
            const std::vector<float> whole = multiply(v, w, x, n);
            for (const std::vector<std::int64_t>& cuts :
                 {std::vector<std::int64_t>{0, 64, 128, 192, 200}, std::vector<std::int64_t>{0, 128, 200},
                  std::vector<std::int64_t>{0, 37, 38, 101, 200}}) {
                std::vector<float> y(whole.size(), NAN);
                for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
                    floatMatMul(v, d, w.data(), cols, cuts[i], cuts[i + 1], x.data(), n, y.data(), rows);
                QVERIFY2(sameBits(y, whole), name(v, d).constData());
            }
        }
    }
}

void TestFloatMatMul::independentOfTokens_data()
{
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("n");
    for (int cols : {64, 172, 600})
        QTest::addRow("cols %d n 65", cols) << cols << 65;
    QTest::addRow("cols 40 n 250 (three token blocks)") << 40 << 250;
    QTest::addRow("cols 2100 n 100 (two column chunks, two token blocks)") << 2100 << 100;
}

// A token's outputs are the same bytes whether it goes alone (n = 1, the GEMV), in a small batch or in a
// large one, wherever it sits in the batch.
void TestFloatMatMul::independentOfTokens()
{
    QFETCH(int, cols);
    QFETCH(int, n);
    const std::int64_t rows = 70;
    const std::vector<float> x = makeInput(n, cols, 9);
    for (DType d : kWeightTypes) {
        const Weight w = makeWeight(d, rows, cols, 13);
        for (SimdVariant v : supportedSimdVariants()) {
            const std::vector<float> all = multiply(v, w, x, n);
            for (std::int64_t first : {0, 1, 31, 60, 238}) {
                for (std::int64_t count : {1, 2, 3, 5, 7}) {
                    if (first + count > n)
                        continue;
                    const std::vector<float> part(x.begin() + first * cols,
                                                  x.begin() + (first + count) * cols);
                    const std::vector<float> y = multiply(v, w, part, count);
                    const std::vector<float> want(all.begin() + first * rows,
                                                  all.begin() + (first + count) * rows);
                    const QByteArray where = name(v, d) + " tokens from " + QByteArray::number(first) +
                                             " count " + QByteArray::number(count);
                    QVERIFY2(sameBits(y, want), where.constData());
                }
            }
        }
    }
}

// Weights at odd addresses (a memory map gives no alignment) give the same bytes as aligned ones.
void TestFloatMatMul::unalignedWeights()
{
    const std::int64_t rows = 9, cols = 172;
    for (int n : {1, 3, 20}) {
        const std::vector<float> x = makeInput(n, cols, 21);
        for (DType d : kWeightTypes) {
            const Weight aligned = makeWeight(d, rows, cols, 17);
            for (std::size_t offset : {1, 2, 3, 6}) {
                const Weight odd = makeWeight(d, rows, cols, 17, offset);
                for (SimdVariant v : supportedSimdVariants())
                    QVERIFY2(sameBits(multiply(v, odd, x, n), multiply(v, aligned, x, n)),
                             name(v, d).constData());
            }
        }
    }
}

// y rows ldy apart: only [r0, r1) of each token's row is written.
void TestFloatMatMul::outputStride()
{
    const std::int64_t rows = 20, cols = 40, n = 9, ldy = 33;
    const std::vector<float> x = makeInput(n, cols, 1);
    const Weight w = makeWeight(DType::BF16, rows, cols, 2);
    for (SimdVariant v : supportedSimdVariants()) {
        const std::vector<float> dense = multiply(v, w, x, n);
        std::vector<float> y(std::size_t(n * ldy), -7.f);
        floatMatMul(v, DType::BF16, w.data(), cols, 4, 17, x.data(), n, y.data(), ldy);
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t i = 0; i < ldy; ++i) {
                const float got = y[std::size_t(t * ldy + i)];
                if (i >= 4 && i < 17)
                    QCOMPARE(got, dense[std::size_t(t * rows + i)]);
                else
                    QCOMPARE(got, -7.f);
            }
    }
}

void TestFloatMatMul::refusesBadArguments()
{
    const std::vector<float> w(64, 1.f), x(16, 1.f);
    std::vector<float> y(64);
    for (DType d : {DType::F64, DType::I8, DType::I32, DType::Bool})
        QS_VERIFY_ERROR(test::errorOf([&] { floatMatMul(d, w.data(), 4, 0, 4, x.data(), 1, y.data(), 4); }),
                        {QStringLiteral("floatMatMul"), dtypeName(d)});
    QS_VERIFY_ERROR(
        test::errorOf([&] { floatMatMul(DType::F32, w.data(), -4, 0, 4, x.data(), 1, y.data(), 4); }),
        {QStringLiteral("bad sizes")});
    QS_VERIFY_ERROR(
        test::errorOf([&] { floatMatMul(DType::F32, w.data(), 4, 3, 2, x.data(), 1, y.data(), 4); }),
        {QStringLiteral("bad sizes")});
    QS_VERIFY_ERROR(
        test::errorOf([&] { floatMatMul(DType::F32, w.data(), 4, 0, 4, x.data(), 2, y.data(), 3); }),
        {QStringLiteral("stride")});
    QS_VERIFY_ERROR(
        test::errorOf([&] { floatMatMul(DType::F32, nullptr, 4, 0, 4, x.data(), 1, y.data(), 4); }),
        {QStringLiteral("null")});
    // Nothing to do is not an error; empty sums are zero.
    QVERIFY(
        test::errorOf([&] { floatMatMul(DType::F32, nullptr, 4, 2, 2, nullptr, 1, nullptr, 0); }).isEmpty());
    y.assign(8, 5.f);
    floatMatMul(DType::F16, w.data(), 0, 0, 4, x.data(), 2, y.data(), 4);
    for (float v : y)
        QCOMPARE(v, 0.f);
}

void TestFloatMatMul::defaultVariant()
{
    const SimdVariant v = floatMatMulVariant();
    QVERIFY(simdVariantSupported(v));
    if (qgetenv("QUANTSCOPE_KERNELS").isEmpty())
        QCOMPARE(v, supportedSimdVariants().back());
    else
        QCOMPARE(v, activeSimdVariant());
}

namespace {

/// Inputs rounded to bf16 values, as GgmlVecDotLinear hands them to a BF16 layer.
std::vector<float> bf16Values(std::vector<float> x)
{
    for (float& v : x)
        v = ref::bf16ToF32(ref::f32ToBf16(v));
    return x;
}

std::vector<float> multiplyBf16Inputs(SimdVariant v, const Weight& w, const std::vector<float>& x,
                                      std::int64_t n)
{
    std::vector<float> y(std::size_t(n * w.rows), NAN);
    floatMatMulBf16Inputs(v, w.data(), w.cols, 0, w.rows, x.data(), n, y.data(), w.rows);
    return y;
}

std::vector<SimdVariant> bf16InputVariants()
{
    std::vector<SimdVariant> vs;
    for (SimdVariant v : {SimdVariant::Scalar, SimdVariant::Vec128, SimdVariant::Avx2, SimdVariant::Avx512})
        if (floatMatMulBf16InputsVariantSupported(v))
            vs.push_back(v);
    return vs;
}

} // namespace

void TestFloatMatMul::bf16InputsMatchTwin_data()
{
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("n");
    QTest::addColumn<bool>("rounded");
    // Whole and partial 32-column steps, more than one 2048-column chunk, n from the GEMV to two token
    // blocks.
    const int shapes[][3] = {{7, 64, 1},     {7, 172, 3},   {70, 600, 9},   {9, 1, 4},
                             {130, 300, 50}, {5, 31, 7},    {20, 2100, 13}, {9, 4500, 100},
                             {66, 40, 250},  {70, 4500, 1}, {70, 4500, 6},  {3, 40000, 2}};
    for (const auto& sh : shapes)
        QTest::addRow("rows %d cols %d n %d", sh[0], sh[1], sh[2]) << sh[0] << sh[1] << sh[2] << true;
    QTest::addRow("inputs not bf16 values (rounded by the kernel)") << 17 << 300 << 20 << false;
}

// The vdpbf16ps kernel gives the scalar twin's bytes, and both stay within kFloatMatMulBudget of the exact
// sum of the products of the bf16 values.
void TestFloatMatMul::bf16InputsMatchTwin()
{
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, n);
    QFETCH(bool, rounded);
    const std::vector<float> raw = makeInput(n, cols, 31u + unsigned(cols));
    const std::vector<float> x = rounded ? bf16Values(raw) : raw, xb = bf16Values(raw);
    const Weight w = makeWeight(DType::BF16, rows, cols, 41u + unsigned(rows));
    const std::vector<float> twin = multiplyBf16Inputs(SimdVariant::Scalar, w, x, n);
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < rows; ++r) {
            double exact = 0, magnitude = 0;
            for (int c = 0; c < cols; ++c) {
                const double p = double(w.values[std::size_t(r * cols + c)]) * xb[std::size_t(t * cols + c)];
                exact += p;
                magnitude += std::fabs(p);
            }
            const float got = twin[std::size_t(t * rows + r)];
            QVERIFY2(
                std::fabs(double(got) - exact) <= kFloatMatMulBudget / 2 * (cols + 1) * magnitude,
                QByteArray("token " + QByteArray::number(t) + " row " + QByteArray::number(r)).constData());
        }
    for (SimdVariant v : bf16InputVariants())
        QVERIFY2(sameBits(multiplyBf16Inputs(v, w, x, n), twin), simdVariantName(v));
    // Inputs packed once (Bf16Inputs) and used for several row ranges: the same bytes, in every variant.
    Bf16Inputs packed;
    packBf16Inputs(x.data(), n, cols, packed);
    const std::int64_t cut = std::min(rows, 64);
    for (SimdVariant v : bf16InputVariants()) {
        std::vector<float> y(twin.size(), NAN);
        floatMatMulBf16Inputs(v, w.data(), 0, cut, packed, y.data(), rows);
        floatMatMulBf16Inputs(v, w.data(), cut, rows, packed, y.data(), rows);
        QVERIFY2(sameBits(y, twin),
                 QByteArray(QByteArray("packed inputs, ") + simdVariantName(v)).constData());
    }
    packed.data.pop_back();
    QS_VERIFY_ERROR(test::errorOf([&] {
                        std::vector<float> y(twin.size());
                        floatMatMulBf16Inputs(SimdVariant::Scalar, w.data(), 0, rows, packed, y.data(), rows);
                    }),
                    {QStringLiteral("floatMatMulBf16Inputs"), QStringLiteral("packed inputs")});
}

// Any row cut, and any n (a token alone, in a small batch or in a large one), gives the same bytes.
void TestFloatMatMul::bf16InputsIndependentOfSplitAndTokens()
{
    const std::int64_t rows = 200, cols = 2100, n = 100;
    const std::vector<float> x = bf16Values(makeInput(n, cols, 5));
    const Weight w = makeWeight(DType::BF16, rows, cols, 6);
    for (SimdVariant v : bf16InputVariants()) {
        const std::vector<float> whole = multiplyBf16Inputs(v, w, x, n);
        std::vector<float> y(whole.size(), NAN);
        const std::int64_t cuts[] = {0, 37, 64, 101, 200};
        for (std::size_t i = 0; i + 1 < std::size(cuts); ++i)
            floatMatMulBf16Inputs(v, w.data(), cols, cuts[i], cuts[i + 1], x.data(), n, y.data(), rows);
        QVERIFY2(sameBits(y, whole), simdVariantName(v));
        for (std::int64_t first : {0, 1, 31, 95}) {
            for (std::int64_t count : {1, 2, 5}) {
                const std::vector<float> part(x.begin() + first * cols, x.begin() + (first + count) * cols);
                const std::vector<float> got = multiplyBf16Inputs(v, w, part, count);
                QVERIFY2(std::memcmp(got.data(), whole.data() + first * rows, got.size() * 4) == 0,
                         simdVariantName(v));
            }
        }
    }
    QS_VERIFY_ERROR(test::errorOf([&] {
                        floatMatMulBf16Inputs(SimdVariant::Avx2, w.data(), cols, 0, 1, x.data(), 1, nullptr,
                                              1);
                    }),
                    {QStringLiteral("floatMatMulBf16Inputs")});
}

namespace {

/// Skips the calling test where the tiles cannot run (no AMX-BF16, or Linux refused the tile state).
#define QS_REQUIRE_TILES()                                                                                   \
    do {                                                                                                     \
        if (!floatMatMulTilesSupported())                                                                    \
            QSKIP("this CPU (or OS) offers no AMX-BF16 tiles; floatMatMulTiles is not run here");            \
    } while (false)

std::vector<float> multiplyTiles(const Weight& w, const TileInputs& x, std::int64_t r0, std::int64_t r1,
                                 std::vector<float> y)
{
    floatMatMulTiles(w.dtype, w.data(), r0, r1, x, y.data(), w.rows);
    return y;
}

} // namespace

void TestFloatMatMul::tilesMatchTwin_data()
{
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("planes");
    QTest::addColumn<int>("offset");
    // Whole and partial 32-column steps and 32-row blocks, more than one 1024-column chunk, one token block
    // or an odd number of them, unaligned weights.
    const int shapes[][4] = {{7, 64, 16, 0},    {33, 172, 17, 2}, {70, 1100, 40, 0}, {9, 1, 20, 0},
                             {130, 300, 50, 6}, {32, 31, 33, 0},  {20, 2100, 64, 2}, {64, 4500, 100, 0}};
    for (DType d : {DType::F16, DType::BF16})
        for (int planes : {1, 3})
            for (const auto& sh : shapes) {
                if (planes == 1 && d == DType::F16)
                    continue; // bf16 inputs go with bf16 weights only (llama.cpp's BF16 numerics)
                QTest::addRow("%s planes %d rows %d cols %d n %d offset %d", dtypeInfo(d).name, planes, sh[0],
                              sh[1], sh[2], sh[3])
                    << int(d) << sh[0] << sh[1] << sh[2] << planes << sh[3];
            }
}

// The tiles stay within kFloatMatMulTilesBudget of the scalar twin (of floatMatMul for exact inputs, of
// floatMatMulBf16Inputs for bf16 ones), and within half of it of the exact sum of the products.
void TestFloatMatMul::tilesMatchTwin()
{
    QS_REQUIRE_TILES();
    QFETCH(int, dtype);
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(int, n);
    QFETCH(int, planes);
    QFETCH(int, offset);
    const DType d = DType(dtype);
    const std::vector<float> raw = makeInput(n, cols, 71u + unsigned(cols));
    const std::vector<float> xv = planes == 1 ? bf16Values(raw) : raw; // the values the kernel multiplies
    const Weight w = makeWeight(d, rows, cols, 83u + unsigned(rows), std::size_t(offset));
    const std::vector<float> twin = planes == 1 ? multiplyBf16Inputs(SimdVariant::Scalar, w, raw, n)
                                                : multiply(SimdVariant::Scalar, w, raw, n);
    TileInputs packed;
    packTileInputs(raw.data(), n, cols, planes, packed);
    const std::vector<float> got = multiplyTiles(w, packed, 0, rows, std::vector<float>(twin.size(), NAN));
    for (int t = 0; t < n; ++t)
        for (int r = 0; r < rows; ++r) {
            double exact = 0, magnitude = 0;
            for (int c = 0; c < cols; ++c) {
                const double p = double(w.values[std::size_t(r * cols + c)]) * xv[std::size_t(t * cols + c)];
                exact += p;
                magnitude += std::fabs(p);
            }
            const std::size_t i = std::size_t(t * rows + r);
            const QByteArray where = "token " + QByteArray::number(t) + " row " + QByteArray::number(r) +
                                     ": " + QByteArray::number(got[i], 'g', 9) + " vs twin " +
                                     QByteArray::number(twin[i], 'g', 9);
            QVERIFY2(std::fabs(double(got[i]) - twin[i]) <= kFloatMatMulTilesBudget * (cols + 1) * magnitude,
                     where.constData());
            QVERIFY2(std::fabs(double(got[i]) - exact) <=
                         kFloatMatMulTilesBudget / 2 * (cols + 1) * magnitude,
                     where.constData());
        }
}

// Any row cut, any n and any position among the other tokens give the same bytes; the packed inputs serve
// any number of row ranges.
void TestFloatMatMul::tilesIndependentOfSplitAndTokens()
{
    QS_REQUIRE_TILES();
    const std::int64_t rows = 200, cols = 2100, n = 100;
    const std::vector<float> x = makeInput(n, cols, 5);
    for (DType d : {DType::F16, DType::BF16}) {
        const Weight w = makeWeight(d, rows, cols, 6);
        for (int planes : {1, 3}) {
            TileInputs packed;
            packTileInputs(x.data(), n, cols, planes, packed);
            const std::vector<float> whole =
                multiplyTiles(w, packed, 0, rows, std::vector<float>(n * rows, NAN));
            std::vector<float> y(whole.size(), NAN);
            const std::int64_t cuts[] = {0, 37, 64, 101, 200};
            for (std::size_t i = 0; i + 1 < std::size(cuts); ++i)
                y = multiplyTiles(w, packed, cuts[i], cuts[i + 1], y);
            QVERIFY2(sameBits(y, whole), dtypeInfo(d).name);
            for (std::int64_t first : {0, 1, 31, 95}) {
                for (std::int64_t count : {1, 2, 5}) {
                    TileInputs part;
                    packTileInputs(x.data() + first * cols, count, cols, planes, part);
                    const std::vector<float> got =
                        multiplyTiles(w, part, 0, rows, std::vector<float>(count * rows, NAN));
                    QVERIFY2(std::memcmp(got.data(), whole.data() + first * rows, got.size() * 4) == 0,
                             dtypeInfo(d).name);
                }
            }
        }
    }
}

// Three planes hold every f32 input exactly (up to parts below 2^-126), one holds it rounded to bf16: read
// back from the tile layout (token t, column c of block t/16, step c/32, pair (c%32)/2, token t%16).
void TestFloatMatMul::tileInputPlanesSumExactly()
{
    QS_REQUIRE_TILES();
    std::vector<float> x = makeInput(37, 70, 9);
    const float special[] = {0.f,     -0.f,           1.f,        -3.0000002f, 65504.f, 1e-30f,
                             3.0e38f, 1.1754944e-38f, 123456.789f};
    for (std::size_t i = 0; i < std::size(special); ++i)
        x[i * 13] = special[i];
    for (std::size_t i = 0; i < x.size(); i += 7)
        x[i] *= std::ldexp(1.f, int(i % 60) - 30);
    for (int planes : {1, 3}) {
        TileInputs packed;
        packTileInputs(x.data(), 37, 70, planes, packed);
        const std::int64_t steps = 3;
        for (std::int64_t t = 0; t < 37; ++t)
            for (std::int64_t c = 0; c < 70; ++c) {
                float sum = 0.f;
                for (int pl = planes - 1; pl >= 0; --pl) {
                    const std::size_t at =
                        (((std::size_t(t / 16) * steps + std::size_t(c / 32)) * planes + std::size_t(pl)) *
                             16 +
                         std::size_t(c % 32) / 2) *
                            32 +
                        std::size_t(t % 16) * 2 + std::size_t(c % 2);
                    sum += ref::bf16ToF32(packed.tiles()[at]);
                }
                const float v = x[std::size_t(t * 70 + c)];
                const float want = planes == 3 ? v : ref::bf16ToF32(ref::f32ToBf16(v));
                QVERIFY2(sum == want || (std::fabs(v) < 1.2e-38f && std::fabs(sum - want) < 1.2e-38f),
                         qPrintable(QStringLiteral("planes %1, token %2, column %3: %4 for %5")
                                        .arg(planes)
                                        .arg(t)
                                        .arg(c)
                                        .arg(double(sum), 0, 'g', 10)
                                        .arg(double(v), 0, 'g', 10)));
            }
    }
}

void TestFloatMatMul::tilesRefuseBadArguments()
{
    if (!floatMatMulTilesSupported()) {
        TileInputs packed;
        const float x = 1.f;
        QS_VERIFY_ERROR(test::errorOf([&] { packTileInputs(&x, 1, 1, 3, packed); }),
                        {QStringLiteral("packTileInputs"), QStringLiteral("AMX")});
        return;
    }
    const Weight w = makeWeight(DType::F32, 4, 8, 1);
    const std::vector<float> x = makeInput(16, 8, 2);
    TileInputs packed;
    QS_VERIFY_ERROR(test::errorOf([&] { packTileInputs(x.data(), 16, 8, 2, packed); }),
                    {QStringLiteral("packTileInputs"), QStringLiteral("planes 2")});
    packTileInputs(x.data(), 16, 8, 3, packed);
    std::vector<float> y(64);
    QS_VERIFY_ERROR(test::errorOf([&] { floatMatMulTiles(DType::F32, w.data(), 0, 4, packed, y.data(), 4); }),
                    {QStringLiteral("floatMatMulTiles"), QStringLiteral("f32")});
    const Weight h = makeWeight(DType::F16, 4, 8, 1);
    QS_VERIFY_ERROR(test::errorOf([&] { floatMatMulTiles(DType::F16, h.data(), 0, 4, packed, y.data(), 3); }),
                    {QStringLiteral("floatMatMulTiles"), QStringLiteral("stride")});
    packed.n = 17; // one token block more than was packed
    QS_VERIFY_ERROR(test::errorOf([&] { floatMatMulTiles(DType::F16, h.data(), 0, 4, packed, y.data(), 4); }),
                    {QStringLiteral("floatMatMulTiles"), QStringLiteral("packed inputs")});
}

QTEST_GUILESS_MAIN(TestFloatMatMul)
#include "tst_floatmatmul.moc"
