// The GGUF reader and writer: every metadata value type (nested arrays included) and tensor layout
// round-trips; the writer's bytes equal a file written by hand from the spec; alignment variants;
// and each malformed file (built here at run time) fails with a message naming the file, the key
// or tensor, and the problem.
#include "TestSupport.h"
#include "io/Gguf.h"
#include "kernels/Convert.h"
#include "util/Error.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <cstring>
#include <limits>

using namespace qs;

Q_DECLARE_METATYPE(qs::GgufValue)

namespace {

using qs::test::errorOf;

/// Builds GGUF bytes by hand, straight from the spec (independent of GgufWriter).
struct Bytes
{
    QByteArray b;
    template <typename T>
    Bytes& le(T v)
    {
        b.append(reinterpret_cast<const char*>(&v), qsizetype(sizeof(T)));
        return *this;
    }
    Bytes& u8(std::uint8_t v) { return le(v); }
    Bytes& u32(std::uint32_t v) { return le(v); }
    Bytes& u64(std::uint64_t v) { return le(v); }
    Bytes& str(const QByteArray& s)
    {
        u64(std::uint64_t(s.size()));
        b.append(s);
        return *this;
    }
    Bytes& raw(const QByteArray& s)
    {
        b.append(s);
        return *this;
    }
    Bytes& header(std::uint32_t version, std::uint64_t nTensors, std::uint64_t nKv)
    {
        b.append("GGUF", 4);
        return u32(version).u64(nTensors).u64(nKv);
    }
    /// Key + type id (the value follows).
    Bytes& key(const QByteArray& k, GgufValueType t) { return str(k).u32(std::uint32_t(t)); }
    Bytes& tensor(const QByteArray& name, std::vector<std::uint64_t> dims, std::uint32_t type,
                  std::uint64_t offset)
    {
        str(name).u32(std::uint32_t(dims.size()));
        for (std::uint64_t d : dims)
            u64(d);
        return u32(type).u64(offset);
    }
    Bytes& padTo(int alignment)
    {
        while (b.size() % alignment != 0)
            b.append('\0');
        return *this;
    }
    Bytes& zeros(qsizetype n)
    {
        b.append(QByteArray(n, '\0'));
        return *this;
    }
};

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

std::uint32_t bitsOf(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

GgufValue arr(GgufValueType t, std::vector<GgufValue> v)
{
    return GgufValue::array(t, std::move(v));
}

} // namespace

class TestGguf : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void valueRoundTrip_data();
    void valueRoundTrip();
    void writerMatchesSpec();
    void alignment_data();
    void alignment();
    void tensorsRoundTrip();
    void streamingProducer();
    void typedGetters();
    void writerErrors();
    void parseValid_data();
    void parseValid();
    void parseErrors_data();
    void parseErrors();
    void realFiles();
};

// --- round trips ----------------------------------------------------------------------------

void TestGguf::valueRoundTrip_data()
{
    QTest::addColumn<GgufValue>("value");
    QTest::addColumn<QString>("typeName");
    using T = GgufValueType;
    QTest::newRow("uint8") << GgufValue(std::uint8_t(255)) << QStringLiteral("uint8");
    QTest::newRow("int8") << GgufValue(std::int8_t(-128)) << QStringLiteral("int8");
    QTest::newRow("uint16") << GgufValue(std::uint16_t(65535)) << QStringLiteral("uint16");
    QTest::newRow("int16") << GgufValue(std::int16_t(-32768)) << QStringLiteral("int16");
    QTest::newRow("uint32") << GgufValue(std::uint32_t(4294967295u)) << QStringLiteral("uint32");
    QTest::newRow("int32") << GgufValue(std::int32_t(-2147483647 - 1)) << QStringLiteral("int32");
    QTest::newRow("float32") << GgufValue(1.0e-3f) << QStringLiteral("float32");
    QTest::newRow("float32 -0") << GgufValue(-0.0f) << QStringLiteral("float32");
    QTest::newRow("float32 inf") << GgufValue(std::numeric_limits<float>::infinity())
                                 << QStringLiteral("float32");
    QTest::newRow("bool true") << GgufValue(true) << QStringLiteral("bool");
    QTest::newRow("bool false") << GgufValue(false) << QStringLiteral("bool");
    QTest::newRow("string") << GgufValue(QStringLiteral("grüße, 量子化 ▁tok")) << QStringLiteral("string");
    QTest::newRow("empty string") << GgufValue(QString()) << QStringLiteral("string");
    QTest::newRow("string with NUL and invalid UTF-8")
        << GgufValue::fromBytes(QByteArray("a\0b\xff", 4)) << QStringLiteral("string");
    QTest::newRow("uint64 max") << GgufValue(std::numeric_limits<std::uint64_t>::max())
                                << QStringLiteral("uint64");
    QTest::newRow("int64 min") << GgufValue(std::numeric_limits<std::int64_t>::min())
                               << QStringLiteral("int64");
    QTest::newRow("float64") << GgufValue(0.1) << QStringLiteral("float64");
    QTest::newRow("array of uint8") << GgufValue::array(std::vector<std::uint8_t>{0, 1, 255})
                                    << QStringLiteral("array of uint8");
    QTest::newRow("array of int8") << GgufValue::array(std::vector<std::int8_t>{-1, 127})
                                   << QStringLiteral("array of int8");
    QTest::newRow("array of uint16") << GgufValue::array(std::vector<std::uint16_t>{7, 65535})
                                     << QStringLiteral("array of uint16");
    QTest::newRow("array of int16") << GgufValue::array(std::vector<std::int16_t>{-7})
                                    << QStringLiteral("array of int16");
    QTest::newRow("array of uint32") << GgufValue::array(std::vector<std::uint32_t>{1, 2, 3})
                                     << QStringLiteral("array of uint32");
    QTest::newRow("array of int32") << GgufValue::array(std::vector<std::int32_t>{-1, 0, 1, 2, 3})
                                    << QStringLiteral("array of int32");
    QTest::newRow("array of float32")
        << GgufValue::array(std::vector<float>{0.5f, -1e30f, 3.0f}) << QStringLiteral("array of float32");
    QTest::newRow("array of bool") << GgufValue::array(std::vector<bool>{true, false, true})
                                   << QStringLiteral("array of bool");
    QTest::newRow("array of string") << GgufValue::array(QStringList{QStringLiteral("<unk>"), QString(),
                                                                     QStringLiteral("▁the")})
                                     << QStringLiteral("array of string");
    QTest::newRow("array of uint64") << GgufValue::array(std::vector<std::uint64_t>{~0ull, 0})
                                     << QStringLiteral("array of uint64");
    QTest::newRow("array of int64") << GgufValue::array(std::vector<std::int64_t>{-5, 1ll << 40})
                                    << QStringLiteral("array of int64");
    QTest::newRow("array of float64")
        << GgufValue::array(std::vector<double>{1e300, -0.25}) << QStringLiteral("array of float64");
    QTest::newRow("empty array of float32") << arr(T::Float32, {}) << QStringLiteral("array of float32");
    QTest::newRow("empty array of arrays") << arr(T::Array, {}) << QStringLiteral("array of array");
    QTest::newRow("array of arrays, mixed inner types")
        << arr(T::Array,
               {GgufValue::array(std::vector<std::int32_t>{1, 2}), GgufValue::array(QStringList{}),
                GgufValue::array(QStringList{QStringLiteral("x")}), arr(T::Bool, {GgufValue(true)})})
        << QStringLiteral("array of array");
    QTest::newRow("three levels of arrays")
        << arr(T::Array, {arr(T::Array, {GgufValue::array(std::vector<double>{1.5}), arr(T::Int8, {})}),
                          arr(T::Array, {})})
        << QStringLiteral("array of array");
}

void TestGguf::valueRoundTrip()
{
    QFETCH(GgufValue, value);
    QFETCH(QString, typeName);
    QCOMPARE(value.typeName(), typeName);
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("v.gguf"));
    GgufWriter w;
    w.set(QStringLiteral("general.architecture"), QStringLiteral("llama"));
    w.set(QStringLiteral("test.value"), value);
    w.set(QStringLiteral("test.after"), std::uint32_t(7));
    w.write(path);
    const auto g = GgufFile::open(path);
    QCOMPARE(g->version(), 3u);
    QCOMPARE(int(g->metadata().size()), 3);
    QCOMPARE(g->metadata()[1].key, QStringLiteral("test.value"));
    const GgufValue* got = g->find(QStringLiteral("test.value"));
    QVERIFY(got);
    QCOMPARE(got->typeName(), typeName);
    QVERIFY(*got == value);
    if (value.type() == GgufValueType::Float32) // -0 and +0 compare equal; the bits must not change
        QCOMPARE(bitsOf(std::get<float>(got->storage())), bitsOf(std::get<float>(value.storage())));
    QCOMPARE(g->getInt(QStringLiteral("test.after")), 7);
    QCOMPARE(g->getString(QStringLiteral("general.architecture")), QStringLiteral("llama"));
    QVERIFY(g->tensors().empty());
    QCOMPARE(g->dataOffset() % 32, std::uint64_t(0));
}

// The writer's output, byte for byte, against a file written by hand from the spec.
void TestGguf::writerMatchesSpec()
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("spec.gguf"));
    GgufWriter w;
    w.set(QStringLiteral("general.architecture"), "llama");
    w.set(QStringLiteral("x.n"), std::int32_t(-2));
    w.set(QStringLiteral("x.arr"),
          arr(GgufValueType::Array, {GgufValue::array(std::vector<std::uint16_t>{9})}));
    w.set(QStringLiteral("x.flag"), true);
    w.set(QStringLiteral("x.n"), std::uint64_t(5)); // replaces in place, keeping the order
    w.addTensorF32(QStringLiteral("a"), GgmlType::F32, {3}, {1.0f, 2.0f, 3.0f});
    QByteArray q(18, '\x11');
    w.addTensor(QStringLiteral("b"), GgmlType::Q4_0, {32, 1}, q);
    w.write(path);

    const float f[3] = {1.0f, 2.0f, 3.0f};
    Bytes e;
    e.header(3, 2, 4);
    e.key("general.architecture", GgufValueType::String).str("llama");
    e.key("x.n", GgufValueType::UInt64).u64(5);
    e.key("x.arr", GgufValueType::Array).u32(9).u64(1).u32(2).u64(1).le(std::uint16_t(9));
    e.key("x.flag", GgufValueType::Bool).u8(1);
    e.tensor("a", {3}, 0, 0);
    e.tensor("b", {32, 1}, 2, 32); // 12 bytes padded to 32
    e.padTo(32);
    e.raw(QByteArray(reinterpret_cast<const char*>(f), 12)).zeros(20).raw(q).zeros(14);
    QCOMPARE(readAll(path).toHex(), e.b.toHex());
}

void TestGguf::alignment_data()
{
    QTest::addColumn<int>("alignment"); // 0: key absent (default 32)
    for (int a : {0, 1, 2, 8, 16, 32, 64, 256, 4096})
        QTest::newRow(qPrintable(QString::number(a))) << a;
}

void TestGguf::alignment()
{
    QFETCH(int, alignment);
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("a.gguf"));
    GgufWriter w;
    if (alignment)
        w.setAlignment(std::uint32_t(alignment));
    w.set(QStringLiteral("odd"), "xyz"); // makes the header length odd
    const std::vector<int> lengths{1, 3, 0, 5, 64};
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        std::vector<float> v(std::size_t(lengths[i]));
        for (std::size_t j = 0; j < v.size(); ++j)
            v[j] = float(i * 100 + j);
        w.addTensorF32(QStringLiteral("t%1").arg(i), GgmlType::F16, {lengths[i]}, v);
    }
    w.write(path);
    const auto g = GgufFile::open(path);
    const std::uint64_t a = alignment ? std::uint64_t(alignment) : 32;
    QCOMPARE(g->alignment(), std::uint32_t(a));
    QCOMPARE(g->dataOffset() % a, std::uint64_t(0));
    std::uint64_t expectedOffset = 0;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        const GgufTensor& t = g->tensors()[i];
        QCOMPARE(t.offset, expectedOffset);
        QCOMPARE(t.bytes, std::uint64_t(2 * lengths[i]));
        QCOMPARE(std::uintptr_t(g->data(t)) % std::min<std::uint64_t>(a, 4096), std::uintptr_t(0));
        const std::vector<float> v = g->readF32(t);
        QCOMPARE(int(v.size()), lengths[i]);
        for (std::size_t j = 0; j < v.size(); ++j)
            QCOMPARE(v[j], float(i * 100 + j));
        expectedOffset += (t.bytes + a - 1) / a * a;
    }
    QCOMPARE(g->fileSize(), g->dataOffset() + expectedOffset); // the last tensor is padded too
}

void TestGguf::tensorsRoundTrip()
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("t.gguf"));
    GgufWriter w;
    const std::vector<float> vals{1.0f, -2.5f, 65504.0f, 1e-8f, 3.0f, 0.1f};
    w.addTensorF32(QStringLiteral("f32"), GgmlType::F32, {3, 2}, vals);
    w.addTensorF32(QStringLiteral("f16"), GgmlType::F16, {2, 3}, vals);
    w.addTensorF32(QStringLiteral("bf16"), GgmlType::BF16, {1, 2, 3}, vals);
    w.addTensorF32(QStringLiteral("scalar"), GgmlType::F32, {}, {42.0f});
    w.addTensor(QStringLiteral("empty"), GgmlType::Q4_K, {256, 0}, QByteArray());
    QByteArray q4k(144 * 2 * 3, '\0');
    for (qsizetype i = 0; i < q4k.size(); ++i)
        q4k[i] = char(i * 7);
    w.addTensor(QStringLiteral("blk.0.ffn_down.weight"), GgmlType::Q4_K, {512, 3, 1, 1}, q4k);
    QByteArray q8(34 * 4, '\x5a');
    w.addTensor(QStringLiteral("q8"), GgmlType::Q8_0, {64, 2}, q8);
    w.write(path);

    const auto g = GgufFile::open(path);
    QCOMPARE(int(g->tensors().size()), 7);
    QCOMPARE(g->readF32(QStringLiteral("f32")), vals);
    const std::vector<float> h = g->readF32(QStringLiteral("f16"));
    for (std::size_t i = 0; i < vals.size(); ++i) {
        QCOMPARE(h[i], ref::f16ToF32(ref::f32ToF16(vals[i])));
        QCOMPARE(g->readF32(QStringLiteral("bf16"))[i], ref::bf16ToF32(ref::f32ToBf16(vals[i])));
    }
    const GgufTensor* s = g->findTensor(QStringLiteral("scalar"));
    QVERIFY(s);
    QVERIFY(s->dims.empty());
    QCOMPARE(s->numel(), 1);
    QCOMPARE(g->readF32(*s), std::vector<float>{42.0f});
    const GgufTensor* e = g->findTensor(QStringLiteral("empty"));
    QCOMPARE(e->bytes, std::uint64_t(0));
    QCOMPARE(e->numel(), 0);
    const GgufTensor* t = g->findTensor(QStringLiteral("blk.0.ffn_down.weight"));
    QVERIFY(t);
    QCOMPARE(t->type, GgmlType::Q4_K);
    QCOMPARE(t->dims, (std::vector<std::int64_t>{512, 3, 1, 1}));
    QCOMPARE(t->shape(), (std::vector<std::int64_t>{1, 1, 3, 512}));
    QCOMPARE(t->rowLength(), 512);
    QCOMPARE(t->rows(), 3);
    QCOMPARE(t->bytes, std::uint64_t(q4k.size()));
    QCOMPARE(QByteArray(reinterpret_cast<const char*>(g->data(*t)), q4k.size()), q4k);
    QCOMPARE(
        QByteArray(reinterpret_cast<const char*>(g->data(*g->findTensor(QStringLiteral("q8")))), q8.size()),
        q8);
    QVERIFY(!g->findTensor(QStringLiteral("absent")));
    QCOMPARE(ggufTensorBytes(GgmlType::Q6_K, {256, 10}), std::optional<std::uint64_t>(2100));

    // Quantized types are not read here; the message says which tensor and type.
    QS_VERIFY_ERROR(errorOf([&] { g->readF32(*t); }),
                    (QStringList{path, QStringLiteral("'blk.0.ffn_down.weight'"), QStringLiteral("Q4_K")}));
    QS_VERIFY_ERROR(errorOf([&] { g->readF32(QStringLiteral("nope")); }),
                    (QStringList{path, QStringLiteral("no tensor 'nope'")}));
}

void TestGguf::streamingProducer()
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.gguf"));
    const std::int64_t n = 3 * 1024 * 1024 + 5; // streamed in uneven pieces, never held whole
    GgufWriter w;
    w.setAlignment(64);
    w.addTensor(QStringLiteral("big"), GgmlType::I8, {n}, [n](const GgufWriter::Sink& write) {
        std::vector<char> chunk(100'003);
        for (std::int64_t done = 0; done < n;) {
            const std::int64_t k = std::min<std::int64_t>(std::int64_t(chunk.size()), n - done);
            for (std::int64_t i = 0; i < k; ++i)
                chunk[std::size_t(i)] = char((done + i) % 251);
            write(chunk.data(), std::size_t(k));
            done += k;
        }
    });
    w.addTensor(QStringLiteral("small"), GgmlType::I32, {1}, QByteArray("abcd"));
    w.write(path);
    const auto g = GgufFile::open(path);
    const GgufTensor* big = g->findTensor(QStringLiteral("big"));
    QCOMPARE(big->bytes, std::uint64_t(n));
    const unsigned char* p = g->data(*big);
    for (std::int64_t i = 0; i < n; i += 4099)
        QCOMPARE(int(p[i]), int(i % 251));
    QCOMPARE(int(p[n - 1]), int((n - 1) % 251));
    QCOMPARE(g->findTensor(QStringLiteral("small"))->offset, std::uint64_t((n + 63) / 64 * 64));
}

void TestGguf::typedGetters()
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("g.gguf"));
    GgufWriter w;
    w.set(QStringLiteral("s"), "text");
    w.set(QStringLiteral("u8"), std::uint8_t(200));
    w.set(QStringLiteral("i64"), std::int64_t(-9));
    w.set(QStringLiteral("u64big"), std::numeric_limits<std::uint64_t>::max());
    w.set(QStringLiteral("f"), 0.5f);
    w.set(QStringLiteral("b"), true);
    w.set(QStringLiteral("tokens"), GgufValue::array(QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    w.set(QStringLiteral("scores"), GgufValue::array(std::vector<float>{-1.0f, 2.0f}));
    w.set(QStringLiteral("types"), GgufValue::array(std::vector<std::int32_t>{1, 3}));
    w.set(QStringLiteral("u16s"), GgufValue::array(std::vector<std::uint16_t>{4, 5}));
    w.write(path);
    const auto g = GgufFile::open(path);
    const QString S = QStringLiteral("s");
    QCOMPARE(g->getString(S), QStringLiteral("text"));
    QCOMPARE(g->getInt(QStringLiteral("u8")), 200);
    QCOMPARE(g->getInt(QStringLiteral("i64")), -9);
    QCOMPARE(g->getFloat(QStringLiteral("f")), 0.5);
    QCOMPARE(g->getFloat(QStringLiteral("u8")), 200.0); // integers are numbers too
    QCOMPARE(g->getBool(QStringLiteral("b")), true);
    QCOMPARE(g->getStrings(QStringLiteral("tokens")),
             (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
    QCOMPARE(g->getFloats(QStringLiteral("scores")), (std::vector<float>{-1.0f, 2.0f}));
    QCOMPARE(g->getInts(QStringLiteral("types")), (std::vector<std::int64_t>{1, 3}));
    QCOMPARE(g->getInts(QStringLiteral("u16s")), (std::vector<std::int64_t>{4, 5}));
    QCOMPARE(g->getFloats(QStringLiteral("types")), (std::vector<float>{1.0f, 3.0f}));
    QCOMPARE(g->find(QStringLiteral("u64big"))->toUInt(), std::optional<std::uint64_t>(~0ull));
    // Fallbacks apply only to absent keys.
    QCOMPARE(g->getInt(QStringLiteral("absent"), 12), 12);
    QCOMPARE(g->getString(QStringLiteral("absent"), QStringLiteral("d")), QStringLiteral("d"));
    QCOMPARE(g->getFloat(QStringLiteral("absent"), 1.5), 1.5);
    QCOMPARE(g->getBool(QStringLiteral("absent"), true), true);
    QCOMPARE(g->getString(S, QStringLiteral("d")), QStringLiteral("text"));

    QS_VERIFY_ERROR(errorOf([&] { g->getInt(QStringLiteral("absent")); }),
                    (QStringList{path, QStringLiteral("'absent'"), QStringLiteral("missing")}));
    QS_VERIFY_ERROR(
        errorOf([&] { g->getInt(S, 3); }),
        (QStringList{path, QStringLiteral("'s'"), QStringLiteral("is string, expected an integer")}));
    QS_VERIFY_ERROR(errorOf([&] { g->getInt(QStringLiteral("u64big")); }),
                    (QStringList{path, QStringLiteral("'u64big'"), QStringLiteral("uint64")}));
    QS_VERIFY_ERROR(
        errorOf([&] { g->getString(QStringLiteral("u8")); }),
        (QStringList{path, QStringLiteral("'u8'"), QStringLiteral("is uint8, expected a string")}));
    QS_VERIFY_ERROR(errorOf([&] { g->getBool(QStringLiteral("u8")); }),
                    (QStringList{path, QStringLiteral("expected a bool")}));
    QS_VERIFY_ERROR(errorOf([&] { g->getFloat(S); }),
                    (QStringList{path, QStringLiteral("expected a number")}));
    QS_VERIFY_ERROR(errorOf([&] { g->getStrings(QStringLiteral("scores")); }),
                    (QStringList{path, QStringLiteral("'scores'"),
                                 QStringLiteral("is array of float32, expected an array of strings")}));
    QS_VERIFY_ERROR(errorOf([&] { g->getFloats(QStringLiteral("tokens")); }),
                    (QStringList{path, QStringLiteral("'tokens'"), QStringLiteral("array of numbers")}));
    QS_VERIFY_ERROR(errorOf([&] { g->getInts(QStringLiteral("scores")); }),
                    (QStringList{path, QStringLiteral("array of integers")}));
}

void TestGguf::writerErrors()
{
    QTemporaryDir tmp;
    GgufWriter w;
    const auto err = [](const std::function<void()>& f) { return errorOf(f); };
    const QString a = QStringLiteral("a");
    w.addTensorF32(a, GgmlType::F32, {2}, {1, 2});
    QS_VERIFY_ERROR(err([&] { w.addTensorF32(a, GgmlType::F32, {1}, {1}); }),
                    (QStringList{QStringLiteral("'a'"), QStringLiteral("duplicate tensor name")}));
    const QString longName(64, u'x');
    QS_VERIFY_ERROR(err([&] { w.addTensorF32(longName, GgmlType::F32, {1}, {1}); }),
                    (QStringList{longName, QStringLiteral("1 to 63 bytes"), QStringLiteral("has 64")}));
    QS_VERIFY_ERROR(err([&] {
                        w.addTensor(QStringLiteral("d5"), GgmlType::I8, {1, 1, 1, 1, 1}, QByteArray("x"));
                    }),
                    (QStringList{QStringLiteral("'d5'"), QStringLiteral("5 dimensions")}));
    QS_VERIFY_ERROR(err([&] {
                        w.addTensor(QStringLiteral("neg"), GgmlType::I8, {2, -1}, QByteArray());
                    }),
                    (QStringList{QStringLiteral("'neg'"), QStringLiteral("dimension 1 is negative")}));
    QS_VERIFY_ERROR(err([&] {
                        w.addTensor(QStringLiteral("q"), GgmlType::Q4_K, {128, 2}, QByteArray(144, 0));
                    }),
                    (QStringList{QStringLiteral("'q'"), QStringLiteral("row length 128"),
                                 QStringLiteral("Q4_K's block size 256")}));
    QS_VERIFY_ERROR(
        err([&] { w.addTensor(QStringLiteral("sz"), GgmlType::Q8_0, {32}, QByteArray(33, 0)); }),
        (QStringList{QStringLiteral("'sz'"), QStringLiteral("33 bytes given"), QStringLiteral("need 34")}));
    QS_VERIFY_ERROR(err([&] {
                        w.addTensorF32(QStringLiteral("few"), GgmlType::F16, {2, 3}, {1, 2});
                    }),
                    (QStringList{QStringLiteral("'few'"), QStringLiteral("2 values for 6 elements")}));
    QS_VERIFY_ERROR(
        err([&] { w.addTensorF32(QStringLiteral("q8"), GgmlType::Q8_0, {32}, std::vector<float>(32)); }),
        (QStringList{QStringLiteral("'q8'"), QStringLiteral("got Q8_0")}));
    QS_VERIFY_ERROR(
        err([&] { w.setAlignment(48); }),
        (QStringList{QStringLiteral("general.alignment"), QStringLiteral("48 is not a power of two")}));
    QS_VERIFY_ERROR(err([&] { w.setAlignment(0); }),
                    (QStringList{QStringLiteral("0 is not a power of two")}));
    QS_VERIFY_ERROR(
        err([&] { w.set(QStringLiteral("general.alignment"), std::uint64_t(32)); }),
        (QStringList{QStringLiteral("general.alignment"), QStringLiteral("must be uint32, not uint64")}));
    QCOMPARE(w.alignment(), 32u);
    QS_VERIFY_ERROR(err([&] { w.set(QString(), 1); }), (QStringList{QStringLiteral("1 to 65535 bytes")}));
    QS_VERIFY_ERROR(err([&] {
                        GgufValue::array(GgufValueType::Int32, {GgufValue(1), GgufValue(2.0f)});
                    }),
                    (QStringList{QStringLiteral("array of int32"), QStringLiteral("element 1 is float32")}));

    // A producer that writes too little or too much: an error naming file and tensor, and the
    // target keeps its previous contents (nothing half-written appears).
    const QString path = tmp.filePath(QStringLiteral("out.gguf"));
    QVERIFY(test::writeFile(path, "previous"));
    for (int extra : {-1, +1}) {
        GgufWriter p;
        p.addTensor(QStringLiteral("streamed"), GgmlType::F32, {4}, [extra](const GgufWriter::Sink& write) {
            const QByteArray b(16 + extra, 'z');
            write(b.constData(), std::size_t(b.size()));
        });
        QS_VERIFY_ERROR(err([&] { p.write(path); }), (QStringList{path, QStringLiteral("'streamed'"),
                                                                  extra < 0 ? QStringLiteral("wrote 15 bytes")
                                                                            : QStringLiteral("more than")}));
        QCOMPARE(readAll(path), QByteArray("previous"));
    }
    // An exception from the producer itself (a cancelled job) propagates; nothing is written.
    GgufWriter c;
    c.addTensor(QStringLiteral("c"), GgmlType::F32, {1}, [](const GgufWriter::Sink&) { throw Cancelled(); });
    const QString cpath = tmp.filePath(QStringLiteral("cancelled.gguf"));
    QVERIFY_THROWS_EXCEPTION(Cancelled, c.write(cpath));
    QVERIFY(!QFile::exists(cpath));
    QCOMPARE(QDir(tmp.path()).entryList(QDir::Files), QStringList{QStringLiteral("out.gguf")});

    const QString bad = tmp.filePath(QStringLiteral("no/such/dir/x.gguf"));
    QS_VERIFY_ERROR(err([&] { w.write(bad); }), (QStringList{bad}));
}

// --- hand-written files ---------------------------------------------------------------------

void TestGguf::parseValid_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QStringList>("tensors");
    QTest::newRow("v3, nothing in it") << Bytes().header(3, 0, 0).b << QStringList{};
    QTest::newRow("v2 with a tensor") << Bytes()
                                             .header(2, 1, 1)
                                             .key("k", GgufValueType::UInt8)
                                             .u8(1)
                                             .tensor("t", {2}, 0, 0)
                                             .padTo(32)
                                             .zeros(8)
                                             .b
                                      << QStringList{QStringLiteral("t")};
    // Offsets need not follow the info order, gaps are allowed, the last tensor need not be padded.
    QTest::newRow("out of order, gap, unpadded end")
        << Bytes().header(3, 2, 0).tensor("late", {1}, 0, 64).tensor("early", {1}, 0, 0).padTo(32).zeros(68).b
        << QStringList{QStringLiteral("late"), QStringLiteral("early")};
    QTest::newRow("zero-size tensors share offsets")
        << Bytes()
               .header(3, 3, 0)
               .tensor("z0", {0, 5}, 0, 0)
               .tensor("x", {1}, 0, 0)
               .tensor("z1", {256, 0}, 12, 0)
               .padTo(32)
               .zeros(4)
               .b
        << QStringList{QStringLiteral("z0"), QStringLiteral("x"), QStringLiteral("z1")};
    QTest::newRow("alignment 1") << Bytes()
                                        .header(3, 1, 1)
                                        .key("general.alignment", GgufValueType::UInt32)
                                        .u32(1)
                                        .tensor("t", {3}, 24, 0) // I8, 3 bytes, right after the infos
                                        .raw("abc")
                                        .b
                                 << QStringList{QStringLiteral("t")};
}

void TestGguf::parseValid()
{
    QFETCH(QByteArray, file);
    QFETCH(QStringList, tensors);
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("v.gguf"));
    QVERIFY(test::writeFile(path, file));
    const auto g = GgufFile::open(path);
    QStringList got;
    for (const GgufTensor& t : g->tensors())
        got << t.name;
    QCOMPARE(got, tensors);
}

// Every violation: the message names the file, the key or tensor where there is one, and the problem.
void TestGguf::parseErrors_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QStringList>("parts");
    const auto S = [](const char* s) { return QString::fromUtf8(s); };
    using T = GgufValueType;
    constexpr std::uint64_t kMax = ~0ull;
    /// A file with one tensor "w" (dims, type, offset) and `data` after the aligned header.
    const auto oneTensor = [](std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset,
                              qsizetype data) {
        return Bytes().header(3, 1, 0).tensor("w", std::move(dims), type, offset).padTo(32).zeros(data).b;
    };
    const auto oneKey = [](const QByteArray& key, T type) { return Bytes().header(3, 0, 1).key(key, type); };
    const QString w = S("tensor 'w'");
    const QString k = S("metadata key 'k'");

    // header
    QTest::newRow("empty file") << QByteArray() << QStringList{S("bad magic"), S("the file is empty")};
    QTest::newRow("3 bytes") << QByteArray("GGU") << QStringList{S("bad magic"), S("47 47 55")};
    QTest::newRow("bad magic") << Bytes().raw("GGML").u32(3).u64(0).u64(0).b
                               << QStringList{S("not a GGUF file: bad magic"), S("47 47 4d 4c")};
    QTest::newRow("magic only") << QByteArray("GGUF") << QStringList{S("truncated file"), S("the header")};
    QTest::newRow("truncated counts")
        << Bytes().raw("GGUF").u32(3).u64(0).b
        << QStringList{S("truncated file"), S("the header"), S("needs 8 bytes")};
    QTest::newRow("version 1") << Bytes().header(1, 0, 0).b
                               << QStringList{S("unsupported GGUF version 1"), S("only versions 2 and 3")};
    QTest::newRow("version 4") << Bytes().header(4, 0, 0).b << QStringList{S("unsupported GGUF version 4")};
    QTest::newRow("version 0") << Bytes().header(0, 0, 0).b << QStringList{S("unsupported GGUF version 0")};
    QTest::newRow("big-endian") << Bytes().header(0x03000000, 0, 0).b
                                << QStringList{S("big-endian GGUF (version 3) is not supported")};
    QTest::newRow("metadata count 2^64-1")
        << Bytes().header(3, 0, kMax).b
        << QStringList{S("metadata count 18446744073709551615"), S("cannot fit")};
    QTest::newRow("tensor count 2^64-1")
        << Bytes().header(3, kMax, 0).b
        << QStringList{S("tensor count 18446744073709551615"), S("cannot fit")};
    QTest::newRow("tensor count one too many") << Bytes().header(3, 2, 0).tensor("a", {1}, 0, 0).b
                                               << QStringList{S("tensor count 2"), S("cannot fit")};

    // metadata
    QTest::newRow("key length beyond the file")
        << Bytes().header(3, 0, 1).u64(1000).raw("k").u32(0).u8(0).b
        << QStringList{S("metadata entry 0 of 1 key"), S("string length 1000 exceeds")};
    QTest::newRow("key length 2^64-1") << Bytes().header(3, 0, 1).u64(kMax).raw("kkkkk").b
                                       << QStringList{S("metadata entry 0 of 1 key"), S("65535")};
    QTest::newRow("key over 65535 bytes")
        << Bytes().header(3, 0, 1).str(QByteArray(65536, 'k')).u32(0).u8(0).b
        << QStringList{S("length 65536 exceeds the format's limit of 65535 bytes")};
    QTest::newRow("unknown value type")
        << oneKey("k", T(13)).u64(0).b << QStringList{k, S("unknown value type 13")};
    QTest::newRow("value type 2^32-1")
        << oneKey("k", T(0xffffffffu)).u64(0).b << QStringList{k, S("unknown value type 4294967295")};
    QTest::newRow("truncated uint64 value")
        << oneKey("k", T::UInt64).u32(7).u8(0).b << QStringList{k, S("truncated file"), S("needs 8 bytes")};
    QTest::newRow("string value beyond the file")
        << oneKey("k", T::String).u64(6).raw("abcde").b
        << QStringList{k, S("string length 6 exceeds the 5 bytes left")};
    QTest::newRow("string length 2^64-1") << oneKey("k", T::String).u64(kMax).raw("abcde").b
                                          << QStringList{k, S("string length 18446744073709551615")};
    QTest::newRow("bool 2") << oneKey("k", T::Bool).u8(2).u64(0).b
                            << QStringList{k, S("bool value 2 is neither 0 nor 1")};
    QTest::newRow("unknown array element type")
        << oneKey("k", T::Array).u32(13).u64(0).b << QStringList{k, S("unknown array element type 13")};
    QTest::newRow("array count overflows")
        << oneKey("k", T::Array).u32(4).u64(1ull << 62).u32(0).b
        << QStringList{k, S("array of 4611686018427387904 uint32"), S("cannot fit")};
    QTest::newRow("array of strings truncated")
        << oneKey("k", T::Array).u32(8).u64(2).str("ab").u64(3).raw("xy").b
        << QStringList{k, S("string length 3 exceeds the 2 bytes left")};
    QTest::newRow("array of arrays count") << oneKey("k", T::Array).u32(9).u64(3).u32(0).u64(0).b
                                           << QStringList{k, S("array of 3 array elements")};
    {
        Bytes deep = oneKey("k", T::Array);
        for (int i = 0; i < 40; ++i)
            deep.u32(9).u64(1);
        deep.u32(0).u64(0);
        QTest::newRow("arrays nested 41 deep") << deep.b << QStringList{k, S("nested deeper than 32 levels")};
    }
    QTest::newRow("duplicate key")
        << Bytes().header(3, 0, 3).key("a", T::UInt8).u8(1).key("k", T::UInt8).u8(1).key("k", T::Int8).u8(2).b
        << QStringList{S("duplicate metadata key 'k' (entries 1 and 2)")};
    QTest::newRow("alignment not uint32") << oneKey("general.alignment", T::UInt64).u64(32).b
                                          << QStringList{S("'general.alignment' must be uint32, not uint64")};
    QTest::newRow("alignment 48") << oneKey("general.alignment", T::UInt32).u32(48).b
                                  << QStringList{S("'general.alignment'"),
                                                 S("alignment 48 is not a power of two")};
    QTest::newRow("alignment 0") << oneKey("general.alignment", T::UInt32).u32(0).b
                                 << QStringList{S("alignment 0 is not a power of two")};

    // tensor infos
    QTest::newRow("tensor name beyond the file")
        << Bytes().header(3, 1, 0).u64(900).raw(QByteArray(20, 'n')).b
        << QStringList{S("tensor info 0 of 1 name"), S("string length 900")};
    QTest::newRow("5 dims") << oneTensor({1, 1, 1, 1, 1}, 0, 0, 4)
                            << QStringList{w, S("5 dimensions (GGUF allows at most 4)")};
    QTest::newRow("n_dims 2^32-1") << Bytes().header(3, 1, 0).str("w").u32(0xffffffffu).zeros(16).b
                                   << QStringList{w, S("4294967295 dimensions")};
    QTest::newRow("dim beyond int64")
        << oneTensor({2, kMax}, 0, 0, 0)
        << QStringList{w, S("dimension 1 is 18446744073709551615, beyond int64")};
    QTest::newRow("element count overflow")
        << oneTensor({1ull << 32, 1ull << 32}, 0, 0, 0) << QStringList{w, S("element count overflows int64")};
    QTest::newRow("byte size overflow")
        << oneTensor({1ull << 31, 1ull << 31}, 0, 0, 0) << QStringList{w, S("byte size overflows 64 bits")};
    QTest::newRow("retired type id 4")
        << oneTensor({32}, 4, 0, 32) << QStringList{w, S("unknown or retired ggml type id 4")};
    QTest::newRow("retired type id 36")
        << oneTensor({32}, 36, 0, 32) << QStringList{w, S("unknown or retired ggml type id 36")};
    QTest::newRow("unknown type id 39")
        << oneTensor({32}, 39, 0, 32) << QStringList{w, S("unknown or retired ggml type id 39")};
    QTest::newRow("row not a multiple of the block")
        << oneTensor({33, 2}, 2, 0, 64)
        << QStringList{w, S("row length 33 is not a multiple of Q4_0's block size 32")};
    QTest::newRow("k-quant row of 128")
        << oneTensor({128}, 12, 0, 144) << QStringList{w, S("row length 128"), S("Q4_K's block size 256")};
    QTest::newRow("misaligned offset")
        << oneTensor({4}, 0, 4, 64)
        << QStringList{w, S("data offset 4 is not a multiple of the alignment 32")};
    QTest::newRow("misaligned for alignment 64")
        << Bytes()
               .header(3, 1, 1)
               .key("general.alignment", T::UInt32)
               .u32(64)
               .tensor("w", {4}, 0, 32)
               .padTo(64)
               .zeros(64)
               .b
        << QStringList{w, S("data offset 32 is not a multiple of the alignment 64")};
    QTest::newRow("offset beyond the file")
        << oneTensor({4}, 0, 1024, 16)
        << QStringList{w, S("data [1024, 1024 + 16)"), S("outside the data section")};
    QTest::newRow("offset + bytes overflows")
        << oneTensor({4}, 0, kMax - 31, 16) << QStringList{w, S("outside the data section")};
    QTest::newRow("truncated data") << oneTensor({8}, 0, 0, 31)
                                    << QStringList{w, S("data section of 31 bytes"), S("truncated file?")};
    QTest::newRow("data section missing")
        << Bytes().header(3, 1, 0).tensor("w", {1}, 0, 0).b << QStringList{w, S("data section of 0 bytes")};
    QTest::newRow("truncated tensor info")
        << Bytes().header(3, 1, 0).str("w").u32(2).u64(4).zeros(10).b << QStringList{w, S("truncated file")};
    QTest::newRow("duplicate tensor name")
        << Bytes().header(3, 2, 0).tensor("w", {1}, 0, 0).tensor("w", {1}, 0, 32).padTo(32).zeros(64).b
        << QStringList{S("duplicate tensor name 'w' (tensors 0 and 1)")};
    QTest::newRow("overlapping tensors")
        << Bytes().header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).padTo(32).zeros(96).b
        << QStringList{S("tensors 'a' and 'b' overlap"), S("[0, 64) and [32, 96)")};
    QTest::newRow("same offset twice")
        << Bytes().header(3, 2, 0).tensor("a", {4}, 0, 0).tensor("b", {8}, 0, 0).padTo(32).zeros(32).b
        << QStringList{S("tensors 'a' and 'b' overlap")};
}

void TestGguf::parseErrors()
{
    QFETCH(QByteArray, file);
    QFETCH(QStringList, parts);
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("bad.gguf"));
    QVERIFY(test::writeFile(path, file));
    QS_VERIFY_ERROR(errorOf([&] { GgufFile::open(path); }), QStringList{path + u": "} + parts);
}

// Real GGUF files (llama.cpp's own output) from the shared data folder or $QUANTSCOPE_GGUF_DIR:
// they parse, and small ones rewrite byte-identically through GgufWriter (same layout as llama.cpp).
void TestGguf::realFiles()
{
    QStringList roots{test::dataDir(), qEnvironmentVariable("QUANTSCOPE_GGUF_DIR")};
    QStringList files;
    for (const QString& root : roots) {
        if (root.isEmpty() || !QDir(root).exists())
            continue;
        QDirIterator it(root, {QStringLiteral("*.gguf")}, QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext())
            files << it.next();
    }
    if (files.isEmpty())
        QSKIP("no .gguf files in the shared data folder or $QUANTSCOPE_GGUF_DIR");
    QTemporaryDir tmp;
    for (const QString& path : files) {
        const auto g = GgufFile::open(path);
        qInfo("%s: v%u, %d keys, %d tensors, alignment %u", qPrintable(path), g->version(),
              int(g->metadata().size()), int(g->tensors().size()), g->alignment());
        for (const GgufTensor& t : g->tensors()) {
            if (ggufIsPlainFloat(t.type) && t.numel() <= (1 << 20)) {
                const std::vector<float> v = g->readF32(t);
                QCOMPARE(std::int64_t(v.size()), t.numel());
                break;
            }
        }
        if (g->fileSize() > (64u << 20) || g->version() != 3)
            continue;
        GgufWriter w;
        for (const GgufKeyValue& kv : g->metadata())
            w.set(kv.key, kv.value);
        for (const GgufTensor& t : g->tensors())
            w.addTensor(t.name, t.type, t.dims,
                        QByteArray(reinterpret_cast<const char*>(g->data(t)), qsizetype(t.bytes)));
        const QString out = tmp.filePath(QStringLiteral("copy.gguf"));
        w.write(out);
        QVERIFY2(readAll(out) == readAll(path), qPrintable(path + u" does not rewrite byte-identically"));
    }
}

QTEST_GUILESS_MAIN(TestGguf)
#include "tst_gguf.moc"
