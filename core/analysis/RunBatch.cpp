#include "analysis/RunBatch.h"

#include "analysis/JsonFile.h"
#include "analysis/SweepShards.h"
#include "eval/Kld.h"
#include "model/Model.h"
#include "results/ExperimentJob.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <map>

namespace qs {

namespace {

QString resolved(const QString& base, const QString& path)
{
    return path.isEmpty() ? path : QFileInfo(QDir(base), path).absoluteFilePath();
}

BatchRun readRun(const QJsonObject& o, const QString& where, const QString& path)
{
    static const QRegularExpression folderName(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]*$"));
    BatchRun r;
    r.name = o.value(u"name").toString();
    if (!folderName.match(r.name).hasMatch())
        throw Error(QStringLiteral("%1: name '%2' is not usable as a folder name (letters, digits, . _ -)")
                        .arg(where, r.name));
    const bool scheme = o.contains(u"scheme"), recipe = o.contains(u"recipe");
    if (scheme == recipe)
        throw Error(
            QStringLiteral("%1 (%2): give exactly one of \"scheme\" and \"recipe\"").arg(where, r.name));
    try {
        if (recipe) {
            r.source = o.value(u"recipe").toString();
            r.recipe = Recipe::fromFile(resolved(QFileInfo(path).absolutePath(), r.source));
        } else {
            r.source = o.value(u"scheme").toString();
            r.recipe.name = r.source;
            r.recipe.defaults = QuantSpec::fromShortName(r.source);
            r.recipe.origin =
                QStringLiteral("%1 %2 (%3)").arg(path, where, r.name); // what resolve() errors name
            r.recipe.validate();
        }
    } catch (const Error& e) {
        throw Error(QStringLiteral("%1 (%2): %3").arg(where, r.name, e.message()));
    }
    return r;
}

QJsonObject recordJson(const BatchRunRecord& r)
{
    return QJsonObject{{QStringLiteral("name"), r.name},
                       {QStringLiteral("folder"), r.folder},
                       {QStringLiteral("status"), r.status},
                       {QStringLiteral("ppl"), r.ppl},
                       {QStringLiteral("bpw"), r.bitsPerWeight}};
}

} // namespace

RunBatch RunBatch::load(const QString& path)
{
    const QJsonObject o = readJsonObjectFile(path);
    if (o.value(u"format").toString() != u"quantscope-batch" || o.value(u"version").toInt() < 1 ||
        o.value(u"version").toInt() > kVersion)
        throw Error::inFile(path,
                            QStringLiteral("not a QuantScope batch file (\"format\": \"quantscope-batch\", "
                                           "\"version\": 1)"));
    const QString base = QFileInfo(path).absolutePath();
    RunBatch b;
    b.path = QFileInfo(path).absoluteFilePath();
    b.modelPath = resolved(base, o.value(u"model").toString());
    const QJsonObject ev = o.value(u"eval").toObject();
    b.evalText = resolved(base, ev.value(u"text").toString());
    b.eval.ctx = ev.value(u"ctx").toInt(128);
    b.eval.maxChunks = ev.value(u"chunks").toInt(0);
    b.eval.firstChunk = ev.value(u"skip_chunks").toInt(0);
    if (b.modelPath.isEmpty() || b.evalText.isEmpty())
        throw Error::inFile(path, QStringLiteral("needs \"model\" and \"eval\": {\"text\"}"));
    if (b.eval.ctx < 8 || b.eval.maxChunks < 0 || b.eval.firstChunk < 0)
        throw Error::inFile(
            path, QStringLiteral("eval: ctx must be at least 8, chunks and skip_chunks not negative"));
    if (o.contains(u"calibration")) {
        const QJsonObject c = o.value(u"calibration").toObject();
        b.hasCalibration = true;
        b.calibration.text = resolved(base, c.value(u"text").toString());
        b.calibration.samples = c.value(u"samples").toInt(b.calibration.samples);
        b.calibration.seqLen = c.value(u"seq_len").toInt(b.calibration.seqLen);
        b.calibration.seed = std::uint32_t(c.value(u"seed").toInteger(b.calibration.seed));
    }
    const QJsonArray runs = o.value(u"runs").toArray();
    if (runs.isEmpty())
        throw Error::inFile(path, QStringLiteral("\"runs\" is empty"));
    for (qsizetype i = 0; i < runs.size(); ++i) {
        try {
            b.runs.push_back(readRun(runs[i].toObject(), QStringLiteral("runs[%1]").arg(i), path));
        } catch (const Error& e) {
            throw Error::inFile(path, e.message());
        }
        for (std::size_t k = 0; k + 1 < b.runs.size(); ++k)
            if (b.runs[k].name == b.runs.back().name)
                throw Error::inFile(
                    path,
                    QStringLiteral("runs[%1]: the name %2 is used twice").arg(i).arg(b.runs.back().name));
    }
    return b;
}

QString RunBatch::identity() const
{
    QJsonArray runsJson;
    for (const BatchRun& r : runs)
        runsJson.append(
            QJsonObject{{QStringLiteral("name"), r.name}, {QStringLiteral("recipe"), r.recipe.toJson()}});
    const QJsonObject key{
        {QStringLiteral("model"), modelPath},
        {QStringLiteral("eval_text"), evalText},
        {QStringLiteral("eval"), QJsonObject{{QStringLiteral("ctx"), eval.ctx},
                                             {QStringLiteral("chunks"), eval.maxChunks},
                                             {QStringLiteral("skip_chunks"), eval.firstChunk}}},
        {QStringLiteral("calibration"), hasCalibration
                                            ? QJsonObject{{QStringLiteral("text"), calibration.text},
                                                          {QStringLiteral("samples"), calibration.samples},
                                                          {QStringLiteral("seq_len"), calibration.seqLen},
                                                          {QStringLiteral("seed"), qint64(calibration.seed)}}
                                            : QJsonObject{}},
        {QStringLiteral("runs"), runsJson}};
    return sha256Hex(QJsonDocument(key).toJson(QJsonDocument::Compact));
}

bool BatchShardManifest::complete() const
{
    for (const BatchRunRecord& r : runs)
        if (!r.done())
            return false;
    return true;
}

QJsonObject BatchShardManifest::toJson() const
{
    QJsonArray runsJson;
    for (const BatchRunRecord& r : runs)
        runsJson.append(recordJson(r));
    return QJsonObject{{QStringLiteral("format"), QStringLiteral("quantscope-batch-shard")},
                       {QStringLiteral("version"), kVersion},
                       {QStringLiteral("batch"), QJsonObject{{QStringLiteral("id"), batchId},
                                                             {QStringLiteral("path"), batchPath},
                                                             {QStringLiteral("tool_version"), toolVersion}}},
                       {QStringLiteral("model_fingerprint"), modelFingerprint},
                       {QStringLiteral("shard"), QJsonObject{{QStringLiteral("index"), shard.index},
                                                             {QStringLiteral("count"), shard.count}}},
                       {QStringLiteral("complete"), complete()},
                       {QStringLiteral("runs"), runsJson}};
}

BatchShardManifest BatchShardManifest::load(const QString& path)
{
    const QJsonObject o = readJsonObjectFile(path);
    if (o.value(u"format").toString() != u"quantscope-batch-shard" || o.value(u"version").toInt() != kVersion)
        throw Error::inFile(path, QStringLiteral("not a QuantScope batch shard manifest (version 1)"));
    BatchShardManifest m;
    const QJsonObject b = o.value(u"batch").toObject();
    m.batchId = b.value(u"id").toString();
    m.batchPath = b.value(u"path").toString();
    m.toolVersion = b.value(u"tool_version").toString();
    m.modelFingerprint = o.value(u"model_fingerprint").toString();
    const QJsonObject s = o.value(u"shard").toObject();
    m.shard = {s.value(u"index").toInt(-1), s.value(u"count").toInt(0)};
    if (m.batchId.isEmpty() || m.shard.count < 1 || m.shard.index < 0 || m.shard.index >= m.shard.count)
        throw Error::inFile(path, QStringLiteral("the manifest has no batch id or a bad shard record"));
    for (const QJsonValue& v : o.value(u"runs").toArray()) {
        const QJsonObject r = v.toObject();
        m.runs.push_back({r.value(u"name").toString(), r.value(u"folder").toString(),
                          r.value(u"status").toString(), r.value(u"ppl").toDouble(),
                          r.value(u"bpw").toDouble()});
    }
    return m;
}

void BatchShardManifest::save(const QString& path) const
{
    writeFileAtomically(path, QJsonDocument(toJson()).toJson(QJsonDocument::Indented));
}

QString batchManifestPath(const QString& outDir, const SweepShard& shard)
{
    return QDir(outDir).filePath(
        QStringLiteral("batch-shard-%1-of-%2.json").arg(shard.index).arg(shard.count));
}

BatchShardManifest runBatchShard(const RunBatch& batch, const SweepShard& shard, const QString& outDir,
                                 const JobContext& job,
                                 const std::function<void(const BatchShardManifest&)>& checkpoint)
{
    const std::shared_ptr<const Model> model = Model::open(batch.modelPath);
    BatchShardManifest m;
    m.batchId = batch.identity();
    m.batchPath = batch.path;
    m.toolVersion = QStringLiteral(QUANTSCOPE_VERSION);
    m.modelFingerprint = model->architectureFingerprint();
    m.shard = shard;
    if (!QDir().mkpath(outDir))
        throw Error::inFile(outDir, QStringLiteral("cannot create the output folder"));
    const QString manifestPath = batchManifestPath(outDir, shard);
    std::map<QString, BatchRunRecord> before; // a previous run of this shard: what is done stays done
    if (QFileInfo::exists(manifestPath)) {
        const BatchShardManifest prev = BatchShardManifest::load(manifestPath);
        if (prev.batchId != m.batchId || prev.toolVersion != m.toolVersion)
            throw Error::inFile(manifestPath,
                                QStringLiteral("belongs to another batch or tool version; use another "
                                               "output folder"));
        for (const BatchRunRecord& r : prev.runs)
            before[r.name] = r;
    }
    for (std::size_t k = 0; k < batch.runs.size(); ++k)
        if (shard.owns(k))
            m.runs.push_back({batch.runs[k].name, QDir(outDir).filePath(batch.runs[k].name),
                              QStringLiteral("pending"), 0, 0});
    for (BatchRunRecord& rec : m.runs) {
        const auto it = before.find(rec.name);
        if (it != before.end() && it->second.done() &&
            QFileInfo::exists(QDir(rec.folder).filePath(QStringLiteral("run.json")))) {
            rec = it->second;
            continue;
        }
        const BatchRun& run = *std::find_if(batch.runs.begin(), batch.runs.end(),
                                            [&](const BatchRun& r) { return r.name == rec.name; });
        ExperimentParams p;
        p.model = model;
        p.recipe = run.recipe;
        p.name = run.name;
        p.calibration = run.recipe.calibration;
        p.calibration.text = run.recipe.resolvedCalibrationText();
        if (batch.hasCalibration)
            p.calibration = batch.calibration;
        p.evaluation.textPath = batch.evalText;
        p.evaluation.perplexity = batch.eval;
        p.baselineCacheDir = QDir(outDir).filePath(QStringLiteral(".baseline"));
        p.outDir = rec.folder;
        try {
            job.checkCancelled();
            p.plan = p.recipe.resolve(*model, &p.planWarnings);
            const ExperimentResult r = runExperiment(p, job);
            if (!r.checkpointError.isEmpty())
                throw Error(r.checkpointError);
            rec.status = QStringLiteral("done");
            rec.bitsPerWeight = r.run.value(u"bpw").toDouble();
            rec.ppl =
                r.run.value(u"eval").toObject().value(u"perplexity").toObject().value(u"ppl").toDouble();
        } catch (const Error& e) {
            rec.status = QStringLiteral("failed: ") + e.message();
        }
        m.save(manifestPath);
        if (checkpoint)
            checkpoint(m);
    }
    m.save(manifestPath);
    return m;
}

bool isBatchManifest(const QString& path)
{
    try {
        return readJsonObjectFile(path).value(u"format").toString() == u"quantscope-batch-shard";
    } catch (const Error&) {
        return false;
    }
}

std::vector<BatchRunRecord> mergeBatchShards(const QStringList& paths)
{
    if (paths.isEmpty())
        throw Error(QStringLiteral("no batch manifests to merge"));
    std::vector<BatchShardManifest> shards;
    for (const QString& p : paths)
        shards.push_back(BatchShardManifest::load(p));
    const BatchShardManifest& first = shards.front();
    std::vector<SweepShard> which;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const BatchShardManifest& s = shards[i];
        const QString& path = paths[qsizetype(i)];
        if (s.batchId != first.batchId)
            throw Error::inFile(path, QStringLiteral("belongs to another batch than %1 (batch %2, not %3)")
                                          .arg(paths.front(), s.batchId.left(12), first.batchId.left(12)));
        if (s.toolVersion != first.toolVersion)
            throw Error::inFile(path,
                                QStringLiteral("was written by QuantScope %1 and %2 by %3; the shards of a "
                                               "batch must come from one tool version")
                                    .arg(s.toolVersion, paths.front(), first.toolVersion));
        if (s.shard.count != first.shard.count || s.modelFingerprint != first.modelFingerprint)
            throw Error::inFile(path, QStringLiteral("is shard %1 of another split or model than %2")
                                          .arg(s.shard.toText(), paths.front()));
        which.push_back(s.shard);
        for (const BatchRunRecord& r : s.runs)
            if (!r.done())
                throw Error::inFile(
                    path, QStringLiteral("run %1 is not done (%2); run the shard again to finish it")
                              .arg(r.name, r.status));
    }
    const std::vector<std::size_t> byIndex = orderShards(which, paths); // shard index → position
    // Batch order: run k is the (k / N)-th run of shard k mod N.
    std::vector<BatchRunRecord> all;
    std::vector<std::size_t> next(std::size_t(first.shard.count), 0);
    for (std::size_t k = 0;; ++k) {
        const std::size_t s = k % std::size_t(first.shard.count);
        const BatchShardManifest& owner = shards[byIndex[s]];
        if (next[s] >= owner.runs.size())
            break;
        all.push_back(owner.runs[next[s]++]);
    }
    return all;
}

} // namespace qs
