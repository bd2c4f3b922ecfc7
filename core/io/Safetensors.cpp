#include "io/Safetensors.h"

#include "util/Error.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace qs {

namespace {

// The reference implementation refuses headers above 100 MB; so do we, before allocating.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;
constexpr double kMaxExactInteger = 9007199254740992.0; // 2^53: JSON numbers beyond lose precision

bool toUnsigned(const QJsonValue& v, std::uint64_t& out)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    if (!(d >= 0.0) || d > kMaxExactInteger || std::floor(d) != d)
        return false;
    out = static_cast<std::uint64_t>(v.toInteger());
    return true;
}

} // namespace

QString TensorInfo::typeName() const { return blockQuantized() ? ggmlTypeName(*ggmlType) : dtypeName(dtype); }

std::int64_t TensorInfo::numel() const
{
    std::int64_t n = 1;
    for (std::int64_t d : shape)
        n *= d;
    return n;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const QString& path)
{
    return fromMapped(MappedFile::open(path));
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::fromBytes(QByteArray bytes, const QString& path)
{
    return fromMapped(MappedFile::fromBytes(std::move(bytes), path));
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::fromMapped(std::shared_ptr<const MappedFile> file)
{
    std::shared_ptr<SafetensorsFile> st(new SafetensorsFile);
    st->m_file = std::move(file);
    const QString& path = st->m_file->path();
    const std::uint64_t fileSize = st->m_file->size();
    auto fail = [&](const QString& problem) { return Error::inFile(path, problem); };

    if (fileSize < 8)
        throw fail(QStringLiteral("truncated safetensors file: %1 bytes, shorter than the 8-byte header length")
                       .arg(fileSize));
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | st->m_file->data()[i];
    if (n > fileSize - 8)
        throw fail(QStringLiteral("header size %1 is larger than the file (%2 bytes): truncated or not a "
                                  "safetensors file")
                       .arg(n)
                       .arg(fileSize));
    if (n > kMaxHeaderBytes)
        throw fail(QStringLiteral("header size %1 exceeds the format's 100 MB limit").arg(n));
    if (n < 2 || st->m_file->data()[8] != '{')
        throw fail(QStringLiteral("header is not a JSON object (it must start with '{')"));
    st->m_headerBytes = n;
    st->m_dataStart = 8 + n;
    const std::uint64_t dataSize = fileSize - st->m_dataStart;

    QJsonParseError perr{};
    const QByteArray headerText = QByteArray::fromRawData(reinterpret_cast<const char*>(st->m_file->data() + 8),
                                                          static_cast<qsizetype>(n));
    const QJsonDocument doc = QJsonDocument::fromJson(headerText, &perr);
    if (perr.error != QJsonParseError::NoError)
        throw fail(QStringLiteral("invalid JSON header: %1 at byte %2").arg(perr.errorString()).arg(perr.offset));
    if (!doc.isObject())
        throw fail(QStringLiteral("header is not a JSON object"));

    const QJsonObject root = doc.object();
    for (auto it = root.begin(); it != root.end(); ++it) {
        const QString& name = it.key();
        if (name == u"__metadata__") {
            if (!it.value().isObject())
                throw fail(QStringLiteral("__metadata__ must be an object of strings"));
            const QJsonObject meta = it.value().toObject();
            for (auto m = meta.begin(); m != meta.end(); ++m) {
                if (!m.value().isString())
                    throw fail(QStringLiteral("__metadata__ value '%1' is not a string").arg(m.key()));
                st->m_metadata.insert(m.key(), m.value().toString());
            }
            continue;
        }
        auto tfail = [&](const QString& problem) { return fail(u"tensor '" + name + u"': " + problem); };
        if (!it.value().isObject())
            throw tfail(QStringLiteral("entry is not an object"));
        const QJsonObject e = it.value().toObject();
        TensorInfo t;
        t.name = name;
        const QJsonValue dt = e.value(u"dtype");
        if (!dt.isString())
            throw tfail(QStringLiteral("missing dtype"));
        const auto dtype = dtypeFromSafetensors(dt.toString());
        if (!dtype)
            throw tfail(u"unknown dtype '" + dt.toString() + u'\'');
        t.dtype = *dtype;
        const QJsonValue shape = e.value(u"shape");
        if (!shape.isArray())
            throw tfail(QStringLiteral("missing shape"));
        std::uint64_t elements = 1;
        for (const QJsonValue& d : shape.toArray()) {
            std::uint64_t dim = 0;
            if (!toUnsigned(d, dim))
                throw tfail(QStringLiteral("shape entries must be non-negative integers"));
            if (__builtin_mul_overflow(elements, dim, &elements))
                throw tfail(QStringLiteral("shape overflows 64 bits"));
            t.shape.push_back(static_cast<std::int64_t>(dim));
        }
        const QJsonValue offs = e.value(u"data_offsets");
        const QJsonArray oa = offs.toArray();
        if (!offs.isArray() || oa.size() != 2 || !toUnsigned(oa[0], t.begin) || !toUnsigned(oa[1], t.end))
            throw tfail(QStringLiteral("data_offsets must be two non-negative integers [begin, end]"));
        if (t.end < t.begin)
            throw tfail(QStringLiteral("data_offsets end %1 is before begin %2").arg(t.end).arg(t.begin));
        std::uint64_t expected = 0;
        if (__builtin_mul_overflow(elements, std::uint64_t(dtypeInfo(t.dtype).bytes), &expected))
            throw tfail(QStringLiteral("byte size overflows 64 bits"));
        if (expected != t.end - t.begin)
            throw tfail(QStringLiteral("shape × dtype is %1 bytes but data_offsets span %2 bytes")
                            .arg(expected)
                            .arg(t.end - t.begin));
        if (t.end > dataSize)
            throw tfail(QStringLiteral("data_offsets [%1, %2] out of range: the data section has %3 bytes "
                                       "(truncated file?)")
                            .arg(t.begin)
                            .arg(t.end)
                            .arg(dataSize));
        st->m_tensors.push_back(std::move(t));
    }

    std::sort(st->m_tensors.begin(), st->m_tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t cursor = 0;
    const TensorInfo* prev = nullptr;
    for (const TensorInfo& t : st->m_tensors) {
        if (t.begin < cursor)
            throw fail(u"tensors '" + prev->name + u"' and '" + t.name + u"' overlap" +
                       QStringLiteral(" (byte %1 < %2)").arg(t.begin).arg(cursor));
        if (t.begin > cursor)
            throw fail(u"gap in the data section before tensor '" + t.name + u"'" +
                       QStringLiteral(" (bytes %1..%2 unused); the format requires contiguous tensors")
                           .arg(cursor)
                           .arg(t.begin));
        cursor = t.end;
        prev = &t;
    }
    if (cursor != dataSize)
        throw fail(QStringLiteral("data section has %1 bytes but the tensors cover %2").arg(dataSize).arg(cursor));
    for (qsizetype i = 0; i < qsizetype(st->m_tensors.size()); ++i)
        st->m_index.insert(st->m_tensors[std::size_t(i)].name, i);
    return st;
}

const TensorInfo* SafetensorsFile::find(const QString& name) const
{
    const auto it = m_index.constFind(name);
    return it == m_index.cend() ? nullptr : &m_tensors[std::size_t(*it)];
}

} // namespace qs
