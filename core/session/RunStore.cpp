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

namespace qs {

namespace {
const QLatin1String kFormat("quantscope-runs");
}

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
    if (const auto it = m_memory.constFind(model.key()); it != m_memory.constEnd())
        return *it;
    const QString file = fileFor(model);
    if (file.isEmpty() || !QFileInfo::exists(file))
        return {};
    try {
        QFile f(file);
        if (!f.open(QIODevice::ReadOnly))
            throw Error::inFile(file, QStringLiteral("cannot open: ") + f.errorString());
        StoredRuns s = StoredRuns::fromJson(f.readAll(), file, model);
        m_memory.insert(model.key(), s);
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
    writeFileAtomically(file, QJsonDocument(runs.toJson(model)).toJson(QJsonDocument::Compact));
}

} // namespace qs
