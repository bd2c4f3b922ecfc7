// Element conversions: the scalar reference (exhaustive f16/bf16, known values, rounding) and
// the dispatching SIMD variant, which must agree with the reference bit for bit.
#include "kernels/Convert.h"

#include <QTest>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace qs;

namespace {

std::uint32_t bitsOf(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

float floatOf(std::uint32_t u)
{
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

bool isF16NaN(std::uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}
bool isBf16NaN(std::uint16_t b)
{
    return (b & 0x7f80u) == 0x7f80u && (b & 0x7fu) != 0;
}

/// The value of an f16 bit pattern computed from its definition, independently of ref::f16ToF32.
double f16Definition(std::uint16_t h)
{
    const int sign = (h & 0x8000u) ? -1 : 1;
    const int exp = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    if (exp == 0x1f)
        return mant ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
    if (exp == 0)
        return sign * std::ldexp(double(mant), -24);
    return sign * std::ldexp(double(1024 + mant), exp - 25);
}

QString hex(std::uint32_t v, int width)
{
    return QStringLiteral("0x%1").arg(v, width, 16, QLatin1Char('0'));
}

} // namespace

class TestConvert : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void f16Exhaustive_data();
    void f16Exhaustive();
    void bf16Exhaustive_data();
    void bf16Exhaustive();
    void f16ToF32Known_data();
    void f16ToF32Known();
    void f32ToF16Known_data();
    void f32ToF16Known();
    void f32ToBf16Known_data();
    void f32ToBf16Known();
    void dispatchMatchesReference_data();
    void dispatchMatchesReference();
    void integerValues_data();
    void integerValues();
    void countNonFinite_data();
    void countNonFinite();
    void roundInPlace_data();
    void roundInPlace();
};

void TestConvert::initTestCase()
{
    qInfo("convertToF32 variant on this CPU: %s", convertVariantName());
}

// All 65536 f16 patterns, split by class so a failure names the class.
void TestConvert::f16Exhaustive_data()
{
    QTest::addColumn<int>("first");
    QTest::addColumn<int>("last");
    for (int sign : {0, 0x8000}) {
        const char* s = sign ? "negative" : "positive";
        QTest::addRow("%s zero", s) << sign << sign;
        QTest::addRow("%s subnormals", s) << (sign | 0x0001) << (sign | 0x03ff);
        QTest::addRow("%s normals", s) << (sign | 0x0400) << (sign | 0x7bff);
        QTest::addRow("%s infinity", s) << (sign | 0x7c00) << (sign | 0x7c00);
        QTest::addRow("%s NaNs", s) << (sign | 0x7c01) << (sign | 0x7fff);
    }
}

void TestConvert::f16Exhaustive()
{
    QFETCH(int, first);
    QFETCH(int, last);
    for (int i = first; i <= last; ++i) {
        const auto h = std::uint16_t(i);
        const float f = ref::f16ToF32(h);
        const double def = f16Definition(h);
        if (isF16NaN(h)) {
            if (!std::isnan(f))
                QFAIL(qPrintable(u"f16 NaN " + hex(h, 4) + u" did not convert to NaN"));
            const std::uint16_t back = ref::f32ToF16(f);
            if (!isF16NaN(back) || (back & 0x8000u) != (h & 0x8000u))
                QFAIL(qPrintable(u"f16 NaN " + hex(h, 4) + u" came back as " + hex(back, 4)));
            continue;
        }
        if (double(f) != def || std::signbit(f) != bool(h & 0x8000u))
            QFAIL(qPrintable(u"f16ToF32(" + hex(h, 4) + u") = " + QString::number(double(f), 'g', 17) +
                             u", expected " + QString::number(def, 'g', 17)));
        const std::uint16_t back = ref::f32ToF16(f);
        if (back != h)
            QFAIL(qPrintable(u"f16 " + hex(h, 4) + u" -> f32 -> f16 gave " + hex(back, 4)));
    }
}

void TestConvert::bf16Exhaustive_data()
{
    QTest::addColumn<int>("first");
    QTest::addColumn<int>("last");
    for (int sign : {0, 0x8000}) {
        const char* s = sign ? "negative" : "positive";
        QTest::addRow("%s finite", s) << sign << (sign | 0x7f7f);
        QTest::addRow("%s infinity", s) << (sign | 0x7f80) << (sign | 0x7f80);
        QTest::addRow("%s NaNs", s) << (sign | 0x7f81) << (sign | 0x7fff);
    }
}

void TestConvert::bf16Exhaustive()
{
    QFETCH(int, first);
    QFETCH(int, last);
    for (int i = first; i <= last; ++i) {
        const auto b = std::uint16_t(i);
        const float f = ref::bf16ToF32(b);
        if (bitsOf(f) != std::uint32_t(b) << 16)
            QFAIL(qPrintable(u"bf16ToF32(" + hex(b, 4) + u") is not the bits shifted by 16"));
        const std::uint16_t back = ref::f32ToBf16(f);
        if (isBf16NaN(b)) {
            if (!isBf16NaN(back) || (back & 0x8000u) != (b & 0x8000u) || !(back & 0x40u))
                QFAIL(qPrintable(u"bf16 NaN " + hex(b, 4) + u" came back as " + hex(back, 4) +
                                 u" (not a quiet NaN)"));
        } else if (back != b) {
            QFAIL(qPrintable(u"bf16 " + hex(b, 4) + u" -> f32 -> bf16 gave " + hex(back, 4)));
        }
    }
}

void TestConvert::f16ToF32Known_data()
{
    QTest::addColumn<int>("bits");
    QTest::addColumn<float>("expected");
    QTest::newRow("1.0") << 0x3c00 << 1.0f;
    QTest::newRow("-2.0") << 0xc000 << -2.0f;
    QTest::newRow("65504 (max)") << 0x7bff << 65504.0f;
    QTest::newRow("-65504") << 0xfbff << -65504.0f;
    QTest::newRow("2^-24 (smallest subnormal)") << 0x0001 << std::ldexp(1.0f, -24);
    QTest::newRow("-2^-24") << 0x8001 << -std::ldexp(1.0f, -24);
    QTest::newRow("largest subnormal") << 0x03ff << std::ldexp(1023.0f, -24);
    QTest::newRow("2^-14 (smallest normal)") << 0x0400 << std::ldexp(1.0f, -14);
    QTest::newRow("1/3") << 0x3555 << 0.333251953125f;
    QTest::newRow("0.5") << 0x3800 << 0.5f;
    QTest::newRow("+inf") << 0x7c00 << std::numeric_limits<float>::infinity();
    QTest::newRow("-inf") << 0xfc00 << -std::numeric_limits<float>::infinity();
    // NaNs keep sign and payload and come out quiet, exactly as F16C's vcvtph2ps converts them.
    QTest::newRow("quiet NaN") << 0x7e00 << floatOf(0x7fc00000u);
    QTest::newRow("signalling NaN is quietened") << 0x7c01 << floatOf(0x7fc02000u);
    QTest::newRow("negative signalling NaN") << 0xfd55 << floatOf(0xffeaa000u);
}

void TestConvert::f16ToF32Known()
{
    QFETCH(int, bits);
    QFETCH(float, expected);
    QCOMPARE(bitsOf(ref::f16ToF32(std::uint16_t(bits))), bitsOf(expected));
}

void TestConvert::f32ToF16Known_data()
{
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("expected");
    const float inf = std::numeric_limits<float>::infinity();
    QTest::newRow("1.0") << 1.0f << 0x3c00;
    QTest::newRow("-2.0") << -2.0f << 0xc000;
    QTest::newRow("+0") << 0.0f << 0x0000;
    QTest::newRow("-0") << -0.0f << 0x8000;
    QTest::newRow("0.1") << 0.1f << 0x2e66;
    QTest::newRow("65504 (max)") << 65504.0f << 0x7bff;
    QTest::newRow("just below 65520 -> 65504") << floatOf(bitsOf(65520.0f) - 1) << 0x7bff;
    QTest::newRow("65520 -> inf (tie, odd max rounds up)") << 65520.0f << 0x7c00;
    QTest::newRow("-65520 -> -inf") << -65520.0f << 0xfc00;
    QTest::newRow("65536 -> inf") << 65536.0f << 0x7c00;
    QTest::newRow("1e9 -> inf") << 1e9f << 0x7c00;
    QTest::newRow("FLT_MAX -> inf") << FLT_MAX << 0x7c00;
    QTest::newRow("+inf") << inf << 0x7c00;
    QTest::newRow("-inf") << -inf << 0xfc00;
    QTest::newRow("2^-24 (smallest subnormal)") << std::ldexp(1.0f, -24) << 0x0001;
    QTest::newRow("-2^-24") << -std::ldexp(1.0f, -24) << 0x8001;
    QTest::newRow("2^-25 -> 0 (tie to even)") << std::ldexp(1.0f, -25) << 0x0000;
    QTest::newRow("-2^-25 -> -0") << -std::ldexp(1.0f, -25) << 0x8000;
    QTest::newRow("just above 2^-25 -> 2^-24") << floatOf(bitsOf(std::ldexp(1.0f, -25)) + 1) << 0x0001;
    QTest::newRow("2^-26 -> 0") << std::ldexp(1.0f, -26) << 0x0000;
    QTest::newRow("FLT_TRUE_MIN -> 0") << floatOf(1) << 0x0000;
    QTest::newRow("3*2^-25 -> 2*2^-24 (tie to even)") << std::ldexp(3.0f, -25) << 0x0002;
    QTest::newRow("5*2^-25 -> 2*2^-24 (tie to even)") << std::ldexp(5.0f, -25) << 0x0002;
    QTest::newRow("largest subnormal") << std::ldexp(1023.0f, -24) << 0x03ff;
    QTest::newRow("tie between subnormal and normal") << std::ldexp(2047.0f, -25) << 0x0400;
    QTest::newRow("2^-14 (smallest normal)") << std::ldexp(1.0f, -14) << 0x0400;
    QTest::newRow("1+2^-11 -> 1 (tie to even)") << 1.0f + std::ldexp(1.0f, -11) << 0x3c00;
    QTest::newRow("1+3*2^-11 -> 1+2^-9 (tie to even)") << 1.0f + std::ldexp(3.0f, -11) << 0x3c02;
    QTest::newRow("above tie rounds up") << 1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20) << 0x3c01;
    QTest::newRow("below tie rounds down") << 1.0f + std::ldexp(1.0f, -11) - std::ldexp(1.0f, -20) << 0x3c00;
    QTest::newRow("rounding carries into exponent") << 2.0f - std::ldexp(1.0f, -12) << 0x4000;
}

void TestConvert::f32ToF16Known()
{
    QFETCH(float, value);
    QFETCH(int, expected);
    QCOMPARE(hex(ref::f32ToF16(value), 4), hex(std::uint32_t(expected), 4));
}

void TestConvert::f32ToBf16Known_data()
{
    QTest::addColumn<float>("value");
    QTest::addColumn<int>("expected");
    QTest::newRow("1.0") << 1.0f << 0x3f80;
    QTest::newRow("-2.0") << -2.0f << 0xc000;
    QTest::newRow("-0") << -0.0f << 0x8000;
    QTest::newRow("1+2^-8 -> 1 (tie to even)") << 1.0f + std::ldexp(1.0f, -8) << 0x3f80;
    QTest::newRow("1+3*2^-8 -> 1+2^-6 (tie to even)") << 1.0f + std::ldexp(3.0f, -8) << 0x3f82;
    QTest::newRow("above tie rounds up") << 1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20) << 0x3f81;
    QTest::newRow("FLT_MAX -> inf") << FLT_MAX << 0x7f80;
    QTest::newRow("+inf") << std::numeric_limits<float>::infinity() << 0x7f80;
    QTest::newRow("FLT_TRUE_MIN -> 0") << floatOf(1) << 0x0000;
    QTest::newRow("signalling NaN is quietened") << floatOf(0x7f800001u) << 0x7fc0;
    QTest::newRow("negative quiet NaN kept") << floatOf(0xffc00000u) << 0xffc0;
}

void TestConvert::f32ToBf16Known()
{
    QFETCH(float, value);
    QFETCH(int, expected);
    QCOMPARE(hex(ref::f32ToBf16(value), 4), hex(std::uint32_t(expected), 4));
}

// convertToF32 (AVX2/F16C where available) against ref::convertRow, bit for bit, on lengths that
// exercise the vector body and the scalar tail, from unaligned source pointers.
void TestConvert::dispatchMatchesReference_data()
{
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("misalign");
    const std::pair<DType, const char*> dtypes[] = {
        {DType::F16, "f16"}, {DType::BF16, "bf16"}, {DType::F32, "f32"}, {DType::F64, "f64"}};
    for (const auto& [dt, name] : dtypes) {
        for (int n : {0, 1, 15, 16, 17, 1000, 4099}) {
            for (int misalign : {0, 1, 3}) {
                QTest::newRow(
                    QStringLiteral("%1 n=%2 +%3").arg(QLatin1String(name)).arg(n).arg(misalign).toUtf8())
                    << int(dt) << n << misalign;
            }
        }
    }
    // Every bit pattern (NaN payloads, subnormals, infinities) through the vector path.
    QTest::newRow("f16 all 65536 patterns +1") << int(DType::F16) << 65536 << 1;
    QTest::newRow("bf16 all 65536 patterns +1") << int(DType::BF16) << 65536 << 1;
}

void TestConvert::dispatchMatchesReference()
{
    QFETCH(int, dtype);
    QFETCH(int, n);
    QFETCH(int, misalign);
    const auto dt = DType(dtype);
    const std::size_t eb = std::size_t(dtypeInfo(dt).bytes);
    std::vector<unsigned char> buf(std::size_t(n) * eb + 64);
    unsigned char* src = buf.data() + misalign;
    if (n == 65536) {
        for (int i = 0; i < n; ++i) {
            const auto h = std::uint16_t(i);
            std::memcpy(src + 2 * std::size_t(i), &h, 2);
        }
    } else {
        std::mt19937 rng(std::uint32_t(n * 7 + misalign));
        for (unsigned char& c : buf)
            c = static_cast<unsigned char>(rng());
    }
    // Guard values past the end catch writes beyond n.
    const float guard = 12345.0f;
    std::vector<float> fast(std::size_t(n) + 8, guard), slow(std::size_t(n) + 8, guard);
    convertToF32(dt, src, fast.data(), std::size_t(n));
    ref::convertRow(dt, src, slow.data(), std::size_t(n));
    for (int i = 0; i < n; ++i) {
        if (bitsOf(fast[std::size_t(i)]) != bitsOf(slow[std::size_t(i)]))
            QFAIL(qPrintable(
                QStringLiteral("element %1: convertToF32 gave %2, reference %3")
                    .arg(i)
                    .arg(hex(bitsOf(fast[std::size_t(i)]), 8), hex(bitsOf(slow[std::size_t(i)]), 8))));
    }
    for (std::size_t i = std::size_t(n); i < fast.size(); ++i)
        QCOMPARE(fast[i], guard);
}

void TestConvert::integerValues_data()
{
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("n");
    QTest::addColumn<int>("misalign");
    const std::pair<DType, const char*> dtypes[] = {{DType::I64, "i64"}, {DType::I32, "i32"},
                                                    {DType::I16, "i16"}, {DType::I8, "i8"},
                                                    {DType::U8, "u8"},   {DType::Bool, "bool"}};
    for (const auto& [dt, name] : dtypes) {
        for (int n : {0, 1, 17, 4099}) {
            for (int misalign : {0, 1}) {
                QTest::newRow(
                    QStringLiteral("%1 n=%2 +%3").arg(QLatin1String(name)).arg(n).arg(misalign).toUtf8())
                    << int(dt) << n << misalign;
            }
        }
    }
}

template <typename T>
static float intValueAt(const unsigned char* p, std::size_t i)
{
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    return static_cast<float>(v);
}

void TestConvert::integerValues()
{
    QFETCH(int, dtype);
    QFETCH(int, n);
    QFETCH(int, misalign);
    const auto dt = DType(dtype);
    const std::size_t eb = std::size_t(dtypeInfo(dt).bytes);
    std::vector<unsigned char> buf(std::size_t(n) * eb + 16);
    unsigned char* src = buf.data() + misalign;
    std::mt19937 rng(std::uint32_t(n + 100 * misalign));
    for (unsigned char& c : buf)
        c = static_cast<unsigned char>(rng());
    if (n > 0 && dt != DType::Bool) { // the extreme of the type: most negative (most positive for u8)
        std::memset(src, 0, eb);
        src[eb - 1] = 0x80; // little-endian: the sign bit is in the last byte
        if (dt == DType::U8)
            src[0] = 0xff;
    }
    std::vector<float> fast(std::size_t(n) + 1), slow(std::size_t(n) + 1);
    convertToF32(dt, src, fast.data(), std::size_t(n));
    ref::convertRow(dt, src, slow.data(), std::size_t(n));
    for (std::size_t i = 0; i < std::size_t(n); ++i) {
        float expected = 0;
        switch (dt) {
        case DType::I64:
            expected = intValueAt<std::int64_t>(src, i);
            break;
        case DType::I32:
            expected = intValueAt<std::int32_t>(src, i);
            break;
        case DType::I16:
            expected = intValueAt<std::int16_t>(src, i);
            break;
        case DType::I8:
            expected = intValueAt<std::int8_t>(src, i);
            break;
        case DType::U8:
            expected = intValueAt<std::uint8_t>(src, i);
            break;
        case DType::Bool:
            expected = src[i] ? 1.0f : 0.0f;
            break;
        default:
            QFAIL("not an integer dtype");
        }
        if (bitsOf(fast[i]) != bitsOf(expected) || bitsOf(slow[i]) != bitsOf(expected))
            QFAIL(qPrintable(QStringLiteral("element %1: got %2 / %3, expected %4")
                                 .arg(i)
                                 .arg(double(fast[i]), 0, 'g', 17)
                                 .arg(double(slow[i]), 0, 'g', 17)
                                 .arg(double(expected), 0, 'g', 17)));
    }
    if (n > 0 && dt == DType::I8)
        QCOMPARE(fast[0], -128.0f);
    if (n > 0 && dt == DType::U8)
        QCOMPARE(fast[0], 255.0f);
    if (n > 0 && dt == DType::I64)
        QCOMPARE(fast[0], -9223372036854775808.0f);
}

void TestConvert::countNonFinite_data()
{
    QTest::addColumn<QList<float>>("values");
    QTest::addColumn<int>("count");
    QTest::addColumn<int>("first");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    QTest::newRow("empty") << QList<float>{} << 0 << 0;
    QTest::newRow("all finite (incl. extremes)")
        << QList<float>{0.0f, -0.0f, 1.0f, FLT_MAX, -FLT_MAX, FLT_MIN, floatOf(1)} << 0 << 7;
    QTest::newRow("one NaN") << QList<float>{1, 2, 3, 4, 5, nan, 7} << 1 << 5;
    QTest::newRow("+inf first") << QList<float>{inf, 1, 2} << 1 << 0;
    QTest::newRow("-inf last") << QList<float>{1, 2, -inf} << 1 << 2;
    QTest::newRow("signalling NaN") << QList<float>{1, floatOf(0x7f800001u)} << 1 << 1;
    QTest::newRow("negative NaN") << QList<float>{floatOf(0xffc00000u)} << 1 << 0;
    QTest::newRow("several") << QList<float>{1, 2, nan, 3, inf, -inf, 4} << 3 << 2;
    QList<float> longRow(1003, 0.5f);
    longRow[1001] = nan;
    QTest::newRow("long row, NaN near end") << longRow << 1 << 1001;
    QList<float> spread(4099, -2.5f); // several vectors of 8 hold non-finite values, some twice
    for (int i : {8, 15, 16, 17, 800, 801, 4096, 4098})
        spread[i] = i % 2 ? inf : nan;
    QTest::newRow("long row, several vectors") << spread << 8 << 8;
}

void TestConvert::countNonFinite()
{
    QFETCH(QList<float>, values);
    QFETCH(int, count);
    QFETCH(int, first);
    std::size_t firstIndex = 999999;
    QCOMPARE(qs::countNonFinite(values.constData(), std::size_t(values.size()), &firstIndex),
             std::size_t(count));
    QCOMPARE(firstIndex, std::size_t(first));
    QCOMPARE(qs::countNonFinite(values.constData(), std::size_t(values.size())),
             std::size_t(count)); // no index
}

void TestConvert::roundInPlace_data()
{
    QTest::addColumn<bool>("bf16");
    QTest::addColumn<int>("n");
    for (bool bf16 : {false, true})
        for (int n : {0, 5, 8, 1000, 65537})
            QTest::newRow(QStringLiteral("%1 n=%2").arg(QLatin1String(bf16 ? "bf16" : "f16")).arg(n).toUtf8())
                << bf16 << n;
}

// roundToF16 / roundToBf16 (SIMD where the CPU has it, a scalar tail) give the reference's bits for every
// input: random bit patterns (all exponents: subnormals, overflow, ties) and the edges; NaN stays NaN.
void TestConvert::roundInPlace()
{
    QFETCH(bool, bf16);
    QFETCH(int, n);
    std::mt19937 rng(std::uint32_t(n) * 2 + bf16);
    auto x = std::vector<float>(std::size_t(n));
    for (float& v : x)
        v = floatOf(rng());
    const float edges[] = {0.0f,
                           -0.0f,
                           65504.0f,
                           65520.0f,
                           -65519.996f,
                           floatOf(0x33000000u),
                           floatOf(0x33000001u),
                           floatOf(0x387fe000u),
                           floatOf(0x3f801000u),
                           floatOf(0x3f803000u),
                           floatOf(0x3f808000u),
                           floatOf(0x3f818000u),
                           floatOf(0x7f7fffffu),
                           std::numeric_limits<float>::infinity(),
                           floatOf(0x7fc00000u),
                           floatOf(0xff800001u),
                           floatOf(0x007fffffu),
                           floatOf(1)};
    for (std::size_t i = 0; i < std::size(edges) && i < x.size(); ++i)
        x[i * 7 % x.size()] = edges[i];
    std::vector<float> got = x;
    if (bf16)
        roundToBf16(got.data(), got.size());
    else
        roundToF16(got.data(), got.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float want = bf16 ? ref::bf16ToF32(ref::f32ToBf16(x[i])) : ref::f16ToF32(ref::f32ToF16(x[i]));
        if (std::isnan(want) && std::isnan(got[i]))
            continue;
        if (bitsOf(got[i]) != bitsOf(want))
            QFAIL(qPrintable(QStringLiteral("element %1 (%2): got %3, reference %4")
                                 .arg(i)
                                 .arg(hex(bitsOf(x[i]), 8), hex(bitsOf(got[i]), 8), hex(bitsOf(want), 8))));
    }
}

QTEST_GUILESS_MAIN(TestConvert)
#include "tst_convert.moc"
