#include "TestSupport.h"

#include "util/Error.h"
#include "util/Paths.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>

namespace qs::test {

QString dataDir()
{
    return findDataDirectory(QStringLiteral(QS_SOURCE_DIR));
}

QString dataPath(const QString& relative)
{
    const QString d = dataDir();
    if (d.isEmpty())
        return {};
    const QString p = QDir(d).filePath(relative);
    return QFileInfo::exists(p) ? p : QString();
}

QString skipMessage(const QString& relative)
{
    return QStringLiteral(
               "shared test data '%1' not found: set QUANTSCOPE_DATA or put ../shared/data next to the "
               "repository")
        .arg(relative);
}

CliResult runCli(const QStringList& args, int timeoutMs)
{
    return runCli(args, QProcessEnvironment::systemEnvironment(), timeoutMs);
}

CliResult runCli(const QStringList& args, const QProcessEnvironment& env, int timeoutMs)
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(QS_CLI_PATH), args);
    CliResult r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timeout";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

QString quantizeRtn(const QString& model, const QString& out, int bits, int group)
{
    const CliResult r = runCli({QStringLiteral("quantize"), model, QStringLiteral("--method"),
                                QStringLiteral("rtn"), QStringLiteral("--bits"), QString::number(bits),
                                QStringLiteral("--group"), QString::number(group), QStringLiteral("--out"),
                                out, QStringLiteral("--runs"), QStringLiteral("off")});
    if (r.exitCode != 0)
        qWarning("%s", r.err.constData());
    return r.exitCode == 0 ? out : QString();
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

QString errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.message();
    }
    return {};
}

QString checkMessage(const QString& msg, const QStringList& parts)
{
    if (msg.isEmpty())
        return QStringLiteral("no qs::Error was thrown");
    for (const QString& p : parts) {
        if (!msg.contains(p))
            return u"message lacks \"" + p + u"\": " + msg;
    }
    return {};
}

} // namespace qs::test
