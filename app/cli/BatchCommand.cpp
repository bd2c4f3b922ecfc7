#include "Cli.h"
#include "CliOptions.h"
#include "RunsDatabase.h"
#include "analysis/RunBatch.h"
#include "analysis/SweepShards.h"
#include "util/Error.h"
#include "util/Threads.h"

#include <QCommandLineParser>

namespace cli {

int runBatch(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Quantize and evaluate a model once per run of BATCH.json (a scheme or a recipe each), every run "
        "into "
        "OUT/<name>/ (the folder quantize writes, with run.json), recorded in OUT/batch-shard-I-of-N.json. "
        "With --shard I/N only run k with k mod N = I; `merge` checks the manifests of all shards. Running a "
        "shard again skips its runs that are done."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("BATCH.json"), QStringLiteral("the batch (model, eval, runs)"));
    p.addOptions({
        {QStringLiteral("out"), QStringLiteral("Output folder (shared by all shards)."),
         QStringLiteral("DIR")},
        {QStringLiteral("shard"), QStringLiteral("Only shard I of N (I 0-based)."), QStringLiteral("I/N")},
        recordRunsOption(),
        {QStringLiteral("dry-run"), QStringLiteral("List the runs of each shard and stop.")},
        {QStringLiteral("shards"), QStringLiteral("With --dry-run: N shards."), QStringLiteral("N")},
        threadsOption(),
    });
    p.process(args);
    const bool dryRun = p.isSet(QStringLiteral("dry-run"));
    if (const QString m = joinProblems(usageProblem(p, 1, QStringLiteral("one BATCH.json")),
                                       !dryRun && !p.isSet(QStringLiteral("out"))
                                           ? QStringLiteral("--out is required (or --dry-run)")
                                           : QString());
        !m.isEmpty())
        return usageError(p, m);
    qs::setComputeThreads(p.value(QStringLiteral("threads")).toInt());
    const qs::RunBatch batch = qs::RunBatch::load(p.positionalArguments().front());
    qs::SweepShard shard;
    if (p.isSet(QStringLiteral("shard")))
        shard = qs::parseSweepShard(p.value(QStringLiteral("shard")));
    if (dryRun) {
        const int count =
            p.isSet(QStringLiteral("shards")) ? positiveInt(p, QStringLiteral("shards"), 1) : shard.count;
        out() << QStringLiteral("batch %1: %2 runs of %3, evaluated on %4 (n_ctx %5, %6 chunks)\n")
                     .arg(batch.identity().left(12))
                     .arg(batch.runs.size())
                     .arg(batch.modelPath, batch.evalText)
                     .arg(batch.eval.ctx)
                     .arg(batch.eval.maxChunks);
        for (int i = 0; i < count; ++i) {
            if (!p.isSet(QStringLiteral("shards")) && i != shard.index)
                continue;
            QStringList names;
            for (std::size_t k = 0; k < batch.runs.size(); ++k)
                if (qs::SweepShard{i, count}.owns(k))
                    names << batch.runs[k].name + QStringLiteral(" (") + batch.runs[k].source + u')';
            out() << QStringLiteral("shard %1/%2: %3 runs: %4\n")
                         .arg(i)
                         .arg(count)
                         .arg(names.size())
                         .arg(names.join(QStringLiteral(", ")));
        }
        out()
            << "each run quantizes the whole model and evaluates it (quantize --eval); the float baseline is "
               "evaluated once per shard\n";
        return kExitOk;
    }
    qs::JobContext job;
    job.progress = terminalProgress(false);
    const qs::BatchShardManifest m = qs::runBatchShard(batch, shard, p.value(QStringLiteral("out")), job);
    err() << '\n';
    int failed = 0;
    for (const qs::BatchRunRecord& r : m.runs) {
        failed += r.done() ? 0 : 1;
        out() << QStringLiteral("%1 %2 bpw (whole model)  ppl %3  %4\n")
                     .arg(r.name, -24)
                     .arg(r.bitsPerWeight, 6, 'f', 3)
                     .arg(r.ppl, 10, 'f', 4)
                     .arg(r.done() ? r.folder : r.status);
    }
    if (!shard.sharded()) { // a shard's runs are recorded by merge, on the user's machine
        QStringList folders;
        for (const qs::BatchRunRecord& r : m.runs)
            if (r.done())
                folders << r.folder;
        recordResults(runsFolderFrom(p), folders, false);
    }
    out() << QStringLiteral("shard %1: %2 of %3 runs done → %4\n")
                 .arg(shard.toText())
                 .arg(int(m.runs.size()) - failed)
                 .arg(m.runs.size())
                 .arg(qs::batchManifestPath(p.value(QStringLiteral("out")), shard));
    return failed ? kExitFailure : kExitOk;
}

} // namespace cli
