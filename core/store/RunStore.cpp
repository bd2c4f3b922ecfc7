#include "store/RunStore.h"

#include "results/RunSummaryJson.h"
#include "session/Session.h"
#include "store/StoreImport.h"
#include "util/Error.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

namespace qs {

namespace {

const QLatin1String kFormat("quantscope-runs");

} // namespace

QJsonObject StoredRuns::toJson(const ModelIdentity& model) const
{
    QJsonArray array;
    for (const SessionRun& r : runs)
        array.append(r.toJson());
    QJsonObject o{{QStringLiteral("format"), kFormat},
                  {QStringLiteral("version"), RunStore::kVersion},
                  {QStringLiteral("saved"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate)},
                  {QStringLiteral("model"), model.path},
                  {QStringLiteral("model_bytes"), model.bytes},
                  {QStringLiteral("model_modified"), model.modified.toString(Qt::ISODateWithMs)},
                  {QStringLiteral("runs"), array}};
    if (baseline)
        o.insert(QStringLiteral("baseline"), runSummaryToJson(*baseline));
    return o;
}

StoredRuns StoredRuns::fromJson(const QByteArray& json, const QString& path, const ModelIdentity& model)
{
    const QJsonObject o =
        readVersionedJson(json, path, kFormat, QStringLiteral("run store"), RunStore::kVersion);
    if (o.value(u"model").toString() != model.path || o.value(u"model_bytes").toInteger() != model.bytes)
        throw Error::inFile(path, QStringLiteral("holds the runs of %1 (%2 bytes), not of %3 (%4 bytes)")
                                      .arg(o.value(u"model").toString())
                                      .arg(o.value(u"model_bytes").toInteger())
                                      .arg(model.path)
                                      .arg(model.bytes));
    if (!o.value(u"runs").isArray())
        throw Error::inFile(path, QStringLiteral("runs: expected an array"));
    StoredRuns s;
    s.runs = sessionRunsFromJson(o.value(u"runs").toArray(), path);
    if (o.contains(u"baseline")) {
        if (!o.value(u"baseline").isObject())
            throw Error::inFile(path, QStringLiteral("baseline: expected an object"));
        s.baseline = runSummaryFromJson(o.value(u"baseline").toObject(), path + QStringLiteral(": baseline"));
    }
    return s;
}

void RunStore::setFolder(const QString& folder)
{
    if (folder == m_folder)
        return;
    m_folder = folder;
    m_db.reset();
    m_seen.clear(); // what another folder's database held says nothing about this one's
}

QString RunStore::databaseFile() const
{
    return m_folder.isEmpty() ? QString() : ResultsDb::fileIn(m_folder);
}

QString RunStore::checkpointFolderFor(const QString& uid) const
{
    return m_folder.isEmpty() ? QString() : QDir(m_folder).filePath(QStringLiteral("checkpoints/") + uid);
}

ResultsDb& RunStore::database()
{
    if (!m_db) {
        m_db = std::make_unique<ResultsDb>(databaseFile(), m_lockTimeoutMs);
        importLegacyFiles();
    }
    return *m_db;
}

void RunStore::importLegacyFiles()
{
    m_importErrors.clear();
    if (m_folder.isEmpty())
        return;
    const QStringList files = QDir(m_folder).entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name);
    for (const QString& name : files) {
        const QString file = QDir(m_folder).filePath(name);
        try {
            importRunStoreFile(*m_db, file, readResultsFile(file));
            if (!QFile::rename(file, file + QStringLiteral(".imported")))
                throw Error::inFile(file,
                                    QStringLiteral("imported, but cannot be renamed to %1.imported (it will "
                                                   "be imported again, which changes nothing)")
                                        .arg(name));
        } catch (const Error& e) {
            m_importErrors << e.message();
        }
    }
}

StoredRuns RunStore::load(const ModelIdentity& model)
{
    if (!model.isValid())
        return {};
    if (const auto it = m_memory.constFind(model.key()); it != m_memory.constEnd()) {
        for (const SessionRun& r : it->runs)
            m_seen[model.key()].insert(r.summary.id);
        return *it;
    }
    ResultsDb& db = database();
    RunFilter filter;
    filter.modelKey = model.key();
    StoredRuns s;
    QSet<QString>& seen = m_seen[model.key()];
    for (StoredRun& r : db.runs(filter)) {
        seen.insert(r.uid);
        s.runs.push_back(std::move(r.run));
    }
    if (auto b = db.baselineOf(model.key()))
        s.baseline = b->run.summary;
    m_memory.insert(model.key(), s);
    return s;
}

void RunStore::save(const ModelIdentity& model, const StoredRuns& runs)
{
    if (!model.isValid())
        return;
    StoredRuns held = runs;
    for (SessionRun& r : held.runs)
        if (r.summary.id.isEmpty())
            r.summary.id = derivedRunId(r);
    m_memory.insert(model.key(), held);
    ResultsDb& db = database();
    QSet<QString>& seen = m_seen[model.key()];
    QSet<QString> ours;
    // One transaction: a failed save (disk full, locked) records none of it.
    db.atomically(QStringLiteral("the runs of %1").arg(model.path), [&] {
        for (const SessionRun& r : held.runs) {
            const QString checkpoint = QFileInfo(r.summary.source).isDir() ? r.summary.source : QString();
            // A checkpoint's size is measured once, when the run first reaches the database.
            db.putRun(r, model, checkpoint,
                      !checkpoint.isEmpty() && !seen.contains(r.summary.id) ? folderBytes(checkpoint) : -1);
            ours.insert(r.summary.id);
        }
        if (held.baseline) {
            SessionRun b{*held.baseline, Recipe{}, true};
            if (b.summary.id.isEmpty())
                b.summary.id = derivedRunId(b);
            db.putRun(b, model);
        }
        // Runs this store held and the caller no longer does were removed here: to the trash.
        QList<qint64> removed;
        for (const QString& uid : std::as_const(seen))
            if (!ours.contains(uid))
                if (const auto r = db.runByUid(uid); r && !r->deleted)
                    removed << r->id;
        if (!removed.isEmpty())
            db.setDeleted(removed, true);
    });
    seen = ours;
    // Runs another instance recorded meanwhile join the memory copy (load() hands them out); only
    // their ids are listed, and only those rows are read.
    RunFilter filter;
    filter.modelKey = model.key();
    StoredRuns merged = held;
    for (const QString& uid : db.runUids(filter))
        if (!ours.contains(uid))
            if (auto r = db.runByUid(uid))
                merged.runs.push_back(std::move(r->run));
    m_memory.insert(model.key(), merged);
}

void RunStore::setLockTimeout(int ms)
{
    m_lockTimeoutMs = ms;
    if (m_db)
        m_db->setBusyTimeout(ms);
}

void RunStore::forget(const ModelIdentity& model)
{
    m_memory.remove(model.key());
}

qint64 folderBytes(const QString& folder)
{
    qint64 bytes = 0;
    QDirIterator it(folder, QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        bytes += it.fileInfo().size();
    }
    return bytes;
}

} // namespace qs
