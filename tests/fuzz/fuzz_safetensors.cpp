// Fuzz target for the safetensors reader (io/Safetensors): any bytes either open — and then every
// tensor lies inside the data section with shape × dtype = its byte range, and name lookup finds
// it — or fail with qs::Error. Seeds: files written by SafetensorsWriter (every dtype, metadata,
// scalars, empty tensors, a file without tensors). Parsed in memory (SafetensorsFile::fromBytes).
#include "FuzzTarget.h"
#include "io/Safetensors.h"
#include "io/SafetensorsWriter.h"

#include <QTemporaryDir>

namespace {

void one(const std::uint8_t* data, std::size_t size)
{
    const auto f =
        qs::SafetensorsFile::fromBytes(QByteArray(reinterpret_cast<const char*>(data), qsizetype(size)),
                                       QStringLiteral("model.safetensors"));
    const std::uint64_t dataSize = f->fileSize() - 8 - f->headerBytes();
    volatile unsigned sink = 0;
    for (const qs::TensorInfo& t : f->tensors()) {
        if (t.end < t.begin || t.end > dataSize)
            qs::fuzz::broken(u"tensor outside the data section: " + t.name);
        if (std::uint64_t(t.numel()) * std::uint64_t(qs::dtypeInfo(t.dtype).bytes) != t.bytes())
            qs::fuzz::broken(u"shape × dtype is not the byte range: " + t.name);
        if (f->find(t.name) != &t)
            qs::fuzz::broken(u"name lookup: " + t.name);
        if (t.bytes() > 0)
            sink = sink + f->data(t)[0] + f->data(t)[t.bytes() - 1];
    }
    (void)sink;
}

std::vector<qs::fuzz::Seed> seeds()
{
    std::vector<qs::SafetensorsWriter> writers(3);
    writers[0].setMetadata(QStringLiteral("format"), QStringLiteral("pt"));
    writers[0].addTensorF32(QStringLiteral("model.embed_tokens.weight"), qs::DType::F32, {2, 3},
                            {1, 2, 3, 4, 5, 6});
    writers[0].addTensorF32(QStringLiteral("f16"), qs::DType::F16, {4}, {1, -2, 0.5f, 8});
    writers[0].addTensorF32(QStringLiteral("bf16"), qs::DType::BF16, {1, 1, 2}, {3, 4});
    writers[0].addTensorI32(QStringLiteral("g_idx"), {3}, {0, 1, 2});
    writers[0].addTensorBytes(QStringLiteral("qweight"), qs::DType::U8, {5}, {1, 2, 3, 4, 5});
    writers[0].addTensorF32(QStringLiteral("scalar"), qs::DType::F32, {}, {7});
    writers[0].addTensorF32(QStringLiteral("empty"), qs::DType::F32, {0, 3}, {});
    writers[1].addTensorF32(QStringLiteral("lm_head.weight"), qs::DType::BF16, {8, 4},
                            std::vector<float>(32, 0.25f));
    writers[2].setMetadata(QStringLiteral("quantscope"), QStringLiteral("{}"));
    QTemporaryDir tmp;
    std::vector<qs::fuzz::Seed> out;
    for (std::size_t i = 0; i < writers.size(); ++i) {
        const QString path = tmp.filePath(QStringLiteral("seed%1.safetensors").arg(i));
        writers[i].write(path);
        out.push_back({QStringLiteral("seed%1.safetensors").arg(i), qs::fuzz::readBack(path)});
    }
    return out;
}

std::vector<QByteArray> dictionary()
{
    std::vector<QByteArray> d = qs::fuzz::jsonDictionary();
    for (const char* k : {"\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"",
                          "\"F16\"", "\"BF16\"", "\"I32\"", "\"U8\"", "\"F64\"", "\"I64\"", "\"BOOL\""})
        d.emplace_back(k);
    return d;
}

} // namespace

const qs::fuzz::Target& qs::fuzz::target()
{
    static const Target t{"safetensors", one, seeds, dictionary};
    return t;
}
