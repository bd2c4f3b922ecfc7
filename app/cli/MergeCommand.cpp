#include "Cli.h"
#include "CliOptions.h"
#include "RunsDatabase.h"
#include "analysis/RunBatch.h"
#include "analysis/SlurmArray.h"
#include "analysis/SweepShards.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

namespace cli {

namespace {

/// merge on batch manifests: every run of every shard done; the list of runs written to `outPath`.
int mergeBatch(const QStringList& files, const QString& outPath, bool json)
{
    const std::vector<qs::BatchRunRecord> runs = qs::mergeBatchShards(files);
    QJsonArray rows;
    for (const qs::BatchRunRecord& r : runs)
        rows.append(QJsonObject{{QStringLiteral("name"), r.name},
                                {QStringLiteral("folder"), r.folder},
                                {QStringLiteral("ppl"), r.ppl},
                                {QStringLiteral("bpw"), r.bitsPerWeight}});
    const QJsonObject o{{QStringLiteral("format"), QStringLiteral("quantscope-batch-result")},
                        {QStringLiteral("version"), 1},
                        {QStringLiteral("shards"), QJsonArray::fromStringList(files)},
                        {QStringLiteral("runs"), rows}};
    qs::writeFileAtomically(outPath, QJsonDocument(o).toJson(QJsonDocument::Indented));
    if (json) {
        printJson(QJsonDocument(o));
        return kExitOk;
    }
    for (const qs::BatchRunRecord& r : runs)
        out() << QStringLiteral("%1 %2 bpw (whole model)  ppl %3  %4\n")
                     .arg(r.name, -24)
                     .arg(r.bitsPerWeight, 6, 'f', 3)
                     .arg(r.ppl, 10, 'f', 4)
                     .arg(r.folder);
    out() << QStringLiteral(
                 "merged %1 batch shards: %2 runs, all done → %3 (compare them: quantscope-cli compare "
                 "FOLDER...)\n")
                 .arg(files.size())
                 .arg(runs.size())
                 .arg(outPath);
    return kExitOk;
}

} // namespace

int runMerge(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Merge the shard files of a sensitivity sweep (sensitivity --shard I/N) into one sweep file, after "
        "checking they are all the shards of one sweep (same model, texts, settings, entry list and tool "
        "version). Give the shard files, or the work folder of slurm submit (default --out "
        "WORKDIR/merged.json). Batch manifests (batch --shard I/N) are checked the same way and their runs "
        "listed in --out."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("SHARD"), QStringLiteral("shard files"),
                            QStringLiteral("SHARD..."));
    p.addOptions(
        {{QStringLiteral("out"), QStringLiteral("Merged sweep JSON (written atomically)."),
          QStringLiteral("S.json")},
         {QStringLiteral("compare"),
          QStringLiteral("Check the merged sweep against an unsharded run of it: every entry's values "
                         "equal (timings aside); exit 1 listing the differences otherwise."),
          QStringLiteral("WHOLE.json")},
         {QStringLiteral("json"), QStringLiteral("Print JSON.")},
         recordRunsOption()});
    p.process(args);
    QStringList files = p.positionalArguments();
    QString outPath = p.value(QStringLiteral("out"));
    if (files.size() == 1 &&
        (QFileInfo(files.front()).isDir() || files.front().endsWith(u"slurm-array.json"))) {
        const qs::SlurmSubmission sub = qs::SlurmSubmission::load(files.front());
        files = sub.shardFiles();
        if (outPath.isEmpty())
            outPath = QDir(sub.request.workdir).filePath(QStringLiteral("merged.json"));
    }
    if (files.isEmpty() || outPath.isEmpty())
        return usageError(p, files.isEmpty() ? QStringLiteral("no SHARD files (or a slurm work folder) given")
                                             : QStringLiteral("--out is required"));
    if (qs::isBatchManifest(files.front())) {
        const int rc = mergeBatch(files, outPath, p.isSet(QStringLiteral("json")));
        QStringList folders;
        for (const qs::BatchRunRecord& r : qs::mergeBatchShards(files))
            folders << r.folder;
        recordResults(runsFolderFrom(p), folders, p.isSet(QStringLiteral("json")));
        return rc;
    }
    QStringList notes;
    const qs::SensitivityResult merged = qs::mergeSweepShards(files, &notes);
    merged.save(outPath);
    recordResults(runsFolderFrom(p), {QFileInfo(outPath).absoluteFilePath()},
                  p.isSet(QStringLiteral("json")));
    for (const QString& n : notes)
        err() << "warning: " << n << '\n';
    if (p.isSet(QStringLiteral("json")))
        printJson(QJsonDocument(QJsonObject{{QStringLiteral("out"), outPath},
                                            {QStringLiteral("shards"), QJsonArray::fromStringList(files)},
                                            {QStringLiteral("sweep_id"), merged.sweepId},
                                            {QStringLiteral("entries"), qint64(merged.entries.size())},
                                            {QStringLiteral("base_ppl"), merged.basePpl}}));
    else
        out() << QStringLiteral(
                     "merged %1 shards of sweep %2 (%3, QuantScope %4): %5 entries, base ppl %6 → %7\n")
                     .arg(files.size())
                     .arg(merged.sweepId.left(12), merged.modelName, merged.toolVersion)
                     .arg(merged.entries.size())
                     .arg(merged.basePpl, 0, 'f', 4)
                     .arg(outPath);
    if (p.isSet(QStringLiteral("compare"))) {
        const QString wholePath = p.value(QStringLiteral("compare"));
        const QStringList diffs = qs::compareSweepEntries(merged, qs::SensitivityResult::load(wholePath));
        for (const QString& d : diffs)
            err() << "differs: " << d << '\n';
        if (!diffs.isEmpty())
            throw qs::Error(QStringLiteral("%1 entries of the merged sweep differ from %2")
                                .arg(diffs.size())
                                .arg(wholePath));
        out() << QStringLiteral("all %1 entries equal those of %2 (timings aside)\n")
                     .arg(merged.entries.size())
                     .arg(wholePath);
    }
    return kExitOk;
}

} // namespace cli
