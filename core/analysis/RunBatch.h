#pragma once

#include "analysis/SensitivityResult.h"
#include "eval/Perplexity.h"
#include "jobs/Job.h"
#include "recipe/Recipe.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <vector>

namespace qs {

// A batch of quantize + evaluate runs of one model, split into shards like a sweep (SweepShard: run k
// belongs to shard k mod N). Each run writes the normal checkpoint folder (packed weights + run.json)
// under the output folder; each shard keeps a manifest of its runs, and merging the manifests checks
// that all of them are there and finished. The batch file:
//
//     { "format": "quantscope-batch", "version": 1,
//       "model": "/models/8b",                        (relative paths: from the batch file's folder)
//       "eval": { "text": "wiki.test.raw", "ctx": 128, "chunks": 20 },
//       "calibration": { "text": "calib.txt", "samples": 128, "seq_len": 512, "seed": 1234 },  (optional)
//       "runs": [ { "name": "q4k", "scheme": "gguf-q4_k" }, { "name": "mixed", "recipe": "mixed.json" } ] }

struct BatchRun
{
    QString name;   ///< its folder under the output folder
    Recipe recipe;  ///< from "recipe", or one scheme for every layer from "scheme"
    QString source; ///< the scheme or the recipe path, as written
};

struct RunBatch
{
    static constexpr int kVersion = 1;
    QString path;
    QString modelPath; ///< absolute
    QString evalText;  ///< absolute
    PerplexityOptions eval;
    bool hasCalibration = false; ///< "calibration" given: it overrides every recipe's
    CalibrationSettings calibration;
    std::vector<BatchRun> runs;

    /// Reads and checks the batch file (names unique and usable as folder names, exactly one of
    /// recipe/scheme per run, every scheme and recipe valid); errors name the file and the run.
    static RunBatch load(const QString& path);
    /// SHA-256 of the batch's content (model, texts, settings, each run's resolved recipe): what the
    /// shards of one batch share.
    QString identity() const;
};

/// One run of a shard, as its manifest records it.
struct BatchRunRecord
{
    QString name;
    QString folder;
    QString status; ///< "done", or "failed: why"
    double ppl = 0;
    double bitsPerWeight = 0;
    bool done() const { return status == u"done"; }
};

/// A shard's manifest (OUT/batch-shard-I-of-N.json, written atomically after every run).
struct BatchShardManifest
{
    static constexpr int kVersion = 1;
    QString batchId;
    QString batchPath;
    QString toolVersion;
    QString modelFingerprint;
    SweepShard shard;
    std::vector<BatchRunRecord> runs; ///< the shard's runs, in batch order
    bool complete() const;
    QJsonObject toJson() const;
    static BatchShardManifest load(const QString& path);
    void save(const QString& path) const;
};

/// The manifest path of shard `shard` in `outDir`.
QString batchManifestPath(const QString& outDir, const SweepShard& shard);

/// Runs the shard's runs of the batch into `outDir` (each OUT/<name>/, the float baseline for KLD cached
/// in OUT/.baseline), skipping runs a previous manifest of the same shard records as done. A run that
/// fails is recorded with why and the next one starts; `checkpoint` gets the manifest after each run.
/// Throws qs::Error when the model cannot be opened or the previous manifest is another batch's.
BatchShardManifest runBatchShard(const RunBatch& batch, const SweepShard& shard, const QString& outDir,
                                 const JobContext& job = {},
                                 const std::function<void(const BatchShardManifest&)>& checkpoint = {});

/// Checks that the manifests are all the shards of one batch (batch id, tool version, shard count,
/// model), each once, none missing, every run done; errors name the file (or the missing shard, or the
/// failed run). The runs of every shard, in batch order.
std::vector<BatchRunRecord> mergeBatchShards(const QStringList& paths);

/// Whether the JSON file at `path` is a batch shard manifest (else a sweep shard, or unreadable).
bool isBatchManifest(const QString& path);

} // namespace qs
