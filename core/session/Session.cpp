#include "session/Session.h"

#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <cmath>
#include <limits>

namespace qs {

namespace {

const QLatin1String kFormat("quantscope-session");

Recipe recipeFromJson(const QJsonValue& v, const QString& where)
{
    if (!v.isObject())
        throw Error(where + QStringLiteral(": expected a recipe object"));
    return Recipe::fromJson(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact), where);
}

} // namespace

QJsonObject SessionRun::toJson() const
{
    QJsonObject o = runSummaryToJson(summary);
    o.insert(QStringLiteral("recipe"), recipe.toJson());
    o.insert(QStringLiteral("shown"), shown);
    return o;
}

SessionRun SessionRun::fromJson(const QJsonObject& o, const QString& where)
{
    SessionRun r;
    r.summary = runSummaryFromJson(o, where);
    r.recipe = recipeFromJson(o.value(u"recipe"), where + QStringLiteral(".recipe"));
    r.shown = o.value(u"shown").toBool(true);
    return r;
}

QJsonObject Session::toJson() const
{
    QJsonObject o{{QStringLiteral("format"), kFormat},
                  {QStringLiteral("version"), kVersion},
                  {QStringLiteral("saved"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate)},
                  {QStringLiteral("model"), modelPath},
                  {QStringLiteral("page"), page}};
    if (recipe)
        o.insert(QStringLiteral("recipe"), recipe->toJson());
    QJsonArray runArray;
    for (const SessionRun& r : runs)
        runArray.append(r.toJson());
    o.insert(QStringLiteral("runs"), runArray);
    if (baseline)
        o.insert(QStringLiteral("baseline"), runSummaryToJson(*baseline));
    if (sensitivity)
        o.insert(QStringLiteral("sensitivity"), sensitivity->toJson());
    return o;
}

QJsonObject readVersionedJson(const QByteArray& json, const QString& path, QLatin1String format,
                              const QString& kind, int maxVersion)
{
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &perr);
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(
            path, QStringLiteral("invalid JSON at byte %1: %2").arg(perr.offset).arg(perr.errorString()));
    if (!doc.isObject())
        throw Error::inFile(path, QStringLiteral("expected a JSON object"));
    const QJsonObject o = doc.object();
    if (o.value(u"format").toString() != format)
        throw Error::inFile(
            path, QStringLiteral("not a QuantScope %1 (\"format\" is not \"%2\")").arg(kind, format));
    const QJsonValue version = o.value(u"version");
    if (!version.isDouble() || version.toInt() < 1 || version.toInt() > maxVersion)
        throw Error::inFile(path, QStringLiteral("%1 version %2 is not supported (this build reads 1–%3)")
                                      .arg(kind, version.isDouble() ? QString::number(version.toInt())
                                                                    : QStringLiteral("(missing)"))
                                      .arg(maxVersion));
    return o;
}

std::vector<SessionRun> sessionRunsFromJson(const QJsonArray& runs, const QString& path)
{
    std::vector<SessionRun> out;
    for (qsizetype i = 0; i < runs.size(); ++i) {
        const QString where = path + QStringLiteral(": runs[%1]").arg(i);
        if (!runs[i].isObject())
            throw Error(where + QStringLiteral(": expected an object"));
        out.push_back(SessionRun::fromJson(runs[i].toObject(), where));
    }
    return out;
}

Session Session::fromJson(const QByteArray& json, const QString& path)
{
    const QJsonObject o = readVersionedJson(json, path, kFormat, QStringLiteral("session"), kVersion);
    for (const char* key : {"model", "page"})
        if (o.contains(QLatin1String(key)) && !o.value(QLatin1String(key)).isString())
            throw Error::inFile(path, QStringLiteral("%1: expected a string").arg(QLatin1String(key)));
    if (o.contains(u"runs") && !o.value(u"runs").isArray())
        throw Error::inFile(path, QStringLiteral("runs: expected an array"));

    Session s;
    s.modelPath = o.value(u"model").toString();
    s.page = o.value(u"page").toString();
    if (o.contains(u"recipe"))
        s.recipe = recipeFromJson(o.value(u"recipe"), path + QStringLiteral(": recipe"));
    s.runs = sessionRunsFromJson(o.value(u"runs").toArray(), path);
    if (o.contains(u"baseline"))
        s.baseline = runSummaryFromJson(o.value(u"baseline").toObject(), path + QStringLiteral(": baseline"));
    if (o.contains(u"sensitivity")) {
        if (!o.value(u"sensitivity").isObject())
            throw Error::inFile(path, QStringLiteral("sensitivity: expected an object"));
        s.sensitivity = SensitivityResult::fromJson(o.value(u"sensitivity").toObject(),
                                                    path + QStringLiteral(": sensitivity"));
    }
    return s;
}

Session Session::load(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(path, QStringLiteral("cannot open: ") + f.errorString());
    return fromJson(f.readAll(), path);
}

void Session::save(const QString& path) const
{
    const QFileInfo info(path);
    if (!QDir().mkpath(info.absolutePath()))
        throw Error::inFile(path, QStringLiteral("cannot create the folder %1").arg(info.absolutePath()));
    writeFileAtomically(path, QJsonDocument(toJson()).toJson(QJsonDocument::Indented));
}

QString Session::moveAside(const QString& path, const QDateTime& when)
{
    const QFileInfo info(path);
    const QString stem = info.suffix() == u"json" ? info.completeBaseName() : info.fileName();
    const QString base = info.dir().filePath(stem + QStringLiteral(".corrupt-") +
                                             when.toString(QStringLiteral("yyyyMMdd-HHmmss")));
    QString backup = base + QStringLiteral(".json");
    for (int n = 2; QFileInfo::exists(backup); ++n)
        backup = base + QStringLiteral("-%1.json").arg(n);
    if (!QFile::rename(path, backup))
        throw Error::inFile(path, QStringLiteral("cannot move the file aside to %1").arg(backup));
    return backup;
}

} // namespace qs
