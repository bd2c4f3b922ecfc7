#include "session/Session.h"

#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <cmath>
#include <limits>

namespace qs {

namespace {

const QLatin1String kFormat("quantscope-session");

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}

double numberOr(const QJsonValue& v, double fallback = std::numeric_limits<double>::quiet_NaN())
{
    return v.isDouble() ? v.toDouble() : fallback;
}

QJsonObject layerToJson(const LayerMetrics& l)
{
    QJsonArray histogram;
    for (double c : l.errorHistogram)
        histogram.append(c);
    return {{QStringLiteral("name"), l.name},
            {QStringLiteral("kind"), l.kind},
            {QStringLiteral("block"), l.block},
            {QStringLiteral("label"), l.label},
            {QStringLiteral("method"), l.method},
            {QStringLiteral("bpw"), number(l.bitsPerWeight)},
            {QStringLiteral("weight_rel_mse"), number(l.weightRelMse)},
            {QStringLiteral("output_rel_mse"), number(l.outputRelMse)},
            {QStringLiteral("max_abs_error"), number(l.maxAbsError)},
            {QStringLiteral("histogram_min"), number(l.histogramMin)},
            {QStringLiteral("histogram_max"), number(l.histogramMax)},
            {QStringLiteral("error_histogram"), histogram}};
}

LayerMetrics layerFromJson(const QJsonObject& o)
{
    LayerMetrics l;
    l.name = o.value(u"name").toString();
    l.kind = o.value(u"kind").toString();
    l.block = o.value(u"block").toInt(-1);
    l.label = o.value(u"label").toString();
    l.method = o.value(u"method").toString();
    l.bitsPerWeight = numberOr(o.value(u"bpw"), 0);
    l.weightRelMse = numberOr(o.value(u"weight_rel_mse"), 0);
    l.outputRelMse = numberOr(o.value(u"output_rel_mse"));
    l.maxAbsError = numberOr(o.value(u"max_abs_error"), 0);
    l.histogramMin = numberOr(o.value(u"histogram_min"), 0);
    l.histogramMax = numberOr(o.value(u"histogram_max"), 0);
    for (const QJsonValue& v : o.value(u"error_histogram").toArray())
        l.errorHistogram.push_back(v.toDouble());
    return l;
}

Recipe recipeFromJson(const QJsonValue& v, const QString& where)
{
    if (!v.isObject())
        throw Error(where + QStringLiteral(": expected a recipe object"));
    return Recipe::fromJson(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact), where);
}

} // namespace

QJsonObject runSummaryToJson(const RunSummary& r)
{
    QJsonArray layers;
    for (const LayerMetrics& l : r.layers)
        layers.append(layerToJson(l));
    return {{QStringLiteral("name"), r.name},
            {QStringLiteral("method"), r.method},
            {QStringLiteral("recipe_summary"), r.recipeSummary},
            {QStringLiteral("source"), r.source},
            {QStringLiteral("model"), r.modelPath},
            {QStringLiteral("fingerprint"), r.fingerprint},
            {QStringLiteral("params"), qint64(r.params)},
            {QStringLiteral("is_baseline"), r.isBaseline},
            {QStringLiteral("bpw"), number(r.bitsPerWeight)},
            {QStringLiteral("linear_bpw"), number(r.linearBitsPerWeight)},
            {QStringLiteral("model_bytes"), qint64(r.modelBytes)},
            {QStringLiteral("linear_bytes"), qint64(r.linearBytes)},
            {QStringLiteral("ppl"), number(r.ppl)},
            {QStringLiteral("ppl_error"), number(r.pplError)},
            {QStringLiteral("kld_mean"), number(r.kldMean)},
            {QStringLiteral("kld_error"), number(r.kldError)},
            {QStringLiteral("top1_percent"), number(r.top1Percent)},
            {QStringLiteral("quantize_seconds"), number(r.quantizeSeconds)},
            {QStringLiteral("eval_text"), r.evalText},
            {QStringLiteral("eval_protocol"), r.evalProtocol},
            {QStringLiteral("memory"), r.memory.toJson()},
            {QStringLiteral("layers"), layers}};
}

RunSummary runSummaryFromJson(const QJsonObject& o, const QString& where)
{
    if (!o.value(u"name").isString() || !o.value(u"model_bytes").isDouble())
        throw Error(where + QStringLiteral(": not a run summary (needs name and model_bytes)"));
    RunSummary r;
    r.name = o.value(u"name").toString();
    r.method = o.value(u"method").toString();
    r.recipeSummary = o.value(u"recipe_summary").toString();
    r.source = o.value(u"source").toString();
    r.modelPath = o.value(u"model").toString();
    r.fingerprint = o.value(u"fingerprint").toString();
    r.params = o.value(u"params").toInteger();
    r.isBaseline = o.value(u"is_baseline").toBool();
    r.bitsPerWeight = numberOr(o.value(u"bpw"), 0);
    r.linearBitsPerWeight = numberOr(o.value(u"linear_bpw"), 0);
    r.modelBytes = std::uint64_t(std::max<qint64>(0, o.value(u"model_bytes").toInteger()));
    r.linearBytes = std::uint64_t(std::max<qint64>(0, o.value(u"linear_bytes").toInteger()));
    r.ppl = numberOr(o.value(u"ppl"));
    r.pplError = numberOr(o.value(u"ppl_error"));
    r.kldMean = numberOr(o.value(u"kld_mean"));
    r.kldError = numberOr(o.value(u"kld_error"));
    r.top1Percent = numberOr(o.value(u"top1_percent"));
    r.quantizeSeconds = numberOr(o.value(u"quantize_seconds"));
    r.evalText = o.value(u"eval_text").toString();
    r.evalProtocol = o.value(u"eval_protocol").toString();
    r.memory = MemoryBreakdown::fromJson(o.value(u"memory").toObject());
    for (const QJsonValue& v : o.value(u"layers").toArray())
        r.layers.push_back(layerFromJson(v.toObject()));
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
    for (const SessionRun& r : runs) {
        QJsonObject ro = runSummaryToJson(r.summary);
        ro.insert(QStringLiteral("recipe"), r.recipe.toJson());
        ro.insert(QStringLiteral("shown"), r.shown);
        runArray.append(ro);
    }
    o.insert(QStringLiteral("runs"), runArray);
    if (baseline)
        o.insert(QStringLiteral("baseline"), runSummaryToJson(*baseline));
    if (sensitivity)
        o.insert(QStringLiteral("sensitivity"), sensitivity->toJson());
    return o;
}

Session Session::fromJson(const QByteArray& json, const QString& path)
{
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &perr);
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(
            path, QStringLiteral("invalid JSON at byte %1: %2").arg(perr.offset).arg(perr.errorString()));
    if (!doc.isObject())
        throw Error::inFile(path, QStringLiteral("expected a JSON object"));
    const QJsonObject o = doc.object();
    if (o.value(u"format").toString() != kFormat)
        throw Error::inFile(
            path, QStringLiteral("not a QuantScope session (\"format\" is not \"%1\")").arg(kFormat));
    const QJsonValue version = o.value(u"version");
    if (!version.isDouble() || version.toInt() < 1 || version.toInt() > kVersion)
        throw Error::inFile(
            path,
            QStringLiteral("session version %1 is not supported (this build reads 1–%2)")
                .arg(version.isDouble() ? QString::number(version.toInt()) : QStringLiteral("(missing)"))
                .arg(kVersion));
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
    const QJsonArray runs = o.value(u"runs").toArray();
    for (qsizetype i = 0; i < runs.size(); ++i) {
        const QString where = path + QStringLiteral(": runs[%1]").arg(i);
        if (!runs[i].isObject())
            throw Error(where + QStringLiteral(": expected an object"));
        const QJsonObject ro = runs[i].toObject();
        SessionRun r;
        r.summary = runSummaryFromJson(ro, where);
        r.recipe = recipeFromJson(ro.value(u"recipe"), where + QStringLiteral(".recipe"));
        r.shown = ro.value(u"shown").toBool(true);
        s.runs.push_back(std::move(r));
    }
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
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        throw Error::inFile(path, QStringLiteral("cannot write: ") + f.errorString());
    const QByteArray bytes = QJsonDocument(toJson()).toJson(QJsonDocument::Indented);
    if (f.write(bytes) != bytes.size() || !f.commit())
        throw Error::inFile(path, QStringLiteral("cannot write: ") + f.errorString());
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
