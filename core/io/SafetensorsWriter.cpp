#include "io/SafetensorsWriter.h"

#include "kernels/Convert.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cstring>
#include <memory>

namespace qs {

void SafetensorsWriter::addTensor(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                                  Fill fill)
{
    std::uint64_t n = 1;
    for (std::int64_t d : shape)
        n *= std::uint64_t(d);
    m_tensors.push_back(
        {name, dtype, std::move(shape), n * std::uint64_t(dtypeInfo(dtype).bytes), std::move(fill), {}});
}

void SafetensorsWriter::addTensorRange(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                                       FillRange fill)
{
    addTensor(name, dtype, std::move(shape));
    m_tensors.back().range = std::move(fill);
}

void SafetensorsWriter::addTensorF32(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                                     std::vector<float> data)
{
    auto shared = std::make_shared<const std::vector<float>>(std::move(data));
    addTensorF32View(name, dtype, std::move(shape), shared->data(), shared->size(), shared);
}

void SafetensorsWriter::addTensorF32View(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                                         const float* data, std::size_t count,
                                         std::shared_ptr<const void> keepAlive)
{
    std::uint64_t n = 1;
    for (std::int64_t d : shape)
        n *= std::uint64_t(d);
    if ((dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16) || n != count)
        throw Error(QStringLiteral("tensor '%1': addTensorF32 needs f32/f16/bf16 and one value per element "
                                   "(got %2, %3 values for %4 elements)")
                        .arg(name, dtypeName(dtype))
                        .arg(count)
                        .arg(n));
    const std::size_t width = dtypeInfo(dtype).bytes;
    addTensorRange(name, dtype, std::move(shape),
                   [data, dtype, width, keepAlive = std::move(keepAlive)](
                       unsigned char* dst, std::uint64_t offset, std::uint64_t bytes) {
                       const float* v = data + offset / width;
                       for (std::size_t i = 0; i < bytes / width; ++i) {
                           if (dtype == DType::F32) {
                               std::memcpy(dst + 4 * i, &v[i], 4);
                           } else {
                               const std::uint16_t h =
                                   dtype == DType::F16 ? ref::f32ToF16(v[i]) : ref::f32ToBf16(v[i]);
                               std::memcpy(dst + 2 * i, &h, 2);
                           }
                       }
                   });
}

void SafetensorsWriter::addTensorBytesView(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                                           const void* data, std::shared_ptr<const void> keepAlive)
{
    const auto* src = static_cast<const unsigned char*>(data);
    addTensorRange(name, dtype, std::move(shape),
                   [src, keepAlive = std::move(keepAlive)](unsigned char* dst, std::uint64_t offset,
                                                           std::uint64_t bytes) {
                       std::memcpy(dst, src + offset, bytes);
                   });
}

QByteArray SafetensorsWriter::headerJson() const
{
    QJsonObject root;
    std::uint64_t offset = 0;
    for (const Pending& t : m_tensors) {
        QJsonArray shape;
        for (std::int64_t d : t.shape)
            shape.append(qint64(d));
        root.insert(t.name,
                    QJsonObject{{QStringLiteral("dtype"), QLatin1String(dtypeInfo(t.dtype).safetensorsName)},
                                {QStringLiteral("shape"), shape},
                                {QStringLiteral("data_offsets"),
                                 QJsonArray{qint64(offset), qint64(offset + t.bytes)}}});
        offset += t.bytes;
    }
    if (!m_metadata.isEmpty()) {
        QJsonObject meta;
        for (auto it = m_metadata.begin(); it != m_metadata.end(); ++it)
            meta.insert(it.key(), it.value());
        root.insert(QStringLiteral("__metadata__"), meta);
    }
    QByteArray json = QJsonDocument(root).toJson(QJsonDocument::Compact);
    while (json.size() % 8 != 0) // pad with spaces so the data section is 8-byte aligned
        json.append(' ');
    return json;
}

void SafetensorsWriter::write(const QString& path, const Progress& progress) const
{
    AtomicFile f(path);
    const QByteArray json = headerJson();
    unsigned char len[8];
    std::uint64_t n = std::uint64_t(json.size());
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xffu);
    auto put = [&](const void* data, qint64 bytes) { f.write(data, bytes); };
    put(len, 8);
    put(json.constData(), json.size());
    const std::uint64_t dataStart = 8 + n;
    std::uint64_t total = 0;
    for (const Pending& t : m_tensors)
        total += t.bytes;
    std::uint64_t pos = dataStart;
    std::vector<unsigned char> buf;
    for (const Pending& t : m_tensors) {
        if (t.range) {
            for (std::uint64_t off = 0; off < t.bytes; off += kChunkBytes) {
                const std::uint64_t piece = std::min(kChunkBytes, t.bytes - off);
                buf.assign(piece, 0);
                t.range(buf.data(), off, piece);
                put(buf.data(), qint64(piece));
                if (progress)
                    progress(pos + off + piece - dataStart, total);
            }
        } else if (t.fill) {
            buf.assign(t.bytes, 0);
            t.fill(buf.data(), t.bytes);
            put(buf.data(), qint64(t.bytes));
        } else { // hole: sparse zeros
            f.seek(qint64(pos + t.bytes));
        }
        pos += t.bytes;
        if (progress)
            progress(pos - dataStart, total);
    }
    f.resize(qint64(pos));
    f.commit();
}

void SafetensorsWriter::addTensorBytes(const QString& name, DType dtype, std::vector<std::int64_t> shape,
                                       std::vector<unsigned char> bytes)
{
    auto shared = std::make_shared<std::vector<unsigned char>>(std::move(bytes));
    addTensor(name, dtype, std::move(shape), [shared](unsigned char* dst, std::uint64_t n) {
        std::memcpy(dst, shared->data(), std::min<std::uint64_t>(n, shared->size()));
    });
}

void SafetensorsWriter::addTensorI32(const QString& name, std::vector<std::int64_t> shape,
                                     const std::vector<std::int32_t>& values)
{
    std::vector<unsigned char> b(values.size() * 4);
    std::memcpy(b.data(), values.data(), b.size());
    addTensorBytes(name, DType::I32, std::move(shape), std::move(b));
}

} // namespace qs
