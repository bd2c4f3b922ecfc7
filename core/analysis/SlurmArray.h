#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <vector>

namespace qs {

// A sharded sweep as a Slurm job array: one array task per shard, each running quantscope-cli with
// --shard $SLURM_ARRAY_TASK_ID/N and its own shard file in a work folder. The script and the manifest are
// plain data here; submitSlurmArray / slurmArrayStatus call Slurm's client tools (sbatch, squeue, sacct).

/// What to run and what each task asks of the cluster.
struct SlurmArrayRequest
{
    int shards = 2;
    int cpus = 1;        ///< --cpus-per-task; the task's --threads
    QString memory;      ///< --mem ("8G"); empty: the partition's default
    QString time;        ///< --time ("02:00:00"); empty: the partition's default
    QString partition;   ///< empty: the default partition
    QString workdir;     ///< absolute: script, manifest, shard files, logs
    QString program;     ///< absolute path of quantscope-cli
    QString chdir;       ///< the tasks' working folder (where relative paths in `command` are meant)
    QStringList command; ///< "sensitivity" MODEL --schemes … or "batch" BATCH.json (no --out, --shard,
                         ///< --resume, --threads)
    QString jobName = QStringLiteral("quantscope-sweep");

    /// Throws a qs::Error when the request cannot make a working array (bad counts, a command that is not
    /// a sweep or sets what the array sets per task).
    void check() const;
    /// A batch of quantize + evaluate runs (analysis/RunBatch.h) rather than a sensitivity sweep.
    bool isBatch() const { return command.value(0) == u"batch"; }
    /// What array task `index` writes: its sweep shard file, or its batch manifest (runs in WORKDIR/runs).
    QString shardFile(int index) const;
    QJsonObject toJson() const;
    static SlurmArrayRequest fromJson(const QJsonObject& o);
};

/// The sbatch script: #SBATCH lines (array 0..N-1, resources, one log per task), then quantscope-cli
/// with the task's shard, its shard file (a batch: the runs folder) and --resume (a requeued task
/// continues; a batch resumes from its manifest), and --threads from SLURM_CPUS_PER_TASK.
QString slurmArrayScript(const SlurmArrayRequest& request);
/// The sweep shard file of array task `index` in `workdir`.
QString slurmShardPath(const QString& workdir, int index);
/// The submit manifest in `workdir`.
QString slurmManifestPath(const QString& workdir);

/// A submitted array, as recorded in the manifest (slurm-array.json in the work folder).
struct SlurmSubmission
{
    QString jobId;
    QString submittedAt; ///< ISO 8601, UTC
    QString scriptPath;
    SlurmArrayRequest request;

    QStringList shardFiles() const;
    QJsonObject toJson() const;
    /// Reads `workdir`/slurm-array.json (or the manifest file itself); errors name the file.
    static SlurmSubmission load(const QString& workdirOrManifest);
};

/// Writes the script and the log folder, submits with `sbatch --parsable`, records the manifest
/// (atomically). Throws when sbatch is not on PATH or fails (its message quoted), or when the work folder
/// already holds a submission.
SlurmSubmission submitSlurmArray(const SlurmArrayRequest& request);

/// One array task: Slurm's state and its shard file's.
struct SlurmTaskStatus
{
    int index = 0;
    QString
        state; ///< PENDING, RUNNING, COMPLETED, FAILED, …; "not queued" when neither squeue nor sacct has it
    QString shardState; ///< "missing", "k of m entries", "complete", or why it cannot be read
    bool shardComplete = false;
};

/// Array task IDs of squeue/sacct lines ("JOBID|STATE" with JOBID "123_4" or "123_[0-3%2]") → state per
/// index; lines of other jobs and job steps ("123_4.batch") are skipped.
void parseSlurmStates(const QString& lines, const QString& jobId, int tasks, std::vector<QString>& states);

/// The state of every task: sacct's record where accounting is on, overridden by squeue for the tasks
/// still queued; `notes` receives what could not be asked (sacct without accounting, say). Throws when
/// squeue is not on PATH.
std::vector<SlurmTaskStatus> slurmArrayStatus(const SlurmSubmission& submission,
                                              QStringList* notes = nullptr);

} // namespace qs
