#include "analysis/SlurmArray.h"

#include "analysis/JsonFile.h"
#include "analysis/RunBatch.h"
#include "analysis/SensitivityResult.h"
#include "util/AtomicFile.h"
#include "util/Error.h"
#include "util/ShellQuote.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>

namespace qs {

namespace {

constexpr int kManifestVersion = 1;
constexpr int kToolTimeoutMs = 120000;

/// Options the array sets per task; a command that sets them itself would fight it.
const QStringList& perTaskOptions()
{
    static const QStringList options{QStringLiteral("--out"),     QStringLiteral("--shard"),
                                     QStringLiteral("--shards"),  QStringLiteral("--resume"),
                                     QStringLiteral("--threads"), QStringLiteral("--dry-run"),
                                     QStringLiteral("-j")};
    return options;
}

/// Runs a Slurm client tool and returns its standard output; throws naming the tool when it is not on
/// PATH, does not finish or exits non-zero (with what it printed on stderr).
QString runSlurmTool(const QString& tool, const QStringList& args)
{
    const QString exe = QStandardPaths::findExecutable(tool);
    if (exe.isEmpty())
        throw Error(QStringLiteral("%1 is not on PATH: run this on a machine with Slurm's client tools "
                                   "(a cluster's login node; Debian/Ubuntu: apt install slurm-client)")
                        .arg(tool));
    QProcess p;
    p.start(exe, args);
    if (!p.waitForStarted(kToolTimeoutMs))
        throw Error(QStringLiteral("%1 could not be started: %2").arg(exe, p.errorString()));
    if (!p.waitForFinished(kToolTimeoutMs)) {
        p.kill();
        p.waitForFinished(5000);
        throw Error(QStringLiteral("%1 did not finish within %2 s").arg(tool).arg(kToolTimeoutMs / 1000));
    }
    const QString out = QString::fromLocal8Bit(p.readAllStandardOutput());
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        throw Error(QStringLiteral("%1 %2 failed (exit %3): %4")
                        .arg(tool, args.join(u' '))
                        .arg(p.exitCode())
                        .arg(QString::fromLocal8Bit(p.readAllStandardError()).trimmed()));
    return out;
}

/// What the shard file of a task holds.
void readShardState(SlurmTaskStatus& t, const QString& path)
{
    if (!QFileInfo::exists(path)) {
        t.shardState = QStringLiteral("missing");
        return;
    }
    try {
        if (isBatchManifest(path)) {
            const BatchShardManifest m = BatchShardManifest::load(path);
            int done = 0;
            for (const BatchRunRecord& r : m.runs)
                done += r.done() ? 1 : 0;
            t.shardComplete = m.complete();
            t.shardState = t.shardComplete
                               ? QStringLiteral("complete")
                               : QStringLiteral("%1 of %2 runs done").arg(done).arg(m.runs.size());
            return;
        }
        const SensitivityResult r = SensitivityResult::load(path);
        t.shardComplete = r.complete;
        t.shardState =
            r.complete
                ? QStringLiteral("complete")
                : QStringLiteral("%1 of %2 entries").arg(r.entries.size()).arg(r.ownedEntries().size());
    } catch (const Error& e) {
        t.shardState = e.message();
    }
}

} // namespace

void SlurmArrayRequest::check() const
{
    if (shards < 1)
        throw Error(QStringLiteral("--shards must be at least 1"));
    if (cpus < 1)
        throw Error(QStringLiteral("--cpus must be at least 1"));
    if (workdir.isEmpty() || QDir::isRelativePath(workdir))
        throw Error(QStringLiteral("the work folder must be an absolute path (got '%1')").arg(workdir));
    if (workdir.contains(u' ') || chdir.contains(u' '))
        throw Error(QStringLiteral("the work folder and the working folder must not contain a space (sbatch "
                                   "reads #SBATCH lines split at spaces): '%1'")
                        .arg(workdir.contains(u' ') ? workdir : chdir));
    if (command.isEmpty() || (command.front() != u"sensitivity" && command.front() != u"batch"))
        throw Error(QStringLiteral(
                        "the array runs a sharded sensitivity sweep or batch: give `-- sensitivity MODEL "
                        "--schemes … --eval …` or `-- batch BATCH.json` after the Slurm options (got '%1')")
                        .arg(command.value(0)));
    for (const QString& a : command) {
        const QString name = a.section(u'=', 0, 0);
        if (perTaskOptions().contains(name))
            throw Error(QStringLiteral("%1 is set by the array for each task (shard file, shard, resume, "
                                       "threads from --cpus); leave it out of the command")
                            .arg(name));
    }
}

QJsonObject SlurmArrayRequest::toJson() const
{
    return QJsonObject{{QStringLiteral("shards"), shards},
                       {QStringLiteral("cpus"), cpus},
                       {QStringLiteral("mem"), memory},
                       {QStringLiteral("time"), time},
                       {QStringLiteral("partition"), partition},
                       {QStringLiteral("workdir"), workdir},
                       {QStringLiteral("program"), program},
                       {QStringLiteral("chdir"), chdir},
                       {QStringLiteral("command"), QJsonArray::fromStringList(command)},
                       {QStringLiteral("job_name"), jobName}};
}

SlurmArrayRequest SlurmArrayRequest::fromJson(const QJsonObject& o)
{
    SlurmArrayRequest r;
    r.shards = o.value(u"shards").toInt();
    r.cpus = o.value(u"cpus").toInt();
    r.memory = o.value(u"mem").toString();
    r.time = o.value(u"time").toString();
    r.partition = o.value(u"partition").toString();
    r.workdir = o.value(u"workdir").toString();
    r.program = o.value(u"program").toString();
    r.chdir = o.value(u"chdir").toString();
    for (const QJsonValue& v : o.value(u"command").toArray())
        r.command << v.toString();
    r.jobName = o.value(u"job_name").toString();
    return r;
}

QString SlurmArrayRequest::shardFile(int index) const
{
    return isBatch() ? batchManifestPath(QDir(workdir).filePath(QStringLiteral("runs")), {index, shards})
                     : slurmShardPath(workdir, index);
}

QString slurmShardPath(const QString& workdir, int index)
{
    return QDir(workdir).filePath(QStringLiteral("shard-%1.json").arg(index));
}

QString slurmManifestPath(const QString& workdir)
{
    return QDir(workdir).filePath(QStringLiteral("slurm-array.json"));
}

QString slurmArrayScript(const SlurmArrayRequest& r)
{
    r.check();
    const QString logs = QDir(r.workdir).filePath(QStringLiteral("logs"));
    QString s = QStringLiteral("#!/bin/bash\n"
                               "# Written by quantscope-cli slurm submit: one array task per shard of the "
                               "sweep; merge the shard files with `quantscope-cli slurm merge %1`.\n")
                    .arg(shellQuote(r.workdir));
    auto directive = [&](const QString& option, const QString& value) {
        if (!value.isEmpty())
            s += QStringLiteral("#SBATCH --%1=%2\n").arg(option, value);
    };
    directive(QStringLiteral("job-name"), r.jobName);
    directive(QStringLiteral("array"), QStringLiteral("0-%1").arg(r.shards - 1));
    directive(QStringLiteral("ntasks"), QStringLiteral("1"));
    directive(QStringLiteral("cpus-per-task"), QString::number(r.cpus));
    directive(QStringLiteral("mem"), r.memory);
    directive(QStringLiteral("time"), r.time);
    directive(QStringLiteral("partition"), r.partition);
    directive(QStringLiteral("chdir"), r.chdir);
    directive(QStringLiteral("output"), QDir(logs).filePath(QStringLiteral("shard-%a.log")));
    s += QStringLiteral("set -eu\n"
                        "shard=\"${SLURM_ARRAY_TASK_ID:?run this script with sbatch, as a job array}\"\n");
    QStringList argv{r.program};
    argv << r.command;
    const QString out = r.isBatch()
                            ? shellQuote(QDir(r.workdir).filePath(QStringLiteral("runs")))
                            : shellQuote(r.workdir) + QStringLiteral("/shard-\"${shard}\".json --resume");
    s += QStringLiteral("exec %1 --shard \"${shard}/%2\" --out %3 --threads \"${SLURM_CPUS_PER_TASK:-%4}\"\n")
             .arg(shellCommandLine(argv))
             .arg(r.shards)
             .arg(out)
             .arg(r.cpus);
    return s;
}

QStringList SlurmSubmission::shardFiles() const
{
    QStringList files;
    for (int i = 0; i < request.shards; ++i)
        files << request.shardFile(i);
    return files;
}

QJsonObject SlurmSubmission::toJson() const
{
    return QJsonObject{{QStringLiteral("format"), QStringLiteral("quantscope-slurm-array")},
                       {QStringLiteral("version"), kManifestVersion},
                       {QStringLiteral("job_id"), jobId},
                       {QStringLiteral("submitted_at"), submittedAt},
                       {QStringLiteral("script"), scriptPath},
                       {QStringLiteral("request"), request.toJson()},
                       {QStringLiteral("shard_files"), QJsonArray::fromStringList(shardFiles())}};
}

SlurmSubmission SlurmSubmission::load(const QString& workdirOrManifest)
{
    const QString path =
        QFileInfo(workdirOrManifest).isDir() ? slurmManifestPath(workdirOrManifest) : workdirOrManifest;
    if (!QFileInfo::exists(path))
        throw Error::inFile(path, QStringLiteral("no submit manifest here (was the array submitted with "
                                                 "quantscope-cli slurm submit --workdir?)"));
    const QJsonObject o = readJsonObjectFile(path);
    if (o.value(u"format").toString() != u"quantscope-slurm-array" || o.value(u"version").toInt() < 1 ||
        o.value(u"version").toInt() > kManifestVersion)
        throw Error::inFile(path, QStringLiteral("not a QuantScope Slurm array manifest (version 1)"));
    SlurmSubmission s;
    s.jobId = o.value(u"job_id").toString();
    s.submittedAt = o.value(u"submitted_at").toString();
    s.scriptPath = o.value(u"script").toString();
    s.request = SlurmArrayRequest::fromJson(o.value(u"request").toObject());
    if (s.jobId.isEmpty() || s.request.shards < 1 || s.request.workdir.isEmpty())
        throw Error::inFile(path, QStringLiteral("the manifest has no job id, shard count or work folder"));
    return s;
}

SlurmSubmission submitSlurmArray(const SlurmArrayRequest& request)
{
    const QString script = slurmArrayScript(request); // checks the request
    const QString manifest = slurmManifestPath(request.workdir);
    if (QFileInfo::exists(manifest))
        throw Error::inFile(manifest, QStringLiteral("the work folder already holds a submitted array; "
                                                     "follow it with slurm status or use another --workdir"));
    if (!QDir().mkpath(QDir(request.workdir).filePath(QStringLiteral("logs"))))
        throw Error::inFile(request.workdir, QStringLiteral("cannot create the work folder"));
    SlurmSubmission s;
    s.request = request;
    s.scriptPath = QDir(request.workdir).filePath(QStringLiteral("sweep.sbatch"));
    writeFileAtomically(s.scriptPath, script.toUtf8());
    const QString out = runSlurmTool(QStringLiteral("sbatch"), {QStringLiteral("--parsable"), s.scriptPath});
    // --parsable prints "jobid" or "jobid;cluster"
    s.jobId = out.trimmed().section(u';', 0, 0);
    static const QRegularExpression digits(QStringLiteral("^\\d+$"));
    if (!digits.match(s.jobId).hasMatch())
        throw Error(QStringLiteral("sbatch --parsable printed '%1', not a job id").arg(out.trimmed()));
    s.submittedAt = QDateTime::currentDateTimeUtc().toString(Qt::ISODate);
    writeFileAtomically(manifest, QJsonDocument(s.toJson()).toJson(QJsonDocument::Indented));
    return s;
}

void parseSlurmStates(const QString& lines, const QString& jobId, int tasks, std::vector<QString>& states)
{
    states.resize(std::size_t(tasks));
    const QString prefix = jobId + u'_';
    for (const QString& line : lines.split(u'\n', Qt::SkipEmptyParts)) {
        const QString id = line.section(u'|', 0, 0).trimmed();
        const QString state = line.section(u'|', 1, 1).trimmed().section(u' ', 0, 0); // "CANCELLED by 0"
        if (!id.startsWith(prefix) || id.contains(u'.') || state.isEmpty())
            continue;
        QString range = id.mid(prefix.size());
        if (range.startsWith(u'[') && range.endsWith(u']'))
            range = range.mid(1, range.size() - 2);
        range = range.section(u'%', 0, 0);
        for (const QString& part : range.split(u',', Qt::SkipEmptyParts)) {
            bool okA = false, okB = true;
            const int a = part.section(u'-', 0, 0).toInt(&okA);
            const int b = part.contains(u'-') ? part.section(u'-', 1, 1).toInt(&okB) : a;
            if (!okA || !okB)
                continue;
            for (int i = std::max(0, a); i <= b && i < tasks; ++i)
                states[std::size_t(i)] = state;
        }
    }
}

std::vector<SlurmTaskStatus> slurmArrayStatus(const SlurmSubmission& sub, QStringList* notes)
{
    const int n = sub.request.shards;
    std::vector<QString> recorded, queued;
    try {
        parseSlurmStates(
            runSlurmTool(QStringLiteral("sacct"), {QStringLiteral("-n"), QStringLiteral("-P"),
                                                   QStringLiteral("-X"), QStringLiteral("-j"), sub.jobId,
                                                   QStringLiteral("-o"), QStringLiteral("JobID,State")}),
            sub.jobId, n, recorded);
    } catch (const Error& e) { // no accounting on many small clusters: squeue and the files still tell
        recorded.assign(std::size_t(n), QString());
        if (notes)
            notes->append(QStringLiteral("sacct: %1").arg(e.message()));
    }
    QString inQueue;
    try {
        inQueue = runSlurmTool(QStringLiteral("squeue"),
                               {QStringLiteral("-h"), QStringLiteral("-r"), QStringLiteral("-j"), sub.jobId,
                                QStringLiteral("-o"), QStringLiteral("%i|%T")});
    } catch (const Error& e) {
        // squeue refuses the id of a job that has left the queue altogether
        if (!e.message().contains(QStringLiteral("Invalid job id"), Qt::CaseInsensitive))
            throw;
    }
    parseSlurmStates(inQueue, sub.jobId, n, queued);
    std::vector<SlurmTaskStatus> tasks(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        SlurmTaskStatus& t = tasks[std::size_t(i)];
        t.index = i;
        t.state = !queued[std::size_t(i)].isEmpty()     ? queued[std::size_t(i)]
                  : !recorded[std::size_t(i)].isEmpty() ? recorded[std::size_t(i)]
                                                        : QStringLiteral("not queued");
        readShardState(t, sub.request.shardFile(i));
    }
    return tasks;
}

} // namespace qs
