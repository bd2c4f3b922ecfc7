#include "session/RunStore.h"

#include "results/RunSummaryJson.h"
#include "session/Session.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLockFile>
#include <cerrno>

namespace qs {

namespace {

const QLatin1String kFormat("quantscope-runs");

/// A run's identity across instances: its results and recipe (not whether it is shown).
QByteArray fingerprint(const SessionRun& r)
{
    const QJsonObject o{{QStringLiteral("summary"), runSummaryToJson(r.summary)},
                        {QStringLiteral("recipe"), r.recipe.toJson()}};
    return QCryptographicHash::hash(QJsonDocument(o).toJson(QJsonDocument::Compact),
                                    QCryptographicHash::Sha1);
}

QSet<QByteArray> fingerprints(const StoredRuns& s)
{
    QSet<QByteArray> f;
    for (const SessionRun& r : s.runs)
        f.insert(fingerprint(r));
    return f;
}

StoredRuns readRuns(const QString& file, const ModelIdentity& model)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(file, QStringLiteral("cannot open: ") + f.errorString());
    return StoredRuns::fromJson(f.readAll(), file, model);
}

} // namespace

ModelIdentity ModelIdentity::of(const QString& modelPath)
{
    const QFileInfo info(modelPath);
    ModelIdentity id;
    if (!info.exists())
        return id;
    id.path = info.canonicalFilePath();
    QDateTime newest;
    auto add = [&](const QFileInfo& f) {
        id.bytes += f.size();
        const QDateTime t = f.lastModified().toUTC();
        if (!newest.isValid() || t > newest)
            newest = t;
    };
    if (info.isDir()) {
        QDirIterator it(id.path, QDir::Files | QDir::NoDotAndDotDot);
        while (it.hasNext()) {
            it.next();
            add(it.fileInfo());
        }
    } else {
        add(info);
    }
    id.modified = newest.isValid() ? newest : info.lastModified().toUTC();
    return id;
}

QString ModelIdentity::key() const
{
    const QString text =
        path + u'|' + QString::number(bytes) + u'|' + QString::number(modified.toMSecsSinceEpoch());
    return QString::fromLatin1(
        QCryptographicHash::hash(text.toUtf8(), QCryptographicHash::Sha1).toHex().left(20));
}

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
    m_folder = folder;
}

QString RunStore::fileFor(const ModelIdentity& model) const
{
    return m_folder.isEmpty() || !model.isValid()
               ? QString()
               : QDir(m_folder).filePath(model.key() + QStringLiteral(".json"));
}

StoredRuns RunStore::load(const ModelIdentity& model)
{
    if (!model.isValid())
        return {};
    if (const auto it = m_memory.constFind(model.key()); it != m_memory.constEnd()) {
        m_seen[model.key()].unite(fingerprints(*it));
        return *it;
    }
    const QString file = fileFor(model);
    if (file.isEmpty() || !QFileInfo::exists(file))
        return {};
    try {
        StoredRuns s = readRuns(file, model);
        m_memory.insert(model.key(), s);
        m_seen[model.key()] = fingerprints(s);
        return s;
    } catch (const Error& e) {
        QString backup;
        try {
            backup = Session::moveAside(file);
        } catch (const Error& moveError) {
            m_unmovable.insert(model.key());
            throw Error(QStringLiteral("%1\n(%2; it stays where it is and is not written over)")
                            .arg(e.message(), moveError.message()));
        }
        throw Error(QStringLiteral("%1\n(the file was kept as %2)").arg(e.message(), backup));
    }
}

void RunStore::save(const ModelIdentity& model, const StoredRuns& runs)
{
    if (!model.isValid())
        return;
    m_memory.insert(model.key(), runs);
    const QString file = fileFor(model);
    if (file.isEmpty() || (runs.runs.empty() && !QFileInfo::exists(file)))
        return;
    if (m_unmovable.contains(model.key()))
        throw Error::inFile(file,
                            QStringLiteral("not written: it could not be read nor moved aside, so it is "
                                           "kept as it is (the runs stay while QuantScope runs)"));
    if (!QDir().mkpath(m_folder))
        throw Error::inFile(file, QStringLiteral("cannot create the folder %1").arg(m_folder));
    QLockFile lock(file + QStringLiteral(".lock"));
    if (!lock.tryLock(m_lockTimeoutMs)) {
        if (lock.error() != QLockFile::LockFailedError) // not held by anyone: it cannot be made
            throw Error::inFile(file, u"not written: cannot create its lock file: " + systemErrorText(errno));
        qint64 pid = 0;
        QString host, app;
        lock.getLockInfo(&pid, &host, &app);
        throw Error::inFile(file,
                            QStringLiteral("not written: another QuantScope (pid %1 on %2) has held its "
                                           "lock for %3 s")
                                .arg(pid)
                                .arg(host)
                                .arg(m_lockTimeoutMs / 1000.0));
    }
    StoredRuns merged = runs;
    QSet<QByteArray>& seen = m_seen[model.key()];
    if (QFileInfo::exists(file)) {
        // Runs another instance added since this one last read the file. One that cannot be read
        // is not written over: load() moves it aside and says so.
        const StoredRuns onDisk = readRuns(file, model);
        const QSet<QByteArray> ours = fingerprints(runs);
        for (const SessionRun& r : onDisk.runs) {
            const QByteArray f = fingerprint(r);
            if (!seen.contains(f) && !ours.contains(f))
                merged.runs.push_back(r);
        }
        if (!merged.baseline)
            merged.baseline = onDisk.baseline;
    }
    writeFileAtomically(file, QJsonDocument(merged.toJson(model)).toJson(QJsonDocument::Compact));
    m_memory.insert(model.key(), merged);
    // Only what the caller has held counts as seen: a run merged in from disk but never handed to
    // the caller (load() does that) must not look removed at the next save.
    seen.unite(fingerprints(runs));
}

} // namespace qs
