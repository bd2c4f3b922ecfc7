#include "io/Gguf.h"

#include "kernels/Convert.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <numeric>

namespace qs {

namespace {

constexpr std::uint32_t kLastValueType = 12;
constexpr std::uint64_t kMaxKeyBytes = 65535; // the spec's limit on key length
// Nesting is legal but never deep in practice; the cap keeps a hostile file from exhausting the stack.
constexpr int kMaxArrayDepth = 32;
// Smallest encoding of one metadata entry (8-byte key length, u32 type, 1-byte value) and of one
// tensor info (8-byte name length, u32 n_dims, u32 type, u64 offset): counts are checked against
// the bytes left before anything is allocated.
constexpr std::uint64_t kMinKeyValueBytes = 8 + 4 + 1;
constexpr std::uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;

/// Bytes one element of a type takes at least (strings: their length field; arrays: type + count).
constexpr std::array<std::uint64_t, kLastValueType + 1> kMinValueBytes{1, 1, 2,  2, 4, 4, 4,
                                                                       1, 8, 12, 8, 8, 8};

bool isPowerOfTwo(std::uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

std::uint64_t alignUp(std::uint64_t v, std::uint64_t a)
{
    return (v + a - 1) / a * a;
}

QString quoted(const QString& s)
{
    return u'\'' + s + u'\'';
}

/// Empty when the tensor geometry is valid; else what is wrong. `bytes` receives the size.
QString tensorGeometry(GgmlType type, const std::vector<std::int64_t>& dims, std::uint64_t& bytes)
{
    const GgmlTypeInfo& info = ggmlTypeInfo(type);
    if (dims.size() > std::size_t(kGgufMaxDims))
        return QStringLiteral("%1 dimensions (GGUF allows at most %2)").arg(dims.size()).arg(kGgufMaxDims);
    std::int64_t numel = 1;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] < 0)
            return QStringLiteral("dimension %1 is negative (%2)").arg(i).arg(dims[i]);
        if (__builtin_mul_overflow(numel, dims[i], &numel)) {
            QStringList shown;
            for (std::int64_t d : dims)
                shown << QString::number(d);
            return u"element count overflows int64 (dims " + shown.join(u" × ") + u')';
        }
    }
    const std::int64_t row = dims.empty() ? 1 : dims[0];
    if (row % info.blockSize != 0)
        return QStringLiteral("row length %1 is not a multiple of %2's block size %3")
            .arg(row)
            .arg(QLatin1String(info.name))
            .arg(info.blockSize);
    if (__builtin_mul_overflow(std::uint64_t(numel / info.blockSize), std::uint64_t(info.typeSize), &bytes))
        return QStringLiteral("byte size overflows 64 bits");
    return {};
}

/// Bounds-checked little-endian cursor over the mapped file.
class Reader
{
public:
    Reader(const QString& path, const unsigned char* data, std::uint64_t size)
        : m_path(path), m_data(data), m_size(size)
    {}

    std::uint64_t pos() const { return m_pos; }
    std::uint64_t left() const { return m_size - m_pos; }
    Error fail(const QString& problem) const { return Error::inFile(m_path, problem); }

    void need(std::uint64_t n, const QString& what) const
    {
        if (n > left())
            throw fail(QStringLiteral("truncated file: %1 needs %2 bytes at offset %3, but only %4 remain")
                           .arg(what)
                           .arg(n)
                           .arg(m_pos)
                           .arg(left()));
    }

    template <typename T>
    T read(const QString& what)
    {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, m_data + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }

    QByteArray string(const QString& what, std::uint64_t maxBytes = std::numeric_limits<std::uint64_t>::max())
    {
        const auto n = read<std::uint64_t>(what);
        if (n > maxBytes)
            throw fail(QStringLiteral("%1: length %2 exceeds the format's limit of %3 bytes")
                           .arg(what)
                           .arg(n)
                           .arg(maxBytes));
        if (n > left())
            throw fail(
                QStringLiteral("%1: string length %2 exceeds the %3 bytes left in the file (offset %4; "
                               "truncated or corrupt)")
                    .arg(what)
                    .arg(n)
                    .arg(left())
                    .arg(m_pos));
        QByteArray s(reinterpret_cast<const char*>(m_data + m_pos), qsizetype(n));
        m_pos += n;
        return s;
    }

private:
    const QString& m_path;
    const unsigned char* m_data;
    std::uint64_t m_size;
    std::uint64_t m_pos = 0;
};

GgufValue readValue(Reader& r, GgufValueType type, const QString& ctx, int depth)
{
    switch (type) {
    case GgufValueType::UInt8:
        return GgufValue(r.read<std::uint8_t>(ctx));
    case GgufValueType::Int8:
        return GgufValue(r.read<std::int8_t>(ctx));
    case GgufValueType::UInt16:
        return GgufValue(r.read<std::uint16_t>(ctx));
    case GgufValueType::Int16:
        return GgufValue(r.read<std::int16_t>(ctx));
    case GgufValueType::UInt32:
        return GgufValue(r.read<std::uint32_t>(ctx));
    case GgufValueType::Int32:
        return GgufValue(r.read<std::int32_t>(ctx));
    case GgufValueType::Float32:
        return GgufValue(r.read<float>(ctx));
    case GgufValueType::Bool: {
        const auto b = r.read<std::uint8_t>(ctx);
        if (b > 1)
            throw r.fail(QStringLiteral("%1: bool value %2 is neither 0 nor 1 (offset %3)")
                             .arg(ctx)
                             .arg(b)
                             .arg(r.pos() - 1));
        return GgufValue(b != 0);
    }
    case GgufValueType::String:
        return GgufValue::fromBytes(r.string(ctx));
    case GgufValueType::UInt64:
        return GgufValue(r.read<std::uint64_t>(ctx));
    case GgufValueType::Int64:
        return GgufValue(r.read<std::int64_t>(ctx));
    case GgufValueType::Float64:
        return GgufValue(r.read<double>(ctx));
    case GgufValueType::Array: {
        if (depth >= kMaxArrayDepth)
            throw r.fail(
                QStringLiteral("%1: arrays nested deeper than %2 levels").arg(ctx).arg(kMaxArrayDepth));
        const auto et = r.read<std::uint32_t>(ctx);
        if (et > kLastValueType)
            throw r.fail(QStringLiteral("%1: unknown array element type %2 (offset %3)")
                             .arg(ctx)
                             .arg(et)
                             .arg(r.pos() - 4));
        const auto n = r.read<std::uint64_t>(ctx);
        const std::uint64_t minBytes = kMinValueBytes[et];
        if (n > r.left() / minBytes)
            throw r.fail(
                QStringLiteral("%1: array of %2 %3 elements cannot fit in the %4 bytes left in the file "
                               "(offset %5; truncated or corrupt count)")
                    .arg(ctx)
                    .arg(n)
                    .arg(ggufValueTypeName(GgufValueType(et)))
                    .arg(r.left())
                    .arg(r.pos() - 8));
        std::vector<GgufValue> values;
        values.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i)
            values.push_back(readValue(r, GgufValueType(et), ctx, depth + 1));
        return GgufValue::array(GgufValueType(et), std::move(values));
    }
    }
    throw r.fail(QStringLiteral("%1: unknown value type %2").arg(ctx).arg(std::uint32_t(type)));
}

void appendRaw(QByteArray& out, const void* p, std::size_t n)
{
    out.append(static_cast<const char*>(p), qsizetype(n));
}

template <typename T>
void appendLe(QByteArray& out, T v)
{
    appendRaw(out, &v, sizeof(T)); // GGUF is little-endian, as is every host we build for
}

void appendString(QByteArray& out, const QByteArray& s)
{
    appendLe<std::uint64_t>(out, std::uint64_t(s.size()));
    out.append(s);
}

void appendPayload(QByteArray& out, const GgufValue& v)
{
    std::visit(
        [&out](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, QByteArray>) {
                appendString(out, x);
            } else if constexpr (std::is_same_v<T, GgufArray>) {
                appendLe<std::uint32_t>(out, std::uint32_t(x.type));
                appendLe<std::uint64_t>(out, std::uint64_t(x.values.size()));
                for (const GgufValue& e : x.values)
                    appendPayload(out, e);
            } else if constexpr (std::is_same_v<T, bool>) {
                appendLe<std::uint8_t>(out, x ? 1 : 0);
            } else {
                appendLe<T>(out, x);
            }
        },
        v.storage());
}

} // namespace

// --- values ---------------------------------------------------------------------------------

QString ggufValueTypeName(GgufValueType t)
{
    static const char* const names[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
                                        "bool",  "string", "array",  "uint64", "int64",  "float64"};
    const auto i = std::uint32_t(t);
    return i <= kLastValueType ? QLatin1String(names[i]) : QStringLiteral("type %1").arg(i);
}

bool operator==(const GgufArray& a, const GgufArray& b)
{
    return a.type == b.type && a.values == b.values;
}

GgufValue GgufValue::fromBytes(QByteArray bytes)
{
    GgufValue v;
    v.m_v = std::move(bytes);
    return v;
}

GgufValue GgufValue::array(GgufValueType elementType, std::vector<GgufValue> elements)
{
    if (std::uint32_t(elementType) > kLastValueType)
        throw Error(QStringLiteral("GGUF array: unknown element type %1").arg(std::uint32_t(elementType)));
    for (std::size_t i = 0; i < elements.size(); ++i) {
        if (elements[i].type() != elementType)
            throw Error(QStringLiteral("GGUF array of %1: element %2 is %3")
                            .arg(ggufValueTypeName(elementType))
                            .arg(i)
                            .arg(elements[i].typeName()));
    }
    GgufValue v;
    v.m_v = GgufArray{elementType, std::move(elements)};
    return v;
}

GgufValue GgufValue::array(const QStringList& strings)
{
    std::vector<GgufValue> values;
    values.reserve(std::size_t(strings.size()));
    for (const QString& s : strings)
        values.emplace_back(s);
    return array(GgufValueType::String, std::move(values));
}

QString GgufValue::typeName() const
{
    if (const GgufArray* a = asArray())
        return u"array of " + ggufValueTypeName(a->type);
    return ggufValueTypeName(type());
}

std::optional<std::int64_t> GgufValue::toInt() const
{
    return std::visit(
        [](const auto& x) -> std::optional<std::int64_t> {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool> || !std::is_integral_v<T>) {
                return std::nullopt;
            } else if constexpr (std::is_same_v<T, std::uint64_t>) {
                if (x > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
                    return std::nullopt;
                return std::int64_t(x);
            } else {
                return std::int64_t(x);
            }
        },
        m_v);
}

std::optional<std::uint64_t> GgufValue::toUInt() const
{
    if (const auto* u = std::get_if<std::uint64_t>(&m_v))
        return *u;
    const auto i = toInt();
    if (!i || *i < 0)
        return std::nullopt;
    return std::uint64_t(*i);
}

std::optional<double> GgufValue::toDouble() const
{
    if (const auto* f = std::get_if<float>(&m_v))
        return double(*f);
    if (const auto* d = std::get_if<double>(&m_v))
        return *d;
    if (const auto* u = std::get_if<std::uint64_t>(&m_v))
        return double(*u);
    if (const auto i = toInt())
        return double(*i);
    return std::nullopt;
}

std::optional<bool> GgufValue::toBool() const
{
    if (const auto* b = std::get_if<bool>(&m_v))
        return *b;
    return std::nullopt;
}

std::optional<QString> GgufValue::toString() const
{
    if (const auto* s = std::get_if<QByteArray>(&m_v))
        return QString::fromUtf8(*s);
    return std::nullopt;
}

std::optional<QByteArray> GgufValue::toBytes() const
{
    if (const auto* s = std::get_if<QByteArray>(&m_v))
        return *s;
    return std::nullopt;
}

std::optional<QStringList> GgufValue::toStringList() const
{
    const GgufArray* a = asArray();
    if (!a || a->type != GgufValueType::String)
        return std::nullopt;
    QStringList out;
    out.reserve(qsizetype(a->values.size()));
    for (const GgufValue& v : a->values)
        out << QString::fromUtf8(std::get<QByteArray>(v.m_v));
    return out;
}

std::optional<std::vector<float>> GgufValue::toFloatList() const
{
    const GgufArray* a = asArray();
    if (!a)
        return std::nullopt;
    std::vector<float> out;
    out.reserve(a->values.size());
    for (const GgufValue& v : a->values) {
        const auto d = v.toDouble();
        if (!d)
            return std::nullopt;
        out.push_back(float(*d));
    }
    return out;
}

std::optional<std::vector<std::int64_t>> GgufValue::toIntList() const
{
    const GgufArray* a = asArray();
    if (!a)
        return std::nullopt;
    std::vector<std::int64_t> out;
    out.reserve(a->values.size());
    for (const GgufValue& v : a->values) {
        const auto i = v.toInt();
        if (!i)
            return std::nullopt;
        out.push_back(*i);
    }
    return out;
}

// --- tensors --------------------------------------------------------------------------------

std::int64_t GgufTensor::numel() const
{
    std::int64_t n = 1;
    for (std::int64_t d : dims)
        n *= d;
    return n;
}

std::optional<std::uint64_t> ggufTensorBytes(GgmlType type, const std::vector<std::int64_t>& dims,
                                             QString* problem)
{
    std::uint64_t bytes = 0;
    const QString p = tensorGeometry(type, dims, bytes);
    if (problem)
        *problem = p;
    if (!p.isEmpty())
        return std::nullopt;
    return bytes;
}

bool ggufIsPlainFloat(GgmlType type)
{
    return ggmlFloatDType(type).has_value();
}

void ggufPlainToF32(GgmlType type, const void* src, float* dst, std::size_t n)
{
    const auto dt = ggmlFloatDType(type);
    if (!dt)
        throw Error(
            QStringLiteral("cannot read %1 data as f32 here: only F32, F16 and BF16 are plain float types")
                .arg(ggmlTypeName(type)));
    if (n > 0) // empty tensors have no buffers: convertToF32 would memcpy from/to null
        convertToF32(*dt, src, dst, n);
}

// --- reader ---------------------------------------------------------------------------------

std::shared_ptr<const GgufFile> GgufFile::open(const QString& path)
{
    return fromMapped(MappedFile::open(path));
}

std::shared_ptr<const GgufFile> GgufFile::fromBytes(QByteArray bytes, const QString& path)
{
    return fromMapped(MappedFile::fromBytes(std::move(bytes), path));
}

std::shared_ptr<const GgufFile> GgufFile::fromMapped(std::shared_ptr<const MappedFile> file)
{
    std::shared_ptr<GgufFile> g(new GgufFile);
    g->m_file = std::move(file);
    const QString& path = g->m_file->path();
    const unsigned char* base = g->m_file->data();
    const std::uint64_t fileSize = g->m_file->size();
    Reader r(path, base, fileSize);

    if (fileSize < 4 || std::memcmp(base, "GGUF", 4) != 0) {
        QString shown;
        for (std::uint64_t i = 0; i < std::min<std::uint64_t>(fileSize, 4); ++i)
            shown += QStringLiteral("%1 ").arg(uint(base[i]), 2, 16, QLatin1Char('0'));
        throw r.fail(
            QStringLiteral("not a GGUF file: bad magic (first bytes %1, expected 47 47 55 46 = \"GGUF\")")
                .arg(fileSize == 0 ? QStringLiteral("none: the file is empty") : shown.trimmed()));
    }
    r.read<std::uint32_t>(QStringLiteral("magic"));
    const QString header = QStringLiteral("the header");
    g->m_version = r.read<std::uint32_t>(header);
    if (g->m_version != 2 && g->m_version != 3) {
        const std::uint32_t swapped = __builtin_bswap32(g->m_version);
        if (swapped == 2 || swapped == 3)
            throw r.fail(QStringLiteral("big-endian GGUF (version %1) is not supported").arg(swapped));
        if (g->m_version == 1)
            throw r.fail(
                QStringLiteral("unsupported GGUF version 1 (obsolete; only versions 2 and 3 are read): "
                               "convert the model again with a current llama.cpp"));
        throw r.fail(
            QStringLiteral("unsupported GGUF version %1 (only versions 2 and 3 are read)").arg(g->m_version));
    }
    const auto nTensors = r.read<std::uint64_t>(header);
    const auto nKv = r.read<std::uint64_t>(header);
    if (nKv > r.left() / kMinKeyValueBytes)
        throw r.fail(
            QStringLiteral("metadata count %1 cannot fit in the file: %2 bytes left after the header "
                           "(truncated or corrupt)")
                .arg(nKv)
                .arg(r.left()));
    if (nTensors > (r.left() - nKv * kMinKeyValueBytes) / kMinTensorInfoBytes)
        throw r.fail(QStringLiteral("tensor count %1 cannot fit in the file: %2 bytes left after the header "
                                    "(truncated or corrupt)")
                         .arg(nTensors)
                         .arg(r.left()));

    g->m_metadata.reserve(nKv);
    for (std::uint64_t i = 0; i < nKv; ++i) {
        const QString entry = QStringLiteral("metadata entry %1 of %2").arg(i).arg(nKv);
        const QString key = QString::fromUtf8(r.string(entry + u" key", kMaxKeyBytes));
        const QString ctx = u"metadata key " + quoted(key);
        if (const auto it = g->m_keyIndex.constFind(key); it != g->m_keyIndex.cend())
            throw r.fail(QStringLiteral("duplicate metadata key %1 (entries %2 and %3)")
                             .arg(quoted(key))
                             .arg(*it)
                             .arg(i));
        const auto type = r.read<std::uint32_t>(ctx);
        if (type > kLastValueType)
            throw r.fail(
                QStringLiteral("%1: unknown value type %2 (offset %3)").arg(ctx).arg(type).arg(r.pos() - 4));
        GgufValue value = readValue(r, GgufValueType(type), ctx, 0);
        g->m_keyIndex.insert(key, qsizetype(i));
        g->m_metadata.push_back({key, std::move(value)});
    }

    if (const GgufValue* a = g->find(kGgufAlignmentKey)) {
        const auto* u = std::get_if<std::uint32_t>(&a->storage());
        if (!u)
            throw r.fail(u"metadata key " + quoted(kGgufAlignmentKey) + u" must be uint32, not " +
                         a->typeName());
        if (!isPowerOfTwo(*u))
            throw r.fail(u"metadata key " + quoted(kGgufAlignmentKey) +
                         QStringLiteral(": alignment %1 is not a power of two").arg(*u));
        g->m_alignment = *u;
    }

    g->m_tensors.reserve(nTensors);
    for (std::uint64_t i = 0; i < nTensors; ++i) {
        const QString entry = QStringLiteral("tensor info %1 of %2").arg(i).arg(nTensors);
        GgufTensor t;
        t.name = QString::fromUtf8(r.string(entry + u" name"));
        const QString ctx = u"tensor " + quoted(t.name);
        auto tfail = [&](const QString& problem) { return r.fail(ctx + u": " + problem); };
        if (const auto it = g->m_tensorIndex.constFind(t.name); it != g->m_tensorIndex.cend())
            throw r.fail(QStringLiteral("duplicate tensor name %1 (tensors %2 and %3)")
                             .arg(quoted(t.name))
                             .arg(*it)
                             .arg(i));
        const auto nDims = r.read<std::uint32_t>(ctx);
        if (nDims > std::uint32_t(kGgufMaxDims))
            throw tfail(
                QStringLiteral("%1 dimensions (GGUF allows at most %2)").arg(nDims).arg(kGgufMaxDims));
        for (std::uint32_t d = 0; d < nDims; ++d) {
            const auto dim = r.read<std::uint64_t>(ctx);
            if (dim > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
                throw tfail(QStringLiteral("dimension %1 is %2, beyond int64 (negative?)").arg(d).arg(dim));
            t.dims.push_back(std::int64_t(dim));
        }
        const auto typeId = r.read<std::uint32_t>(ctx);
        const GgmlTypeInfo* info = ggmlTypeInfo(typeId);
        if (!info)
            throw tfail(QStringLiteral("unknown or retired ggml type id %1").arg(typeId));
        t.type = info->type;
        t.offset = r.read<std::uint64_t>(ctx);
        if (const QString problem = tensorGeometry(t.type, t.dims, t.bytes); !problem.isEmpty())
            throw tfail(problem);
        if (t.offset % g->m_alignment != 0)
            throw tfail(QStringLiteral("data offset %1 is not a multiple of the alignment %2")
                            .arg(t.offset)
                            .arg(g->m_alignment));
        g->m_tensorIndex.insert(t.name, qsizetype(i));
        g->m_tensors.push_back(std::move(t));
    }

    g->m_dataOffset = alignUp(r.pos(), g->m_alignment);
    const std::uint64_t dataSize = fileSize > g->m_dataOffset ? fileSize - g->m_dataOffset : 0;
    for (const GgufTensor& t : g->m_tensors) {
        std::uint64_t end = 0;
        if (__builtin_add_overflow(t.offset, t.bytes, &end) || end > dataSize)
            throw r.fail(
                u"tensor " + quoted(t.name) +
                QStringLiteral(": data [%1, %1 + %2) lies outside the data section of %3 bytes at file "
                               "offset %4 (truncated file?)")
                    .arg(t.offset)
                    .arg(t.bytes)
                    .arg(dataSize)
                    .arg(g->m_dataOffset));
    }
    std::vector<std::size_t> order(g->m_tensors.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const GgufTensor& x = g->m_tensors[a];
        const GgufTensor& y = g->m_tensors[b];
        return x.offset != y.offset ? x.offset < y.offset : x.bytes < y.bytes;
    });
    const GgufTensor* prev = nullptr;
    for (std::size_t i : order) {
        const GgufTensor& t = g->m_tensors[i];
        if (t.bytes == 0)
            continue;
        if (prev && t.offset < prev->offset + prev->bytes)
            throw r.fail(u"tensors " + quoted(prev->name) + u" and " + quoted(t.name) +
                         QStringLiteral(" overlap: bytes [%1, %2) and [%3, %4) of the data section")
                             .arg(prev->offset)
                             .arg(prev->offset + prev->bytes)
                             .arg(t.offset)
                             .arg(t.offset + t.bytes));
        prev = &t;
    }
    return g;
}

const GgufValue* GgufFile::find(const QString& key) const
{
    const auto it = m_keyIndex.constFind(key);
    return it == m_keyIndex.cend() ? nullptr : &m_metadata[std::size_t(*it)].value;
}

const GgufValue& GgufFile::require(const QString& key) const
{
    const GgufValue* v = find(key);
    if (!v)
        throw Error::inFile(path(), u"metadata key " + quoted(key) + u" is missing");
    return *v;
}

void GgufFile::wrongType(const QString& key, const GgufValue& v, const char* expected) const
{
    throw Error::inFile(path(), u"metadata key " + quoted(key) + u" is " + v.typeName() + u", expected " +
                                    QLatin1String(expected));
}

QString GgufFile::getString(const QString& key) const
{
    const GgufValue& v = require(key);
    if (auto s = v.toString())
        return *s;
    wrongType(key, v, "a string");
}

QString GgufFile::getString(const QString& key, const QString& fallback) const
{
    return contains(key) ? getString(key) : fallback;
}

std::int64_t GgufFile::getInt(const QString& key) const
{
    const GgufValue& v = require(key);
    if (auto i = v.toInt())
        return *i;
    wrongType(key, v, "an integer");
}

std::int64_t GgufFile::getInt(const QString& key, std::int64_t fallback) const
{
    return contains(key) ? getInt(key) : fallback;
}

double GgufFile::getFloat(const QString& key) const
{
    const GgufValue& v = require(key);
    if (auto d = v.toDouble())
        return *d;
    wrongType(key, v, "a number");
}

double GgufFile::getFloat(const QString& key, double fallback) const
{
    return contains(key) ? getFloat(key) : fallback;
}

bool GgufFile::getBool(const QString& key) const
{
    const GgufValue& v = require(key);
    if (auto b = v.toBool())
        return *b;
    wrongType(key, v, "a bool");
}

bool GgufFile::getBool(const QString& key, bool fallback) const
{
    return contains(key) ? getBool(key) : fallback;
}

QStringList GgufFile::getStrings(const QString& key) const
{
    const GgufValue& v = require(key);
    if (auto l = v.toStringList())
        return *l;
    wrongType(key, v, "an array of strings");
}

std::vector<float> GgufFile::getFloats(const QString& key) const
{
    const GgufValue& v = require(key);
    if (auto l = v.toFloatList())
        return *l;
    wrongType(key, v, "an array of numbers");
}

std::vector<std::int64_t> GgufFile::getInts(const QString& key) const
{
    const GgufValue& v = require(key);
    if (auto l = v.toIntList())
        return *l;
    wrongType(key, v, "an array of integers");
}

const GgufTensor* GgufFile::findTensor(const QString& name) const
{
    const auto it = m_tensorIndex.constFind(name);
    return it == m_tensorIndex.cend() ? nullptr : &m_tensors[std::size_t(*it)];
}

std::vector<float> GgufFile::readF32(const GgufTensor& t) const
{
    if (!ggufIsPlainFloat(t.type))
        throw Error::inFile(path(),
                            u"tensor " + quoted(t.name) + u": cannot read type " + ggmlTypeName(t.type) +
                                u" as f32 here (only F32, F16 and BF16; quantized types need the ggml "
                                u"dequantizers)");
    std::vector<float> out(std::size_t(t.numel()));
    ggufPlainToF32(t.type, data(t), out.data(), out.size());
    return out;
}

std::vector<float> GgufFile::readF32(const QString& name) const
{
    const GgufTensor* t = findTensor(name);
    if (!t)
        throw Error::inFile(path(), u"no tensor " + quoted(name));
    return readF32(*t);
}

// --- writer ---------------------------------------------------------------------------------

void GgufWriter::set(const QString& key, GgufValue value)
{
    const QByteArray utf8 = key.toUtf8();
    if (utf8.isEmpty() || std::uint64_t(utf8.size()) > kMaxKeyBytes)
        throw Error(QStringLiteral("GGUF metadata key '%1': keys must have 1 to %2 bytes")
                        .arg(key.left(80))
                        .arg(kMaxKeyBytes));
    if (key == kGgufAlignmentKey) {
        const auto* u = std::get_if<std::uint32_t>(&value.storage());
        if (!u)
            throw Error(u"GGUF metadata key " + quoted(key) + u" must be uint32, not " + value.typeName());
        if (!isPowerOfTwo(*u))
            throw Error(u"GGUF metadata key " + quoted(key) +
                        QStringLiteral(": alignment %1 is not a power of two").arg(*u));
        m_alignment = *u;
    }
    for (GgufKeyValue& kv : m_metadata) {
        if (kv.key == key) {
            kv.value = std::move(value);
            return;
        }
    }
    m_metadata.push_back({key, std::move(value)});
}

std::uint64_t GgufWriter::checkTensor(const QString& name, GgmlType type,
                                      const std::vector<std::int64_t>& dims) const
{
    const QString ctx = u"GGUF tensor " + quoted(name) + u": ";
    if (!ggmlTypeInfo(std::uint32_t(type)))
        throw Error(ctx + QStringLiteral("unknown ggml type id %1").arg(std::uint32_t(type)));
    const qsizetype nameBytes = name.toUtf8().size();
    if (nameBytes == 0 || nameBytes > kGgufMaxTensorName)
        throw Error(ctx + QStringLiteral("names must have 1 to %1 bytes (ggml's limit), this one has %2")
                              .arg(kGgufMaxTensorName)
                              .arg(nameBytes));
    for (const Pending& p : m_tensors) {
        if (p.name == name)
            throw Error(ctx + u"duplicate tensor name");
    }
    std::uint64_t bytes = 0;
    if (const QString problem = tensorGeometry(type, dims, bytes); !problem.isEmpty())
        throw Error(ctx + problem);
    return bytes;
}

void GgufWriter::addTensor(const QString& name, GgmlType type, std::vector<std::int64_t> dims,
                           QByteArray bytes)
{
    const std::uint64_t n = checkTensor(name, type, dims);
    if (std::uint64_t(bytes.size()) != n)
        throw Error(u"GGUF tensor " + quoted(name) +
                    QStringLiteral(": %1 bytes given, its shape and type %2 need %3")
                        .arg(bytes.size())
                        .arg(ggmlTypeName(type))
                        .arg(n));
    m_tensors.push_back({name, type, std::move(dims), n, [bytes = std::move(bytes)](const Sink& write) {
                             write(bytes.constData(), std::size_t(bytes.size()));
                         }});
}

void GgufWriter::addTensor(const QString& name, GgmlType type, std::vector<std::int64_t> dims,
                           Producer produce)
{
    const std::uint64_t n = checkTensor(name, type, dims);
    m_tensors.push_back({name, type, std::move(dims), n, std::move(produce)});
}

void GgufWriter::addTensorF32(const QString& name, GgmlType type, std::vector<std::int64_t> dims,
                              std::vector<float> values)
{
    const std::uint64_t n = checkTensor(name, type, dims);
    const auto dt = ggmlFloatDType(type);
    const std::uint64_t numel = dt ? n / std::uint64_t(dtypeInfo(*dt).bytes) : 0;
    if (!dt || numel != values.size())
        throw Error(
            QStringLiteral("GGUF tensor '%1': addTensorF32 needs F32/F16/BF16 and one value per element "
                           "(got %2, %3 values for %4 elements)")
                .arg(name, ggmlTypeName(type))
                .arg(values.size())
                .arg(numel));
    QByteArray raw(qsizetype(n), Qt::Uninitialized);
    auto* dst = reinterpret_cast<unsigned char*>(raw.data());
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (type == GgmlType::F32) {
            std::memcpy(dst + 4 * i, &values[i], 4);
        } else {
            const std::uint16_t h =
                type == GgmlType::F16 ? ref::f32ToF16(values[i]) : ref::f32ToBf16(values[i]);
            std::memcpy(dst + 2 * i, &h, 2);
        }
    }
    addTensor(name, type, std::move(dims), std::move(raw));
}

void GgufWriter::write(const QString& path) const
{
    QByteArray head;
    head.append("GGUF", 4);
    appendLe<std::uint32_t>(head, 3);
    appendLe<std::uint64_t>(head, m_tensors.size());
    appendLe<std::uint64_t>(head, m_metadata.size());
    for (const GgufKeyValue& kv : m_metadata) {
        appendString(head, kv.key.toUtf8());
        appendLe<std::uint32_t>(head, std::uint32_t(kv.value.type()));
        appendPayload(head, kv.value);
    }
    std::uint64_t offset = 0;
    for (const Pending& t : m_tensors) {
        appendString(head, t.name.toUtf8());
        appendLe<std::uint32_t>(head, std::uint32_t(t.dims.size()));
        for (std::int64_t d : t.dims)
            appendLe<std::uint64_t>(head, std::uint64_t(d));
        appendLe<std::uint32_t>(head, std::uint32_t(t.type));
        appendLe<std::uint64_t>(head, offset);
        offset += alignUp(t.bytes, m_alignment);
    }
    head.append(qsizetype(alignUp(std::uint64_t(head.size()), m_alignment) - std::uint64_t(head.size())),
                '\0');

    AtomicFile f(path); // temp file + rename on commit; discarded if we throw before that
    auto put = [&](const void* data, qint64 bytes) { f.write(data, bytes); };
    put(head.constData(), head.size());
    const QByteArray zeros(qsizetype(m_alignment), '\0');
    for (const Pending& t : m_tensors) {
        std::uint64_t written = 0;
        const Sink sink = [&](const void* data, std::size_t bytes) {
            if (bytes > t.bytes - written)
                throw Error::inFile(
                    path, u"tensor " + quoted(t.name) +
                              QStringLiteral(": the producer wrote more than the %1 bytes its shape "
                                             "and type %2 take")
                                  .arg(t.bytes)
                                  .arg(ggmlTypeName(t.type)));
            put(data, qint64(bytes));
            written += bytes;
        };
        if (t.produce)
            t.produce(sink);
        if (written != t.bytes)
            throw Error::inFile(
                path, u"tensor " + quoted(t.name) +
                          QStringLiteral(": the producer wrote %1 bytes, its shape and type %2 take %3")
                              .arg(written)
                              .arg(ggmlTypeName(t.type))
                              .arg(t.bytes));
        put(zeros.constData(), qint64(alignUp(t.bytes, m_alignment) - t.bytes));
    }
    f.commit();
}

} // namespace qs
