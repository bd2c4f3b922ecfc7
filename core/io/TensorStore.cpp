#include "io/TensorStore.h"

#include "io/Gguf.h"
#include "io/GgufModel.h"
#include "kernels/Convert.h"
#include "kernels/GgmlQuants.h"
#include "util/Error.h"
#include "util/StreamBuffer.h"
#include "util/Threads.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

namespace qs {

namespace {

QJsonObject readIndex(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, u"cannot open: " + f.errorString());
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &perr);
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(
            path, QStringLiteral("invalid JSON: %1 at byte %2").arg(perr.errorString()).arg(perr.offset));
    if (!doc.isObject() || !doc.object().value(u"weight_map").isObject())
        throw Error::inFile(path, QStringLiteral("no \"weight_map\" object"));
    return doc.object().value(u"weight_map").toObject();
}

} // namespace

TensorStore TensorStore::open(const QString& path)
{
    TensorStore store;
    store.m_path = path;
    const QFileInfo fi(path);
    if (!fi.exists())
        throw Error::inFile(path, QStringLiteral("no such file or folder"));
    if (fi.isFile()) {
        store.addShard(SafetensorsFile::open(fi.absoluteFilePath()));
        return store;
    }
    const QDir dir(fi.absoluteFilePath());
    const QString index = dir.filePath(QStringLiteral("model.safetensors.index.json"));
    const QString single = dir.filePath(QStringLiteral("model.safetensors"));
    if (QFileInfo::exists(index)) {
        const QJsonObject map = readIndex(index);
        QStringList shardNames; // in order of first appearance, stable across runs
        for (auto it = map.begin(); it != map.end(); ++it) {
            if (!it.value().isString())
                throw Error::inFile(index, u"weight_map entry '" + it.key() + u"' is not a file name");
            // Shards live in the folder: a path elsewhere (or a name Qt cannot pass to the system,
            // with a NUL) is refused rather than opened.
            const QString shard = it.value().toString();
            if (shard.isEmpty() || shard == u"." || shard == u".." || shard.contains(u'/') ||
                shard.contains(u'\\') || shard.contains(QChar(0)))
                throw Error::inFile(index, u"weight_map entry '" + it.key() + u"': '" + shard +
                                               u"' is not a file name in the model folder");
            if (!shardNames.contains(it.value().toString()))
                shardNames << it.value().toString();
        }
        shardNames.sort();
        for (const QString& shard : shardNames) {
            const QString shardPath = dir.filePath(shard);
            if (!QFileInfo::exists(shardPath))
                throw Error::inFile(index, u"shard '" + shard + u"' named in the index is missing");
            store.addShard(SafetensorsFile::open(shardPath));
        }
        for (auto it = map.begin(); it != map.end(); ++it) {
            const auto e = store.m_entries.constFind(it.key());
            const QString shard = it.value().toString();
            if (e == store.m_entries.cend() || QFileInfo(store.m_files[e->shard]).fileName() != shard)
                throw Error::inFile(dir.filePath(shard),
                                    u"tensor '" + it.key() +
                                        u"' is listed in the index but absent from this shard");
        }
        return store;
    }
    if (QFileInfo::exists(single)) {
        store.addShard(SafetensorsFile::open(single));
        return store;
    }
    const QStringList any = dir.entryList({QStringLiteral("*.safetensors")}, QDir::Files, QDir::Name);
    if (any.size() == 1) {
        store.addShard(SafetensorsFile::open(dir.filePath(any.front())));
        return store;
    }
    throw Error::inFile(dir.path(),
                        any.isEmpty() ? QStringLiteral("no model.safetensors or model.safetensors.index.json")
                                      : QStringLiteral("several .safetensors files but no index"));
}

TensorStore TensorStore::openGguf(std::shared_ptr<const GgufFile> file,
                                  const std::vector<GgufTensorMapping>& mapping)
{
    TensorStore store;
    store.m_path = file->path();
    store.m_files << file->path();
    auto infos = std::make_shared<std::vector<TensorInfo>>();
    infos->reserve(mapping.size());
    for (const GgufTensorMapping& m : mapping) {
        const GgufTensor& g = *m.tensor;
        TensorInfo t;
        t.name = m.hfName;
        t.ggmlType = g.type;
        t.shape = g.shape();
        t.begin = g.offset;
        t.end = g.offset + g.bytes;
        t.dtype = ggmlFloatDType(g.type).value_or(DType::U8); // block formats are raw bytes
        if (m.permuteHeads > 0 && (t.shape.size() != 2 || t.rows() % (2 * m.permuteHeads) != 0))
            throw Error::inFile(file->path(), QStringLiteral("tensor '%1': %2 rows cannot hold %3 heads")
                                                  .arg(g.name)
                                                  .arg(t.rows())
                                                  .arg(m.permuteHeads));
        infos->push_back(std::move(t));
    }
    for (std::size_t i = 0; i < mapping.size(); ++i) {
        const TensorInfo& t = (*infos)[i];
        if (store.m_entries.contains(t.name))
            throw Error::inFile(file->path(), u"tensors '" + mapping[i].tensor->name +
                                                  u"' and another both map to '" + t.name + u'\'');
        store.m_entries.insert(t.name, Entry{0, &t, mapping[i].permuteHeads});
        store.m_order << t.name;
    }
    store.m_ggufInfos = std::move(infos);
    store.m_gguf = std::move(file);
    return store;
}

std::size_t TensorStore::rowBytes(const TensorInfo& t) const
{
    if (t.blockQuantized())
        return ggmlRowBytes(*t.ggmlType, t.cols());
    return std::size_t(t.cols()) * std::size_t(dtypeInfo(t.dtype).bytes);
}

void TensorStore::addShard(std::shared_ptr<const SafetensorsFile> file)
{
    const int shard = int(m_shards.size());
    for (const TensorInfo& t : file->tensors()) {
        if (m_entries.contains(t.name))
            throw Error::inFile(file->path(), u"tensor '" + t.name + u"' also appears in " + fileOf(t.name));
        m_entries.insert(t.name, Entry{shard, &t});
        m_order << t.name;
    }
    m_files << file->path();
    m_shards.push_back(std::move(file));
}

const TensorStore::Entry& TensorStore::entry(const QString& name) const
{
    const auto it = m_entries.constFind(name);
    if (it == m_entries.cend())
        throw Error::inFile(m_path, u"tensor '" + name + u"' not found");
    return *it;
}

const TensorInfo& TensorStore::info(const QString& name) const
{
    return *entry(name).info;
}

QString TensorStore::fileOf(const QString& name) const
{
    return m_files[entry(name).shard];
}

std::uint64_t TensorStore::totalBytes() const
{
    std::uint64_t total = 0;
    for (const Entry& e : m_entries)
        total += e.info->bytes();
    return total;
}

const unsigned char* TensorStore::rawData(const QString& name) const
{
    const Entry& e = entry(name);
    if (!m_gguf)
        return m_shards[std::size_t(e.shard)]->data(*e.info);
    if (e.permuteHeads > 0)
        throw Error::inFile(m_path,
                            u"tensor '" + name + u"' is stored with permuted rows; read it row by row");
    return m_gguf->dataAt(e.info->begin);
}

bool TensorStore::rowsInPlace(const QString& name) const
{
    return entry(name).permuteHeads == 0;
}

void TensorStore::checkFinite(const QString& name) const
{
    const TensorInfo& t = info(name);
    forEachRowRange(t.rows(), t.cols(), [&](std::int64_t first, std::int64_t count) {
        std::vector<float> chunk(std::size_t(count * t.cols()));
        readRowsF32(name, first, count, chunk.data(), FiniteCheck::Throw);
    });
}

void TensorStore::releasePages(const QString& name) const
{
    const Entry& e = entry(name);
    const unsigned char* begin =
        m_gguf ? m_gguf->dataAt(e.info->begin) : m_shards[std::size_t(e.shard)]->data(*e.info);
    releaseMappedPages(begin, e.info->bytes());
}

std::vector<std::uint8_t> TensorStore::readRawRows(const QString& name) const
{
    std::vector<std::uint8_t> out(std::size_t(info(name).bytes()));
    readRawRows(name, out.data());
    return out;
}

void TensorStore::readRawRows(const QString& name, std::uint8_t* out) const
{
    const Entry& e = entry(name);
    const TensorInfo& t = *e.info;
    // Read from the file (pread), not through the map: the copy is all that becomes resident. Through
    // the map, each page touched stayed resident until dropped, and on a page cache holding 2 MiB
    // folios a touch maps the whole folio, neighbours included, and dropping part of it leaves the rest
    // (a 54 MB output head repacked at load had raised the peak resident set of a 237 MB Q4_K_M model by
    // as much).
    const MappedFile& file = mappingOf(e);
    if (e.permuteHeads == 0) {
        file.read(rawData(name), std::size_t(t.bytes()), out);
        return;
    }
    const std::size_t rb = rowBytes(t);
    for (std::int64_t r = 0; r < t.rows(); ++r)
        file.read(storedRow(e, r), rb, out + std::size_t(r) * rb);
}

const MappedFile& TensorStore::mappingOf(const Entry& e) const
{
    return m_gguf ? m_gguf->mapping() : m_shards[std::size_t(e.shard)]->mapping();
}

void TensorStore::checkRowsReadable(const Entry& e, const QString& name, std::int64_t row0,
                                    std::int64_t nRows) const
{
    const TensorInfo& t = *e.info;
    if (row0 < 0 || nRows < 0 || row0 + nRows > t.rows())
        throw Error::inFile(m_files[e.shard], u"tensor '" + name + u"': " +
                                                  QStringLiteral("rows %1..%2 out of range (%3 rows)")
                                                      .arg(row0)
                                                      .arg(row0 + nRows)
                                                      .arg(t.rows()));
    if (t.ggmlType && !ggmlTypeInfo(*t.ggmlType).canDequantize)
        throw Error::inFile(m_files[e.shard], u"tensor '" + name + u"' is stored as " + t.typeName() +
                                                  u", which QuantScope cannot read yet");
}

const unsigned char* TensorStore::storedRow(const Entry& e, std::int64_t row) const
{
    const TensorInfo& t = *e.info;
    const std::size_t rb = rowBytes(t);
    if (!m_gguf)
        return m_shards[std::size_t(e.shard)]->data(t) + std::size_t(row) * rb;
    const std::int64_t src = e.permuteHeads > 0 ? ggufRowOfHfRow(row, t.rows(), e.permuteHeads) : row;
    return m_gguf->dataAt(t.begin) + std::size_t(src) * rb;
}

void TensorStore::rowsToF32(const TensorInfo& t, const unsigned char* src, std::int64_t nRows, float* dst)
{
    const std::int64_t n = t.cols() * nRows;
    if (t.blockQuantized())
        ggmlDequantizeRow(*t.ggmlType, src, dst, n);
    else
        convertToF32(t.dtype, src, dst, std::size_t(n));
}

void TensorStore::readRowF32FromFile(const QString& name, std::int64_t row, float* dst) const
{
    readRowsF32(name, row, 1, dst);
}

void TensorStore::readRowsF32(const QString& name, std::int64_t row0, std::int64_t nRows, float* dst,
                              FiniteCheck check) const
{
    const Entry& e = entry(name);
    const TensorInfo& t = *e.info;
    checkRowsReadable(e, name, row0, nRows);
    const std::size_t cols = std::size_t(t.cols());
    const std::size_t n = cols * std::size_t(nRows);
    // Read from the file (pread) a piece of whole rows at a time and converted, never through the map
    // (see readRawRows): a norm's 8 KB read through the map made the 2 MiB around it resident.
    const MappedFile& file = mappingOf(e);
    const std::size_t rb = rowBytes(t);
    constexpr std::size_t kPieceBytes = std::size_t(1) << 20;
    const std::int64_t pieceRows =
        e.permuteHeads > 0
            ? 1
            : std::int64_t(std::max<std::size_t>(1, kPieceBytes / std::max<std::size_t>(rb, 1)));
    thread_local std::vector<unsigned char> raw;
    for (std::int64_t r = 0; r < nRows; r += pieceRows) {
        const std::int64_t k = std::min(pieceRows, nRows - r);
        raw.resize(std::size_t(k) * rb);
        file.read(storedRow(e, row0 + r), std::size_t(k) * rb, raw.data());
        rowsToF32(t, raw.data(), k, dst + std::size_t(r) * cols);
    }
    if (check == FiniteCheck::Throw) {
        std::size_t first = 0;
        const std::size_t bad = countNonFinite(dst, n, &first);
        if (bad)
            throw Error::inFile(
                m_files[e.shard],
                u"tensor '" + name + u"' " +
                    QStringLiteral("has %1 non-finite value(s) (NaN/Inf), first at row %2, column %3")
                        .arg(bad)
                        .arg(row0 + std::int64_t(first / std::max<std::size_t>(cols, 1)))
                        .arg(first % std::max<std::size_t>(cols, 1)));
    }
}

std::vector<float> TensorStore::readF32(const QString& name, FiniteCheck check) const
{
    const TensorInfo& t = info(name);
    std::vector<float> out;
    resizeOnHugePages(out, static_cast<std::size_t>(t.numel())); // a layer's working copy: many MB
    readRowsF32(name, 0, t.rows(), out.data(), check);
    return out;
}

QString shapeString(const std::vector<std::int64_t>& shape)
{
    QStringList parts;
    for (std::int64_t d : shape)
        parts << QString::number(d);
    return u'[' + parts.join(u", ") + u']';
}

} // namespace qs
