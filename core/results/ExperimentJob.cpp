#include "results/ExperimentJob.h"

#include "checkpoint/QuantizedModelIO.h"
#include "model/Model.h"
#include "model/Transformer.h"
#include "results/RunSummaryJson.h"
#include "tokenizer/Tokenizer.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>

namespace qs {

namespace {

// Step labels and the baseline's name are shown by the GUI (translated there); the CLI shows them as is.
QString translated(const char* source)
{
    return QCoreApplication::translate("ExperimentJob", source);
}

bool sameFile(const QString& a, const QString& b)
{
    if (a.isEmpty() || b.isEmpty())
        return false;
    if (QFileInfo(a).canonicalFilePath() == QFileInfo(b).canonicalFilePath())
        return true;
    QFile fa(a), fb(b);
    return fa.open(QIODevice::ReadOnly) && fb.open(QIODevice::ReadOnly) && fa.size() == fb.size() &&
           fa.readAll() == fb.readAll();
}

/// One step of the experiment: its share [from, to] of the progress, or the job's own context when
/// each step reports on its own scale (a lone step keeps its ETA either way).
JobContext step(const ExperimentParams& params, const JobContext& job, double from, double to,
                const QString& label)
{
    return params.progressPerStep || (from == 0.0 && to == 1.0 && label.isEmpty())
               ? job
               : job.part(from, to, label);
}

/// The float baseline's summary kept beside its KLD base (absent or unreadable: nullopt).
std::optional<RunSummary> readBaseline(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return std::nullopt;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll());
    try {
        return doc.isObject() ? std::optional<RunSummary>(runSummaryFromJson(doc.object(), path))
                              : std::nullopt;
    } catch (const Error&) {
        return std::nullopt;
    }
}

void writeBaseline(const QString& path, const RunSummary& baseline)
{
    try { // best effort: without it the next experiment evaluates the baseline again
        writeFileAtomically(path, QJsonDocument(runSummaryToJson(baseline)).toJson());
    } catch (const Error&) {
    }
}

/// The cached float baseline of `params`, or the float model evaluated now (its logits stored
/// at `basePath` as the KLD base, its summary beside it).
RunSummary floatBaseline(const ExperimentParams& params, const Tokenizer& tokenizer, const QString& basePath,
                         const JobContext& job)
{
    const QString summaryPath = basePath + QStringLiteral(".baseline.json");
    if (QFile::exists(basePath))
        if (std::optional<RunSummary> cached = readBaseline(summaryPath))
            return *cached;
    EvaluationParams bp = params.evaluation;
    bp.kldBasePath.clear();
    bp.saveBasePath = basePath;
    const Transformer base(params.model);
    const EvaluationResult er = runEvaluation(base, tokenizer, bp, job);
    RunSummary b = RunSummary::fromModel(*params.model);
    b.name = translated(QT_TRANSLATE_NOOP("ExperimentJob", "float"));
    b.readEvaluation(er.toJson());
    writeBaseline(summaryPath, b);
    return b;
}

/// run.json as `quantscope-cli compare` and RunSummary::load read it.
QJsonObject runJson(const ExperimentParams& params, const ExperimentResult& r, const QString& recipeSummary)
{
    QJsonObject run{
        {QStringLiteral("name"), params.name},
        {QStringLiteral("model"), params.model->path()},
        {QStringLiteral("recipe_summary"), recipeSummary},
        {QStringLiteral("model_bytes"), qint64(r.quantize.modelBytes)},
        {QStringLiteral("bpw"), 8.0 * double(r.quantize.modelBytes) / double(params.model->totals().params)},
        {QStringLiteral("linear_bpw"), r.quantize.linearBitsPerWeight},
        {QStringLiteral("quantize_seconds"), r.quantize.seconds},
        {QStringLiteral("peak_rss_bytes"), r.quantize.peakRssBytes}};
    if (r.evaluation)
        run.insert(QStringLiteral("eval"), r.evaluation->toJson());
    return run;
}

/// The checkpoint and its run.json; a failure is recorded, not thrown (the run still counts).
void saveCheckpoint(const ExperimentParams& params, ExperimentResult& r)
{
    try {
        saveQuantizedModel(params.outDir, *params.model, r.quantize, params.recipe.toJson(),
                           QJsonObject{{QStringLiteral("run"), r.run}}, r.run);
        r.checkpoint = params.outDir;
        r.summary.source = params.outDir;
    } catch (const Error& e) {
        r.checkpointError = e.message();
        r.warnings << QStringLiteral("checkpoint-not-saved: ") + e.message();
    }
}

} // namespace

QStringList experimentPreflightWarnings(const ExperimentParams& params)
{
    QStringList warnings = params.planWarnings;
    if (sameFile(params.calibration.text, params.evaluation.textPath))
        warnings << QStringLiteral("calibration-is-evaluation: the calibration text is the evaluation text; "
                                   "perplexity will look better than on unseen text");
    return warnings;
}

QString experimentBaselinePath(const ExperimentParams& params)
{
    const Model& m = *params.model;
    const QString key = m.architectureFingerprint() + u'|' + m.path() + u'|' + params.evaluation.textPath +
                        u'|' + QString::number(params.evaluation.perplexity.maxChunks);
    const QByteArray hash = QCryptographicHash::hash(key.toUtf8(), QCryptographicHash::Sha1).toHex().left(16);
    return QDir(params.baselineCacheDir).filePath(QString::fromLatin1(hash) + QStringLiteral(".qskld"));
}

ExperimentResult runExperiment(const ExperimentParams& params, const JobContext& job)
{
    ExperimentResult r;
    runExperiment(params, r, job);
    return r;
}

void runExperiment(const ExperimentParams& params, ExperimentResult& r, const JobContext& job)
{
    if (!params.model)
        throw Error(QStringLiteral("experiment: no model"));
    const QStringList preflight = experimentPreflightWarnings(params);
    const bool evaluate = !params.evaluation.textPath.isEmpty();
    const bool withBaseline = evaluate && !params.baselineCacheDir.isEmpty();
    const double quantizeFrom = withBaseline ? 0.15 : 0.0, quantizeTo = evaluate ? 0.8 : 1.0;

    r = ExperimentResult{};
    const auto tokenizer = Tokenizer::load(params.model->path());
    EvaluationParams ep = params.evaluation;
    ep.saveBasePath.clear();
    if (evaluate && !withBaseline) // before the quantization: a wrong KLD base, a short text
        checkEvaluationInputs(*params.model, *tokenizer, ep);
    if (withBaseline) {
        if (!QDir().mkpath(params.baselineCacheDir))
            throw Error::inFile(params.baselineCacheDir, QStringLiteral("cannot create the folder"));
        ep.kldBasePath = experimentBaselinePath(params);
        r.baseline = floatBaseline(
            params, *tokenizer, ep.kldBasePath,
            step(params, job, 0, 0.15, translated(QT_TRANSLATE_NOOP("ExperimentJob", "float baseline"))));
    }
    job.checkCancelled();
    r.quantize = runQuantization(params.model, params.plan, params.calibration, tokenizer.get(),
                                 step(params, job, quantizeFrom, quantizeTo, {}));
    r.quantize.warnings << preflight;
    r.warnings = r.quantize.warnings;
    if (evaluate) {
        job.checkCancelled();
        r.evaluation = runEvaluation(
            *r.quantize.model, *tokenizer, ep,
            step(params, job, quantizeTo, 1, translated(QT_TRANSLATE_NOOP("ExperimentJob", "evaluating"))));
        r.warnings << r.evaluation->warnings;
    }
    QString recipeSummary = params.recipeSummary;
    if (recipeSummary.isEmpty()) {
        std::vector<QuantSpec> ran; // the specs as quantized (after row fallbacks)
        for (const LayerReport& l : r.quantize.layers)
            ran.push_back(l.spec);
        recipeSummary = ran.empty() ? params.plan.label() : schemesLabel(ran);
    }
    r.summary = RunSummary::fromResult(params.name, recipeSummary, *params.model, r.quantize.layers,
                                       r.quantize.seconds, r.evaluation ? &*r.evaluation : nullptr);
    r.run = runJson(params, r, recipeSummary);
    job.checkCancelled(); // a cancelled run leaves no checkpoint behind
    if (!params.outDir.isEmpty())
        saveCheckpoint(params, r);
}

} // namespace qs
