// `runs`: the results database (list, show, export, rm, restore, tag, rename, import, sweeps, check)
// and the recording of quantize runs into it.
#include "Cli.h"
#include "CliOptions.h"
#include "RunsDatabase.h"
#include "store/RunStore.h"
#include "store/StoreImport.h"
#include "util/AtomicFile.h"
#include "util/Error.h"

#include <QCommandLineParser>
#include <QDir>
#include <QJsonArray>
#include <QRegularExpression>
#include <cmath>

namespace cli {

namespace {

QCommandLineOption runsFolderOption()
{
    return {
        QStringLiteral("runs"),
        QStringLiteral("Runs folder holding results.sqlite (default: $QUANTSCOPE_RUNS, else the GUI's: %1).")
            .arg(qs::ResultsDb::defaultFolder()),
        QStringLiteral("DIR")};
}

QList<QCommandLineOption> filterOptions()
{
    return {
        {QStringLiteral("search"), QStringLiteral("Name, recipe, method, model path or tag containing TEXT."),
         QStringLiteral("TEXT")},
        {QStringLiteral("model"), QStringLiteral("Model path containing TEXT."), QStringLiteral("TEXT")},
        {QStringLiteral("method"), QStringLiteral("Method label (RTN, GPTQ, AWQ, mixed, …)."),
         QStringLiteral("M")},
        {QStringLiteral("bits"), QStringLiteral("The recipe's default bits."), QStringLiteral("B")},
        {QStringLiteral("min-bpw"), QStringLiteral("Whole-model bits per weight at least X."),
         QStringLiteral("X")},
        {QStringLiteral("max-bpw"), QStringLiteral("Whole-model bits per weight at most X."),
         QStringLiteral("X")},
        {QStringLiteral("since"), QStringLiteral("Recorded on or after DATE (YYYY-MM-DD, local time)."),
         QStringLiteral("DATE")},
        {QStringLiteral("until"), QStringLiteral("Recorded before DATE (YYYY-MM-DD, local time)."),
         QStringLiteral("DATE")},
        {QStringLiteral("tag"), QStringLiteral("Runs tagged T."), QStringLiteral("T")},
        {QStringLiteral("baselines"), QStringLiteral("Include float baselines.")},
        {QStringLiteral("trash"), QStringLiteral("The deleted runs (restore with `runs restore`).")},
    };
}

double numberOption(const QCommandLineParser& p, const QString& name)
{
    if (!p.isSet(name))
        return std::numeric_limits<double>::quiet_NaN();
    bool ok = false;
    const double v = p.value(name).toDouble(&ok);
    if (!ok || !std::isfinite(v))
        throw qs::Error(QStringLiteral("--%1: expected a number, got '%2'").arg(name, p.value(name)));
    return v;
}

QDateTime dateOption(const QCommandLineParser& p, const QString& name)
{
    if (!p.isSet(name))
        return {};
    const QDate d = QDate::fromString(p.value(name), Qt::ISODate);
    if (!d.isValid())
        throw qs::Error(
            QStringLiteral("--%1: expected a date YYYY-MM-DD, got '%2'").arg(name, p.value(name)));
    return d.startOfDay();
}

qs::RunFilter filterFrom(const QCommandLineParser& p)
{
    qs::RunFilter f;
    f.text = p.value(QStringLiteral("search"));
    f.model = p.value(QStringLiteral("model"));
    f.method = p.value(QStringLiteral("method"));
    f.tag = p.value(QStringLiteral("tag"));
    if (p.isSet(QStringLiteral("bits")))
        f.bits = positiveInt(p, QStringLiteral("bits"), 1);
    f.minBpw = numberOption(p, QStringLiteral("min-bpw"));
    f.maxBpw = numberOption(p, QStringLiteral("max-bpw"));
    f.since = dateOption(p, QStringLiteral("since"));
    f.until = dateOption(p, QStringLiteral("until"));
    f.baselines = p.isSet(QStringLiteral("baselines"));
    f.trash = p.isSet(QStringLiteral("trash"));
    return f;
}

QString cell(double v, int precision)
{
    return std::isfinite(v) ? QString::number(v, 'f', precision) : QString();
}

QString runsTable(const std::vector<qs::StoredRun>& runs)
{
    QString t = QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9 %10\n")
                    .arg(QStringLiteral("id"), 5)
                    .arg(QStringLiteral("recorded (UTC)"), -17)
                    .arg(QStringLiteral("name"), -24)
                    .arg(QStringLiteral("method"), -8)
                    .arg(QStringLiteral("bpw"), 7)
                    .arg(QStringLiteral("ppl ± err"), 19)
                    .arg(QStringLiteral("KLD"), 9)
                    .arg(QStringLiteral("ckpt MB"), 8)
                    .arg(QStringLiteral("tags"), -12)
                    .arg(QStringLiteral("model"));
    for (const qs::StoredRun& r : runs) {
        const qs::RunSummary& s = r.run.summary;
        const QString ppl =
            s.hasPerplexity() ? cell(s.ppl, 4) + QStringLiteral(" ± ") + cell(s.pplError, 4) : QString();
        t += QStringLiteral("%1 %2 %3 %4 %5 %6 %7 %8 %9 %10\n")
                 .arg(r.id, 5)
                 .arg(r.created.toString(QStringLiteral("yyyy-MM-dd HH:mm")), -17)
                 .arg(s.name.left(24), -24)
                 .arg(s.method.left(8), -8)
                 .arg(cell(s.bitsPerWeight, 3), 7)
                 .arg(ppl, 19)
                 .arg(cell(s.kldMean, 5), 9)
                 .arg(r.checkpointBytes > 0 ? cell(double(r.checkpointBytes) / 1e6, 1) : QString(), 8)
                 .arg(r.tags.join(u',').left(12), -12)
                 .arg(r.modelPath.isEmpty() ? s.modelPath : r.modelPath);
    }
    return t;
}

QString csvField(QString s)
{
    if (s.contains(u',') || s.contains(u'"') || s.contains(u'\n'))
        s = u'"' + s.replace(u'"', QStringLiteral("\"\"")) + u'"';
    return s;
}

QByteArray runsCsv(const std::vector<qs::StoredRun>& runs)
{
    const QStringList columns{QStringLiteral("id"),
                              QStringLiteral("created"),
                              QStringLiteral("name"),
                              QStringLiteral("model"),
                              QStringLiteral("method"),
                              QStringLiteral("bits"),
                              QStringLiteral("recipe_summary"),
                              QStringLiteral("bpw"),
                              QStringLiteral("MB"),
                              QStringLiteral("ppl"),
                              QStringLiteral("ppl_error"),
                              QStringLiteral("delta_ppl"),
                              QStringLiteral("delta_ppl_error"),
                              QStringLiteral("kld"),
                              QStringLiteral("top1_percent"),
                              QStringLiteral("decode_tokens_per_second"),
                              QStringLiteral("checkpoint"),
                              QStringLiteral("checkpoint_bytes"),
                              QStringLiteral("tool_version"),
                              QStringLiteral("tags")};
    QString csv = columns.join(u',') + u'\n';
    for (const qs::StoredRun& r : runs) {
        const QJsonObject o = r.toJson(false);
        QStringList cells;
        for (const QString& c : columns) {
            const QJsonValue v = o.value(c);
            cells << csvField(v.isArray()    ? r.tags.join(u' ')
                              : v.isDouble() ? QString::number(v.toDouble(), 'g', 10)
                              : v.isBool()   ? QString::number(int(v.toBool()))
                                             : v.toString());
        }
        csv += cells.join(u',') + u'\n';
    }
    return csv.toUtf8();
}

qint64 runIdArgument(const QString& s)
{
    QString t = s;
    if (t.startsWith(u'@'))
        t.remove(0, 1);
    bool ok = false;
    const qint64 id = t.toLongLong(&ok);
    if (!ok || id <= 0)
        throw qs::Error(QStringLiteral("'%1' is not a run id (see `quantscope-cli runs list`)").arg(s));
    return id;
}

QList<qint64> runIds(const QStringList& args, qs::ResultsDb& db)
{
    QList<qint64> ids;
    for (const QString& a : args) {
        const qint64 id = runIdArgument(a);
        if (!db.run(id))
            throw qs::Error::inFile(db.file(), QStringLiteral("holds no run %1").arg(id));
        ids << id;
    }
    return ids;
}

} // namespace

std::unique_ptr<qs::ResultsDb> openRunsDatabase(const QString& folder)
{
    auto db = std::make_unique<qs::ResultsDb>(qs::ResultsDb::fileIn(folder));
    if (!db->openWarning().isEmpty())
        err() << "warning: " << db->openWarning() << '\n';
    return db;
}

QString runsFolderFrom(const QCommandLineParser& p)
{
    return p.isSet(QStringLiteral("runs")) ? p.value(QStringLiteral("runs")) : qs::ResultsDb::defaultFolder();
}

void recordQuantizeRun(const QString& folder, const qs::ExperimentParams& params,
                       const qs::ExperimentResult& result, bool quiet)
{
    if (folder == u"off")
        return;
    try {
        auto db = openRunsDatabase(folder);
        const qint64 id = qs::recordExperiment(*db, params, result);
        if (!quiet)
            err() << "recorded as run " << id << " in " << db->file() << '\n';
    } catch (const qs::Error& e) {
        err() << "warning: the run finished but was not recorded in the results database: " << e.message()
              << '\n';
    }
}

void recordResults(const QString& folder, const QStringList& paths, bool quiet)
{
    if (folder == u"off" || paths.isEmpty())
        return;
    try {
        auto db = openRunsDatabase(folder);
        const qs::ImportReport report = qs::importResults(*db, paths);
        for (const QString& e : report.errors)
            err() << "warning: not recorded: " << e << '\n';
        if (!quiet)
            err() << "recorded " << report.runs << " runs and " << report.sweeps << " sweeps in "
                  << db->file() << '\n';
    } catch (const qs::Error& e) {
        err() << "warning: the results were not recorded in the results database: " << e.message() << '\n';
    }
}

QCommandLineOption recordRunsOption()
{
    return {QStringLiteral("runs"),
            QStringLiteral("Record the results in this runs folder's results database ('off': do not record; "
                           "default: $QUANTSCOPE_RUNS, else the GUI's: %1).")
                .arg(qs::ResultsDb::defaultFolder()),
            QStringLiteral("DIR")};
}

int runRuns(const QStringList& args)
{
    static const QStringList kActions{
        QStringLiteral("list"),    QStringLiteral("show"), QStringLiteral("export"), QStringLiteral("rm"),
        QStringLiteral("restore"), QStringLiteral("tag"),  QStringLiteral("rename"), QStringLiteral("import"),
        QStringLiteral("sweeps"),  QStringLiteral("check")};
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "The results database: every quantize run (GUI and CLI) and imported sweep, across sessions.\n"
        "  list [filters] [--json|--csv]     runs as a table\n"
        "  show ID [--json]                  one run whole (per-layer reports, recipe)\n"
        "  export [filters] --format csv|json [--out FILE]\n"
        "  rm ID... [--purge]                to the trash (restore ID... undoes); --purge: for good, with "
        "the "
        "checkpoints kept in the runs folder\n"
        "  restore ID...                     back from the trash\n"
        "  tag ID TAG... [--clear]           set (or clear) a run's tags\n"
        "  rename ID NAME\n"
        "  import PATH...                    run folders, run.json, eval/sweep/session/run-store JSON, or a "
        "folder of them\n"
        "  sweeps                            the sweeps kept\n"
        "  check                             SQLite's integrity check"));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("ACTION"), kActions.join(u'|'));
    p.addPositionalArgument(QStringLiteral("ARGS"), QStringLiteral("what the action takes"),
                            QStringLiteral("[ARGS...]"));
    p.addOption(runsFolderOption());
    p.addOptions(filterOptions());
    p.addOptions({
        {QStringLiteral("json"), QStringLiteral("Print JSON.")},
        {QStringLiteral("csv"), QStringLiteral("Print CSV.")},
        {QStringLiteral("format"), QStringLiteral("export: csv or json."), QStringLiteral("F"),
         QStringLiteral("csv")},
        {QStringLiteral("out"), QStringLiteral("export: write to FILE (atomically) instead of stdout."),
         QStringLiteral("FILE")},
        {QStringLiteral("purge"), QStringLiteral("rm: remove for good (with kept checkpoints)."), QString()},
        {QStringLiteral("clear"), QStringLiteral("tag: remove every tag.")},
    });
    p.process(args);
    const QStringList pos = p.positionalArguments();
    if (pos.isEmpty() || !kActions.contains(pos.front()))
        return usageError(
            p,
            pos.isEmpty()
                ? QStringLiteral("no ACTION given (one of %1)").arg(kActions.join(u", "))
                : QStringLiteral("unknown action '%1' (one of %2)").arg(pos.front(), kActions.join(u", ")));
    const QString action = pos.front();
    const QStringList rest = pos.mid(1);
    const QString folder = runsFolderFrom(p);
    auto db = openRunsDatabase(folder);

    if (action == u"list" || action == u"export") {
        const std::vector<qs::StoredRun> runs = db->runs(filterFrom(p));
        const QString format = action == u"list"
                                   ? (p.isSet(QStringLiteral("json"))  ? QStringLiteral("json")
                                      : p.isSet(QStringLiteral("csv")) ? QStringLiteral("csv")
                                                                       : QStringLiteral("table"))
                                   : p.value(QStringLiteral("format"));
        QByteArray bytes;
        if (format == u"json") {
            QJsonArray a;
            for (const qs::StoredRun& r : runs)
                a.append(r.toJson(action == u"export"));
            bytes = QJsonDocument(a).toJson(QJsonDocument::Indented);
        } else if (format == u"csv") {
            bytes = runsCsv(runs);
        } else if (format == u"table") {
            bytes = runsTable(runs).toUtf8();
        } else {
            throw qs::Error(QStringLiteral("--format: expected csv or json, got '%1'").arg(format));
        }
        if (p.isSet(QStringLiteral("out"))) {
            qs::writeFileAtomically(p.value(QStringLiteral("out")), bytes);
            err() << runs.size() << " runs written to " << p.value(QStringLiteral("out")) << '\n';
        } else {
            out() << QString::fromUtf8(bytes);
        }
        return kExitOk;
    }
    if (action == u"show") {
        if (rest.size() != 1)
            return usageError(p, QStringLiteral("show takes one RUN"));
        const auto r = db->run(runIdArgument(rest.front()));
        if (!r)
            throw qs::Error::inFile(db->file(), QStringLiteral("holds no run %1").arg(rest.front()));
        if (p.isSet(QStringLiteral("json"))) {
            printJson(QJsonDocument(r->toJson(true)));
            return kExitOk;
        }
        out() << runsTable({*r});
        out() << "recipe: " << r->run.summary.recipeSummary << '\n'
              << "evaluation: " << r->run.summary.evalText << " (" << r->run.summary.evalProtocol << ")\n"
              << "checkpoint: " << (r->checkpoint.isEmpty() ? QStringLiteral("none kept") : r->checkpoint)
              << '\n'
              << "tool version: " << r->toolVersion << '\n';
        for (const qs::LayerMetrics& l : r->run.summary.layers)
            out() << "  " << l.name.leftJustified(36) << ' ' << l.label.leftJustified(24) << ' '
                  << QString::number(l.bitsPerWeight, 'f', 3) << " bpw  weight relMSE "
                  << QString::number(l.weightRelMse, 'e', 3) << '\n';
        return kExitOk;
    }
    if (action == u"rm" || action == u"restore") {
        if (rest.isEmpty())
            return usageError(p, QStringLiteral("%1 takes one or more RUNs").arg(action));
        const QList<qint64> ids = runIds(rest, *db);
        if (action == u"rm" && p.isSet(QStringLiteral("purge"))) {
            const QString ours = QDir(folder).absoluteFilePath(QStringLiteral("checkpoints"));
            for (const QString& dir : db->purge(ids))
                if (QDir(dir).absolutePath().startsWith(ours + u'/') && !QDir(dir).removeRecursively())
                    err() << "warning: cannot remove the checkpoint " << dir << '\n';
            out() << ids.size() << " runs removed for good\n";
        } else {
            db->setDeleted(ids, action == u"rm");
            out() << ids.size()
                  << (action == u"rm" ? " runs moved to the trash (`runs restore` undoes)\n"
                                      : " runs restored\n");
        }
        return kExitOk;
    }
    if (action == u"tag") {
        if (rest.isEmpty() || (rest.size() < 2 && !p.isSet(QStringLiteral("clear"))))
            return usageError(p, QStringLiteral("tag takes a RUN and TAGs (or a RUN and --clear)"));
        const qint64 id = runIds(rest.mid(0, 1), *db).front();
        db->setTags(id, p.isSet(QStringLiteral("clear")) ? QStringList() : rest.mid(1));
        return kExitOk;
    }
    if (action == u"rename") {
        if (rest.size() != 2)
            return usageError(p, QStringLiteral("rename takes a RUN and its NAME"));
        db->rename(runIds(rest.mid(0, 1), *db).front(), rest[1]);
        return kExitOk;
    }
    if (action == u"import") {
        if (rest.isEmpty())
            return usageError(p, QStringLiteral("import takes one or more PATHs"));
        QStringList absolute;
        for (const QString& path : rest)
            absolute << QFileInfo(path).absoluteFilePath();
        const qs::ImportReport report = qs::importResults(*db, absolute);
        for (const QString& e : report.errors)
            err() << "error: " << e << '\n';
        out() << report.runs << " runs and " << report.sweeps << " sweeps imported into " << db->file()
              << '\n';
        return report.errors.isEmpty() ? kExitOk : kExitFailure;
    }
    if (action == u"sweeps") {
        for (const qs::StoredSweep& s : db->sweeps())
            out() << QStringLiteral("%1 %2 %3 entries, base ppl %4, schemes %5, %6 (from %7)\n")
                         .arg(s.id, 5)
                         .arg(s.created.toString(QStringLiteral("yyyy-MM-dd HH:mm")))
                         .arg(s.entries)
                         .arg(s.basePpl, 0, 'f', 4)
                         .arg(s.schemes, s.modelPath, s.source);
        return kExitOk;
    }
    // check
    const QString report = db->integrityCheck();
    out() << db->file() << ": " << report << " (schema " << db->schemaVersion() << ")\n";
    return report == u"ok" ? kExitOk : kExitFailure;
}

} // namespace cli
