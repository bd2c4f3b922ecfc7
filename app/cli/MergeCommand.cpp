#include "Cli.h"
#include "analysis/SlurmArray.h"
#include "analysis/SweepShards.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

namespace cli {

int runMerge(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Merge the shard files of a sensitivity sweep (sensitivity --shard I/N) into one sweep file, after "
        "checking they are all the shards of one sweep (same model, texts, settings, entry list and tool "
        "version). Give the shard files, or the work folder of slurm submit (default --out "
        "WORKDIR/merged.json)."));
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
         {QStringLiteral("json"), QStringLiteral("Print JSON.")}});
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
    if (files.isEmpty() || outPath.isEmpty()) {
        err() << p.helpText();
        return kExitUsage;
    }
    QStringList notes;
    const qs::SensitivityResult merged = qs::mergeSweepShards(files, &notes);
    merged.save(outPath);
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
