#include "store/StoreImport.h"

#include "io/Safetensors.h"
#include "model/Model.h"
#include "store/RunStore.h"
#include "util/Error.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

namespace qs {

namespace {

/// The recipe a quantize output folder was made with (its checkpoint's metadata); a default one
/// when the folder has no checkpoint (a run.json alone).
Recipe recipeOfRunFolder(const QString& dir)
{
    const QString weights = QDir(dir).filePath(QStringLiteral("model.safetensors"));
    if (!QFileInfo::exists(weights))
        return {};
    const auto file = SafetensorsFile::open(weights);
    const QJsonObject info =
        QJsonDocument::fromJson(file->metadata().value(QStringLiteral("quantscope.info")).toUtf8()).object();
    if (!info.value(u"recipe").isObject())
        return {};
    return Recipe::fromJson(QJsonDocument(info.value(u"recipe").toObject()).toJson(QJsonDocument::Compact),
                            weights + QStringLiteral(": quantscope.info.recipe"));
}

void importRunFolderOrFile(ResultsDb& db, const QString& path, ImportReport& report)
{
    const RunSummary summary = RunSummary::load(path);
    const QString dir = QFileInfo(path).isDir() ? path : QFileInfo(path).absolutePath();
    SessionRun run{summary, summary.isBaseline ? Recipe{} : recipeOfRunFolder(dir), true};
    const bool hasCheckpoint = QFileInfo::exists(QDir(dir).filePath(QStringLiteral("config.json")));
    const QString checkpoint = hasCheckpoint ? QFileInfo(dir).absoluteFilePath() : QString();
    db.putRun(run, ModelIdentity::of(summary.modelPath), checkpoint, hasCheckpoint ? folderBytes(dir) : -1);
    ++report.runs;
}

/// A JSON file: what its "format" (or shape) says it is.
void importJsonFile(ResultsDb& db, const QString& file, ImportReport& report)
{
    const QByteArray bytes = readResultsFile(file);
    QJsonParseError perr{};
    const QJsonObject o = QJsonDocument::fromJson(bytes, &perr).object();
    if (perr.error != QJsonParseError::NoError)
        throw Error::inFile(file, QStringLiteral("not JSON: ") + perr.errorString());
    const QString format = o.value(u"format").toString();
    if (format == u"quantscope-sensitivity") {
        db.putSweep(SensitivityResult::fromBytes(bytes, file), QFileInfo(file).absoluteFilePath());
        ++report.sweeps;
    } else if (format == u"quantscope-session") {
        const Session s = Session::fromJson(bytes, file);
        const ModelIdentity model = ModelIdentity::of(s.modelPath);
        for (const SessionRun& r : s.runs) {
            db.putRun(r, model);
            ++report.runs;
        }
        if (s.baseline)
            db.putRun({*s.baseline, Recipe{}, true}, model);
    } else if (format == u"quantscope-runs") {
        report.runs += importRunStoreFile(db, file, bytes);
    } else {
        importRunFolderOrFile(db, file, report); // run.json or an eval JSON; throws when neither
    }
}

void importOne(ResultsDb& db, const QString& path, ImportReport& report, bool descend)
{
    const QFileInfo info(path);
    if (!info.exists())
        throw Error::inFile(path, QStringLiteral("no such file or folder"));
    if (info.isFile()) {
        importJsonFile(db, path, report);
        return;
    }
    if (QFileInfo::exists(QDir(path).filePath(QStringLiteral("run.json")))) {
        importRunFolderOrFile(db, path, report);
        return;
    }
    if (!descend)
        return; // a folder below the one given that is not a run: not ours to judge
    const QDir dir(path);
    const int before = report.runs + report.sweeps + int(report.errors.size());
    for (const QString& sub : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        try {
            importOne(db, dir.filePath(sub), report, false);
        } catch (const Error& e) {
            report.errors << e.message();
        }
    for (const QString& json : dir.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name))
        try {
            importJsonFile(db, dir.filePath(json), report);
        } catch (const Error& e) {
            report.errors << e.message();
        }
    if (report.runs + report.sweeps + int(report.errors.size()) == before)
        throw Error::inFile(path, QStringLiteral("holds no run folder (with run.json), sweep, session or run "
                                                 "JSON to import"));
}

} // namespace

QByteArray readResultsFile(const QString& file)
{
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly))
        throw Error::inFile(file, QStringLiteral("cannot open: ") + f.errorString());
    return f.readAll();
}

int importRunStoreFile(ResultsDb& db, const QString& file, const QByteArray& bytes)
{
    // The file names the model it holds the runs of (the identity they were kept under).
    const QJsonObject o = QJsonDocument::fromJson(bytes).object();
    ModelIdentity model;
    model.path = o.value(u"model").toString();
    model.bytes = o.value(u"model_bytes").toInteger();
    model.modified = QDateTime::fromString(o.value(u"model_modified").toString(), Qt::ISODateWithMs);
    const StoredRuns runs = StoredRuns::fromJson(bytes, file, model);
    db.atomically(QStringLiteral("the runs of %1").arg(file), [&] {
        for (const SessionRun& r : runs.runs)
            db.putRun(r, model, QFileInfo(r.summary.source).isDir() ? r.summary.source : QString());
        if (runs.baseline)
            db.putRun({*runs.baseline, Recipe{}, true}, model);
    });
    return int(runs.runs.size());
}

ImportReport importResults(ResultsDb& db, const QStringList& paths)
{
    ImportReport report;
    for (const QString& path : paths)
        try {
            importOne(db, path, report, true);
        } catch (const Error& e) {
            report.errors << e.message();
        }
    return report;
}

qint64 recordExperiment(ResultsDb& db, const ExperimentParams& params, const ExperimentResult& result)
{
    SessionRun run{result.summary, params.recipe, true};
    if (run.summary.id.isEmpty())
        run.summary.id = newRunId();
    return db.putRun(run, ModelIdentity::of(params.model->path()), result.checkpoint,
                     result.checkpoint.isEmpty() ? -1 : folderBytes(result.checkpoint));
}

} // namespace qs
