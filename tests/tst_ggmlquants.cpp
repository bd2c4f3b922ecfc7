// ggml block formats against llama.cpp: the bytes our quantizers write and the floats our
// dequantizers read back must equal llama.cpp's for the same synthetic rows, with and without an
// importance vector (SHA-256 digests below), under every SIMD variant this CPU runs; every variant
// writes the scalar reference's bytes on ordinary and adversarial rows; plus round-trip error
// bounds, thread-count independence, row ranges and error cases.
#include "TestSupport.h"
#include "kernels/GgmlQuants.h"
#include "tensor/GgmlBlocks.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QCryptographicHash>
#include <QTest>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace qs;

namespace {

// ---- Synthetic inputs ------------------------------------------------------------------------
// Integer arithmetic and one float multiply per value: no expression the compiler could contract
// or reorder, so the generator in llama.cpp's build (below) produces the same floats.

using test::SplitMix;

/// Sum of four 16-bit uniforms, centred: bell-shaped, standard deviation about 37837.
std::int32_t gaussInt(SplitMix& g)
{
    const std::uint64_t z = g.next();
    const std::int32_t s = std::int32_t(z & 0xffff) + std::int32_t((z >> 16) & 0xffff) +
                           std::int32_t((z >> 32) & 0xffff) + std::int32_t(z >> 48);
    return s - 131070;
}

float fl(std::int32_t v)
{
    return static_cast<float>(v);
}

constexpr int kRows = 24;
constexpr int kCols = 512;

/// Twelve kinds of row, cycled: Gaussian (σ≈1 and σ≈0.02), outlier-laden, zeros, a constant,
/// tiny values (f16 scales underflow), half-zero groups, all-positive, all-negative, sparse
/// spikes, ternary values (many ties), large values (σ≈1000).
std::vector<float> makeRows(int nrows, int n)
{
    std::vector<float> x(std::size_t(nrows) * n);
    for (int r = 0; r < nrows; ++r) {
        SplitMix g{(0x9E3779B97F4A7C15ull * std::uint64_t(r + 1)) ^ 0x51A5C0DEull};
        float* row = x.data() + std::size_t(r) * n;
        for (int i = 0; i < n; ++i) {
            float v = 0.f;
            switch (r % 12) {
            case 0:
                v = fl(gaussInt(g)) * 2.6e-5f;
                break;
            case 1:
                v = fl(gaussInt(g)) * 5.0e-7f;
                break;
            case 2: {
                std::int32_t a = gaussInt(g);
                if (g.next() % 37 == 0)
                    a *= 23;
                v = fl(a) * 2.0e-6f;
                break;
            }
            case 3:
                v = 0.f;
                break;
            case 4:
                v = fl(1) * 0.5f;
                break;
            case 5:
                v = fl(gaussInt(g)) * 3.0e-14f;
                break;
            case 6:
                v = (i / 8) % 2 == 0 ? 0.f : fl(gaussInt(g)) * 1.0e-5f;
                break;
            case 7:
                v = fl(std::int32_t(g.next() & 0xffff)) * 1.52587890625e-5f;
                break;
            case 8:
                v = -fl(std::int32_t(g.next() & 0xffff) + 1) * 3.0e-5f;
                break;
            case 9:
                v = i % 32 == 7 ? fl(gaussInt(g)) * 1.0e-3f : 0.f;
                break;
            case 10:
                v = fl(std::int32_t(g.next() % 3) - 1) * 0.01f;
                break;
            default:
                v = fl(gaussInt(g)) * 0.026f;
                break;
            }
            row[i] = v;
        }
    }
    return x;
}

/// One weight per column, 0.01 … 10, every 64th column ×100, every 97th zero.
std::vector<float> makeImportance(int n)
{
    std::vector<float> w(std::size_t(n), 0.f);
    SplitMix g{0xC0FFEE1234ull};
    for (int i = 0; i < n; ++i) {
        std::int32_t v = std::int32_t(1 + g.next() % 1000);
        if (i % 64 == 3)
            v *= 100;
        if (i % 97 == 5)
            v = 0;
        w[std::size_t(i)] = fl(v) * 0.01f;
    }
    return w;
}

QByteArray sha256(const void* p, std::size_t n)
{
    return QCryptographicHash::hash(QByteArrayView(static_cast<const char*>(p), qsizetype(n)),
                                    QCryptographicHash::Sha256)
        .toHex();
}

// ---- Expected digests ------------------------------------------------------------------------
// Produced by llama.cpp at commit c392e5094deaf2d1a7c18683214f007fad3fe42b (ggml built with
// GGML_NATIVE=OFF) from the same generator: ggml_quantize_chunk over all kRows rows (Q8_K:
// quantize_row_q8_K_ref, into a zeroed buffer) and the type's to_float for the dequantized rows
// (Q8_K: dequantize_row_q8_K; F32: the bytes themselves). Generator: qdigest.cpp, kept outside
// the repository with the llama.cpp build.
constexpr const char* kInputDigest = "a2f020aa713d2429dda08e0285adda51b79c09f759fdeaba2d69ea5c637a71bd";
constexpr const char* kImportanceDigest = "6969314003eb95a4dbf9f524e45e3828b94908b17297490adf3523349f36ae30";

struct Expected
{
    GgmlType type;
    const char* quantized; ///< without importance
    const char* dequantized;
    const char* quantizedWithImp; ///< with makeImportance(kCols)
    const char* dequantizedWithImp;
};

// clang-format off
constexpr Expected kExpected[] = {
    {GgmlType::F32,
     "a2f020aa713d2429dda08e0285adda51b79c09f759fdeaba2d69ea5c637a71bd",
     "a2f020aa713d2429dda08e0285adda51b79c09f759fdeaba2d69ea5c637a71bd",
     "a2f020aa713d2429dda08e0285adda51b79c09f759fdeaba2d69ea5c637a71bd",
     "a2f020aa713d2429dda08e0285adda51b79c09f759fdeaba2d69ea5c637a71bd"},
    {GgmlType::F16,
     "c7cfb2be80cecec1cc51be279351faddbd632dfd6b91329b25221ab27c6124f1",
     "cdc77886a2d68b0b36696ac01ab5c35ff5ec4bc23d628c9bb659420bd2af6291",
     "c7cfb2be80cecec1cc51be279351faddbd632dfd6b91329b25221ab27c6124f1",
     "cdc77886a2d68b0b36696ac01ab5c35ff5ec4bc23d628c9bb659420bd2af6291"},
    {GgmlType::BF16,
     "ae99063356d2ad281a93f8cd957299622c96cfe0ab5a745bad126cc46e372228",
     "3ad579539b3fbdfb713f7c2e226dd5bff042d29047aebfffd3f5bbca066871f1",
     "ae99063356d2ad281a93f8cd957299622c96cfe0ab5a745bad126cc46e372228",
     "3ad579539b3fbdfb713f7c2e226dd5bff042d29047aebfffd3f5bbca066871f1"},
    {GgmlType::Q4_0,
     "9f172bcc4bd9b47ef38556eff5d921776578e48b9baff1ce319e51d335c45f2a",
     "bcbc83f607147d2fee03c6c633532d67248979e135b7212ef4e8f040c36010d5",
     "a6af9c1fd1b5204e57fa36df59017a4ee5c2aafa75ca4c8be5086b07493d36ee",
     "5f22e8dd337033b2129625e8c0025814f0681c310bbbe06040749694b0f1b105"},
    {GgmlType::Q4_1,
     "e707d27d838367774458410f0d1166ae5754fd3e53884fe5fbf814180e02d714",
     "c303422c1b8c2835ef0b157a235eae034e79468663d442706253209ab3770b53",
     "e6d2256718470dd0e266a4e115432878eb5d9f975f915763ed4d4f97e612c8d0",
     "708f611cb07de398a6b9329f8daeaef5566dbdf79941315cc0cfa90789d0b0f9"},
    {GgmlType::Q5_0,
     "847f2171a142f2b5c0f4160065da6b2556d056532cf8ef3408ef6c73eb90c80e",
     "5cf89f0418fbbdee125fc15ab25d8a6c14c20ba8068bd4e5dce19325181c4468",
     "43e632026a76e69a8edf351e85f28cd18123ae20744062c9ace59cc7cf541872",
     "dd6e35fe9068fc4c3270301abfacb862c0676f4bbea1bbfbda4d91fdbd9c5c37"},
    {GgmlType::Q5_1,
     "a4946e9d8905f8ca59b91a102e2c1c993d3379271f905e79ee6d0d7d1bdde025",
     "346997bf6d5915dcbc8012a98ab068b9b122eb0393a7940f547ad2fa94ec2891",
     "8b83eb5f768eb92e27d05752cb6b179e715e3fbd539670974bbdf97ec5a8ae9f",
     "fea877cf8e3a4cfee3ff54bb908955963f52376b792f9a66b0fdba25a1f2f0fb"},
    {GgmlType::Q8_0,
     "baa6b684dabc703581839fb467e58e356f29a9d431cd10ff4d201267a4a2980f",
     "fbb0e6ef97ee02c0c46d29024665f16847f00f702bb876f288c8fce06822e90a",
     "baa6b684dabc703581839fb467e58e356f29a9d431cd10ff4d201267a4a2980f",
     "fbb0e6ef97ee02c0c46d29024665f16847f00f702bb876f288c8fce06822e90a"},
    {GgmlType::Q2_K,
     "8244ff7b4efed84fdf03eb8f32d83f1147871eb9a82e5702ef7a43452b53ba17",
     "2f21db4f1e2653ad6bd1fb4aeefae32b615e7a571c57bb620153f3a7d59a1dda",
     "8be96adebf8b4d393b069ae7129e47ed39484c2364e137f366f1bcecd6157a04",
     "ffa700dab087ad9f582cdd31c1ccff3bb8881c4b21b3fd1f333b527e9e50493d"},
    {GgmlType::Q3_K,
     "1ef6167b839343afedf6b4ab9764f0e574cd48c1a5f6fc37915883bf3f0ec3c3",
     "4a2d8d95da8a9d10019a6c7f8ed724db6421e958819cecf68d3b011f1fd79959",
     "249d310671fd281c44d93c4cb46b5804515a1e0c4bce7aeac7125579126fec25",
     "3ef055f6f4c2c997c6e34c4a745b54551aecd685b33e73126660fd61b8461fb8"},
    {GgmlType::Q4_K,
     "af43bcf9ee9ea2d6aad2665b903d216d82f78d5944187887d0acbeeadac845dd",
     "4712617f37384cbd919940683dfa03d22820e5eba5374238fffb24ba167250af",
     "8f14d17f7c15ab93a51d91790bf04ef0e06b21f1fbdad5bab9495c0f186c6422",
     "bf6c1eece4bb0dd83b1eef99d5f44d35df6613870cbd290689dcc46370f7ddbd"},
    {GgmlType::Q5_K,
     "ad017994e45d0e6d1e8cc25af86c175687d81ee88de2acd1fb8a2d3e3e3d68cd",
     "fb6b39674df4dc5a5b8c4aeb821fe5570dd6c934fe51560f144ef0ca7d9808d0",
     "21c2b560499ec0f2970076aa3dbdb969259aec966089a1fa9cefa07451d86993",
     "10c227ea9f3f927eef03bb3279cb08c90b4f8a5d49b966074cc41d27325ff640"},
    {GgmlType::Q6_K,
     "02b83a23147b31aedd082fef8301e7815a36b06e155063061244dbc34cd0c93e",
     "eecf47f67f6829302e0f5beda4ec7850fb59b3a8f7ffd46d5f224b1c10dae2e5",
     "89a4a46a2fc198cadb037344e169784ee5c29669c9dc36efd278f0bc4ddd329c",
     "1a88d08b8983c4a81e54e51abc35133f867b5de90b2b2d7dee3138d85c16f1cc"},
    {GgmlType::Q8_K,
     "acae2655859c7f48bc02ae4619fcea6faf674ba0df633de2527ed953dcbad608",
     "a8393d558fb413e8349e1250839c1a49c75dd7ba9dfcd49c55efce8dd32ba6ee",
     "acae2655859c7f48bc02ae4619fcea6faf674ba0df633de2527ed953dcbad608",
     "a8393d558fb413e8349e1250839c1a49c75dd7ba9dfcd49c55efce8dd32ba6ee"},
    {GgmlType::IQ4_NL,
     "f68e94a289a32f3997be18ebd7dc2513db0aa70e466a95d1fd5ca73840e56109",
     "4d77d1b5f051a5aea4a30f3202c6e0fd908f873d051c3577aff0e599b23e892c",
     "781ec1a902a02bc43c344f564379719bfceea3d2ce166291da4d329cb6dffb02",
     "6405cc34f27af2baab80df345d91819b330e26677837e6c69e059af866a66574"},
    {GgmlType::IQ4_XS,
     "5909d99a9f12d1ed2fb8fc78b979a48b82ef498ec3c0ae1b8ce60bd4891552b8",
     "94fa7321547b38f7693d7018ec9ad1b91e26c47ff5cf45dbc07b64f93422bfd1",
     "15a5f9de8ad3c708fd729b661c1d379cecc008f4bd4a21e0253092b6babdd724",
     "6dcb38e7ea29d7625b9c74d1881a24f2cc94e0d3923d68e8f518a9b306672875"},
};
// clang-format on

const Expected* expectedFor(GgmlType t)
{
    for (const Expected& e : kExpected)
        if (e.type == t)
            return &e;
    return nullptr;
}

double relativeRmse(const std::vector<float>& a, const std::vector<float>& b)
{
    double err = 0, ref = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        err += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        ref += double(a[i]) * a[i];
    }
    return std::sqrt(err / ref);
}

} // namespace

Q_DECLARE_METATYPE(qs::GgmlType)
Q_DECLARE_METATYPE(qs::SimdVariant)

class TestGgmlQuants : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void layoutsMatchTable();
    void generatorMatchesPeer();
    void matchesLlamaCpp_data();
    void matchesLlamaCpp();
    void roundTripError_data();
    void roundTripError();
    void importanceHelps();
    void typeTableColumns_data();
    void typeTableColumns();
    void variantsAgree_data();
    void variantsAgree();
    void independentOfChunking();
    void rowRangeWritesOnlyItsRows();
    void errors();
};

void TestGgmlQuants::layoutsMatchTable()
{
    // Every type we claim has expected digests, and row sizes follow the table.
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        QCOMPARE(info.canQuantize, info.canDequantize);
        if (!info.canQuantize)
            continue;
        QVERIFY2(expectedFor(info.type), info.name);
        QCOMPARE(ggmlRowBytes(info.type, 512), std::size_t(512 / info.blockSize * info.typeSize));
    }
    QCOMPARE(ggmlRowBytes(GgmlType::Q4_K, 4096), std::size_t(16 * 144));
    QCOMPARE(ggmlRowBytes(GgmlType::Q8_0, 96), std::size_t(3 * 34));
    QCOMPARE(int(sizeof(ggml::BlockQ6_K)), 210);
}

void TestGgmlQuants::generatorMatchesPeer()
{
    const std::vector<float> x = makeRows(kRows, kCols);
    const std::vector<float> w = makeImportance(kCols);
    QCOMPARE(sha256(x.data(), x.size() * 4), QByteArray(kInputDigest));
    QCOMPARE(sha256(w.data(), w.size() * 4), QByteArray(kImportanceDigest));
}

void TestGgmlQuants::matchesLlamaCpp_data()
{
    QTest::addColumn<GgmlType>("type");
    QTest::addColumn<bool>("withImportance");
    QTest::addColumn<SimdVariant>("variant");
    for (SimdVariant v : kSimdVariants)
        for (const Expected& e : kExpected) {
            const QByteArray name = QByteArray(ggmlTypeInfo(e.type).name) + ' ' + simdVariantName(v);
            QTest::newRow(name.constData()) << e.type << false << v;
            QTest::newRow(QByteArray(name + " imatrix").constData()) << e.type << true << v;
        }
}

void TestGgmlQuants::matchesLlamaCpp()
{
    QFETCH(GgmlType, type);
    QFETCH(bool, withImportance);
    QFETCH(SimdVariant, variant);
    if (!simdVariantSupported(variant))
        QSKIP("this CPU cannot run the variant");
    const Expected& e = *expectedFor(type);
    const std::vector<float> x = makeRows(kRows, kCols);
    const std::vector<float> w = makeImportance(kCols);
    std::vector<std::uint8_t> q(ggmlRowBytes(type, kCols) * kRows, 0xAB);
    ggmlQuantizeChunk(variant, type, x.data(), q.data(), 0, kRows, kCols,
                      withImportance ? w.data() : nullptr);
    QCOMPARE(sha256(q.data(), q.size()), QByteArray(withImportance ? e.quantizedWithImp : e.quantized));
    std::vector<float> back(x.size());
    for (int r = 0; r < kRows; ++r)
        ggmlDequantizeRow(type, q.data() + std::size_t(r) * ggmlRowBytes(type, kCols),
                          back.data() + std::size_t(r) * kCols, kCols);
    QCOMPARE(sha256(back.data(), back.size() * 4),
             QByteArray(withImportance ? e.dequantizedWithImp : e.dequantized));
}

void TestGgmlQuants::roundTripError_data()
{
    // Relative RMSE on Gaussian rows (σ≈1, 8192 values): a named budget per format, about
    // 1.25× what the reference algorithm achieves on these rows.
    QTest::addColumn<GgmlType>("type");
    QTest::addColumn<double>("budget");
    QTest::newRow("Q8_0") << GgmlType::Q8_0 << 0.0065;
    QTest::newRow("Q8_K") << GgmlType::Q8_K << 0.008;
    QTest::newRow("Q6_K") << GgmlType::Q6_K << 0.021;
    QTest::newRow("Q5_0") << GgmlType::Q5_0 << 0.05;
    QTest::newRow("Q5_1") << GgmlType::Q5_1 << 0.045;
    QTest::newRow("Q5_K") << GgmlType::Q5_K << 0.044;
    QTest::newRow("Q4_0") << GgmlType::Q4_0 << 0.10;
    QTest::newRow("Q4_1") << GgmlType::Q4_1 << 0.093;
    QTest::newRow("Q4_K") << GgmlType::Q4_K << 0.085;
    QTest::newRow("IQ4_NL") << GgmlType::IQ4_NL << 0.092;
    QTest::newRow("IQ4_XS") << GgmlType::IQ4_XS << 0.092;
    QTest::newRow("Q3_K") << GgmlType::Q3_K << 0.18;
    QTest::newRow("Q2_K") << GgmlType::Q2_K << 0.36;
    QTest::newRow("F16") << GgmlType::F16 << 0.0003;
    QTest::newRow("BF16") << GgmlType::BF16 << 0.0021;
}

void TestGgmlQuants::roundTripError()
{
    QFETCH(GgmlType, type);
    QFETCH(double, budget);
    const int rows = 16, cols = 512;
    std::vector<float> x(std::size_t(rows) * cols);
    for (int r = 0; r < rows; ++r) {
        SplitMix g{0x1234u + std::uint64_t(r)};
        for (int i = 0; i < cols; ++i)
            x[std::size_t(r) * cols + i] = fl(gaussInt(g)) * 2.6e-5f;
    }
    std::vector<std::uint8_t> q(ggmlRowBytes(type, cols) * rows);
    ggmlQuantizeRows(type, x.data(), q.data(), rows, cols);
    std::vector<float> back(x.size());
    ggmlDequantizeRow(type, q.data(), back.data(), std::int64_t(x.size()));
    const double rmse = relativeRmse(x, back);
    qInfo("%s relative RMSE %.5f (budget %.3f)", ggmlTypeInfo(type).name, rmse, budget);
    QVERIFY(rmse <= budget);
}

void TestGgmlQuants::importanceHelps()
{
    // Under an importance matrix the error weighted by it should not get worse (k-quants).
    const int rows = 16, cols = 512;
    const std::vector<float> x = [&] {
        std::vector<float> v(std::size_t(rows) * cols);
        for (int r = 0; r < rows; ++r) {
            SplitMix g{0x777u + std::uint64_t(r)};
            for (int i = 0; i < cols; ++i)
                v[std::size_t(r) * cols + i] = fl(gaussInt(g)) * 2.6e-5f;
        }
        return v;
    }();
    const std::vector<float> w = makeImportance(cols);
    for (GgmlType type : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q4_0}) {
        double errors[2];
        for (int useImp = 0; useImp < 2; ++useImp) {
            std::vector<std::uint8_t> q(ggmlRowBytes(type, cols) * rows);
            ggmlQuantizeRows(type, x.data(), q.data(), rows, cols, useImp ? w.data() : nullptr);
            std::vector<float> back(x.size());
            ggmlDequantizeRow(type, q.data(), back.data(), std::int64_t(x.size()));
            double e = 0;
            for (std::size_t i = 0; i < x.size(); ++i)
                e += w[i % cols] * (double(x[i]) - back[i]) * (double(x[i]) - back[i]);
            errors[useImp] = e;
        }
        QVERIFY2(errors[1] < errors[0], ggmlTypeInfo(type).name);
    }
}

void TestGgmlQuants::typeTableColumns_data()
{
    QTest::addColumn<GgmlType>("type");
    for (const GgmlTypeInfo& info : kGgmlTypes)
        QTest::newRow(info.name) << info.type;
}

void TestGgmlQuants::typeTableColumns()
{
    // The columns of one row agree with each other and with the kernels.
    QFETCH(GgmlType, type);
    const GgmlTypeInfo& info = ggmlTypeInfo(type);
    // DType round trip: a plain type is its dtype's ggml type, one element per block.
    QCOMPARE(info.dtype.has_value(), !info.quantized);
    if (info.dtype) {
        QCOMPARE(ggmlTypeOfDType(*info.dtype), std::optional<GgmlType>(type));
        QCOMPARE(info.typeSize, dtypeInfo(*info.dtype).bytes);
        QCOMPARE(info.blockSize, 1);
    }
    QCOMPARE(ggmlFloatDType(type).has_value(), info.dtype && info.canDequantize);
    // File types: each llama_ftype belongs to one ggml type.
    if (info.fileType != LlamaFType::None) {
        for (const GgmlTypeInfo& other : kGgmlTypes)
            QVERIFY2(other.type == type || other.fileType != info.fileType, other.name);
    }
    // usesImportance is what the quantizer does: with an importance vector the bytes change
    // exactly for the types whose column says so.
    if (!info.canQuantize) {
        QVERIFY(!ggmlUsesImportance(type));
        return;
    }
    const int rows = 4, cols = 512;
    const std::vector<float> x = makeRows(rows, cols);
    const std::vector<float> w = makeImportance(cols);
    std::vector<std::uint8_t> plain(ggmlRowBytes(type, cols) * rows), weighted(plain.size());
    ggmlQuantizeRows(type, x.data(), plain.data(), rows, cols, nullptr);
    ggmlQuantizeRows(type, x.data(), weighted.data(), rows, cols, w.data());
    QCOMPARE(plain != weighted, info.usesImportance);
    QCOMPARE(ggmlUsesImportance(type), info.usesImportance);
}

void TestGgmlQuants::variantsAgree_data()
{
    // Every quantizable type, ± importance, on four sets of rows: llama.cpp's twelve kinds above
    // (zeros, a constant, outliers, tiny values, ties …), rows of exactly one block, wide rows of
    // mixed magnitudes, and adversarial rows (subnormals, huge values, one outlier per block).
    QTest::addColumn<GgmlType>("type");
    QTest::addColumn<bool>("withImportance");
    QTest::addColumn<int>("set");
    const char* sets[] = {"llama rows", "one block", "wide", "adversarial"};
    for (const GgmlTypeInfo& info : kGgmlTypes) {
        if (!info.canQuantize)
            continue;
        for (int set = 0; set < 4; ++set)
            for (bool imp : {false, true})
                QTest::newRow(
                    QByteArray(QByteArray(info.name) + ' ' + sets[set] + (imp ? " imatrix" : "")).constData())
                    << info.type << imp << set;
    }
}

namespace {

/// Rows for variantsAgree: `set` as named in variantsAgree_data, `cols` a multiple of `block`.
std::vector<float> agreementRows(int set, int rows, int cols)
{
    if (set < 2)
        return makeRows(rows, cols);
    std::vector<float> x(std::size_t(rows) * cols);
    for (int r = 0; r < rows; ++r) {
        SplitMix g{0xABCDu + std::uint64_t(r)};
        const float magnitude = std::ldexp(1.f, int(g.next() % 40) - 20);
        for (int i = 0; i < cols; ++i) {
            float v = fl(gaussInt(g)) * 2.6e-5f * magnitude;
            if (set == 3) {
                switch (r % 6) {
                case 0:
                    v = fl(gaussInt(g)) * 1e-44f; // subnormal
                    break;
                case 1:
                    v = fl(gaussInt(g)) * 1e25f;
                    break;
                case 2:
                    v = i % 32 == 5 ? 1e6f : v * 1e-3f;
                    break;
                case 3:
                    v = i % 2 ? -65504.f : 65504.f;
                    break;
                case 4:
                    v = fl(i % 7 - 3) * 0.125f; // exact ties
                    break;
                default:
                    v = i == 0 ? -1e-3f : 0.f;
                    break;
                }
            }
            x[std::size_t(r) * cols + i] = v;
        }
    }
    return x;
}

} // namespace

void TestGgmlQuants::variantsAgree()
{
    QFETCH(GgmlType, type);
    QFETCH(bool, withImportance);
    QFETCH(int, set);
    const int block = ggmlTypeInfo(type).blockSize;
    const int rows = 24, cols = set == 1 ? block : set == 2 ? 8 * std::max(block, 256) : kCols;
    const std::vector<float> x = agreementRows(set, rows, cols);
    const std::vector<float> w = makeImportance(cols);
    const std::size_t bytes = ggmlRowBytes(type, cols) * rows;
    std::vector<std::uint8_t> reference(bytes, 0xAB);
    ggmlQuantizeChunk(SimdVariant::Scalar, type, x.data(), reference.data(), 0, rows, cols,
                      withImportance ? w.data() : nullptr);
    for (SimdVariant v : supportedSimdVariants()) {
        std::vector<std::uint8_t> q(bytes, 0xCD);
        ggmlQuantizeChunk(v, type, x.data(), q.data(), 0, rows, cols, withImportance ? w.data() : nullptr);
        QVERIFY2(q == reference, simdVariantName(v));
    }
}

void TestGgmlQuants::independentOfChunking()
{
    // Rows split among 1, 2 or 3 threads give the bytes of row-by-row calls.
    const int rows = 192, cols = 1024;
    const std::vector<float> base = makeRows(12, cols);
    std::vector<float> x(std::size_t(rows) * cols);
    for (int r = 0; r < rows; ++r)
        std::memcpy(x.data() + std::size_t(r) * cols, base.data() + std::size_t(r % 12) * cols, cols * 4);
    const std::vector<float> w = makeImportance(cols);
    for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::IQ4_XS}) {
        const std::size_t rowBytes = ggmlRowBytes(type, cols);
        std::vector<std::uint8_t> single(rowBytes * rows);
        for (int r = 0; r < rows; ++r)
            ggmlQuantizeRows(type, x.data() + std::size_t(r) * cols, single.data() + r * rowBytes, 1, cols,
                             w.data());
        for (int threads : {1, 2, 3}) {
            setComputeThreads(threads);
            std::vector<std::uint8_t> whole(rowBytes * rows);
            forEachRowRange(rows, cols, [&](std::int64_t first, std::int64_t count) {
                ggmlQuantizeChunk(type, x.data(), whole.data(), first, count, cols, w.data());
            });
            QVERIFY2(whole == single, ggmlTypeInfo(type).name);
        }
        setComputeThreads(0);
    }
}

void TestGgmlQuants::rowRangeWritesOnlyItsRows()
{
    // A call over rows [a, b) writes exactly those rows, with the bytes of a whole-tensor call.
    const int rows = 24, cols = 512;
    const std::vector<float> x = makeRows(rows, cols);
    const std::vector<float> w = makeImportance(cols);
    for (GgmlType type : {GgmlType::F16, GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q6_K, GgmlType::IQ4_NL}) {
        const std::size_t rowBytes = ggmlRowBytes(type, cols);
        std::vector<std::uint8_t> whole(rowBytes * rows);
        ggmlQuantizeRows(type, x.data(), whole.data(), rows, cols, w.data());
        for (auto [a, b] : {std::pair{0, 1}, std::pair{5, 11}, std::pair{23, 24}, std::pair{7, 7}}) {
            std::vector<std::uint8_t> part(rowBytes * rows, 0xAB);
            ggmlQuantizeChunk(type, x.data(), part.data(), a, b - a, cols, w.data());
            for (int r = 0; r < rows; ++r) {
                const std::uint8_t* got = part.data() + r * rowBytes;
                const bool inside = r >= a && r < b;
                const bool ok =
                    inside ? std::memcmp(got, whole.data() + r * rowBytes, rowBytes) == 0
                           : std::all_of(got, got + rowBytes, [](std::uint8_t c) { return c == 0xAB; });
                QVERIFY2(ok, qPrintable(QStringLiteral("%1 rows [%2, %3): row %4")
                                            .arg(QLatin1String(ggmlTypeInfo(type).name))
                                            .arg(a)
                                            .arg(b)
                                            .arg(r)));
            }
        }
    }
}

void TestGgmlQuants::errors()
{
    std::vector<float> x(300, 1.f);
    std::vector<std::uint8_t> q(4096);
    QString msg = test::errorOf([&] { ggmlQuantizeRows(GgmlType::Q4_K, x.data(), q.data(), 1, 300); });
    QCOMPARE(test::checkMessage(msg, {QStringLiteral("Q4_K"), QStringLiteral("300"), QStringLiteral("256")}),
             QString());
    msg = test::errorOf([&] { ggmlQuantizeRows(GgmlType::Q8_0, x.data(), q.data(), 1, 33); });
    QCOMPARE(test::checkMessage(msg, {QStringLiteral("Q8_0"), QStringLiteral("33"), QStringLiteral("32")}),
             QString());
    msg = test::errorOf([&] { ggmlQuantizeRows(GgmlType::IQ2_XXS, x.data(), q.data(), 1, 256); });
    QCOMPARE(test::checkMessage(msg, {QStringLiteral("IQ2_XXS"), QStringLiteral("quantize")}), QString());
    msg = test::errorOf([&] { ggmlDequantizeRow(GgmlType::TQ1_0, q.data(), x.data(), 256); });
    QCOMPARE(test::checkMessage(msg, {QStringLiteral("TQ1_0"), QStringLiteral("dequantize")}), QString());
    msg = test::errorOf([&] { ggmlDequantizeRow(GgmlType::Q6_K, q.data(), x.data(), 128); });
    QCOMPARE(test::checkMessage(msg, {QStringLiteral("Q6_K"), QStringLiteral("128")}), QString());
    msg = test::errorOf([&] { (void)ggmlRowBytes(GgmlType::Q5_1, 0); });
    QVERIFY(!msg.isEmpty());
    QVERIFY(test::errorOf([&] { ggmlQuantizeRows(GgmlType::Q5_1, x.data(), q.data(), 0, 32); }).isEmpty());
    msg = test::errorOf([&] { ggmlQuantizeChunk(GgmlType::Q5_1, x.data(), q.data(), -1, 1, 32); });
    QCOMPARE(test::checkMessage(msg, {QStringLiteral("Q5_1"), QStringLiteral("-1")}), QString());
    QVERIFY(ggmlUsesImportance(GgmlType::Q4_K));
    QVERIFY(!ggmlUsesImportance(GgmlType::Q8_0));
}

QTEST_GUILESS_MAIN(TestGgmlQuants)
#include "tst_ggmlquants.moc"
