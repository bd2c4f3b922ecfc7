#include "Cli.h"
#include "CliOptions.h"
#include "analysis/SlurmArray.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

namespace cli {

namespace {

QList<QCommandLineOption> submitOptions()
{
    return {
        {QStringLiteral("shards"), QStringLiteral("Array tasks, one shard each (default 2)."),
         QStringLiteral("N"), QStringLiteral("2")},
        {QStringLiteral("cpus"), QStringLiteral("CPUs per task (--cpus-per-task; the task's --threads)."),
         QStringLiteral("C"), QStringLiteral("1")},
        {QStringLiteral("mem"), QStringLiteral("Memory per task, as sbatch --mem (8G)."),
         QStringLiteral("M")},
        {QStringLiteral("time"), QStringLiteral("Time limit per task, as sbatch --time (02:00:00)."),
         QStringLiteral("T")},
        {QStringLiteral("partition"), QStringLiteral("Slurm partition."), QStringLiteral("P")},
        {QStringLiteral("gpus"), QStringLiteral("GPUs per task (not offered yet: no GPU backend)."),
         QStringLiteral("G")},
        {QStringLiteral("workdir"),
         QStringLiteral("Folder for the script, the manifest, the shard files and the logs (on storage every "
                        "node sees)."),
         QStringLiteral("DIR")},
        {QStringLiteral("job-name"), QStringLiteral("Slurm job name."), QStringLiteral("NAME"),
         QStringLiteral("quantscope-sweep")},
        {QStringLiteral("dry-run"),
         QStringLiteral("Print the script and the cost of each shard; submit nothing.")},
    };
}

int runSubmit(const QStringList& args)
{
    const qsizetype dashes = args.indexOf(QStringLiteral("--"));
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Submit a sharded sensitivity sweep as a Slurm job array: one task per shard, each running "
        "quantscope-cli sensitivity … --shard $SLURM_ARRAY_TASK_ID/N into WORKDIR/shard-I.json (or batch "
        "BATCH.json … into WORKDIR/runs). Usage: slurm submit [options] -- sensitivity MODEL --schemes … "
        "--eval … "
        "| -- batch BATCH.json"));
    p.addHelpOption();
    p.addOptions(submitOptions());
    p.process(dashes < 0 ? args : args.mid(0, dashes));
    const QStringList command = dashes < 0 ? QStringList{} : args.mid(dashes + 1);
    if (const QString m = joinProblems(
            usageProblem(p, 0, QStringLiteral("no argument before --"), {QStringLiteral("workdir")}),
            command.isEmpty() ? QStringLiteral("the command to run goes after --") : QString());
        !m.isEmpty())
        return usageError(p, m);
    if (p.isSet(QStringLiteral("gpus")))
        throw qs::Error(QStringLiteral("--gpus: no GPU backend yet; QuantScope sweeps run on CPUs (ask for "
                                       "--cpus instead)"));
    qs::SlurmArrayRequest req;
    req.shards = positiveInt(p, QStringLiteral("shards"), 1);
    req.cpus = positiveInt(p, QStringLiteral("cpus"), 1);
    req.memory = p.value(QStringLiteral("mem"));
    req.time = p.value(QStringLiteral("time"));
    req.partition = p.value(QStringLiteral("partition"));
    req.workdir = QFileInfo(p.value(QStringLiteral("workdir"))).absoluteFilePath();
    req.program = QCoreApplication::applicationFilePath();
    req.chdir = QDir::currentPath();
    req.command = command;
    req.jobName = p.value(QStringLiteral("job-name"));
    if (p.isSet(QStringLiteral("dry-run"))) {
        out() << qs::slurmArrayScript(req) << '\n';
        out().flush();
        QStringList costArgs{QStringLiteral("quantscope-cli ") + command.front()};
        costArgs << command.mid(1) << QStringLiteral("--dry-run") << QStringLiteral("--shards")
                 << QString::number(req.shards); // timed with this machine's threads, not the nodes'
        return req.isBatch() ? runBatch(costArgs) : runSensitivity(costArgs);
    }
    const qs::SlurmSubmission sub = qs::submitSlurmArray(req);
    out() << QStringLiteral(
                 "submitted job array %1 (%2 tasks); follow it with: quantscope-cli slurm status %3\n")
                 .arg(sub.jobId)
                 .arg(req.shards)
                 .arg(req.workdir);
    return kExitOk;
}

int runStatus(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "State of each task of a submitted array (squeue, sacct) and of its shard file. Exit code 0 when "
        "every shard file is complete, 3 while some are not."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("WORKDIR"), QStringLiteral("the --workdir of slurm submit"));
    p.addOption({QStringLiteral("json"), QStringLiteral("Print JSON.")});
    p.process(args);
    if (const QString m = usageProblem(p, 1, QStringLiteral("one WORKDIR")); !m.isEmpty())
        return usageError(p, m);
    const qs::SlurmSubmission sub = qs::SlurmSubmission::load(p.positionalArguments().front());
    QStringList notes;
    const std::vector<qs::SlurmTaskStatus> tasks = qs::slurmArrayStatus(sub, &notes);
    int complete = 0;
    QJsonArray rows;
    for (const qs::SlurmTaskStatus& t : tasks) {
        complete += t.shardComplete ? 1 : 0;
        rows.append(QJsonObject{{QStringLiteral("task"), t.index},
                                {QStringLiteral("state"), t.state},
                                {QStringLiteral("shard_file"), sub.request.shardFile(t.index)},
                                {QStringLiteral("shard_state"), t.shardState},
                                {QStringLiteral("complete"), t.shardComplete}});
    }
    const bool done = complete == int(tasks.size());
    if (p.isSet(QStringLiteral("json"))) {
        printJson(QJsonDocument(QJsonObject{{QStringLiteral("job_id"), sub.jobId},
                                            {QStringLiteral("tasks"), rows},
                                            {QStringLiteral("done"), done}}));
    } else {
        out() << QStringLiteral("job %1, %2 tasks, submitted %3\n")
                     .arg(sub.jobId)
                     .arg(tasks.size())
                     .arg(sub.submittedAt);
        for (const qs::SlurmTaskStatus& t : tasks)
            out() << QStringLiteral("  task %1  %2  %3: %4\n")
                         .arg(t.index, 3)
                         .arg(t.state, -11)
                         .arg(QFileInfo(sub.request.shardFile(t.index)).fileName(), t.shardState);
        out() << (done ? QStringLiteral("all shards complete: quantscope-cli slurm merge %1\n")
                             .arg(sub.request.workdir)
                       : QStringLiteral("%1 of %2 shards complete\n").arg(complete).arg(tasks.size()));
    }
    for (const QString& n : notes)
        err() << "note: " << n << '\n';
    return done ? kExitOk : 3;
}

} // namespace

int runSlurm(const QStringList& args)
{
    const QString sub = args.value(1);
    QStringList rest = args.mid(1);
    if (!rest.isEmpty())
        rest[0] = QStringLiteral("quantscope-cli slurm ") + sub;
    if (sub == u"submit")
        return runSubmit(rest);
    if (sub == u"status")
        return runStatus(rest);
    if (sub == u"merge")
        return runMerge(rest);
    err() << "usage: quantscope-cli slurm submit|status|merge …   (quantscope-cli slurm submit --help)\n"
             "  submit  write and submit an sbatch job array for a sharded sensitivity sweep\n"
             "  status  the state of each array task and of its shard file\n"
             "  merge   merge the shard files of a work folder into one sweep file\n";
    return sub == u"--help" || sub == u"-h" ? kExitOk : kExitUsage;
}

} // namespace cli
