#include "io/TensorStore.h"

#include "kernels/Convert.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

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
        throw Error::inFile(path, QStringLiteral("invalid JSON: %1 at byte %2").arg(perr.errorString()).arg(perr.offset));
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
                                    u"tensor '" + it.key() + u"' is listed in the index but absent from this shard");
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
    throw Error::inFile(dir.path(), any.isEmpty()
                                        ? QStringLiteral("no model.safetensors or model.safetensors.index.json")
                                        : QStringLiteral("several .safetensors files but no index"));
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

const TensorInfo& TensorStore::info(const QString& name) const { return *entry(name).info; }

QString TensorStore::fileOf(const QString& name) const { return m_files[entry(name).shard]; }

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
    return m_shards[std::size_t(e.shard)]->data(*e.info);
}

void TensorStore::readRowsF32(const QString& name, std::int64_t row0, std::int64_t nRows, float* dst,
                              FiniteCheck check) const
{
    const Entry& e = entry(name);
    const TensorInfo& t = *e.info;
    if (row0 < 0 || nRows < 0 || row0 + nRows > t.rows())
        throw Error::inFile(m_files[e.shard], u"tensor '" + name + u"': " +
                                                  QStringLiteral("rows %1..%2 out of range (%3 rows)")
                                                      .arg(row0)
                                                  .arg(row0 + nRows)
                                                  .arg(t.rows()));
    const std::size_t cols = std::size_t(t.cols());
    const std::size_t n = cols * std::size_t(nRows);
    const unsigned char* src = rawData(name) + std::size_t(row0) * cols * std::size_t(dtypeInfo(t.dtype).bytes);
    convertToF32(t.dtype, src, dst, n);
    if (check == FiniteCheck::Throw) {
        std::size_t first = 0;
        const std::size_t bad = countNonFinite(dst, n, &first);
        if (bad)
            throw Error::inFile(m_files[e.shard],
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
    std::vector<float> out(static_cast<std::size_t>(t.numel()));
    readRowsF32(name, 0, t.rows(), out.data(), check);
    return out;
}

} // namespace qs
