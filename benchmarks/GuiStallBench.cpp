// bench gui: the longest event-loop stalls of the real window while it works. The window runs in a
// child process (quantscope --bench-gui, offscreen unless a platform is set), one per model, so
// each model starts from a fresh window and the CLI needs no GUI library.

#include "Benchmarks.h"
#include "util/Error.h"
#include "util/Paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>
#include <algorithm>
#include <optional>

namespace qs::bench {

namespace {

QString guiExecutable()
{
    const QString exe = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("quantscope"));
    if (!QFileInfo(exe).isExecutable())
        throw Error(
            QStringLiteral("bench gui: %1 not found (the GUI is built beside quantscope-cli)").arg(exe));
    return exe;
}

QJsonObject measure(const Options& opt, const QString& exe, const QString& model, const QString& work,
                    int chunks)
{
    const QString out = QDir(work).filePath(QStringLiteral("gui-%1.json").arg(QFileInfo(model).fileName()));
    QFile::remove(out);
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (!env.contains(QStringLiteral("QT_QPA_PLATFORM")))
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    // The window's finished runs go nowhere near the user's run history.
    env.insert(QStringLiteral("QUANTSCOPE_RUNS"), QDir(work).filePath(QStringLiteral("runs")));
    child.setProcessEnvironment(env);
    child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    if (opt.log)
        opt.log(QStringLiteral("gui: %1").arg(model));
    const double t0 = nowSeconds();
    child.start(exe, {QStringLiteral("--bench-gui"), out, QStringLiteral("--bench-chunks"),
                      QString::number(chunks), QStringLiteral("--no-restore"), model});
    if (!child.waitForStarted() || !child.waitForFinished(-1))
        throw Error(QStringLiteral("bench gui: cannot run %1: %2").arg(exe, child.errorString()));
    QFile f(out);
    if (!f.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("bench gui: %1 exited with %2 and wrote no %3")
                        .arg(exe)
                        .arg(child.exitCode())
                        .arg(out));
    QJsonObject r = QJsonDocument::fromJson(f.readAll()).object();
    r.insert(QStringLiteral("wall_seconds"), nowSeconds() - t0);
    r.insert(QStringLiteral("exit_code"), child.exitCode());
    return r;
}

} // namespace

QJsonObject guiStalls(const Options& opt)
{
    const QString exe = guiExecutable();
    const EvalBenchOptions& e = opt.eval;
    std::optional<QTemporaryDir> tmp;
    QString work = e.workDir;
    if (work.isEmpty()) {
        tmp.emplace();
        work = tmp->path();
    } else if (!QDir().mkpath(work)) {
        throw Error(QStringLiteral("bench gui: cannot create %1").arg(work));
    }
    const int chunks = opt.quick ? 1 : 2;
    QJsonArray models;
    if (!e.model.isEmpty()) {
        models.append(measure(opt, exe, e.model, work, chunks));
    } else {
        // The quality fixture (or the demo model with --quick) and a synthetic model with a real
        // model's layer sizes: 1b shape, 4 blocks unless --layers says otherwise.
        const QString data = opt.dataDir.isEmpty() ? findDataDirectory() : opt.dataDir;
        const QString fixture =
            QDir(data).filePath(opt.quick ? QStringLiteral("stories260K") : QStringLiteral("kjv7M"));
        if (data.isEmpty() || !QFileInfo(fixture).isDir())
            throw Error(QStringLiteral("bench gui: %1 not found (set --data or QUANTSCOPE_DATA)")
                            .arg(fixture.isEmpty() ? QStringLiteral("the shared data folder") : fixture));
        models.append(measure(opt, exe, fixture, work, chunks));
        if (!opt.quick) {
            Options synth = opt;
            if (synth.eval.layers <= 0)
                synth.eval.layers = 4;
            QJsonObject source;
            const QString folder = syntheticModel(synth, work, source);
            QJsonObject r = measure(opt, exe, folder, work, chunks);
            r.insert(QStringLiteral("source"), source);
            models.append(r);
        }
    }
    double worst = 0;
    bool allOk = true, allMet = true;
    qint64 windowOver = 0;
    for (const QJsonValue& m : models) { // each child measured against its goal (goal_ms)
        worst = std::max(worst, m.toObject().value(QStringLiteral("max_stall_ms")).toDouble());
        allOk = allOk && m.toObject().value(QStringLiteral("ok")).toBool();
        allMet = allMet && m.toObject().value(QStringLiteral("goal_met")).toBool();
        windowOver += m.toObject().value(QStringLiteral("window_stalls_over_goal")).toInteger();
    }
    return QJsonObject{{QStringLiteral("machine"), machineInfo()},
                       {QStringLiteral("models"), models},
                       {QStringLiteral("max_stall_ms"), worst},
                       {QStringLiteral("all_ok"), allOk},
                       {QStringLiteral("goal_met"), allOk && allMet},
                       // stalls over the goal the sentinel thread did not share (EventLoopMonitor)
                       {QStringLiteral("window_stalls_over_goal"), windowOver}};
}

} // namespace qs::bench
