// Fuzz target for the GGUF reader (io/Gguf): any input either opens or fails with qs::Error; a
// crash, any other exception or a broken invariant (a tensor outside the file, misaligned,
// overlapping) is a finding. Seeds: files written by GgufWriter (every value type, nested arrays,
// several alignments and tensor layouts). Parsed in memory (GgufFile::fromBytes).
#include "FuzzTarget.h"
#include "io/Gguf.h"

#include <QFileInfo>
#include <QTemporaryDir>
#include <algorithm>
#include <vector>

namespace {

using qs::GgmlType;
using qs::GgufValue;
using qs::GgufValueType;

[[noreturn]] void invariantBroken(const char* what, const qs::GgufTensor& t)
{
    qs::fuzz::broken(QStringLiteral("%1 (tensor '%2')").arg(QLatin1String(what), t.name));
}

/// Touches everything a caller could use, checking what the reader promises.
void exercise(const qs::GgufFile& g)
{
    volatile double sink = 0;
    for (const qs::GgufKeyValue& kv : g.metadata()) {
        const qs::GgufValue& v = kv.value;
        sink =
            sink + double(v.typeName().size()) + double(v.toInt().value_or(0)) + v.toDouble().value_or(0.0);
        if (const auto l = v.toStringList())
            sink = sink + double(l->size());
        if (const auto f = v.toFloatList())
            sink = sink + double(f->size());
        if (g.find(kv.key) == nullptr)
            qs::fuzz::broken(u"key lookup: " + kv.key);
    }
    const std::uint64_t dataSize = g.fileSize() > g.dataOffset() ? g.fileSize() - g.dataOffset() : 0;
    if (g.alignment() == 0 || (g.alignment() & (g.alignment() - 1)) != 0 ||
        g.dataOffset() % g.alignment() != 0)
        qs::fuzz::broken(QStringLiteral("bad alignment or data offset"));
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    for (const qs::GgufTensor& t : g.tensors()) {
        if (t.offset > dataSize || t.bytes > dataSize - t.offset)
            invariantBroken("tensor data outside the file", t);
        if (t.offset % g.alignment() != 0)
            invariantBroken("misaligned tensor", t);
        if (t.dims.size() > 4 || t.numel() < 0)
            invariantBroken("bad dims", t);
        if (g.findTensor(t.name) != &t)
            invariantBroken("name lookup", t);
        if (t.bytes > 0) {
            const unsigned char* p = g.data(t);
            sink = sink + double(p[0]) + double(p[t.bytes - 1]);
            ranges.emplace_back(t.offset, t.offset + t.bytes);
        }
        if (qs::ggufIsPlainFloat(t.type) && t.numel() <= (1 << 16)) {
            const std::vector<float> v = g.readF32(t);
            if (!v.empty())
                sink = sink + double(v.back());
        }
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i) {
        if (ranges[i].first < ranges[i - 1].second) {
            qs::fuzz::broken(QStringLiteral("overlapping tensors"));
        }
    }
    (void)sink;
}

/// Seeds covering every value type, nested arrays, several alignments and tensor layouts.
std::vector<qs::GgufWriter> seedWriters()
{
    std::vector<qs::GgufWriter> out;
    {
        qs::GgufWriter w;
        w.set(QStringLiteral("general.architecture"), "llama");
        w.set(QStringLiteral("u8"), std::uint8_t(1));
        w.set(QStringLiteral("i8"), std::int8_t(-1));
        w.set(QStringLiteral("u16"), std::uint16_t(2));
        w.set(QStringLiteral("i16"), std::int16_t(-2));
        w.set(QStringLiteral("u32"), std::uint32_t(3));
        w.set(QStringLiteral("i32"), std::int32_t(-3));
        w.set(QStringLiteral("f32"), 0.5f);
        w.set(QStringLiteral("b"), true);
        w.set(QStringLiteral("u64"), std::uint64_t(4));
        w.set(QStringLiteral("i64"), std::int64_t(-4));
        w.set(QStringLiteral("f64"), 0.25);
        w.set(QStringLiteral("nested"),
              GgufValue::array(
                  GgufValueType::Array,
                  {GgufValue::array(std::vector<std::int32_t>{1, 2}),
                   GgufValue::array(QStringList{QStringLiteral("a"), QStringLiteral("bc")}),
                   GgufValue::array(GgufValueType::Array, {GgufValue::array(std::vector<bool>{true})})}));
        w.addTensorF32(QStringLiteral("f32"), GgmlType::F32, {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
        w.addTensorF32(QStringLiteral("f16"), GgmlType::F16, {3}, {1, -2, 3});
        w.addTensorF32(QStringLiteral("bf16"), GgmlType::BF16, {2, 1, 1}, {0.5f, 4});
        w.addTensor(QStringLiteral("q4_0"), GgmlType::Q4_0, {32, 2}, QByteArray(36, '\x21'));
        w.addTensor(QStringLiteral("q4_k"), GgmlType::Q4_K, {256}, QByteArray(144, '\x42'));
        out.push_back(std::move(w));
    }
    {
        qs::GgufWriter w;
        w.setAlignment(1);
        w.set(QStringLiteral("tokenizer.ggml.tokens"),
              GgufValue::array(
                  QStringList{QStringLiteral("<unk>"), QStringLiteral("<s>"), QStringLiteral("▁a")}));
        w.set(QStringLiteral("tokenizer.ggml.scores"), GgufValue::array(std::vector<float>{0, 0, -1.5f}));
        w.set(QStringLiteral("tokenizer.ggml.token_type"),
              GgufValue::array(std::vector<std::int32_t>{2, 3, 1}));
        w.addTensorF32(QStringLiteral("a"), GgmlType::F32, {1}, {1});
        w.addTensor(QStringLiteral("b"), GgmlType::I8, {3}, QByteArray("xyz"));
        w.addTensorF32(QStringLiteral("c"), GgmlType::F16, {2}, {1, 2});
        out.push_back(std::move(w));
    }
    {
        qs::GgufWriter w;
        w.setAlignment(64);
        w.addTensorF32(QStringLiteral("scalar"), GgmlType::F32, {}, {3});
        w.addTensor(QStringLiteral("empty"), GgmlType::Q8_0, {32, 0}, QByteArray());
        w.addTensor(QStringLiteral("q8"), GgmlType::Q8_0, {32, 1, 1, 2}, QByteArray(68, '\x08'));
        out.push_back(std::move(w));
    }
    out.emplace_back(); // header only
    return out;
}

const QString kName = QStringLiteral("fuzz.gguf");

void one(const std::uint8_t* data, std::size_t size)
{
    exercise(
        *qs::GgufFile::fromBytes(QByteArray(reinterpret_cast<const char*>(data), qsizetype(size)), kName));
}

std::vector<qs::fuzz::Seed> seeds()
{
    std::vector<qs::fuzz::Seed> out;
    const std::vector<qs::GgufWriter> writers = seedWriters();
    QTemporaryDir tmp;
    for (std::size_t i = 0; i < writers.size(); ++i) {
        const QString path = tmp.filePath(QStringLiteral("seed%1.gguf").arg(i));
        writers[i].write(path);
        out.push_back({QFileInfo(path).fileName(), qs::fuzz::readBack(path)});
    }
    return out;
}

std::vector<QByteArray> dictionary()
{
    return {QByteArray("GGUF"), QByteArray("general.alignment"), QByteArray("\x03\x00\x00\x00", 4),
            QByteArray("\xff\xff\xff\xff\xff\xff\xff\xff", 8)};
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"gguf", one, seeds, dictionary};
    return t;
}
