// The safetensors reader, writer and TensorStore: every rule of the format, each violation's
// message (file, tensor, what is wrong), sharded folders and NaN/Inf checks on reads.
// Malformed files are built here at test time in a temporary folder.
#include "TestSupport.h"
#include "io/Safetensors.h"
#include "io/SafetensorsWriter.h"
#include "io/TensorStore.h"
#include "kernels/Convert.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>

using namespace qs;

namespace {

using qs::test::checkMessage;
using qs::test::errorOf;

QByteArray le64(std::uint64_t n)
{
    QByteArray b(8, '\0');
    for (int i = 0; i < 8; ++i)
        b[i] = char((n >> (8 * i)) & 0xffu);
    return b;
}

/// A file: 8-byte header length (the header's own size unless given), header, data.
QByteArray stFile(const QByteArray& header, const QByteArray& data = {},
                  std::optional<std::uint64_t> declared = {})
{
    return le64(declared.value_or(std::uint64_t(header.size()))) + header + data;
}

template <typename T>
QByteArray rawOf(std::initializer_list<T> values)
{
    QByteArray b;
    for (const T& v : values)
        b.append(reinterpret_cast<const char*>(&v), qsizetype(sizeof(T)));
    return b;
}

/// A valid file of 1-D f32 tensors, written by hand (independent of SafetensorsWriter).
QByteArray f32File(const QList<std::pair<QString, QList<float>>>& tensors)
{
    QJsonObject header;
    QByteArray data;
    for (const auto& [name, values] : tensors) {
        const qint64 begin = data.size();
        for (float v : values)
            data.append(reinterpret_cast<const char*>(&v), 4);
        header.insert(name,
                      QJsonObject{{QStringLiteral("dtype"), QStringLiteral("F32")},
                                  {QStringLiteral("shape"), QJsonArray{qint64(values.size())}},
                                  {QStringLiteral("data_offsets"), QJsonArray{begin, qint64(data.size())}}});
    }
    return stFile(QJsonDocument(header).toJson(QJsonDocument::Compact), data);
}

QByteArray indexJson(const QList<std::pair<QString, QString>>& map)
{
    QJsonObject wm;
    for (const auto& [tensor, file] : map)
        wm.insert(tensor, file);
    return QJsonDocument(
               QJsonObject{{QStringLiteral("metadata"), QJsonObject{{QStringLiteral("total_size"), 0}}},
                           {QStringLiteral("weight_map"), wm}})
        .toJson();
}


std::uint32_t bitsOf(float f)
{
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

float bf16(std::uint16_t b)
{
    return ref::bf16ToF32(b);
}

} // namespace

class TestSafetensors : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void roundTrip_data();
    void roundTrip();
    void writerMetadataAndLayout();
    void writerHolesAndConversion();
    void parseValid_data();
    void parseValid();
    void parseErrors_data();
    void parseErrors();
    void store_data();
    void store();
    void finiteCheck_data();
    void finiteCheck();
    void rowsOutOfRange_data();
    void rowsOutOfRange();
};

// --- valid files ----------------------------------------------------------------------------

void TestSafetensors::roundTrip_data()
{
    QTest::addColumn<int>("dtype");
    QTest::addColumn<QList<qint64>>("shape");
    QTest::addColumn<QByteArray>("raw");
    QTest::addColumn<QList<float>>("expected");
    QTest::newRow("F64 [2,2]") << int(DType::F64) << QList<qint64>{2, 2}
                               << rawOf<double>({1.5, -2.25, 1e10, 0.1})
                               << QList<float>{1.5f, -2.25f, 1e10f, 0.1f};
    QTest::newRow("F32 [3]") << int(DType::F32) << QList<qint64>{3} << rawOf<float>({1.0f, -0.0f, 3.4e38f})
                             << QList<float>{1.0f, -0.0f, 3.4e38f};
    QTest::newRow("F16 [2,3]") << int(DType::F16) << QList<qint64>{2, 3}
                               << rawOf<std::uint16_t>({0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555})
                               << QList<float>{1.0f,  -2.0f,          65504.0f, std::ldexp(1.0f, -24),
                                               -0.0f, 0.333251953125f};
    QTest::newRow("BF16 [4]") << int(DType::BF16) << QList<qint64>{4}
                              << rawOf<std::uint16_t>({0x3f80, 0xc000, 0x7f7f, 0x0001})
                              << QList<float>{1.0f, -2.0f, bf16(0x7f7f), bf16(0x0001)};
    QTest::newRow("I64 [2]") << int(DType::I64) << QList<qint64>{2}
                             << rawOf<std::int64_t>({-5, 1234567890123})
                             << QList<float>{-5.0f, 1234567890123.0f};
    QTest::newRow("I32 [2,1]") << int(DType::I32) << QList<qint64>{2, 1}
                               << rawOf<std::int32_t>({std::numeric_limits<std::int32_t>::min(), 7})
                               << QList<float>{-2147483648.0f, 7.0f};
    QTest::newRow("I16 [3]") << int(DType::I16) << QList<qint64>{3} << rawOf<std::int16_t>({-32768, 32767, 0})
                             << QList<float>{-32768.0f, 32767.0f, 0.0f};
    QTest::newRow("I8 [4]") << int(DType::I8) << QList<qint64>{4} << rawOf<std::int8_t>({-128, 127, -1, 0})
                            << QList<float>{-128.0f, 127.0f, -1.0f, 0.0f};
    QTest::newRow("U8 [2,2]") << int(DType::U8) << QList<qint64>{2, 2}
                              << rawOf<std::uint8_t>({0, 255, 128, 1})
                              << QList<float>{0.0f, 255.0f, 128.0f, 1.0f};
    QTest::newRow("BOOL [3]") << int(DType::Bool) << QList<qint64>{3} << rawOf<std::uint8_t>({0, 1, 1})
                              << QList<float>{0.0f, 1.0f, 1.0f};
    QTest::newRow("scalar F32 []") << int(DType::F32) << QList<qint64>{} << rawOf<float>({42.5f})
                                   << QList<float>{42.5f};
    QTest::newRow("zero-size F32 [0,4]")
        << int(DType::F32) << QList<qint64>{0, 4} << QByteArray() << QList<float>{};
    QTest::newRow("zero-size F16 [3,0]")
        << int(DType::F16) << QList<qint64>{3, 0} << QByteArray() << QList<float>{};
    QTest::newRow("4-D F32 [1,1,2,2]") << int(DType::F32) << QList<qint64>{1, 1, 2, 2}
                                       << rawOf<float>({1.0f, 2.0f, 3.0f, 4.0f}) << QList<float>{1, 2, 3, 4};
}

void TestSafetensors::roundTrip()
{
    QFETCH(int, dtype);
    QFETCH(QList<qint64>, shape);
    QFETCH(QByteArray, raw);
    QFETCH(QList<float>, expected);
    const auto dt = DType(dtype);
    const std::vector<std::int64_t> dims(shape.begin(), shape.end());
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath(QStringLiteral("t.safetensors"));
    const QString name = QStringLiteral("model.layers.0.weight");

    SafetensorsWriter w;
    w.addTensorF32(QStringLiteral("before"), DType::F32, {1}, {7.0f});
    w.addTensor(name, dt, dims, [raw](unsigned char* dst, std::uint64_t bytes) {
        QCOMPARE(bytes, std::uint64_t(raw.size()));
        if (bytes) std::memcpy(dst, raw.constData(), bytes);
    });
    w.addTensorF32(QStringLiteral("after"), DType::F32, {2}, {8.0f, 9.0f});
    w.write(path);

    const auto st = SafetensorsFile::open(path);
    QCOMPARE(st->path(), path);
    QCOMPARE(int(st->tensors().size()), 3);
    QVERIFY(st->metadata().isEmpty());
    const TensorInfo* t = st->find(name);
    QVERIFY(t);
    QCOMPARE(t->name, name);
    QCOMPARE(t->dtype, dt);
    QCOMPARE(t->shape, dims);
    QCOMPARE(t->numel(), std::int64_t(expected.size()));
    QCOMPARE(t->bytes(), std::uint64_t(raw.size()));
    QCOMPARE(t->begin, std::uint64_t(4));
    QCOMPARE(t->rows(), dims.empty() ? std::int64_t(1) : dims[0]);
    QCOMPARE(t->rows() * t->cols(), t->numel());
    QCOMPARE(QByteArray(reinterpret_cast<const char*>(st->data(*t)), qsizetype(t->bytes())), raw);
    QCOMPARE(st->find(QStringLiteral("after"))->begin, t->end);
    QCOMPARE(st->fileSize(), 8 + st->headerBytes() + t->end + 8);
    QVERIFY(!st->find(QStringLiteral("absent")));

    const TensorStore store = TensorStore::open(path);
    QCOMPARE(store.names(), (QStringList{QStringLiteral("before"), name, QStringLiteral("after")}));
    const std::vector<float> values = store.readF32(name, FiniteCheck::Throw);
    QCOMPARE(qsizetype(values.size()), expected.size());
    for (qsizetype i = 0; i < expected.size(); ++i)
        QCOMPARE(bitsOf(values[std::size_t(i)]), bitsOf(expected[i]));
    QCOMPARE(store.readF32(QStringLiteral("after")), (std::vector<float>{8.0f, 9.0f}));
    QCOMPARE(store.totalBytes(), std::uint64_t(raw.size()) + 12);
}

void TestSafetensors::writerMetadataAndLayout()
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("meta.safetensors"));
    SafetensorsWriter w;
    w.setMetadata(QStringLiteral("format"), QStringLiteral("pt"));
    w.setMetadata(QStringLiteral("note"), QStringLiteral("grüße, 量子化"));
    w.addTensorF32(QStringLiteral("a"), DType::F32, {3}, {1, 2, 3}); // 12 bytes: next tensor unaligned
    w.addTensorF32(QStringLiteral("b"), DType::F32, {1}, {4});
    w.write(path);
    const auto st = SafetensorsFile::open(path);
    QCOMPARE(st->metadata().size(), 2);
    QCOMPARE(st->metadata().value(QStringLiteral("format")), QStringLiteral("pt"));
    QCOMPARE(st->metadata().value(QStringLiteral("note")), QStringLiteral("grüße, 量子化"));
    QCOMPARE(st->headerBytes() % 8, std::uint64_t(0)); // writer pads so the data section is aligned
    QCOMPARE(QByteArray(w.headerJson()).size(), qsizetype(st->headerBytes()));
    QCOMPARE(st->tensors()[0].name, QStringLiteral("a"));
    QCOMPARE(st->tensors()[1].begin, std::uint64_t(12));

    // No tensors at all: a header of just the metadata (or "{}") is a valid file.
    SafetensorsWriter empty;
    const QString emptyPath = tmp.filePath(QStringLiteral("empty.safetensors"));
    empty.write(emptyPath);
    QVERIFY(SafetensorsFile::open(emptyPath)->tensors().empty());

    // Writing into a folder that does not exist fails with the path in the message.
    const QString bad = tmp.filePath(QStringLiteral("no/such/dir/x.safetensors"));
    QS_VERIFY_ERROR(errorOf([&] { w.write(bad); }), (QStringList{bad}));
}

void TestSafetensors::writerHolesAndConversion()
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("holes.safetensors"));
    SafetensorsWriter w;
    w.addTensor(QStringLiteral("hole"), DType::BF16, {64, 64});
    w.addTensorF32(QStringLiteral("f16"), DType::F16, {3}, {1.0f, -2.0f, 65520.0f});
    w.addTensorF32(QStringLiteral("bf16"), DType::BF16, {2}, {1.0f, 1.0f + std::ldexp(1.0f, -8)});
    w.addTensor(QStringLiteral("tailhole"), DType::F32, {5});
    w.write(path);
    const TensorStore s = TensorStore::open(path);
    const std::vector<float> zeros = s.readF32(QStringLiteral("hole"));
    QCOMPARE(zeros.size(), std::size_t(64 * 64));
    QVERIFY(std::all_of(zeros.begin(), zeros.end(), [](float v) { return bitsOf(v) == 0; }));
    QCOMPARE(s.readF32(QStringLiteral("tailhole")), std::vector<float>(5, 0.0f));
    const std::vector<float> h = s.readF32(QStringLiteral("f16"));
    QCOMPARE(h[0], 1.0f);
    QCOMPARE(h[1], -2.0f);
    QVERIFY(std::isinf(h[2])); // 65520 rounds to inf in f16
    QCOMPARE(s.readF32(QStringLiteral("bf16")), (std::vector<float>{1.0f, 1.0f})); // tie to even
    // Misuse of the convenience is an error, not a write past the buffer.
    SafetensorsWriter bad;
    QS_VERIFY_ERROR(errorOf([&] {
                        bad.addTensorF32(QStringLiteral("few"), DType::F32, {2, 3}, {1, 2});
                    }),
                    (QStringList{QStringLiteral("'few'"), QStringLiteral("2 values for 6 elements")}));
    QS_VERIFY_ERROR(errorOf([&] {
                        bad.addTensorF32(QStringLiteral("i8"), DType::I8, {2}, {1, 2});
                    }),
                    (QStringList{QStringLiteral("'i8'"), QStringLiteral("got i8")}));
    QS_VERIFY_ERROR(errorOf([&] { s.readF32(QStringLiteral("f16"), FiniteCheck::Throw); }),
                    (QStringList{path, QStringLiteral("'f16'"), QStringLiteral("row 2, column 0")}));
}

// Hand-written files the format allows.
void TestSafetensors::parseValid_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<QStringList>("names"); // in data-offset order
    QTest::newRow("empty header {}") << stFile("{}") << QStringList{};
    QTest::newRow("whitespace-padded header") << stFile("{}      ") << QStringList{};
    QTest::newRow("metadata only") << stFile(R"({"__metadata__":{"format":"pt"}})") << QStringList{};
    QTest::newRow("JSON order differs from offset order")
        << stFile(R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]},)"
                  R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                  "xyz")
        << QStringList{QStringLiteral("a"), QStringLiteral("b")};
    QTest::newRow("zero-size tensors at start, middle and end")
        << stFile(R"({"z0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                  R"("x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                  R"("z1":{"dtype":"F16","shape":[4,0],"data_offsets":[2,2]},)"
                  R"("y":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},)"
                  R"("z2":{"dtype":"BF16","shape":[0,7],"data_offsets":[3,3]}})",
                  "abc")
        << QStringList{QStringLiteral("z0"), QStringLiteral("x"), QStringLiteral("z1"), QStringLiteral("y"),
                       QStringLiteral("z2")};
    QTest::newRow("scalar") << stFile(R"({"s":{"dtype":"I16","shape":[],"data_offsets":[0,2]}})", "ab")
                            << QStringList{QStringLiteral("s")};
    QTest::newRow("integral numbers written as 2.0")
        << stFile(R"({"s":{"dtype":"U8","shape":[2.0],"data_offsets":[0.0,2e0]}})", "ab")
        << QStringList{QStringLiteral("s")};
    // Zero elements: the product never overflows, whatever the other dims (as the reference reads it).
    QTest::newRow("zero dim next to huge dims")
        << stFile(R"({"z":{"dtype":"U8","shape":[0,4294967296,4294967296,2],"data_offsets":[0,0]}})")
        << QStringList{QStringLiteral("z")};
}

void TestSafetensors::parseValid()
{
    QFETCH(QByteArray, file);
    QFETCH(QStringList, names);
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("v.safetensors"));
    QVERIFY(test::writeFile(path, file));
    const auto st = SafetensorsFile::open(path);
    QStringList got;
    for (const TensorInfo& t : st->tensors())
        got << t.name;
    QCOMPARE(got, names);
}

// Every violation: the message names the file, the tensor where there is one, and the problem.
void TestSafetensors::parseErrors_data()
{
    QTest::addColumn<QByteArray>("file");
    QTest::addColumn<qint64>("sparseSize"); // > 0: extend the file to this size with a hole
    QTest::addColumn<QStringList>("parts");
    const auto S = [](const char* s) { return QString::fromUtf8(s); };
    const auto one = [](const QByteArray& entry, const QByteArray& data = {}) {
        return stFile("{\"model.w\":" + entry + "}", data);
    };
    const QString w = QStringLiteral("'model.w'");

    QTest::newRow("empty file") << QByteArray() << qint64(0)
                                << QStringList{S("0 bytes"), S("shorter than the 8-byte")};
    QTest::newRow("7-byte file") << QByteArray("1234567") << qint64(0)
                                 << QStringList{S("7 bytes"), S("shorter than")};
    QTest::newRow("header size larger than file")
        << stFile("{}", {}, 1000) << qint64(0)
        << QStringList{S("header size 1000"), S("larger than the file")};
    QTest::newRow("header size one past the end")
        << stFile("{}  ", {}, 5) << qint64(0) << QStringList{S("header size 5"), S("larger than the file")};
    QTest::newRow("header size 2^64-1")
        << stFile("{}", {}, ~std::uint64_t(0)) << qint64(0) << QStringList{S("larger than the file")};
    QTest::newRow("header size over 100 MB") << stFile("{", {}, 100'000'001) << qint64(8 + 100'000'001)
                                             << QStringList{S("header size 100000001"), S("100 MB")};
    QTest::newRow("header size 0") << stFile("", "abcd") << qint64(0)
                                   << QStringList{S("must start with '{'")};
    QTest::newRow("header starts with space")
        << stFile(" {}") << qint64(0) << QStringList{S("must start with '{'")};
    QTest::newRow("header is a JSON array")
        << stFile("[1,2]") << qint64(0) << QStringList{S("not a JSON object")};
    QTest::newRow("header is binary")
        << stFile(QByteArray("\x00\x01\x02\x03", 4)) << qint64(0) << QStringList{S("must start with '{'")};
    QTest::newRow("invalid JSON") << stFile(R"({"a": )") << qint64(0)
                                  << QStringList{S("invalid JSON header")};
    QTest::newRow("JSON with trailing garbage")
        << stFile(R"({} [])") << qint64(0) << QStringList{S("invalid JSON header")};
    QTest::newRow("tensor entry not an object")
        << one("5") << qint64(0) << QStringList{w, S("not an object")};

    // dtype
    QTest::newRow("unknown dtype") << one(R"({"dtype":"Q4_K","shape":[1],"data_offsets":[0,1]})", "x")
                                   << qint64(0) << QStringList{w, S("unknown dtype 'Q4_K'")};
    QTest::newRow("dtype is case-sensitive")
        << one(R"({"dtype":"f32","shape":[1],"data_offsets":[0,4]})", "abcd") << qint64(0)
        << QStringList{w, S("unknown dtype 'f32'")};
    QTest::newRow("F8 dtype not supported")
        << one(R"({"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]})", "x") << qint64(0)
        << QStringList{w, S("unknown dtype 'F8_E4M3'")};
    QTest::newRow("missing dtype") << one(R"({"shape":[1],"data_offsets":[0,1]})", "x") << qint64(0)
                                   << QStringList{w, S("missing dtype")};
    QTest::newRow("dtype not a string") << one(R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})", "abcd")
                                        << qint64(0) << QStringList{w, S("dtype")};

    // shape
    QTest::newRow("missing shape") << one(R"({"dtype":"U8","data_offsets":[0,1]})", "x") << qint64(0)
                                   << QStringList{w, S("missing shape")};
    QTest::newRow("shape not an array") << one(R"({"dtype":"U8","shape":1,"data_offsets":[0,1]})", "x")
                                        << qint64(0) << QStringList{w, S("shape")};
    QTest::newRow("negative shape") << one(R"({"dtype":"U8","shape":[-1],"data_offsets":[0,1]})", "x")
                                    << qint64(0) << QStringList{w, S("non-negative integers")};
    QTest::newRow("fractional shape") << one(R"({"dtype":"U8","shape":[1.5],"data_offsets":[0,1]})", "x")
                                      << qint64(0) << QStringList{w, S("non-negative integers")};
    QTest::newRow("string in shape") << one(R"({"dtype":"U8","shape":["1"],"data_offsets":[0,1]})", "x")
                                     << qint64(0) << QStringList{w, S("non-negative integers")};
    QTest::newRow("shape beyond 2^53") << one(R"({"dtype":"U8","shape":[1e300],"data_offsets":[0,1]})", "x")
                                       << qint64(0) << QStringList{w, S("non-negative integers")};
    QTest::newRow("shape product overflow")
        << one(R"({"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]})") << qint64(0)
        << QStringList{w, S("shape overflows 64 bits")};
    QTest::newRow("byte size overflow")
        << one(R"({"dtype":"F64","shape":[2147483648,2147483648],"data_offsets":[0,0]})") << qint64(0)
        << QStringList{w, S("byte size overflows 64 bits")};
    QTest::newRow("element count beyond int64")
        << one(R"({"dtype":"U8","shape":[4294967296,2147483648],"data_offsets":[0,0]})") << qint64(0)
        << QStringList{w, S("9223372036854775808 bytes but data_offsets span 0 bytes")};

    // data_offsets
    QTest::newRow("missing data_offsets") << one(R"({"dtype":"U8","shape":[1]})", "x") << qint64(0)
                                          << QStringList{w, S("data_offsets must be two")};
    QTest::newRow("data_offsets with one entry")
        << one(R"({"dtype":"U8","shape":[1],"data_offsets":[1]})", "x") << qint64(0)
        << QStringList{w, S("data_offsets must be two")};
    QTest::newRow("data_offsets with three entries")
        << one(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})", "x") << qint64(0)
        << QStringList{w, S("data_offsets must be two")};
    QTest::newRow("negative offset") << one(R"({"dtype":"U8","shape":[1],"data_offsets":[-1,0]})", "x")
                                     << qint64(0)
                                     << QStringList{w, S("data_offsets must be two non-negative integers")};
    QTest::newRow("fractional offset") << one(R"({"dtype":"U8","shape":[1],"data_offsets":[0,0.5]})", "x")
                                       << qint64(0) << QStringList{w, S("data_offsets must be two")};
    QTest::newRow("end before begin") << one(R"({"dtype":"U8","shape":[0],"data_offsets":[4,2]})", "abcd")
                                      << qint64(0) << QStringList{w, S("end 2 is before begin 4")};
    QTest::newRow("shape x dtype != byte range")
        << one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", "abcd") << qint64(0)
        << QStringList{w, S("shape × dtype is 8 bytes but data_offsets span 4 bytes")};
    QTest::newRow("bf16 counted as 4 bytes")
        << one(R"({"dtype":"BF16","shape":[2],"data_offsets":[0,8]})", "abcdefgh") << qint64(0)
        << QStringList{w, S("is 4 bytes but data_offsets span 8")};
    QTest::newRow("truncated file: offsets beyond data")
        << one(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})", "abcdefgh") << qint64(0)
        << QStringList{w, S("[0, 16] out of range"), S("has 8 bytes"), S("truncated")};
    QTest::newRow("no data section at all") << one(R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})")
                                            << qint64(0) << QStringList{w, S("out of range")};

    // layout of the data section
    QTest::newRow("overlapping tensors")
        << stFile(R"({"first.w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                  R"("second.w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                  "abcdefghijkl")
        << qint64(0) << QStringList{S("'first.w'"), S("'second.w'"), S("overlap")};
    QTest::newRow("identical ranges")
        << stFile(R"({"first.w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                  R"("second.w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                  "abcd")
        << qint64(0) << QStringList{S("'first.w'"), S("'second.w'"), S("overlap")};
    QTest::newRow("zero-size tensor inside another")
        << stFile(R"({"first.w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                  R"("second.w":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})",
                  "abcd")
        << qint64(0) << QStringList{S("'second.w'"), S("overlap")};
    QTest::newRow("gap between tensors")
        << stFile(R"({"first.w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                  R"("second.w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                  "abcdefghijkl")
        << qint64(0) << QStringList{S("gap"), S("before tensor 'second.w'"), S("bytes 4..8")};
    QTest::newRow("gap at the start")
        << one(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})", "abcdefgh") << qint64(0)
        << QStringList{w, S("gap"), S("bytes 0..4")};
    QTest::newRow("trailing bytes not covered")
        << one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})", "abcdefgh") << qint64(0)
        << QStringList{S("data section has 8 bytes but the tensors cover 4")};
    QTest::newRow("data but no tensors")
        << stFile("{}", "xx") << qint64(0)
        << QStringList{S("data section has 2 bytes but the tensors cover 0")};

    // __metadata__
    QTest::newRow("__metadata__ non-string value")
        << stFile(R"({"__metadata__":{"format":"pt","step":1000}})") << qint64(0)
        << QStringList{S("__metadata__ value 'step' is not a string")};
    QTest::newRow("__metadata__ nested object")
        << stFile(R"({"__metadata__":{"x":{}}})") << qint64(0) << QStringList{S("__metadata__ value 'x'")};
    QTest::newRow("__metadata__ not an object") << stFile(R"({"__metadata__":"pt"})") << qint64(0)
                                                << QStringList{S("__metadata__ must be an object")};
}

void TestSafetensors::parseErrors()
{
    QFETCH(QByteArray, file);
    QFETCH(qint64, sparseSize);
    QFETCH(QStringList, parts);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString path = tmp.filePath(QStringLiteral("bad.safetensors"));
    QVERIFY(test::writeFile(path, file));
    if (sparseSize > 0) QVERIFY(QFile::resize(path, sparseSize)); // a hole: costs no disk
    const QString msg = errorOf([&] { SafetensorsFile::open(path); });
    QS_VERIFY_ERROR(msg, QStringList{path} + parts);
    QVERIFY2(msg.startsWith(path + u": "), qPrintable(msg));
    // TensorStore reports the same error, for a file and for its folder.
    QS_VERIFY_ERROR(errorOf([&] { TensorStore::open(path); }), QStringList{path} + parts);
    QS_VERIFY_ERROR(errorOf([&] { TensorStore::open(tmp.path()); }), QStringList{path} + parts);
}

// --- TensorStore: folders, shards, index ------------------------------------------------------

void TestSafetensors::store_data()
{
    QTest::addColumn<QVariantMap>("files"); // relative name -> contents
    QTest::addColumn<QString>("open");      // relative path to open ("" = the folder)
    QTest::addColumn<QStringList>("names"); // on success, in store order
    QTest::addColumn<QStringList>("parts"); // on failure, what the message must contain
    QTest::addColumn<QString>("errorFile"); // on failure, the file the message must name
    const QString shard1 = QStringLiteral("model-00001-of-00002.safetensors");
    const QString shard2 = QStringLiteral("model-00002-of-00002.safetensors");
    const QString index = QStringLiteral("model.safetensors.index.json");
    const auto S = [](const char* s) { return QString::fromUtf8(s); };
    const QByteArray ab = f32File({{S("a"), {1, 2}}, {S("b"), {3}}});
    const QByteArray c = f32File({{S("c"), {4, 5, 6}}});
    const QList<std::pair<QString, QString>> goodMap{{S("a"), shard1}, {S("b"), shard1}, {S("c"), shard2}};
    const QStringList abc{S("a"), S("b"), S("c")};

    QTest::newRow("sharded folder") << QVariantMap{{shard1, ab}, {shard2, c}, {index, indexJson(goodMap)}}
                                    << QString() << abc << QStringList{} << QString();
    QTest::newRow("index names shards out of order")
        << QVariantMap{{shard1, ab},
                       {shard2, c},
                       {index, indexJson({{S("c"), shard2}, {S("a"), shard1}, {S("b"), shard1}})}}
        << QString() << abc << QStringList{} << QString();
    QTest::newRow("single model.safetensors") << QVariantMap{{S("model.safetensors"), ab}} << QString()
                                              << QStringList{S("a"), S("b")} << QStringList{} << QString();
    QTest::newRow("one file of another name") << QVariantMap{{S("weights.safetensors"), c}} << QString()
                                              << QStringList{S("c")} << QStringList{} << QString();
    QTest::newRow("a file opened directly")
        << QVariantMap{{S("x.safetensors"), c}, {S("y.safetensors"), ab}} << S("x.safetensors")
        << QStringList{S("c")} << QStringList{} << QString();
    QTest::newRow("missing shard named in index")
        << QVariantMap{{shard1, ab}, {index, indexJson(goodMap)}} << QString() << QStringList{}
        << QStringList{u'\'' + shard2 + u'\'', S("missing")} << index;
    QTest::newRow("tensor in index absent from its shard")
        << QVariantMap{{shard1, ab},
                       {shard2, c},
                       {index, indexJson(goodMap + QList{std::pair{S("d"), shard1}})}}
        << QString() << QStringList{} << QStringList{S("'d'"), S("listed in the index but absent")} << shard1;
    QTest::newRow("tensor in the other shard than the index says")
        << QVariantMap{{shard1, ab},
                       {shard2, c},
                       {index, indexJson({{S("a"), shard1}, {S("b"), shard1}, {S("c"), shard1}})}}
        << QString() << QStringList{} << QStringList{S("'c'"), S("absent")} << shard1;
    QTest::newRow("duplicate tensor across shards")
        << QVariantMap{{shard1, ab},
                       {shard2, f32File({{S("c"), {1}}, {S("a"), {2}}})},
                       {index, indexJson(goodMap)}}
        << QString() << QStringList{} << QStringList{S("'a'"), S("also appears in"), shard1} << shard2;
    QTest::newRow("invalid index JSON")
        << QVariantMap{{shard1, ab}, {index, QByteArray("{\"weight_map\": ")}} << QString() << QStringList{}
        << QStringList{S("invalid JSON")} << index;
    QTest::newRow("index without weight_map")
        << QVariantMap{{shard1, ab}, {index, QByteArray(R"({"metadata":{}})")}} << QString() << QStringList{}
        << QStringList{S("\"weight_map\"")} << index;
    QTest::newRow("weight_map value not a string")
        << QVariantMap{{shard1, ab}, {index, QByteArray(R"({"weight_map":{"a":1}})")}} << QString()
        << QStringList{} << QStringList{S("'a'"), S("not a file name")} << index;
    // Found by fuzz_safetensors_index: a shard name with a NUL reached QFileInfo; paths are refused.
    QTest::newRow("shard name with a NUL")
        << QVariantMap{{shard1, ab}, {index, QByteArray(R"({"weight_map":{"a":"x\u0000y"}})")}} << QString()
        << QStringList{} << QStringList{S("'a'"), S("is not a file name in the model folder")} << index;
    QTest::newRow("shard outside the folder")
        << QVariantMap{{shard1, ab}, {index, indexJson({{S("a"), S("../") + shard1}})}} << QString()
        << QStringList{} << QStringList{S("'../") + shard1 + S("' is not a file name in the model folder")}
        << index;
    QTest::newRow("corrupt shard") << QVariantMap{{shard1, ab},
                                                  {shard2, QByteArray("abc")},
                                                  {index, indexJson(goodMap)}}
                                   << QString() << QStringList{} << QStringList{S("shorter than")} << shard2;
    QTest::newRow("folder with no safetensors")
        << QVariantMap{{S("config.json"), QByteArray("{}")}, {S("model.bin"), QByteArray("x")}} << QString()
        << QStringList{} << QStringList{S("no model.safetensors or model.safetensors.index.json")}
        << QString();
    QTest::newRow("several safetensors but no index")
        << QVariantMap{{S("x.safetensors"), c}, {S("y.safetensors"), ab}} << QString() << QStringList{}
        << QStringList{S("several .safetensors files but no index")} << QString();
    QTest::newRow("path does not exist") << QVariantMap{} << S("nothing-here") << QStringList{}
                                         << QStringList{S("no such file or folder")} << S("nothing-here");
}

void TestSafetensors::store()
{
    QFETCH(QVariantMap, files);
    QFETCH(QString, open);
    QFETCH(QStringList, names);
    QFETCH(QStringList, parts);
    QFETCH(QString, errorFile);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QDir dir(tmp.path());
    for (auto it = files.cbegin(); it != files.cend(); ++it)
        QVERIFY(test::writeFile(dir.filePath(it.key()), it.value().toByteArray()));
    const QString path = open.isEmpty() ? tmp.path() : dir.filePath(open);

    if (!parts.isEmpty()) {
        const QString named = errorFile.isEmpty() ? tmp.path() : dir.filePath(errorFile);
        QS_VERIFY_ERROR(errorOf([&] { TensorStore::open(path); }), QStringList{named} + parts);
        return;
    }
    const TensorStore s = TensorStore::open(path);
    QCOMPARE(s.names(), names);
    std::uint64_t total = 0;
    for (const QString& n : names) {
        QVERIFY(s.contains(n));
        QVERIFY(s.files().contains(s.fileOf(n)));
        const std::vector<float> v = s.readF32(n, FiniteCheck::Throw);
        QCOMPARE(qsizetype(v.size()), qsizetype(s.info(n).numel()));
        total += s.info(n).bytes();
    }
    QCOMPARE(s.totalBytes(), total);
    if (files.contains(QStringLiteral("model.safetensors.index.json"))) {
        QCOMPARE(s.files().size(), 2);
        QVERIFY(s.fileOf(QStringLiteral("c")).endsWith(QStringLiteral("model-00002-of-00002.safetensors")));
        QCOMPARE(s.readF32(QStringLiteral("c")), (std::vector<float>{4, 5, 6}));
        QCOMPARE(s.readF32(QStringLiteral("a")), (std::vector<float>{1, 2}));
    }
    QVERIFY(!s.contains(QStringLiteral("zz")));
    QS_VERIFY_ERROR(errorOf([&] { s.info(QStringLiteral("zz")); }),
                    (QStringList{path, QStringLiteral("'zz' not found")}));
}

// --- reads: NaN/Inf checks and row ranges -----------------------------------------------------

void TestSafetensors::finiteCheck_data()
{
    // A [3, 4] tensor "blk.w" with the given bad elements.
    QTest::addColumn<int>("dtype");
    QTest::addColumn<QList<int>>("badIndices");
    QTest::addColumn<int>("badBits"); // the bit pattern put at each bad index
    QTest::addColumn<qint64>("row0");
    QTest::addColumn<qint64>("nRows");
    QTest::addColumn<QStringList>("parts"); // empty: no error expected
    const auto S = [](const char* s) { return QString::fromUtf8(s); };
    const int f32Nan = 0x7fc00000, f32Inf = 0x7f800000, f32NegInf = int(0xff800000u);
    QTest::newRow("f32 NaN at (2,1)") << int(DType::F32) << QList<int>{9} << f32Nan << qint64(0) << qint64(3)
                                      << QStringList{S("1 non-finite"), S("row 2, column 1")};
    QTest::newRow("f32 +Inf at (1,3)") << int(DType::F32) << QList<int>{7} << f32Inf << qint64(0) << qint64(3)
                                       << QStringList{S("row 1, column 3")};
    QTest::newRow("f32 -Inf at (0,0)") << int(DType::F32) << QList<int>{0} << f32NegInf << qint64(0)
                                       << qint64(3) << QStringList{S("row 0, column 0")};
    QTest::newRow("f32 two NaNs: first reported")
        << int(DType::F32) << QList<int>{6, 11} << f32Nan << qint64(0) << qint64(3)
        << QStringList{S("2 non-finite"), S("row 1, column 2")};
    QTest::newRow("f32 NaN, reading rows 1..3: absolute row")
        << int(DType::F32) << QList<int>{9} << f32Nan << qint64(1) << qint64(2)
        << QStringList{S("row 2, column 1")};
    QTest::newRow("f32 NaN outside the rows read")
        << int(DType::F32) << QList<int>{9} << f32Nan << qint64(0) << qint64(2) << QStringList{};
    QTest::newRow("f16 +Inf at (0,2)") << int(DType::F16) << QList<int>{2} << 0x7c00 << qint64(0) << qint64(3)
                                       << QStringList{S("row 0, column 2")};
    QTest::newRow("f16 NaN at (2,3)") << int(DType::F16) << QList<int>{11} << 0x7e01 << qint64(0) << qint64(3)
                                      << QStringList{S("row 2, column 3")};
    QTest::newRow("f16 65504 is finite")
        << int(DType::F16) << QList<int>{5} << 0x7bff << qint64(0) << qint64(3) << QStringList{};
    QTest::newRow("bf16 NaN at (1,0)") << int(DType::BF16) << QList<int>{4} << 0x7fc1 << qint64(0)
                                       << qint64(3) << QStringList{S("row 1, column 0")};
    QTest::newRow("bf16 -Inf at (2,2)") << int(DType::BF16) << QList<int>{10} << 0xff80 << qint64(0)
                                        << qint64(3) << QStringList{S("row 2, column 2")};
    QTest::newRow("f64 NaN at (0,3)") << int(DType::F64) << QList<int>{3} << 0 << qint64(0) << qint64(3)
                                      << QStringList{S("row 0, column 3")};
    QTest::newRow("f64 1e300 overflows f32 to Inf") << int(DType::F64) << QList<int>{8} << 1 << qint64(0)
                                                    << qint64(3) << QStringList{S("row 2, column 0")};
}

void TestSafetensors::finiteCheck()
{
    QFETCH(int, dtype);
    QFETCH(QList<int>, badIndices);
    QFETCH(int, badBits);
    QFETCH(qint64, row0);
    QFETCH(qint64, nRows);
    QFETCH(QStringList, parts);
    const auto dt = DType(dtype);
    QByteArray raw;
    for (int i = 0; i < 12; ++i) {
        const bool bad = badIndices.contains(i);
        const float good = 0.25f * float(i + 1);
        switch (dt) {
        case DType::F32: {
            std::uint32_t u = bad ? std::uint32_t(badBits) : bitsOf(good);
            raw.append(reinterpret_cast<const char*>(&u), 4);
            break;
        }
        case DType::F16:
        case DType::BF16: {
            const std::uint16_t h = bad ? std::uint16_t(badBits)
                                        : (dt == DType::F16 ? ref::f32ToF16(good) : ref::f32ToBf16(good));
            raw.append(reinterpret_cast<const char*>(&h), 2);
            break;
        }
        default: {
            const double d = !bad ? double(good) : badBits ? 1e300 : std::numeric_limits<double>::quiet_NaN();
            raw.append(reinterpret_cast<const char*>(&d), 8);
        }
        }
    }
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("f.safetensors"));
    SafetensorsWriter w;
    w.addTensor(QStringLiteral("blk.w"), dt, {3, 4},
                [raw](unsigned char* dst, std::uint64_t bytes) { std::memcpy(dst, raw.constData(), bytes); });
    w.write(path);
    const TensorStore s = TensorStore::open(path);
    std::vector<float> out(std::size_t(nRows * 4), -1.0f);
    const QString name = QStringLiteral("blk.w");

    const QString msg = errorOf([&] { s.readRowsF32(name, row0, nRows, out.data(), FiniteCheck::Throw); });
    if (parts.isEmpty()) {
        QVERIFY2(msg.isEmpty(), qPrintable(msg));
    } else {
        QS_VERIFY_ERROR(msg, QStringList{path, QStringLiteral("tensor 'blk.w'"), QStringLiteral("NaN/Inf")} +
                                 parts);
    }
    // FiniteCheck::Off converts the same rows without complaint, bad values included.
    std::fill(out.begin(), out.end(), -1.0f);
    const QString off = errorOf([&] { s.readRowsF32(name, row0, nRows, out.data(), FiniteCheck::Off); });
    QVERIFY2(off.isEmpty(), qPrintable(off));
    for (qint64 i = 0; i < nRows * 4; ++i) {
        const int flat = int(row0 * 4 + i);
        const float v = out[std::size_t(i)];
        if (badIndices.contains(flat) && !parts.isEmpty())
            QVERIFY2(!std::isfinite(v), qPrintable(QStringLiteral("element %1 should be NaN/Inf").arg(flat)));
        else if (!badIndices.contains(flat))
            QCOMPARE(v, 0.25f * float(flat + 1));
    }
    // The whole tensor, read at once, fails exactly when some element is NaN/Inf.
    std::vector<float> all(12);
    ref::convertRow(dt, raw.constData(), all.data(), all.size());
    const QString whole = errorOf([&] { s.readF32(name, FiniteCheck::Throw); });
    if (qs::countNonFinite(all.data(), all.size()) > 0)
        QS_VERIFY_ERROR(whole, (QStringList{path, QStringLiteral("'blk.w'"), QStringLiteral("non-finite")}));
    else
        QVERIFY2(whole.isEmpty(), qPrintable(whole));
}

void TestSafetensors::rowsOutOfRange_data()
{
    QTest::addColumn<qint64>("row0");
    QTest::addColumn<qint64>("nRows");
    QTest::addColumn<QString>("phrase"); // empty: valid
    QTest::newRow("all rows") << qint64(0) << qint64(3) << QString();
    QTest::newRow("no rows at the end") << qint64(3) << qint64(0) << QString();
    QTest::newRow("last row") << qint64(2) << qint64(1) << QString();
    QTest::newRow("past the end") << qint64(2) << qint64(2)
                                  << QStringLiteral("rows 2..4 out of range (3 rows)");
    QTest::newRow("start beyond") << qint64(3) << qint64(1)
                                  << QStringLiteral("rows 3..4 out of range (3 rows)");
    QTest::newRow("too many") << qint64(0) << qint64(4) << QStringLiteral("rows 0..4 out of range");
    QTest::newRow("negative start") << qint64(-1) << qint64(1) << QStringLiteral("out of range");
    QTest::newRow("negative count") << qint64(1) << qint64(-1) << QStringLiteral("out of range");
}

void TestSafetensors::rowsOutOfRange()
{
    QFETCH(qint64, row0);
    QFETCH(qint64, nRows);
    QFETCH(QString, phrase);
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("r.safetensors"));
    SafetensorsWriter w;
    w.addTensorF32(QStringLiteral("m.w"), DType::BF16, {3, 2}, {1, 2, 3, 4, 5, 6});
    w.write(path);
    const TensorStore s = TensorStore::open(path);
    std::vector<float> out(16, 0.0f);
    const QString msg = errorOf([&] { s.readRowsF32(QStringLiteral("m.w"), row0, nRows, out.data()); });
    if (phrase.isEmpty()) {
        QVERIFY2(msg.isEmpty(), qPrintable(msg));
        for (qint64 i = 0; i < nRows * 2; ++i)
            QCOMPARE(out[std::size_t(i)], float(row0 * 2 + i + 1));
        QCOMPARE(out[std::size_t(std::max<qint64>(nRows, 0) * 2)], 0.0f); // nothing written past the rows
    } else {
        QS_VERIFY_ERROR(msg, (QStringList{path, QStringLiteral("tensor 'm.w'"), phrase}));
    }
    QS_VERIFY_ERROR(errorOf([&] { s.readRowsF32(QStringLiteral("m.x"), 0, 1, out.data()); }),
                    (QStringList{path, QStringLiteral("'m.x' not found")}));
}

QTEST_GUILESS_MAIN(TestSafetensors)
#include "tst_safetensors.moc"
